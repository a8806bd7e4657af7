"""Re-anchoring open proposals across a revision without a step map (a re-import, an edit
outside review): DESIGN's fuzzy fallback.

Each change is found again by its quote (`edition.tei.selectors.place_quote`, the one rule;
the hint is its old offset carried past the text both revisions share), a footnote edit or
removal by its note's id. A change whose quote and context are found unchanged moves there and
the proposal stays open. Anything less is never applied silently: a quote found with other
words around it, in several equally good places, or only approximately (rapidfuzz, within
WINDOW code points of where it was expected) makes the proposal *needs review*, with the place
found kept as a suggestion for the author's re-targeting (`Change.found`); a quote or footnote
not found at all makes it *orphaned*. Either way the proposal keeps the revision its offsets
are true on (like a conflicted one), its timeline says why, and its author is told.
"""

from __future__ import annotations

import copy
import os
from dataclasses import asdict, dataclass
from functools import cached_property

from rapidfuzz import fuzz

from edition.changes import RevisionChange
from edition.models import Document, Revision
from edition.tei.edits import block_xml, note_body_xml
from edition.tei.parsing import TEIError
from edition.tei.selectors import Quote, QuoteAmbiguous, QuoteNotFound, place_quote, selector

from . import notifications
from .anchoring import map_through, step_between
from .models import Change, Event, Proposal
from .transform import apply_changes

Kind = Change.Kind
Status = Proposal.Status
WINDOW = 2000  # code points each side of the expected place searched approximately
THRESHOLD = 80  # rapidfuzz partial_ratio (0–100) an approximate match must reach
SHORTEST = 5  # quotes shorter than this are not searched approximately: too many look alike
SHOWN = 60  # code points of a quote quoted in a reason


@dataclass(frozen=True)
class Found:
    """Where a change's quote was found on revision `revision` (its number), and how well
    (100 for the exact words): stored in `Change.found` for the re-targeting form."""

    revision: int
    start: int
    end: int
    score: float

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict | None) -> Found | None:
        if not data:
            return None
        return cls(int(data["revision"]), int(data["start"]), int(data["end"]),
                   float(data["score"]))


@dataclass(frozen=True)
class Placement:
    """One change placed on the new revision: offsets when it holds as it was; otherwise the
    reason, and whether nothing was found at all (orphaned)."""

    start: int = 0
    end: int = 0
    note_id: str = ""
    reason: str = ""
    orphaned: bool = False
    found: Found | None = None

    @property
    def holds(self) -> bool:
        return not self.reason


def on_revision_added(sender, *, document: Document, revision: Revision,
                      change: RevisionChange, **kwargs) -> None:
    """Receiver of `edition.signals.revision_added`: approvals carry proposals over by their
    step map (review.rebasing); any other revision is re-anchored here."""
    if not change.has_step_map:
        reanchor(document, revision)


def reanchor(document: Document, revision: Revision) -> None:
    """Place every open proposal of `document` again on `revision`, whose parent their offsets
    refer to. Runs in the caller's transaction. Cost: one query for the open proposals, then
    per proposal one quote search per change (bounded approximate search where none is exact).
    """
    proposals = list(Proposal.objects.open().filter(document=document)
                     .prefetch_related("changes"))
    if not proposals:
        return
    across = Across(revision.parent, revision)
    for proposal in proposals:
        _reanchor_one(proposal, across)


class Across:
    """The revisions a re-anchoring spans, each parsed once, and the one region where their
    texts differ (None when only markup changed)."""

    def __init__(self, old: Revision, new: Revision) -> None:
        self.old, self.new = old, new
        self.step = step_between(old.text, new.text)

    @cached_property
    def old_element(self):
        return self.old.element

    @cached_property
    def new_element(self):
        return self.new.element


def _reanchor_one(proposal: Proposal, across: Across) -> None:
    old, new = across.old, across.new
    changes = list(proposal.changes.all())
    placements = [_place(change, across) for change in changes]
    if all(p.holds for p in placements):
        moved = [_moved(change, p, new.text) for change, p in zip(changes, placements,
                                                                    strict=True)]
        problem = _applies(across, moved)
        if not problem:
            Change.objects.bulk_update(moved, ["start", "end", "prefix", "suffix", "note_id",
                                               "found"])
            proposal.revision = new
            proposal.save(update_fields=["revision", "updated_at"])
            return
        placements = [Placement(reason=problem) for _ in changes]
    orphaned = any(p.orphaned for p in placements)
    for change, placement in zip(changes, placements, strict=True):
        change.found = placement.found.to_json() if placement.found else None
    Change.objects.bulk_update(changes, ["found"])
    reasons = dict.fromkeys(p.reason for p in placements if not p.holds)
    reason = f"{_why(new)}: " + "; ".join(reasons)
    # Its offsets stay true on the revision before: pin it there, as a conflict does.
    proposal.status = Status.ORPHANED if orphaned else Status.NEEDS_REVIEW
    proposal.status_reason = reason
    proposal.revision = old
    proposal.save(update_fields=["status", "status_reason", "revision", "updated_at"])
    Event.objects.create(proposal=proposal, kind=Event.Kind.REANCHORED, body=reason)
    notifications.reanchored(proposal)


def _why(revision: Revision) -> str:
    record = revision.record
    if record.kind == "reimport":
        source = f" from {record.source}" if record.source else ""
        return f"revision {revision.number} re-imported the document{source}"
    return f"revision {revision.number} changed the document outside review"


def _moved(change: Change, placement: Placement, text: str) -> Change:
    change.start, change.end = placement.start, placement.end
    change.note_id = placement.note_id or change.note_id
    quote = selector(text, change.start, change.end)
    change.prefix, change.suffix = quote["prefix"], quote["suffix"]
    change.found = None
    return change


def _applies(across: Across, changes: list[Change]) -> str:
    """"" when the changes, placed, still apply together to the new TEI; else why not."""
    try:
        apply_changes(copy.deepcopy(across.new_element), changes)
    except (ValueError, TEIError) as exc:
        return f"the proposal no longer applies: {exc}"
    return ""


# ------------------------------------------------------------------------------------------
# Placing one change


def _place(change: Change, across: Across) -> Placement:
    if change.names_note:
        return _place_note(change, across.old, across.new)
    hint, certain = _expected(change.start, across.step)
    placed = _exact(change, across.new, hint, certain=certain)
    if placed.holds:
        return _check_surroundings(change, across, placed)
    return placed


def _expected(offset: int, step) -> tuple[int, bool]:
    """Where `offset` should be on the new text, and whether that is certain: it is past the
    one region that differs (the common prefix and suffix of the two texts are unchanged);
    inside it, only a guess scaled to the region's new length."""
    if step is None:
        return offset, True
    mapped = map_through(offset, offset, [step])
    if not mapped.conflict:
        return mapped.start, True
    return step.pos + round((offset - step.pos) * step.new_len / max(step.old_len, 1)), False


def _exact(change: Change, new: Revision, hint: int, *, certain: bool) -> Placement:
    text, exact = new.text, change.exact
    quote = Quote(exact, change.prefix, change.suffix)
    window = WINDOW + len(exact)
    try:
        # A point (an empty quote) is every place some context agrees: keep that search near.
        start = place_quote(text, quote, hint=hint, within=None if exact else window)
    except QuoteAmbiguous as exc:
        best = min(exc.candidates, key=lambda c: abs(c - hint))
        what = f"“{_short(exact)}”" if exact else f"the place after “{_tail(change.prefix)}”"
        return Placement(reason=f"{what} occurs {len(exc.candidates)} times in revision "
                                f"{new.number} and its context does not tell them apart",
                         found=Found(new.number, best, best + len(exact), 100))
    except QuoteNotFound:
        if exact:
            return _approximate(change, new, hint)
        return _gone(change, new)
    end = start + len(exact)
    now = selector(text, start, end)
    if now["prefix"] == change.prefix and now["suffix"] == change.suffix:
        if certain or _occurrences(text, change.prefix + exact + change.suffix) == 1:
            return Placement(start, end)
        # The same words in the same context elsewhere, and no certain hint: do not guess.
        return Placement(reason=f"“{_short(exact) or _tail(change.prefix)}” occurs with the "
                                f"same context more than once in revision {new.number}",
                         found=Found(new.number, start, end, 100))
    if not exact:
        agreed = _agreement(text, start, change)
        if agreed * 2 < len(change.prefix) + len(change.suffix):
            return _gone(change, new)
        return Placement(reason=f"the place after “{_tail(change.prefix)}” reads differently "
                                f"in revision {new.number}",
                         found=Found(new.number, start, end, 100))
    return Placement(reason=f"“{_short(exact)}” is still in revision {new.number}, but the "
                            "text around it changed",
                     found=Found(new.number, start, end, 100))


def _approximate(change: Change, new: Revision, hint: int) -> Placement:
    """The passage most like the quote near where it was expected, if like enough."""
    text, exact = new.text, change.exact
    lo, hi = max(hint - WINDOW, 0), min(hint + len(exact) + WINDOW, len(text))
    match = None
    if len(exact) >= SHORTEST and hi - lo >= len(exact):
        match = fuzz.partial_ratio_alignment(exact, text[lo:hi], score_cutoff=THRESHOLD)
    if match is None:
        return Placement(orphaned=True, reason=f"“{_short(exact)}” is no longer in revision "
                                               f"{new.number}, and nothing like it is near its "
                                               "old place")
    start, end = _whole_words(text, lo + match.dest_start, lo + match.dest_end)
    return Placement(reason=f"“{_short(exact)}” is no longer in revision {new.number}; the "
                            f"closest passage reads “{_short(text[start:end])}” "
                            f"({match.score:.0f}% alike): confirm it by re-targeting",
                     found=Found(new.number, start, end, round(match.score, 1)))


def _gone(change: Change, new: Revision) -> Placement:
    return Placement(orphaned=True, reason=f"the place after “{_tail(change.prefix)}” is no "
                                           f"longer in revision {new.number}")


def _place_note(change: Change, old: Revision, new: Revision) -> Placement:
    """An existing footnote is found by its id; its body must be what the proposal saw."""
    anchor = new.layer.note(change.note_id)
    if anchor is None:
        return Placement(orphaned=True, reason=f"footnote {change.note_id} is no longer in "
                                               f"revision {new.number}")
    before = old.layer.note(change.note_id)
    if before is not None and note_body_xml(before.element) != note_body_xml(anchor.element):
        return Placement(reason=f"footnote {change.note_id} reads differently in revision "
                                f"{new.number}",
                         found=Found(new.number, anchor.offset, anchor.offset, 100))
    return Placement(anchor.offset, anchor.offset, note_id=change.note_id)


def _check_surroundings(change: Change, across: Across, placed: Placement) -> Placement:
    """Same words, same context; but markup the text layer does not show may differ, and the
    change would carry the old state over it: footnotes at the passage, and (for a structural
    fix, whose fragment holds its blocks' old TEI) the blocks' markup."""
    old, new = across.old, across.new
    found = Found(new.number, placed.start, placed.end, 100)
    if (_notes_at(old, change.start, change.end)
            != _notes_at(new, placed.start, placed.end)):
        return Placement(reason=f"the footnotes at “{_short(change.exact) or _tail(change.prefix)}"
                                f"” are not the same in revision {new.number}", found=found)
    if (change.kind == Kind.STRUCTURE and change.start < change.end
            and block_xml(across.old_element, change.start, change.end)
            != block_xml(across.new_element, placed.start, placed.end)):
        return Placement(reason=f"the markup of the blocks this structural fix replaces "
                                f"changed in revision {new.number}", found=found)
    return placed


def _notes_at(revision: Revision, start: int, end: int) -> list[str]:
    # Bodies, not ids: a footnote added elsewhere renumbers the ids of those after it.
    return [note_body_xml(a.element) for a in revision.layer.notes if start <= a.offset <= end]


def _occurrences(text: str, needle: str) -> int:
    count, i = 0, text.find(needle)
    while i != -1:
        count += 1
        i = text.find(needle, i + 1)
    return count


def _agreement(text: str, start: int, change: Change) -> int:
    """Characters of the stored context that agree at the point `start`."""
    before = os.path.commonprefix([text[:start][::-1], change.prefix[::-1]])
    after = os.path.commonprefix([text[start:], change.suffix])
    return len(before) + len(after)


def _whole_words(text: str, start: int, end: int) -> tuple[int, int]:
    """[start, end) widened to whole words and stripped of spaces at its edges: an alignment
    may cut a word (its length is the quote's, and the words changed)."""
    while (0 < start < len(text) and not text[start - 1].isspace()
           and not text[start].isspace()):
        start -= 1
    while end < len(text) and end > 0 and not text[end].isspace() and not text[end - 1].isspace():
        end += 1
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _short(text: str) -> str:
    return text if len(text) <= SHOWN else text[:SHOWN] + "…"


def _tail(text: str) -> str:
    text = text.rsplit("\n\n", 1)[-1]
    return text if len(text) <= SHOWN // 2 else "…" + text[-SHOWN // 2:]
