"""History pages: the diff between two revisions, reverting a change, the corrections logs.

Everything here is public except `revert`, which proposes (members who may propose only). The
diff of two revisions never changes (revisions are immutable), so it is cached for long; the
logs change with every approval and revalidate like the reading view.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.http import http_date
from django.views.decorators.http import require_POST, require_safe

from edition import pagecache
from edition.models import Edition, Revision
from edition.params import has_nul, positive_int
from edition.views import cache_headers, conditional, document_or_404

from .. import corrections, diffs
from ..actions import ProposalError
from ..actions.revert import check_revert, do_revert
from ..models import Proposal

# Part of every ETag here: bump it when these templates change what they show.
PAGE_VERSION = 2  # 2: the diff links its changes
PAGE_SIZE = 25
DIFF_MAX_AGE = 24 * 3600
MAX_REASON = 5000


def _conditional(request: HttpRequest, *parts, last_modified):
    return conditional(request, *parts, last_modified=last_modified, version=PAGE_VERSION)


def _finish(request: HttpRequest, response: HttpResponse, etag: str, last_modified, *,
            max_age: int = 0) -> HttpResponse:
    response["ETag"] = etag
    response["Last-Modified"] = http_date(last_modified.timestamp())
    private = request.user.is_authenticated
    if max_age:
        patch_cache_control(response, max_age=max_age, **({"private": True} if private
                                                           else {"public": True}))
    else:
        return cache_headers(request, response)  # the reading view's: proxies may help
    patch_vary_headers(response, ["Cookie"])
    return response


def _number(value: str | None) -> int | None:
    return positive_int(value)


# ------------------------------------------------------------------------------------------
# The history of a document, and the diff between two revisions


@login_not_required
@require_safe
def document_history(request: HttpRequest, edition: str, doc: str) -> HttpResponse:
    """From the cache for anonymous readers until the unit gets a revision or the edition
    changes (its stamps, edition/pagecache.py), as its corrections log; members see their
    links and the revert form, rendered each time."""
    def render(stamps):
        document = document_or_404(edition, doc)
        response = TemplateResponse(
            request, "review/history.html",
            {"edition": document.edition, "document": document,
             **corrections.history_context(document, request.user)},
        )
        if stamps is None:  # a member's page: rendered each time, no stamps read
            return cache_headers(request, response)
        # No Last-Modified: a unit with children moves its stamp with theirs (no time stored).
        etag, not_modified = _conditional(request, "history", stamps, last_modified=None)
        response = response if not_modified is None else not_modified
        response["ETag"] = etag
        return cache_headers(request, response)

    if not pagecache.cacheable(request):
        return render(None)
    return pagecache.serve(request, f"history:{edition}:{doc}", PAGE_VERSION,
                           [pagecache.edition_stamp(edition), pagecache.unit_stamp(edition, doc)],
                           render, lambda response: cache_headers(request, response))


@login_not_required
@require_safe
def revision_diff(request: HttpRequest, edition: str, doc: str, a: int, b: int) -> HttpResponse:
    if "a" in request.GET or "b" in request.GET:
        # The history page's compare form (GET, no JavaScript): send it to the canonical URL.
        chosen_a, chosen_b = _number(request.GET.get("a")), _number(request.GET.get("b"))
        if chosen_a is None or chosen_b is None:
            return HttpResponseBadRequest("Choose two revisions to compare")
        return redirect(reverse("review:diff", args=[edition, doc, chosen_a, chosen_b])
                        + "#change-1")
    def render(stamps):
        document = document_or_404(edition, doc)
        pair = corrections.revisions_for_diff(document, a, b)
        if pair is None:
            raise Http404(f"{document.label} has no revision {a} or {b}")
        old, new = pair
        # Immutable revisions, but the page names the edition (its title) and the unit (its
        # label: a chapter's title, a document's number), which an admin's edit or a
        # re-import changes: both move the edition's time.
        last_modified = max(old.created_at, new.created_at, document.edition.updated_at)
        etag, not_modified = _conditional(request, old.checksum, new.checksum, edition, doc,
                                          document.edition.short_title, document.label,
                                          last_modified=last_modified)
        if not_modified is not None:
            return not_modified
        renamed = corrections.renames_between(document, a, b)
        diff, change_count = (diffs.navigable_diff_html(old.text, new.text)
                              if old.text != new.text else ("", 0))
        context = {
            "edition": document.edition,
            "document": document,
            "old": old,
            "new": new,
            "identical": old.checksum == new.checksum,
            "diff": diff, "change_count": change_count,
            "notes": corrections.note_changes(corrections.notes_of(old.element),
                                              corrections.notes_of(new.element), renamed),
        }
        response = TemplateResponse(request, "review/history_diff.html", context)
        return _finish(request, response, etag, last_modified, max_age=DIFF_MAX_AGE)

    # Two revisions never change: the page is kept for anonymous readers until the edition
    # changes (its title is in the breadcrumbs; a re-import is an edition change too).
    return pagecache.serve(request, f"diff:{edition}:{doc}:{a}:{b}", PAGE_VERSION,
                           [pagecache.edition_stamp(edition)], render,
                           lambda response: _diff_headers(request, response))


def _diff_headers(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """The headers `_finish` gives a diff, on a response made from the cache."""
    patch_cache_control(response, max_age=DIFF_MAX_AGE, public=True)
    patch_vary_headers(response, ["Cookie"])
    return response


# ------------------------------------------------------------------------------------------
# Reverting a change


@require_POST
def revert(request: HttpRequest, edition: str, doc: str, number: int) -> HttpResponse:
    document = document_or_404(edition, doc)
    check_revert(request.user, document)  # 404 outsiders, 403 small roles
    revision = get_object_or_404(document.revisions.defer("tei", "text"), number=number)
    history = reverse("review:history", args=[edition, doc])
    reason = request.POST.get("reason", "").strip()
    if not reason or len(reason) > MAX_REASON:
        messages.error(request, f"Revision {number} was not reverted: give a reason (up to "
                                f"{MAX_REASON} characters); reviewers read it.")
        return redirect(f"{history}#r{number}")
    if (existing := Proposal.objects.open_reverts_of(revision).first()) is not None:
        messages.info(request, f"A proposal to revert revision {number} is already open.")
        return redirect(existing)
    try:
        proposal = do_revert(document, revision, by=request.user, reason=reason)
    except ProposalError as exc:
        messages.error(request, f"Revision {number} was not reverted: {exc.message}")
        return redirect(f"{history}#r{number}")
    messages.success(request, f"Proposed reverting revision {number}; it waits for review "
                              "like any other proposal.")
    return redirect(proposal)


# ------------------------------------------------------------------------------------------
# Corrections logs


@login_not_required
@require_safe
def document_corrections(request: HttpRequest, edition: str, doc: str) -> HttpResponse:
    """A unit's log: from the cache for anonymous readers until the unit gets a revision or
    the edition changes (its stamps, edition/pagecache.py); `?since=` is rendered each time."""
    raw_since = request.GET.get("since", "").strip()
    since = _number(raw_since)

    def render(stamps):
        document = document_or_404(edition, doc)
        last_modified = max(document.current_revision.created_at, document.edition.updated_at)
        etag, not_modified = _conditional(request, "log", stamps, since, raw_since[:20],
                                          last_modified=last_modified)
        if not_modified is not None:
            return _finish(request, not_modified, etag, last_modified)
        context = {
            "edition": document.edition,
            "document": document,
            "entries": corrections.document_log(document, since=since),
            "since": since,
            "since_invalid": bool(raw_since) and since is None,
            "current": document.current_revision,
        }
        # A `since` that is not a revision number is the request's fault (400), but the page
        # still answers it usefully: the whole log, with a note saying why.
        response = TemplateResponse(request, "review/corrections_document.html", context,
                                    status=400 if context["since_invalid"] else 200)
        return _finish(request, response, etag, last_modified)

    return pagecache.serve(request, f"dlog:{edition}:{doc}", PAGE_VERSION,
                           [pagecache.edition_stamp(edition), pagecache.unit_stamp(edition, doc)],
                           render, lambda response: cache_headers(request, response))


@login_not_required
@require_safe
def edition_corrections(request: HttpRequest, edition: str) -> HttpResponse:
    """The edition's log, a page at a time: from the cache for anonymous readers until the
    next revision in the edition or a change to the edition."""
    page_number = request.GET.get("page", "1")
    if has_nul(page_number):  # Paginator reads any other string as page 1 or the last
        page_number = "1"
    number = positive_int(page_number)
    slug = edition

    def render(stamps):
        edition = get_object_or_404(Edition.objects.defer("tei_skeleton", "tei_header"),
                                    slug=slug)
        newest = (Revision.objects.filter(document__edition=edition).order_by("-pk")
                  .values_list("created_at", flat=True).first()) or edition.updated_at
        last_modified = max(newest, edition.updated_at)
        etag, not_modified = _conditional(request, "log", stamps, page_number[:20],
                                          last_modified=last_modified)
        if not_modified is not None:
            return _finish(request, not_modified, etag, last_modified)
        page = Paginator(corrections.edition_log(edition), PAGE_SIZE).get_page(page_number)
        context = {
            "edition": edition,
            "page": page,
            "entries": corrections.corrections(page.object_list),
        }
        response = TemplateResponse(request, "review/corrections_edition.html", context)
        # A number past the last page shows the last: not kept under it (edition.views.toc).
        response.kept = page.number == number
        return _finish(request, response, etag, last_modified)

    # Only a page number as written ("2", not "02") is a page of its own in the cache.
    params = ("page",) if number is not None and page_number == str(number) else ()
    return pagecache.serve(request, f"elog:{slug}:{number or 1}", PAGE_VERSION,
                           [pagecache.edition_stamp(slug), pagecache.revisions_stamp(slug)],
                           render, lambda response: cache_headers(request, response), params)
