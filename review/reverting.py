"""Undoing an approved change: the inverse of revision N's change, carried to the head revision.

A revert is proposed, never applied directly: it is reviewed like any other proposal. Text is
inverted step by step and mapped through the step maps of the revisions approved since;
footnotes are restored by comparing the notes of N's parent and N; structural fixes (and
changes made outside review) are undone block by block; the document div's dates are set back
to the parent's (removed where it had none). When anything approved since touched
what N changed, the revert is refused: undoing N must never silently undo a later correction.
"""

from __future__ import annotations

import difflib
import re

from lxml import etree

from edition.changes import Step
from edition.models import Document, Revision
from edition.tei import XML_ID
from edition.tei.edits import child_spans, note_body_xml
from edition.tei.markup import Markup, attributes_at
from edition.tei.metadata import ATTRIBUTES, values_of

from .actions import ProposalError
from .actions.propose import ChangeSpec
from .anchoring import map_through
from .corrections import image_of, notes_of, placed_steps
from .models import Change, Proposal, attributes_content
from .transform import compose_renames

Kind = Change.Kind
_NOTE_ID = re.compile(r"fn\d+$")


def _since(number: int, later: int | None = None) -> ProposalError:
    by = f" by revision {later}" if later else ""
    return ProposalError(f"revision {number}'s change was since modified{by}; propose a "
                         "correction instead", code="conflicted")


def inverse(document: Document, revision: Revision, head: Revision) -> list[ChangeSpec]:
    """Changes on `head` that undo what `revision` changed from its parent."""
    if revision.parent_id is None:
        raise ProposalError(f"revision {revision.number} is the text as first imported: there "
                            "is no change to revert", code="invalid")
    parent = revision.parent
    later = list(document.revisions.filter(number__gt=revision.number, number__lte=head.number)
                 .order_by("number").only("number", "change"))
    proposal = Proposal.objects.filter(applied_revision=revision).first()
    kinds = {c.kind for c in proposal.changes.all()} if proposal else set()
    if not proposal or Kind.STRUCTURE in kinds:
        # Block by block: a structural fix (or an edit outside review) has no finer inverse.
        specs = _block_inverse(parent, revision, head)
    else:
        specs = []
        if Kind.TEXT in kinds:
            specs += _text_inverse(parent, revision, head, later)
        if kinds & set(Change.NOTE_KINDS):
            specs += _note_inverse(parent, revision, head, later)
        if Kind.MARKUP in kinds:
            specs += _markup_inverse(parent, revision, head, later,
                                     [c for c in proposal.changes.all() if c.is_markup])
    specs += _metadata_inverse(parent, revision, head)
    if not specs:
        raise ProposalError(f"revision {revision.number} changed nothing that can be reverted",
                            code="invalid")
    return specs


# ------------------------------------------------------------------------------------------
# Text


def _later_steps(revision: Revision, later: list[Revision]) -> list[tuple[int, list[Step]]]:
    steps = []
    for each in later:
        if not each.record.has_step_map:
            raise ProposalError(
                f"revision {each.number} changed the text outside review (no step map), so "
                f"revision {revision.number}'s change cannot be located; propose a correction "
                "instead", code="stale")
        steps.append((each.number, list(each.record.steps)))
    return steps


def _carry(start: int, end: int, revision: Revision, later_steps, *, footnote=False):
    """Map [start, end) of `revision`'s text to the head, or refuse if a later change hit it."""
    for number, steps in later_steps:
        mapped = map_through(start, end, steps, footnote=footnote)
        if mapped.conflict:
            raise _since(revision.number, number)
        start, end = mapped.start, mapped.end
    return start, end


def _text_inverse(parent: Revision, revision: Revision, head: Revision, later) -> list[ChangeSpec]:
    later_steps = _later_steps(revision, later)
    specs = []
    for step, start in placed_steps(list(revision.record.steps or ())):
        before = parent.text[step.pos:step.end]
        after = revision.text[start:start + step.new_len]
        start, end = _carry(start, start + step.new_len, revision, later_steps)
        if head.text[start:end] != after:
            raise _since(revision.number)
        specs.append(ChangeSpec(Kind.TEXT, start, end, before, exact=after))
    return specs


# ------------------------------------------------------------------------------------------
# Footnotes


def _note_inverse(parent: Revision, revision: Revision, head: Revision, later) -> list[ChangeSpec]:
    before, after, now = (notes_of(r.element) for r in (parent, revision, head))
    renamed = revision.record.renamed_notes
    since: dict[str, str | None] = {}
    for each in later:
        since = compose_renames(since, each.record.renamed_notes)

    def in_head(note_id: str) -> str:
        """The note's id in the head, provided nothing changed its body since."""
        head_id = image_of(note_id, since)
        if head_id not in now or note_body_xml(now[head_id].element) != note_body_xml(
                after[note_id].element):
            raise _since(revision.number)
        return head_id

    specs, matched, later_steps = [], set(), None
    for old_id, note in before.items():
        new_id = image_of(old_id, renamed)
        if new_id not in after:  # removed by the revision: add it again where it stood
            mapped = map_through(note.offset, note.offset, list(revision.record.steps or ()), footnote=True)
            if mapped.conflict:
                raise ProposalError(f"revision {revision.number} also deleted the words "
                                    f"footnote {note.label} followed; propose a correction "
                                    "instead", code="unapplicable")
            later_steps = later_steps or _later_steps(revision, later)
            offset, _ = _carry(mapped.start, mapped.start, revision, later_steps, footnote=True)
            specs.append(ChangeSpec(Kind.NOTE_ADD, offset, offset, note_body_xml(note.element)))
            continue
        matched.add(new_id)
        if note_body_xml(after[new_id].element) != note_body_xml(note.element):
            specs.append(ChangeSpec(Kind.NOTE_EDIT, 0, 0, note_body_xml(note.element),
                                    note_id=in_head(new_id)))
    for new_id in after:
        if new_id not in matched:  # added by the revision
            specs.append(ChangeSpec(Kind.NOTE_REMOVE, 0, 0, note_id=in_head(new_id)))
    return specs


# ------------------------------------------------------------------------------------------
# Markup


def _markup_inverse(parent: Revision, revision: Revision, head: Revision, later,
                    changes: list[Change]) -> list[ChangeSpec]:
    """Unwrap what was wrapped, wrap again what was unwrapped, put the old attributes back.
    The ranges are the parent's offsets, which are the revision's when it changed no text."""
    if revision.record.steps:
        raise ProposalError(f"revision {revision.number} changed text and markup together; "
                            "propose the markup change and the correction instead",
                            code="unapplicable")
    later_steps = _later_steps(revision, later)
    specs = []
    for change in changes:
        start, end, payload = change.start, change.end, change.markup
        if parent.text[start:end] != change.exact:
            raise _since(revision.number)
        for each in later:
            if any(lo < end and hi > start for lo, hi in each.record.marked):
                raise _since(revision.number, each.number)
        if payload.operation == "wrap":
            undo = Markup("unwrap", payload.element, {})
        else:
            old = attributes_at(parent.element, start, end, payload.element)
            if old is None:
                raise _since(revision.number)
            undo = Markup("wrap" if payload.operation == "unwrap" else "change",
                          payload.element, old)
        start, end = _carry(start, end, revision, later_steps)
        specs.append(ChangeSpec(Kind.MARKUP, start, end, undo.to_content(),
                                exact=head.text[start:end]))
    return specs


# ------------------------------------------------------------------------------------------
# The document's attributes


def _metadata_inverse(parent: Revision, revision: Revision, head: Revision) -> list[ChangeSpec]:
    """The div's attributes as the parent had them ("" for one it lacked), provided the head
    still holds what `revision` set."""
    before, after, now = (values_of(r.element) for r in (parent, revision, head))
    changed = {name for name in ATTRIBUTES if before.get(name) != after.get(name)}
    if not changed:
        return []
    if any(now.get(name) != after.get(name) for name in changed):
        raise _since(revision.number)
    values = {name: before.get(name, "") for name in sorted(changed)}
    return [ChangeSpec(Kind.METADATA, 0, 0, attributes_content(values))]


# ------------------------------------------------------------------------------------------
# Blocks


def _children(element: etree._Element) -> list[etree._Element]:
    return [c for c in element if isinstance(c.tag, str)]


def _key(element: etree._Element) -> str:
    """A block's TEI without footnote numbering: renumbering elsewhere is not a change here."""
    copy = etree.fromstring(etree.tostring(element, with_tail=False))
    for note in copy.iter("{*}note"):
        if note.get("type") == "source":  # not renumbered: its id stays
            continue
        note.attrib.pop("n", None)
        if _NOTE_ID.search(note.get(XML_ID, "")):
            note.attrib.pop(XML_ID)
    return etree.tostring(copy, encoding="unicode")


def _xml(element: etree._Element) -> str:
    copy = etree.fromstring(etree.tostring(element, with_tail=False))
    # Footnote ids are given again by renumbering: restored ones must not clash with others.
    # The source note is not renumbered: it keeps its id.
    for note in copy.iter("{*}note"):
        if note.get("type") != "source" and _NOTE_ID.search(note.get(XML_ID, "")):
            note.attrib.pop(XML_ID)
    return re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", etree.tostring(copy, encoding="unicode"))


def _runs(old: list[str], new: list[str], has_text: list[bool]) -> list[tuple[int, ...]]:
    """Runs (i1, i2, j1, j2) of blocks that differ, old[i1:i2] → new[j1:j2], widened over
    unchanged neighbours until they start and end with a block that has text (a structural
    change is addressed by the text it covers); touching runs are merged."""
    codes = difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes()
    old_of = {}  # index in new → index in old, for the blocks the revision left alone
    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal":
            old_of.update({j1 + d: i1 + d for d in range(j2 - j1)})
    runs: list[list[int]] = []
    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal":
            continue
        while (j1 == j2 or not has_text[j1]) and j1 - 1 in old_of:
            j1 -= 1
            i1 = old_of[j1]
        while (j1 == j2 or not has_text[j2 - 1]) and j2 in old_of:
            i2 = old_of[j2] + 1
            j2 += 1
        if runs and j1 <= runs[-1][3]:
            last = runs[-1]
            runs[-1] = [min(last[0], i1), max(last[1], i2), min(last[2], j1), max(last[3], j2)]
        else:
            runs.append([i1, i2, j1, j2])
    for _, _, j1, j2 in runs:
        if j1 == j2 or not has_text[j1] or not has_text[j2 - 1]:
            raise ProposalError("this change cannot be located by its text; propose a "
                                "structural fix instead", code="unapplicable")
    return [tuple(r) for r in runs]


def _block_inverse(parent: Revision, revision: Revision, head: Revision) -> list[ChangeSpec]:
    old_blocks, new_blocks = _children(parent.element), _children(revision.element)
    new_spans = [span for _, span in child_spans(revision.element, revision.layer)]
    old_keys, new_keys = [_key(b) for b in old_blocks], [_key(b) for b in new_blocks]
    head_blocks = _children(head.element)
    head_keys = [_key(b) for b in head_blocks]
    head_spans = [span for _, span in child_spans(head.element, head.layer)]
    specs = []
    for i1, i2, j1, j2 in _runs(old_keys, new_keys, [s[0] is not None for s in new_spans]):
        wanted = new_keys[j1:j2]
        places = [k for k in range(len(head_keys) - len(wanted) + 1)
                  if head_keys[k:k + len(wanted)] == wanted]
        if not places:
            raise _since(revision.number)
        k = min(places, key=lambda k: abs(k - j1))  # repeated blocks: the one nearest
        start, end = head_spans[k][0], head_spans[k + len(wanted) - 1][1]
        content = "\n".join(_xml(b) for b in old_blocks[i1:i2])
        specs.append(ChangeSpec(Kind.STRUCTURE, start, end, content, exact=head.text[start:end]))
    return specs

