"""The checks (edition/checks/): what each must catch, what each must leave alone, and the real
samples, which must come out with no false suggestion."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from edition.checks import CHECKS, Volume, find
from edition.checks.text import DIGIT_RUN, curly_for, file_date, lost_range, misspelt
from edition.registers import _read
from edition.tei import XML_ID
from edition.tei.fromtext import parse_plaintext
from edition.tei.parsing import parse_document_div, safe_parser
from tests.helpers import D143_TEXT, SAMPLES

NS = 'xmlns="http://www.tei-c.org/ns/1.0"'


def div(body: str, notes: str = "") -> etree._Element:
    return parse_document_div(
        f'<div {NS} type="document" xml:id="d5" n="5"><head>5. Memorandum{notes}</head>'
        f"{body}</div>")


def found(body: str, check: str, volume: Volume = Volume(), notes: str = "") -> list:
    return [f for f in find(div(body, notes), volume) if f.check == check]


def ranges(text: str, volume: Volume = Volume()) -> list:
    return [lost_range(text, m.start(), m.end(), volume) for m in DIGIT_RUN.finditer(text)]


def test_every_check_has_a_name_label_and_explanation():
    assert len({c.name for c in CHECKS}) == len(CHECKS) >= 8
    assert all(len(c.name) <= 20 and c.label and len(c.explanation) > 40 for c in CHECKS)


# ------------------------------------------------------------------------------------------
# Ranges


@pytest.mark.parametrize("text, expected", [
    ("See also Documents 139142 and 144146.", [(139, 142), (144, 146)]),
    ("Documents 139, 140142, and 144146", [(140, 142), (144, 146)]),
    ("printed as Document 9981002 here", [(998, 1002)]),
    ("see pages 123125", [(123, 125)]),
    ("during the years 19581960 the", [(1958, 1960)]),
])
def test_lost_ranges_are_found(text, expected):
    assert [r for r in ranges(text) if r] == expected


@pytest.mark.parametrize("text", [
    "telegram 1884 from Tokyo",            # a telegram number: no range context
    "telegram 18841948 from Tokyo",        # eight digits named as an identifier
    "Lot 64 D 559, CF 1584.",              # file numbers
    "Central Files, 493.9411/4–1758",      # a decimal file number with its dash
    "Documents 139–142",                   # the dash is there
    "Documents 1391",                      # 1–391 or 13–91: neither is a plausible range
    "Documents 1000",                      # no split into ascending numbers
    "Documents 2010",                      # 20–10 descends; 2–010 has a leading zero
    "in 1960 and 19601958",                # years that descend
    "the sum of 12345678 dollars",         # eight digits that are not two years
])
def test_no_false_ranges(text):
    assert not any(ranges(text))


def test_a_document_range_must_start_within_the_volume():
    volume = Volume(document_numbers=frozenset({1, 2, 140}))
    assert ranges("Documents 139142", volume) == [(139, 142)]
    assert ranges("Documents 339342", volume) == [None]


def test_two_linked_documents_are_a_range_without_the_word():
    tree = div('<p>As in <ref target="#d139">139</ref><ref target="#d142">142</ref> above.</p>')
    (hit,) = [f for f in find(tree) if f.check == "range"]
    assert (hit.exact, hit.replacement, hit.change) == ("139142", "139–142", "text")


@pytest.mark.parametrize("digits, expected", [
    ("52160", "5–2160"), ("121559", "12–1559"), ("42358", "4–2358"), ("10358", "10–358"),
])
def test_file_number_dates_are_read(digits, expected):
    assert file_date(digits) == expected


@pytest.mark.parametrize("digits", ["11560", "13458", "05158", "99999", "13358"])
def test_ambiguous_or_impossible_file_dates_are_left_alone(digits):
    assert file_date(digits) is None


def test_a_file_number_that_lost_its_dash_is_found_and_one_with_it_is_not():
    (hit,) = found("<p>(Department of State, Central Files, 611.947/52160) and "
                   "493.9411/4–1758 and 611.94/1759.</p>", "range")
    assert (hit.exact, hit.replacement) == ("52160", "5–2160")
    assert "611.947/5–2160" in hit.explanation


# ------------------------------------------------------------------------------------------
# Footnote markers glued to words


@pytest.mark.parametrize("text, exact", [
    ("<p>Memorandum of Conversation0 held</p>", "0"),
    ("<p>tantamount to recognition.1 The Prime Minister</p>", "1"),
    ("<p>See telegram 3775.1 The Embassy</p>", "1"),
    ("<p>as reported.12</p>", "12"),
])
def test_glued_markers_are_found(text, exact):
    (hit,) = found(text, "glued-marker")
    assert (hit.exact, hit.replacement, hit.change) == (exact, "", "text")


@pytest.mark.parametrize("text", [
    "<p>a B52 and a MIG15 flew by</p>",       # designations in capitals
    "<p>the ratio was 2.5 The next</p>",      # a decimal with one digit before its point
    "<p>section 3.1 of the treaty</p>",       # a numbered section, no new sentence
    "<p>telegram 3775. The Embassy</p>",      # the number alone
    "<p>in 1958. 2 tanks</p>",                # a space after the point
    '<p>recognition.<note n="1" xml:id="d5fn1">Not found.</note> The</p>',  # a real note
])
def test_no_false_glued_markers(text):
    assert found(text, "glued-marker") == []


# ------------------------------------------------------------------------------------------
# [Page N], doubled words


def test_page_text_is_found_without_a_fix():
    (hit,) = found("<p>with Secretary [Page 278] Herter’s approval</p>", "page-text")
    assert (hit.exact, hit.change) == ("[Page 278]", "")


@pytest.mark.parametrize("text", ["<p>see page 278 [of the record]</p>", "<p>[Pages]</p>"])
def test_no_false_page_text(text):
    assert found(text, "page-text") == []


@pytest.mark.parametrize("text, exact, replacement", [
    ("<p>in the the meantime</p>", "the the", "the"),
    ("<p>The the Secretary</p>", "The the", "The"),
    ('<p>of the<pb n="5"/> the Embassy</p>', "the the", "the"),
    ("<p>to to be sure</p>", "to to", "to"),
])
def test_doubled_words_are_found(text, exact, replacement):
    (hit,) = found(text, "doubled-word")
    assert (hit.exact, hit.replacement) == (exact, replacement)


@pytest.mark.parametrize("text", [
    "<p>He had had enough.</p>",
    "<p>He said that that was all.</p>",
    "<p>What it is is a problem.</p>",
    "<p>They do do it.</p>",
    "<p>from Pago Pago today</p>",
    "<p>the theme</p>",
    "<p>the</p><p>the second paragraph</p>",  # a paragraph break between them
])
def test_no_false_doubled_words(text):
    assert found(text, "doubled-word") == []


# ------------------------------------------------------------------------------------------
# Unbalanced brackets and quotes


@pytest.mark.parametrize("text, exact", [
    ("<p>He said (without notes that</p>", "("),
    ("<p>He said without notes) that</p>", ")"),
    ("<p>the [text not declassified that</p>", "["),
    ("<p>He said “we will go.</p><p>Then he left.</p>", "“"),
    ("<p>we will go.” Then</p>", "”"),
])
def test_unbalanced_marks_are_found(text, exact):
    (hit,) = found(text, "unbalanced")
    assert (hit.exact, hit.change) == (exact, "")


@pytest.mark.parametrize("text", [
    "<p>He said (as before) that [text not declassified] and “so.”</p>",
    "<p>the points: a) trade, b) fishing, 2) rights, iv) the rest</p>",
    "<p>(22 USC 4351, et seq).</p>",
    "<p>“The first paragraph of a long quotation,</p><p>“and the last one.”</p>",
    "<p>(He went (as planned) home.)</p>",
])
def test_no_false_unbalanced_marks(text):
    assert found(text, "unbalanced") == []


def test_unbalanced_reads_footnotes_too():
    notes = '<note n="1" xml:id="d5fn1">Telegram 12 (from Tokyo.</note>'
    (hit,) = found("<p>Text.</p>", "unbalanced", notes=notes)
    assert (hit.note_id, hit.exact) == ("d5fn1", "(")
    assert hit.explanation.startswith("In footnote 1: ")


# ------------------------------------------------------------------------------------------
# Straight quotes among curly ones


@pytest.mark.parametrize("text, exact, replacement", [
    ("<p>Japan’s view and the U.S.'s view</p>", "'", "’"),
    ('<p>“So,” he said, "we go."</p>', '"', "“"),
    ("<p>Herter’s note of the '58 talks</p>", "'", "’"),
])
def test_straight_quotes_among_curly_are_found(text, exact, replacement):
    hits = found(text, "straight-quote")
    assert (hits[0].exact, hits[0].replacement, hits[0].change) == (exact, replacement, "text")


@pytest.mark.parametrize("text", [
    "<p>Japan's view and \"theirs\"</p>",   # straight throughout: the unit's own style
    "<p>Japan’s view and “theirs”</p>",    # curly throughout
])
def test_no_false_straight_quotes(text):
    assert found(text, "straight-quote") == []


@pytest.mark.parametrize("text, at, mark", [
    ('"we go"', 0, "“"), ('"we go"', 6, "”"), ("it's", 2, "’"), ("('tis)", 1, "‘"),
])
def test_curly_for(text, at, mark):
    assert curly_for(text, at) == mark


# ------------------------------------------------------------------------------------------
# Names unlike the persons list

PERSONS = Volume(persons={"p_HCA1": "Herter, Christian A.", "p_KN1": "Kishi, Nobusuke"})


@pytest.mark.parametrize("mention, name, expected", [
    ("Hertr", "Herter, Christian A.", ("Hertr", "Herter")),
    ("Secretary Hertr’s", "Herter, Christian A.", ("Hertr", "Herter")),
    ("Kihsi", "Kishi, Nobusuke", ("Kihsi", "Kishi")),
])
def test_misspelt_names_are_found(mention, name, expected):
    assert misspelt(mention, name) == expected


@pytest.mark.parametrize("mention", [
    "Herter", "Herter's", "Herter’s", "Secretary Herter", "the Secretary", "Christian Herter",
    "Herters’", "Mr. Herter", "Chris", "HERTER",
])
def test_names_used_as_in_the_list_are_left_alone(mention):
    assert misspelt(mention, "Herter, Christian A.") is None


def test_a_misspelt_persname_is_found_in_text_and_footnotes():
    body = ('<p>Secretary <persName corresp="#p_HCA1">Hertr</persName> and '
            '<persName corresp="#p_KN1">Kishi’s</persName> talk.</p>')
    notes = '<note n="1" xml:id="d5fn1">Cleared by <persName corresp="#p_KN1">Kisi</persName>.</note>'
    hits = found(body, "person-name", PERSONS, notes=notes)
    assert [(h.exact, h.replacement, h.note_id) for h in hits] == [
        ("Hertr", "Herter", ""), ("Kisi", "Kishi", "d5fn1")]


def test_names_without_a_register_or_entry_are_left_alone():
    body = '<p><persName corresp="#p_X">Hertr</persName></p>'
    assert found(body, "person-name", PERSONS) == []
    assert found('<p><persName corresp="#p_HCA1">Hertr</persName></p>', "person-name") == []


# ------------------------------------------------------------------------------------------
# Pages out of sequence


def test_pages_out_of_sequence_are_found():
    body = '<p>a<pb n="12"/>b<pb n="14"/>c<pb n="15"/>d</p>'
    (hit,) = found(body, "page-sequence")
    assert "Page 14 follows page 12" in hit.explanation and hit.change == ""
    (first, _) = found(body, "page-sequence", Volume(previous_page=9))
    assert "Page 12 follows page 9" in first.explanation


@pytest.mark.parametrize("body, previous", [
    ('<p>a<pb n="12"/>b<pb n="13"/>c</p>', 11),
    ('<p>a<pb n="12"/>b<pb n="13"/>c</p>', 10),  # page 11 broke between the two units
    ('<p>a<pb n="12"/>b<pb n="13"/>c</p>', None),
    ('<p>a<pb n="iv"/>b<pb n="v"/>c<pb n="1"/></p>', None),
    ("<p>no page breaks</p>", 7),
])
def test_pages_in_sequence_are_left_alone(body, previous):
    assert found(body, "page-sequence", Volume(previous_page=previous)) == []


# ------------------------------------------------------------------------------------------
# Disabled checks; the real samples


def test_a_disabled_check_finds_nothing():
    tree = div("<p>in the the meantime [Page 4]</p>")
    assert {f.check for f in find(tree)} == {"doubled-word", "page-text"}
    assert {f.check for f in find(tree, disabled=["doubled-word"])} == {"page-text"}


def test_d143_plain_text_yields_the_two_lost_ranges_and_nothing_else():
    parsed = parse_plaintext(D143_TEXT.read_text())
    hits = find(parse_document_div(parsed.tei), Volume(frozenset({142, 143, 144})))
    assert [(f.check, f.note_id, f.exact, f.replacement) for f in hits] == [
        ("range", "d143fn0", "139142", "139–142"), ("range", "d143fn0", "144146", "144–146")]


def _units(path):
    """The units as the importer stores them: documents whole, other divs without the
    documents and sections nested in them."""
    root = etree.parse(str(path), parser=safe_parser()).getroot()
    persons = {e.id: e.name for e in _read(root, "persons")}
    for element in root.iter("{*}div"):
        if not element.get(XML_ID):
            continue
        copy = etree.fromstring(etree.tostring(element))
        for child in list(copy):
            if child.tag.endswith("div") and child.get(XML_ID):
                copy.remove(child)
        yield element.get(XML_ID), copy, persons


@pytest.mark.parametrize("name", ["frus1958-60v18-excerpt.xml",
                                  "frus1958-60v18-with-front-matter.xml"])
def test_the_tei_samples_have_no_false_suggestions(name):
    volume_numbers = frozenset({142, 144})
    false = [(xml_id, f.check, f.exact) for xml_id, unit, persons in _units(SAMPLES / name)
             for f in find(unit, Volume(volume_numbers, persons))]
    assert false == []


@given(st.text(alphabet="abc the()“”[]'’\" 0123456789.", max_size=80))
def test_checks_never_fail_and_quote_what_is_there(text):
    escaped = text.replace("&", "&amp;").replace("<", "&lt;")
    tree = div(f"<p>{escaped}</p>")
    for finding in find(tree):
        assert finding.exact in text or finding.exact == ""
