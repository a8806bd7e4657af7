"""The gate every new revision passes (edition/gate.py, edition/tei/schema.py): TEI P5, the
frus: rules, every renderer; and imports reporting what fails it."""

import copy
from importlib import import_module
from pathlib import Path

import pytest
from django.core.management import call_command
from lxml import etree

from edition import rendering
from edition.exporting import sources
from edition.exporting.formats import FORMATS
from edition.gate import GateError, check_candidate, tei_schema
from edition.imports import import_tei, import_text
from edition.tei import FRUS_NS, TEI_NS, tei
from edition.tei.schema import frus_datetime, frus_problems
from tests.helpers import D143_TEXT, EXCERPT, sample_document

pytestmark = pytest.mark.django_db

FRUS_MIN, FRUS_MAX = f"{{{FRUS_NS}}}doc-dateTime-min", f"{{{FRUS_NS}}}doc-dateTime-max"

# The schema-invalid TEI of issue 9, each as a fragment replacing d142's last paragraph.
INVALID = {
    "p-inside-p": "<p>a<p>b</p>c</p>",
    "head-inside-p": "<p>a <head>b</head> c</p>",
    "second-top-level-head": "<head>A second heading</head>",
    "empty-list": "<list/>",
    "empty-table": "<table/>",
    "empty-row": "<table><row/></table>",
    "cols-minus-one": '<table><row><cell cols="-1">x</cell></row></table>',
    "label-after-item": "<list><item>x</item><label>a</label></list>",
    "opener-after-paragraphs": "<opener><dateline>Washington, January 19, 1960.</dateline>"
                               "</opener>",
    "cols-superscript-two": '<table><row><cell cols="²">x</cell></row></table>',
}
VALID = {
    "paragraph": "<p>A paragraph.</p>",
    "table": '<table><row role="label"><cell cols="2">Heads</cell></row>'
             "<row><cell>a</cell><cell>b</cell></row></table>",
    "list": '<list type="participants"><label>1.</label><item>Kishi</item></list>',
    "closer": "<p>Last words.</p><closer><signed>Herter</signed></closer>",
}
DEEP_HI = "<p>" + "<hi>" * 250 + "deep" + "</hi>" * 250 + "</p>"


def d142_with(fragment: str) -> etree._Element:
    """d142 with its last paragraph replaced by the fragment's elements."""
    div = sample_document("d142")
    last = div.findall(tei("p"))[-1]
    at = div.index(last)
    div.remove(last)
    for offset, element in enumerate(etree.fromstring(f'<w xmlns="{TEI_NS}">{fragment}</w>')):
        div.insert(at + offset, element)
    return div


def xml(element: etree._Element) -> str:
    return etree.tostring(element, encoding="unicode")


def in_tei_all(div: etree._Element) -> etree._Element:
    """The document as tests validate exports: in a minimal TEI file, frus: attributes gone."""
    root = etree.fromstring(
        f'<TEI xmlns="{TEI_NS}"><teiHeader><fileDesc><titleStmt><title>t</title></titleStmt>'
        "<publicationStmt><p>p</p></publicationStmt><sourceDesc><p>s</p></sourceDesc>"
        "</fileDesc></teiHeader><text><body/></text></TEI>")
    div = copy.deepcopy(div)
    for element in div.iter(etree.Element):
        for name in [n for n in element.attrib if n.startswith(f"{{{FRUS_NS}}}")]:
            del element.attrib[name]
    root.find(f"{tei('text')}/{tei('body')}").append(div)
    return root


@pytest.fixture
def d142(sample_edition):
    return sample_edition.documents.select_related("edition", "current_revision").get(
        xml_id="d142")


def check(document, div: etree._Element) -> None:
    check_candidate(xml(div), document, number=document.current_revision.number + 1)


# -- TEI P5 ----------------------------------------------------------------------------------

@pytest.mark.parametrize("case", [*INVALID, *VALID, "d142", "d144", "deep-hi"])
def test_the_pruned_grammar_agrees_with_tei_all(case, tei_all):
    fragment = INVALID.get(case) or VALID.get(case) or (DEEP_HI if case == "deep-hi" else None)
    div = d142_with(fragment) if fragment else sample_document(case)
    assert (tei_schema().problem(div) is None) == tei_all.validate(in_tei_all(div))


@pytest.mark.parametrize("case", INVALID)
def test_schema_invalid_tei_is_refused_saying_where(case, d142):
    with pytest.raises(GateError) as refused:
        check(d142, d142_with(INVALID[case]))
    assert refused.value.code == "invalid-tei"
    assert refused.value.message.startswith("not valid TEI: in ")


@pytest.mark.parametrize("case, words", [
    ("p-inside-p", "in the <p> beginning “abc”: Did not expect element p there; it would be "
                   "valid without the <p> beginning “b”"),
    ("opener-after-paragraphs", "in the document: Did not expect element opener there; it "
                                "would be valid without the <opener> beginning “Washington,"),
    ("cols-minus-one", "in the <cell> beginning “x” in the <table> beginning “x”: Invalid "
                       "attribute cols for element cell (cols=“-1”)"),
    ("empty-list", "in the <list> (empty): an element it must hold is missing"),
])
def test_the_refusal_names_the_element_and_what_would_make_it_valid(case, words):
    assert words in tei_schema().problem(d142_with(INVALID[case]))


@pytest.mark.parametrize("case", VALID)
def test_valid_structures_pass(case, d142):
    check(d142, d142_with(VALID[case]))


def test_the_samples_pass(sample_volume):
    for document in sample_volume.documents.select_related("edition", "current_revision"):
        revision = document.current_revision
        check_candidate(revision.tei, document, number=revision.number + 1)


def test_an_element_outside_the_base_set_is_validated_too(d142):
    with pytest.raises(GateError, match="Did not expect element madeUp there"):
        check(d142, d142_with("<p>x <madeUp>y</madeUp></p>"))
    check(d142, d142_with("<p>x <unclear>y</unclear> <said>z</said></p>"))


def test_a_missing_schema_refuses_and_says_how_to_install_it(d142, settings, tmp_path):
    settings.EMEND_TEI_SCHEMA = tmp_path / "tei_all.rng"
    with pytest.raises(GateError, match="run `make schema`") as refused:
        check(d142, sample_document("d142"))
    assert refused.value.code == "no-schema"


def test_the_deployment_check_warns_when_the_schema_is_missing(settings, tmp_path, capsys):
    settings.EMEND_TEI_SCHEMA = tmp_path / "tei_all.rng"
    call_command("check")
    assert "emend.W001" in capsys.readouterr().err


# -- frus: attributes ----------------------------------------------------------------------

def test_frus_dates_need_their_offset():
    assert frus_datetime("1960-01-19T15:30:00-05:00").utcoffset().total_seconds() == -5 * 3600
    for value in ["1960-01-19", "1960-01-19T15:30:00", "1960-01-19T15:30:00Z",
                  "1960-02-30T00:00:00-05:00", "soon"]:
        with pytest.raises(ValueError, match="with its UTC offset"):
            frus_datetime(value)


def test_frus_rules_names_formats_and_order():
    div = sample_document("d142")
    assert frus_problems(div) == []
    div.set(f"{{{FRUS_NS}}}doc-dateTime-min", "1960-01-19T18:00:00-05:00")
    div.set(f"{{{FRUS_NS}}}released", "yes")
    problems = frus_problems(div)
    assert problems == [
        "frus:released is not an attribute Emend knows (it knows frus:doc-dateTime-max, "
        "frus:doc-dateTime-min)",
        "frus:doc-dateTime-min (1960-01-19T18:00:00-05:00) is after frus:doc-dateTime-max "
        "(1960-01-19T17:30:00-05:00)"]
    del div.attrib[f"{{{FRUS_NS}}}released"]
    div.set(FRUS_MIN, "1960-01-19")
    assert frus_problems(div) == ["frus:doc-dateTime-min: “1960-01-19” is not a date-time with "
                                  "its UTC offset, such as 1960-01-19T15:30:00-05:00"]


def test_frus_problems_refuse_the_candidate(d142):
    div = sample_document("d142")
    div.set(FRUS_MAX, "1960-01-18T00:00:00-05:00")
    with pytest.raises(GateError, match="is after frus:doc-dateTime-max") as refused:
        check(d142, div)
    assert refused.value.code == "invalid-tei"


def test_a_frus_attachment_is_validated_as_a_division(d142):
    attachment = (f'<frus:attachment xmlns:frus="{FRUS_NS}"><head>Attachment</head>'
                  "<p>Text.</p></frus:attachment>")
    check(d142, d142_with(attachment))
    with pytest.raises(GateError, match="<frus:note> is not an element Emend knows"):
        check(d142, d142_with(f'<p>x<frus:note xmlns:frus="{FRUS_NS}">y</frus:note></p>'))


# -- rendering --------------------------------------------------------------------------------

def test_cell_cols_superscript_two_is_refused(d142):
    # The schema refuses it (cols is a count); the renderer no longer fails on it either
    # (tests/edition/test_render.py), for revisions stored before the gate.
    with pytest.raises(GateError, match="cols=“²”"):
        check(d142, d142_with(INVALID["cols-superscript-two"]))


def test_250_nested_hi_is_refused_by_the_depth_limit(d142):
    # Before any renderer runs: one unit's own render survived 232 levels where the whole
    # volume's PDF did not (tests/edition/test_depth_limit.py).
    with pytest.raises(GateError) as refused:
        check(d142, d142_with(DEEP_HI))
    assert refused.value.code == "too_deep"
    assert refused.value.message.startswith(
        "its elements nest 251 levels deep, more than the 100 every page and export is proven "
        "to handle (EMEND_MAX_TEI_DEPTH)")


def test_a_recursion_error_in_a_renderer_is_still_refused_as_unrenderable(d142, monkeypatch):
    module, function = FORMATS["txt"].piece.rsplit(".", 1)

    def too_deep(part):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(import_module(f"edition.exporting.{module}"), function, too_deep)
    with pytest.raises(GateError) as refused:
        check(d142, d142_with(VALID["paragraph"]))
    assert refused.value.code == "unrenderable"
    assert refused.value.message == ("the plain text export cannot be made from it: its markup "
                                     "is nested too deeply (RecursionError)")


@pytest.mark.parametrize("name", FORMATS)
def test_every_format_is_rendered_and_a_failure_names_it(name, d142, monkeypatch):
    module, function = FORMATS[name].piece.rsplit(".", 1)

    def broken(part):
        raise KeyError("boom")

    monkeypatch.setattr(import_module(f"edition.exporting.{module}"), function, broken)
    with pytest.raises(GateError) as refused:
        check(d142, sample_document("d142"))
    assert refused.value.code == "unrenderable"
    assert refused.value.message.endswith("export cannot be made from it: KeyError: 'boom'")


def test_the_pdf_is_checked_by_its_html_source_without_weasyprint(d142, monkeypatch):
    from edition.exporting import pdf

    monkeypatch.setattr(pdf, "_pdf", lambda *a, **k: pytest.fail("the gate laid out a PDF"))
    check(d142, sample_document("d142"))


def test_the_gate_leaves_the_shared_cache_and_the_fragment_store_alone(d142, monkeypatch):
    class Untouchable:
        def __getattr__(self, name):
            raise AssertionError(f"the gate used the shared cache ({name})")

    def untouchable(*args):
        raise AssertionError("the gate used the fragment store")

    # A renderer reaching the cache or the store would fail, and the gate would refuse.
    monkeypatch.setattr(sources, "_read", untouchable)
    monkeypatch.setattr(sources, "_write", untouchable)
    monkeypatch.setattr(rendering, "cache", Untouchable())
    check(d142, d142_with(VALID["table"]))


def test_a_problem_the_current_revision_has_already_is_not_the_candidates(d142):
    broken = xml(d142_with(INVALID["empty-list"]))
    still_broken = broken.replace("repatriation", "REPATRIATION", 1)
    assert "REPATRIATION" in still_broken
    check_candidate(still_broken, d142, number=3, current=broken)
    worse = broken.replace('<list type="subject">', '<list type="subject" cols="x">', 1)
    with pytest.raises(GateError, match="cols"):  # another problem, before it, is refused
        check_candidate(worse, d142, number=3, current=broken)


# -- imports ----------------------------------------------------------------------------------

def test_import_of_the_samples_reports_no_gate_failures(db):
    result = import_tei(EXCERPT)
    assert result.warnings == []
    _, report = import_text(D143_TEXT, edition=result.edition)
    assert not [line for line in report if "TEI" in line or "export" in line]


def test_an_import_reports_a_document_failing_the_gate_and_keeps_it(db, tmp_path):
    text = EXCERPT.read_text(encoding="utf-8")
    assert text.count("<list type=\"subject\">") >= 1
    broken = tmp_path / Path(EXCERPT).name
    broken.write_text(text.replace('<list type="subject">', '<list type="subject" cols="x">', 1),
                      encoding="utf-8")
    result = import_tei(broken)
    [warning] = result.warnings
    assert warning.startswith("d142: not valid TEI: in the <list> beginning “SUBJECT")
    assert "Invalid attribute cols for element list" in warning
    assert "d142" in result.created


def test_a_date_without_its_offset_is_reported_not_compared(db, tmp_path):
    # One date naive, one with its offset: comparing them was a TypeError, the import a 500.
    text = EXCERPT.read_text(encoding="utf-8")
    naive = text.replace('frus:doc-dateTime-min="1960-01-19T15:30:00-05:00"',
                         'frus:doc-dateTime-min="1960-01-19T15:30:00"', 1)
    assert naive != text
    broken = tmp_path / Path(EXCERPT).name
    broken.write_text(naive, encoding="utf-8")
    result = import_tei(broken)
    [xml_id] = {w.split(":")[0] for w in result.warnings}
    document = result.edition.documents.get(xml_id=xml_id)
    assert document.date_min is None and document.date_max is not None
    assert any("its date is left empty" in w for w in result.warnings)
    assert any(w.startswith(f"{xml_id}: frus:doc-dateTime-min: “1960-01-19T15:30:00” is not")
               for w in result.warnings)


# -- a tree passed along (an approval's result) ----------------------------------------------

def test_a_source_tree_is_taken_only_when_its_bytes_parse_back_to_it(d142):
    from edition.tei.textlayer import build

    source = d142_with(VALID["table"])
    layer = build(source)
    candidate = check_candidate(xml(source), d142, number=2, source=(source, layer))
    assert candidate.element is source and candidate.layer is layer
    # A tree that is not what the bytes say: the bytes' own tree is checked, its own layer.
    other = copy.deepcopy(source)
    other.find(tei("p")).text = "Other words."
    candidate = check_candidate(xml(source), d142, number=2, source=(other, build(other)))
    assert candidate.element is not other
    assert candidate.layer.text == layer.text != build(other).text


def too_deep() -> etree._Element:
    """d142 with 300 nested `hi` in a tree made in memory: past the depth libxml2 parses."""
    source = d142_with("<p>x</p>")
    inner = source.findall(tei("p"))[-1]
    for _ in range(300):
        inner = etree.SubElement(inner, tei("hi"))
    inner.text = "deep"
    return source


@pytest.mark.parametrize("case", [*INVALID, "deep-hi", "too-deep"])
def test_the_verdict_on_a_source_tree_is_the_verdict_on_its_bytes(case, d142):
    from edition.tei.textlayer import build

    source = too_deep() if case == "too-deep" else d142_with(
        DEEP_HI if case == "deep-hi" else INVALID[case])
    with pytest.raises(GateError) as alone:
        check_candidate(xml(source), d142, number=2)
    with pytest.raises(GateError) as passed:
        check_candidate(xml(source), d142, number=2, source=(source, build(source)))
    assert (passed.value.code, passed.value.message) == (alone.value.code, alone.value.message)
