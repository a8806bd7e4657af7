"""What import_text could not recover (edition/tei/findings.py): the detectors, the report
lines, and the suggestions stored for the editors."""

import pytest

from edition.imports import import_text
from edition.models import Suggestion
from edition.tei.findings import DIGIT_RUN, find, lost_range
from edition.tei.fromtext import parse_plaintext
from edition.tei.parsing import parse_document_div
from tests.helpers import D143_TEXT


def ranges(text: str) -> list:
    return [lost_range(text, m.start(), m.end()) for m in DIGIT_RUN.finditer(text)]


def findings_of(text: str):
    parsed = parse_plaintext(text)
    return parsed, find(parse_document_div(parsed.tei))


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


def test_d143_findings_name_what_the_text_lost():
    parsed, found = findings_of(D143_TEXT.read_text())
    assert [(f.check, f.change) for f in found] == [
        ("dateline", "structure"), ("list-items", "structure"),
        ("range", "note-edit"), ("range", "note-edit")]
    dateline, participants, first, second = found
    assert dateline.placement == "before" and dateline.exact == ""
    assert dateline.suffix.startswith("SUBJECT") and "<opener><dateline>" in dateline.fragment
    assert participants.exact == "PARTICIPANTS" and participants.fragment.count("<item>") == 3
    assert (first.exact, first.replacement, first.note_id) == ("139142", "139–142", "d143fn0")
    assert (second.exact, second.replacement) == ("144146", "144–146")
    # "telegram 2728" and "CF 1584" in the same footnotes are left alone.
    assert all(f.exact not in ("2728", "1584") for f in found)
    lines = [line for line in parsed.report if line.startswith("Suggestion")]
    assert lines == [f.report_line for f in found]
    assert any("139142" in line and "139–142" in line for line in lines)


def test_a_dateline_kept_as_a_paragraph_is_marked_up():
    _, found = findings_of("5. Telegram\n\nWashington, June 20, 1959, 11 a.m.\n\nThe text.\n")
    (dateline,) = [f for f in found if f.check == "dateline"]
    assert dateline.exact == "Washington, June 20, 1959, 11 a.m." and dateline.placement == "replace"
    assert dateline.fragment == ("<opener><dateline><placeName>Washington</placeName>, "
                                 "<date>June 20, 1959, 11 a.m.</date></dateline></opener>")


def test_a_trailing_signature_line_is_suggested_as_a_closer():
    _, found = findings_of("5. Telegram\n\nThe first paragraph.\n\nThe second.\n\n"
                           "Christian A. Herter\n")
    (signature,) = [f for f in found if f.check == "signature"]
    assert signature.exact == "Christian A. Herter"
    assert signature.fragment == "<closer><signed>Christian A. Herter</signed></closer>"


def test_an_ordinary_last_paragraph_is_not_a_signature():
    _, found = findings_of("5. Telegram\n\nThe first paragraph.\n\nThe Secretary agreed to this.\n")
    assert not [f for f in found if f.check == "signature"]


def test_a_list_with_entries_and_a_dateline_need_no_suggestion():
    _, found = findings_of("5. Memorandum\n\nTokyo, May 1, 1958.\n\nSUBJECT\n\n  • Trade\n\n"
                           "Text.\n")
    assert [f.check for f in found] == ["dateline"]  # the paragraph to mark up, nothing else
    assert found[0].placement == "replace"


def test_import_text_stores_the_suggestions_on_revision_1(sample_volume):
    stored = Suggestion.objects.filter(document__xml_id="d143").order_by("pk")
    assert [s.check_name for s in stored] == ["dateline", "list-items", "range", "range"]
    assert {s.revision.number for s in stored} == {1}
    assert [s.replacement for s in stored if s.check_name == "range"] == ["139–142", "144–146"]


def test_import_text_reports_each_finding(sample_edition, tmp_path):
    path = tmp_path / "d143.txt"
    path.write_text(D143_TEXT.read_text())
    _, report = import_text(path, edition=sample_edition)
    assert sum(line.startswith("Suggestion (range)") for line in report) == 2
    assert any(line.startswith("Suggestion (dateline): No dateline") for line in report)
