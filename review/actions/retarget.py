"""Re-targeting: the author places a stuck proposal (conflicted, needs review, orphaned) again
on the current revision, or revises one after a reviewer asked for changes; it is then pending
review again."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction

from edition.models import Revision
from edition.roles import require_member
from edition.tei.selectors import Quote, place_quote

from ..models import Change, Event, Proposal
from . import ProposalError, check_prose_length, check_text, lock
from .propose import ChangeSpec, validated

Kind = Change.Kind


def check_retarget(user, proposal: Proposal) -> None:
    """Only the author, while the proposal is not closed."""
    require_member(user, proposal.document.edition)
    if proposal.author_id != user.pk:
        raise PermissionDenied("Only the author may re-target a proposal.")
    if proposal.status in Proposal.CLOSED:
        raise ProposalError(f"this proposal is {proposal.get_status_display().lower()}",
                            code="closed")


def do_retarget(proposal: Proposal, *, by, changes: list[ChangeSpec], base_revision: int,
                rationale: str | None = None) -> Proposal:
    """Replace the proposal's changes, checked as a new proposal's are (`propose.validated`),
    and make it pending with its approvals counted again. Locks the document, then the
    proposal."""
    check_text("rationale", rationale)
    if rationale:
        check_prose_length(rationale, "rationale")
    with transaction.atomic():
        document, proposal = lock(proposal)
        check_retarget(by, proposal)
        head, prepared = validated(document, base_revision, changes)
        proposal.changes.all().delete()
        for change in prepared:
            change.proposal = proposal
        Change.objects.bulk_create(prepared)
        proposal.revision = head
        proposal.status = Proposal.Status.PENDING
        proposal.status_reason = ""
        proposal.context_changed = False
        if rationale:
            proposal.rationale = rationale.strip()
        proposal.save()
        Event.objects.create(proposal=proposal, actor=by, kind=Event.Kind.RESUBMITTED)
    return proposal


def quote_of(change: Change) -> str:
    """The words that name where `change` goes, for the author to correct: its quote; for a
    footnote, the last words it follows; for a block inserted before another, that block's
    first words."""
    if change.kind == Kind.NOTE_ADD:
        block = change.prefix.rsplit("\n\n", 1)[-1]
        return " ".join(block.split(" ")[-4:])
    if change.kind == Kind.STRUCTURE and change.start == change.end:
        return change.suffix.split("\n\n", 1)[0]
    return change.exact


def suggested_quote(change: Change, head: Revision) -> str:
    """The quote to offer the author: where re-anchoring found the change approximately on
    `head` (`Change.found`, only while `head` is still that revision), else `quote_of`."""
    found = change.found
    if (found and found.get("revision") == head.number and found["start"] < found["end"]
            and change.kind == Kind.TEXT):
        return head.text[found["start"]:found["end"]]
    return quote_of(change)


def place_change(change: Change, text: str, *, quote: str, content: str,
                 note_id: str = "") -> ChangeSpec:
    """`change` placed again on `text` by `quote` (see `quote_of`), with the stored selector's
    context and old offset as the tie-breakers of `place_quote`. Raises QuoteError."""
    if change.names_note or change.is_metadata:  # not placed by a quote
        return ChangeSpec(change.kind, 0, 0, content, note_id=note_id)
    prefix, suffix, hint = change.prefix, change.suffix, change.start
    if change.kind == Kind.NOTE_ADD:  # the quote is the end of the stored prefix
        prefix, hint = prefix.removesuffix(quote), change.start - len(quote)
    elif change.start == change.end:  # a block inserted before the block starting with quote
        suffix = suffix.removeprefix(quote)
    start = place_quote(text, Quote(quote, prefix, suffix), hint=hint)
    if change.kind == Kind.NOTE_ADD:
        return ChangeSpec(change.kind, start + len(quote), start + len(quote), content)
    if change.start == change.end:
        return ChangeSpec(change.kind, start, start, content)
    return ChangeSpec(change.kind, start, start + len(quote), content, exact=quote)
