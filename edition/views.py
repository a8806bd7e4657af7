"""The public reading site: editions, tables of contents, documents, revisions, downloads.

Every view here is public (no account) and works without JavaScript. Responses carry an ETag and
Last-Modified so browsers and proxies revalidate instead of downloading a page again.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.messages import get_messages
from django.contrib.auth.decorators import login_not_required
from django.db.models import Count, Max, Min, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect
from django.templatetags.static import static
from django.template import Context
from django.template.loader import get_template
from django.template.response import TemplateResponse
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.http import http_date, url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from . import contents, ownparts, pageframe, pagecache, pages, suggestions
from .exporting import tei as tei_export
from .exporting.formats import enabled as enabled_formats
from .models import Document, Edition, Revision
from .params import positive_int
from .rendering import RENDER_VERSION, rendered_html, rendered_text
from .middleware import signed_in
from .roles import PROPOSERS, require_proposer, reviews_somewhere, shown_role
from .signals import proposer_page_state


@login_not_required
@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico, which browsers ask for whatever the page links: the static icon."""
    response = redirect(static("edition/favicon.ico"))
    patch_cache_control(response, public=True, max_age=86400)
    return response


@login_not_required
@require_safe
def home(request: HttpRequest) -> HttpResponse:
    # The documents proper: front matter carries the whole volume's span, chapters none.
    documents = Q(documents__div_type="document")
    editions = Edition.objects.defer("tei_skeleton", "tei_header").annotate(
        document_count=Count("documents", filter=documents),
        first_date=Min("documents__date_min", filter=documents),
        last_date=Max("documents__date_max", filter=documents),
    )
    return TemplateResponse(request, "edition/home.html", {"editions": editions})


@login_not_required
@require_safe
def toc(request: HttpRequest, edition: str) -> HttpResponse:
    """The contents: shown to anonymous readers from the cache until the edition changes
    (an import, its metadata) or an approval moves a unit's dates."""
    slug = edition
    page = request.GET.get("page", "1")
    number = positive_int(page)

    def render(stamps):
        edition = get_object_or_404(Edition.objects.defer("tei_skeleton", "tei_header"),
                                    slug=slug)
        # No Last-Modified: an approval that moves a date changes the contents at no time
        # stored anywhere cheap to read; the ETag says it all.
        etag, not_modified = conditional(request, "toc", stamps, page[:20],
                                         last_modified=None, version=TOC_VERSION)
        if not_modified is not None:
            return _finish(request, not_modified, etag, None)
        shown = contents.contents(edition, page)
        response = TemplateResponse(request, "edition/toc.html", {
            "edition": edition, "contents": shown,
        })
        # A number past the last page shows the last: kept under every such number, a loop
        # of requests would fill the cache (pagecache.serve).
        response.kept = shown.page.number == number
        return _finish(request, response, etag, None)

    # Only a page number as written ("2", not "02" or "x") is a page of its own in the cache.
    params = ("page",) if number is not None and page == str(number) else ()
    return pagecache.serve(request, f"toc:{slug}:{number or 1}", TOC_VERSION,
                           [pagecache.edition_stamp(slug), pagecache.dates_stamp(slug)],
                           render, lambda response: cache_headers(request, response), params)


# Part of the contents' ETag and cache key: bump it when toc.html changes what it shows.
TOC_VERSION = 1


def document_or_404(edition: str, doc: str) -> Document:
    try:
        return Document.objects.with_current().get(edition__slug=edition, xml_id=doc)
    except Document.DoesNotExist:
        raise Http404(f"No document {doc} in edition {edition}") from None


def conditional(request: HttpRequest, *parts, last_modified, version: int = RENDER_VERSION,
                header: bool = True) -> tuple[str, HttpResponse | None]:
    """An ETag over `parts`, the viewer and the page `version`, and a 304 response if the
    client has it already. `last_modified` None: the page has no time of its own (it moves
    with changes that leave no time where it could be read cheaply), so none is sent and an
    If-Modified-Since alone is never answered 304. `header`: a page with the site's header
    (the API's JSON and the downloads have none)."""
    viewer = _viewer(request) if header else (
        request.user.pk if request.user.is_authenticated else "-")
    etag = '"%s"' % hashlib.sha256(
        "|".join(map(str, (*parts, viewer, version))).encode()
    ).hexdigest()[:32]
    timestamp = None if last_modified is None else int(last_modified.timestamp())
    return etag, get_conditional_response(request, etag=etag, last_modified=timestamp)


def _viewer(request: HttpRequest) -> object:
    """The reader's part of a page's ETag: "-" for anyone signed out (their pages are shared).
    A signed-in page's header shows their name, the Queue link when they review somewhere, and
    a token of their CSRF secret (the sign-out form, htmx), which signing in again renews: a
    copy kept from before any of these changed must not be answered 304 (its token would be
    refused). Without a secret, the one the page's token will be made from is made now."""
    user = request.user
    if not user.is_authenticated:
        return "-"
    if "CSRF_COOKIE" not in request.META:
        get_token(request)
    return (user.pk, user.get_username(), reviews_somewhere(user), request.META["CSRF_COOKIE"])


def _finish(request: HttpRequest, response: HttpResponse, etag: str, last_modified) -> HttpResponse:
    response["ETag"] = etag
    if last_modified is not None:
        response["Last-Modified"] = http_date(last_modified.timestamp())
    return cache_headers(request, response)


def cache_headers(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Browsers always revalidate (the same address shows a new revision once one is
    approved); a shared cache may serve an anonymous page for `EMEND_SHARED_MAX_AGE` seconds
    and a stale one for `EMEND_STALE_WHILE_REVALIDATE` more while it revalidates (README,
    "Deployment": how long a reader may see the page before an approval). A signed-in
    reader's page is private and revalidated every time."""
    if request.user.is_authenticated:
        patch_cache_control(response, private=True, no_cache=True)
    elif "Cache-Control" not in response:  # the common case, written at once (cached pages)
        response["Cache-Control"] = (
            f"public, max-age=0, s-maxage={settings.EMEND_SHARED_MAX_AGE}, "
            f"stale-while-revalidate={settings.EMEND_STALE_WHILE_REVALIDATE}")
    else:
        patch_cache_control(response, public=True, max_age=0,
                            s_maxage=settings.EMEND_SHARED_MAX_AGE,
                            stale_while_revalidate=settings.EMEND_STALE_WHILE_REVALIDATE)
    patch_vary_headers(response, ["Cookie"])
    return response


def reading_stamps(slug: str, doc: str) -> list[pagecache.Stamp]:
    """What a unit's page shows, as stamps: the edition's (metadata, numbers, titles), the
    unit's own (its revision; a chapter's, its children's dates) and its page-images panel's
    (the images beside the text: the edition's, which an upload drops, and the unit's own,
    which a sync drops when it changes that unit's pages; `pages.touch`)."""
    return [pagecache.edition_stamp(slug), pagecache.unit_stamp(slug, doc),
            pagecache.Stamp(pages.panels_key(slug), lambda: pages.panels_value(slug)),
            pagecache.Stamp(pages.unit_panel_key(slug, doc),
                            lambda: pages.unit_panel_value(slug, doc))]


@dataclass(frozen=True)
class SharedParts:
    """What every reader of a unit's page sees, rendered (edition/_document_parts.html), and
    what its ETag and headers need, so a signed-in page is made from it with no query."""

    parts: dict[str, str]
    edition_id: int
    document_id: int
    # The revision shown, its checksum and the unit's current revision: the ETag's own parts.
    ident: tuple
    last_modified: datetime | None


PARTS = ("title", "head", "lead", "text", "aside")


def _shared_parts(request: HttpRequest, document: Document, revision: Revision) -> SharedParts:
    revision.document = document  # spare a query: rendering reaches the edition through it
    edition = document.edition
    is_current = revision.pk == document.current_revision_id
    siblings = edition.documents.only("xml_id", "number", "title", "order", "edition_id")
    page_images = pages.shown(document, revision)
    children, children_page = ((), None) if document.is_document else contents.children(
        document, request.GET.get("page"))
    context = {
        "children": children,
        "children_page": children_page,
        "export_formats": enabled_formats(),
        "edition": edition,
        "document": document,
        "revision": revision,
        "is_current": is_current,
        "current": document.current_revision,
        "html": rendered_html(revision),
        # The page images beside the text (part of the cached page: the panel stamps move
        # with them).
        "page_images": page_images,
        "previous": siblings.filter(order__lt=document.order).order_by("-order").first(),
        "next": siblings.filter(order__gt=document.order).order_by("order").first(),
        "permalink": request.build_absolute_uri(revision.get_absolute_url()),
        # Without the query string: `?hl=` (a search's words, marked by static JS) is the
        # same page, and these parts are shared by every reader of it.
        "canonical": request.build_absolute_uri(request.path),
        "request": request,
    }
    # A plain Context with `request` alone: no context processor, so nothing of the reader's
    # (user, messages, CSRF token) can reach a part that is shared.
    parts = {name: template.render(Context(context))
             for name, template in _part_templates().items()}
    # A chapter's list shows its children's dates, which move without touching it: no time.
    # Nor a page showing page images: a sync moves them (another unit's new pb, an address
    # pattern) and no time is kept of it, so an If-Modified-Since would be answered 304 over
    # a changed panel. (A client holds no date of such a page, so none is answered wrongly
    # when the images come or go.)
    last_modified = max(revision.created_at, edition.updated_at) \
        if document.is_document and not page_images else None
    return SharedParts(parts, edition.pk, document.pk,
                       (revision.pk, revision.checksum, document.current_revision_id),
                       last_modified)


@functools.cache
def _part_templates() -> dict:
    # Loaded once per process: the cached loader would find them again on every render.
    return {name: get_template(f"edition/_document_parts.html#{name}").template
            for name in PARTS}


def _reading_view(request: HttpRequest, document: Document | None, revision: Revision | None,
                  stamps: tuple[str, ...] | None = None,
                  shared: SharedParts | None = None,
                  own_stamps: tuple | None = None) -> HttpResponse:
    """The page around `shared` (rendered from `document` and `revision` when not given): the
    reader's own parts are all that is rendered for them. With `shared` and a reader who may
    not propose, `document` may be None: no query. `own_stamps` (edition/ownparts.py, read
    before the database): a proposer's own parts are stored under them for the next page."""
    edition_id = shared.edition_id if shared else document.edition_id
    is_current = shared.ident[0] == shared.ident[2] if shared else \
        revision.pk == document.current_revision_id
    # Members who may propose get the proposing tools, on the current revision only (offsets
    # refer to the text shown). The role comes from the cache (edition.roles.shown_role); the
    # tools' own actions ask the database.
    proposer = is_current and request.user.is_authenticated and \
        shown_role(request.user, edition_id) in PROPOSERS
    if proposer and document is None:
        raise ValueError("a proposer's page needs its document")
    if proposer:
        revision = revision or document.current_revision
    # Suggestions (the import's, the checks') are for proposers only: never in a shared part.
    offers = suggestions.offers(document, revision) if proposer else []
    # What the apps built on the edition add to a proposer's page (review's open proposals).
    extra = [state for _, state in proposer_page_state.send(
        sender=Document, document=document, user=request.user)] if proposer else []
    # The ETag moves with what the page shows: the revision, the unit's and the edition's
    # stamps (edition/pagecache.py), and a proposer's own parts. The anonymous page cached
    # whole carries this same ETag, so a 304 is answered from the cache's head alone.
    if stamps is None:
        stamps = pagecache.current(reading_stamps(document.edition.slug, document.xml_id))
    if shared is None:
        shared = _shared_parts(request, document, revision)
    etag_parts = ([o.suggestion.pk for o in offers], extra)
    etag, not_modified = conditional(
        request, *shared.ident, stamps, proposer, *etag_parts,
        last_modified=_page_time(request, shared),
    )
    if not_modified is not None:
        return _finish(request, not_modified, etag, _page_time(request, shared))
    if request.user.is_authenticated:
        own = None
        if proposer:
            own = _proposer_parts(request, document, revision, offers, etag_parts, own_stamps)
        page = _framed(request, shared, own)
        if page is not None:
            return _finish(request, HttpResponse(page), etag, _page_time(request, shared))
    context = {"parts": shared.parts, "can_propose": proposer, "offers": offers}
    if document is not None:
        context |= {"edition": document.edition, "document": document, "revision": revision}
    response = TemplateResponse(request, "edition/document_detail.html", context)
    return _finish(request, response, etag, _page_time(request, shared))


def _own_page(request: HttpRequest, stamps: tuple, shared: SharedParts,
              own: ownparts.Own) -> HttpResponse | None:
    """A proposer's page from the cache alone: the shared parts and their own
    (edition/ownparts.py), with the ETag `_reading_view` gives it. None: render it."""
    etag, not_modified = conditional(request, *shared.ident, stamps, True, *own.etag_parts,
                                     last_modified=_page_time(request, shared))
    if not_modified is not None:
        return _finish(request, not_modified, etag, _page_time(request, shared))
    page = _framed(request, shared, own)
    return None if page is None else _finish(request, HttpResponse(page), etag,
                                             _page_time(request, shared))


def _page_time(request: HttpRequest, shared: SharedParts):
    """The reading page's Last-Modified: none for a signed-in reader, whose page also shows
    their own parts (an editor's open proposals, their name in the header) that move with no
    time of their own; the ETag, which names them, is what their browser revalidates with."""
    return None if request.user.is_authenticated else shared.last_modified


def _framed(request: HttpRequest, shared: SharedParts, own: ownparts.Own | None) -> str | None:
    """A signed-in reader's page as edition/pageframe.py assembles it: the shared parts, their
    name and CSRF token, and a proposer's `own` parts (None for a reader who may not propose)
    in the frame, document_detail.html not rendered. None when the template must be rendered:
    messages to show (rare: after an action), or DEBUG."""
    if len(get_messages(request)):
        return None
    match = request.resolver_match
    pieces = pageframe.frame(match.view_name if match else "", reviews_somewhere(request.user),
                             own is not None)
    if pieces is None:
        return None
    # The token as the template's `csrf` context processor gets it (a new masking of the
    # reader's secret; the cookie is set when the request had none).
    token = get_token(request)
    parts = None if own is None else {
        "bar": own.bar, "tools": own.tools,
        "suggestions": own.suggestions.replace(ownparts.token_marker(), token)}
    return pageframe.fill(pieces, shared.parts, request.user.get_username(), token, parts)


def _proposer_parts(request: HttpRequest, document: Document, revision: Revision, offers,
                    etag_parts: tuple, own_stamps: tuple | None) -> ownparts.Own:
    """What document_detail.html includes for a proposer, rendered as those includes would
    be (the review app's propose bar and tools, the suggestions with a marker for the CSRF
    token), and kept under `own_stamps` when given."""
    context = {"edition": document.edition, "document": document, "revision": revision}
    bar, tools = (get_template(f"review/propose_{name}.html").template.render(Context(context))
                  for name in ("bar", "tools"))
    suggestions = ""
    if offers:
        suggestions = get_template("edition/_import_suggestions.html").template.render(Context(
            context | {"offers": offers, "request": request,
                       "csrf_token": ownparts.token_marker()}))
    own = ownparts.Own(own_stamps, revision.pk, etag_parts, bar, tools, suggestions)
    if own_stamps is not None:
        ownparts.keep(RENDER_VERSION, document.pk, own)
    return own


def _shared_name(edition: str, doc: str) -> str:
    return f"doc:{edition}:{doc}"


@login_not_required
@require_safe
def document_detail(request: HttpRequest, edition: str, doc: str) -> HttpResponse:
    # Anonymous readers share one rendering of the page per set of stamps (pagecache): one
    # cache round trip and no query; a conditional GET is answered from the page's head.
    # Signed-in readers share its parts (`SharedParts`): their page costs the session and the
    # user, plus a proposer's own tools.
    stamps = reading_stamps(edition, doc)
    name = _shared_name(edition, doc)
    if signed_in(request) and pagecache.same_for_all(request):
        values, shared = pagecache.shared(request, name, RENDER_VERSION, stamps)
        document = None
        if shared is None:
            document = document_or_404(edition, doc)
            shared = _shared_parts(request, document, document.current_revision)
            pagecache.keep_shared(request, name, RENDER_VERSION, values, shared)
        if shown_role(request.user, shared.edition_id) in PROPOSERS:
            # A proposer's own parts from the cache (edition/ownparts.py) when they were read
            # on the revision the shared parts show: the unit's current one.
            # (Parts stored before they named their document have no id: not cached.)
            document_id = getattr(shared, "document_id", None)
            own_stamps, own = (None, None) if document_id is None else ownparts.read(
                RENDER_VERSION, document_id, shared.edition_id, values)
            if (document is None and own is not None
                    and own.revision_id == shared.ident[0] == shared.ident[2]):
                response = _own_page(request, values, shared, own)
                if response is not None:
                    return response
            document = document or document_or_404(edition, doc)
            # The tools place a proposal on the revision they are given: never on text other
            # than the one shown (an approval may have landed since the parts were stored).
            if document.current_revision_id != shared.ident[2]:
                shared = _shared_parts(request, document, document.current_revision)
            return _reading_view(request, document, document.current_revision, values, shared,
                                 own_stamps)
        return _reading_view(request, document, document and document.current_revision,
                             values, shared)

    def render(stamps):
        document = document_or_404(edition, doc)
        shared = _shared_parts(request, document, document.current_revision)
        if pagecache.same_for_all(request):
            pagecache.keep_shared(request, name, RENDER_VERSION, stamps, shared)
        return _reading_view(request, document, document.current_revision, stamps, shared)

    return pagecache.serve(request, name, RENDER_VERSION, stamps, render,
                           lambda response: cache_headers(request, response))


@require_POST
def dismiss_suggestion(request: HttpRequest, edition: str, doc: str, pk: int) -> HttpResponse:
    """An editor sets a suggestion aside for good; back to the page it was dismissed on
    (`next`: the edition's suggestions page) or the reading view."""
    document = document_or_404(edition, doc)
    require_proposer(request.user, document.edition)
    suggestion = get_object_or_404(document.suggestions.open(), pk=pk)
    suggestion.dismiss(by=request.user)
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()},
                                                require_https=request.is_secure()):
        return redirect(back)
    return redirect(f"{document.get_absolute_url()}#suggestions")


@login_not_required
@require_safe
def revision_detail(request: HttpRequest, edition: str, doc: str, number: int) -> HttpResponse:
    document = document_or_404(edition, doc)
    revision = get_object_or_404(document.revisions.defer("tei", "text"), number=number)
    return _reading_view(request, document, revision)


def _download(request: HttpRequest, edition: str, doc: str, suffix: str, content_type: str,
              body) -> HttpResponse:
    """The current revision as a file: `body(document, revision)` gives its content."""
    document = document_or_404(edition, doc)
    revision = document.current_revision
    etag, not_modified = conditional(request, suffix, revision.checksum,
                                      last_modified=revision.created_at, header=False)
    if not_modified is not None:
        return _finish(request, not_modified, etag, revision.created_at)
    response = HttpResponse(body(document, revision), content_type=content_type)
    response["Content-Disposition"] = f'inline; filename="{edition}-{doc}.{suffix}"'
    return _finish(request, response, etag, revision.created_at)


@login_not_required
@require_safe
def document_tei(request: HttpRequest, edition: str, doc: str) -> HttpResponse:
    return _download(request, edition, doc, "xml", "application/tei+xml; charset=utf-8",
                     lambda document, revision: tei_export.document_tei(document.edition, revision))


@login_not_required
@require_safe
def document_text(request: HttpRequest, edition: str, doc: str) -> HttpResponse:
    return _download(request, edition, doc, "txt", "text/plain; charset=utf-8",
                     lambda document, revision: rendered_text(revision))
