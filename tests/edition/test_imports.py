"""import_tei and import_text (edition/imports.py) and their management commands."""

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from lxml import etree

from edition.exporting.tei import document_tei
from edition.imports import import_tei, import_text
from edition.models import Document, Edition, Revision
from edition.tei import FRUS_NS, TEI_NS, tei
from edition.tei.parsing import TEIError
from edition.tei.textlayer import build, text_of
from tests.helpers import D143_TEXT, EXCERPT

pytestmark = pytest.mark.django_db


def write(tmp_path: Path, content: str | bytes, name: str = "volume.xml") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def minimal_volume(body: str, *, header_extra: str = "", slug: str = "vol1") -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<TEI xmlns="{TEI_NS}" xmlns:frus="{FRUS_NS}" xml:id="{slug}">
  <teiHeader><fileDesc><titleStmt><title type="complete">A Volume</title>{header_extra}</titleStmt>
  <publicationStmt><publisher>GPO</publisher></publicationStmt>
  <sourceDesc><p>test</p></sourceDesc></fileDesc></teiHeader>
  <text><body>{body}</body></text>
</TEI>"""


DOC = '<div type="document" xml:id="d1" n="1"><head>1. Telegram</head><p>Text one.</p></div>'


def comparable(element: etree._Element):
    """Elements and attributes in order, text as the text layer: what a round trip keeps."""
    return [(e.tag, dict(e.attrib)) for e in element.iter() if isinstance(e.tag, str)], text_of(element)


class TestImportTei:
    def test_sample_creates_edition_documents_and_first_revisions(self, sample_edition):
        edition = sample_edition
        assert edition.slug == "frus1958-60v18"
        assert edition.title.startswith("Foreign Relations of the United States, 1958–1960")
        assert edition.editors == ["Madeline Chi", "Louis J. Smith"]
        assert edition.pub_date == "1994"
        docs = list(edition.documents.with_current())
        assert [(d.xml_id, d.number, d.title) for d in docs] == [
            ("comp1", None, "Japan"),
            ("d142", 142, "Memorandum of Conversation"),
            ("d144", 144, "Memorandum of Conversation"),
        ]
        assert docs[1].part == "Japan"
        assert docs[1].date_min.isoformat() == "1960-01-19T20:30:00+00:00"
        assert all(d.current_revision.number == 1 for d in docs)
        assert docs[1].current_revision.text.startswith("142. Memorandum of Conversation\n\n")

    def test_export_gives_back_the_same_elements_attributes_and_text(self, sample_edition, tei_all):
        original = etree.parse(str(EXCERPT))
        # The documents (the compilation's own revision is its heading, test_volumes.py).
        for document in sample_edition.documents.with_current().filter(div_type="document"):
            exported = etree.fromstring(document_tei(sample_edition, document.current_revision))
            [div] = exported.findall(f".//{tei('div')}[@type='document']")
            [source] = original.xpath(f"//t:div[@xml:id='{document.xml_id}']",
                                      namespaces={"t": TEI_NS})
            assert comparable(div) == comparable(source)
            header = exported.find(tei("teiHeader"))
            assert comparable(header) == comparable(original.find(tei("teiHeader")))
            for element in exported.iter():
                for name in [a for a in element.attrib if a.startswith(f"{{{FRUS_NS}}}")]:
                    del element.attrib[name]
            assert tei_all.validate(exported), tei_all.error_log

    def test_skeleton_keeps_what_lies_between_documents(self, sample_edition):
        skeleton = sample_edition.tei_skeleton
        assert "<?emend-document d142?>" in skeleton
        assert 'xml:id="pg_277"' in skeleton
        assert skeleton.index("d142?>") < skeleton.index("pg_277") < skeleton.index("d144?>")
        assert "<?emend-content comp1?>" in skeleton  # the compilation's head is its unit's
        assert "Prime Minister" not in skeleton

    def test_existing_edition_is_refused(self, sample_edition):
        with pytest.raises(TEIError, match="already exists"):
            import_tei(EXCERPT)

    def test_update_adds_revisions_only_where_the_tei_differs(self, sample_edition, tmp_path):
        changed = EXCERPT.read_text().replace("Parsons</persName> added", "Parsons</persName> said")
        result = import_tei(write(tmp_path, changed), update=True)
        assert result.updated == ["d142"] and result.unchanged == ["d144", "comp1"]
        d142 = Document.objects.get(xml_id="d142")
        assert d142.current_revision.number == 2
        assert d142.current_revision.parent.number == 1
        assert "Parsons said" in d142.current_revision.text
        assert "Parsons added" in d142.revisions.get(number=1).text

    def test_update_keeps_documents_missing_from_the_file(self, sample_edition, tmp_path):
        tree = etree.parse(str(EXCERPT))
        [d144] = tree.xpath("//t:div[@xml:id='d144']", namespaces={"t": TEI_NS})
        d144.getparent().remove(d144)
        result = import_tei(write(tmp_path, etree.tostring(tree)), update=True)
        assert result.kept == ["d144"]
        assert Document.objects.filter(xml_id="d144").exists()
        assert "<?emend-document d144?>" in Edition.objects.get().tei_skeleton

    def test_progress_is_reported_in_bytes(self, db):
        seen = []
        import_tei(EXCERPT, on_progress=seen.append)
        assert sum(seen) == EXCERPT.stat().st_size


BAD_INPUT = {
    "not xml": (b"this is not XML", "not well-formed"),
    "truncated": (minimal_volume(DOC)[:-40].encode(), "not well-formed"),
    "html": (b"<html><body><p>hi</p></body></html>", "not TEI"),
    "wrong namespace": (b'<TEI xmlns="urn:other"><teiHeader/></TEI>', "not TEI"),
    "no documents": (minimal_volume("<div><p>x</p></div>").encode(), "no <div type=\"document\">"),
    "duplicate ids": (minimal_volume(DOC + DOC).encode(), "used twice"),
    "document without id": (minimal_volume('<div type="document"><p>x</p></div>').encode(),
                             "has no xml:id"),
    "entity expansion": (
        b'<?xml version="1.0"?><!DOCTYPE TEI [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">'
        b']><TEI xmlns="http://www.tei-c.org/ns/1.0"><teiHeader/>&b;</TEI>',
        "DOCTYPE",
    ),
    "external entity": (
        b'<?xml version="1.0"?><!DOCTYPE TEI [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<TEI xmlns="http://www.tei-c.org/ns/1.0"><teiHeader/>&x;</TEI>',
        "DOCTYPE",
    ),
    "latin-1 bytes in a UTF-8 file": (minimal_volume(DOC.replace("one", "caf\xe9")).encode("latin-1"),
                                      "encoding"),
    "unknown declared encoding": (minimal_volume(DOC).replace('"UTF-8"', '"x-klingon"').encode(),
                                  "encoding"),
}


class TestBadInput:
    @pytest.mark.parametrize("case", BAD_INPUT)
    def test_refused_with_a_clear_message_and_nothing_written(self, case, tmp_path):
        content, message = BAD_INPUT[case]
        with pytest.raises(TEIError, match=message):
            import_tei(write(tmp_path, content))
        assert not Edition.objects.exists()
        assert not Document.objects.exists()

    def test_utf16_with_a_byte_order_mark_is_read_correctly(self, tmp_path):
        volume = minimal_volume(DOC.replace("one", "café")).replace('"UTF-8"', '"UTF-16"')
        import_tei(write(tmp_path, volume.encode("utf-16")))
        assert "café" in Document.objects.get().current_revision.text

    def test_files_over_the_limit_are_refused_before_parsing(self, tmp_path):
        with override_settings(EMEND_MAX_IMPORT_BYTES=1000), pytest.raises(TEIError, match="over the"):
            import_tei(EXCERPT)

    def test_a_late_error_rolls_back_documents_already_read(self, tmp_path):
        late_duplicate = minimal_volume(DOC + DOC.replace('"d1"', '"d2"') + DOC)
        with pytest.raises(TEIError):
            import_tei(write(tmp_path, late_duplicate))
        assert not Document.objects.exists() and not Revision.objects.exists()

    def test_command_reports_the_error(self, tmp_path):
        with pytest.raises(CommandError, match="Nothing was imported"):
            call_command("import_tei", str(write(tmp_path, b"<nope")), stdout=io.StringIO())


class TestImportCommand:
    def test_import_tei_command(self, db):
        out = io.StringIO()
        call_command("import_tei", str(EXCERPT), stdout=out)
        assert "3 page(s) created" in out.getvalue()  # the compilation and two documents

    def test_import_text_command(self, sample_edition):
        out = io.StringIO()
        call_command("import_text", str(D143_TEXT), edition=sample_edition.slug, stdout=out)
        assert "imported d143" in out.getvalue()
        assert "matched in order" in out.getvalue()

    def test_import_text_into_a_missing_edition(self, db):
        with pytest.raises(CommandError, match="no edition"):
            call_command("import_text", str(D143_TEXT), edition="nope", stdout=io.StringIO())


class TestImportText:
    def test_d143_footnote_and_page_break(self, sample_edition):
        document, report = import_text(D143_TEXT, edition=sample_edition)
        revision = document.current_revision
        layer = build(revision.element)
        notes = {a.element.get("n"): a for a in layer.notes}
        assert layer.text[: notes["1"].offset].endswith("tantamount to recognition.")
        assert text_of(notes["1"].element).startswith("The incident is described in telegram 2728")
        assert notes["0"].element.get("type") == "source"
        [pb] = layer.page_breaks
        assert pb.element.get("n") == "278"
        assert layer.text[pb.offset - 10 : pb.offset + 6] == "Secretary Herter"
        assert "[Page 278]" not in revision.text
        assert document.title == "Memorandum of Conversation"

    def test_d143_takes_its_place_between_142_and_144(self, sample_edition):
        import_text(D143_TEXT, edition=sample_edition)
        assert list(sample_edition.documents.values_list("xml_id", flat=True)) == [
            "comp1", "d142", "d143", "d144"
        ]
        skeleton = Edition.objects.get().tei_skeleton
        assert skeleton.index("d142?>") < skeleton.index("d143?>") < skeleton.index("d144?>")
        d143 = Document.objects.get(xml_id="d143")
        # In the compilation its neighbours stand in, as the skeleton places it.
        assert d143.part == "Japan" and d143.parent.xml_id == "comp1"

    def test_second_import_is_refused(self, sample_edition):
        import_text(D143_TEXT, edition=sample_edition)
        with pytest.raises(TEIError, match="already has a document d143"):
            import_text(D143_TEXT, edition=sample_edition)
        assert Revision.objects.filter(document__xml_id="d143").count() == 1

    def test_wrong_encoding_is_refused(self, sample_edition, tmp_path):
        path = write(tmp_path, D143_TEXT.read_text().encode("cp1252", "replace"), "d143.txt")
        with pytest.raises(TEIError, match="not valid utf-8"):
            import_text(path, edition=sample_edition)
        assert not Document.objects.filter(xml_id="d143").exists()
        document, _ = import_text(path, edition=sample_edition, encoding="cp1252")
        assert "China’s" in document.current_revision.text

    def test_not_a_document(self, sample_edition, tmp_path):
        with pytest.raises(TEIError):
            import_text(write(tmp_path, "\n\n", "empty.txt"), edition=sample_edition)
