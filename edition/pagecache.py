"""Whole-page cache for anonymous readers of the public pages, invalidated by what they show.

A page is keyed by *stamps*, small values in the cache that stand for what it shows:

- the **edition stamp** (`Edition.stamp_key`, from `Edition.updated_at`): moved by `touch()`,
  which imports (numbers, titles, order, `contents_version`), the admin's metadata edits, a
  new revision of the persons or terms unit (every page embeds their entries) and anything
  else that changes every page call. Any other approval does not touch the edition.
- a **unit stamp** (`Document.stamp_key`): the unit's current revision, and for a unit with
  children the newest of their current revisions (their dates are in its list).
  `Document.add_revision` drops it, and its parent's when the row's dates changed: an approval
  in d201 retires d201's page (and its chapter's, if the date moved), never d200's.
- the edition's **dates stamp** (`Document.dates_key`): dropped by an approval that moves a
  unit's dates, which the contents show; nothing else an approval does changes the contents.
- the edition's **revisions stamp** (`Document.revisions_key`): dropped by every new revision
  (the edition's corrections log lists them).
- the edition's **exports stamp** (`Edition.exports_key`): its current export builds, dropped
  when a build becomes current (the exports page lists their files and sources).
- the **page images' stamps** (edition/pages.py): the edition's panels stamp (an upload drops
  it) and each unit's panel stamp, which a sync of the page rows drops for the units whose
  panel of page images it changed, never for the others.

Each page is stored twice under keys without stamps: the *head* (its stamps, ETag,
Last-Modified, content type) and the *page* (the same with its body). A read asks for the
stamps and one of the two in a single round trip (`get_many`): a conditional GET asks for the
head only, so a 304 never fetches the body. An entry whose stamps are not the current ones is a
miss. Stamps missing from the cache are read from the database and cached for `STAMP_TTL`,
which bounds how long a drop lost to an unreachable cache can leave a page stale; read again
once stored, and taken back if they moved (a change committed in between, whose drop came
before the write). A page's
ETag is made from its stamps (and what else the view puts in it), whether it comes from the
cache or not, so the two paths agree.

`serve` also notes the origins it stores pages under (`origins`): after an approval the worker
renders the unit's page again under each (edition/warming.py).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import DisallowedHost
from django.core.signals import setting_changed
from django.db.models import Max
from django.http import Http404, HttpResponse, HttpResponseNotModified
from django.http.response import ResponseHeaders
from django.utils.cache import get_conditional_response
from django.utils.http import parse_http_date

from .models import Document, Edition, ExportBuild

PAGE_TTL = 24 * 3600
# A stamp is read again from the database this often: a drop lost to an unreachable cache (a
# change committed while it was down) retires the pages it should have within this time.
STAMP_TTL = 5 * 60


@dataclass(frozen=True)
class Stamp:
    key: str
    # Its value from the database when the cache has none; None: there is no such thing (404).
    derive: Callable[[], str | None]


def edition_stamp(slug: str) -> Stamp:
    def derive():
        updated = Edition.objects.filter(slug=slug).values_list("updated_at", flat=True).first()
        return None if updated is None else updated.isoformat()
    return Stamp(Edition.stamp_key(slug), derive)


def unit_stamp(slug: str, doc: str) -> Stamp:
    def derive():
        row = (Document.objects.filter(edition__slug=slug, xml_id=doc)
               .annotate(newest_child=Max("children__current_revision_id"))
               .values_list("current_revision_id", "newest_child").first())
        if row is None:
            return None
        current, newest_child = row
        return f"{current}" if newest_child is None else f"{current}+{newest_child}"
    return Stamp(Document.stamp_key(slug, doc), derive)


def _newest_revision(slug: str) -> str:
    # Moves with every new revision of the edition's units (a new revision has the highest
    # id): a superset of the changes either stamp below stands for.
    newest = (Document.objects.filter(edition__slug=slug)
              .aggregate(newest=Max("current_revision_id"))["newest"])
    return f"{newest or 0}"


def dates_stamp(slug: str) -> Stamp:
    return Stamp(Document.dates_key(slug), lambda: _newest_revision(slug))


def revisions_stamp(slug: str) -> Stamp:
    return Stamp(Document.revisions_key(slug), lambda: _newest_revision(slug))


def exports_stamp(slug: str) -> Stamp:
    """The edition's current export builds (its exports page lists their files and sources):
    dropped by `exporting.builds` when a build becomes current."""
    def derive():
        current = (ExportBuild.objects.filter(edition__slug=slug, current=True)
                   .order_by("pk").values_list("pk", flat=True))
        return "builds:" + ",".join(map(str, current))
    return Stamp(Edition.exports_key(slug), derive)


@dataclass(frozen=True)
class CachedHead:
    stamps: tuple[str, ...]
    etag: str
    last_modified: str | None
    content_type: str
    status: int = 200


@dataclass(frozen=True)
class CachedPage:
    head: CachedHead
    content: bytes


def _origin(request) -> str:
    # Pages hold absolute links (the citation's permalink): they depend on scheme and host.
    return f"{request.scheme}://{request.get_host()}"


def head_key(request, name: str, version: int) -> str:
    return f"emend:phead:{version}:{_origin(request)}:{name}"


def page_key(request, name: str, version: int) -> str:
    return f"emend:page:{version}:{_origin(request)}:{name}"


def same_for_all(request, params: tuple[str, ...] = ()) -> bool:
    """GETs (and HEADs: the same headers, and a body the server leaves out) with no query
    parameters but `params` (which the caller puts in the page's name): what the page shows of
    the unit is the same for all of them, whoever asks."""
    return request.method in ("GET", "HEAD") and all(
        # `hl` (the words a search result marks) is read by static JS only: the same page.
        name == "hl" or (name in params and len(request.GET.getlist(name)) == 1)
        for name in request.GET)


def cacheable(request, params: tuple[str, ...] = ()) -> bool:
    """Anonymous GETs and HEADs without pending messages that are `same_for_all`, to a host
    spelt as hosts are (`_plain_host`): the whole page is the same for all of them."""
    return (
        not request.user.is_authenticated
        and "messages" not in request.COOKIES
        and same_for_all(request, params)
        and _plain_host(request)
    )


def _plain_host(request) -> bool:
    """Whether the Host header is in lower case with no trailing dot. `ALLOWED_HOSTS` lets
    `EXAMPLE.org` and `example.org.` through as the same host, but each would be an origin
    of its own here: pages cached again under every spelling, and enough spellings would
    push the site's own origin out of those the worker warms (`origins`). Such a request is
    answered, rendered, and not kept. (A proxy in front normally passes the host as it
    serves it: README, "Deployment".)"""
    try:
        host = request.get_host()
    except DisallowedHost:  # the stack's own answer says so
        return False
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return name == name.lower() and not name.endswith(".")


def _conditional(request) -> bool:
    """The client holds a copy: it will most likely be answered 304, so fetch the head only."""
    return "HTTP_IF_NONE_MATCH" in request.META or "HTTP_IF_MODIFIED_SINCE" in request.META


def _values(stamps: list[Stamp], found: dict) -> tuple[str, ...] | None:
    """The stamps' current values: from `found` (one get_many), the missing ones from the
    database (and cached). Raises Http404 when a stamp says there is no such thing."""
    derive = {s.key: s.derive for s in stamps if s.key not in found}
    missing = {key: value() for key, value in derive.items()}
    if missing:
        if any(value is None for value in missing.values()):
            raise Http404("No such page")
        cache.set_many(missing, STAMP_TTL)
        # Read again once stored: a change that committed between the read and the write has
        # dropped its stamp already (on commit), and what was just stored would stand for the
        # page before it until STAMP_TTL. One more small query, on a stamp's miss only.
        again = {key: value() for key, value in derive.items()}
        moved = [key for key in missing if again[key] != missing[key]]
        if moved:
            cache.delete_many(moved)
            missing = again
            if any(value is None for value in missing.values()):
                raise Http404("No such page")
    return tuple(found[s.key] if s.key in found else missing[s.key] for s in stamps)


def current(stamps: list[Stamp]) -> tuple[str, ...]:
    """The stamps' values (for a page that is not cached whole: its ETag)."""
    return _values(stamps, cache.get_many([s.key for s in stamps]))


def serve(request, name: str, version: int, stamps: list[Stamp],
          render: Callable[[tuple[str, ...]], HttpResponse],
          headers: Callable[[HttpResponse], HttpResponse],
          params: tuple[str, ...] = ()) -> HttpResponse:
    """The page `name` for this request: from the cache when it may be shared and is current,
    else `render(values)` (which sets an ETag made from the values), stored when it is a 200
    or 400 to an anonymous reader and `render` did not mark it `kept = False` (a page that
    shows another's content: a page number past the last). `headers` adds the view's caching
    headers to a response made from the cache."""
    if not cacheable(request, params):
        return render(current(stamps))
    entry_key = (head_key if _conditional(request) else page_key)(request, name, version)
    found = cache.get_many([*(s.key for s in stamps), entry_key])
    values = _values(stamps, found)
    entry = found.get(entry_key)
    head = entry.head if isinstance(entry, CachedPage) else entry
    if isinstance(head, CachedHead) and head.stamps == values:
        not_modified = get_conditional_response(
            request, etag=head.etag, last_modified=head.last_modified and int(
                parse_http_date(head.last_modified)))
        if not_modified is not None:
            _served(request, Served(tuple(s.key for s in stamps), entry_key, head, None))
            return _with_head(headers(not_modified), head)
        if not isinstance(entry, CachedPage):  # the client's copy is old: the body now
            entry = cache.get(page_key(request, name, version))
        if isinstance(entry, CachedPage) and entry.head.stamps == values:
            _served(request, Served(tuple(s.key for s in stamps),
                                    page_key(request, name, version), entry.head,
                                    entry.content))
            response = HttpResponse(entry.content, content_type=head.content_type,
                                    status=head.status)
            return _with_head(headers(response), head)
    response = render(values)
    if response.status_code in (200, 400) and response.has_header("ETag") \
            and getattr(response, "kept", True):
        if hasattr(response, "render"):
            response.render()
        head = CachedHead(values, response["ETag"], response.get("Last-Modified"),
                          response["Content-Type"], response.status_code)
        cache.set_many({head_key(request, name, version): head,
                        page_key(request, name, version): CachedPage(head, response.content)},
                       PAGE_TTL)
        _remember_origin(_origin(request))
    return response


ORIGINS_KEY = "emend:origins"
# Origins remembered for the worker's warming: the few last seen first. A site answers under
# its ALLOWED_HOSTS only, so this is a handful (the public name, maybe an internal one); with
# a wildcard, made-up hosts could push the real one out: the warming would then miss (readers
# render the page, as without it), and a warming never costs more than this many renders.
MAX_ORIGINS = 4


def _remember_origin(origin: str) -> None:
    """Note that pages are cached under `origin` (`origins`). Paid on a miss only, beside the
    render it follows: one more cache read, and a write the first time an origin is seen.
    The site's own origin (EMEND_SITE_URL's), once seen, is never the one dropped to make
    room: requests naming other hosts (another port `ALLOWED_HOSTS` lets through) cannot push
    it out and leave its pages unwarmed."""
    known = cache.get(ORIGINS_KEY) or ()
    if origin not in known:
        kept = [origin, *known]
        site = _site_origin()
        while len(kept) > MAX_ORIGINS:
            kept.remove(next(o for o in reversed(kept) if o != site))
        cache.set(ORIGINS_KEY, tuple(kept), PAGE_TTL)


def _site_origin() -> str:
    parts = urlsplit(settings.EMEND_SITE_URL)
    return f"{parts.scheme}://{parts.netloc}".lower()


def origins() -> tuple[str, ...]:
    """The origins (scheme://host[:port]) pages were recently cached under, the last first
    seen first: where edition/warming.py renders a page again after an approval retired it."""
    return tuple(cache.get(ORIGINS_KEY) or ())


@dataclass(frozen=True)
class CachedShared:
    stamps: tuple[str, ...]
    value: object


def shared_key(request, name: str, version: int) -> str:
    return shared_key_at(_origin(request), name, version)


def shared_key_at(origin: str, name: str, version: int) -> str:
    return f"emend:shared:{version}:{origin}:{name}"


def shared(request, name: str, version: int, stamps: list[Stamp]) -> tuple[tuple[str, ...], object]:
    """The stamps' values and what `keep_shared` stored for page `name` under them (None when
    it is not current), in one round trip: the parts of a page every reader shares, around
    which a signed-in reader's own parts are rendered. Raises Http404 as `serve` does."""
    key = shared_key(request, name, version)
    found = cache.get_many([*(s.key for s in stamps), key])
    values = _values(stamps, found)
    entry = found.get(key)
    return values, (entry.value if isinstance(entry, CachedShared) and entry.stamps == values
                    else None)


def keep_shared(request, name: str, version: int, values: tuple[str, ...], value) -> None:
    """Store `value` (rendered from the database after `values` were read) for `shared`."""
    cache.set(shared_key(request, name, version), CachedShared(values, value), PAGE_TTL)


def _with_head(response: HttpResponse, head: CachedHead) -> HttpResponse:
    response["ETag"] = head.etag
    if head.last_modified:
        response["Last-Modified"] = head.last_modified
    return response


# --- The readers' fast path (issue 14, items 1 and 6) ------------------------------------------
# A page answered from the cache above still pays for every middleware (sessions, CSRF, auth,
# messages, X-Frame-Options, the CSP…) and URL resolving, which a static file served by WhiteNoise
# skips. `edition.middleware.ReaderFastPathMiddleware`, right after WhiteNoise, answers such a
# request itself when this process has seen the normal stack answer the same request from the
# cache: it learns, per *route* (method, origin, path, query, Accept, conditional or not), the
# keys `serve` read and the response as it left the stack, headers and all. It answers again only
# when one `get_many` finds every stamp, and the head, exactly as they were then: the same
# stamps, ETag and Last-Modified mean the same entry, so the normal stack would answer with
# those same bytes. Anything else (a stamp dropped or missing, another entry, a route never
# seen) falls through to the normal stack, which renders or re-reads, and the route is learned
# again from its answer.

@dataclass(frozen=True)
class Served:
    """What `serve` answered from the cache: the keys it read and what it found."""
    stamp_keys: tuple[str, ...]
    entry_key: str  # the head's (a 304) or the page's (a 200 with its body)
    head: CachedHead
    content: bytes | None  # the body, when the answer carried it


@dataclass(frozen=True)
class Learned:
    stamp_keys: tuple[str, ...]
    entry_key: str
    head: CachedHead
    length: int | None  # the body's (None: a 304); the body itself stays in the cache
    # The response's headers as the middleware stack inside the fast path left them (Content-
    # Length, the CSP, X-Frame-Options…), in their order; the outer middleware (security
    # headers) adds its own to the fast answer as it does to the normal one.
    headers: tuple[tuple[str, str], ...]
    until: float  # `time.monotonic()` after which the headers may no longer be the stack's


# Routes learned by this process, most recently used last; bounded (a route is a few hundred
# bytes: its keys and headers, never a body).
FAST_ROUTES = 4096
_routes: OrderedDict[tuple, Learned] = OrderedDict()
_routes_lock = threading.Lock()


def _base(request):
    # DRF's Request wraps Django's: the middleware sees Django's.
    return getattr(request, "_request", request)


def _served(request, served: Served) -> None:
    _base(request)._pagecache_served = served


def forget_routes(**kwargs) -> None:
    """Forget every learned route: the settings (headers, hosts, cookies' names) changed."""
    with _routes_lock:
        _routes.clear()


setting_changed.connect(forget_routes)


def plain_read(request) -> bool:
    """A GET or HEAD with no credentials, not htmx's, and no precondition but If-None-Match and
    If-Modified-Since: the only requests a fast path (this one, or signed-in readers':
    edition/signedin.py) may answer without the normal stack."""
    meta = request.META
    return not (request.method not in ("GET", "HEAD") or "HTTP_AUTHORIZATION" in meta
                or "HTTP_HX_REQUEST" in meta or "HTTP_IF_MATCH" in meta
                or "HTTP_IF_UNMODIFIED_SINCE" in meta)


def fast_route(request) -> tuple | None:
    """The route of a request the fast path may answer, or None: a GET or HEAD with no session or
    messages cookie, no credentials, not htmx's, no precondition but If-None-Match and
    If-Modified-Since, from a user agent CommonMiddleware does not refuse, to a host
    `ALLOWED_HOSTS` allows. Whoever is signed in, or has
    messages, or asks through htmx, is always answered by the normal stack."""
    if not plain_read(request):
        return None
    meta = request.META
    cookies = request.COOKIES
    if settings.SESSION_COOKIE_NAME in cookies or "messages" in cookies:
        return None
    if settings.DISALLOWED_USER_AGENTS and any(  # CommonMiddleware's 403 for them
            pattern.search(meta.get("HTTP_USER_AGENT", ""))
            for pattern in settings.DISALLOWED_USER_AGENTS):
        return None
    try:
        origin = _origin(request)
    except DisallowedHost:
        return None  # the normal stack answers 400
    # Accept: the API negotiates its content type (406 to what it cannot give).
    return (request.method, origin, request.path, meta.get("QUERY_STRING", ""),
            meta.get("HTTP_ACCEPT"), _conditional(request))


def answer_fast(request, route: tuple) -> HttpResponse | None:
    """The answer the normal stack would give, from one `get_many`; None: ask the stack."""
    with _routes_lock:
        learned = _routes.get(route)
        if learned is None:
            return None
        _routes.move_to_end(route)
    found = cache.get_many([*learned.stamp_keys, learned.entry_key])
    entry = found.get(learned.entry_key)
    head = entry.head if isinstance(entry, CachedPage) else entry
    if head != learned.head or tuple(
            found.get(key) for key in learned.stamp_keys) != learned.head.stamps \
            or time.monotonic() >= learned.until:
        return None
    if learned.length is None:  # learned from a 304
        if get_conditional_response(
                request, etag=head.etag, last_modified=head.last_modified and int(
                    parse_http_date(head.last_modified))) is None:
            return None  # the client's copy is old: the stack fetches the body
        response = HttpResponseNotModified()
    else:
        if not isinstance(entry, CachedPage) or len(entry.content) != learned.length:
            return None
        response = HttpResponse(entry.content, status=head.status)
    response.headers = ResponseHeaders(dict(learned.headers))
    return response


def _headers_until(request) -> float:
    """How long the stack's headers for this request stay as they are: a page that shows page
    images has the edition's image origins in its CSP (edition.middleware.CSPMiddleware),
    which each process remembers for a while (`pages.image_origins`) and then reads again,
    seeing another process's change without any stamp moving."""
    from .middleware import IMAGE_PAGES
    from .pages import image_origins_until

    match = getattr(request, "resolver_match", None)
    if match is None or (match.namespace, match.url_name) not in IMAGE_PAGES:
        return float("inf")
    return image_origins_until(match.kwargs.get("edition", ""))


def learn(request, route: tuple, response: HttpResponse) -> None:
    """Remember how the stack answered `route` when `serve` answered it from the cache."""
    served = getattr(request, "_pagecache_served", None)
    if served is None or response.cookies or response.streaming:
        # Rendered (what the route learned is out of date), or an answer of its own.
        with _routes_lock:
            _routes.pop(route, None)
        return
    conditional = route[-1]
    if served.content is None:
        fits = conditional and response.status_code == 304
    else:  # a conditional request answered 200 is not learned: the next may be a 304
        fits = (not conditional and response.status_code == served.head.status
                and response.get("Content-Length") == str(len(served.content))
                and response.content == served.content)
    if not fits:  # e.g. a client's old copy, answered 200: the next may be a 304
        return
    with _routes_lock:
        _routes[route] = Learned(
            served.stamp_keys, served.entry_key, served.head,
            None if served.content is None else len(served.content), tuple(response.items()),
            _headers_until(request))
        _routes.move_to_end(route)
        while len(_routes) > FAST_ROUTES:
            _routes.popitem(last=False)
