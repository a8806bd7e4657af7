"""A build that leaves a unit out (a renderer fails on it: edition/exporting/builds.py) still
writes files that are valid and consistent with themselves, in every format: a chapter left out
keeps its documents; nothing links, lists or points to the unit or to a file of it; the TEI is
valid against tei_all and the frus rules, the HTML links only to ids it holds, the EPUB passes
epubcheck, the JSON names only units it holds, and the PDF opens with an outline of what it
holds. A failure in a volume's own file fails the build instead, loudly, keeping the previous
build's files published, and the next request retries."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from urllib.parse import unquote

import lxml.html
import pytest
from django.core.files.storage import storages
from django.urls import reverse
from lxml import etree

from edition.exporting import annotations, builds, epub, html, pdf, tei, text
from edition.imports import import_tei
from edition.models import ExportBuild, ExportFile, ExportRequest
from edition.tei import TEI_NS, XML_ID
from edition.tei.schema import frus_problems
from tests.edition.test_export_epub import NS, epubcheck, spine_files
from tests.edition.test_export_facsimile import without_frus
from tests.edition.test_export_pdf import pages_of
from tests.edition.test_export_volume_units import outline_of
from tests.helpers import document_tei, make_member, revise, signed_in, volume_tei

pytestmark = pytest.mark.django_db

# Every unit of the volume, in volume order, and the unit that encloses it.
UNITS = {"sources": None, "persons": None, "ch1": None, "d1": "ch1", "d2": "ch1", "d3": "ch1",
         "ch2": None, "d4": "ch2", "appendix-a": None, "app-a-1": "appendix-a"}
HEADINGS = {"sources": "Sources", "persons": "List of Persons", "ch1": "Politics",
            "d1": "1. Telegram", "d2": "2. Telegram", "d3": "3. Telegram", "ch2": "Trade",
            "d4": "4. Telegram", "appendix-a": "Appendix A", "app-a-1": "A pamphlet"}


def linked_volume(tmp_path):
    """Front matter (a register of persons), two chapters, back matter, and links between the
    units: d1 to d2 (its neighbour) and to a person of the register, d3 to its chapter, d4 to
    d2 and to the appendix's item, the appendix's item to d1."""
    front = ('<titlePage><docTitle><titlePart type="volumetitle">A Linked Volume</titlePart>'
             "</docTitle></titlePage>"
             '<div type="section" xml:id="sources"><head>Sources</head><p>Lot files.</p></div>'
             '<div type="section" xml:id="persons" subtype="index"><head>List of Persons</head>'
             '<list type="names"><item><persName xml:id="p1">Person One</persName>, an official'
             '</item></list></div>')
    body = ('<div type="chapter" xml:id="ch1"><head>Politics</head>'
            + document_tei(1, '<p>See <ref target="#d2">the next document</ref> and '
                              '<persName corresp="#p1">Person One</persName>.</p>')
            + document_tei(2)
            + document_tei(3, '<p>As <ref target="#ch1">the chapter</ref> says.</p>')
            + "</div>"
            '<div type="chapter" xml:id="ch2"><head>Trade</head>'
            + document_tei(4, '<p>Compare <ref target="#d2">Document 2</ref> and '
                              '<ref target="#app-a-1">the pamphlet</ref>.</p>')
            + "</div>")
    back = ('<div type="section" xml:id="appendix-a"><head>Appendix A</head>'
            '<div type="section" subtype="historical-document" xml:id="app-a-1">'
            '<head>A pamphlet</head><p>Read <ref target="#d1">Document 1</ref>.</p></div></div>')
    path = tmp_path / "linked.xml"
    path.write_text(volume_tei(body, front=front, back=back, slug="linked"), encoding="utf-8")
    return import_tei(path).edition


def fail_on(monkeypatch, module, unit: str) -> None:
    """`module`'s document file fails for `unit`, as a renderer's bug would."""
    real = module.document

    def failing(vol, part):
        if part.xml_id == unit:
            raise ValueError(f"a renderer fails on {unit}")
        return real(vol, part)

    monkeypatch.setattr(module, "document", failing)


def build(edition, group: str) -> ExportBuild:
    builds.request_export(edition, "test", full=True)
    builds.run(edition.pk, group)
    return ExportBuild.objects.get(edition=edition, group=group, current=True)


def files_of(build_: ExportBuild) -> dict[tuple[str, str | None], bytes]:
    """(format, unit or None for the volume) → the bytes of each file the build names; every
    file it names exists."""
    store = storages["exports"]
    found = {}
    for row in ExportFile.objects.filter(build=build_).select_related("document"):
        with store.open(row.name) as handle:
            found[(row.format, row.document.xml_id if row.document else None)] = handle.read()
    return found


def expected_kept(left_out: str) -> list[str]:
    """What a build leaving `left_out` out holds: every other unit, its own units included."""
    return [unit for unit in UNITS if unit != left_out]


# -- each format, checked for what it holds and that it points only at what it holds ----------

def check_tei(data: bytes, kept: list[str], left_out: str, tei_all) -> None:
    root = etree.fromstring(data)
    ids = set(root.xpath("//@xml:id"))
    for unit in kept:
        assert unit in ids, unit
    assert left_out not in ids
    # No pointer inside the file to a unit it does not hold: the left-out unit is reached at
    # its page on the site, as every other format links to it.
    for pointer in root.xpath("//@target | //@corresp | //@ref"):
        for target in pointer.split():
            if target.startswith("#"):
                assert target[1:] in ids, f"{pointer.getparent().tag} points at {target}"
    assert frus_problems(root) == []
    assert tei_all.validate(without_frus(root)), tei_all.error_log.last_error
    # The header names the revisions the file holds, and only those.
    [change] = root.xpath("//t:revisionDesc/t:change[1]", namespaces={"t": TEI_NS})
    named = re.findall(r"([\w.-]+) revision \d+", change.text)
    assert named == kept


def check_html(data: bytes, kept: list[str], left_out: str) -> None:
    page = lxml.html.document_fromstring(data.decode())
    ids = page.xpath("//@id")
    assert len(ids) == len(set(ids))
    assert page.xpath("//article[contains(@class, 'tei-document')]/@id") == kept
    contents = page.xpath("//nav[@id='emend-contents']//a/@href")
    assert contents == [f"#{unit}" for unit in kept]
    for href in page.xpath("//a/@href"):
        if href.startswith("#"):
            assert href[1:] in ids, href
    words = " ".join(page.xpath("//body//text()[not(ancestor::style or ancestor::script)]"))
    assert HEADINGS[left_out] not in words
    for unit in kept:
        assert HEADINGS[unit] in words, unit


def check_text(data: bytes, kept: list[str], left_out: str) -> None:
    body = data.decode()
    for unit in kept:
        assert HEADINGS[unit] in body, unit
    assert f"\n{HEADINGS[left_out]}\n" not in body


def check_json(data: bytes, kept: list[str], left_out: str) -> None:
    found = json.loads(data)
    documents = found["documents"]
    assert [d["id"] for d in documents] == kept
    assert list(found["sources"]) == kept
    held = set(kept)
    for document in documents:
        # Its enclosing unit is one the file holds, or none: never the unit left out.
        assert document["parent"] is None or document["parent"] in held, document
        expected = UNITS[document["id"]]
        assert document["parent"] == (expected if expected in held else None), document
    urls = {d["url"] for d in documents}
    for note in found["annotations"]:
        assert note["target"]["source"] in urls, note


def check_epub(data: bytes, kept: list[str], left_out: str, path: Path) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    chapters = [f"{unit}.xhtml" for unit in kept]
    spine = spine_files(files)
    assert [name for name in spine if name in chapters] == chapters
    assert f"{left_out}.xhtml" not in spine and f"EPUB/{left_out}.xhtml" not in files
    nav = etree.fromstring(files["EPUB/nav.xhtml"])
    toc = [a.get("href") for a in nav.xpath("//x:nav[@epub:type='toc']//x:a", namespaces=NS)]
    assert toc == chapters
    for href in nav.xpath("//x:a/@href", namespaces=NS):
        assert f"EPUB/{unquote(href.split('#')[0])}" in files, href
    path.write_bytes(data)


def check_pdf(data: bytes, kept: list[str], left_out: str, tmp_path) -> None:
    text_ = " ".join(pages_of(data, tmp_path))
    for unit in kept:
        assert HEADINGS[unit] in text_, unit
    outline = outline_of(tmp_path / "out.pdf")
    titles = [title for _, title in outline]
    assert "Contents" in titles and HEADINGS[left_out] not in titles
    assert [t for t in titles if t != "Contents"] == [HEADINGS[u] for u in kept]
    # A chapter's documents nest under it while it is there; left out, they stand at the top.
    levels = dict((title, level) for level, title in outline)
    for unit in kept:
        parent = UNITS[unit]
        assert levels[HEADINGS[unit]] == (2 if parent in kept else 1), (unit, outline)


# A unit, and the format whose document file fails on it (the other formats' files of the
# unit were written by then, or not yet: both must leave none of its files).
CASES = [
    ("ch1", text),  # a chapter: its documents stay, out of it
    ("d2", text),  # linked to by its neighbour and from another chapter
    ("d2", tei),  # the first format of the unit
    ("persons", epub),  # the register d1's person points into
    ("appendix-a", annotations),  # back matter holding an item
    ("app-a-1", html),  # linked to from d4, links to d1
]


@pytest.mark.parametrize(("left_out", "module"), CASES,
                         ids=[f"{unit}-{module.__name__.rsplit('.', 1)[1]}"
                              for unit, module in CASES])
def test_a_unit_left_out_leaves_valid_consistent_text_files(tmp_path, monkeypatch, tei_all,
                                                              left_out, module):
    edition = linked_volume(tmp_path)
    assert list(edition.documents.order_by("order").values_list("xml_id", flat=True)) == \
        list(UNITS)
    fail_on(monkeypatch, module, left_out)
    current = build(edition, "text")
    assert current.status == ExportBuild.Status.COMPLETE
    assert current.error.startswith("Left out of this build (the rest of the volume is "
                                    f"complete): {left_out}: its ")
    kept = expected_kept(left_out)
    files = files_of(current)
    assert {unit for _, unit in files} == {*kept, None}
    assert set(current.sources) == set(kept)  # what the downloads name as their sources
    _, names = storages["exports"].listdir(f"{edition.slug}/{current.pk}")
    assert not [n for n in names if n.startswith(f"{left_out}.")]

    check_tei(files[("tei", None)], kept, left_out, tei_all)
    check_html(files[("html", None)], kept, left_out)
    check_text(files[("txt", None)], kept, left_out)
    check_json(files[("json", None)], kept, left_out)
    check_epub(files[("epub", None)], kept, left_out, tmp_path / "volume.epub")
    # Each kept unit's own files are whole, too.
    for unit in kept:
        root = etree.fromstring(files[("tei", unit)])
        assert tei_all.validate(without_frus(root)), (unit, tei_all.error_log.last_error)
        json.loads(files[("json", unit)])
    (tmp_path / "d1.epub").write_bytes(files[("epub", "d1")])
    epubcheck(tmp_path / "volume.epub", tmp_path / "d1.epub")


def test_the_exports_page_links_no_file_of_a_unit_left_out(tmp_path, monkeypatch, client):
    edition = linked_volume(tmp_path)
    fail_on(monkeypatch, text, "d2")
    build(edition, "text")
    build(edition, "print")
    page = lxml.html.document_fromstring(
        client.get(reverse("edition:exports", args=[edition.slug])).content.decode())
    links = page.xpath("//a[@download]/@href")
    for unit in UNITS:
        for ext in ("xml", "html", "txt", "json", "epub"):
            address = reverse("edition:export_file", args=[edition.slug, f"{unit}.{ext}"])
            assert (address in links) == (unit != "d2"), address
            assert client.get(address).status_code == (404 if unit == "d2" else 200), address
        # The PDF of it was made: its group's build left nothing out.
        assert reverse("edition:export_file", args=[edition.slug, f"{unit}.pdf"]) in links
    [row] = page.xpath("//tr[td/a[text()='Document 2']]")
    assert "not in the current build: read it on its page" in row.text_content()
    assert row.xpath(".//td/a/@href") == [reverse("edition:document",
                                                  args=[edition.slug, "d2"]),
                                          reverse("edition:export_file",
                                                  args=[edition.slug, "d2.pdf"])]


@pytest.mark.parametrize("left_out", ["ch1", "d2"])
def test_a_unit_left_out_leaves_a_pdf_with_an_outline_of_what_it_holds(tmp_path, monkeypatch,
                                                                       left_out):
    edition = linked_volume(tmp_path)
    fail_on(monkeypatch, pdf, left_out)
    current = build(edition, "print")
    assert current.status == ExportBuild.Status.COMPLETE
    assert current.error.startswith(f"Left out of this build (the rest of the volume is "
                                    f"complete): {left_out}: its PDF file cannot be made")
    files = files_of(current)
    kept = expected_kept(left_out)
    assert {unit for _, unit in files} == {*kept, None}
    check_pdf(files[("pdf", None)], kept, left_out, tmp_path)


def test_the_next_build_puts_back_a_unit_it_no_longer_fails_on(tmp_path, monkeypatch):
    """Left out once (a renderer's passing failure), the unit's files and its place in the
    volume's files come back with the next build, even when no revision changed."""
    edition = linked_volume(tmp_path)
    fail_on(monkeypatch, text, "d2")
    first = build(edition, "text")
    assert "d2" not in first.sources
    monkeypatch.undo()
    builds.request_export(edition, "test")  # incremental: the other units' files are reused
    builds.run(edition.pk, "text")
    second = ExportBuild.objects.get(edition=edition, group="text", current=True)
    assert second.pk != first.pk and second.error == ""
    assert set(second.sources) == set(UNITS)
    files = files_of(second)
    assert {unit for _, unit in files} == {*UNITS, None}
    for fmt in ("tei", "html", "txt", "json", "epub"):
        assert ("2. Telegram".encode() in files[(fmt, None)]
                or fmt == "epub"), fmt  # the EPUB is a zip: its nav is checked below
    with zipfile.ZipFile(io.BytesIO(files[("epub", None)])) as archive:
        assert "EPUB/d2.xhtml" in archive.namelist()


# -- a volume's own file fails: the whole build fails, the previous one stays -------------------

def test_a_volume_file_failing_fails_the_build_keeps_the_previous_and_is_retried(
        tmp_path, monkeypatch, client):
    edition = linked_volume(tmp_path)
    good = build(edition, "text")
    before = files_of(good)

    def broken(vol):  # half a file written, then the failure
        yield b"PK\x03\x04 the first chunk"
        raise RuntimeError("the volume's EPUB cannot be assembled")

    monkeypatch.setattr(epub, "volume_chunks", broken)
    revise(edition.documents.get(xml_id="d3"), "Text 3.", "Text 3, revised.")
    builds.request_export(edition, "approval of d3")
    with pytest.raises(RuntimeError):
        builds.run(edition.pk, "text")
    failed = ExportBuild.objects.filter(edition=edition, group="text").first()
    assert failed.status == ExportBuild.Status.FAILED
    assert failed.error == "RuntimeError: the volume's EPUB cannot be assembled"
    # Nothing of it is published or left on disk; the previous build is still the one served.
    assert ExportBuild.objects.get(edition=edition, group="text", current=True).pk == good.pk
    assert files_of(good) == before
    assert not storages["exports"].exists(f"{edition.slug}/{failed.pk}/{edition.slug}.epub")
    listing = storages["exports"].listdir(edition.slug)[0]
    assert str(failed.pk) not in listing or not storages["exports"].listdir(
        f"{edition.slug}/{failed.pk}")[1]
    # Its requests wait for the retry; the exports page says what failed.
    assert ExportRequest.objects.filter(edition=edition, group="text", build=None).exists()
    reviewer = signed_in(make_member(edition, "reviewer", "reviewer"))
    page = reviewer.get(reverse("edition:exports", args=[edition.slug])).content.decode()
    assert ("the last build failed (RuntimeError: the volume&#x27;s EPUB cannot be "
            "assembled); retrying.") in page
    response = client.get(reverse("edition:export_file", args=[edition.slug,
                                                               f"{edition.slug}.epub"]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == before[("epub", None)]
    # Mended, the next run (the retry, or the next approval's message) builds.
    monkeypatch.undo()
    assert builds.run(edition.pk, "text").status == builds.Result.BUILT
    latest = ExportBuild.objects.get(edition=edition, group="text", current=True)
    assert latest.pk not in (good.pk, failed.pk) and latest.error == ""
    assert not ExportRequest.objects.filter(edition=edition, group="text", build=None).exists()
    page = reviewer.get(reverse("edition:exports", args=[edition.slug])).content.decode()
    assert "cannot be assembled" not in page and "up to date" in page


def test_the_linked_volume_holds_every_unit_once(tmp_path):
    """The TEI volume of the linked volume, whole, holds every unit once (a sanity check of
    the volume these tests leave units out of)."""
    edition = linked_volume(tmp_path)
    from edition.exporting.sources import load_volume

    root = etree.fromstring(tei.volume(load_volume(edition)))
    ids = root.xpath("//@xml:id")
    assert len(ids) == len(set(ids))
    assert [i for i in ids if i in UNITS] == list(UNITS)
    assert root.get(XML_ID) == "linked"


def test_units_of_a_unit_left_out_nest_under_the_nearest_unit_held():
    """Chapter › compilation › documents, the compilation left out: its documents stand in
    the chapter (the outline, and the JSON's `parent`, read `Volume.enclosing`)."""
    from edition.exporting.sources import Part, Volume
    from edition.models import Document

    def unit(pk, parent):
        return Part(Document(pk=pk, parent_id=parent, xml_id=f"u{pk}"), None)

    chapter, compilation, first, second, after = (unit(1, None), unit(2, 1), unit(3, 2),
                                                  unit(4, 2), unit(5, None))
    whole = Volume(None, [chapter, compilation, first, second, after])
    assert [e.depth for e in whole.outline] == [0, 1, 2, 2, 0]
    held = Volume(None, [chapter, first, second, after], left_out=(compilation,))
    assert [held.enclosing(p.document) for p in held.parts] == [None, 1, 1, None]
    assert [(e.depth, e.encloses) for e in held.outline] == [(0, True), (1, False), (1, False),
                                                            (0, False)]
    both = Volume(None, [first, second, after], left_out=(chapter, compilation))
    assert [e.depth for e in both.outline] == [0, 0, 0]
    assert both.enclosing(first.document) is None


def test_a_page_image_inside_a_unit_left_out_is_not_pointed_at(settings, tmp_path, monkeypatch,
                                                               tei_all):
    """The skeleton's own pointers are repointed too: an uploaded scan's surface points at its
    `pb` by `start`, and a `pb` inside the unit left out is reached at that unit's page."""
    from edition import pages
    from edition.models import PageImage
    from tests.page_images import upload

    settings.MEDIA_ROOT = str(tmp_path / "media")
    path = tmp_path / "paged.xml"
    path.write_text(volume_tei(document_tei(1, '<pb n="1" xml:id="pg_1"/><p>One.</p>')
                               + document_tei(2, '<pb n="2" xml:id="pg_2"/><p>Two.</p>'),
                               slug="paged"), encoding="utf-8")
    edition = import_tei(path).edition
    pages.sync(edition)
    for pb_id in ("pg_1", "pg_2"):
        upload(PageImage.objects.get(edition=edition, pb_id=pb_id), size=(600, 900))
    fail_on(monkeypatch, tei, "d2")
    files = files_of(build(edition, "text"))
    root = etree.fromstring(files[("tei", None)])
    ids = set(root.xpath("//@xml:id"))
    starts = root.xpath("//t:surface/@start", namespaces={"t": TEI_NS})
    assert "#pg_1" in starts and "d2" not in ids
    assert [s for s in starts if s.startswith("#")] == ["#pg_1"]
    [elsewhere] = [s for s in starts if not s.startswith("#")]
    assert elsewhere.endswith("#pg_2") and "/d2/" in elsewhere  # the unit's page on the site
    assert tei_all.validate(without_frus(root)), tei_all.error_log.last_error
