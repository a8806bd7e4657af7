"""The volume PDF laid out in pieces and painted into one file, so that its memory is bounded
by the largest piece, not by the volume.

WeasyPrint keeps every page's box tree (about 0.8 MB a page) from layout until the file is
written: a 400-document volume (about 830 pages) took a worker past 1 GB. Here the units are
laid out a piece at a time (`PIECE_CHARS` of HTML, about 45 pages, always whole units), each
piece's pages are painted at once into one `pydyf.PDF` shared by all pieces, and the piece is
dropped before the next is laid out. What the whole layout gave, the pieces give as well:

- page numbers: a piece's first page is numbered where the last piece ended
  (`@page :first { counter-reset }`), and is a left-hand page when that number is even
  (`html { break-before: left }`), so the running heads alternate as in one layout;
- running heads: a piece starts by setting the strings the pieces before it left set;
- the contents, with page numbers: laid out last, once every unit's page is known, with the
  numbers written in (pdf.css `a[data-page]`) rather than `target-counter`; its pages go
  where it stands in the volume. Its length is measured first (with placeholder numbers of
  the same number of digits) to number what follows it; should the real contents come out
  longer or shorter, the volume is laid out again with that length;
- links: WeasyPrint writes internal links as named destinations, resolved by the file's
  name tree, so a link may point into any piece (one to an anchor no piece has is dropped,
  as WeasyPrint drops it);
- bookmarks: each page's bookmarks are kept (a few bytes) and the outline is made from all
  of them in page order, with WeasyPrint's own function, at the end;
- fonts: one `FontConfiguration` for every piece (`pdf.font_config`), and one `fonts` table
  for the file, so every piece's glyphs go into one subset of each font, as in one layout.

This drives WeasyPrint's PDF writer (`weasyprint.pdf`) page by page, as its `generate_pdf`
does, without the options the volume does not use (tags, PDF/A variants, attachments,
forms). tests/edition/test_export_pdf.py checks that the pages are those of one layout.
"""

from __future__ import annotations

import ctypes
import gc
import io
import logging
import re
from types import SimpleNamespace

import pydyf
from tinycss2.color5 import D50, D65
from weasyprint import CSS, DEFAULT_OPTIONS, HTML
from weasyprint import VERSION as WEASYPRINT_VERSION
from weasyprint.anchors import make_page_bookmark_tree
from weasyprint.matrix import Matrix
from weasyprint.pdf import _use_references
from weasyprint.pdf.anchors import add_annotations, add_links, add_outlines
from weasyprint.pdf.fonts import build_fonts_dictionary
from weasyprint.pdf.stream import Stream

from . import pdf
from .sources import Entry, Volume

log = logging.getLogger(__name__)

# HTML per piece: about 45 pages (4.5 KB of print HTML a page), 40 MB of boxes at a time.
PIECE_CHARS = 200_000
SCALE = 0.75  # 72 PDF points per inch / 96 CSS pixels per inch, as WeasyPrint's zoom 1
HEADING = re.compile(r'<h1\b[^>]*\sdata-running="([^"]*)"')
# The opening tag of a piece's first unit (an <article>, the title page's <section>, the
# contents' <nav>), its attributes' values quoted.
FIRST_TAG = re.compile(r'^\s*<(?:article|section|nav)\b(?:[^>"]|"[^"]*")*>')


def book(vol: Volume) -> bytes:
    reading = vol.reading
    at = reading.index(None)
    before = [e for e in reading[:at] if e is not None]
    after = [e for e in reading[at + 1:] if e is not None]
    contents_pages = None
    for _attempt in range(3):
        data, laid_out = _Book(vol).write(before, after, contents_pages)
        if data is not None:
            return data
        log.info("volume PDF of %s: the contents took %d pages, not %s; laying out again",
                 vol.edition.slug, laid_out, contents_pages)
        contents_pages = laid_out
    raise RuntimeError("the volume's contents does not settle on a number of pages")


def _pieces(vol: Volume, entries: list[Entry]):
    """The units' HTML in pieces of about PIECE_CHARS, cut only before a unit that starts a
    page (a chapter that is only a heading runs on into its first unit: never cut there)."""
    piece: list[str] = []
    size = 0
    for entry in entries:
        html = pdf._resolve_links(pdf._unit(vol, entry), vol)
        runs_on = entry.encloses and entry.part.is_heading_only
        entry.part.release()  # its HTML is cached; the tree is not needed again
        piece.append(html)
        size += len(html)
        if size >= PIECE_CHARS and not runs_on:
            yield piece
            piece, size = [], 0
    if piece:
        yield piece


class _Book:
    def __init__(self, vol: Volume) -> None:
        self.vol = vol
        self.title = vol.edition.title or vol.edition.slug
        self.running = pdf._running_title(vol)
        self.fetcher = pdf.OfflineFetcher(timeout=1)
        self.font_config = pdf.font_config()
        self.style = CSS(string=pdf.STYLE, url_fetcher=self.fetcher,
                         font_config=self.font_config)
        self.pdf = pydyf.PDF()
        color_space = pydyf.Dictionary({
            "lab-d50": pydyf.Array(("/Lab", pydyf.Dictionary({
                "WhitePoint": pydyf.Array(D50), "Range": pydyf.Array((-125, 125, -125, 125))}))),
            "lab-d65": pydyf.Array(("/Lab", pydyf.Dictionary({
                "WhitePoint": pydyf.Array(D65), "Range": pydyf.Array((-125, 125, -125, 125))}))),
        })
        self.pdf.add_object(color_space)
        self.resources = pydyf.Dictionary({
            "ExtGState": pydyf.Dictionary(), "XObject": pydyf.Dictionary(),
            "Pattern": pydyf.Dictionary(), "Shading": pydyf.Dictionary(),
            "ColorSpace": color_space.reference})
        self.pdf.add_object(self.resources)
        self.fonts: dict = {}
        self.images: dict = {}
        self.annot_files: dict = {}
        self.names: list = []  # [anchor, destination], WeasyPrint's named destinations
        self.anchors: dict[str, int] = {}  # anchor → page number, the first one of a name
        self.links: list = []  # (page dictionary, annotation, anchor): internal links
        self.marks: list = []  # per page in layout order: its bookmarks and height
        self.head = ""  # the last document heading laid out (the running head it leaves)
        self.metadata = None
        self.painted = 0  # pages painted so far

    def write(self, before: list[Entry], after: list[Entry],
              contents_pages: int | None) -> tuple[bytes | None, int]:
        """The file, or None and the number of pages the contents took if it was not
        `contents_pages` (then what follows it is numbered wrong)."""
        pieces = pdf._title_page(self.vol)
        for piece in _pieces(self.vol, before):
            self._piece(pieces + "\n" + "\n".join(piece) if pieces else "\n".join(piece))
            pieces = ""
        if pieces:
            self._piece(pieces)  # the title page alone: no unit before the contents
        start, head = self.painted, self.head
        digits = len(str(start + 2 * len(after) + 10))  # a guess: only its length matters
        if contents_pages is None:
            contents_pages = self._contents(lambda _: "0" * digits, head, start + 1,
                                            paint=False)
        self.painted += contents_pages  # reserved: the pieces after it number from there
        for piece in _pieces(self.vol, after):
            self._piece("\n".join(piece))
        laid_out = self._contents(lambda xml_id: str(self.anchors.get(xml_id, "")), head,
                                  start + 1, paint=True)
        if laid_out != contents_pages:
            return None, laid_out
        # The contents' pages were painted last: they go where it stands in the volume.
        kids = self.pdf.pages["Kids"]
        body = len(self.marks) - laid_out - start
        order = [*range(start), *range(start + body, len(self.marks)),
                 *range(start, start + body)]
        self.pdf.pages["Kids"] = pydyf.Array(
            [item for index in order for item in kids[3 * index:3 * index + 3]])
        self.marks = [self.marks[index] for index in order]
        return self._finish(), laid_out

    def _contents(self, folios, head: str, first: int, *, paint: bool) -> int:
        html = pdf._contents(self.vol, folios)
        if not paint:
            document = self._lay_out(html, first, head)
            pages = len(document.pages)
            del document
            _return_memory()
            return pages
        painted = self.painted
        self.painted = first - 1  # its pages are numbered from `first`, painted last
        self._piece(html, head)
        pages = self.painted - (first - 1)
        self.painted = painted + pages
        return pages

    def _lay_out(self, body: str, first: int, head: str):
        # The running heads the pieces before it left set, set again at its start: by an
        # empty block inside its first unit, on its first page only (a box sets its strings
        # on every page it runs on, so not by <body>).
        carry = (f'<div class="piece-start" data-volume="{pdf._esc(self.running)}" '
                 f'data-head="{head}"></div>')
        body = FIRST_TAG.sub(lambda match: match[0] + carry, body, count=1)
        page = pdf._page(self.vol, self.title, body)
        # The first page numbered `first`, on the side that number falls on.
        numbering = f"@page :first {{ counter-reset: page {first}; }}"
        if first % 2 == 0:
            numbering += " html { break-before: left; }"
        return HTML(string=page, base_url="about:blank", url_fetcher=self.fetcher).render(
            stylesheets=[self.style, CSS(string=numbering)], font_config=self.font_config)

    def _piece(self, body: str, head: str | None = None) -> None:
        """Lay `body` out from the next page, paint its pages, and let its boxes go."""
        document = self._lay_out(body, self.painted + 1, self.head if head is None else head)
        if self.metadata is None:
            self.metadata = document.metadata
        for page in document.pages:
            self._paint(document, page)
            page._page_box = None  # painted: its boxes are not needed again
        del document
        headings = HEADING.findall(body)
        if headings:
            self.head = headings[-1]  # escaped already, as an attribute takes it
        _return_memory()

    def _paint(self, document, page) -> None:
        """One page, as weasyprint.pdf.generate_pdf paints it (without tags or forms)."""
        self.painted += 1
        number = self.painted
        doc = self.pdf
        matrix = Matrix(SCALE, 0, 0, -SCALE, 0, page.height * SCALE)
        width = SCALE * (page.width + page.bleed["left"] + page.bleed["right"])
        height = SCALE * (page.height + page.bleed["top"] + page.bleed["bottom"])
        left, top = -SCALE * page.bleed["left"], -SCALE * page.bleed["top"]
        right, bottom = left + width, top + height
        rectangle = (left / SCALE, top / SCALE, (right - left) / SCALE, (bottom - top) / SCALE)
        stream = Stream(self.fonts, rectangle, self.resources, self.images, None,
                        document.color_profiles, document.output_intent, compress=True)
        stream.transform(d=-1, f=page.height * SCALE)
        doc.add_object(stream)
        pdf_page = pydyf.Dictionary({
            "Type": "/Page", "Parent": doc.pages.reference,
            "MediaBox": pydyf.Array([left, top, right, bottom]),
            "Contents": stream.reference, "Resources": self.resources.reference})
        doc.add_page(pdf_page)
        anchors = []
        for name, (x, y, _, _) in page.anchors.items():
            if name not in self.anchors:
                self.anchors[name] = number
                anchors.append((name, x, y))
        # Every internal link is written: its anchor may be in a piece not laid out yet (the
        # ones no piece had are dropped at the end).
        add_links((page.links, anchors), matrix, doc, pdf_page, self.names, None)
        for link_type, target, _, box in page.links:
            if link_type == "internal":
                self.links.append((pdf_page, box.link_annotation, target))
        add_annotations(page.links, matrix, document, doc, pdf_page, self.annot_files, True)
        page.paint(stream, SCALE)
        # Its operators are final: kept compressed from now on, not as Python objects until
        # the file is written (a 400-document volume held some 100 MB of them).
        doc.objects[stream.number] = _Painted(stream)
        bleed = {key: value * 0.75 for key, value in page.bleed.items()}
        trim = [left + bleed["left"], top + bleed["top"], right - bleed["right"],
                bottom - bleed["bottom"]]
        pdf_page["TrimBox"] = pydyf.Array(trim)
        pdf_page["BleedBox"] = pydyf.Array([
            trim[0] - min(10, bleed["left"]), trim[1] - min(10, bleed["top"]),
            trim[2] + min(10, bleed["right"]), trim[3] + min(10, bleed["bottom"])])
        self.marks.append((page.bookmarks, page.height))

    def _finish(self) -> bytes:
        doc = self.pdf
        for pdf_page, annotation, target in self.links:
            if target not in self.anchors:
                log.error("No anchor #%s for internal URI reference", target)
                pdf_page["Annots"].remove(annotation.reference)
        # The outline, from every page's bookmarks in page order (Document.make_bookmark_tree).
        root: list = []
        skipped: list = []
        last_by_depth = [root]
        previous = 0
        for number, (bookmarks, height) in enumerate(self.marks):
            previous = make_page_bookmark_tree(
                SimpleNamespace(bookmarks=bookmarks), skipped, last_by_depth, previous,
                number, Matrix(a=SCALE, d=-SCALE, f=height * SCALE))
        add_outlines(doc, root)
        metadata = self.metadata
        doc.info["Producer"] = pydyf.String(f"WeasyPrint {WEASYPRINT_VERSION}")
        if metadata.title:
            doc.info["Title"] = pydyf.String(metadata.title)
        if metadata.authors:
            doc.info["Author"] = pydyf.String(", ".join(metadata.authors))
        if metadata.generator:
            doc.info["Creator"] = pydyf.String(metadata.generator)
        if metadata.lang:
            doc.catalog["Lang"] = pydyf.String(metadata.lang)
        options = dict(DEFAULT_OPTIONS)
        fonts = build_fonts_dictionary(doc, self.fonts, True, True, options)
        doc.add_object(fonts)
        self.resources["Font"] = fonts.reference
        _use_references(doc, self.resources, self.images, {})
        if self.names:
            names = pydyf.Array()
            for name, destination in sorted(self.names, key=lambda item: item[0]):
                names.append(pydyf.String(name))
                names.append(destination)
            doc.catalog["Names"] = pydyf.Dictionary(
                {"Dests": pydyf.Dictionary({"Names": names})})
        output = io.BytesIO()
        doc.write(output, None, None, True)
        return output.getvalue()


class _Painted(pydyf.Stream):
    """A page's content stream as it will be written, compressed once painted."""

    def __init__(self, stream: pydyf.Stream) -> None:
        super().__init__()
        self.number, self.generation = stream.number, stream.generation
        self._data = stream.data

    @property
    def data(self) -> bytes:
        return self._data


def _return_memory() -> None:
    """Free a piece's boxes (they hold reference cycles) and give the freed pages back to
    the system, so the next piece reuses them rather than the process growing."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the allocator keeps what it has
        pass
