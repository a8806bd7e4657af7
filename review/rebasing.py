"""Carrying open proposals over to a new revision after an approval (DESIGN: rebase)."""

from __future__ import annotations

from django.db.models import F, Q
from django.utils import timezone

from edition.models import Document, Revision
from edition.tei.selectors import CONTEXT, selector

from . import notifications
from .anchoring import against_added_notes, against_blocks, map_through
from .models import Change, Event, Proposal
from .transform import Applied, image_of

Kind = Change.Kind
Status = Proposal.Status


def mark_conflicted(proposal: Proposal, reason: str, *, anchored_on: Revision) -> None:
    """Conflicted, with `revision` pinned to where its offsets are still true for the author."""
    proposal.status = Status.CONFLICTED
    proposal.status_reason = reason
    proposal.revision = anchored_on
    proposal.save(update_fields=["status", "status_reason", "revision", "updated_at"])
    Event.objects.create(proposal=proposal, kind=Event.Kind.CONFLICTED, body=reason)
    notifications.conflicted(proposal)


def rebase(document: Document, revision: Revision, applied: Applied, *, exclude: Proposal) -> None:
    """Carry every other open proposal of `document` over to `revision`.

    Proposals far from the change move with one UPDATE; those within CONTEXT code points of
    it (or touching an affected footnote) are mapped one by one in Python — shifted, flagged
    "context changed", or conflicted — and written together. Cost: O(open proposals' changes)
    rows of two integers, O(1 + conflicted) queries; one query when none is open.
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
    if applied.attributes:
        # The div's attributes have no place in the text: every pending metadata change is near.
        near_filter |= Q(kind=Kind.METADATA)
    for first, last in applied.marked:  # not lo, hi: the shift below reads the steps' `hi`
        # Markup adds no text, so no step covers it: every change over those words is near.
        near_filter |= Q(start__lte=last, end__gte=first)
    for point in applied.added_note_points | applied.touched_note_points:
        # A footnote change adds no text, so no step covers it: every change around it is near.
        near_filter |= Q(start__lte=point, end__gte=point)
    # Which open proposals there are and which of them are near, in one statement: with
    # none open (the common case), nothing else is sent.
    found = set(Change.objects.filter(proposal__in=open_proposals).annotate(near=near_filter)
                .order_by().values_list("proposal_id", "near").distinct())
    near_ids = {pk for pk, near in found if near}
    far_ids = {pk for pk, _ in found} - near_ids
    if steps and far_ids:
        delta = sum(s.delta for s in steps)
        if delta:
            Change.objects.filter(proposal_id__in=far_ids, start__gt=hi).update(
                start=F("start") + delta, end=F("end") + delta)
    text = revision.text
    carried: list[int] = []
    flagged: list[int] = []  # carried, and told the first time that the text around changed
    moved: list[Change] = []
    # Each statement below is built only when it has rows to touch: a query the ORM compiles
    # to find nothing costs the approval as much CPU as one that runs.
    nearby = Proposal.objects.filter(pk__in=near_ids).prefetch_related("changes") \
        if near_ids else ()
    for proposal in nearby:
        conflict, updates, changed = _rebase_one(proposal, revision, text, applied)
        if conflict:
            # Its offsets were true on the revision before this approval.
            mark_conflicted(proposal, conflict, anchored_on=revision.parent)
            continue
        moved += updates
        carried.append(proposal.pk)
        if changed and not proposal.context_changed:
            flagged.append(proposal.pk)
    # The nearby proposals in a few statements, however many there are: one UPDATE for their
    # changes, one or two for the proposals, one INSERT for their events.
    if moved:
        Change.objects.bulk_update(moved, ["start", "end", "prefix", "suffix", "note_id"])
    if carried:
        Proposal.objects.filter(pk__in=carried).update(revision=revision,
                                                       updated_at=timezone.now())
    if flagged:
        Proposal.objects.filter(pk__in=flagged).update(context_changed=True)
        Event.objects.bulk_create(
            Event(proposal_id=pk, kind=Event.Kind.CONTEXT_CHANGED,
                  body=f"An approved change (revision {revision.number}) touched the text "
                       "around this proposal") for pk in flagged)


def _rebase_one(proposal: Proposal, revision: Revision, text: str,
                applied: Applied) -> tuple[str, list[Change], bool]:
    """`proposal` carried over to `revision`, nothing written: why it conflicts (or ""), its
    changes with their new offsets and quotes, and whether the text around it changed."""
    changed, conflict, updates = False, "", []
    for change in proposal.changes.all():
        if change.is_metadata:
            # It holds the values it was proposed over: the same attribute set since conflicts.
            touched = applied.attributes & set(change.attributes)
            if touched:
                conflict = (f"{', '.join(sorted(touched))} was changed by an approved change "
                            f"(revision {revision.number})")
                break
            continue  # no offsets to map
        if change.note_id in applied.removed_notes:
            conflict = f"footnote {change.note_id} was removed by an approved change"
            break
        if change.note_id in applied.edited_notes:
            conflict = f"footnote {change.note_id} was edited by an approved change"
            break
        beside = against_added_notes(change.kind, change.start, change.end, not change.content,
                                     applied.added_note_points)
        if beside.conflict:
            conflict = beside.conflict
            break
        changed = changed or beside.context_changed
        if any(lo < change.end and hi > change.start for lo, hi in applied.marked):
            if change.is_markup:
                conflict = "the markup of these words was changed by an approved change"
                break
            changed = True  # a text change there may split or empty the new markup
        if change.kind == Kind.STRUCTURE:
            conflict = against_blocks(change.start, change.end, applied.steps,
                                      inserted_blocks=applied.inserted_blocks,
                                      note_points=applied.touched_note_points,
                                      marked=applied.marked)
            if conflict:
                break
        mapped = map_through(change.start, change.end, applied.steps,
                             footnote=change.is_footnote)
        if mapped.conflict:
            conflict = mapped.conflict
            break
        change.start, change.end = mapped.start, mapped.end
        if change.names_note:
            # An existing note's place is a fact of the new TEI (text inserted at its anchor
            # goes into the word before it); read it rather than predict it.
            note_id = image_of(change.note_id, applied.renamed)
            anchor = revision.layer.note(note_id) if note_id else None
            if anchor is None:
                conflict = f"footnote {change.note_id} no longer exists"
                break
            change.note_id, change.start, change.end = note_id, anchor.offset, anchor.offset
        quote = selector(text, change.start, change.end)
        if not change.names_note and quote["exact"] != change.exact:
            conflict = "the selected text changed"
            break
        changed = changed or mapped.context_changed
        change.prefix, change.suffix = quote["prefix"], quote["suffix"]
        updates.append(change)
    return conflict, updates, changed
