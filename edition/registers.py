"""The volume's registers — its List of Persons and List of Abbreviations (the `persons` and
`terms` divs of the front matter, kept in `Edition.tei_skeleton`) — as entries a picker can
search, so that an editor marking up a name never types its id."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from lxml import etree

from .models import Edition
from .tei import XML_ID, tei
from .tei.parsing import safe_parser

# Register → (the div's xml:id, the element carrying each entry's id, the attribute that
# points to it from the text).
REGISTERS = {"persons": ("persons", "persName", "corresp"),
             "terms": ("terms", "term", "corresp")}


@dataclass(frozen=True)
class Entry:
    id: str  # the xml:id, e.g. "p_KN1"
    name: str  # "Kishi, Nobusuke"
    description: str  # the rest of the item: "Japanese Prime Minister, February 1957–July 1960"
    element: str  # the element marking a mention: persName, term
    attribute: str  # and the attribute pointing here: corresp="#p_KN1"

    def as_json(self) -> dict:
        return {"id": self.id, "name": self.name, "description": self.description,
                "element": self.element, "attributes": {self.attribute: f"#{self.id}"}}


def search(edition: Edition, register: str, query: str = "", *, limit: int = 50) -> list[Entry]:
    """Entries of `register` whose name (or id) contains `query`, accents and case ignored."""
    wanted = _fold(query.strip())
    found = [e for e in entries(edition, register)
             if not wanted or wanted in _fold(e.name) or wanted in _fold(e.id)]
    # Names that begin with the query first: "kish" finds Kishi before Takeshita-Kishimoto.
    found.sort(key=lambda e: not _fold(e.name).startswith(wanted))
    return found[:limit]


def entries(edition: Edition, register: str) -> tuple[Entry, ...]:
    """Every entry of `register` ("persons" or "terms"); () when the volume has none.

    Keyed by the edition and its stamp: `edition` may come without its skeleton (a whole
    volume's passes a megabyte), which is read only when the registers are not cached."""
    return _entries(edition.pk, edition.updated_at, register)


@lru_cache(maxsize=32)
def _entries(pk: int, updated_at, register: str) -> tuple[Entry, ...]:
    div_id, name, attribute = REGISTERS[register]
    skeleton = Edition.objects.filter(pk=pk).values_list("tei_skeleton", flat=True).first()
    if not skeleton:
        return ()
    root = etree.fromstring(skeleton.encode("utf-8"), parser=safe_parser())
    div = next((d for d in root.iter(tei("div")) if d.get(XML_ID) == div_id), None)
    if div is None:
        return ()
    found = []
    for element in div.iter(tei(name)):
        xml_id = element.get(XML_ID)
        if not xml_id:
            continue
        item = next(element.iterancestors(tei("item")), None)
        label = _squash("".join(element.itertext()))
        rest = _squash("".join(item.itertext())) if item is not None else label
        description = rest[len(label):].lstrip(" ,") if rest.startswith(label) else rest
        found.append(Entry(xml_id, label, description, name, attribute))
    return tuple(found)


def _squash(text: str) -> str:
    return " ".join(text.split())


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))
