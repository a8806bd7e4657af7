from collections import Counter

import pytest

from edition.tei import TEI_NS, XML_ID, tei
from edition.tei.fromtext import parse_plaintext
from edition.tei.parsing import TEIError, parse_document_div
from tests.helpers import D143_TEXT as SAMPLE
NS = {"t": TEI_NS}


def words(element) -> Counter:
    return Counter(" ".join(element.itertext()).split())


def one(element, path: str):
    (found,) = element.xpath(path, namespaces=NS)
    return found


@pytest.fixture(scope="module")
def sample():
    text = SAMPLE.read_text(encoding="utf-8")
    result = parse_plaintext(text)
    return text, result, parse_document_div(result.tei)


class TestSample:
    def test_identity_and_title(self, sample):
        _, result, div = sample
        assert (result.number, result.xml_id) == (143, "d143")
        assert result.title == "Memorandum of Conversation"
        assert div.get(XML_ID) == "d143"
        assert div.get("n") == "143"
        assert div.get("type") == "document"
        assert div.get("subtype") == "historical-document"

    def test_output_is_a_tei_div_declaring_frus(self, sample):
        _, result, div = sample
        assert div.tag == tei("div")
        assert div.nsmap == {None: TEI_NS, "frus": "http://history.state.gov/frus/ns/1.0"}
        assert result.tei.startswith('<div xmlns="http://www.tei-c.org/ns/1.0"')

    def test_source_note_sits_in_head(self, sample):
        _, _, div = sample
        head = one(div, "t:head")
        assert head.text == "143. Memorandum of Conversation"
        note = one(head, "t:note")
        assert (note.get("n"), note.get(XML_ID), note.get("type")) == ("0", "d143fn0", "source")
        assert note.text.startswith("Source: Department of State")
        # Content is not repaired here: the lost en-dashes are for editors to restore.
        assert note.text.endswith("See also Documents 139142 and 144146.")
        assert note.tail is None

    def test_footnote_anchored_after_recognition(self, sample):
        _, _, div = sample
        note = one(div, "t:p/t:note")
        assert (note.get("n"), note.get(XML_ID), note.get("type")) == ("1", "d143fn1", None)
        assert note.text.startswith("The incident is described in telegram 2728")
        assert note.text.endswith("See Supplement.")
        assert note.getprevious() is None
        assert note.getparent().text.endswith("tantamount to recognition.")
        assert note.tail.startswith(" The Prime Minister")

    def test_page_break_replaces_page_marker(self, sample):
        _, result, div = sample
        pb = one(div, "//t:pb")
        assert (pb.get("n"), pb.get(XML_ID)) == ("278", "pg_278")
        assert pb.getparent().text.endswith("with Secretary ")
        assert pb.tail.startswith("Herter’s approval")
        assert "[Page" not in result.tei

    def test_lists(self, sample):
        _, _, div = sample
        subject = one(div, "t:list[@type='subject']")
        assert one(subject, "t:head").text == "SUBJECT"
        assert [i.text for i in subject.xpath("t:item", namespaces=NS)] == [
            "Relations With Communist China"
        ]
        participants = one(div, "t:list[@type='participants']")
        assert one(participants, "t:head").text == "PARTICIPANTS"
        item = one(participants, "t:item")
        assert item.text is None and len(item) == 0

    def test_order_of_blocks(self, sample):
        _, _, div = sample
        assert [(c.tag.split("}")[1], c.get("type")) for c in div] == [
            ("head", None),
            ("list", "subject"),
            ("list", "participants"),
            ("p", None),
            ("p", None),
            ("p", None),
            ("p", None),
        ]

    def test_report(self, sample):
        _, result, _ = sample
        assert result.report[0] == "Heading: document 143, 'Memorandum of Conversation'"
        assert "Footnote list numbered from 1, markers from 0: matched in order" in result.report
        assert "PARTICIPANTS list has no entries (kept as an empty item)" in result.report
        assert "Source note matched to the marker after the heading" in result.report
        assert "Page break 278 recognised" in result.report
        assert "4 paragraphs" in result.report

    def test_no_word_is_lost(self, sample):
        text, _, div = sample
        expected = text.replace("Conversation0", "Conversation")
        expected = expected.replace("recognition.1 ", "recognition. ")
        expected = expected.replace("[Page 278]", "").replace("  • Relations", "Relations")
        expected = expected.replace("\n  1. Source:", "\nSource:").replace("\n  2. The", "\nThe")
        assert words(div) == Counter(expected.split())


def parse(text: str, **kwargs):
    result = parse_plaintext(text, **kwargs)
    return result, parse_document_div(result.tei)


def test_crlf_and_lone_cr_are_line_breaks():
    text = "12. Telegram1\r\n\r\nFirst.2 Then.\r\rSecond.\r\n\r\n1. Source: X.\r\n2. Y."
    result, div = parse(text)
    assert "\r" not in result.tei
    assert result.title == "Telegram"
    assert [p.text for p in div.xpath("t:p", namespaces=NS)] == ["First.", "Second."]
    source = one(div, "t:head/t:note")
    assert (source.get("n"), source.get("type"), source.text) == ("1", "source", "Source: X.")
    assert one(div, "t:p/t:note").text == "Y."
    assert not any("numbered from" in line for line in result.report)


def test_bom_is_stripped():
    result, div = parse("\ufeff5. Editorial Note\n\nBody.")
    assert result.number == 5
    assert one(div, "t:head").text == "5. Editorial Note"


def test_marker_without_list_entry_is_kept_as_text():
    result, div = parse("7. Title\n\nOne.1 Two.")
    assert one(div, "t:p").text == "One.1 Two."
    assert not div.xpath("//t:note", namespaces=NS)
    assert any("Marker 1 after 'One.' has no footnote list entry" in line for line in result.report)


def test_list_entry_without_marker_becomes_last_paragraph():
    result, div = parse("7. Title\n\nBody text.\n\n  1. A stray note.")
    assert [p.text for p in div.xpath("t:p", namespaces=NS)] == ["Body text.", "1. A stray note."]
    assert any("entry 1 has no marker" in line for line in result.report)


def test_source_entry_without_heading_marker_goes_to_head():
    result, div = parse("7. Title\n\nBody.1 More.\n\n1. Source: Files.\n2. Other.")
    source = one(div, "t:head/t:note")
    assert (source.get("n"), source.get("type"), source.text) == ("0", "source", "Source: Files.")
    note = one(div, "t:p/t:note")
    assert (note.get("n"), note.text) == ("1", "Other.")
    assert any("no marker in the heading" in line for line in result.report)


def test_numbers_after_spaces_and_out_of_sequence_are_text():
    result, div = parse("4. Title\n\nLot 64 D 559, CF 1584. Word3 here.1 End.\n\n1. Note.")
    p = one(div, "t:p")
    assert p.text == "Lot 64 D 559, CF 1584. Word3 here."
    assert one(p, "t:note").tail == " End."


def test_marker_after_closing_quote():
    _, div = parse("4. Title\n\nHe said “no.”1 Then left.2\n\n1. First.\n2. Second.")
    notes = div.xpath("//t:note", namespaces=NS)
    assert [(n.get("n"), n.text) for n in notes] == [("1", "First."), ("2", "Second.")]
    assert notes[0].getparent().text == "He said “no.”"
    assert notes[1].tail is None


def test_heading_without_number_uses_given_number():
    result, div = parse("Memorandum for the Record\n\nText.", number=12)
    assert (result.number, result.xml_id, result.title) == (12, "d12", "Memorandum for the Record")
    assert one(div, "t:head").text == "12. Memorandum for the Record"
    assert any("no number" in line for line in result.report)


def test_given_number_overrides_heading_and_is_reported():
    result, div = parse("142. Title\n\nText.", number=143)
    assert (result.number, div.get(XML_ID)) == (143, "d143")
    assert any("says document 142" in line for line in result.report)


@pytest.mark.parametrize(
    "text",
    ["", "  \n\r\n\t", "\ufeff", "Memorandum for the Record\n\nText.", "[Page 3]\n\nText."],
)
def test_not_a_document_raises(text):
    with pytest.raises(TEIError):
        parse_plaintext(text)


def test_page_marker_on_its_own_line_is_a_block_pb():
    result, div = parse("9. T\n\nFirst.\n\n[Page 12]\n\nSecond.")
    assert [c.tag for c in div] == [tei("head"), tei("p"), tei("pb"), tei("p")]
    pb = div[2]
    assert (pb.get("n"), pb.get(XML_ID), pb.tail) == ("12", "pg_12", None)
    assert "Page break 12 recognised" in result.report


@pytest.mark.parametrize(
    "line", ["Secretary [Page 5] Herter", "Secretary[Page 5] Herter", "Secretary [Page 5]Herter"]
)
def test_inline_page_break_keeps_one_space_before_it(line):
    _, div = parse(f"9. T\n\n{line}")
    p = one(div, "t:p")
    assert (p.text, p[0].tail) == ("Secretary ", "Herter")


def test_page_break_at_paragraph_start_adds_no_space():
    _, div = parse("9. T\n\n[Page 5] Herter said.")
    p = one(div, "t:p")
    assert (p.text, p[0].get("n"), p[0].tail) == (None, "5", "Herter said.")


def test_nfc_applied_and_astral_characters_kept():
    result, div = parse("3. Cafe\u0301\n\nSen\u0303or 𝔄𝔅 😀 e\u0301te\u0301.")
    assert result.title == "Caf\u00e9"
    assert one(div, "t:p").text == "Se\u00f1or 𝔄𝔅 😀 \u00e9t\u00e9."


def test_control_characters_xml_cannot_hold_are_dropped_and_reported():
    result, div = parse("3. Title\n\nPage\x0cbreak.")
    assert one(div, "t:p").text == "Pagebreak."
    assert any("control character" in line for line in result.report)


def test_bulleted_items_and_verbatim_bullets_outside_lists():
    _, div = parse("3. T\n\nSUBJECT\n\n- One\n* Two\n\nText.\n\n• Not in a list")
    subject = one(div, "t:list[@type='subject']")
    assert [i.text for i in subject.xpath("t:item", namespaces=NS)] == ["One", "Two"]
    assert [p.text for p in div.xpath("t:p", namespaces=NS)] == ["Text.", "• Not in a list"]
