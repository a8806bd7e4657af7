"""Render one FRUS document (`div type="document"`) as plain text.

Layout: the heading line, then blocks separated by one blank line, one paragraph per line (no
wrapping, so the file diffs cleanly). Note markers are `[label]` glued to the word before
("recognition.[1]", "Conversation[Source]"); the notes follow at the end, source note first, as
`  [label] body`, one per line. A page break inside a paragraph breaks the line and stands alone
as `[Page 276]` between the halves (no blank lines: it is not a paragraph break); a page break
between blocks is a block of its own.

The words are those of the text layer (`textlayer.py`): same document order, whitespace rules
and NFC; dropping the markers, the `[Page N]` lines, the list bullets and the notes at the end
leaves the text layer's words. One exception: markup outside the TEI namespace (XHTML script,
object… in a figure) is never content here; `[Embedded media]` stands for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from . import collapse, local_name
from .notes import SKIPPED, Footnote, collect_footnotes
from .render import follows_foreign, is_foreign

_XML_SPACE = re.compile(r"[ \t\r\n]+")
_SPACES = re.compile(" {2,}")

Line = tuple[str, str]  # ("text" | "page", content)
Block = list[Line]

# Elements that stand on their own lines. Lists and tables have their own layout.
BLOCKS = frozenset(
    {
        "div", "attachment", "floatingText", "head", "p", "ab", "list", "table", "opener",
        "closer", "dateline", "salute", "signed", "postscript", "byline", "trailer", "epigraph",
        "argument", "address", "addrLine", "lg", "l", "sp", "speaker", "stage", "figure",
        "figDesc", "listBibl", "item", "label", "row", "cell",
    }
)
# Anchors and skipped markup: never a block, whatever they contain.
INLINE_ONLY = frozenset({"", "note", "pb", "lb", "cb", *SKIPPED})
QUOTE_INDENT = "    "
# Stands for foreign markup (XHTML script, object… in a figure), whose text is never content.
EMBEDDED_MEDIA = "[Embedded media]"


def render_plaintext(div: etree._Element, *, footnotes: list[Footnote] | None = None) -> str:
    """The document as plain text ending in one newline (see the module docstring).
    `footnotes`: the div's `collect_footnotes`, if listed."""
    return _PlainRenderer(div, footnotes).render()


@dataclass
class _Marker:
    text: str


class _Lines:
    """Inline content becoming lines: text pieces, note markers and page breaks."""

    def __init__(self, *, in_note: bool = False) -> None:
        # In a note body everything stays on one line: page breaks and line breaks are inline.
        self.in_note = in_note
        self.done: list[Line] = []
        self.tokens: list[str | _Marker] = []
        self.markers = False  # a _Marker among the tokens

    def text(self, raw: str | None) -> None:
        if raw:
            # Per text node, as the text layer does: the unit its offsets map back to.
            self.tokens.append(collapse(raw))

    def marker(self, label: str) -> None:
        self.tokens.append(_Marker(f"[{label}]"))
        self.markers = True

    def line_break(self) -> None:
        if self.in_note:
            self.tokens.append(" ")
        else:
            self._finish()

    def page(self, label: str) -> None:
        if self.in_note:
            self.tokens.append(f" [{label}] ")
        else:
            self._finish()
            self.done.append(("page", f"[{label}]"))

    def _finish(self) -> None:
        tokens = self.tokens
        if not tokens:
            return
        self.tokens = []
        if self.markers:
            self.markers = False
            out = ""
            for token in tokens:
                if isinstance(token, _Marker):
                    # A marker belongs to the word before it, even when the TEI has a space
                    # between.
                    word_end = out.rstrip(" ")
                    out = word_end + token.text + (" " if len(word_end) < len(out) else "")
                else:
                    out += token
        else:  # most lines: text alone, joined at once
            out = "".join(tokens)
        if "  " in out:
            out = _SPACES.sub(" ", out)
        line = out.strip(" ")
        if line:
            self.done.append(("text", line))

    def take(self) -> list[Line]:
        self._finish()
        done, self.done = self.done, []
        return done


def _page_label(pb: etree._Element) -> str:
    # The same words as the HTML marker; a break without @n still shows, so a reviewer sees it.
    n = _XML_SPACE.sub(" ", pb.get("n") or "").strip()
    return f"Page {n}" if n else "Page break"


def _split_pages(lines: list[Line]) -> list[Block]:
    """One block from `lines`; page breaks at its start or end become blocks of their own."""
    start, end = 0, len(lines)
    while start < end and lines[start][0] == "page":
        start += 1
    while end > start and lines[end - 1][0] == "page":
        end -= 1
    blocks: list[Block] = [[line] for line in lines[:start]]
    if start < end:
        blocks.append(lines[start:end])
    blocks.extend([line] for line in lines[end:])
    return blocks


class _PlainRenderer:
    def __init__(self, div: etree._Element, footnotes: list[Footnote] | None = None) -> None:
        self.root = div
        self.footnotes = collect_footnotes(div) if footnotes is None else footnotes
        self.label_of = {fn.element: fn.label for fn in self.footnotes}
        self.block_cache: dict[etree._Element, bool] = {}

    def render(self) -> str:
        blocks = self.flow(self.root)
        text = "\n\n".join("\n".join(content for _, content in block) for block in blocks)
        if self.footnotes:
            notes = "\n".join(
                f"  [{fn.label}] {self.note_body(fn.element)}".rstrip() for fn in self.footnotes
            )
            text = f"{text}\n\n{notes}" if text else notes
        return text + "\n"

    # -- blocks ------------------------------------------------------------------------------

    def is_block(self, el: etree._Element) -> bool:
        name = local_name(el)
        if name in INLINE_ONLY or is_foreign(el):  # a note's paragraphs belong to the note list, not here
            return False
        if name in ("quote", "q"):
            return "block" in (el.get("rend") or "") or self.has_block(el)
        return name in BLOCKS or self.has_block(el)

    def has_block(self, el: etree._Element) -> bool:
        if el not in self.block_cache:
            # Without recursion (is_block asks has_block of each child): every element of the
            # subtree after its descendants (document order reversed), so that each is_block
            # below finds its child's answer cached. An imported unit nests up to libxml2's
            # 256 levels; its plain-text page must not fail on Python's recursion limit.
            for node in reversed(list(el.iter())):
                if node not in self.block_cache:
                    self.block_cache[node] = any(self.is_block(c) for c in node)
        return self.block_cache[el]

    def flow(self, el: etree._Element, *, in_note: bool = False) -> list[Block]:
        """The children of a block container: inline runs become blocks between the blocks."""
        blocks: list[Block] = []
        lines = _Lines(in_note=in_note)
        lines.text(el.text)
        for child in el:
            if local_name(child) and self.is_block(child):
                blocks.extend(_split_pages(lines.take()))
                blocks.extend(self.block(child, in_note=in_note))
            else:
                self.inline(child, lines)
            lines.text(child.tail)
        blocks.extend(_split_pages(lines.take()))
        return blocks

    def block(self, el: etree._Element, *, in_note: bool = False) -> list[Block]:
        name = local_name(el)
        if name == "list":
            return self.list_blocks(el)
        if name == "table":
            return self.table_blocks(el)
        blocks = self.flow(el, in_note=in_note)
        if name in ("quote", "q"):
            return [
                [(kind, QUOTE_INDENT + text if kind == "text" else text) for kind, text in b]
                for b in blocks
            ]
        return blocks

    def inline(self, el: etree._Element, lines: _Lines) -> None:
        # An explicit stack rather than recursion per level (see has_block): an element, or a
        # 1-tuple of the text (a child's tail) written once the child's own content is.
        todo: list = [el]
        while todo:
            item = todo.pop()
            if isinstance(item, tuple):
                lines.text(item[0])
            elif not self.inline_leaf(item, lines):
                lines.text(item.text)
                for child in reversed(item):
                    todo.append((child.tail,))
                    todo.append(child)

    def inline_leaf(self, el: etree._Element, lines: _Lines) -> bool:
        """Write `el` if it is written whole (a note's marker, a page break, a stand-in, or
        nothing); whether it was."""
        name = local_name(el)
        if not name or name in SKIPPED:
            return True
        if is_foreign(el):
            if not follows_foreign(el):  # one stand-in for a run of it
                lines.text(f" {EMBEDDED_MEDIA} ")
            return True
        if name == "note":
            if el in self.label_of:
                lines.marker(self.label_of[el])
            else:  # a note inside a note: its words stay in the parent's body
                lines.text(f" [{self.note_body(el)}]")
            return True
        if name == "pb":
            lines.page(_page_label(el))
            return True
        if name in ("lb", "cb"):
            lines.line_break()
            return True
        return False

    def note_body(self, note: etree._Element) -> str:
        blocks = self.flow(note, in_note=True)
        return " ".join(content for block in blocks for _, content in block)

    # -- lists and tables --------------------------------------------------------------------

    def list_blocks(self, el: etree._Element) -> list[Block]:
        blocks: list[Block] = []
        for head in (c for c in el if local_name(c) == "head"):
            blocks.extend(self.flow(head))
        blocks.extend(_split_pages(self.list_lines(el, depth=1)))
        return blocks

    def list_lines(self, el: etree._Element, depth: int) -> list[Line]:
        """One line per item: "  • item" (or the item's label, or its number in an ordered list)."""
        ordered = el.get("type") == "ordered" or (el.get("rend") or "") in ("numbered", "ordered")
        out: list[Line] = []
        label: str | None = None
        count = 0
        stray = _Lines()  # page breaks, notes and text sitting between items
        stray.text(el.text)
        for child in el:
            name = local_name(child)
            if name in ("item", "list", "label") or (name and self.is_block(child)):
                out.extend(self._stray_lines(stray, out, depth))
            if name == "head" or not name:
                pass
            elif name == "label":
                label_lines = _Lines()
                self.inline(child, label_lines)
                label = " ".join(text for _, text in label_lines.take()) or None
            elif name == "item":
                count += 1
                bullet = label or (f"{count}." if ordered else "•")
                out.extend(self.item_lines(child, depth, bullet))
                label = None
            elif name == "list":
                out.extend(self.list_lines(child, depth + 1))
            elif self.is_block(child):
                out.extend(self.item_lines(child, depth, "•"))
            else:
                self.inline(child, stray)
            stray.text(child.tail)
        out.extend(self._stray_lines(stray, out, depth))
        if label:
            out.append(("text", "  " * depth + label))
        return out

    def _stray_lines(self, stray: _Lines, out: list[Line], depth: int) -> list[Line]:
        lines = stray.take()
        if lines and lines[0][0] == "text" and out and out[-1][0] == "text":
            # A marker or words after an item belong to that item's line.
            kind, text = lines.pop(0)
            glue = "" if text.startswith("[") else " "
            out[-1] = (out[-1][0], out[-1][1] + glue + text)
        return [(k, "  " * depth + t if k == "text" else t) for k, t in lines]

    def item_lines(self, item: etree._Element, depth: int, bullet: str) -> list[Line]:
        indent = "  " * depth
        first, rest = f"{indent}{bullet} ", indent + " " * (len(bullet) + 1)
        result: list[Line] = []
        started = False

        def add(lines: list[Line]) -> None:
            nonlocal started
            for kind, text in lines:
                if kind == "page":
                    result.append((kind, text))
                else:
                    result.append((kind, (rest if started else first) + text))
                    started = True

        lines = _Lines()
        lines.text(item.text)
        for child in item:
            name = local_name(child)
            if name == "list":
                add(lines.take())
                if not started:
                    result.append(("text", first.rstrip()))
                    started = True
                result.extend(self.list_lines(child, depth + 1))
            elif name and self.is_block(child):
                add(lines.take())
                for block in self.block(child):
                    add(block)
            else:
                self.inline(child, lines)
            lines.text(child.tail)
        add(lines.take())
        # An empty item (a list whose entries were lost, kept as TEI requires) prints nothing.
        return result

    def table_blocks(self, el: etree._Element) -> list[Block]:
        """Head blocks, then one line per row with its cells separated by " | "."""
        blocks: list[Block] = []
        for head in (c for c in el if local_name(c) == "head"):
            blocks.extend(self.flow(head))
        lines: list[Line] = []
        for child in el:
            name = local_name(child)
            if name == "row":
                cells = [self.flat(c) for c in child if local_name(c) == "cell"]
                lines.append(("text", " | ".join(cells)))
            elif name == "pb":
                lines.append(("page", f"[{_page_label(child)}]"))
            elif is_foreign(child):
                if not follows_foreign(child):
                    lines.append(("text", EMBEDDED_MEDIA))
            elif name and name != "head":
                text = self.flat(child)
                if text:
                    lines.append(("text", text))
        blocks.extend(_split_pages(lines))
        return blocks

    def flat(self, el: etree._Element) -> str:
        """Everything in `el` on one line (a table cell)."""
        return " ".join(text for block in self.flow(el, in_note=True) for _, text in block)
