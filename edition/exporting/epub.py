"""EPUB 3 exports: the volume (one XHTML chapter per unit) and a single unit.

The volume's spine is the title page (the volume's `<titlePage>` when it has one), then every
unit in volume order: front matter, chapters and their documents, back matter. The navigation
document stands in the spine where the printed contents stood (whose entries point at pages of
the printed book), or after the title page; its table of contents nests each chapter's units
under the chapter, and its landmarks name the front, body and back matter.

Chapters are the reading view's HTML (`render_html`) made into XHTML content documents, with
EPUB footnotes (`noteref` markers, `aside epub:type="footnote"` notes) and `pagebreak` markers.
The OCF zip is written here rather than with EbookLib: its zip entries carry the current time,
so identical sources would not give identical bytes, and the package needs little code.
Checked with epubcheck in tests/edition/test_export_epub.py.
"""

from __future__ import annotations

import html
import io
import itertools
import json
import re
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from datetime import timezone
from urllib.parse import quote

import lxml.html
from lxml import etree

from ..tei.parsing import safe_parser
from . import html as html_export
from .sources import Entry, Part, Volume, fragment, nested_list
from .titlepage import title_page, to_html

VERSION = 1  # bump when the chapter XHTML changes: cached chapters are keyed by it
XHTML_NS = "http://www.w3.org/1999/xhtml"
EPUB_TYPE = "{http://www.idpf.org/2007/ops}type"
NS = {"x": XHTML_NS}
# Links to other documents leave the renderer as "emend-doc:d143#fn-d143fn1" and are resolved
# when the book is assembled, so a cached chapter is right whichever documents the book holds.
# Text cannot contain "<", so only real <a> tags match.
DOC_LINK = "emend-doc:"
DOC_LINK_RE = re.compile(r'(<a\s[^>]*?href=")emend-doc:([^"#]+)(#[^"]*)?"')
W3CDTF = re.compile(r"\d{4}(-\d\d(-\d\d)?)?")
# Compiled once, not at every chapter.
_NOTE_MARKERS = etree.XPath(".//x:sup[contains(@class, 'fnref')]/x:a", namespaces=NS)
_NOTES_SECTIONS = etree.XPath(".//x:section[@class='footnotes']", namespaces=NS)
_PAGE_MARKERS = etree.XPath(".//x:*[@class='pb']", namespaces=NS)

CSS = """body { font-family: serif; line-height: 1.45; margin: 0 4%; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; }
.list-head { font-variant: small-caps; }
ul.plain { list-style: none; padding-left: 0; }
.dateline, .opener { font-style: italic; }
.pb { color: #777; font-size: 0.8em; }
sup.fnref a { text-decoration: none; }
section.footnotes { border-top: 1px solid #999; margin-top: 2em; font-size: 0.9em; }
aside.footnote { margin: 0.6em 0; }
"""
CONTAINER = """<?xml version="1.0" encoding="UTF-8"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
<rootfiles><rootfile full-path="EPUB/package.opf" media-type="application/oebps-package+xml"/>
</rootfiles></container>
"""
XHTML_HEAD = """<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" \
lang="en" xml:lang="en">
<head><title>{title}</title><link rel="stylesheet" type="text/css" href="style.css"/></head>
"""


def volume(vol: Volume) -> bytes:
    return _book(vol, title=vol.edition.title, uid=f"urn:emend:{vol.edition.slug}")


def volume_chunks(vol: Volume) -> Iterator[bytes]:
    """The volume's book zipped into a temporary file, then read back a MiB at a time."""
    with tempfile.TemporaryFile() as out:
        _book(vol, title=vol.edition.title, uid=f"urn:emend:{vol.edition.slug}",
              out=out)
        out.seek(0)
        yield from iter(lambda: out.read(1 << 20), b"")


def document(vol: Volume, part: Part) -> bytes:
    if vol.whole:  # links to the volume's other documents must leave this book for the site
        vol = Volume(vol.edition, [part], built_at=vol.built_at, whole=False)
    elif vol.parts != [part]:
        vol = Volume(vol.edition, [part], built_at=vol.built_at, whole=False)
    title = f"{part.document} — {vol.edition.title}"
    return _book(vol, title=title, uid=f"urn:emend:{vol.edition.slug}:{part.xml_id}",
                 part=part)


def chapter_file(xml_id: str) -> str:
    return f"{xml_id}.xhtml"


def chapter(part: Part) -> dict:
    """{"xhtml": the content document, "pages": [[id, n]…], "ids": every id in it}."""
    def build() -> str:
        # The HTML export's rendering of the revision, its document links made ours.
        rendered = html_export.with_doc_links(html_export.tokened(part), DOC_LINK)
        return json.dumps(_xhtml(rendered, str(part.document)))

    return json.loads(fragment("epub", VERSION, part, build))


def _xhtml(fragment_html: str, title: str) -> dict:
    """The renderer's HTML fragment as an XHTML content document. Its text and attributes are
    already escaped, so parsing it as HTML and serialising it as XML keeps every word as text."""
    html_article = lxml.html.fragment_fromstring(fragment_html)
    body = etree.tostring(html_article, encoding="unicode", method="xml", with_tail=False)
    head = XHTML_HEAD.format(title=html.escape(title))
    root = etree.fromstring(f"{head}<body>\n{body}\n</body>\n</html>\n".encode(),
                           parser=safe_parser())
    article = root[1][0]
    for marker in _NOTE_MARKERS(article):
        marker.set(EPUB_TYPE, "noteref")
    for section in _NOTES_SECTIONS(article):
        section.set(EPUB_TYPE, "footnotes")
        for ol in section.findall(f"{{{XHTML_NS}}}ol"):
            # Each <li id="fn-…"> becomes an <aside>: reading systems show those as pop-ups.
            at = section.index(ol)
            for offset, item in enumerate(list(ol)):
                item.tag = f"{{{XHTML_NS}}}aside"
                item.set(EPUB_TYPE, "footnote")
                section.insert(at + offset, item)
            section.remove(ol)
    pages = []
    for pb in _PAGE_MARKERS(article):
        # A page marker need not link to itself in a book: a span with its label as title.
        n = (pb.get("aria-label") or "").removeprefix("Page ").strip()
        pb.tag = f"{{{XHTML_NS}}}span"
        for name in ("href", "aria-label"):
            pb.attrib.pop(name, None)
        pb.set(EPUB_TYPE, "pagebreak")
        if n and pb.get("id"):
            pb.set("title", n)
            pages.append([pb.get("id"), n])
    xhtml = head.split("<html", 1)[0] + etree.tostring(root, encoding="unicode")
    ids = [el.get("id") for el in article.iter(tag=etree.Element) if el.get("id")]
    return {"xhtml": xhtml, "pages": pages, "ids": ids}


def _resolve_links(xhtml: str, vol: Volume, ids: dict[str, set[str]]) -> str:
    """Links to documents of the book go to their chapter file, others to the public site."""
    def link(match: re.Match) -> str:
        xml_id, frag = match[2], match[3] or ""
        if xml_id in ids:
            if html.unescape(frag[1:]) not in ids[xml_id]:
                frag = ""  # a note that is not there (any more): the document itself
            return f'{match[1]}{quote(chapter_file(xml_id))}{frag}"'
        return f'{match[1]}{html.escape(vol.doc_href(xml_id))}{frag}"'

    return DOC_LINK_RE.sub(link, xhtml)


def _book(vol: Volume, *, title: str, uid: str, part: Part | None = None,
          out=None) -> bytes | None:
    edition, esc = vol.edition, html.escape
    # The navigation document stands where the printed contents stood (the volume only: a
    # single unit's book is that unit, whatever it is), or after the title page.
    reading = vol.reading if part is None else [None, *vol.outline]
    entries = [e for e in reading if e is not None]
    parts = [e.part for e in entries]
    chapters, ids = _pages_and_targets(parts)
    modified = vol.built_at.astimezone(timezone.utc)

    def entry(e: Entry) -> str:
        return f'<a href="{quote(chapter_file(e.part.xml_id))}">{esc(e.part.heading)}</a>'

    # A nav list may not be empty: a book of no units lists its title page.
    toc = (nested_list(entries, entry)
           or '<ol><li><a href="title.xhtml">Title page</a></li></ol>')
    page_items = "\n".join(
        f'<li><a href="{quote(chapter_file(p.xml_id))}#{esc(pid)}">{esc(n)}</a></li>'
        for p in parts for pid, n in chapters[p.xml_id]["pages"])
    page_list = (f'<nav epub:type="page-list" id="page-list" hidden="hidden"><h2>Pages</h2>'
                 f'<ol>\n{page_items}\n</ol></nav>\n' if page_items else "")
    landmarks = "".join(
        f'<li><a epub:type="{kind}" href="{href}">{label}</a></li>\n'
        for kind, href, label in _landmarks(parts))
    nav = XHTML_HEAD.format(title="Contents") + (
        f'<body>\n<nav epub:type="toc" id="toc"><h1>Contents</h1>\n{toc}\n</nav>\n'
        f'{page_list}<nav epub:type="landmarks" id="landmarks" hidden="hidden"><h2>Landmarks</h2>'
        f'<ol>\n{landmarks}</ol></nav>\n'
        f'</body>\n</html>\n')

    source = vol.site_url(part)
    title_page = XHTML_HEAD.format(title=esc(title)) + (
        '<body>\n<section epub:type="titlepage" class="titlepage">\n'
        + (f"<p>{esc(part.label)} of</p>\n" if part else "")
        + _title_lines(vol)
        + f'<p>From Emend, <a href="{esc(source)}">{esc(source)}</a>, '
        f'as of {modified:%Y-%m-%d %H:%M} UTC.</p>\n'
        f"<p>Built from {esc(Volume(vol.edition, parts).sources_line())}.</p>\n</section>\n</body>\n</html>\n")

    creators = "".join(
        f'<dc:creator id="editor{i}">{esc(name)}</dc:creator>\n<meta refines="#editor{i}" '
        f'property="role" scheme="marc:relators">edt</meta>\n'
        for i, name in enumerate(edition.editors, 1))
    optional = "".join(
        f"<dc:{tag}>{esc(value)}</dc:{tag}>\n" for tag, value in [
            ("publisher", edition.publisher), ("source", source),
            ("date", edition.pub_date if W3CDTF.fullmatch(edition.pub_date) else "")]
        if value)
    manifest = "".join(
        f'<item id="doc-{esc(p.xml_id)}" href="{quote(chapter_file(p.xml_id))}" '
        f'media-type="application/xhtml+xml"/>\n' for p in parts)
    spine = "".join(f'<itemref idref="{esc(f"doc-{e.part.xml_id}" if e else "nav")}"/>\n'
                    for e in reading)
    opf = (
        '<?xml version="1.0" encoding="utf-8"?>\n<package xmlns="http://www.idpf.org/2007/opf" '
        'version="3.0" unique-identifier="uid" xml:lang="en">\n'
        '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/">\n'
        f'<dc:identifier id="uid">{esc(uid)}</dc:identifier>\n<dc:title>{esc(title)}</dc:title>\n'
        f"<dc:language>en</dc:language>\n{creators}{optional}"
        f'<meta property="dcterms:modified">{modified:%Y-%m-%dT%H:%M:%SZ}</meta>\n</metadata>\n'
        '<manifest>\n<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" '
        'properties="nav"/>\n<item id="title" href="title.xhtml" '
        'media-type="application/xhtml+xml"/>\n<item id="css" href="style.css" '
        f'media-type="text/css"/>\n{manifest}</manifest>\n'
        f'<spine>\n<itemref idref="title"/>\n{spine}</spine>\n</package>\n')

    files = [("mimetype", "application/epub+zip"), ("META-INF/container.xml", CONTAINER),
             ("EPUB/package.opf", opf), ("EPUB/nav.xhtml", nav),
             ("EPUB/title.xhtml", title_page), ("EPUB/style.css", CSS)]
    chapter_files = ((f"EPUB/{chapter_file(p.xml_id)}",
                      _resolve_links(chapter(p)["xhtml"], vol, ids)) for p in parts)
    return _zip(itertools.chain(files, chapter_files), modified.timetuple()[:6], out)


def _pages_and_targets(parts: list[Part]) -> tuple[dict[str, dict], dict[str, frozenset]]:
    """Each chapter's pages, and of each chapter's ids only those a link of the book points
    at (every id of 50,000 chapters would be millions of strings held for a few links). Each
    chapter's XHTML is read (cached) here and again as it goes into the zip."""
    chapters, wanted = {}, {}
    for p in parts:
        ch = chapter(p)
        chapters[p.xml_id] = {"pages": ch["pages"]}
        for link in DOC_LINK_RE.finditer(ch["xhtml"]):
            wanted.setdefault(link[2], set()).add(html.unescape((link[3] or "#")[1:]))
    none: frozenset = frozenset()
    ids = dict.fromkeys(chapters, none)
    for p in parts:
        if p.xml_id in wanted:
            ids[p.xml_id] = frozenset(chapter(p)["ids"]) & wanted[p.xml_id]
    return chapters, ids


def _landmarks(parts: list[Part]) -> list[tuple[str, str, str]]:
    """(epub:type, href, label): the title page, the contents, and the first unit of the
    front, body and back matter that the book holds."""
    marks = [("titlepage", "title.xhtml", "Title page"), ("toc", "nav.xhtml#toc", "Contents")]
    firsts: dict[str, Part] = {}
    for p in parts:
        firsts.setdefault(p.document.matter, p)
    for matter, kind, label in [("front", "frontmatter", "Front matter"),
                                ("body", "bodymatter", "Documents"),
                                ("back", "backmatter", "Back matter")]:
        if matter in firsts:
            marks.append((kind, quote(chapter_file(firsts[matter].xml_id)), label))
    return marks


def _title_lines(vol: Volume) -> str:
    """The title page's lines: the volume's `<titlePage>` if it has one, else the header's
    title, editors and imprint."""
    edition, esc = vol.edition, html.escape
    blocks = title_page(edition)
    if blocks:
        return f"{to_html(blocks)}\n"
    editors = " and ".join(edition.editors)
    imprint = ", ".join(x for x in [edition.pub_place, edition.publisher, edition.pub_date] if x)
    return (f"<h1>{esc(edition.title)}</h1>\n"
            + (f"<p>Edited by {esc(editors)}</p>\n" if editors else "")
            + (f"<p>{esc(imprint)}</p>\n" if imprint else ""))


def _zip(files: Iterable[tuple[str, str]], stamp: tuple, out=None) -> bytes | None:
    """The OCF container: `mimetype` first and stored; every entry dated `stamp`, so the same
    sources built at the same time give the same bytes. Written to `out` if given."""
    buffer = out if out is not None else io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files:
            info = zipfile.ZipInfo(name, date_time=max(stamp, (1980, 1, 1, 0, 0, 0)))
            info.compress_type = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, text.encode("utf-8"))
    return None if out is not None else buffer.getvalue()
