"""One proposal: its changes as diffs in context, the thread, and one URL per action.

Each action POSTs to its own address (`…/approve/`, `…/reject/`, `…/request-changes/`,
`…/withdraw/`, `…/comment/`). The view asks the action's own `check_*` (403 with the reason),
calls its `do_*`, and answers: an HTMX post gets the `decision-panel` partial back with a
`proposalDecided` client event, or — from a row of the queue (`row=1`) — that row; a plain
post is redirected (POST/redirect/GET) with a message, or shown again with the error.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_htmx.http import trigger_client_event

from edition import pages
from edition.models import Revision
from edition.tei.selectors import QuoteAmbiguous, QuoteError

from .. import page_images, presentation
from ..access import proposal_for_member
from ..actions import ProposalError, refusal
from ..actions.approve import check_approve, do_approve
from ..actions.comment import check_comment, do_comment
from ..actions.decide import (check_decide, check_withdraw, do_reject, do_request_changes,
                              do_withdraw)
from ..actions.retarget import check_retarget, do_retarget, place_change, suggested_quote
from ..forms import CommentForm, RationaleForm, ReasonForm, RetargetChangeForm
from ..models import Change, Proposal, approvers_since_submission
from .queue import QUEUE_TEMPLATE, back_to, make_rows, with_row_data

Kind = Change.Kind
TEMPLATE = "review/proposal_detail.html"


def http_status(exc: ProposalError) -> int:
    """A refusal the person can fix by changing the input is 400 (changes the gate refuses
    included); one of state, 409 (an approval the gate refused included); a gate that cannot
    check (no schema installed), 503."""
    if exc.code == "no-schema":
        return 503
    return 400 if exc.code in ("invalid", "reason", "invalid-tei", "unrenderable", "too_large",
                               "too_many") else 409


# ------------------------------------------------------------------------------------------
# The page


@require_safe
@never_cache  # Back must not show a decision as still open
def proposal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = proposal_for_member(request.user, pk)  # 404 to outsiders
    return _show(request, proposal)


def _show(request: HttpRequest, proposal: Proposal, *, notice: str = "", error: str = "",
          status: int = 200, forms: dict | None = None, decided: bool = False) -> HttpResponse:
    """The page, or its decision panel for HTMX, showing the proposal as it now is."""
    context = _panel_context(request.user, proposal) | {
        "reason_form": ReasonForm(), "comment_form": CommentForm(), **(forms or {}),
        "error": error, "notice": notice}
    template = TEMPLATE
    if request.htmx and not request.htmx.boosted:
        template += "#decision-panel"
    else:
        context |= _page_context(proposal)
    response = TemplateResponse(request, template, context, status=status)
    if context.get("with_pages"):
        # The page images may be remote (the TEI's or the edition's address): let them load.
        pages.allow_images(response, proposal.document.edition.slug)
    if decided:
        trigger_client_event(response, "proposalDecided",
                             {"id": proposal.pk, "status": proposal.status})
    return response


def _panel_context(user, proposal: Proposal) -> dict:
    events = list(proposal.events.select_related("actor"))
    approver_ids = approvers_since_submission(events)
    names = {e.actor_id: e.actor.get_username() for e in events if e.actor_id}
    cannot_decide = refusal(check_decide, user, proposal)
    return {
        "proposal": proposal,
        "events": events,
        "approvers": sorted(names.get(i, "?") for i in approver_ids),
        "required": proposal.document.edition.required_approvals,
        "can_decide": not cannot_decide,
        "can_approve": not refusal(check_approve, user, proposal, approvers=approver_ids),
        "cannot_decide": cannot_decide,
        "is_author": proposal.author_id == user.pk,
        "can_withdraw": not refusal(check_withdraw, user, proposal),
        "can_retarget": not refusal(check_retarget, user, proposal),
    }


def _page_context(proposal: Proposal) -> dict:
    revision = proposal.anchor_revision
    revision.document = proposal.document  # its URL needs the edition: spare the queries
    changes = list(proposal.changes.all())
    rendered, render_error = "", ""
    if any(c.kind == Kind.STRUCTURE for c in changes):
        rendered, render_error = presentation.rendered_result(proposal, changes)
    # The printed page(s) each change falls on, its words outlined: what the reviewer checks.
    shown = pages.shown(proposal.document, revision)
    views = [presentation.describe(c, revision) for c in changes]
    for view, on in zip(views, page_images.change_pages(
            [v.change for v in views], proposal.document, revision, shown), strict=True):
        view.pages = on
    evidence = page_images.evidence(proposal.suggestion)
    return {
        "document": proposal.document,
        "edition": proposal.document.edition,
        "revision": revision,
        "is_current": revision.pk == proposal.document.current_revision_id,
        "changes": views,
        "evidence": evidence,
        "with_pages": evidence is not None or any(v.pages for v in views),
        "rendered": rendered,
        "render_error": render_error,
    }


# ------------------------------------------------------------------------------------------
# Actions


def _act(request: HttpRequest, pk: int, check: Callable[..., None],
         act: Callable[[Proposal], str], *, form=None, form_name: str = "",
         form_error: str = "") -> HttpResponse:
    """Check (403 or 404 raised), validate `form`, act; then answer as the module says."""
    proposal = proposal_for_member(request.user, pk)
    notice, error, status, invalid = "", "", 200, False
    try:
        check(request.user, proposal)
        if form is not None and not form.is_valid():
            invalid, status = True, 400
        else:
            notice = act(proposal)
    except ProposalError as exc:
        error, status = exc.message, http_status(exc)
    if request.POST.get("row"):
        return _row_answer(request, pk, form_error if invalid else error or notice,
                           failed=status != 200, status=status)
    if status == 200 and not (request.htmx and not request.htmx.boosted):
        messages.success(request, notice)
        return redirect(proposal)
    # Show the state after the attempt: it may have changed under us (a conflict, say).
    proposal = proposal_for_member(request.user, pk)
    return _show(request, proposal, notice=notice, error=error, status=status,
                 forms={form_name: form} if invalid else None,
                 decided=status == 200 and check is not check_comment)


def _row_answer(request: HttpRequest, pk: int, outcome: str, *, failed: bool,
                status: int) -> HttpResponse:
    """A decision taken from a row of the queue: the row again (HTMX), or back to the queue."""
    if not (request.htmx and not request.htmx.boosted):
        (messages.error if failed else messages.success)(request, f"#{pk}: {outcome}")
        return redirect(back_to(request, reverse("review:queue")))
    [row] = make_rows(with_row_data(Proposal.objects.filter(pk=pk)), request.user)
    row.outcome, row.failed = outcome, failed
    response = TemplateResponse(request, QUEUE_TEMPLATE + "#queue-row", {"row": row},
                                status=status)
    if not failed:
        trigger_client_event(response, "proposalDecided", {"id": pk})
    return response


@require_POST
def approve(request: HttpRequest, pk: int) -> HttpResponse:
    def act(proposal: Proposal) -> str:
        revision = do_approve(proposal, by=request.user)
        if revision is None:
            return "Approval recorded; it needs more approvals before it applies."
        return f"Approved and applied as revision {revision.number}."

    return _act(request, pk, check_approve, act)


def _decide_with_reason(request: HttpRequest, pk: int, do: Callable[..., object],
                        notice: str) -> HttpResponse:
    form = ReasonForm(request.POST)

    def act(proposal: Proposal) -> str:
        do(proposal, by=request.user, reason=form.cleaned_data["reason"])
        return notice

    return _act(request, pk, check_decide, act, form=form, form_name="reason_form",
                form_error="Give a reason: the author is told why.")


@require_POST
def reject(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide_with_reason(request, pk, do_reject, "Rejected; the author has been told why.")


@require_POST
def request_changes(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide_with_reason(request, pk, do_request_changes,
                               "Changes requested; the author has been told.")


@require_POST
def withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    def act(proposal: Proposal) -> str:
        do_withdraw(proposal, by=request.user)
        return "Withdrawn."

    return _act(request, pk, check_withdraw, act)


@require_POST
def comment(request: HttpRequest, pk: int) -> HttpResponse:
    form = CommentForm(request.POST)

    def act(proposal: Proposal) -> str:
        do_comment(proposal, by=request.user, body=form.cleaned_data["body"])
        return "Comment added."

    return _act(request, pk, check_comment, act, form=form, form_name="comment_form",
                form_error="The comment is empty.")


# ------------------------------------------------------------------------------------------
# Re-targeting


@require_http_methods(["GET", "POST"])
def proposal_retarget(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = proposal_for_member(request.user, pk)
    try:
        check_retarget(request.user, proposal)  # 403 for anyone but the author
    except ProposalError:
        messages.error(request, f"This proposal is {proposal.get_status_display().lower()}.")
        return redirect(proposal)
    head = Revision.objects.get(pk=proposal.document.current_revision_id)
    changes = list(proposal.changes.all())
    notes = [(n["id"], f"{n['label']}: {n['words']}") for n in presentation.footnotes(head)]
    data = request.POST if request.method == "POST" else None
    change_forms = [
        RetargetChangeForm(data, prefix=f"c{i}", kind=c.kind, notes=notes,
                           initial={"quote": suggested_quote(c, head), "content": c.content,
                                    "note_id": c.note_id})
        for i, c in enumerate(changes)]
    rationale_form = RationaleForm(data, initial={"rationale": proposal.rationale})
    error, status = "", 200
    if data is not None:
        # Validate every form (no short circuit), so each shows its own errors.
        valid = all([f.is_valid() for f in [*change_forms, rationale_form]])
        specs = []
        for change, form in zip(changes, change_forms, strict=True):
            if not valid:
                break
            cleaned = form.cleaned_data
            try:
                specs.append(place_change(change, head.text, quote=cleaned.get("quote", ""),
                                          content=cleaned.get("content", ""),
                                          note_id=cleaned.get("note_id", "")))
            except QuoteError as exc:
                quote = cleaned["quote"][:80]
                form.add_error("quote", f"“{quote}” occurs {len(exc.candidates)} times in "
                                        f"revision {head.number}: quote a few more words."
                               if isinstance(exc, QuoteAmbiguous) else
                               f"“{quote}” is not in revision {head.number}.")
                valid = False
        if valid:
            try:
                do_retarget(proposal, by=request.user, changes=specs, base_revision=head.number,
                            rationale=rationale_form.cleaned_data["rationale"])
            except ProposalError as exc:
                error, status = exc.message, http_status(exc)
            else:
                messages.success(request, f"Re-targeted on revision {head.number}: the "
                                          "proposal is pending review again.")
                return redirect(proposal)
        else:
            status = 400
    anchor = proposal.anchor_revision
    rows = [{"change": c, "form": f, "was": presentation.describe(c, anchor),
             "now": presentation.where_now(c, head.text, quote=suggested_quote(c, head))}
            for c, f in zip(changes, change_forms, strict=True)]
    anchor.document = proposal.document
    context = {"proposal": proposal, "anchor": anchor, "head": head, "rows": rows, "error": error,
               "rationale_form": rationale_form, "document": proposal.document}
    return TemplateResponse(request, "review/retarget.html", context, status=status)
