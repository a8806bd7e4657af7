"""The HTML, plain-text and JSON (W3C Web Annotation) exports (edition/exporting/html.py,
text.py, annotations.py): what each file holds, that its links and offsets are right, that TEI
text stays text, and that a rebuild after one change re-renders one document."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import lxml.html
import pytest
from django.conf import settings

from edition.exporting import annotations, html, sources, text
from edition.exporting.sources import load_volume
from edition.imports import import_text
from edition.models import ExportFragment
from edition.tei import TEI_NS
from edition.tei.plaintext import render_plaintext
from tests.helpers import D143_TEXT, revise

pytestmark = pytest.mark.django_db

BUILT_AT = datetime(2025, 3, 14, 9, 26, tzinfo=UTC)
SCRIPT = "<script>alert('x')</script>"


@pytest.fixture
def edition(sample_volume):
    # The compilation "Japan" (comp1, its heading) holding d142 and d144 from TEI, and d143
    # from its plain text.
    return sample_volume


def volume_of(edition, **kwargs):
    vol = load_volume(edition, **kwargs)
    vol.built_at = BUILT_AT
    return vol


def single(edition, xml_id: str):
    vol = volume_of(edition, documents=[edition.documents.get(xml_id=xml_id)])
    return vol, vol.parts[0]


def edit(edition, xml_id: str, old: str, new: str):
    """A new revision of a document with `old` replaced in its TEI, as an approval makes."""
    return revise(edition.documents.get(xml_id=xml_id), old, new)


def site(path: str = "") -> str:
    return f"{settings.EMEND_SITE_URL}/frus1958-60v18/{path}"


# -- HTML -------------------------------------------------------------------------------------

def parse_html(data: bytes):
    return lxml.html.document_fromstring(data.decode("utf-8"))


@pytest.fixture
def volume_html(edition) -> bytes:
    return html.volume(volume_of(edition))


class TestHTML:
    def test_ids_are_unique_and_every_fragment_link_lands(self, volume_html):
        page = parse_html(volume_html)
        ids = page.xpath("//@id")
        assert len(ids) == len(set(ids))
        fragments = [h[1:] for h in page.xpath("//@href") if h.startswith("#")]
        assert fragments and not set(fragments) - set(ids)

    def test_title_block_and_contents(self, volume_html):
        page = parse_html(volume_html)
        [header] = page.xpath("//header[@id='emend-title']")
        assert "Japan; Korea, Volume XVIII" in header.text_content()
        assert "Edited by Madeline Chi and Louis J. Smith" in header.text_content()
        toc = page.xpath("//nav[@id='emend-contents']//a/@href")
        assert toc == ["#comp1", "#d142", "#d143", "#d144"]
        # The compilation's documents are a list inside its entry.
        nested = page.xpath("//nav[@id='emend-contents']/ol/li/ol/li/a/@href")
        assert nested == ["#d142", "#d143", "#d144"]
        articles = page.xpath("//article[contains(@class, 'tei-document')]/@id")
        assert articles == ["comp1", "d142", "d143", "d144"]

    def test_footnote_markers_and_notes_link_both_ways(self, volume_html):
        page = parse_html(volume_html)
        markers = page.xpath("//sup[contains(@class, 'fnref')]/a")
        assert len(markers) == 6  # a source note and note 1 in each document
        for marker in markers:
            [note] = page.xpath(f"//li[@id='{marker.get('href')[1:]}']")
            [back] = note.xpath(".//a[@class='fn-back']")
            assert back.get("href") == f"#{marker.get('id')}"

    def test_page_markers_have_ids(self, volume_html):
        page = parse_html(volume_html)
        for doc, number in [("d142", 276), ("d143", 278), ("d144", 279)]:
            [marker] = page.xpath(f"//article[@id='{doc}']//*[@id='pg_{number}']")
            assert marker.text_content().strip() == f"[Page {number}]"

    def test_links_between_documents_stay_in_the_file(self, volume_html):
        page = parse_html(volume_html)
        [d142_source] = page.xpath("//li[@id='fn-d142fn0']")
        hrefs = d142_source.xpath(".//a[not(@class)]/@href")
        # "See also Documents 139–141 and 143–146": only 143 is in this volume.
        assert hrefs == [site("d139/"), site("d141/"), "#d143", site("d146/")]

    def test_a_single_document_links_to_the_site(self, edition):
        vol, part = single(edition, "d142")
        page = parse_html(html.document(vol, part))
        assert not page.xpath("//nav[@id='emend-contents']")
        assert page.xpath("//article/@id") == ["d142"]
        assert site("d143/") in page.xpath("//li[@id='fn-d142fn0']//a/@href")
        assert "Built from revision 1 of Document 142 (d142)" in page.text_content()

    def test_no_script_and_nothing_loaded_from_elsewhere(self, volume_html):
        page = parse_html(volume_html)
        assert not page.xpath("//script | //link | //img | //iframe | //object | //embed")
        assert not page.xpath("//@src | //@*[starts-with(name(), 'on')]")
        for href in page.xpath("//@href"):
            assert href.startswith("#") or href.startswith(settings.EMEND_SITE_URL), href
        style = "".join(page.xpath("//style/text()"))
        assert "@import" not in style and "url(" not in style

    @pytest.mark.parametrize("manifest", [False, True], ids=["static", "manifest"])
    def test_the_style_is_the_sites_document_css(self, edition, settings, manifest):
        """Read from the app's static files whether or not they are collected and hashed."""
        if manifest:
            settings.STORAGES = {**settings.STORAGES, "staticfiles": {
                "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}}
        html.style.cache_clear()
        document_css = (Path(settings.BASE_DIR) / "edition" / "static" / "edition"
                        / "document.css").read_text(encoding="utf-8")
        page = parse_html(html.document(*single(edition, "d142")))
        style = "".join(page.xpath("//style/text()")).lstrip()
        assert style.startswith(document_css) and ".colophon" in style[len(document_css):]

    def test_colophon_names_every_revision_and_the_site(self, edition):
        edit(edition, "d142", "north Korea", "North Korea")
        page = parse_html(html.volume(volume_of(edition)))
        [colophon] = page.xpath("//footer[@id='emend-colophon']")
        assert ("Built from revisions comp1 r1, d142 r2, d143 r1, d144 r1, on 2025-03-14 "
                "09:26 UTC") in (
            " ".join(colophon.text_content().split()))
        assert colophon.xpath(".//a/@href") == [site()]
        assert site("d142/r/2/") in page.xpath("//p[@class='document-source']/a/@href")

    def test_a_script_in_a_footnote_is_text(self, edition):
        edit(edition, "d142", "Telegram 515 from Seoul",
             "Telegram 515 &lt;script&gt;alert('x')&lt;/script&gt; from Seoul")
        data = html.volume(volume_of(edition))
        assert b"<script" not in data
        page = parse_html(data)
        assert SCRIPT in page.xpath("//li[@id='fn-d142fn1']")[0].text_content()

    def test_a_link_to_another_documents_note(self, edition):
        edit(edition, "d142", "Telegram 515 from Seoul",
             f'Telegram 515 (see <ref xmlns="{TEI_NS}" target="#d143fn1">note 1 to Document '
             "143</ref>) from Seoul")
        page = parse_html(html.volume(volume_of(edition)))
        [link] = page.xpath("//li[@id='fn-d142fn1']//a[not(@class)]")
        assert link.get("href") == "#fn-d143fn1" and page.xpath("//*[@id='fn-d143fn1']")
        vol, part = single(edition, "d142")
        page = parse_html(html.document(vol, part))
        [link] = page.xpath("//li[@id='fn-d142fn1']//a[not(@class)]")
        assert link.get("href") == site("d143/#fn-d143fn1")

    def test_a_document_imported_later_gets_in_file_links(self, sample_edition):
        # d142's article is cached before d143 exists; the volume built after d143's import
        # must still link to it inside the file.
        before = parse_html(html.volume(volume_of(sample_edition)))
        assert site("d143/") in before.xpath("//li[@id='fn-d142fn0']//a/@href")
        import_text(D143_TEXT, edition=sample_edition)
        after = parse_html(html.volume(volume_of(sample_edition)))
        assert "#d143" in after.xpath("//li[@id='fn-d142fn0']//a/@href")


# -- plain text -------------------------------------------------------------------------------

class TestText:
    def test_the_volume_holds_every_document_in_order(self, edition):
        vol = volume_of(edition)
        data = text.volume(vol).decode("utf-8")
        pieces = data.split(text.SEPARATOR)
        assert len(pieces) == 2 + len(vol.parts)  # title block, units, colophon
        for piece, part in zip(pieces[1:-1], vol.parts, strict=True):
            assert piece.endswith(render_plaintext(part.revision.element))
        # The compilation is a unit of its own: its heading, then its documents.
        assert pieces[1] == "Japan\n"
        assert pieces[2].startswith("142. Memorandum of Conversation[Source]\n")
        assert pieces[0].startswith("Foreign Relations of the United States, 1958–1960, Japan; "
                                    "Korea, Volume XVIII\nEdited by Madeline Chi and Louis J. "
                                    "Smith\n")

    def test_the_sample_text_layout_is_corrected(self, edition):
        data = text.volume(volume_of(edition)).decode("utf-8")
        d143 = data.split(text.SEPARATOR)[3]
        # The sample file runs "Conversation0", "recognition.1" and "Secretary [Page 278]
        # Herter’s" together; the export brackets markers and gives the page its own line.
        assert d143.startswith("143. Memorandum of Conversation[Source]\n\nSUBJECT\n\n")
        assert "tantamount to recognition.[1] The Prime Minister" in d143
        assert "with Secretary\n[Page 278]\nHerter’s approval" in d143
        assert "\n  [1] The incident is described in telegram 2728" in d143
        assert "Conversation0" not in data and data.endswith("\n")

    def test_colophon(self, edition):
        data = text.volume(volume_of(edition)).decode("utf-8")
        colophon = data.split(text.SEPARATOR)[-1]
        assert colophon.startswith("Built from revisions comp1 r1, d142 r1, d143 r1, d144 r1 ")
        assert "on 2025-03-14 09:26 UTC." in colophon and site() in colophon

    def test_a_single_document(self, edition):
        vol, part = single(edition, "d144")
        title, body, colophon = text.document(vol, part).decode("utf-8").split(text.SEPARATOR)
        assert body == render_plaintext(part.revision.element)
        assert "Built from revision 1 of Document 144 (d144)" in colophon
        assert site("d144/r/1/") in colophon


# -- JSON -------------------------------------------------------------------------------------

def load_json(data: bytes) -> dict:
    return json.loads(data.decode("utf-8"))


@pytest.fixture
def volume_json(edition) -> dict:
    return load_json(annotations.volume(volume_of(edition)))


def selectors(annotation: dict) -> tuple[dict, dict]:
    by_type = {s["type"]: s for s in annotation["target"]["selector"]}
    return by_type["TextQuoteSelector"], by_type["TextPositionSelector"]


def check_shape(annotation: dict) -> None:
    """The W3C Web Annotation Data Model's required keys, by hand (no jsonschema here)."""
    assert annotation["@context"] == "http://www.w3.org/ns/anno.jsonld"
    assert annotation["type"] == "Annotation"
    assert annotation["id"].startswith(annotation["target"]["source"] + "#")
    assert annotation["motivation"] in ("commenting", "identifying")
    bodies = annotation["body"] if isinstance(annotation["body"], list) else [annotation["body"]]
    for body in bodies:
        assert body["type"] == "TextualBody" and isinstance(body["value"], str)
        assert body["format"] in ("text/plain", "text/html")
    assert bodies[0]["format"] == "text/plain"
    quote, position = selectors(annotation)
    assert set(quote) == {"type", "exact", "prefix", "suffix"}
    assert set(position) == {"type", "start", "end"}


def unit(data: dict, *ids: str) -> list[dict]:
    """The JSON's units of these ids, in the file's order."""
    return [d for d in data["documents"] if d["id"] in ids]


class TestJSON:
    def test_edition_and_documents(self, volume_json, edition):
        assert volume_json["edition"]["slug"] == "frus1958-60v18"
        assert volume_json["edition"]["editors"] == ["Madeline Chi", "Louis J. Smith"]
        assert volume_json["built_at"] == "2025-03-14T09:26:00+00:00"
        docs = volume_json["documents"]
        assert [d["id"] for d in docs] == ["comp1", "d142", "d143", "d144"]
        assert [(d["type"], d["matter"], d["parent"], d["number"]) for d in docs] == [
            ("compilation", "body", None, None), ("document", "body", "comp1", 142),
            ("document", "body", "comp1", 143), ("document", "body", "comp1", 144)]
        assert docs[0]["title"] == "Japan"
        for doc in docs:
            revision = edition.documents.get(xml_id=doc["id"]).current_revision
            assert doc["text"] == revision.text and doc["checksum"] == revision.checksum
            assert doc["revision"] == 1 and doc["url"] == site(f"{doc['id']}/r/1/")
        assert docs[1]["title"] == "Memorandum of Conversation"

    def test_selectors_select_what_they_quote(self, volume_json):
        texts = {site(f"{d['id']}/r/{d['revision']}/"): d["text"]
                 for d in volume_json["documents"]}
        assert len(volume_json["annotations"]) == 9  # 2 notes and a page in each
        for annotation in volume_json["annotations"]:
            check_shape(annotation)
            doc_text = texts[annotation["target"]["source"]]
            quote, position = selectors(annotation)
            start, end = position["start"], position["end"]
            assert quote["exact"] and doc_text[start:end] == quote["exact"]
            assert doc_text[:start].endswith(quote["prefix"])
            assert doc_text[end:].startswith(quote["suffix"])

    def test_one_annotation_per_footnote_of_the_tei(self, volume_json, edition):
        for doc in unit(volume_json, "d142", "d143", "d144"):
            element = edition.documents.get(xml_id=doc["id"]).current_revision.element
            notes = element.xpath(".//tei:note[not(ancestor::tei:note)]",
                                  namespaces={"tei": TEI_NS})
            source = doc["url"]
            commenting = [a for a in volume_json["annotations"]
                          if a["target"]["source"] == source and a["motivation"] == "commenting"]
            assert len(commenting) == len(doc["footnotes"]) == len(notes) == 2

    def test_a_footnote_targets_the_word_before_its_marker(self, volume_json):
        [d143] = unit(volume_json, "d143")
        [note] = [f for f in d143["footnotes"] if f["label"] == "1"]
        assert note["text"].startswith("The incident is described in telegram 2728")
        [annotation] = [a for a in volume_json["annotations"]
                        if a["id"] == d143["url"] + "#fn-d143fn1"]
        quote, position = selectors(annotation)
        assert quote["exact"] == "recognition." and position["end"] == note["offset"]
        assert annotation["body"][0]["value"] == note["text"]
        assert annotation["body"][1]["format"] == "text/html"

    def test_page_276_in_d142(self, volume_json):
        [d142] = unit(volume_json, "d142")
        [page] = d142["pages"]
        assert page == {"id": "pg_276", "n": "276", "offset": page["offset"]}
        [annotation] = [a for a in volume_json["annotations"] if a["id"].endswith("#pg_276")]
        assert annotation["target"]["source"] == site("d142/r/1/")
        assert annotation["motivation"] == "identifying"
        assert annotation["body"]["value"] == "Page 276"
        quote, position = selectors(annotation)
        # The first word of page 276: "…expressed appreciation [Page 276] for the restrained…"
        assert quote["exact"] == "for" and position["start"] == page["offset"]
        assert quote["prefix"].endswith("expressed appreciation ")

    def test_structure(self, volume_json):
        for doc in volume_json["documents"]:
            blocks, doc_text = doc["structure"], doc["text"]
            covered = "\n\n".join(doc_text[b["start"]:b["end"]] for b in blocks)
            assert covered == doc_text  # every block, in order, separated by a blank line
        [d142] = [d["structure"] for d in unit(volume_json, "d142")]
        assert [(b["type"], b.get("subtype")) for b in d142[:4]] == [
            ("head", "document"), ("dateline", None), ("head", "subject"), ("item", "subject")]

    def test_a_single_document(self, edition):
        vol, part = single(edition, "d144")
        data = load_json(annotations.document(vol, part))
        assert [d["id"] for d in data["documents"]] == ["d144"]
        assert {a["target"]["source"] for a in data["annotations"]} == {site("d144/r/1/")}

    def test_a_revision_with_earlier_tei_names_its_own_number(self, edition):
        # r3 has r1's TEI (a revert), hence its checksum and its cached fragment.
        original = edition.documents.get(xml_id="d144").current_revision.tei
        annotations.volume(volume_of(edition))
        edit(edition, "d144", "typhoons", "cyclones")
        document = edition.documents.get(xml_id="d144")
        document.add_revision(original, by=None, summary="revert")
        data = load_json(annotations.volume(volume_of(edition)))
        [d144] = unit(data, "d144")
        assert d144["revision"] == 3 and d144["url"] == site("d144/r/3/")
        ids = [a["id"] for a in data["annotations"] if "d144" in a["id"]]
        assert ids and all(i.startswith(site("d144/r/3/#")) for i in ids)

    def test_a_script_in_a_footnote_is_data(self, edition):
        edit(edition, "d142", "Telegram 515 from Seoul",
             "Telegram 515 &lt;script&gt;alert('x')&lt;/script&gt; from Seoul")
        data = load_json(annotations.volume(volume_of(edition)))
        [annotation] = [a for a in data["annotations"] if a["id"].endswith("#fn-d142fn1")]
        plain, rich = annotation["body"]
        assert SCRIPT in plain["value"]
        assert "<script" not in rich["value"] and "&lt;script&gt;" in rich["value"]

    def test_output_is_deterministic_utf8(self, edition):
        first = annotations.volume(volume_of(edition))
        with sources.refreshing():  # everything re-rendered
            again = annotations.volume(volume_of(edition))
        assert first == again
        assert "1958–1960".encode() in first  # not \u2013: ensure_ascii is off


# -- incremental rebuilds ---------------------------------------------------------------------

def counting(monkeypatch, module, name: str) -> list:
    calls = []
    original = getattr(module, name)

    def wrapper(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return calls


@pytest.mark.parametrize("module, renderer", [
    (html, "render_html"), (text, "render_plaintext"), (annotations, "_build")])
def test_a_rebuild_after_one_change_renders_one_document(edition, monkeypatch, module,
                                                        renderer):
    ExportFragment.objects.all().delete()  # the import's gate left every piece in the store
    calls = counting(monkeypatch, module, renderer)
    module.volume(volume_of(edition))
    assert len(calls) == 4  # the compilation's heading and three documents
    edit(edition, "d143", "Peiping", "Peking")
    vol = volume_of(edition)
    module.volume(vol)
    assert len(calls) == 5
    # The single document's file (as a build writes it) uses the same cached fragment.
    module.document(*single(edition, "d143"))
    assert len(calls) == 5


def test_the_json_reuses_the_html_articles(edition, monkeypatch):
    ExportFragment.objects.all().delete()  # the import's gate left every piece in the store
    calls = counting(monkeypatch, html, "render_html")
    html.volume(volume_of(edition))
    annotations.volume(volume_of(edition))
    assert len(calls) == 4  # one per unit


def test_an_import_leaves_every_piece_for_the_first_build(edition, monkeypatch):
    # The gate rendered them to check the import; the build does not render them again.
    calls = counting(monkeypatch, html, "render_html")
    html.volume(volume_of(edition))
    annotations.volume(volume_of(edition))
    text_calls = counting(monkeypatch, text, "render_plaintext")
    text.volume(volume_of(edition))
    assert calls == [] and text_calls == []
