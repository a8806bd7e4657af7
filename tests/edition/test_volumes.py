"""Whole volumes: every part history.state.gov shows as a page is a unit here (front matter,
chapters, appendices), ids keep their case, the importer refuses bad input with every problem
and its line, the contents show the volume as FRUS prints it, and the volume's TEI comes back
element for element."""

import re
from pathlib import Path

import pytest
from django.urls import get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from edition import contents as contents_module
from edition.exporting import tei as tei_export
from edition.exporting.sources import load_volume
from edition.imports import import_tei
from edition.models import RESERVED_UNIT_IDS, Document, Edition
from edition.tei import FRUS_NS, TEI_NS, tei
from edition.tei.parsing import TEIError
from tests.helpers import SAMPLES

pytestmark = pytest.mark.django_db

WITH_FRONT = SAMPLES / "frus1958-60v18-with-front-matter.xml"


def volume(body: str, *, slug: str = "vol1", front: str = "", back: str = "") -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<TEI xmlns="{TEI_NS}" xmlns:frus="{FRUS_NS}" xml:id="{slug}">
  <teiHeader><fileDesc><titleStmt><title type="complete">A Volume</title></titleStmt>
  <publicationStmt><publisher>GPO</publisher></publicationStmt>
  <sourceDesc><p>test</p></sourceDesc></fileDesc></teiHeader>
  <text>{f"<front>{front}</front>" if front else ""}<body>{body}</body>{f"<back>{back}</back>" if back else ""}</text>
</TEI>"""


def write(tmp_path: Path, content: str, name: str = "volume.xml") -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def doc(n: int, extra: str = "", attrs: str = "") -> str:
    return (f'<div type="document" xml:id="d{n}" n="{n}"{attrs}><head>{n}. Telegram</head>'
            f"<p>Text {n}.</p>{extra}</div>")


def comparable(element: etree._Element):
    """Elements, attributes, text and tails in order: what a round trip must keep."""
    return [(e.tag if isinstance(e.tag, str) else "pi", dict(e.attrib) if isinstance(e.tag, str)
             else None, e.text, e.tail) for e in element.iter()]


def exported_volume(edition: Edition) -> etree._Element:
    return etree.fromstring(tei_export.volume(load_volume(edition)))


class TestUnits:
    def test_front_matter_chapters_and_documents_are_units_in_volume_order(self):
        import_tei(WITH_FRONT)
        units = list(Document.objects.order_by("order"))
        assert [(u.xml_id, u.matter, u.div_type) for u in units] == [
            ("preface", "front", "section"), ("toc", "front", "section"),
            ("sources", "front", "section"), ("terms", "front", "section"),
            ("persons", "front", "section"), ("comp1", "body", "compilation"),
            ("d142", "body", "document"), ("d144", "body", "document"),
        ]
        by_id = {u.xml_id: u for u in units}
        assert by_id["persons"].title == "List of Persons" and by_id["persons"].number is None
        assert by_id["d142"].parent == by_id["comp1"] and by_id["comp1"].parent is None
        assert by_id["comp1"].title == "Japan"
        # A chapter's own revision is its heading and introduction, never its documents.
        chapter = by_id["comp1"].current_revision.tei
        assert "<head>Japan</head>" in chapter and "d142" not in chapter

    def test_the_volume_export_gives_back_every_element_of_the_file(self):
        edition = import_tei(WITH_FRONT).edition
        original = etree.parse(str(WITH_FRONT)).getroot()
        exported = exported_volume(edition)
        assert comparable(exported.find(tei("text"))) == comparable(original.find(tei("text")))

    def test_a_correction_to_a_chapter_heading_reaches_the_volume_export(self):
        edition = import_tei(WITH_FRONT).edition
        chapter = Document.objects.get(xml_id="comp1")
        chapter.add_revision(chapter.current_revision.tei.replace("Japan", "Japan and Okinawa"),
                             by=None, summary="test")
        text = exported_volume(edition).find(tei("text"))
        [head] = text.xpath("//t:div[@xml:id='comp1']/t:head", namespaces={"t": TEI_NS})
        assert head.text == "Japan and Okinawa"
        assert [d.get("{http://www.w3.org/XML/1998/namespace}id")
                for d in text.iter(tei("div")) if d.get("type") == "document"] == ["d142", "d144"]

    def test_appendix_items_and_nested_chapters_are_units(self, tmp_path):
        body = ('<div type="compilation" xml:id="comp1"><head>Japan</head><p>Intro.</p>'
                '<div type="chapter" xml:id="ch1"><head>Politics</head>'
                f"{doc(1)}{doc(2)}</div>{doc(3)}</div>")
        back = ('<div type="section" xml:id="appendix-a"><head>Appendix A</head>'
                '<div type="section" subtype="historical-document" xml:id="app-a-1">'
                "<head>A pamphlet</head><p>Read this.</p></div></div>")
        edition = import_tei(write(tmp_path, volume(body, back=back))).edition
        parents = dict(Document.objects.values_list("xml_id", "parent__xml_id"))
        assert parents == {"comp1": None, "ch1": "comp1", "d1": "ch1", "d2": "ch1",
                           "d3": "comp1", "appendix-a": None, "app-a-1": "appendix-a"}
        assert Document.objects.get(xml_id="app-a-1").matter == "back"
        original = etree.fromstring(volume(body, back=back).encode()[38:])
        assert comparable(exported_volume(edition).find(tei("text"))) == comparable(
            original.find(tei("text")))


# A volume's structure, generated: chapters nest, hold documents and introductions, and
# text sits between them; the round trip must keep every bit of it.
def _division(depth: int):
    leaf = st.builds(lambda n, tail: ("doc", n, tail), st.integers(1, 10**6),
                     st.sampled_from(["", "\n  ", " "]))
    if depth == 0:
        return leaf
    return st.one_of(leaf, st.builds(
        lambda intro, kids, tail, trailing: ("chapter", intro, kids, tail, trailing),
        st.booleans(), st.lists(_division(depth - 1), max_size=3), st.sampled_from(["", "\n"]),
        st.booleans()))


def _write_division(node, ids: list[int]) -> str:
    ids.append(len(ids) + 1)
    number = ids[-1]
    if node[0] == "doc":
        return f'{doc(number)}{node[2]}'
    _, intro, kids, tail, trailing = node
    inner = "".join(_write_division(k, ids) for k in kids)
    head = f"<head>Chapter {number}</head>" + ("<p>Intro <hi>text</hi>.</p>" if intro else "")
    after = "<p>After the documents.</p>" if trailing and kids else ""
    return f'<div type="chapter" xml:id="ch{number}">{tail}{head}{inner}{after}</div>{tail}'


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(_division(2), min_size=1, max_size=4))
def test_any_structure_round_trips_through_import_and_volume_export(tmp_path_factory, tree):
    ids: list[int] = []
    body = "".join(_write_division(node, ids) for node in tree)
    if not any(node[0] == "doc" for node in _flatten(tree)):
        body += doc(999999)
    source = volume(body, slug=f"prop{len(Edition.objects.all())}")
    path = write(tmp_path_factory.mktemp("vol"), source)
    edition = import_tei(path).edition
    original = etree.fromstring(source.encode()[38:])
    assert comparable(exported_volume(edition).find(tei("text"))) == comparable(
        original.find(tei("text")))


def _flatten(nodes):
    for node in nodes:
        yield node
        if node[0] == "chapter":
            yield from _flatten(node[2])


class TestIds:
    def test_mixed_case_ids_keep_their_case_and_lookups_redirect(self, client, tmp_path):
        import_tei(write(tmp_path, volume(doc(1), slug="frus1944Quebec")))
        assert client.get("/frus1944Quebec/d1/").status_code == 200
        response = client.get("/FRUS1944QUEBEC/D1/?x=1")
        assert response.status_code == 301
        assert response["Location"] == "/frus1944Quebec/d1/?x=1"
        assert client.get("/frus1944quebec/").headers["Location"] == "/frus1944Quebec/"
        assert client.get("/frus1944quebec/d2/", follow=True).status_code == 404
        assert client.get("/frus1944Quebec/d2/").status_code == 404

    def test_two_volumes_may_not_differ_only_by_case(self, tmp_path):
        import_tei(write(tmp_path, volume(doc(1), slug="frus1944Quebec")))
        with pytest.raises(TEIError, match="already exists"):
            import_tei(write(tmp_path, volume(doc(1), slug="FRUS1944quebec"), "b.xml"))

    def test_every_literal_address_under_an_edition_is_reserved(self):
        segments = set()
        for pattern in _patterns(get_resolver()):
            match = re.match(r"^<slug:edition>/([^<>/.]+)/", pattern)
            if match:
                segments.add(match.group(1))
        assert segments and segments <= RESERVED_UNIT_IDS


def _patterns(resolver, prefix=""):
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if hasattr(entry, "url_patterns"):
            yield from _patterns(entry, route)
        else:
            yield route


class TestProblems:
    def test_every_problem_is_reported_with_its_line_and_nothing_is_written(self, tmp_path):
        body = "\n".join([
            doc(1),
            '<div type="document" xml:id="d2" n="99999999999"><head>2. T</head><p>x</p></div>',
            f'<div type="document" xml:id="{"d" * 150}" n="3"><head>3. T</head><p>x</p></div>',
            '<div type="document" xml:id="exports" n="4"><head>4. T</head><p>x</p></div>',
            doc(5, attrs=' frus:doc-dateTime-min="0001-01-01T00:00:00+05:00"'
                         ' frus:doc-dateTime-max="0001-01-01T00:00:00+05:00"'),
            doc(6, attrs=' frus:doc-dateTime-min="1960-01-19T15:30:00"'
                         ' frus:doc-dateTime-max="1960-01-19T17:30:00-05:00"'),
            '<div type="document" xml:id="d7" n="²"><head>T</head><p>x</p></div>',
        ])
        with pytest.raises(TEIError) as refused:
            import_tei(write(tmp_path, volume(body)))
        message = str(refused.value)
        assert "nothing was written" in message
        assert re.search(r"volume\.xml, line 7: d2: n=“99999999999”", message)
        assert re.search(r"line 8: xml:id “d{40}…” is 150 characters long", message)
        assert re.search(r"line 9: xml:id “exports” is the address of one of Emend's own",
                         message)
        assert re.search(r"line 10: d5: frus:doc-dateTime-min “0001-01-01T00:00:00\+05:00” is "
                         "outside the years 1600–2100", message)
        assert not Edition.objects.exists() and not Document.objects.exists()

    def test_a_date_without_its_offset_is_a_warning_not_a_traceback(self, tmp_path):
        body = doc(6, attrs=' frus:doc-dateTime-min="1960-01-19T15:30:00"'
                            ' frus:doc-dateTime-max="1960-01-19T17:30:00-05:00"')
        result = import_tei(write(tmp_path, volume(body)))
        assert any("doc-dateTime-min" in w for w in result.warnings)
        d6 = Document.objects.get()
        assert d6.date_min is None and d6.date_max is not None


class TestContents:
    def test_contents_show_front_matter_chapters_documents_with_dates_and_places(self, client):
        import_tei(WITH_FRONT)
        page = client.get("/frus1958-60v18/").content.decode()
        assert (page.index("List of Persons") < page.index('href="/frus1958-60v18/comp1/"')
                < page.index("Memorandum"))
        assert 'href="/frus1958-60v18/persons/"' in page
        assert "January 19, 1960" in page and "Washington" in page
        assert "2 documents in this edition" in page

    def test_a_document_without_date_attributes_is_dated_by_its_dateline(self, client, tmp_path):
        body = ('<div type="document" xml:id="d1" n="1"><head>1. Memorandum</head>'
                "<opener><dateline><placeName>Tokyo</placeName>, <date>March 3, 1959</date>"
                "</dateline></opener><p>x</p></div>")
        import_tei(write(tmp_path, volume(body)))
        d1 = Document.objects.get()
        assert (d1.date_min.date().isoformat(), d1.place) == ("1959-03-03", "Tokyo")
        assert "Tokyo, March 3, 1959" in client.get("/vol1/").content.decode()

    def test_a_large_volume_is_paged_with_its_chapters_listed(self, client, tmp_path,
                                                              monkeypatch):
        monkeypatch.setattr(contents_module, "PAGE_SIZE", 3)
        body = "".join(f'<div type="chapter" xml:id="ch{c}"><head>Chapter {c}</head>'
                       + "".join(doc(c * 10 + i) for i in range(3)) + "</div>"
                       for c in range(1, 4))
        import_tei(write(tmp_path, volume(body)))
        first = client.get("/vol1/").content.decode()
        assert "Page 1 of 4" in first and "(3 documents)" in first
        second = client.get("/vol1/?page=2").content.decode()
        assert "Chapter 1</a> <span class=\"toc-continued\">(continued)" in second
        assert "/vol1/d12/" in second and "/vol1/d20/" in second and "/vol1/d21/" not in second

    def test_a_chapter_page_lists_its_documents(self, client):
        import_tei(WITH_FRONT)
        page = client.get("/frus1958-60v18/comp1/").content.decode()
        assert "In this compilation" in page
        assert 'href="/frus1958-60v18/d142/"' in page

    def test_home_page_counts_documents_and_the_dates_they_cover(self, client, tmp_path):
        import_tei(WITH_FRONT)
        import_tei(write(tmp_path, volume(doc(1, attrs=' frus:doc-dateTime-min='
                                                       '"1944-09-12T00:00:00-04:00" '
                                                       'frus:doc-dateTime-max='
                                                       '"1944-09-16T23:59:59-04:00"'),
                                          slug="frus1944Quebec")))
        page = client.get("/").content.decode()
        assert "2 documents, January 19, 1960 – January 19, 1960" in " ".join(page.split())
        assert "1 document, September 12, 1944 –" in " ".join(page.split())
