"""Exports carry the whole volume: the title page (the volume's own `<titlePage>`), the front
matter, the chapters with their documents and the back matter, in volume order, in the PDF,
EPUB, HTML, plain text and JSON; the EPUB's navigation and the PDF's bookmarks name every unit
by its title and nest a chapter's units under it; each unit has its own files."""

from __future__ import annotations

import io
import json
import re
import zipfile

import lxml.html
import pytest
from django.urls import reverse
from lxml import etree

from edition.exporting import annotations, builds, epub, html, pdf, text
from edition.exporting.sources import Entry, load_volume, nested_list
from edition.imports import import_tei
from tests.edition.test_export_epub import NS, epubcheck, spine_files, unzip, xml
from tests.edition.test_export_pdf import pages_of, poppler
from tests.helpers import SAMPLES, document_tei, volume_tei

pytestmark = pytest.mark.django_db

WITH_FRONT = SAMPLES / "frus1958-60v18-with-front-matter.xml"
FRONT_UNITS = ["preface", "sources", "terms", "persons"]  # and the printed contents, "toc"
PREFACE_TEXT = "official documentary historical record"
D142_TEXT = "expressed appreciation"
PERSONS = 300


@pytest.fixture
def front_matter():
    """The sample with its title page, Preface, Contents, Sources, Abbreviations, Persons, and
    the compilation "Japan" holding d142 and d144."""
    return import_tei(WITH_FRONT).edition


def generated_volume(tmp_path):
    """A volume with front matter (a table in its sources, hundreds of persons), a chapter of
    two documents, and back matter: an appendix holding an item."""
    persons = "".join(f'<item><persName xml:id="p{i}">Person {i:03d}</persName>, an official'
                      "</item>" for i in range(1, PERSONS + 1))
    front = (
        '<titlePage><docTitle><titlePart type="volumetitle">A Generated Volume</titlePart>'
        "</docTitle><byline>Editor: <name>An Editor</name></byline></titlePage>"
        '<div type="section" xml:id="sources" subtype="sources"><head>Sources</head>'
        "<table><row><cell>Lot 64 D 559</cell><cell>Conference files</cell></row>"
        "<row><cell>Lot 66 D 204</cell><cell>Memoranda of conversation</cell></row></table>"
        "</div>"
        '<div type="section" xml:id="persons" subtype="index"><head>List of Persons</head>'
        f'<list type="names">{persons}</list></div>')
    body = ('<div type="chapter" xml:id="ch1"><head>Politics</head>'
            f"{document_tei(1)}{document_tei(2)}</div>")
    back = ('<div type="section" xml:id="appendix-a"><head>Appendix A</head>'
            '<div type="section" subtype="historical-document" xml:id="app-a-1">'
            "<head>A pamphlet</head><p>Read this appendix.</p></div></div>")
    path = tmp_path / "generated.xml"
    path.write_text(volume_tei(body, front=front, back=back), encoding="utf-8")
    return import_tei(path).edition


def outline_of(path) -> list[tuple[int, str]]:
    """The PDF's bookmarks as (level, title), from poppler's XML; their pages in order."""
    root = etree.fromstring(poppler("pdftohtml", "-xml", "-stdout", "-i", "-q",
                                    str(path)).encode())
    found = []

    def walk(outline, level):
        for child in outline:
            if child.tag == "item":
                found.append((level, child.text))
            elif child.tag == "outline":
                walk(child, level + 1)

    for outline in root.iterfind("outline"):
        walk(outline, 1)
    pages = [int(item.get("page")) for item in root.iter("item")]
    assert pages == sorted(pages)
    return found


def in_order(haystack: str, *needles: str) -> None:
    """Each needle is found after the one before it."""
    position = 0
    for needle in needles:
        found = haystack.find(needle, position)
        assert found >= 0, f"{needle!r} is not after {haystack[max(0, position - 80):position]!r}"
        position = found + len(needle)


# -- PDF --------------------------------------------------------------------------------------

def test_pdf_title_page_front_matter_chapter_documents_and_bookmarks(front_matter, tmp_path):
    pages = pages_of(pdf.volume(load_volume(front_matter)), tmp_path)
    # The volume's own title page, from its <titlePage>.
    assert pages[0].startswith("FOREIGN RELATIONS OF THE UNITED STATES 1958–1960")
    assert "Japan; Korea" in pages[0] and "General Editor: Glenn W. LaFantasie" in pages[0]
    assert "ISBN 0-16-041748-1" in pages[0]
    text_ = " ".join(pages)
    # Front matter (after the Preface, the contents: its entries are the headings again),
    # then the chapter's heading and its documents.
    in_order(text_, PREFACE_TEXT, "Contents Preface", "List of Persons", "Japan",
             "List of Sources", "Indexed Central Files", "List of Abbreviations",
             "Armistice Agreement", "List of Persons", "Yun, Po Sun", "Japan",
             "142. Memorandum of Conversation", D142_TEXT, "144. Memorandum of Conversation")
    # The files' contents (with page numbers) stands where the printed one stood.
    [contents] = [p for p in pages if "Contents Preface" in p]
    assert re.search(r"List of Persons [. ]+ \d+", contents)
    assert "William Z. Slany" not in contents  # a page of its own, not the Preface's last
    assert "U.S. Policy Toward Japan" not in text_  # the printed contents' entries
    assert "Document None" not in text_
    assert outline_of(tmp_path / "out.pdf") == [
        (1, "Preface"), (1, "Contents"), (1, "List of Sources"), (1, "List of Abbreviations"),
        (1, "List of Persons"), (1, "Japan"), (2, "142. Memorandum of Conversation"),
        (2, "144. Memorandum of Conversation")]


def test_pdf_back_matter_after_the_documents(tmp_path):
    edition = generated_volume(tmp_path)
    pages = pages_of(pdf.volume(load_volume(edition)), tmp_path)
    assert "A Generated Volume" in pages[0] and "Editor: An Editor" in pages[0]
    text_ = " ".join(pages)
    in_order(text_, "Contents", "A pamphlet", "Lot 64 D 559 Conference files", "Person 001",
             f"Person {PERSONS}", "Politics", "Text 1.", "Text 2.", "Appendix A",
             "Read this appendix.")
    assert outline_of(tmp_path / "out.pdf") == [
        (1, "Contents"), (1, "Sources"), (1, "List of Persons"), (1, "Politics"),
        (2, "1. Telegram"), (2, "2. Telegram"), (1, "Appendix A"), (2, "A pamphlet")]


# -- EPUB -------------------------------------------------------------------------------------

def test_epub_spine_nav_and_title_page(front_matter, tmp_path):
    data = epub.volume(load_volume(front_matter))
    files = unzip(data)
    # The navigation document stands where the printed contents stood.
    assert spine_files(files) == [
        "title.xhtml", "preface.xhtml", "nav.xhtml", "sources.xhtml", "terms.xhtml",
        "persons.xhtml", "comp1.xhtml", "d142.xhtml", "d144.xhtml"]
    nav = xml(files, "EPUB/nav.xhtml")
    [toc] = nav.xpath("//x:nav[@epub:type='toc']/x:ol", namespaces=NS)
    top = [(li.find("x:a", NS).get("href"), li.find("x:a", NS).text)
           for li in toc.iterfind("x:li", NS)]
    assert top == [("preface.xhtml", "Preface"), ("sources.xhtml", "List of Sources"),
                   ("terms.xhtml", "List of Abbreviations"),
                   ("persons.xhtml", "List of Persons"), ("comp1.xhtml", "Japan")]
    nested = toc.xpath("x:li[last()]/x:ol/x:li/x:a/text()", namespaces=NS)
    assert nested == ["142. Memorandum of Conversation", "144. Memorandum of Conversation"]
    landmarks = {a.get(f"{{{NS['epub']}}}type"): a.get("href")
                 for a in nav.xpath("//x:nav[@epub:type='landmarks']//x:a", namespaces=NS)}
    assert landmarks["frontmatter"] == "preface.xhtml"
    assert landmarks["bodymatter"] == "comp1.xhtml"
    title = "".join(xml(files, "EPUB/title.xhtml").itertext())
    assert "General Editor: Glenn W. LaFantasie" in title and "Japan; Korea" in title
    assert b"Document None" not in b"".join(files.values())
    assert "Yun, Po Sun" in "".join(xml(files, "EPUB/persons.xhtml").itertext())

    (tmp_path / "volume.epub").write_bytes(data)
    one = load_volume(front_matter, documents=[front_matter.documents.get(xml_id="persons")])
    (tmp_path / "persons.epub").write_bytes(epub.document(one, one.parts[0]))
    back = generated_volume(tmp_path)
    (tmp_path / "back.epub").write_bytes(epub.volume(load_volume(back)))
    epubcheck(tmp_path / "volume.epub", tmp_path / "persons.epub", tmp_path / "back.epub")


def test_epub_back_matter_after_the_documents(tmp_path):
    files = unzip(epub.volume(load_volume(generated_volume(tmp_path))))
    assert spine_files(files) == [
        "title.xhtml", "nav.xhtml", "sources.xhtml", "persons.xhtml", "ch1.xhtml", "d1.xhtml",
        "d2.xhtml", "appendix-a.xhtml", "app-a-1.xhtml"]
    nav = xml(files, "EPUB/nav.xhtml")
    assert nav.xpath("//x:nav[@epub:type='landmarks']//x:a[@epub:type='backmatter']/@href",
                     namespaces=NS) == ["appendix-a.xhtml"]
    assert nav.xpath("//x:nav[@epub:type='toc']/x:ol/x:li[last()]/x:ol/x:li/x:a/text()",
                     namespaces=NS) == ["A pamphlet"]


# -- HTML, plain text, JSON -------------------------------------------------------------------

def test_html_holds_every_unit_in_order_with_nested_contents(front_matter):
    page = lxml.html.document_fromstring(html.volume(load_volume(front_matter)).decode())
    assert "General Editor: Glenn W. LaFantasie" in page.xpath(
        "//header[@id='emend-title']")[0].text_content()
    articles = page.xpath("//article[contains(@class, 'tei-document')]/@id")
    assert articles == [*FRONT_UNITS, "comp1", "d142", "d144"]
    contents = page.xpath("//nav[@id='emend-contents']/ol/li/a/@href")
    assert contents == [f"#{unit}" for unit in [*FRONT_UNITS, "comp1"]]
    assert page.xpath("//nav[@id='emend-contents']/ol/li/ol/li/a/@href") == ["#d142", "#d144"]
    # The contents stand where the printed contents stood: after the Preface.
    body = html.volume(load_volume(front_matter)).decode()
    in_order(body, 'id="preface"', 'id="emend-contents"', 'id="sources"')
    ids = page.xpath("//@id")
    assert len(ids) == len(set(ids))


def test_html_of_tables_and_long_lists(tmp_path):
    edition = generated_volume(tmp_path)
    page = lxml.html.document_fromstring(html.volume(load_volume(edition)).decode())
    assert page.xpath("//article[@id='sources']//table//td")[0].text_content() == "Lot 64 D 559"
    assert len(page.xpath("//article[@id='persons']//li")) == PERSONS
    assert page.xpath("//article/@id") == ["sources", "persons", "ch1", "d1", "d2",
                                           "appendix-a", "app-a-1"]


def test_text_holds_every_unit_in_order(front_matter):
    data = text.volume(load_volume(front_matter)).decode()
    assert data.startswith("Foreign Relations of the United States\n1958–1960\n")
    assert "General Editor: Glenn W. LaFantasie" in data.split(text.SEPARATOR)[0]
    in_order(data, "Preface\n", PREFACE_TEXT, "Contents\n", "List of Sources\n",
             "List of Persons\n", "Japan\n", "142. Memorandum of Conversation", D142_TEXT,
             "144. Memorandum of Conversation")


def test_json_holds_every_unit_with_its_kind(front_matter):
    data = json.loads(annotations.volume(load_volume(front_matter)))
    units = [(d["id"], d["type"], d["matter"], d["parent"], d["number"])
             for d in data["documents"]]
    assert units == [
        ("preface", "section", "front", None, None), ("toc", "section", "front", None, None),
        ("sources", "section", "front", None, None), ("terms", "section", "front", None, None),
        ("persons", "section", "front", None, None),
        ("comp1", "compilation", "body", None, None),
        ("d142", "document", "body", "comp1", 142), ("d144", "document", "body", "comp1", 144)]
    [persons] = [d for d in data["documents"] if d["id"] == "persons"]
    assert persons["title"] == "List of Persons" and "Yun, Po Sun" in persons["text"]


# -- each unit's own files ----------------------------------------------------------------------

def test_front_matter_units_have_their_own_files(front_matter, client, settings):
    settings.EMEND_EXPORT_FORMATS = ["html", "txt", "epub"]
    builds.run(front_matter.pk)
    for name, expected in [("persons.html", b"List of Persons"),
                           ("preface.txt", PREFACE_TEXT.encode()),
                           ("comp1.html", b"Japan")]:
        response = client.get(reverse("edition:export_file", args=[front_matter.slug, name]))
        assert response.status_code == 200, name
        assert expected in b"".join(response.streaming_content), name
    response = client.get(reverse("edition:export_file",
                                  args=[front_matter.slug, "persons.epub"]))
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as book:
        assert "EPUB/persons.xhtml" in book.namelist()
    page = client.get(reverse("edition:exports", args=[front_matter.slug])).content.decode()
    assert "List of Persons" in page and "Document None" not in page


# -- the outline ------------------------------------------------------------------------------

@pytest.mark.parametrize("depths", [[0, 1, 1, 0], [0, 1, 2, 2, 0, 1], [1, 0, 0], [0, 2, 3, 0],
                                    [0], [0, 1, 2, 1, 2, 0]])
def test_nested_lists_are_well_formed_whatever_the_depths(depths):
    out = nested_list([Entry(str(i), d) for i, d in enumerate(depths)],
                      lambda e: f"<a>{e.part}</a>")
    root = etree.fromstring(out)
    items = root.xpath("//a/text()")
    assert items == [str(i) for i in range(len(depths))]  # every entry, in order
    if depths == [0, 1, 2, 2, 0, 1]:
        assert root.xpath("li[1]/ol/li/ol/li/a/text()") == ["2", "3"]
        assert root.xpath("li[2]/ol/li/a/text()") == ["5"]


def test_a_document_imported_from_text_nests_in_its_compilation(sample_volume):
    outline = [(e.part.xml_id, e.depth) for e in load_volume(sample_volume).outline]
    assert outline == [("comp1", 0), ("d142", 1), ("d143", 1), ("d144", 1)]
