"""Creating, approving, rejecting and withdrawing proposals: every write holds a row lock on
the document. Applying to TEI is in `transform`, carrying the others over in `rebasing`.

Locking order is always document, then proposal, so two approvals of one document serialise:
the second sees the first's revision and its own proposal already rebased (or conflicted).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from lxml import etree

from edition.exporting.builds import request_export
from edition.imports import add_revision
from edition.models import Document, Revision
from edition.tei.edits import note_body_xml
from edition.tei.parsing import TEIError

from . import access, notifications
from .anchoring import Mapped, Step, against_added_notes, map_through, selector
from .models import Change, Event, Proposal, approvers_since_submission
from .rebasing import mark_conflicted, rebase
from .transform import apply_changes, compose_renames

log = logging.getLogger(__name__)
Kind = Change.Kind
Status = Proposal.Status


class ProposalError(Exception):
    """A proposal or decision that cannot be taken; `code` names the kind for API clients."""

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.message, self.code = message, code


@dataclass
class ChangeSpec:
    kind: str
    start: int
    end: int
    content: str = ""
    exact: str | None = None  # when given, must equal the text at [start, end)
    note_id: str = ""
    prefix: str = ""
    suffix: str = ""


# ------------------------------------------------------------------------------------------
# Proposing


def create_proposal(document: Document, *, author, base_revision: int, changes: list[ChangeSpec],
                    rationale: str, reverts: Revision | None = None) -> Proposal:
    """Validate and store a proposal against the document's current revision.

    A base revision older than the current one is accepted when the approved changes since
    then can be mapped around the selection; otherwise ProposalError(code="stale").
    """
    if not rationale.strip():
        raise ProposalError("a rationale is required: say why the text should change")
    if not changes:
        raise ProposalError("a proposal needs at least one change")
    with transaction.atomic():
        # The document's lock serialises proposals and approvals on it. FOR NO KEY UPDATE OF
        # the document only: an export build commits rows referencing documents (KEY SHARE)
        # while holding the edition row, which approvals touch too; FOR UPDATE, or locking the
        # joined edition, deadlocks the two.
        document = (Document.objects.select_for_update(of=("self",), no_key=True)
                    .select_related("edition").get(pk=document.pk))
        if not access.can_propose(author, document.edition):
            raise PermissionDenied("Only members of this edition may propose")
        head, prepared = _validated(document, base_revision, changes)
        proposal = Proposal.objects.create(document=document, author=author, revision=head,
                                           rationale=rationale.strip(), reverts=reverts)
        for change in prepared:
            change.proposal = proposal
        Change.objects.bulk_create(prepared)
        Event.objects.create(proposal=proposal, actor=author, kind=Event.Kind.CREATED)
    return proposal


def resubmit(proposal: Proposal, *, by, changes: list[ChangeSpec], base_revision: int,
             rationale: str | None = None) -> Proposal:
    """The author re-targets a conflicted proposal, or revises one after changes were asked."""
    with transaction.atomic():
        document = Document.objects.select_for_update(no_key=True).get(pk=proposal.document_id)
        proposal = Proposal.objects.select_for_update().get(pk=proposal.pk)
        if proposal.author_id != by.pk:
            raise PermissionDenied("Only the author may re-target a proposal")
        if proposal.status in Proposal.CLOSED:
            raise ProposalError(f"this proposal is {proposal.get_status_display().lower()}",
                                code="closed")
        head, prepared = _validated(document, base_revision, changes)
        proposal.changes.all().delete()
        for change in prepared:
            change.proposal = proposal
        Change.objects.bulk_create(prepared)
        proposal.revision = head
        proposal.status = Status.PENDING
        proposal.status_reason = ""
        proposal.context_changed = False
        if rationale:
            proposal.rationale = rationale.strip()
        proposal.save()
        Event.objects.create(proposal=proposal, actor=by, kind=Event.Kind.RESUBMITTED)
    return proposal


def _validated(document: Document, base_revision: int, changes: list[ChangeSpec]):
    """The head revision and the changes as rows anchored on it, checked to apply together."""
    head = Revision.objects.get(pk=document.current_revision_id)
    if base_revision != head.number:
        changes = _map_from(document, base_revision, head, changes)
    element = head.element
    prepared = [_prepare(head, element, spec) for spec in changes]
    _check_no_overlap(prepared)
    _check_notes_kept(head, prepared)
    try:
        apply_changes(element, prepared)
    except (ValueError, TEIError) as exc:
        raise ProposalError(str(exc), code="unapplicable") from exc
    return head, prepared


def _map_from(document: Document, base: int, head: Revision, specs: list[ChangeSpec]):
    """Map offsets (and footnote ids) made on revision `base` to `head` through the step maps
    and footnote renames recorded since. Raises ProposalError(code="stale") where an approved
    change overlaps a change, or edited or removed the footnote it edits."""
    later = list(document.revisions.filter(number__gt=base, number__lte=head.number)
                 .order_by("number").values_list("number", "change"))
    if base < 1 or base > head.number or len(later) != head.number - base:
        raise ProposalError(f"revision {base} does not exist", code="stale")
    # Each approval's footnote points are in its parent's offsets: map revision by revision.
    approvals: list[tuple[list[Step], list[int]]] = []
    renamed: dict[str, str] = {}
    for number, change in later:
        if "steps" not in change:
            raise ProposalError(
                f"the text changed in revision {number} without a step map; reload the "
                f"document (now revision {head.number}) and select again", code="stale")
        approvals.append(([Step(*s) for s in change["steps"]], change.get("added_notes", [])))
        renamed = compose_renames(renamed, change.get("renamed_notes", {}))
    base_revision = None
    mapped = []
    for spec in specs:
        result = Mapped(spec.start, spec.end)
        for steps, added_notes in approvals:
            beside = against_added_notes(spec.kind, result.start, result.end, not spec.content,
                                         added_notes)
            if beside.conflict:
                result = beside
                break
            result = map_through(result.start, result.end, steps,
                                 footnote=spec.kind in Change.NOTE_KINDS)
            if result.conflict:
                break
        if result.conflict:
            raise ProposalError(
                f"stale revision: {result.conflict} since revision {base} (now revision "
                f"{head.number}); reload and select again", code="stale")
        note_id = renamed.get(spec.note_id, spec.note_id)
        if spec.kind in (Kind.NOTE_EDIT, Kind.NOTE_REMOVE):
            base_revision = base_revision or document.revisions.get(number=base)
            if _note_body(base_revision, spec.note_id) != _note_body(head, note_id):
                raise ProposalError(
                    f"stale revision: footnote {spec.note_id} was edited or removed since "
                    f"revision {base} (now revision {head.number}); reload and try again",
                    code="stale")
        mapped.append(ChangeSpec(spec.kind, result.start, result.end, spec.content,
                                 spec.exact, note_id))
    return mapped


def _note_body(revision: Revision, note_id: str) -> str | None:
    for anchor in revision.layer.notes:
        if anchor.element.get("{http://www.w3.org/XML/1998/namespace}id") == note_id:
            return note_body_xml(anchor.element)
    return None


def _prepare(head: Revision, element, spec: ChangeSpec) -> Change:
    text = head.text
    if spec.kind not in Kind.values:
        raise ProposalError(f"unknown kind of change “{spec.kind}”")
    if not (0 <= spec.start <= spec.end <= len(text)):
        raise ProposalError(f"offsets {spec.start}–{spec.end} are outside the text "
                            f"(0–{len(text)})", code="offsets")
    start, end = spec.start, spec.end
    if spec.kind in (Kind.NOTE_EDIT, Kind.NOTE_REMOVE):
        anchor = _note_anchor(head, spec.note_id)
        start = end = anchor
    elif spec.exact is not None and text[start:end] != spec.exact:
        raise ProposalError(
            f"the quote “{spec.exact[:60]}” is not at {spec.start}–{spec.end} of revision "
            f"{head.number} (found “{text[start:end][:60]}”)", code="quote")
    if spec.kind == Kind.NOTE_ADD and start != end:
        raise ProposalError("a footnote is anchored at a point, not a range")
    if spec.kind == Kind.TEXT and start == end and not spec.content:
        raise ProposalError("the change is empty")
    quote = selector(text, start, end)
    return Change(kind=spec.kind, start=start, end=end, content=spec.content,
                  note_id=spec.note_id, **quote)


def _note_anchor(head: Revision, note_id: str) -> int:
    for anchor in head.layer.notes:
        if anchor.element.get("{http://www.w3.org/XML/1998/namespace}id") == note_id:
            return anchor.offset
    raise ProposalError(f"revision {head.number} has no footnote “{note_id}”", code="note")


def _check_notes_kept(head: Revision, changes: list[Change]) -> None:
    """Refuse a text change across a footnote's marker, and a deletion of the words a footnote
    follows: either would silently move the note onto other words (and, with other notes
    at the new place, make the notes' order depend on the order of approvals). Removing the
    note in the same proposal makes it fine."""
    removed = {c.note_id for c in changes if c.kind == Kind.NOTE_REMOVE}
    ranges = [c for c in changes if c.kind == Kind.TEXT and c.start < c.end]
    for anchor in head.layer.notes if ranges else ():
        note_id = anchor.element.get("{http://www.w3.org/XML/1998/namespace}id")
        if note_id in removed:
            continue
        label = anchor.element.get("n") or note_id
        for change in ranges:
            if change.start < anchor.offset < change.end:
                raise ProposalError(
                    f"this change spans the marker of footnote {label}; change the text on "
                    f"each side of it separately", code="note")
            if anchor.offset == change.end and not change.content:
                raise ProposalError(
                    f"this deletion takes away the words footnote {label} follows; delete less, "
                    f"or remove the footnote in the same proposal", code="note")


def _check_no_overlap(changes: list[Change]) -> None:
    ordered = sorted(changes, key=lambda c: (c.start, c.end))
    for a, b in zip(ordered, ordered[1:]):
        same_point = a.start == a.end == b.start == b.end
        if b.start < a.end or (same_point and not (a.is_footnote and b.kind == Kind.TEXT
                                                    or b.is_footnote and a.kind == Kind.TEXT)):
            raise ProposalError("two changes of this proposal overlap; combine them into one",
                                code="overlap")
    notes = [c.note_id for c in changes if c.note_id]
    if len(notes) != len(set(notes)):
        raise ProposalError("two changes of this proposal touch the same footnote",
                            code="overlap")


# ------------------------------------------------------------------------------------------
# Deciding


def approvals_since_submission(proposal: Proposal) -> set[int]:
    return approvers_since_submission(
        proposal.events.filter(kind__in=[Event.Kind.APPROVED, Event.Kind.RESUBMITTED,
                                         Event.Kind.CHANGES_REQUESTED]).only("kind", "actor_id")
    )


def approve(proposal: Proposal, *, by) -> Revision | None:
    """Record `by`'s approval; apply once the edition's required approvals are reached.

    Returns the new revision, or None while more approvals are needed. Raises PermissionDenied
    for a non-reviewer or the author, ProposalError when the proposal is not pending.
    """
    with transaction.atomic():
        document = (Document.objects.select_for_update(of=("self",), no_key=True)
                    .select_related("edition").get(pk=proposal.document_id))
        proposal = Proposal.objects.select_for_update().get(pk=proposal.pk)
        proposal.document = document
        if not access.can_review(by, document.edition):
            raise PermissionDenied("Only reviewers and admins of this edition may approve")
        if proposal.author_id == by.pk:
            raise PermissionDenied("Reviewers cannot approve their own proposals")
        if proposal.status != Status.PENDING:
            raise ProposalError(
                f"this proposal is {proposal.get_status_display().lower()}"
                + (f": {proposal.status_reason}" if proposal.status_reason else ""),
                code=proposal.status)
        approvers = approvals_since_submission(proposal)
        if by.pk in approvers:
            raise ProposalError("you have already approved this proposal", code="duplicate")
        Event.objects.create(proposal=proposal, actor=by, kind=Event.Kind.APPROVED)
        approvers.add(by.pk)
        if len(approvers) < document.edition.required_approvals:
            return None
        outcome = _apply(document, proposal, approvers)
    # Raised only after the commit: the conflict found at approval must stay recorded.
    if isinstance(outcome, str):
        raise ProposalError(f"the proposal cannot be applied: {outcome}", code="conflicted")
    return outcome


def _apply(document: Document, proposal: Proposal, approvers: set[int]) -> Revision | str:
    """Apply and rebase; or mark the proposal conflicted and return the reason."""
    head = Revision.objects.get(pk=document.current_revision_id)
    changes = list(proposal.changes.all())
    problem = ""
    # Open proposals are anchored on the head (Proposal.anchor_revision): check the quotes.
    for change in changes:
        if change.kind in Change.NOTE_KINDS and change.kind != Kind.NOTE_ADD:
            continue
        if head.text[change.start:change.end] != change.exact:
            problem = f"the text at {change.start}–{change.end} is no longer “{change.exact}”"
    try:
        applied = None if problem else apply_changes(head.element, changes)
    except (ValueError, TEIError) as exc:
        problem = str(exc)
    if problem:
        mark_conflicted(proposal, problem, anchored_on=head)
        return problem
    tei = etree.tostring(applied.element, encoding="unicode")
    revision = add_revision(
        document, tei, by=proposal.author, summary=proposal.rationale[:500],
        change={
            "kind": "proposal", "proposal": proposal.pk,
            "steps": [s.as_list() for s in applied.steps],
            "approvers": sorted(approvers), "renamed_notes": applied.renamed,
            "added_notes": sorted(applied.added_note_points),
        },
    )
    proposal.status = Status.APPROVED
    proposal.applied_revision = revision
    proposal.decided_at = timezone.now()
    proposal.status_reason = ""
    proposal.save()
    Event.objects.create(proposal=proposal, kind=Event.Kind.APPLIED,
                         body=f"Revision {revision.number}")
    rebase(document, revision, applied, exclude=proposal)
    # The outbox row commits with the revision: the exports catch up even if the broker is down.
    request_export(document.edition, f"{document.xml_id} revision {revision.number} "
                                     f"(proposal {proposal.pk})")
    notifications.decided(proposal)
    return revision


def decide(proposal: Proposal, *, by, kind: str, body: str) -> None:
    """Reject, or ask for changes: a reason is required and the author is told."""
    if not body.strip():
        raise ProposalError("a reason is required", code="reason")
    with transaction.atomic():
        document = (Document.objects.select_for_update(of=("self",), no_key=True)
                    .select_related("edition").get(pk=proposal.document_id))
        proposal = Proposal.objects.select_for_update().get(pk=proposal.pk)
        if not access.can_review(by, document.edition):
            raise PermissionDenied("Only reviewers and admins of this edition may decide")
        if proposal.author_id == by.pk:
            raise PermissionDenied("Reviewers cannot decide on their own proposals; withdraw it")
        if proposal.status in Proposal.CLOSED:
            raise ProposalError(f"this proposal is {proposal.get_status_display().lower()}",
                                code=proposal.status)
        Event.objects.create(proposal=proposal, actor=by, kind=kind, body=body.strip())
        if kind == Event.Kind.REJECTED:
            proposal.status = Status.REJECTED
            proposal.decided_at = timezone.now()
        else:
            proposal.status = Status.CHANGES_REQUESTED
        proposal.status_reason = body.strip()
        proposal.save()
        proposal.document = document
        notifications.decided(proposal)


def withdraw(proposal: Proposal, *, by) -> None:
    with transaction.atomic():
        Document.objects.select_for_update(no_key=True).filter(pk=proposal.document_id).exists()
        proposal = Proposal.objects.select_for_update().get(pk=proposal.pk)
        if proposal.author_id != by.pk:
            raise PermissionDenied("Only the author may withdraw a proposal")
        if proposal.status in Proposal.CLOSED:
            raise ProposalError(f"this proposal is {proposal.get_status_display().lower()}",
                                code=proposal.status)
        proposal.status = Status.WITHDRAWN
        proposal.decided_at = timezone.now()
        proposal.save()
        Event.objects.create(proposal=proposal, actor=by, kind=Event.Kind.WITHDRAWN)


