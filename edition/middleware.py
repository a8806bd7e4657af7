"""Site-wide middleware: cached anonymous pages answered before the rest of the stack; the
canonical spelling of addresses; signed-in pages kept private; the Content-Security-Policy
header built once."""

from __future__ import annotations

import csp.constants
import csp.middleware
import csp.utils
from django.conf import settings
from django.http import Http404, HttpResponsePermanentRedirect
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.functional import SimpleLazyObject
from django.urls import NoReverseMatch, reverse

from . import pagecache
from .models import Document, Edition


class CanonicalCaseMiddleware:
    """Addresses ignore the case of volume and unit ids: `/FRUS1944quebec/D1/` answers with a
    permanent redirect to `/frus1944Quebec/d1/`, the spelling the volume itself uses.

    Only a request that would otherwise be a 404 pays for the lookup: the views look ids up
    exactly (and the cached reading page needs no query at all).
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, Http404) or request.method not in ("GET", "HEAD"):
            return None
        match = request.resolver_match
        if match is None or "edition" not in match.kwargs:
            return None
        url = canonical_url(match)
        if url is None:
            return None
        query = request.META.get("QUERY_STRING")
        return HttpResponsePermanentRedirect(f"{url}?{query}" if query else url)


def canonical_url(match) -> str | None:
    """The address with ids spelt as stored, or None when nothing differs only by case."""
    kwargs = dict(match.kwargs)
    found = (Edition.objects.filter(slug__iexact=kwargs["edition"])
             .values_list("pk", "slug").first())
    if found is None:
        return None
    pk, slug = found
    changed = slug != kwargs["edition"]
    kwargs["edition"] = slug
    if "doc" in kwargs:
        ids = list(Document.objects.filter(edition_id=pk, xml_id__iexact=kwargs["doc"])
                   .values_list("xml_id", flat=True)[:2])
        if len(ids) == 1 and ids[0] != kwargs["doc"]:
            kwargs["doc"], changed = ids[0], True
    if not changed:
        return None
    try:
        return reverse(match.view_name, args=match.args, kwargs=kwargs)
    except NoReverseMatch:
        return None


class PrivateWhenSignedInMiddleware:
    """Whatever a view says, a response to a signed-in user is `Cache-Control: private` (never
    `public`) and varies on the cookie: no shared cache may keep one person's page for another."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if signed_in(request):
            _drop_shared_directives(response)
            patch_cache_control(response, private=True)  # drops `public`
            patch_vary_headers(response, ["Cookie"])
        return response


# What only a shared cache obeys: meaningless on a private response, and a proxy that ignored
# `private` would keep the page for these seconds.
_SHARED_ONLY = {"s-maxage", "stale-while-revalidate", "proxy-revalidate"}


def _drop_shared_directives(response) -> None:
    header = response.get("Cache-Control")
    if not header:
        return
    kept = [d.strip() for d in header.split(",")
            if d.strip() and d.split("=", 1)[0].strip().lower() not in _SHARED_ONLY]
    response["Cache-Control"] = ", ".join(kept)


def signed_in(request) -> bool:
    user = getattr(request, "user", None)
    if user is None:
        return False
    # Without a session cookie the lazy user is anonymous; asking would load the session, and
    # SessionMiddleware would then add `Vary: Cookie` to every public download. (The API's
    # token authentication replaces the lazy user with the real one.)
    if isinstance(user, SimpleLazyObject) and settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return False
    return user.is_authenticated


# Pages under an edition that show its page images: their img-src adds the edition's remote
# image origins (edition.pages.image_origins). Other pages showing them (the reviewer's
# proposal page) say so with `pages.allow_images(response, slug)`.
IMAGE_PAGES = frozenset({("edition", "document"), ("edition", "revision"),
                         ("edition", "page_images"), ("edition", "suggestions"),
                         ("review", "propose")})  # the proposing form: its selection's page


def _image_origins(request, response) -> tuple[str, ...]:
    origins = getattr(response, "image_origins", None)
    if origins is not None:
        return origins
    match = getattr(request, "resolver_match", None)
    if match is None or (match.namespace, match.url_name) not in IMAGE_PAGES:
        return ()
    from .pages import image_origins  # imports the models, as this module does
    return image_origins(match.kwargs.get("edition", ""))


class CSPMiddleware(csp.middleware.CSPMiddleware):
    """django-csp's middleware with the site's policy built once instead of per response.

    django-csp rebuilds the same header from settings for every response, about 165 µs here:
    some 15% of serving a cached reading page (bench/readers.py). Emend's pages set no policy of
    their own (no `@csp_update`, no nonce, no report-only policy), so the header is the
    settings' policy, made once per settings object (a test's `override_settings` makes a new
    one). Whenever a response or a request asks for more, django-csp builds it as usual.
    """

    _PER_RESPONSE = ("_csp_config", "_csp_update", "_csp_replace", "_csp_config_ro",
                     "_csp_update_ro", "_csp_replace_ro")
    _built: tuple[object, str] | None = None
    _with_images: dict[tuple[str, ...], str] = {}

    def process_response(self, request, response):
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", None)
        if (getattr(request, "_csp_nonce", None) is not None
                or getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None)
                or (policy or {}).get("EXCLUDE_URL_PREFIXES")
                or any(hasattr(response, name) for name in self._PER_RESPONSE)
                or (settings.DEBUG and response.status_code in (404, 500))):
            return super().process_response(request, response)
        built = CSPMiddleware._built
        if built is None or built[0] is not policy:
            built = CSPMiddleware._built = (policy, csp.utils.build_policy())
            CSPMiddleware._with_images = {}
        origins = _image_origins(request, response)
        if origins:
            # The edition's remote page images (issue 11): its own policy, built once per
            # set of origins.
            header = CSPMiddleware._with_images.get(origins)
            if header is None:
                header = CSPMiddleware._with_images[origins] = csp.utils.build_policy(
                    update={"img-src": list(origins)})
            built = (policy, header)
        if built[1] and csp.constants.HEADER not in response \
                and not getattr(response, "_csp_exempt", False):
            response[csp.constants.HEADER] = built[1]
        # As django-csp does: a nonce asked for after the header is written is an error.
        request.csp_nonce = csp.middleware.CheckableLazyObject(self._csp_nonce_post_response)
        return response


class ReaderFastPathMiddleware:
    """Anonymous readers of a page the cache holds, answered before the rest of the stack
    (edition/pagecache.py, "The readers' fast path"): right after WhiteNoise, so that a cached
    page costs about what a static file does. Every other request, and any whose page is not
    exactly as this process last saw it answered, goes through the whole stack."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        route = pagecache.fast_route(request)
        if route is not None:
            response = pagecache.answer_fast(request, route)
            if response is not None:
                return response
        response = self.get_response(request)
        if route is not None:
            pagecache.learn(request, route, response)
        return response
