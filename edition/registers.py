"""The volume's registers — its List of Persons and List of Abbreviations (the `persons` and
`terms` units of the front matter; in older imports, the divs of `Edition.tei_skeleton`) — as
entries a picker can search, so that an editor marking up a name never types its id, and a
reader's popup can show."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from lxml import etree

from .models import Document, Edition, Revision
from .tei import XML_ID, tei
from .tei.parsing import safe_parser

# Register → (the div's xml:id, the element carrying each entry's id, the attribute that
# points to it from the text). The ids are models.REGISTER_UNITS: a new revision of either
# touches the edition (every page embeds their entries).
REGISTERS = {"persons": ("persons", "persName", "corresp"),
             "terms": ("terms", "term", "corresp")}
# Register → the (element, attribute) pairs of the text that mention its entries; the HTML
# renderer links the same ones (edition/tei/render.py MENTIONS).
MENTIONS = {"persons": (("persName", "corresp"),),
            "terms": (("gloss", "target"), ("term", "corresp"))}


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
    """Every entry of `register` ("persons" or "terms"); () when the volume has none. Read
    from the current revision of the unit of that id, else from the skeleton."""
    return _entries(edition, register, _units(edition, [register]))


def _units(edition: Edition, registers: list[str]) -> dict[str, tuple[int, str]]:
    """The current revision (id, checksum) of these registers' units, in one query."""
    by_unit = {REGISTERS[register][0]: register for register in registers}
    rows = (Document.objects.filter(edition=edition, xml_id__in=list(by_unit))
            .exclude(current_revision=None).order_by()  # into a dict: no sort, no join for it
            .values_list("xml_id", "current_revision_id", "current_revision__checksum"))
    return {by_unit[xml_id]: (revision_id, checksum) for xml_id, revision_id, checksum in rows}


def _entries(edition: Edition, register: str,
             units: dict[str, tuple[int, str]]) -> tuple[Entry, ...]:
    unit = units.get(register)
    if unit is not None:
        return _unit_entries(edition.pk, *unit, register)
    return _skeleton_entries(edition.pk, edition.updated_at, register)


def mentioned(edition: Edition, div: etree._Element) -> list[Entry]:
    """The entries that `div` mentions (`persName corresp`, `gloss target`, `term corresp`),
    persons first, each register in its own order. The units of the registers it mentions
    are read in one query (every page render asks)."""
    wanted = {}
    for register, pairs in MENTIONS.items():
        ids = {target[1:] for mention, attribute in pairs for el in div.iter(tei(mention))
               for target in (el.get(attribute) or "").split() if target.startswith("#")}
        if ids:
            wanted[register] = ids
    if not wanted:
        return []
    units = _units(edition, list(wanted))
    return [e for register, ids in wanted.items()
            for e in _entries(edition, register, units) if e.id in ids]


@lru_cache(maxsize=32)
def _unit_entries(pk, revision_id, checksum, register: str) -> tuple[Entry, ...]:
    # The checksum too: a database rebuilt (tests) may give the same pk to other TEI.
    tei_xml = Revision.objects.values_list("tei", flat=True).get(pk=revision_id)
    return _read(etree.fromstring(tei_xml.encode("utf-8"), parser=safe_parser()), register)


@lru_cache(maxsize=32)
def _skeleton_entries(pk: int, updated_at, register: str) -> tuple[Entry, ...]:
    # Keyed by the edition and its stamp: `edition` may come without its skeleton (a whole
    # volume's passes a megabyte), which is read only when the registers are not cached.
    skeleton = Edition.objects.filter(pk=pk).values_list("tei_skeleton", flat=True).first()
    if not skeleton:
        return ()
    return _read(etree.fromstring(skeleton.encode("utf-8"), parser=safe_parser()), register)


def _read(root: etree._Element, register: str) -> tuple[Entry, ...]:
    div_id, name, attribute = REGISTERS[register]
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
