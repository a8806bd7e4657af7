"""TEI exports: the volume (its skeleton with every document's current revision put back in
place) and a single document (the volume's header with that document in `text/body`).

FRUS ids and `frus:` attributes are kept as imported; without the `frus:` attributes the files
validate against TEI P5 `tei_all.rng` (tests/edition/test_exports.py).
"""

from __future__ import annotations

import re
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
    """The whole volume. Each document's TEI is spliced in as stored (a string substitution,
    so a 400-document volume costs one parse, for the well-formedness check at the end).
    `record` names the revisions in the header (an export; not when the volume is re-read)."""
    by_id = {p.xml_id: p.revision.tei for p in vol.parts}
    skeleton = vol.edition.tei_skeleton
    placed: set[str] = set()

    def put_back(match: re.Match) -> str:
        if match["unit"]:
            placed.add(match["unit"])
            return by_id.get(match["unit"], "")  # a document deleted since: its place is empty
        placed.add(match["content"])
        return _opened(by_id.get(match["content"]), match["prefix"] or "")

    xml = PLACEHOLDER_RE.sub(put_back, skeleton)
    missing = [p for p in vol.parts if p.xml_id not in placed]
    if missing:  # documents without a place in the skeleton go at the end of the body
        xml = xml.replace("</body>", "".join(p.revision.tei for p in missing) + "</body>", 1)
    root = etree.fromstring(xml.encode("utf-8"), parser=safe_parser())  # checks it all
    header = root.find(tei("teiHeader"))
    if header is None:
        header = parse_fragment(vol.edition.tei_header)
        root.insert(0, header)
    if record:
        _record_sources(header, vol)
    return XML_DECLARATION + etree.tostring(root, encoding="utf-8")


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
    root.append(parse_fragment(edition.tei_header))
    body = etree.SubElement(etree.SubElement(root, tei("text")), tei("body"))
    body.append(parse_fragment(revision.tei))
    return etree.tostring(root, encoding="utf-8", xml_declaration=True, pretty_print=False)
