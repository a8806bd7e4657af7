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
from . import sources
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
    moved = _moved(vol) if vol.left_out else {}
    by_id = _repointed(by_id, moved)
    skeleton = _with_sources(vol, record, moved)
    placed = {m["unit"] or m["content"] for m in PLACEHOLDER_RE.finditer(skeleton)}
    missing = "".join(by_id[p.xml_id] for p in vol.parts if p.xml_id not in placed)
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


def _moved(vol: Volume) -> dict[str, str]:
    """What a pointer at a unit the build left out, or at an id inside one, is turned into:
    the address of that unit's page on the site (plus the `#id` of an element inside it), as
    the other formats link to it."""
    moved: dict[str, str] = {}
    for part in vol.left_out:
        page = vol.doc_href(part.xml_id)  # not in the volume: its page on the site
        moved[part.xml_id] = page
        try:
            inside = part.revision.element.xpath("//@xml:id")
        except (etree.XMLSyntaxError, RecursionError, ValueError):
            inside = []  # its own id is what others point at most
        for xml_id in inside:
            moved.setdefault(str(xml_id), f"{page}#{xml_id}")
    return moved


def _repoint(element: etree._Element, moved: dict[str, str]) -> bool:
    """Every `#id` token of every attribute under `element` that `moved` names, replaced;
    whether any was."""
    changed = False
    for node in element.iter(etree.Element):
        for name, value in node.attrib.items():
            if "#" not in value:
                continue
            parts = value.split()
            repointed = [moved.get(p[1:], p) if p.startswith("#") else p for p in parts]
            if repointed != parts:
                node.set(name, " ".join(repointed))
                changed = True
    return changed


def _repointed(by_id: dict[str, str], moved: dict[str, str]) -> dict[str, str]:
    """The units' TEI with every pointer (`target="#d2"`, `corresp="#p1"`, any attribute's
    `#id` token) that `moved` names repointed (`_moved`); with the skeleton's own
    (`_with_sources`: a page image's `surface start="#pb…"`), the file holds no pointer to an
    id it does not hold. Only a build that leaves a unit out comes here; a unit that points at
    none of them is kept as stored."""
    if not moved:
        return by_id
    tokens = tuple(f"#{xml_id}" for xml_id in moved)
    result = {}
    for xml_id, unit_tei in by_id.items():
        if not any(token in unit_tei for token in tokens):  # most units: no parse
            result[xml_id] = unit_tei
            continue
        element = etree.fromstring(unit_tei.encode("utf-8"), parser=safe_parser())
        result[xml_id] = (etree.tostring(element, encoding="unicode")
                          if _repoint(element, moved) else unit_tei)
    return result


def _before_body_end(text: str, missing: str) -> str:
    """Units without a place in the skeleton go at the end of the body."""
    if missing and "</body>" in text:
        return text.replace("</body>", missing + "</body>", 1)
    return text


def _with_sources(vol: Volume, record: bool = True, moved: dict[str, str] | None = None) -> str:
    """The skeleton, its header naming the revisions the file is built from (the edition's
    header if the skeleton has none), without the XML declaration; its pointers at what the
    build left out repointed as the units' are (`moved`)."""
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
    if moved:
        _repoint(root, moved)
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


VERSION = 1  # bump when the output changes: stored pieces and files are then rebuilt
FORMAT = "tei"
# Where the header or the unit goes in a file made to be split around it (`_framed`).
_MARK = "emend-split"
_MARK_BYTES = f"<?{_MARK} ?>".encode()  # as lxml writes a PI without data


def standalone(part: Part) -> bytes:
    """The part's own file, `document_tei`, assembled: the unit as it is serialised in that
    file (`sources.fragment`, kept per revision: a build parses no stored revision for it)
    between the file's frame, which only the volume's header and the unit's id make."""
    unit = sources.fragment(FORMAT, VERSION, part, lambda: _stored_piece(part.revision))
    if unit == _AS_STORED:
        unit = _as_stored(part.revision.tei)
    before, after = _frame(part.document.edition.tei_header, part.document.edition.slug,
                           part.xml_id)
    return before + unit.encode("utf-8") + after


def document_tei(edition: Edition, revision: Revision) -> bytes:
    """A standalone TEI file: the volume's header and one document's revision in `text/body`."""
    return _framed(f"{edition.slug}-{revision.document.xml_id}",
                   copy.deepcopy(_header(edition.tei_header)),
                   # A copy of the tree the other formats parsed (`Revision.element`): copying
                   # a tree is cheaper than parsing it.
                   copy.deepcopy(revision.element))


def _framed(root_id: str, header: etree._Element, unit: etree._Element) -> bytes:
    root = etree.Element(tei("TEI"), nsmap={None: TEI_NS, "frus": FRUS_NS})
    root.set(XML_ID, root_id)
    root.append(header)
    body = etree.SubElement(etree.SubElement(root, tei("text")), tei("body"))
    body.append(unit)
    return etree.tostring(root, encoding="utf-8", xml_declaration=True, pretty_print=False)


# The stored piece when the unit's serialisation is its revision's TEI as stored but for the
# namespace declarations of its start tag (the root declares them): nearly always, as the
# import and approvals write it. A piece starts with "<", so this is never one.
_AS_STORED = "="
_ROOT_DECLARATIONS = (f' xmlns="{TEI_NS}"', f' xmlns:frus="{FRUS_NS}"')


def _as_stored(unit_tei: str) -> str:
    end = unit_tei.find(">")
    start_tag = unit_tei[:end]
    for declaration in _ROOT_DECLARATIONS:
        start_tag = start_tag.replace(declaration, "", 1)
    return start_tag + unit_tei[end:]


def _stored_piece(revision: Revision) -> str:
    """What the store keeps of the unit's piece: `_AS_STORED` when `_as_stored` makes it from
    the TEI every build loads anyway (checked here, where the tree is parsed), else itself."""
    piece = _unit_piece(revision.element)
    return _AS_STORED if piece == _as_stored(revision.tei) else piece


def _unit_piece(element: etree._Element) -> str:
    """The unit's bytes in `document_tei`'s file: the same file made with a mark for the
    header, cut after `<body>` and before `</body>`. The unit's serialisation depends on the
    namespaces in scope, which only the root declares, not on the header beside it."""
    data = _framed("x", etree.PI(_MARK), copy.deepcopy(element))
    start = data.index(_MARK_BYTES + b"<text><body>") + len(_MARK_BYTES) + len(b"<text><body>")
    end = data.rindex(b"</body></text></TEI>")
    return data[start:end].decode("utf-8")


def _frame(tei_header: str, slug: str, xml_id: str) -> tuple[bytes, bytes]:
    """`document_tei`'s file around the unit: the same file made with a mark for the unit.
    Made once per header and edition, the root's id put in after: an id of letters, digits,
    `.`, `-` and `_` is written as it is (anything else is made afresh, escaped by lxml)."""
    before, after = _edition_frame(tei_header, slug)
    if _PLAIN_ID.fullmatch(xml_id):
        return before.replace(_ID_MARK, f'"{slug}-{xml_id}"'.encode(), 1), after
    data = _framed(f"{slug}-{xml_id}", copy.deepcopy(_header(tei_header)), etree.PI(_MARK))
    before, _, after = data.rpartition(_MARK_BYTES)
    return before, after


_PLAIN_ID = re.compile(r"[A-Za-z0-9._-]+")
_ID_MARK = b'"emend-root-id"'


@lru_cache(maxsize=4)
def _edition_frame(tei_header: str, slug: str) -> tuple[bytes, bytes]:
    data = _framed("emend-root-id", copy.deepcopy(_header(tei_header)), etree.PI(_MARK))
    before, _, after = data.rpartition(_MARK_BYTES)
    # The root's start tag comes first, before anything of the header could hold the mark.
    assert before.index(_ID_MARK) < before.index(b">", before.index(b"<TEI"))
    return before, after


@lru_cache(maxsize=4)
def _header(tei_header: str) -> etree._Element:
    """The volume's header parsed once per build (every document's file holds a copy), not
    once per document; keyed by its text, so an edited header is parsed again."""
    return parse_fragment(tei_header)
