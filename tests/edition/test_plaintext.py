"""Plain-text rendering of a FRUS document div (edition/tei/plaintext.py); no database needed."""

from __future__ import annotations

import re

import pytest
from lxml import etree

from edition.tei import TEI_NS
from edition.tei.parsing import parse_document_div
from edition.tei.plaintext import render_plaintext
from edition.tei.textlayer import text_of
from tests.helpers import EXCERPT as SAMPLE

NS = {"tei": TEI_NS}
MARKER = re.compile(r"\[(Source|[^\]\s]+)\]")
PAGE_LINE = re.compile(r"^\[Page [^\]]+\]$")


def sample_document(doc_id: str) -> etree._Element:
    tree = etree.parse(str(SAMPLE))
    (div,) = tree.xpath(f"//tei:div[@type='document'][@xml:id='{doc_id}']", namespaces=NS)
    return div


def tei_div(body: str) -> etree._Element:
    return parse_document_div(
        f'<div xmlns="{TEI_NS}" type="document" xml:id="d150" n="150">{body}</div>'
    )


def split_notes(text: str) -> tuple[str, list[str]]:
    """(running text, footnote lines): the notes are the final block of "  [label] …" lines."""
    body, _, last = text.rstrip("\n").rpartition("\n\n")
    lines = last.split("\n")
    assert all(line.startswith("  [") for line in lines), lines
    return body, lines


def reading_text(body: str) -> str:
    """The running text without markers, page lines and bullets: what the text layer holds."""
    lines = [line for line in body.split("\n") if not PAGE_LINE.match(line)]
    lines = [re.sub(r"^ *• ", "", line) for line in lines]
    return MARKER.sub("", "\n".join(lines))


@pytest.fixture(scope="module")
def d142() -> str:
    return render_plaintext(sample_document("d142"))


def test_first_line_is_the_heading_with_its_source_marker(d142):
    assert d142.split("\n")[:2] == ["142. Memorandum of Conversation[Source]", ""]


def test_page_break_stands_alone_inside_the_paragraph(d142):
    lines = d142.split("\n")
    i = lines.index("[Page 276]")
    assert lines[i - 1].endswith("Secretary Herter expressed appreciation")
    assert lines[i + 1].startswith("for the restrained manner")


def test_page_break_between_blocks_is_its_own_block():
    text = render_plaintext(sample_document("d144"))
    expected = "  • [Here follows the same list as Document 139.]\n\n[Page 279]\n\nPrime Minister"
    assert f"\n\n{expected}" in text


def test_footnotes_come_last_source_first(d142):
    _, notes = split_notes(d142)
    assert notes[0].startswith("  [Source] Source: Department of State, Conference Files")
    assert notes[0].endswith("See also Documents 139–141 and 143–146.")
    assert notes[1].startswith("  [1] Telegram 515 from Seoul, January 18")
    assert len(notes) == 2


def test_markers_match_the_footnote_labels(d142):
    body, notes = split_notes(d142)
    markers = [m for m in MARKER.findall(body) if not m.startswith("Page")]
    labels = [re.match(r"  \[([^\]]+)\]", line)[1] for line in notes]
    assert markers == ["Source", "1"]
    assert sorted(markers) == sorted(labels)
    assert "from Seoul[1] setting forth" in body  # glued to the word before


def test_lists_dateline_and_layout(d142):
    body, _ = split_notes(d142)
    blocks = body.split("\n\n")
    assert blocks[:6] == [
        "142. Memorandum of Conversation[Source]",
        "Washington, January 19, 1960, 3:30–5:30 p.m.",
        "SUBJECT",
        "  • Problems Relating to the Republic of Korea",
        "PARTICIPANTS",
        "  • [Here follows the same list as Document 139.]",
    ]
    assert blocks[6].startswith("The Prime Minister expressed")
    assert blocks[7].startswith("Foreign Minister Fujiyama") and "\n" not in blocks[7]
    assert len(blocks) == 8


def test_ends_with_one_newline_and_no_stray_spacing(d142):
    assert d142.endswith("294.9522/1–1860)\n") and not d142.endswith("\n\n")
    assert "\n\n\n" not in d142
    assert not re.search(r"  (?!\[|•)", d142.replace("\n  ", "\n"))  # no doubled spaces
    assert all(line == line.rstrip() for line in d142.split("\n"))


@pytest.mark.parametrize("doc_id", ["d142", "d144"])
def test_words_are_those_of_the_text_layer(doc_id):
    div = sample_document(doc_id)
    body, _ = split_notes(render_plaintext(div))
    layer = text_of(div)
    assert reading_text(body).split() == layer.split()
    # Paragraphs without page breaks are the text layer's blocks, character for character.
    blocks = set(layer.split("\n\n"))
    for block in reading_text(body).split("\n\n"):
        if "\n" not in block:
            assert block.strip() in blocks


def test_marker_glues_to_the_word_before_even_across_a_space():
    text = render_plaintext(
        tei_div('<head>1. T</head><p>recognition. <note n="1">N.</note> Then <note n="2">M.'
                "</note></p>")
    )
    assert text.split("\n\n")[1] == "recognition.[1] Then[2]"


def test_whitespace_nfc_and_line_breaks():
    text = render_plaintext(
        tei_div(
            "<head>1. T</head><p>\n  Cafe\u0301\t and\u00a0 \n more  </p>"
            "<closer><salute>Sincerely,</salute><signed>John Foster Dulles</signed>"
            "Line one<lb/>Line two</closer>"
        )
    )
    assert text == (
        "1. T\n\nCaf\u00e9 and\u00a0 more\n\nSincerely,\n\nJohn Foster Dulles\n\n"
        "Line one\nLine two\n"
    )


def test_notes_with_paragraphs_nested_notes_and_page_breaks_stay_on_one_line():
    text = render_plaintext(
        tei_div(
            '<head>1. T</head><p>Text.<note n="1"><p>First <note n="1a">nested</note>.</p>'
            '<p>Second <pb n="5"/> part.</p></note></p>'
        )
    )
    assert text == "1. T\n\nText.[1]\n\n  [1] First [nested]. Second [Page 5] part.\n"


def test_nested_lists_labels_tables_and_quotes():
    text = render_plaintext(
        tei_div(
            '<head>1. T</head><list type="ordered"><head>Points</head><label>a.</label>'
            "<item>Alpha <list><item>inner</item></list></item>"
            '<pb n="6"/><item>Beta</item></list>'
            '<quote rend="blockquote"><p>Quoted.</p></quote>'
            "<table><row><cell>Year</cell><cell>Count</cell></row>"
            "<row><cell>1960</cell><cell>5</cell></row></table>"
            "<p>Unknown <frobnicate>words</frobnicate> kept.</p>"
        )
    )
    assert text == (
        "1. T\n\nPoints\n\n  a. Alpha\n    • inner\n[Page 6]\n  2. Beta\n\n    Quoted.\n\n"
        "Year | Count\n1960 | 5\n\nUnknown words kept.\n"
    )


def test_document_without_notes_has_no_note_block():
    assert render_plaintext(tei_div("<head>1. T</head><p>Plain.</p>")) == "1. T\n\nPlain.\n"


def test_empty_item_prints_no_bullet():
    from lxml import etree

    from edition.tei import TEI_NS
    from edition.tei.plaintext import render_plaintext

    div = etree.fromstring(
        f'<div xmlns="{TEI_NS}" type="document"><head>1. T</head>'
        '<list type="participants"><head>PARTICIPANTS</head><item/></list><p>Text.</p></div>'
    )
    assert render_plaintext(div) == "1. T\n\nPARTICIPANTS\n\nText.\n"
