"""Batch proposals (review/batches.py): the editor's preview and submit, from a phrase
(`/<edition>/batches/new/?find=…`, where the search page's "Propose a replacement for these"
links) or from one check's open suggestions (`/<edition>/batches/check/<check>/`); the batch
page for everyone in the edition, with "Approve all that apply" for reviewers.

The preview is a GET (it stores nothing, so it can be linked, bookmarked and reloaded); the
submit is a POST of the ticked matches' tokens. Without JavaScript "Tick all" and "Untick all"
are links that show the preview again with every box in that state.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from edition.models import Edition, Suggestion
from edition.params import has_nul
from edition.roles import can_review, require_member, require_proposer, require_reviewer

from .. import batches
from ..actions import ProposalError, sentence
from ..models import ProposalBatch
from .queue import make_rows, with_row_data

NEW_TEMPLATE = "review/batch_new.html"
DETAIL_TEMPLATE = "review/batch_detail.html"


def _edition(slug: str) -> Edition:
    return get_object_or_404(Edition.objects.without_tei(), slug=slug)


def _phrase(query: str) -> str:
    """A search's query as the phrase to find: `"exact phrase"` without its quotes (the
    search page may link here with its own `q`)."""
    query = query.strip()
    if len(query) > 1 and query[0] == query[-1] == '"':
        return query[1:-1]
    return query


def _groups(found: list[batches.Match]) -> list[dict]:
    """The matches by document, for the preview's list."""
    groups: list[dict] = []
    for match in found:
        if not groups or groups[-1]["document"].pk != match.document.pk:
            groups.append({"document": match.document, "matches": []})
        groups[-1]["matches"].append(match)
    return groups


def _preview(request: HttpRequest, edition: Edition, *, find: str = "", replacement: str = "",
             check_name: str = "", error: str = "", status: int = 200,
             ticked: set[str] | None = None, rationale: str = "",
             refused: list | None = None) -> HttpResponse:
    """The form and, once there is something to find, every match with a box ticked (or as
    `ticked` says, after a refused submit or "Untick all")."""
    found: list[batches.Match] = []
    problem = ""
    if check_name:
        found = batches.suggestion_matches(edition, check_name)
        searched = True
    else:
        searched = bool(find) and "replacement" in request.GET or request.method == "POST"
        if searched:
            try:
                found = batches.matches(edition, find, replacement)
            except ValueError as exc:
                problem = sentence(str(exc))
    state = request.GET.get("ticked")
    for match in found:
        match.ticked = (state != "none") if ticked is None else match.token in ticked
    query = request.GET.copy()
    query.pop("ticked", None)
    context = {
        "edition": edition, "find": find, "replacement": replacement, "check_name": check_name,
        "check_label": dict(Suggestion.Check.choices).get(check_name, check_name),
        "searched": searched, "matches": found, "groups": _groups(found),
        "documents": len({m.document.pk for m in found}),
        "ticked_count": sum(m.ticked for m in found),
        "problem": problem, "error": error, "rationale": rationale, "refused": refused or [],
        "all_url": "?" + (query.urlencode() + "&" if query else "") + "ticked=all",
        "none_url": "?" + (query.urlencode() + "&" if query else "") + "ticked=none",
    }
    return TemplateResponse(request, NEW_TEMPLATE, context, status=status)


@require_http_methods(["GET", "POST"])
@never_cache  # the preview shows the text as it is now
def batch_new(request: HttpRequest, edition: str) -> HttpResponse:
    """Find and replace across the edition: form, preview, submit."""
    edition = _edition(edition)
    require_proposer(request.user, edition)  # 404 to outsiders, 403 to readers
    data = request.POST if request.method == "POST" else request.GET
    find, replacement = data.get("find", "") or _phrase(data.get("q", "")), data.get(
        "replacement", "")
    if has_nul(find, replacement):
        return _preview(request, edition, error="The text to find or its replacement "
                        "contains a NUL character.", status=400)
    if request.method == "POST":
        return _submit(request, edition, find=find, replacement=replacement)
    return _preview(request, edition, find=find, replacement=replacement)


@require_http_methods(["GET", "POST"])
@never_cache
def batch_from_check(request: HttpRequest, edition: str, check_name: str) -> HttpResponse:
    """“Fix all N … in this volume”: the open text suggestions of one check as a batch."""
    edition = _edition(edition)
    require_proposer(request.user, edition)
    if request.method == "POST":
        return _submit(request, edition, check_name=check_name)
    return _preview(request, edition, check_name=check_name)


def _submit(request: HttpRequest, edition: Edition, *, find: str = "", replacement: str = "",
            check_name: str = "") -> HttpResponse:
    values = request.POST.getlist("match")
    rationale = request.POST.get("rationale", "")
    again = {"find": find, "replacement": replacement, "check_name": check_name,
             "ticked": set(values), "rationale": rationale}
    if has_nul(rationale, *values):
        return _preview(request, edition, error="The rationale contains a NUL character.",
                        status=400, **again)
    try:
        chosen = batches.resolve(edition, values, find=find, replacement=replacement,
                                 check_name=check_name)
    except batches.BatchForged as exc:
        # Not something the preview offers: refused whole, nothing stored.
        return _preview(request, edition, error=f"Nothing was proposed: {exc} (preview again).",
                        status=400, **again)
    try:
        result = batches.create_batch(request.user, edition, rationale, chosen, find=find,
                                      replacement=replacement, check_name=check_name)
    except ProposalError as exc:
        return _preview(request, edition, error=sentence(exc.message), status=400, **again)
    if result.batch is None:
        return _preview(request, edition, error="No document could be proposed; see why "
                        "below.", status=409, refused=result.refused, **again)
    messages.success(request, f"Proposed in {len(result.proposals)} document"
                              f"{'s' if len(result.proposals) != 1 else ''}.")
    for document, why in result.refused:
        messages.error(request, f"{document.label} was not proposed: {sentence(why)}")
    return redirect(result.batch.get_absolute_url())


def _batch(edition: str, pk: int) -> ProposalBatch:
    return get_object_or_404(ProposalBatch.objects.select_related("author", "edition").defer(
        "edition__tei_skeleton", "edition__tei_header"), pk=pk, edition__slug=edition)


@require_safe
@never_cache  # Back must not show a decision as still open
def batch_detail(request: HttpRequest, edition: str, pk: int) -> HttpResponse:
    batch = _batch(edition, pk)
    require_member(request.user, batch.edition)  # 404 to outsiders
    proposals = with_row_data(batch.proposals.all()).order_by("document__order", "pk")
    rows = make_rows(proposals, request.user)
    state = batches.progress(batch)
    context = {
        "batch": batch, "edition": batch.edition, "rows": rows, "progress": state,
        "title": batches.describe(batch, state.total),
        "can_review": can_review(request.user, batch.edition),
        "report": getattr(request, "_batch_report", None),
    }
    return TemplateResponse(request, DETAIL_TEMPLATE, context)


@require_POST
def batch_approve_all(request: HttpRequest, edition: str, pk: int) -> HttpResponse:
    """“Approve all that apply”: each pending proposal through the approve action; the ones
    that conflict or are refused are reported and stay as they are."""
    batch = _batch(edition, pk)
    require_reviewer(request.user, batch.edition)  # 404 to outsiders, 403 to editors
    outcomes = batches.approve_batch(request.user, batch)
    done = [o for o in outcomes if not o.failed]
    failed = [o for o in outcomes if o.failed]
    if done:
        messages.success(request, f"{len(done)} of {len(outcomes)} approved.")
    if not outcomes:
        messages.warning(request, "Nothing in this batch waits for a decision.")
    for outcome in failed:
        messages.error(request, f"#{outcome.proposal.pk} on {outcome.proposal.document.label}: "
                                f"{sentence(outcome.message)}")
    return redirect(batch.get_absolute_url())
