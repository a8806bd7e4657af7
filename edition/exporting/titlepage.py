"""The volume's title page for the files: its `<titlePage>` as the skeleton keeps it (it is no
unit), read as blocks of lines each format sets in its own way; None when the volume has none,
and the files set their title page from the header's metadata instead.

Lines follow the printed page: each `titlePart`, `publisher`, `pubPlace`, `docDate` and each
`<lb/>` starts one. Page breaks, figures (the seal, an image the files do not carry) and notes
are left out.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from functools import lru_cache

from lxml import etree

from ..models import Edition
from ..tei import TEI_NS, local_name
from ..tei.parsing import safe_parser

# Children of a title page's blocks that stand on a line of their own.
LINE_ELEMENTS = frozenset({"titlePart", "publisher", "pubPlace", "docDate", "docEdition",
                           "docAuthor", "imprimatur", "epigraph", "p"})
LEFT_OUT = frozenset({"pb", "figure", "graphic", "note", "fw"})


@dataclass(frozen=True)
class Block:
    """One block of the title page: `kind` is its TEI element (docTitle, byline, docImprint…),
    `lines` its text, a line each; `styles` the `@type` of each line's titlePart, if any."""

    kind: str
    lines: tuple[str, ...]
    styles: tuple[str, ...]


def title_page(edition: Edition) -> tuple[Block, ...] | None:
    """The blocks of the skeleton's first `<titlePage>`, or None when it has none."""
    return _blocks(edition.tei_skeleton)


@lru_cache(maxsize=8)
def _blocks(skeleton: str) -> tuple[Block, ...] | None:
    """Read once per skeleton: a build asks for it for the volume and every unit's file (the
    same string each time, whose hash Python keeps: no scan of it per file)."""
    if "titlePage" not in skeleton:  # spares parsing the skeleton of most volumes
        return None
    root = etree.fromstring(skeleton.encode("utf-8"), parser=safe_parser())
    page = root.find(f".//{{{TEI_NS}}}titlePage")
    if page is None:
        return None
    blocks = []
    for child in page:
        name = local_name(child)
        if not name or name in LEFT_OUT:
            continue
        lines = _Lines()
        lines.add(child)
        lines.end()
        if lines.lines:
            blocks.append(Block(name, tuple(text for text, _ in lines.lines),
                                tuple(style for _, style in lines.lines)))
    return tuple(blocks) or None


class _Lines:
    """The text of a block cut into lines, whitespace normalised, empty lines dropped."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []
        self.current = ""
        self.style = ""

    def end(self) -> None:
        line = " ".join(self.current.split())
        if line:
            self.lines.append((line, self.style))
        self.current = ""

    def add(self, element: etree._Element) -> None:
        self.current += element.text or ""
        for child in element:
            name = local_name(child)
            if name == "lb":
                self.end()
            elif name in LINE_ELEMENTS:
                self.end()
                outer, self.style = self.style, child.get("type") or self.style
                self.add(child)  # each of its lines (it may hold <lb/>) takes its type
                self.end()
                self.style = outer
            elif name and name not in LEFT_OUT:
                self.add(child)
            self.current += child.tail or ""


def to_html(blocks: tuple[Block, ...]) -> str:
    """The blocks as HTML (well-formed XHTML too): a `div` per block, a `div` per line, with
    classes `tp-<block>` and `tp-<titlePart type>`."""
    out = []
    for block in blocks:
        lines = "".join(
            f'<div class="tp-line{f" tp-{_class(style)}" if style else ""}">'
            f"{html.escape(line)}</div>" for line, style in zip(block.lines, block.styles,
                                                                  strict=True))
        out.append(f'<div class="tp-{_class(block.kind)}">{lines}</div>')
    return "\n".join(out)


def to_text(blocks: tuple[Block, ...]) -> str:
    """The blocks as plain text: a line each, a blank line between blocks."""
    return "\n\n".join("\n".join(block.lines) for block in blocks) + "\n"


def _class(value: str) -> str:
    return "".join(c for c in value if c.isalnum() or c in "-_")
