"""What import_text could not recover (edition/tei/findings.py): the detectors, the report
lines, and the suggestions stored for the editors (the import's and the checks', which run on
the imported document in place)."""


from edition.imports import import_text
from edition.models import Suggestion
from edition.tei.findings import find
from edition.tei.fromtext import parse_plaintext
from edition.tei.parsing import parse_document_div
from tests.helpers import D143_TEXT


def findings_of(text: str):
    parsed = parse_plaintext(text)
    return parsed, find(parse_document_div(parsed.tei))


def test_d143_findings_name_what_the_text_lost():
    # The lost ranges of its source note are the checks' (tests/edition/test_checks.py).
    parsed, found = findings_of(D143_TEXT.read_text())
    assert [(f.check, f.change) for f in found] == [
        ("dateline", "structure"), ("list-items", "structure")]
    dateline, participants = found
    assert dateline.placement == "before" and dateline.exact == ""
    assert dateline.suffix.startswith("SUBJECT") and "<opener><dateline>" in dateline.fragment
    assert participants.exact == "PARTICIPANTS" and participants.fragment.count("<item>") == 3
    lines = [line for line in parsed.report if line.startswith("Suggestion")]
    assert lines == [f.report_line for f in found]


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
    assert [(s.note_id, s.exact, s.replacement) for s in stored if s.check_name == "range"] == [
        ("d143fn0", "139142", "139–142"), ("d143fn0", "144146", "144–146")]


def test_import_text_reports_each_finding(sample_edition, tmp_path):
    path = tmp_path / "d143.txt"
    path.write_text(D143_TEXT.read_text())
    _, report = import_text(path, edition=sample_edition)
    assert sum(line.startswith("Suggestion (range)") for line in report) == 2
    assert any(line.startswith("Suggestion (dateline): No dateline") for line in report)
