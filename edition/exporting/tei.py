"""TEI exports: the volume (its skeleton with every document's current revision put back in
place) and a single document (the volume's header with that document in `text/body`).

FRUS ids and `frus:` attributes are kept as imported; without the `frus:` attributes the files
validate against TEI P5 `tei_all.rng` (tests/edition/test_exports.py).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from functools import lru_cache
from datetime import UTC

from lxml import etree

from ..imports import CONTENT_PLACEHOLDER, PLACEHOLDER
from ..models import Edition, Revision
from ..tei import FRUS_NS, TEI_NS, XML_ID, tei
from ..tei.parsing import parse_fragment, safe_parser
from .sources import Part, Volume

# A whole unit, or a container's shell start tag with its own content's mark (imports.py).
PLACEHOLDER_RE = re.compile(
    rf"<\?{PLACEHOLDER} (?P<unit>[^?\s]+)\s*\?>"
    rf"|<(?P<prefix>[\w.-]+:)?div><\?{CONTENT_PLACEHOLDER} (?P<content>[^?\s]+)\s*\?>")
_END_TAG = re.compile(r"</(?:[\w.-]+:)?div>\s*$")
XML_DECLARATION = b"<?xml version='1.0' encoding='UTF-8'?>\n"


def volume(vol: Volume, *, record: bool = True) -> bytes:
    """The whole volume, as one string of bytes (see `volume_chunks`). `record` names the
    revisions in the header (an export; not when the volume is read back, `split_units`)."""
    return b"".join(volume_chunks(vol, record=record))


def volume_chunks(vol: Volume, *, record: bool = True) -> Iterator[bytes]:
    """The whole volume, a unit at a time: the skeleton (its header naming the revisions) with
    each unit's TEI spliced in as stored, a string substitution. Every piece passes through a
    streaming parser as it goes out, so a volume that would not be well-formed raises before
    its last chunk, and memory holds the skeleton and one unit, never the volume's tree (tens
    of times the size of a 100 MB volume)."""
    by_id = {p.xml_id: p.revision.tei for p in vol.parts}
    skeleton = _with_sources(vol, record)
    placed = {m["unit"] or m["content"] for m in PLACEHOLDER_RE.finditer(skeleton)}
    missing = "".join(p.revision.tei for p in vol.parts if p.xml_id not in placed)
    checker = _WellFormed()
    position = 0

    def emit(text: str) -> bytes:
        data = text.encode("utf-8")
        checker.feed(data)
        return data

    yield emit(XML_DECLARATION.decode())
    for match in PLACEHOLDER_RE.finditer(skeleton):
        yield emit(_before_body_end(skeleton[position:match.start()], missing))
        if match["unit"]:
            yield emit(by_id.get(match["unit"], ""))  # a unit deleted since: its place is empty
        else:
            yield emit(_opened(by_id.get(match["content"]), match["prefix"] or ""))
        position = match.end()
    yield emit(_before_body_end(skeleton[position:], missing))
    checker.close()


def _before_body_end(text: str, missing: str) -> str:
    """Units without a place in the skeleton go at the end of the body."""
    if missing and "</body>" in text:
        return text.replace("</body>", missing + "</body>", 1)
    return text


def _with_sources(vol: Volume, record: bool = True) -> str:
    """The skeleton, its header naming the revisions the file is built from (the edition's
    header if the skeleton has none), without the XML declaration."""
    root = etree.fromstring(vol.edition.tei_skeleton.encode("utf-8"), parser=safe_parser())
    header = root.find(tei("teiHeader"))
    if header is None:
        header = parse_fragment(vol.edition.tei_header)
        root.insert(0, header)
    if record:
        _record_sources(header, vol)
    return etree.tostring(root, encoding="unicode")


class _WellFormed:
    """A streaming parse that keeps no more of the tree than the open elements: raises
    XMLSyntaxError as soon as the data fed is not well-formed XML."""

    def __init__(self) -> None:
        self.parser = etree.XMLPullParser(events=("end",), resolve_entities=False,
                                          no_network=True, load_dtd=False, huge_tree=False)

    def feed(self, data: bytes) -> None:
        self.parser.feed(data)
        self._drop()

    def close(self) -> None:
        self.parser.close()
        self._drop()

    def _drop(self) -> None:
        for _, element in self.parser.read_events():
            element.clear(keep_tail=False)
            while element.getprevious() is not None:
                del element.getparent()[0]


def _opened(unit_tei: str | None, prefix: str) -> str:
    """A container's revision as the start of its div: the closing tag is the shell's."""
    if unit_tei is None:
        return f"<{prefix}div>"
    if unit_tei.endswith("/>") and _END_TAG.search(unit_tei) is None:
        return unit_tei[:-2] + ">"
    return _END_TAG.sub("", unit_tei, count=1)


def _record_sources(header: etree._Element, vol: Volume) -> None:
    """Name the revisions the file was built from in the header's revisionDesc (its last
    child in TEI P5), so a copy cited offline still says which text it holds."""
    description = header.find(tei("revisionDesc"))
    if description is None:
        description = etree.SubElement(header, tei("revisionDesc"))
    change = etree.Element(tei("change"))
    change.set("when", vol.built_at.astimezone(UTC).isoformat(timespec="seconds"))
    change.text = f"Exported by Emend from the approved revisions: {vol.sources_line()}."
    description.insert(0, change)


def document(vol: Volume, part: Part) -> bytes:
    return standalone(part)


def standalone(part: Part) -> bytes:
    """The part's own file (all of it depends on its revision but the volume's header)."""
    return document_tei(part.document.edition, part.revision)


def document_tei(edition: Edition, revision: Revision) -> bytes:
    """A standalone TEI file: the volume's header and one document's revision in `text/body`."""
    root = etree.Element(tei("TEI"), nsmap={None: TEI_NS, "frus": FRUS_NS})
    root.set(XML_ID, f"{edition.slug}-{revision.document.xml_id}")
    root.append(copy.deepcopy(_header(edition.tei_header)))
    body = etree.SubElement(etree.SubElement(root, tei("text")), tei("body"))
    # A copy of the tree the other formats parsed (`Revision.element`): a build renders every
    # format of a document while it is parsed, and copying a tree is cheaper than parsing it.
    body.append(copy.deepcopy(revision.element))
    return etree.tostring(root, encoding="utf-8", xml_declaration=True, pretty_print=False)


@lru_cache(maxsize=4)
def _header(tei_header: str) -> etree._Element:
    """The volume's header parsed once per build (every document's file holds a copy), not
    once per document; keyed by its text, so an edited header is parsed again."""
    return parse_fragment(tei_header)
