"""The registry of checks and the loop that runs them over a unit's text layers."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from lxml import etree

from ..tei import XML_ID
from ..tei.findings import Finding
from ..tei.selectors import selector
from ..tei.textlayer import TextLayer, build


@dataclass(frozen=True)
class Volume:
    """What the checks need to know of the unit's volume, read once per edition
    (edition/checks/run.py): its document numbers, its persons register (xml:id → name) and the
    last page number of the unit printed just before this one, when that is known."""

    document_numbers: frozenset[int] = frozenset()
    persons: Mapping[str, str] = field(default_factory=dict)
    previous_page: int | None = None


_REF_DOCUMENT = re.compile(r"#d([0-9]{1,6})")


class Unit:
    """The unit being checked, with what several checks read of it computed once."""

    def __init__(self, div: etree._Element) -> None:
        self.div = div

    @cached_property
    def has_curly(self) -> bool:
        """Whether the unit (footnotes included) is set with curly quotes or apostrophes."""
        return any(c in text for text in self.div.itertext() for c in "‘’“”")

    @cached_property
    def referenced(self) -> frozenset[int]:
        """The numbers of the documents the unit links to (`ref target="#d139"`)."""
        return frozenset(int(m.group(1)) for ref in self.div.iter("{*}ref")
                         if (m := _REF_DOCUMENT.fullmatch(ref.get("target") or "")))


@dataclass(frozen=True)
class Layer:
    """One text a check reads: the unit's running text (`note_id` "") or one footnote's own."""

    layer: TextLayer
    element: etree._Element  # the div, or the note
    note_id: str = ""
    label: str = "the text"

    @property
    def text(self) -> str:
        return self.layer.text


@dataclass(frozen=True)
class Hit:
    """What a check found on one layer: [start, end) of its text, the detail for the editor,
    and the replacement text (None when only a person can say what it should be)."""

    start: int
    end: int
    detail: str
    replacement: str | None = None


@dataclass(frozen=True)
class Check:
    name: str  # stored in Suggestion.check_name: at most 20 characters, never renamed
    label: str  # "Range without its dash"
    explanation: str  # what it looks for and why, for the editor deciding whether to keep it
    scan: Callable[[Layer, Unit, Volume], Iterable[Hit]]
    notes: bool = True  # whether it reads the footnotes as well as the running text


CHECKS: list[Check] = []


def register(check: Check) -> Check:
    if len(check.name) > 20 or any(c.name == check.name for c in CHECKS):
        raise ValueError(f"check name {check.name!r}: too long or taken")
    CHECKS.append(check)
    return check


def get(name: str) -> Check | None:
    return next((c for c in CHECKS if c.name == name), None)


def names() -> list[str]:
    return [c.name for c in CHECKS]


def choices() -> list[tuple[str, str]]:
    """The checks as field choices (Suggestion.check_name adds the import's findings)."""
    return [(c.name, c.label) for c in CHECKS]


def layers(div: etree._Element) -> list[Layer]:
    """The unit's running text, then each footnote's own text, in document order."""
    running = build(div)
    found = [Layer(running, div)]
    for anchor in running.notes:
        note = anchor.element
        note_id = note.get(XML_ID)
        if not note_id:
            continue  # a note without an id cannot be edited by a proposal: nothing to offer
        label = ("the source note" if note.get("type") == "source"
                 else f"footnote {note.get('n') or note_id}")
        found.append(Layer(build(note), note, note_id, label))
    return found


def find(div: etree._Element, volume: Volume = Volume(), *,
         disabled: Iterable[str] = ()) -> list[Finding]:
    """Every finding of the enabled checks on `div`, check by check, each in text order.

    The fix is a text change on the running text, or a footnote edit (`note_id`) on a
    footnote's own layer; `change` is "" when the check has no fix to offer."""
    off = set(disabled)
    texts, unit = layers(div), Unit(div)
    found = []
    for check in CHECKS:
        if check.name in off:
            continue
        for layer in texts if check.notes else texts[:1]:
            for hit in check.scan(layer, unit, volume):
                found.append(_finding(check, layer, hit))
    return found


def _finding(check: Check, layer: Layer, hit: Hit) -> Finding:
    if hit.replacement is None:
        change = ""
    else:
        change = "note-edit" if layer.note_id else "text"
    where = f"In {layer.label}: " if layer.note_id else ""
    return Finding(check.name, change, where + hit.detail, replacement=hit.replacement or "",
                   note_id=layer.note_id, **selector(layer.text, hit.start, hit.end))


# The checks register themselves on import.
from . import text as _text  # noqa: E402, F401
