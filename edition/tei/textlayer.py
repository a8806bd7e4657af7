"""The text layer: the readable text of a document, derived from its TEI, with a map back.

Rules (docs/ARCHITECTURE.md, "The text layer"):
- document order; note bodies excluded (each note gets a text layer of its own);
- runs of XML whitespace (space, tab, CR, LF) collapse to one U+0020; every other character,
  NBSP included, is kept as it is;
- block elements (`p`, `head`, `item`, `dateline`, ...) are separated by a blank line ("\\n\\n") and
  lose their leading and trailing whitespace;
- NFC, applied per TEI text node (the unit the map points at);
- offsets are code points (Python `str` indices).

Every character of the layer except block separators and the space a `<lb/>` stands for belongs
to exactly one *segment*: the `.text` or `.tail` of one element. `apply_change` splices those
segments, so a change that crosses inline markup keeps the elements and puts the replacement in
the first text node it touches.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from dataclasses import dataclass, field

from lxml import etree

from . import XML_ID, collapse, local_name

BLOCK_SEPARATOR = "\n\n"

# Elements that start a new block of text. Containers (div, list, opener, closer) are blocks too:
# text directly inside them, if any, stands on its own.
BLOCK_ELEMENTS = frozenset(
    {
        "div", "head", "p", "ab", "list", "item", "label", "opener", "closer", "dateline",
        "salute", "signed", "postscript", "byline", "docAuthor", "epigraph", "argument",
        "trailer", "quote", "lg", "l", "table", "row", "cell", "figure", "figDesc", "sp",
        "speaker", "stage", "floatingText", "body", "front", "back", "attachment", "listBibl",
        "bibl", "address", "addrLine", "postscript",
    }
)
# Elements whose content is not part of the running text.
EXCLUDED_ELEMENTS = frozenset({"note", "fw", "teiHeader"})
# Elements that stand for a (collapsible) space in the running text.
SPACE_ELEMENTS = frozenset({"lb", "cb"})

_XML_SPACE = re.compile(r"[ \t\r\n]+")


class TextChangeError(ValueError):
    """A text change that the TEI cannot carry; the message says why and what to do instead."""


@dataclass(slots=True)
class Segment:
    """One TEI text node's share of the text layer: `layer[start:end] == content`."""

    element: etree._Element
    slot: str  # "text" or "tail"
    start: int
    content: str

    @property
    def end(self) -> int:
        return self.start + len(self.content)


@dataclass(slots=True)
class Anchor:
    """A zero-width element (a note's marker, a page break) and its offset in the layer."""

    element: etree._Element
    offset: int


@dataclass
class TextLayer:
    text: str
    segments: list[Segment] = field(default_factory=list)
    notes: list[Anchor] = field(default_factory=list)
    page_breaks: list[Anchor] = field(default_factory=list)
    # Offsets where a block separator starts; layer[o:o + 2] == "\n\n" for each.
    separators: list[int] = field(default_factory=list)

    def note(self, note_id: str) -> Anchor | None:
        """The footnote with this xml:id, with the offset it is anchored at."""
        return next((a for a in self.notes if a.element.get(XML_ID) == note_id), None)

    def block_spans(self) -> list[tuple[int, int]]:
        bounds, start = [], 0
        for sep in self.separators:
            bounds.append((start, sep))
            start = sep + len(BLOCK_SEPARATOR)
        bounds.append((start, len(self.text)))
        return bounds


class _Builder:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.segments: list[Segment] = []
        self.notes: list[Anchor] = []
        self.page_breaks: list[Anchor] = []
        self.separators: list[int] = []
        # Every text slot visited, with the block it lies in; apply_change rewrites a block's
        # slots so that whitespace the layer dropped cannot reappear after an edit.
        self.slots: list[tuple[etree._Element, str, int, Segment | None]] = []
        self.block_id = 0
        self.block_pending = False  # a block boundary was crossed since the last character
        self.ends_in_space = False
        self.last_space_owner: Segment | None = None  # None with ends_in_space: an <lb/> space
        self.waiting: list[Anchor] = []  # anchors between blocks, placed at the next block start

    def block_boundary(self) -> None:
        self._drop_trailing_space()
        self.block_pending = True
        self.block_id += 1

    def _drop_trailing_space(self) -> None:
        if not self.ends_in_space:
            return
        owner = self.last_space_owner
        if owner is not None:
            owner.content = owner.content[:-1]
        self.parts[-1] = self.parts[-1][:-1]
        self.length -= 1
        self.ends_in_space = False
        self.last_space_owner = None
        # Offsets only grow along each list, so only its last anchors can be past the end: walking
        # back to the first one that is not keeps a block boundary O(1), not O(anchors so far).
        for anchors in (self.notes, self.page_breaks):
            for anchor in reversed(anchors):
                if anchor.offset <= self.length:
                    break
                anchor.offset = self.length

    def _at_block_start(self) -> bool:
        return self.length == 0 or self.block_pending

    def add_text(self, raw: str | None, element: etree._Element, slot: str) -> None:
        if raw is None:
            return
        text = collapse(raw)
        # `_at_block_start()` inlined: every text node of every layer comes through here.
        if text.startswith(" ") and (self.length == 0 or self.block_pending
                                     or self.ends_in_space):
            text = text[1:]
        if not text:
            self.slots.append((element, slot, self.block_id, None))
            return
        if self.block_pending and self.length:
            self.separators.append(self.length)
            self.parts.append(BLOCK_SEPARATOR)
            self.length += len(BLOCK_SEPARATOR)
        self.block_pending = False
        for anchor in self.waiting:
            anchor.offset = self.length
        self.waiting.clear()
        segment = Segment(element, slot, self.length, text)
        self.segments.append(segment)
        self.slots.append((element, slot, self.block_id, segment))
        self.parts.append(text)
        self.length += len(text)
        self.ends_in_space = text.endswith(" ")
        self.last_space_owner = segment if self.ends_in_space else None

    def add_space(self) -> None:
        if self._at_block_start() or self.ends_in_space:
            return
        self.parts.append(" ")
        self.length += 1
        self.ends_in_space = True
        self.last_space_owner = None

    def add_anchor(self, anchors: list[Anchor], element: etree._Element) -> None:
        anchor = Anchor(element, self.length)
        anchors.append(anchor)
        if self.block_pending:
            # Between blocks (a page break before a paragraph): it belongs to the next block.
            self.waiting.append(anchor)

    def walk(self, element: etree._Element, *, root: bool = False) -> None:
        name = local_name(element)
        if not name:  # comment or processing instruction: only its tail is text
            pass
        elif name == "note" and not root:
            self.add_anchor(self.notes, element)
        elif name == "pb":
            self.add_anchor(self.page_breaks, element)
        elif name in EXCLUDED_ELEMENTS and not root:
            pass
        elif name in SPACE_ELEMENTS:
            self.add_space()
        else:
            block = name in BLOCK_ELEMENTS
            if block:
                self.block_boundary()
            text = element.text
            if text is not None:  # (add_text ignores None: spares the call)
                self.add_text(text, element, "text")
            for child in element:
                self.walk(child)
            if block:
                self.block_boundary()
        if not root:
            tail = element.tail
            if tail is not None:
                self.add_text(tail, element, "tail")

    def result(self) -> TextLayer:
        self._drop_trailing_space()
        return TextLayer(
            "".join(self.parts), self.segments, self.notes, self.page_breaks, self.separators
        )


def build(element: etree._Element) -> TextLayer:
    """Derive the text layer of a document div (or of one note, for its own text layer)."""
    return _build(element)[0]


def _build(element: etree._Element) -> tuple[TextLayer, _Builder]:
    builder = _Builder()
    builder.walk(element, root=True)
    return builder.result(), builder


class _Found(Exception):
    pass


class _FirstBreak(_Builder):
    """Walks only as far as the first character or the first `pb`, whichever comes first."""

    def add_text(self, raw, element, slot) -> None:
        super().add_text(raw, element, slot)
        if self.length:
            raise _Found(None)

    def add_anchor(self, anchors, element) -> None:
        super().add_anchor(anchors, element)
        if anchors is self.page_breaks:
            raise _Found(element if self.length == 0 else None)


def first_break_at_start(element: etree._Element) -> etree._Element | None:
    """`build(element).page_breaks[0].element` when that first `pb` stands at offset 0 (no text
    before it), else None, reading only the start of the tree. An anchor placed at offset 0
    stays there (offsets only ever move back to the layer's length, never below it, and once
    the layer has a character it can no longer be empty), so the first `pb` or the first
    character decides."""
    try:
        _FirstBreak().walk(element, root=True)
    except _Found as found:
        return found.args[0]
    return None


def text_of(element: etree._Element) -> str:
    return build(element).text


def apply_change(
    element: etree._Element, start: int, end: int, replacement: str
) -> etree._Element:
    """`changed(...)`'s tree alone."""
    return changed(element, start, end, replacement)[0]


def changed(
    element: etree._Element, start: int, end: int, replacement: str
) -> tuple[etree._Element, TextLayer]:
    """Return a copy of `element` whose text layer is `layer[:start] + replacement + layer[end:]`.

    Only the text nodes the change touches are rewritten, and in them only the characters it
    replaces: the source's line breaks and indentation around the change keep their bytes, so a
    one-word correction is a one-word difference in the TEI. A text node that does not map onto
    its layer character for character (text not in NFC, as `Pe&#769;rez`) is written back in
    normal form alone, its neighbours keeping their bytes. Where even that cannot carry the
    change exactly (whitespace the layer had dropped would come back as a space), the block the
    change lies in is written back in normal form instead.

    Raises TextChangeError when the TEI cannot carry that text: a range outside the layer, a
    change that adds, removes or crosses a block boundary (that is a structural fix), or one
    whose result is not in normal form (doubled or edge spaces, line breaks, non-NFC text).
    Returns the copy with its text layer (built to check it: the approval's gate reuses it).
    """
    # The copy's layer is the element's (a copy has the same text): built once, it checks the
    # change and serves the first mode's writing, instead of a layer of `element` as well.
    tree = copy.deepcopy(element)
    built = _build(tree)
    expected = _check_change(built[0], start, end, replacement)
    # Narrowest first: every touched node in place; those that cannot be, alone in normal form;
    # the whole block in normal form. Each is kept only if it gives exactly the expected layer.
    for mode in ("in place", "node", "block"):
        if built is None:  # a mode before wrote into its copy (and its layer): a fresh one
            tree = copy.deepcopy(element)
        if not _write_change(tree, start, end, replacement, mode=mode, built=built):
            built = None
            continue
        built = None
        if (actual := (layer := build(tree)).text) == expected:
            return tree, layer
    raise TextChangeError(
        "the TEI cannot carry this change exactly (it would merge with neighbouring "
        f"whitespace or characters): expected {expected[max(start - 20, 0):start + 40]!r}, "
        f"got {actual[max(start - 20, 0):start + 40]!r}"
    )


def _write_change(tree: etree._Element, start: int, end: int, replacement: str, *,
                  mode: str, built: tuple[TextLayer, _Builder] | None = None) -> bool:
    """Write the change into `tree` in `mode`; False when that mode cannot (a text node that
    does not map onto its layer, for "in place"). `built`: `_build(tree)`, when the caller has
    it (it is written into: used once)."""
    layer, builder = built if built is not None else _build(tree)
    segments = _touched_segments(layer, start, end)
    if not segments:
        raise TextChangeError(
            f"no text node carries offsets {start}–{end}: the range touches only a block "
            "boundary or a line break"
        )
    if start == end and (notes := [a.element for a in layer.notes if a.offset == start]):
        segments = [_tail_of(notes[-1], builder, segments[0])]
    first, last = segments[0], segments[-1]
    head = first.content[: max(start - first.start, 0)]
    tail = last.content[end - last.start :] if end <= last.end else ""
    if first is last:
        changed = [(first, head + replacement + tail)]
    else:
        changed = [(first, head + replacement), *((m, "") for m in segments[1:-1]),
                   (last, tail)]
    if mode == "in place":
        return all(_write_in_place(seg, content) for seg, content in changed)
    if mode == "node":
        for segment, content in changed:
            if not _write_in_place(segment, content):
                setattr(segment.element, segment.slot, content or None)
                segment.content = content
        return True
    # Write the whole block back in normal form: source whitespace the layer had dropped (an
    # indented line break before a page break, say) must not come back as a space.
    block_id = next(b for el, slot, b, seg in builder.slots if seg is first)
    for segment, content in changed:
        segment.content = content
    for el, slot, b, seg in builder.slots:
        if b == block_id:
            setattr(el, slot, seg.content if seg and seg.content else None)
    return True


_RAW_CHARACTER = re.compile(r"[ \t\r\n]+|[^ \t\r\n]")


def _write_in_place(segment: Segment, content: str) -> bool:
    """Rewrite only the characters of the segment's text node that change from its layer
    content to `content`, keeping the node's own whitespace around them. False when the node
    does not map onto its content character for character (text not in NFC)."""
    raw = getattr(segment.element, segment.slot) or ""
    old = segment.content
    if old == content:
        return True
    # Each layer character stands for one raw character or one run of whitespace.
    tokens = [(m.start(), m.end()) for m in _RAW_CHARACTER.finditer(raw)]
    collapsed = _XML_SPACE.sub(" ", raw)
    if not unicodedata.is_normalized("NFC", collapsed) or len(collapsed) != len(tokens):
        return False
    lead = 0 if collapsed.startswith(old) else 1  # a leading space the layer dropped
    if collapsed[lead:lead + len(old)] != old:
        return False
    prefix = len(_common_prefix(old, content))
    suffix = len(_common_prefix(old[prefix:][::-1], content[prefix:][::-1]))
    cut_from, cut_to = prefix + lead, len(old) - suffix + lead
    if cut_from < cut_to:
        raw_from, raw_to = tokens[cut_from][0], tokens[cut_to - 1][1]
    else:
        raw_from = raw_to = tokens[cut_from][0] if cut_from < len(tokens) else len(raw)
    new_raw = raw[:raw_from] + content[prefix:len(content) - suffix] + raw[raw_to:]
    setattr(segment.element, segment.slot, new_raw or None)
    segment.content = content
    return True


def _common_prefix(a: str, b: str) -> str:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return a[:n]


def _check_change(layer: TextLayer, start: int, end: int, replacement: str) -> str:
    text = layer.text
    if not (0 <= start <= end <= len(text)):
        raise TextChangeError(f"range {start}–{end} is outside the text (0–{len(text)})")
    if unicodedata.normalize("NFC", replacement) != replacement:
        raise TextChangeError("the replacement is not in Unicode NFC")
    if any(c in replacement for c in "\t\r\n"):
        raise TextChangeError("the replacement contains a line break or tab; use a space")
    for sep in layer.separators:
        if start < sep + len(BLOCK_SEPARATOR) and end > sep:
            raise TextChangeError(
                "the range crosses a block boundary (between paragraphs, list items, heading…); "
                "split it, or propose a structural fix"
            )
    new_text = text[:start] + replacement + text[end:]
    # A combining mark put after a base character would compose with it under NFC.
    if not unicodedata.is_normalized("NFC", new_text[max(start - 4, 0) : start + len(replacement) + 4]):
        raise TextChangeError("the result would not be in Unicode NFC around the change")
    for block_start, block_end in _shifted_blocks(layer, start, end, len(replacement)):
        block = new_text[block_start:block_end]
        if not block:
            raise TextChangeError(
                "the change would empty a whole block; remove the block with a structural fix"
            )
        if block != block.strip(" ") or "  " in block:
            raise TextChangeError(
                "the result would have a doubled space or a space at the edge of a block; "
                "include the neighbouring space in the range"
            )
    return new_text


def _shifted_blocks(layer: TextLayer, start: int, end: int, new_len: int):
    delta = new_len - (end - start)
    for block_start, block_end in layer.block_spans():
        if block_start <= start <= block_end:  # the one block the change lies in
            yield block_start, block_end + delta


def _touched_segments(layer: TextLayer, start: int, end: int) -> list[Segment]:
    if start == end:
        # An insertion goes into the first text node that contains the point: the end of the
        # word before it rather than the start of the inline element after it.
        for segment in layer.segments:
            if segment.start <= start <= segment.end:
                return [segment]
        return []
    return [s for s in layer.segments if s.start < end and s.end > start]


def _tail_of(note: etree._Element, builder: _Builder, before: Segment) -> Segment:
    """The text node after a note, for an insertion at the note's anchor.

    Footnotes stay with the word before them: text inserted where a note is anchored goes after
    the note, never between the word and its note. Creates the (empty) tail segment if the note
    has none, in the block of the text before it.
    """
    for segment in builder.segments:
        if segment.element is note and segment.slot == "tail":
            return segment
    block_id = next(b for el, slot, b, seg in builder.slots if seg is before)
    segment = Segment(note, "tail", before.end, "")
    builder.slots.append((note, "tail", block_id, segment))
    return segment


def _write(segment: Segment, content: str) -> None:
    segment.content = content
