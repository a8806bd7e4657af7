"""EPUB 3 exports (edition/exporting/epub.py): epubcheck finds nothing to report, and the book
read back holds one chapter per document, EPUB footnotes, page markers and working links."""

import io
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from edition.exporting import epub
from edition.exporting import html as html_export
from edition.exporting.sources import load_volume

pytestmark = pytest.mark.django_db
EPUBCHECK = Path("/usr/bin/epubcheck")
NS = {"x": "http://www.w3.org/1999/xhtml", "epub": "http://www.idpf.org/2007/ops",
      "opf": "http://www.idpf.org/2007/opf", "dc": "http://purl.org/dc/elements/1.1/"}
EPUB_TYPE = "{http://www.idpf.org/2007/ops}type"


def epubcheck(*paths: Path) -> None:
    """Run epubcheck on each file (at the same time: most of its time is the JVM starting)."""
    if not EPUBCHECK.exists() or not shutil.which("java"):
        if os.environ.get("EMEND_REQUIRE_SERVICES"):
            pytest.fail("EMEND_REQUIRE_SERVICES is set but epubcheck (and Java) is missing")
        pytest.skip("epubcheck is not installed (apt-get install epubcheck)")
    # Debian's /usr/bin/epubcheck is the jar itself: it runs directly only with binfmt-support.
    # The quick JIT tier halves the time of a short run.
    runs = [subprocess.Popen(["java", "-XX:TieredStopAtLevel=1", "-jar", str(EPUBCHECK),
                              str(path)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True) for path in paths]
    for run in runs:
        output = run.communicate(timeout=300)[0]
        assert run.returncode == 0, output
        assert not re.search(r"\b(FATAL|ERROR|WARNING)\b", output), output


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.infolist()[0].filename == "mimetype"
        assert archive.infolist()[0].compress_type == zipfile.ZIP_STORED
        return {name: archive.read(name) for name in archive.namelist()}


def xml(files: dict[str, bytes], name: str) -> etree._Element:
    return etree.fromstring(files[name])


def spine_files(files: dict[str, bytes]) -> list[str]:
    opf = xml(files, "EPUB/package.opf")
    hrefs = {i.get("id"): i.get("href") for i in opf.iterfind(".//opf:item", NS)}
    return [hrefs[r.get("idref")] for r in opf.iterfind(".//opf:itemref", NS)]


def by_id(root: etree._Element, id_: str) -> etree._Element:
    [element] = root.xpath("//*[@id=$id]", id=id_)
    return element


def test_volume_and_document_pass_epubcheck(sample_volume, tmp_path):
    vol = load_volume(sample_volume)
    (tmp_path / "volume.epub").write_bytes(epub.volume(vol))
    one = load_volume(sample_volume, documents=[sample_volume.documents.get(xml_id="d142")])
    (tmp_path / "d142.epub").write_bytes(epub.document(one, one.parts[0]))
    epubcheck(tmp_path / "volume.epub", tmp_path / "d142.epub")


def test_volume_chapters_nav_footnotes_and_pages(sample_volume):
    files = unzip(epub.volume(load_volume(sample_volume)))
    chapters = [f for f in spine_files(files) if f not in ("title.xhtml", "nav.xhtml")]
    assert chapters == ["comp1.xhtml", "d142.xhtml", "d143.xhtml", "d144.xhtml"]

    nav = xml(files, "EPUB/nav.xhtml")
    toc = nav.xpath("//x:nav[@epub:type='toc']//x:a", namespaces=NS)
    assert [(a.get("href"), a.text) for a in toc] == [("comp1.xhtml", "Japan")] + [
        (f"d{n}.xhtml", f"{n}. Memorandum of Conversation") for n in (142, 143, 144)]
    # The compilation's documents are nested under it.
    nested = nav.xpath("//x:nav[@epub:type='toc']/x:ol/x:li/x:ol/x:li/x:a/@href", namespaces=NS)
    assert nested == ["d142.xhtml", "d143.xhtml", "d144.xhtml"]
    pages = nav.xpath("//x:nav[@epub:type='page-list']//x:a/@href", namespaces=NS)
    assert "d142.xhtml#pg_276" in pages

    d142 = xml(files, "EPUB/d142.xhtml")
    marker = by_id(d142, "fnref-d142fn1")
    assert marker.get(EPUB_TYPE) == "noteref" and marker.get("href") == "#fn-d142fn1"
    note = by_id(d142, "fn-d142fn1")
    assert note.tag == f"{{{NS['x']}}}aside" and note.get(EPUB_TYPE) == "footnote"
    assert note.getparent().get(EPUB_TYPE) == "footnotes"
    assert "Telegram 515 from Seoul" in "".join(note.itertext())
    [back] = note.xpath("x:a[@class='fn-back']", namespaces=NS)
    assert by_id(d142, back.get("href")[1:]) is marker

    page = by_id(d142, "pg_276")
    assert page.get(EPUB_TYPE) == "pagebreak" and page.text == "[Page 276]"
    # The source note of d142 links to Document 143, which is in the book: its chapter file.
    assert d142.xpath("//x:a[@href='d143.xhtml']", namespaces=NS)

    opf = xml(files, "EPUB/package.opf")
    assert opf.findtext(".//dc:identifier", namespaces=NS) == "urn:emend:frus1958-60v18"
    assert [c.text for c in opf.iterfind(".//dc:creator", NS)] == ["Madeline Chi",
                                                                    "Louis J. Smith"]


def test_single_document_links_out_of_the_book(sample_volume, settings):
    one = load_volume(sample_volume, documents=[sample_volume.documents.get(xml_id="d142")])
    assert not one.whole
    files = unzip(epub.document(one, one.parts[0]))
    assert [f for f in spine_files(files) if f.startswith("d")] == ["d142.xhtml"]
    d142 = xml(files, "EPUB/d142.xhtml")
    site = f"{settings.EMEND_SITE_URL}/frus1958-60v18/d143/"
    assert d142.xpath("//x:a[@href=$site]", site=site, namespaces=NS)
    assert not d142.xpath("//x:a[@href='d143.xhtml']", namespaces=NS)


def test_markup_in_a_footnote_stays_text_and_links_resolve(sample_volume, tmp_path):
    d142 = sample_volume.documents.get(xml_id="d142")
    tei = d142.current_revision.tei
    assert ">Telegram 515 from Seoul" in tei and "north Korea." in tei
    tei = tei.replace(">Telegram 515 from Seoul",
                      ">&lt;script&gt;alert(1)&lt;/script&gt;<script>alert(2)</script>"
                      "Telegram 515 from Seoul", 1)
    tei = tei.replace("north Korea.", 'north Korea (<ref target="#d143fn1">see</ref>, '
                      '<ref target="#d143fn9">gone</ref>).', 1)
    d142.add_revision(tei, by=None, summary="x")

    data = epub.volume(load_volume(sample_volume))
    (tmp_path / "volume.epub").write_bytes(data)
    epubcheck(tmp_path / "volume.epub")  # every fragment id of every link resolves
    chapter = xml(unzip(data), "EPUB/d142.xhtml")
    assert not chapter.xpath("//x:script", namespaces=NS)
    note = "".join(by_id(chapter, "fn-d142fn1").itertext())
    assert "<script>alert(1)</script>" in note and "alert(2)" in note
    links = chapter.xpath("//x:a[.='see' or .='gone']/@href", namespaces=NS)
    assert links == ["d143.xhtml#fn-d143fn1", "d143.xhtml"]  # a note not there: the document


def test_same_sources_same_bytes_and_only_changed_documents_rerender(sample_volume,
                                                                       monkeypatch):
    vol = load_volume(sample_volume)
    first = epub.volume(vol)
    rendered = []
    real = html_export.render_html  # the EPUB starts from the HTML export's rendering
    monkeypatch.setattr(html_export, "render_html",
                        lambda div, **kw: rendered.append(div) or real(div, **kw))
    assert epub.volume(vol) == first and rendered == []  # every chapter came from the cache

    d142 = sample_volume.documents.get(xml_id="d142")
    tei = d142.current_revision.tei.replace("north Korea", "North Korea", 1)
    d142.add_revision(tei, by=None, summary="x")
    again = load_volume(sample_volume)
    again.built_at = vol.built_at
    assert epub.volume(again) != first
    assert [div.get("{http://www.w3.org/XML/1998/namespace}id") for div in rendered] == ["d142"]
