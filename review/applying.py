"""Creating, approving and rebasing proposals: every write holds a row lock on the document.

Locking order is always document, then proposal, so two approvals of one document serialise:
the second sees the first's revision and its own proposal already rebased (or conflicted).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from lxml import etree

from edition.imports import add_revision
from edition.models import Document, Revision
from edition.tei import textlayer
from edition.tei.edits import (edit_note, insert_note, note_body_xml, remove_note,
                               replace_blocks)
from edition.tei.parsing import TEIError

from . import access, notifications
from .anchoring import CONTEXT, Step, map_through, selector, step_between
from .models import Change, Event, Proposal, approvers_since_submission

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


@dataclass
class Applied:
    element: etree._Element
    steps: list[Step] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)  # footnote ids renumbered
    removed_notes: set[str] = field(default_factory=set)
    edited_notes: set[str] = field(default_factory=set)
    added_note_points: set[int] = field(default_factory=set)


# ------------------------------------------------------------------------------------------
# Applying changes to TEI (no database)


def apply_changes(element: etree._Element, changes) -> Applied:
    """Apply the changes of one proposal, last position first so earlier offsets stay valid.

    Raises TextChangeError / FragmentError (both ValueError) when the TEI cannot carry them.
    """
    result = Applied(element)
    ordered = sorted(changes, key=lambda c: (c.start, c.end), reverse=True)
    for change in ordered:
        before = textlayer.text_of(result.element)
        note_id = _renamed(result.renamed, change.note_id)
        if change.kind == Kind.TEXT:
            result.element = textlayer.apply_change(result.element, change.start, change.end,
                                                    change.content)
            result.steps.append(Step(change.start, change.end - change.start,
                                     len(change.content)))
            continue
        if change.kind == Kind.NOTE_ADD:
            result.element, _, renamed = insert_note(result.element, change.start,
                                                     change.content)
            result.added_note_points.add(change.start)
        elif change.kind == Kind.NOTE_EDIT:
            result.element = edit_note(result.element, note_id, change.content)
            result.edited_notes.add(note_id)
            renamed = {}
        elif change.kind == Kind.NOTE_REMOVE:
            result.element, renamed = remove_note(result.element, note_id)
            result.removed_notes.add(note_id)
        elif change.kind == Kind.STRUCTURE:
            notes_before = _note_bodies(result.element)
            result.element, renamed = replace_blocks(result.element, change.start, change.end,
                                                     change.content)
            result.steps.append(_block_step(before, textlayer.text_of(result.element),
                                            change.start, change.end))
            notes_after = _note_bodies(result.element)
            for old_id, body in notes_before.items():
                new_id = renamed.get(old_id, old_id)
                if new_id not in notes_after:
                    result.removed_notes.add(old_id)
                elif notes_after[new_id] != body:
                    result.edited_notes.add(old_id)
        else:
            raise ValueError(f"unknown change kind {change.kind}")
        result.renamed = _compose_renames(result.renamed, renamed)
    return result


def _block_step(old: str, new: str, start: int, end: int) -> Step:
    """The step of a structural fix: what changed, widened to the whole blocks replaced.

    A structural fix may leave the text alone (a page break moved), yet it rewrites the TEI of
    its blocks: any pending change inside them must conflict rather than be overwritten later.
    """
    step = step_between(old, new) or Step(start, 0, 0)
    lo, hi = min(step.pos, start), max(step.end, end)
    return Step(lo, hi - lo, step.new_len + (step.pos - lo) + (hi - step.end))


def _note_bodies(element: etree._Element) -> dict[str, str]:
    return {note.get("{http://www.w3.org/XML/1998/namespace}id"): note_body_xml(note)
            for note in element.iter("{http://www.tei-c.org/ns/1.0}note")}


def _renamed(renamed: dict[str, str], note_id: str) -> str:
    return renamed.get(note_id, note_id)


def _compose_renames(first: dict[str, str], second: dict[str, str]) -> dict[str, str]:
    composed = {old: second.get(new, new) for old, new in first.items()}
    for old, new in second.items():
        if old not in first.values():
            composed.setdefault(old, new)
    return {old: new for old, new in composed.items() if old != new}


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
        document = Document.objects.select_for_update().select_related("edition").get(
            pk=document.pk)
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
        document = Document.objects.select_for_update().get(pk=proposal.document_id)
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
    steps: list[Step] = []
    renamed: dict[str, str] = {}
    for number, change in later:
        if "steps" not in change:
            raise ProposalError(
                f"the text changed in revision {number} without a step map; reload the "
                f"document (now revision {head.number}) and select again", code="stale")
        steps.extend(Step(*s) for s in change["steps"])
        renamed = _compose_renames(renamed, change.get("renamed_notes", {}))
    base_revision = None
    mapped = []
    for spec in specs:
        result = map_through(spec.start, spec.end, steps,
                             footnote=spec.kind in Change.NOTE_KINDS)
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
        document = Document.objects.select_for_update().select_related("edition").get(
            pk=proposal.document_id)
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
        _mark_conflicted(proposal, problem, anchored_on=head)
        return problem
    tei = etree.tostring(applied.element, encoding="unicode")
    revision = add_revision(
        document, tei, by=proposal.author, summary=proposal.rationale[:500],
        change={
            "kind": "proposal", "proposal": proposal.pk,
            "steps": [s.as_list() for s in applied.steps],
            "approvers": sorted(approvers), "renamed_notes": applied.renamed,
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
    notifications.decided(proposal)
    return revision


def decide(proposal: Proposal, *, by, kind: str, body: str) -> None:
    """Reject, or ask for changes: a reason is required and the author is told."""
    if not body.strip():
        raise ProposalError("a reason is required", code="reason")
    with transaction.atomic():
        document = Document.objects.select_for_update().select_related("edition").get(
            pk=proposal.document_id)
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
        Document.objects.select_for_update().filter(pk=proposal.document_id).exists()
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


def _mark_conflicted(proposal: Proposal, reason: str, *, anchored_on: Revision) -> None:
    """Conflicted, with `revision` pinned to where its offsets are still true for the author."""
    proposal.status = Status.CONFLICTED
    proposal.status_reason = reason
    proposal.revision = anchored_on
    proposal.save(update_fields=["status", "status_reason", "revision", "updated_at"])
    Event.objects.create(proposal=proposal, kind=Event.Kind.CONFLICTED, body=reason)
    notifications.conflicted(proposal)


# ------------------------------------------------------------------------------------------
# Rebase


def rebase(document: Document, revision: Revision, applied: Applied, *, exclude: Proposal) -> None:
    """Carry every other open proposal of `document` over to `revision`.

    Proposals far from the change move with two UPDATEs; those within CONTEXT code points of
    it (or touching an affected footnote) are mapped one by one: shifted, flagged "context
    changed", or conflicted. Cost: O(open proposals) rows, O(1 + nearby) queries.
    """
    open_proposals = Proposal.objects.open().filter(document=document).exclude(pk=exclude.pk)
    steps = applied.steps
    near_filter = Q(pk__in=[])
    if steps:
        lo = min(s.pos for s in steps) - CONTEXT
        hi = max(s.end for s in steps) + CONTEXT
        near_filter |= Q(start__lte=hi, end__gte=lo)
    touched_notes = set(applied.renamed) | applied.removed_notes | applied.edited_notes
    if touched_notes:
        near_filter |= Q(note_id__in=touched_notes)
    if applied.added_note_points:
        near_filter |= Q(kind=Kind.NOTE_ADD, start__in=applied.added_note_points)
    near_ids = set(Change.objects.filter(near_filter, proposal__in=open_proposals)
                   .values_list("proposal_id", flat=True))
    far = open_proposals.exclude(pk__in=near_ids)
    if steps:
        delta = sum(s.delta for s in steps)
        if delta:
            Change.objects.filter(proposal__in=far, start__gt=hi).update(
                start=F("start") + delta, end=F("end") + delta)
    text = revision.text
    for proposal in Proposal.objects.filter(pk__in=near_ids).prefetch_related("changes"):
        _rebase_one(proposal, revision, text, applied)


def note_anchors(revision: Revision) -> dict[str, int]:
    """Footnote id → anchor offset in the revision's text layer (parsed once per revision)."""
    if not hasattr(revision, "_note_anchors"):
        revision._note_anchors = {
            a.element.get("{http://www.w3.org/XML/1998/namespace}id"): a.offset
            for a in revision.layer.notes
        }
    return revision._note_anchors


def _rebase_one(proposal: Proposal, revision: Revision, text: str, applied: Applied) -> None:
    changed, conflict, updates = False, "", []
    for change in proposal.changes.all():
        if change.note_id in applied.removed_notes:
            conflict = f"footnote {change.note_id} was removed by an approved change"
            break
        if change.note_id in applied.edited_notes:
            conflict = f"footnote {change.note_id} was edited by an approved change"
            break
        if change.kind == Kind.NOTE_ADD and change.start in applied.added_note_points:
            conflict = "another footnote was approved at the same point"
            break
        if change.kind == Kind.STRUCTURE and change.start < change.end and any(
            step.pos <= change.end and step.end >= change.start for step in applied.steps
        ):
            # Its fragment holds the blocks' old TEI: applying it would undo the change.
            conflict = "the blocks this structural fix replaces were changed"
            break
        mapped = map_through(change.start, change.end, applied.steps,
                             footnote=change.is_footnote)
        if mapped.conflict:
            conflict = mapped.conflict
            break
        change.start, change.end = mapped.start, mapped.end
        change.note_id = applied.renamed.get(change.note_id, change.note_id)
        if change.kind in (Kind.NOTE_EDIT, Kind.NOTE_REMOVE):
            # An existing note's place is a fact of the new TEI (text inserted at its anchor
            # goes into the word before it); read it rather than predict it.
            anchor = note_anchors(revision).get(change.note_id)
            if anchor is None:
                conflict = f"footnote {change.note_id} no longer exists"
                break
            change.start = change.end = anchor
        quote = selector(text, change.start, change.end)
        if change.kind not in (Kind.NOTE_EDIT, Kind.NOTE_REMOVE) and quote["exact"] != change.exact:
            conflict = "the selected text changed"
            break
        changed = changed or mapped.context_changed
        change.prefix, change.suffix = quote["prefix"], quote["suffix"]
        updates.append(change)
    if conflict:
        # Its offsets were true on the revision before this approval.
        _mark_conflicted(proposal, conflict, anchored_on=revision.parent)
        return
    Change.objects.bulk_update(updates, ["start", "end", "prefix", "suffix", "note_id"])
    proposal.revision = revision
    if changed and not proposal.context_changed:
        proposal.context_changed = True
        Event.objects.create(proposal=proposal, kind=Event.Kind.CONTEXT_CHANGED,
                             body=f"An approved change (revision {revision.number}) touched "
                                  "the text around this proposal")
    proposal.save(update_fields=["revision", "context_changed", "updated_at"])
