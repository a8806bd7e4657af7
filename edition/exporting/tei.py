"""TEI exports: the volume (its skeleton with every document's current revision put back in
place) and a single document (the volume's header with that document in `text/body`).

FRUS ids and `frus:` attributes are kept as imported; without the `frus:` attributes the files
validate against TEI P5 `tei_all.rng` (tests/edition/test_exports.py).

The volume carries the skeleton's own `<facsimile>` as it is and, when scans were uploaded
(import_facsimile), one more `<facsimile>` after it with a `<surface start="#pg_…">` per
uploaded page: its display image's `<graphic>` (size, type) and the full-size one, at the
site's absolute addresses (`uploaded_facsimile`). `edition_fingerprint` sums those up, so a
build after an upload writes the volume again instead of re-using the previous file.
"""

from __future__ import annotations

import copy
import hashlib
import mimetypes
import re
from collections.abc import Iterator
from functools import lru_cache
from datetime import UTC
from urllib.parse import urljoin

from django.conf import settings
from lxml import etree

from .. import pages
from ..imports import CONTENT_PLACEHOLDER, PLACEHOLDER
from ..models import Edition, PageImage, Revision
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
        # Not when the volume is read back (split_units): its skeleton would keep the uploads'
        # surfaces as its own, and the next export would list them twice.
        facsimile = uploaded_facsimile(vol.edition)
        if facsimile is not None:
            _place_facsimile(root, header, facsimile)
    return etree.tostring(root, encoding="unicode")


def _uploaded(edition: Edition) -> list[PageImage]:
    found = [page for page in pages.pages(edition).filter(source=PageImage.Source.UPLOAD)
             if page.display or page.image]
    for page in found:
        page.edition = edition  # image_urls reads it: spare a query per page
    return found


def uploaded_facsimile(edition: Edition) -> etree._Element | None:
    """A `<facsimile>` with a surface per uploaded page, in page order (None: no uploads).
    A surface points at its `pb` by `start` when the `pb` has an xml:id, and names its page
    number by `n`; its first `<graphic>` is the display image (the size OCR boxes are in, as
    `pages.surfaces` reads it back), the second the scan as uploaded."""
    uploaded = _uploaded(edition)
    if not uploaded:
        return None
    facsimile = etree.Element(tei("facsimile"))
    for page in uploaded:
        surface = etree.SubElement(facsimile, tei("surface"))
        if page.pb_id:
            surface.set("start", f"#{page.pb_id}")
        if page.n:
            surface.set("n", page.n)
        urls = pages.image_urls(page)
        display = etree.SubElement(surface, tei("graphic"), url=_absolute(urls["display"]))
        media_type = page.mime_type or _media_type(urls["display"])
        if media_type:
            display.set("mimeType", media_type)
        if page.width and page.height:
            display.set("width", f"{page.width}px")
            display.set("height", f"{page.height}px")
        if urls["full"] and urls["full"] != urls["display"]:
            full = etree.SubElement(surface, tei("graphic"), url=_absolute(urls["full"]))
            if media_type := _media_type(urls["full"]):
                full.set("mimeType", media_type)
    return facsimile


def edition_fingerprint(edition: Edition) -> str:
    """What the volume file reads of the edition besides revisions and the skeleton: the
    uploaded pages' addresses and sizes (builds.py re-uses no file when it changes)."""
    rows = [(p.pb_id, p.n, str(p.image), str(p.display), p.width, p.height, p.mime_type)
            for p in _uploaded(edition)]
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def _absolute(url: str) -> str:
    return urljoin(settings.EMEND_SITE_URL + "/", url)


def _media_type(url: str) -> str:
    guessed, _ = mimetypes.guess_type(url.split("?")[0])
    return guessed if guessed and guessed.startswith("image/") else ""


def _place_facsimile(root: etree._Element, header: etree._Element,
                     facsimile: etree._Element) -> None:
    """After the skeleton's own `<facsimile>`s, else right after the header: TEI P5 puts
    facsimiles between `teiHeader` and `text`."""
    existing = root.findall(tei("facsimile"))
    anchor = existing[-1] if existing else header
    anchor.addnext(facsimile)
    facsimile.tail, anchor.tail = anchor.tail, "\n"


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
