"""One proposal: its changes as diffs in context, the thread, the decisions; re-targeting.

Decisions and comments are POSTs to the proposal's own address. An HTMX post gets the
`decision-panel` partial back (and a `proposalDecided` client event); a plain post is
redirected (POST/redirect/GET) with a message. Who may do what is decided here, before any
model method runs; the model methods check again under the document lock:
- every member of the edition may comment (editors too: they answer reviewers and discuss);
- reviewers and admins approve, reject or ask for changes, never on their own proposal;
- only the author withdraws or re-targets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods
from django_htmx.http import trigger_client_event
from lxml import etree

from edition.models import Revision
from edition.tei import XML_ID, tei, textlayer
from edition.tei.edits import ALLOWED, block_xml, note_body_xml, parse_fragment_list
from edition.tei.render import render_html

from .. import access, diffs
from ..anchoring import find_quote
from ..applying import ChangeSpec, ProposalError, resubmit
from ..transform import apply_changes
from ..forms import CommentForm, RationaleForm, ReasonForm, RetargetChangeForm
from ..models import Change, Proposal, approvers_since_submission

Kind = Change.Kind
DECISIONS = {"approve", "reject", "changes"}
NOTE_MARKERS = {
    Kind.NOTE_ADD: '<ins class="note-marker" title="footnote added here">[new note]</ins>',
    Kind.NOTE_EDIT: '<mark class="note-marker" title="footnote edited">[note]</mark>',
    Kind.NOTE_REMOVE: '<del class="note-marker" title="footnote removed">[note]</del>',
}


# ------------------------------------------------------------------------------------------
# Presenting changes (shared with the queue)


# One rule for counting approvals, over events the page has already loaded.
approvers_from = approvers_since_submission


def _window(text: str, start: int, end: int, context: int) -> tuple[int, int]:
    """`context` code points either side of [start, end), widened to whole words."""
    lo = text.rfind(" ", 0, start - context) + 1 if start > context else 0
    hi = text.find(" ", min(end + context, len(text)))
    return lo, len(text) if hi == -1 else hi


def _framed(text: str, lo: int, hi: int, html: str) -> str:
    return ("… " if lo > 0 else "") + html + (" …" if hi < len(text) else "")


def word_diff_in_context(text: str, start: int, end: int, replacement: str,
                         context: int = 160) -> str:
    """Escaped HTML: the words around [start, end), diffed word by word against the change."""
    lo, hi = _window(text, start, end, context)
    new = text[lo:start] + replacement + text[end:hi]
    return _framed(text, lo, hi, diffs.diff_html(text[lo:hi], new))


def point_in_context(text: str, pos: int, marker_html: str, context: int) -> str:
    lo, hi = _window(text, pos, pos, context)
    html = escape(text[lo:pos]) + marker_html + escape(text[pos:hi])
    return _framed(text, lo, hi, html).replace("\n\n", " ¶ ")


def fragment_text(content: str) -> str:
    """The text layer of submitted block TEI ('' when it does not parse: applying says why)."""
    try:
        _, elements = parse_fragment_list(content, allowed=set(ALLOWED))
    except ValueError:
        return ""
    wrapper = etree.Element(tei("div"))
    wrapper.extend(elements)
    return textlayer.text_of(wrapper)


def short_diff(change: Change, text: str) -> str:
    """One line of a queue row: the change in a little context, escaped HTML."""
    if change.kind == Kind.TEXT:
        return diffs.in_context(text, change.start, change.end, change.content, context=60)
    if change.kind == Kind.STRUCTURE:
        return diffs.in_context(text, change.start, change.end, fragment_text(change.content),
                                context=60)
    return point_in_context(text, change.start, NOTE_MARKERS[change.kind], 60)


@dataclass
class ChangeView:
    change: Change
    diff: str  # escaped HTML (diffs / escape), safe to mark
    source_before: str = ""  # TEI source, plain text: the template escapes it
    source_after: str = ""
    source_diff: str = ""


def describe(change: Change, revision: Revision) -> ChangeView:
    text, start, end = revision.text, change.start, change.end
    if change.kind == Kind.TEXT:
        return ChangeView(change, mark_safe(word_diff_in_context(text, start, end,
                                                                 change.content)))
    if change.kind == Kind.STRUCTURE:
        try:
            before = block_xml(revision.element, start, end) if end > start else ""
        except ValueError:  # a conflicted proposal's range may no longer cover whole blocks
            before = ""
        diff = word_diff_in_context(text, start, end, fragment_text(change.content))
    else:
        before = _note_body(revision, change.note_id) if change.note_id else ""
        diff = point_in_context(text, start, NOTE_MARKERS[change.kind], 160)
    after = "" if change.kind == Kind.NOTE_REMOVE else change.content
    # The source's indentation is not part of the change: diff the markup, not the layout.
    source_diff = diffs.diff_html(_squash(before), _squash(after))
    return ChangeView(change, mark_safe(diff), before, after, mark_safe(source_diff))


def _squash(xml: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r">\s+<", "><", xml)).strip()


def _note_body(revision: Revision, note_id: str) -> str:
    for note in revision.element.iter(tei("note")):
        if note.get(XML_ID) == note_id:
            return note_body_xml(note)
    return ""


def rendered_result(proposal: Proposal, changes: list[Change]) -> tuple[str, str]:
    """(HTML of the document as it would read after the change, or the reason it cannot)."""
    slug = proposal.document.edition.slug
    try:
        applied = apply_changes(proposal.anchor_revision.element, changes)
    except ValueError as exc:  # TextChangeError, FragmentError, TEIError
        return "", str(exc)
    # render_html escapes every text node and attribute: safe by construction.
    html = render_html(applied.element,
                       doc_href=lambda xml_id: reverse("edition:document", args=[slug, xml_id]))
    return mark_safe(html), ""


# ------------------------------------------------------------------------------------------
# The proposal page


def _http_status(exc: ProposalError) -> int:
    return 400 if exc.code in ("invalid", "reason") else 409


def _authorise(user, proposal: Proposal, role: str, action: str) -> None:
    """Deny before acting: members comment, reviewers decide (not their own), authors withdraw."""
    if action in DECISIONS:
        access.require_reviewer(user, proposal.document.edition)
        if proposal.author_id == user.pk:
            raise PermissionDenied("You proposed this: another reviewer must decide.")
    elif action == "withdraw" and proposal.author_id != user.pk:
        raise PermissionDenied("Only the author may withdraw a proposal.")


def _perform(proposal: Proposal, user, action: str, data) -> tuple[str, object]:
    """Run one action; returns (message, the form with errors or None). Raises ProposalError."""
    if action == "approve":
        revision = proposal.approve(by=user)
        if revision is None:
            return "Approval recorded; it needs more approvals before it applies.", None
        return f"Approved and applied as revision {revision.number}.", None
    if action in ("reject", "changes"):
        form = ReasonForm(data)
        if not form.is_valid():
            return "", form
        if action == "reject":
            proposal.reject(by=user, reason=form.cleaned_data["reason"])
            return "Rejected; the author has been told why.", None
        proposal.request_changes(by=user, reason=form.cleaned_data["reason"])
        return "Changes requested; the author has been told.", None
    if action == "comment":
        form = CommentForm(data)
        if not form.is_valid():
            return "", form
        proposal.comment(by=user, body=form.cleaned_data["body"])
        return "Comment added.", None
    proposal.withdraw(by=user)
    return "Withdrawn.", None


@require_http_methods(["GET", "POST"])
def proposal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = access.get_proposal_for(request.user, pk)  # 404 to outsiders
    role = access.role_in(request.user, proposal.document.edition)
    forms = {"reason_form": ReasonForm(), "comment_form": CommentForm()}
    error, notice, status, decided = "", "", 200, False
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in DECISIONS | {"comment", "withdraw"}:
            return HttpResponseBadRequest("Unknown action")
        _authorise(request.user, proposal, role, action)
        try:
            notice, invalid = _perform(proposal, request.user, action, request.POST)
        except ProposalError as exc:
            error, status = exc.message, _http_status(exc)
        else:
            if invalid is not None:
                status = 400
                forms["comment_form" if action == "comment" else "reason_form"] = invalid
            elif not request.htmx:
                messages.success(request, notice)
                return redirect(proposal)
            else:
                decided = action != "comment"
        # Show the state after the attempt: it may have changed under us (a conflict, say).
        proposal = access.get_proposal_for(request.user, pk)
    partial = bool(request.htmx) and not request.htmx.boosted
    context = _panel_context(request.user, proposal, role) | forms | {
        "error": error, "notice": notice}
    template = "review/proposal_detail.html"
    if partial:
        template += "#decision-panel"
    else:
        context |= _page_context(proposal)
    response = TemplateResponse(request, template, context, status=status)
    if decided:
        trigger_client_event(response, "proposalDecided",
                             {"id": proposal.pk, "status": proposal.status})
    return response


def _panel_context(user, proposal: Proposal, role: str) -> dict:
    events = list(proposal.events.select_related("actor"))
    approver_ids = approvers_from(events)
    names = {e.actor_id: e.actor.get_username() for e in events if e.actor_id}
    is_reviewer = role in access.REVIEWERS
    is_author = proposal.author_id == user.pk
    if not is_reviewer:
        cannot_decide = "Only reviewers of this edition decide; as a member you may comment."
    elif is_author:
        cannot_decide = "You proposed this: another reviewer must decide."
    elif proposal.status in Proposal.CLOSED:
        cannot_decide = f"This proposal is {proposal.get_status_display().lower()}."
    else:
        cannot_decide = ""
    return {
        "proposal": proposal,
        "events": events,
        "approvers": sorted(names.get(i, "?") for i in approver_ids),
        "required": proposal.document.edition.required_approvals,
        "can_decide": not cannot_decide,
        "can_approve": not cannot_decide and proposal.status == Proposal.Status.PENDING
        and user.pk not in approver_ids,
        "cannot_decide": cannot_decide,
        "is_author": is_author,
        "can_withdraw": is_author and proposal.status not in Proposal.CLOSED,
        "can_retarget": is_author and proposal.status not in Proposal.CLOSED,
    }


def _page_context(proposal: Proposal) -> dict:
    revision = proposal.anchor_revision
    revision.document = proposal.document  # its URL needs the edition: spare the queries
    changes = list(proposal.changes.all())
    rendered, render_error = "", ""
    if any(c.kind == Kind.STRUCTURE for c in changes):
        rendered, render_error = rendered_result(proposal, changes)
    return {
        "document": proposal.document,
        "edition": proposal.document.edition,
        "revision": revision,
        "is_current": revision.pk == proposal.document.current_revision_id,
        "changes": [describe(c, revision) for c in changes],
        "rendered": rendered,
        "render_error": render_error,
    }


# ------------------------------------------------------------------------------------------
# Re-targeting


def _tail_words(text: str, words: int = 4) -> str:
    """The last few words of `text` within its last block: what a footnote follows."""
    block = text.rsplit("\n\n", 1)[-1]
    return " ".join(block.split(" ")[-words:])


def _initial(change: Change) -> dict:
    if change.kind == Kind.NOTE_ADD:
        quote = _tail_words(change.prefix)
    elif change.kind == Kind.STRUCTURE and change.start == change.end:
        quote = change.suffix.split("\n\n", 1)[0]
    else:
        quote = change.exact
    return {"quote": quote, "content": change.content, "note_id": change.note_id}


def _place(change: Change, data: dict, text: str) -> ChangeSpec | None:
    """The change placed on `text` by its quote (context from the stored selector); None if
    the quote is not there."""
    kind, content = change.kind, data.get("content", "")
    if kind in (Kind.NOTE_EDIT, Kind.NOTE_REMOVE):
        return ChangeSpec(kind, 0, 0, content, note_id=data["note_id"])
    quote = data["quote"]
    prefix, suffix, hint = change.prefix, change.suffix, change.start
    if kind == Kind.NOTE_ADD:  # the quote is the end of the stored prefix
        prefix, hint = prefix.removesuffix(quote), change.start - len(quote)
    elif change.start == change.end:  # a block inserted before the block starting with quote
        suffix = suffix.removeprefix(quote)
    candidates = find_quote(text, quote, prefix, suffix, hint)
    if not candidates:
        return None
    start = candidates[0]
    if kind == Kind.NOTE_ADD:
        return ChangeSpec(kind, start + len(quote), start + len(quote), content)
    if change.start == change.end:
        return ChangeSpec(kind, start, start, content)
    return ChangeSpec(kind, start, start + len(quote), content, exact=quote)


def _where_now(change: Change, text: str) -> str:
    """Escaped HTML: the current text around where the old quote is found again, marked."""
    if change.kind in (Kind.NOTE_EDIT, Kind.NOTE_REMOVE):
        return ""
    initial = _initial(change)
    spec = _place(change, {"quote": initial["quote"], "content": ""}, text)
    if spec is None:
        return ""
    lo, hi = _window(text, spec.start, spec.end, 160)
    middle = (f"<mark>{escape(text[spec.start:spec.end])}</mark>" if spec.end > spec.start
              else '<mark class="point" title="here">‸</mark>')
    html = escape(text[lo:spec.start]) + middle + escape(text[spec.end:hi])
    return mark_safe(_framed(text, lo, hi, html).replace("\n\n", " ¶ "))


def _note_choices(head: Revision) -> list[tuple[str, str]]:
    choices = []
    for anchor in head.layer.notes:
        note_id = anchor.element.get(XML_ID) or ""
        snippet = " ".join("".join(anchor.element.itertext()).split())[:70]
        if anchor.element.get("type") != "source":  # the source note's text says "Source:"
            snippet = f"{anchor.element.get('n')}: {snippet}"
        choices.append((note_id, snippet))
    return choices


@require_http_methods(["GET", "POST"])
def proposal_retarget(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = access.get_proposal_for(request.user, pk)
    if proposal.author_id != request.user.pk:
        raise PermissionDenied("Only the author may re-target a proposal.")
    if proposal.status in Proposal.CLOSED:
        messages.error(request, f"This proposal is {proposal.get_status_display().lower()}.")
        return redirect(proposal)
    head = Revision.objects.get(pk=proposal.document.current_revision_id)
    changes = list(proposal.changes.all())
    notes = _note_choices(head)
    data = request.POST if request.method == "POST" else None
    change_forms = [RetargetChangeForm(data, prefix=f"c{i}", kind=c.kind, notes=notes,
                                       initial=_initial(c)) for i, c in enumerate(changes)]
    rationale_form = RationaleForm(data, initial={"rationale": proposal.rationale})
    error, status = "", 200
    if data is not None:
        # Validate every form (no short circuit), so each shows its own errors.
        checked = [f.is_valid() for f in [*change_forms, rationale_form]]
        valid = all(checked)
        specs = []
        for change, form in zip(changes, change_forms, strict=True):
            spec = _place(change, form.cleaned_data, head.text) if valid else None
            if valid and spec is None:
                form.add_error("quote", f"“{form.cleaned_data['quote'][:80]}” is not in "
                                        f"revision {head.number}.")
                valid = False
            specs.append(spec)
        if valid:
            try:
                resubmit(proposal, by=request.user, changes=specs, base_revision=head.number,
                         rationale=rationale_form.cleaned_data["rationale"])
            except ProposalError as exc:
                error, status = exc.message, _http_status(exc)
            else:
                messages.success(request, f"Re-targeted on revision {head.number}: the "
                                          "proposal is pending review again.")
                return redirect(proposal)
        else:
            status = 400
    anchor = proposal.anchor_revision
    rows = [{"change": c, "form": f, "was": describe(c, anchor),
             "now": _where_now(c, head.text)} for c, f in zip(changes, change_forms, strict=True)]
    anchor.document = proposal.document
    context = {"proposal": proposal, "anchor": anchor, "head": head, "rows": rows, "error": error,
               "rationale_form": rationale_form, "document": proposal.document}
    return TemplateResponse(request, "review/retarget.html", context, status=status)
