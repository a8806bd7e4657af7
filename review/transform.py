"""Applying a proposal's changes to a document's TEI, and what that did: the text steps, the
footnotes renumbered, removed, edited or added. No database."""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from edition.changes import Step
from edition.tei import XML_ID, markup, tei, textlayer
from edition.tei.edits import edit_note, insert_note, note_body_xml, remove_note, replace_blocks
from edition.tei.metadata import set_attributes

from .anchoring import step_between
from .models import Change, attributes_of

Kind = Change.Kind


@dataclass
class Applied:
    element: etree._Element
    steps: list[Step] = field(default_factory=list)
    renamed: dict[str, str | None] = field(default_factory=dict)  # footnote ids renumbered
    removed_notes: set[str] = field(default_factory=set)
    edited_notes: set[str] = field(default_factory=set)
    added_note_points: set[int] = field(default_factory=set)
    touched_note_points: set[int] = field(default_factory=set)  # notes edited or removed
    inserted_blocks: set[int] = field(default_factory=set)  # points of blocks inserted
    attributes: set[str] = field(default_factory=set)  # the div's attributes set or removed
    marked: set[tuple[int, int]] = field(default_factory=set)  # ranges whose markup changed
    # The text layer of `element` when the last step built it (a text change checks its
    # result's layer); None when any later step changed the tree. The approval's gate takes
    # it for the candidate instead of building it again.
    layer: textlayer.TextLayer | None = None


def apply_changes(element: etree._Element, changes, *, text: str | None = None) -> Applied:
    """Apply the changes of one proposal, last position first so earlier offsets stay valid.

    `text`, when the caller has it, is the element's text layer (spares deriving it again).
    Raises TextChangeError / FragmentError (both ValueError) when the TEI cannot carry them.
    """
    result = Applied(element)
    ordered = sorted(changes, key=lambda c: (c.start, c.end), reverse=True)
    for change in ordered:
        result.layer = None  # whatever this step does to the tree, the layer before is stale
        if change.kind == Kind.METADATA:  # the div's own attributes: no text, no step
            values = attributes_of(change.kind, change.content)
            result.element = set_attributes(result.element, values)
            result.attributes.update(values)
            continue
        if change.kind == Kind.MARKUP:  # no text, no step: the text layer stays as it is
            before = text if text is not None else textlayer.text_of(result.element)
            result.element = markup.apply(result.element, change.start, change.end,
                                          change.markup)
            assert textlayer.text_of(result.element) == before
            result.marked.add((change.start, change.end))
            continue
        note_id = image_of(change.note_id, result.renamed)
        if change.kind == Kind.TEXT:
            result.element, result.layer = textlayer.changed(result.element, change.start,
                                                             change.end, change.content)
            result.steps.append(Step(change.start, change.end - change.start,
                                     len(change.content)))
            if text is not None:  # apply_change checked the new layer is exactly this
                text = text[:change.start] + change.content + text[change.end:]
            continue
        if change.kind in Change.NOTE_KINDS:
            text = None  # derived again if a structural fix follows, never assumed
        if change.kind == Kind.NOTE_ADD:
            result.element, _, renamed = insert_note(result.element, change.start,
                                                     change.content)
            result.added_note_points.add(change.start)
        elif change.kind == Kind.NOTE_EDIT:
            result.element = edit_note(result.element, note_id, change.content)
            result.edited_notes.add(note_id)
            result.touched_note_points.add(change.start)
            renamed = {}
        elif change.kind == Kind.NOTE_REMOVE:
            result.element, renamed = remove_note(result.element, note_id)
            result.removed_notes.add(note_id)
            result.touched_note_points.add(change.start)
        elif change.kind == Kind.STRUCTURE:
            before = text if text is not None else textlayer.text_of(result.element)
            notes_before = _note_bodies(result.element)
            result.element, renamed = replace_blocks(result.element, change.start, change.end,
                                                     change.content)
            text = textlayer.text_of(result.element)
            result.steps.append(_block_step(before, text, change.start, change.end))
            if change.start == change.end:
                result.inserted_blocks.add(change.start)
            notes_after = _note_bodies(result.element)
            for old_id, body in notes_before.items():
                new_id = renamed.get(old_id, old_id)
                if new_id not in notes_after:
                    result.removed_notes.add(old_id)
                elif notes_after[new_id] != body:
                    result.edited_notes.add(old_id)
        else:
            raise ValueError(f"unknown change kind {change.kind}")
        result.renamed = compose_renames(result.renamed, renamed)
    return result


def _block_step(old: str, new: str, start: int, end: int) -> Step:
    """The step of a structural fix: what changed, widened to the whole blocks replaced.

    A structural fix may leave the text alone (a page break moved), yet it rewrites the TEI of
    its blocks: any pending change inside them must conflict rather than be overwritten later.
    When the text around the blocks is intact the step is exactly [start, end) → the new
    blocks' text (for an insertion, the new blocks and their separator before `start`); the
    common prefix and suffix could otherwise slide into a neighbouring block that happens to
    begin or end with the same letters.
    """
    delta = len(new) - len(old)
    if end - start + delta >= 0 and new.startswith(old[:start]) and new.endswith(old[end:]):
        return Step(start, end - start, end - start + delta)
    step = step_between(old, new) or Step(start, 0, 0)
    lo, hi = min(step.pos, start), max(step.end, end)
    return Step(lo, hi - lo, step.new_len + (step.pos - lo) + (hi - step.end))


def _note_bodies(element: etree._Element) -> dict[str, str]:
    return {note.get(XML_ID): note_body_xml(note) for note in element.iter(tei("note"))}


def compose_renames(first: dict[str, str | None],
                    second: dict[str, str | None]) -> dict[str, str | None]:
    """Footnote renames old → new of two changes in a row, as one map; None marks a note
    removed. Identity entries carry nothing and are dropped (ids are unique, so no other
    note can have been renamed to an id that kept its note)."""
    composed = {old: None if mid is None else image_of(mid, second)
                for old, mid in first.items()}
    for old, new in second.items():
        # An id of the intermediate state that first neither produced nor took away.
        if old not in first.values() and old not in first:
            composed[old] = new
    return {old: new for old, new in composed.items() if old != new}


def image_of(old_id: str, renamed: dict[str, str | None]) -> str | None:
    """Where note `old_id` went, or None if it was removed. An id that another note was
    renamed to, without being renamed itself, belonged to a note that was removed."""
    if old_id in renamed:
        return renamed[old_id]
    return None if old_id in renamed.values() else old_id
