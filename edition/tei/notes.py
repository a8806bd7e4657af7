"""The footnotes of a document as readers see them: which is the source note, their labels and
ids, in display order. Shared by the HTML and the plain-text renderers, so their markers agree.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

from . import XML_ID, local_name

_XML_SPACE = re.compile(r"[ \t\r\n]+")
# Running heads and the like are not part of the text (the text layer excludes them too).
SKIPPED = frozenset({"fw", "teiHeader"})


def document_id(div: etree._Element) -> str:
    doc_id = (div.get(XML_ID) or "").strip()
    if doc_id:
        return doc_id
    n = (div.get("n") or "").strip()
    return f"d{n}" if n.isdigit() else "document"


@dataclass(frozen=True)
class Footnote:
    element: etree._Element
    id: str  # the note's xml:id, or "{doc id}fn{n}" when the TEI gives none
    label: str  # "Source" for the source note, else the TEI @n
    is_source: bool


def is_source_note(note: etree._Element) -> bool:
    if note.get("type") == "source":
        return True
    return (note.get("n") or "").strip() == "0" and any(
        local_name(a) == "head" for a in note.iterancestors()
    )


def collect_footnotes(div: etree._Element) -> list[Footnote]:
    """The document's footnotes in display order: source note first, then document order.

    Notes nested in another note are not listed: they are shown inside their parent's body.
    """
    doc_id = document_id(div)
    taken = {el.get(XML_ID) for el in div.iter() if el.get(XML_ID)}
    listed: list[Footnote] = []
    ordinal = 0
    for note in _top_level_notes(div):
        source = is_source_note(note)
        n = _XML_SPACE.sub(" ", note.get("n") or "").strip()
        if not source:
            ordinal += 1
        label = "Source" if source else (n or str(ordinal))
        note_id = (note.get(XML_ID) or "").strip()
        if not note_id:
            base = f"{doc_id}fn{(n or ('0' if source else str(ordinal))).replace(' ', '_')}"
            note_id = unique_id(base, taken)
        listed.append(Footnote(note, note_id, label, source))
    # sorted() is stable, so document order survives among the rest.
    return sorted(listed, key=lambda fn: not fn.is_source)


def _top_level_notes(div: etree._Element) -> Iterator[etree._Element]:
    stack = list(reversed(div))
    while stack:
        el = stack.pop()
        if local_name(el) == "note":
            yield el
        elif local_name(el) not in SKIPPED:
            stack.extend(reversed(el))


def unique_id(base: str, taken: set[str]) -> str:
    """`base`, or `base-2`, `base-3` …: the first not in `taken` (which it joins)."""
    candidate, i = base, 1
    while candidate in taken:
        i += 1
        candidate = f"{base}-{i}"
    taken.add(candidate)
    return candidate
