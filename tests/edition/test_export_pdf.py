"""PDF exports (edition/exporting/pdf.py), read back with poppler: pdftotext finds every
paragraph of every document, the page markers, the contents with right page numbers, the
running heads and the footnotes on their call's page; pdftohtml -xml gives the bookmarks."""

import os
import re
import shutil
import socket
import subprocess

import pytest
from lxml import etree

from edition.exporting import html as html_export
from edition.exporting import pdf
from edition.exporting.sources import load_volume
from edition.tei import local_name
from edition.tei.notes import SKIPPED, collect_footnotes

pytestmark = pytest.mark.django_db


def poppler(tool: str, *args: str) -> str:
    if not shutil.which(tool):
        if os.environ.get("EMEND_REQUIRE_SERVICES"):
            pytest.fail(f"EMEND_REQUIRE_SERVICES is set but {tool} is missing (poppler-utils)")
        pytest.skip(f"{tool} is not installed (apt-get install poppler-utils)")
    result = subprocess.run([tool, *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def pages_of(data: bytes, tmp_path) -> list[str]:
    """The text of each page, whitespace-normalised."""
    path = tmp_path / "out.pdf"
    path.write_bytes(data)
    text = poppler("pdftotext", "-enc", "UTF-8", str(path), "-")
    pages = [normalize(page) for page in text.split("\f")]
    if pages and not pages[-1]:
        pages.pop()  # pdftotext ends every page with a form feed
    assert int(re.search(r"Pages:\s+(\d+)", poppler("pdfinfo", str(path)))[1]) == len(pages)
    return pages


def normalize(text: str) -> str:
    return " ".join(text.replace("\u00ad", "").split())


def printed_text(element: etree._Element, labels: dict) -> str:
    """A TEI block's text as the PDF sets it in the body: a note is its call (the source note
    has none), a page break its "[Page N]" marker."""
    out = [element.text or ""]
    for child in element:
        name = local_name(child)
        if name == "note":
            out.append(labels.get(child, ""))
        elif name == "pb":
            out.append(f" [Page {child.get('n')}] ")
        elif name == "lb":
            out.append(" ")
        elif name and name not in SKIPPED:
            out.append(printed_text(child, labels))
        out.append(child.tail or "")
    return "".join(out)


def paragraphs(part) -> list[str]:
    div = part.revision.element
    labels = {fn.element: "" if fn.is_source else fn.label for fn in collect_footnotes(div)}
    found = []
    for p in div.iter("{*}p"):
        if not any(local_name(a) in ("note", *SKIPPED) for a in p.iterancestors()):
            found.append(normalize(printed_text(p, labels)))
    return [p for p in found if p]


def find_in_pieces(expected: str, text: str, start: int = 0, max_pieces: int = 3) -> int:
    """Where `expected` ends in `text`, found after `start` whole and in order, in at most
    `max_pieces` pieces: a paragraph split by a page break has the page's footnotes, folio
    and next running head between its pieces. Case-insensitive (small caps)."""
    expected, text = expected.casefold(), text.casefold()
    rest, pieces = expected, 0
    while rest:
        low, high = 0, len(rest)  # the longest prefix of `rest` found after `start`
        while low < high:
            middle = (low + high + 1) // 2
            if text.find(rest[:middle], start) >= 0:
                low = middle
            else:
                high = middle - 1
        assert low >= min(len(rest), 20), f"not in the PDF: {rest[:100]!r}\n(of {expected!r})"
        start = text.find(rest[:low], start) + low
        rest, pieces = rest[low:].lstrip(), pieces + 1
    assert pieces <= max_pieces, f"cut in {pieces} pieces: {expected!r}"
    return start


def test_volume(sample_volume, tmp_path):
    vol = load_volume(sample_volume)
    data = pdf.volume(vol)
    assert data.startswith(b"%PDF-")
    pages = pages_of(data, tmp_path)
    assert 5 <= len(pages) <= 12  # title, contents, three documents of one or two pages
    text = " ".join(pages)

    # Every paragraph of every unit, whole and in volume order (the compilation "Japan" is
    # a heading alone).
    position = 0
    assert [p.xml_id for p in vol.parts if paragraphs(p)] == ["d142", "d143", "d144"]
    for part in vol.parts:
        for paragraph in paragraphs(part):
            position = find_in_pieces(paragraph, text, position)
    assert "[Page 276]" in pages[2] and "[Page 279]" in text

    # Contents: every document with the page its heading is on; bookmarks to the same pages.
    title = sample_volume.title
    assert title in pages[0] and "Madeline Chi and Louis J. Smith" in pages[0]
    assert pages[1].split()[-1] == "2" and "Contents" in pages[1]
    outline = poppler("pdftohtml", "-xml", "-stdout", "-i", "-q", str(tmp_path / "out.pdf"))
    for part in vol.parts:
        heading = str(part.document)
        match = re.search(re.escape(heading) + r" [. ]+ (\d+)", pages[1])
        assert match, f"{heading} is not in the contents: {pages[1]}"
        page = int(match[1])
        assert heading in pages[page - 1] and heading not in " ".join(pages[2:page - 1])
        assert f'<item page="{page}">{heading}</item>' in outline
    assert '<item page="2">Contents</item>' in outline

    # Running heads (after the title page): the volume on left-hand (even) pages, the
    # document on right-hand ones; folios at the foot.
    short = sample_volume.short_title
    assert pages[0].startswith(sample_volume.series_title.upper())  # no head, no folio
    assert not pages[0].endswith(" 1")
    assert pages[1].startswith(short) and pages[3].startswith(short)
    assert pages[2].startswith("142. Memorandum of Conversation")
    assert pages[4].startswith("143. Memorandum of Conversation")
    assert pages[3].endswith(" 4")

    # Footnotes at the foot of their call's page, with their labels; the source note too.
    [page] = [p for p in pages if "from Seoul1 setting forth" in p]  # the call, in the text
    assert "1. Telegram 515 from Seoul, January 18" in page
    assert "Source: Department of State, Conference Files: Lot 64 D 559, CF 1584" in page
    assert text.count("Telegram 515 from Seoul") == 1
    assert "Notes" not in text  # no notes section is left at a document's end


def test_single_document(sample_volume, tmp_path, settings):
    d142 = sample_volume.documents.get(xml_id="d142")
    one = load_volume(sample_volume, documents=[d142])
    assert not one.whole
    data = pdf.document(one, one.parts[0])
    pages = pages_of(data, tmp_path)
    assert 1 <= len(pages) <= 3
    text = " ".join(pages)
    position = 0
    for paragraph in paragraphs(one.parts[0]):
        position = find_in_pieces(paragraph, text, position)
    assert sample_volume.title in pages[0] and "Contents" not in text
    assert "Outer Space and Other Scientific Cooperation" not in text  # d144 is not in it
    assert "1. Telegram 515 from Seoul" in text and "[Page 276]" in text
    if len(pages) > 1:
        assert pages[1].startswith(sample_volume.short_title)
    # Document 143 is not in this file: its reference links to the public site.
    links = poppler("pdftohtml", "-xml", "-stdout", "-i", "-q", str(tmp_path / "out.pdf"))
    assert f'href="{settings.EMEND_SITE_URL}/frus1958-60v18/d143/"' in links


def test_markup_stays_text_blocks_stay_in_notes_and_nothing_is_fetched(sample_volume, tmp_path,
                                                                       monkeypatch):
    d142 = sample_volume.documents.get(xml_id="d142")
    tei = d142.current_revision.tei
    assert ">Telegram 515 from Seoul" in tei and "294.9522/1–1860)" in tei
    # A note of several paragraphs with a list: blocks an HTML parser would end a <p> at.
    tei = tei.replace(">Telegram 515 from Seoul", "><p>First of the note.</p><p>Second:</p>"
                      "<list><item>an item</item></list><p>Telegram 515 from Seoul", 1)
    tei = tei.replace("294.9522/1–1860)", "294.9522/1–1860)</p>", 1)
    tei = tei.replace(
        "north Korea.",
        "north Korea &lt;script&gt;alert(1)&lt;/script&gt;<script>alert(2)</script> "
        '(<ref target="https://example.org/x.css">see</ref><graphic url="https://example.org/'
        'map.png"/> &lt;img src="https://example.org/y.png"&gt;&lt;link rel="stylesheet" '
        'href="https://example.org/z.css"&gt;).', 1)
    d142.add_revision(tei, by=None, summary="x")

    fetched, connected = [], []
    real_fetch = pdf.OfflineFetcher.fetch
    monkeypatch.setattr(pdf.OfflineFetcher, "fetch",
                        lambda self, url, headers=None: fetched.append(url) or
                        real_fetch(self, url, headers))
    monkeypatch.setattr(socket.socket, "connect", lambda *a: connected.append(a))
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: connected.append(a))
    vol = load_volume(sample_volume)
    pages = pages_of(pdf.volume(vol), tmp_path)
    assert connected == [] and all(url.startswith("data:") for url in fetched)

    text = " ".join(pages)
    assert "north Korea <script>alert(1)</script>alert(2) (see[Image] " in text
    assert '<img src="https://example.org/y.png"><link rel="stylesheet"' in text
    printed = pdf.print_html(vol.parts[1])  # d142
    assert "<script" not in printed and "<img" not in printed and "<link" not in printed
    [page] = [p for p in pages if "from Seoul1 setting forth" in p]
    assert ("1. First of the note. Second: • an item Telegram 515 from Seoul, January 18"
            in page)

    with pytest.raises(ValueError):
        pdf.OfflineFetcher().fetch("https://example.org/x.css")
    with pytest.raises(ValueError):
        pdf.OfflineFetcher().fetch("file:///etc/passwd")
    assert pdf.OfflineFetcher().fetch("data:text/plain,ok").read() == b"ok"


def test_fragments_are_cached_per_revision(sample_volume, monkeypatch):
    vol = load_volume(sample_volume)
    first = pdf.print_html(vol.parts[1])  # d142 (after the compilation's heading)
    pdf.volume(vol)
    rendered = []
    real = html_export.render_html  # print HTML starts from the HTML export's rendering
    monkeypatch.setattr(html_export, "render_html", lambda div, **kw: rendered.append(div) or
                        real(div, **kw))
    pdf.volume(vol)
    assert rendered == []  # every document's print HTML came from the cache

    d142 = sample_volume.documents.get(xml_id="d142")
    d142.add_revision(d142.current_revision.tei.replace("north Korea", "North Korea", 1),
                 by=None, summary="x")
    pdf.volume(load_volume(sample_volume))
    assert len(rendered) == 1  # only the changed document
    assert 'id="fn-d142fn1"' in first and 'class="footnote"' in first


# -- the volume laid out in pieces (pdfbook.py) ------------------------------------------------

def links_without_target(path) -> int:
    """Link annotations that lead nowhere (neither a destination nor an action), by PDFium."""
    import ctypes

    import pypdfium2
    import pypdfium2.raw as pdfium

    document, count = pypdfium2.PdfDocument(str(path)), 0
    for page in document:
        position, link = ctypes.c_int(0), pdfium.FPDF_LINK()
        while pdfium.FPDFLink_Enumerate(page.raw, ctypes.byref(position), ctypes.byref(link)):
            if not pdfium.FPDFLink_GetDest(document.raw, link) and not (
                    pdfium.FPDFLink_GetAction(link)):
                count += 1
    document.close()
    return count


@pytest.fixture(params=["sample", "front matter", "generated"])
def volume_for_pieces(request, tmp_path):
    """The sample (the contents first); the sample with its front matter (the contents after
    the Preface, where the printed one stood); a generated volume (a List of Persons of several
    pages, back matter)."""
    from tests.edition.test_export_volume_units import WITH_FRONT, generated_volume

    if request.param == "sample":
        return request.getfixturevalue("sample_volume")
    if request.param == "front matter":
        from edition.imports import import_tei

        return import_tei(WITH_FRONT).edition
    return generated_volume(tmp_path)


def test_volume_in_pieces_gives_the_pages_of_one_layout(volume_for_pieces, tmp_path,
                                                        monkeypatch):
    """Every unit its own piece: the same pages (text, page numbers, running heads, the
    contents' numbers), the same links to the same pages and the same bookmarks as the volume
    laid out at once; and the same pixels."""
    from edition.exporting import pdfbook

    monkeypatch.setattr(pdfbook, "PIECE_CHARS", 1)
    firsts = []
    lay_out = pdfbook._Book._lay_out

    def recording(self, body, first, head):
        firsts.append(first)
        return lay_out(self, body, first, head)

    monkeypatch.setattr(pdfbook._Book, "_lay_out", recording)
    unit = pdf._unit

    def with_a_dangling_link(vol, entry):  # both drop a link to an anchor no page has
        return unit(vol, entry) + f'<a href="#nowhere-{entry.part.xml_id}">nowhere</a>'

    monkeypatch.setattr(pdf, "_unit", with_a_dangling_link)
    vol = load_volume(volume_for_pieces)  # one `built_at` for both files
    files = {}
    for how, build in [("whole", pdf.volume_whole), ("pieces", pdf.volume)]:
        path = tmp_path / how / "volume.pdf"
        path.parent.mkdir()
        path.write_bytes(build(vol))
        files[how] = path
    # Several pieces, some starting on a left-hand (even) page.
    pieces = firsts[1:]  # the first is the contents' length, measured
    assert len(pieces) >= 4 and any(first % 2 == 0 for first in pieces)

    def read(path):
        text = poppler("pdftotext", "-layout", "-enc", "UTF-8", str(path), "-")
        # pdftohtml names the file in its links ("volume.html#5"): the same name in both.
        xml = poppler("pdftohtml", "-xml", "-stdout", "-i", "-q", str(path))
        poppler("pdftoppm", "-r", "30", "-png", str(path), str(path.parent / "page"))
        images = sorted(path.parent.glob("page-*.png"))
        return text, xml, [image.read_bytes() for image in images]

    whole, pieces_ = read(files["whole"]), read(files["pieces"])
    assert pieces_[0] == whole[0]
    assert pieces_[1] == whole[1]
    assert "<outline>" in whole[1] and '<a href="volume.html#' in whole[1]
    assert "nowhere" in whole[0]
    assert links_without_target(files["pieces"]) == links_without_target(files["whole"]) == 0
    assert len(pieces_[2]) == len(whole[2]) and pieces_[2] == whole[2]


def test_volume_in_pieces_lays_out_again_when_the_contents_is_not_the_length_measured(
        tmp_path, monkeypatch):
    """The contents' length numbers what follows it: measured with placeholder numbers, and
    should the real one come out another length, the volume is laid out again with it."""
    from edition.exporting import pdfbook
    from edition.imports import import_tei
    from tests.edition.test_export_volume_units import WITH_FRONT

    monkeypatch.setattr(pdfbook, "PIECE_CHARS", 1)
    contents = pdfbook._Book._contents
    measured = []

    def measuring(self, folios, head, first, *, paint):
        pages = contents(self, folios, head, first, paint=paint)
        if not paint:
            measured.append(pages)
            return pages + 1  # a wrong measure
        return pages

    monkeypatch.setattr(pdfbook._Book, "_contents", measuring)
    vol = load_volume(import_tei(WITH_FRONT).edition)
    pages = pages_of(pdf.volume(vol), tmp_path)
    assert len(measured) == 1  # the second layout took the length the first one found
    whole = pages_of(pdf.volume_whole(vol), tmp_path)
    assert pages == whole


def test_files_are_the_same_with_the_shared_font_configuration(sample_volume, monkeypatch):
    """`pdf.font_config` is made once per thread (WeasyPrint makes one per file): a document's
    file, built after others with it, is byte for byte the one a fresh configuration gives."""
    from weasyprint.text.fonts import FontConfiguration

    vol = load_volume(sample_volume)
    parts = {part.xml_id: part for part in vol.parts}
    pdf.volume_whole(vol)  # the shared configuration has laid out every unit
    warm = [pdf.document(vol, parts[xml_id]) for xml_id in ("d142", "d143")]
    assert pdf.font_config() is pdf.font_config()
    monkeypatch.setattr(pdf, "font_config", FontConfiguration)  # a fresh one per file
    assert [pdf.document(vol, parts[xml_id]) for xml_id in ("d142", "d143")] == warm
