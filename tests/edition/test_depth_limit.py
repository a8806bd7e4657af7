"""The depth limit (EMEND_MAX_TEI_DEPTH, edition/gate.py): a unit the gate accepts builds in
every export format, alone and in the whole volume, and its reading page renders; one past it
is refused with a message naming the limit, and a build leaves such a unit (imported: an import
only warns) out and says so instead of failing the volume."""

import pytest
from django.conf import settings
from hypothesis import HealthCheck, event, given, settings as hsettings, strategies as st

from edition.exporting import builds
from edition.gate import GateError, check_candidate, nesting_depth
from edition.models import ExportBuild, ExportFile
from tests.edition.test_gate import d142_with, xml

pytestmark = pytest.mark.django_db

# Each wraps `inner` one or more levels deeper, as TEI P5 allows inside a paragraph.
WRAPPERS = {
    "hi": (1, lambda inner: f'<hi rend="italic">{inner}</hi>'),
    "seg": (1, lambda inner: f"<seg>{inner}</seg>"),
    "quote": (1, lambda inner: f"<quote>{inner}</quote>"),
    "note": (2, lambda inner: f'<note><p>{inner}</p></note>'),
    "list": (2, lambda inner: f"<list><item>{inner}</item></list>"),
    "table": (3, lambda inner: f"<table><row><cell>{inner}</cell></row></table>"),
}


def nest(kinds: list[str]) -> tuple[str, int]:
    """A paragraph holding the wrappers `kinds` (outermost first) around a word; its depth in
    the unit (the <p> is at depth 1)."""
    inner, depth = "deep", 1
    for kind in reversed(kinds):
        levels, wrap = WRAPPERS[kind]
        inner, depth = wrap(inner), depth + levels
    return f"<p>{inner}</p>", depth


def d142(edition):
    return edition.documents.select_related("edition", "current_revision").get(xml_id="d142")


def build_everything(edition) -> list[ExportBuild]:
    builds.request_export(edition, "test", full=True)
    builds.run(edition.pk)
    return list(ExportBuild.objects.filter(edition=edition, current=True))


def approve(document, fragment: str):
    """The gate as an approval runs it, then the revision it lets through."""
    tei = xml(d142_with(fragment))
    candidate = check_candidate(tei, document, number=document.current_revision.number + 1,
                                keep=True, current=document.current_revision.tei)
    return document.add_revision(tei, by=None, summary="test", candidate=candidate)


def assert_everything_builds(edition, client, document) -> None:
    current = build_everything(edition)
    assert {b.group for b in current} == {"text", "print"}
    for build in current:
        assert build.status == ExportBuild.Status.COMPLETE and build.error == "", build.error
    formats = set(ExportFile.objects.filter(build__in=current, document=document)
                  .values_list("format", flat=True))
    assert formats == {"tei", "html", "txt", "json", "epub", "pdf"}
    assert set(ExportFile.objects.filter(build__in=current, document=None)
               .values_list("format", flat=True)) == formats
    page = client.get(f"/{edition.slug}/{document.xml_id}/")
    assert page.status_code == 200 and "deep" in page.content.decode()


def test_the_reported_case_238_nested_hi_is_refused_naming_the_limit(sample_volume):
    with pytest.raises(GateError) as refused:
        approve(d142(sample_volume), nest(["hi"] * 237)[0])
    assert refused.value.code == "too_deep"
    assert "nest 238 levels deep" in refused.value.message
    assert "EMEND_MAX_TEI_DEPTH" in refused.value.message


def test_nesting_depth_counts_without_recursion():
    from lxml import etree
    root = leaf = etree.Element("a")
    for _ in range(5000):  # past both Python's recursion limit and libxml2's parsing depth
        leaf = etree.SubElement(leaf, "b")
    etree.SubElement(root, "c")
    assert nesting_depth(root) == 5000


@pytest.mark.parametrize("limit", [3, 999, 5000])
def test_the_depth_check_agrees_with_the_count_whatever_the_limit(settings, limit):
    """Asked of libxml2 up to XPATH_STEPS, walked beyond (a path of ~5,000 steps is refused
    by libxml2 itself): either way a tree at the limit passes and one past it is refused."""
    from lxml import etree

    from edition.gate import depth_problem
    settings.EMEND_MAX_TEI_DEPTH = limit
    for depth, refused in [(limit, False), (limit + 1, True)]:
        root = leaf = etree.Element("div")
        for _ in range(depth):
            leaf = etree.SubElement(leaf, "hi")
        problem = depth_problem(root)
        assert (problem is not None) == refused, (limit, depth)
        if refused:
            assert f"nest {depth} levels deep" in problem


def test_at_the_limit_every_export_builds_and_the_page_renders(sample_volume, client):
    limit = settings.EMEND_MAX_TEI_DEPTH
    document = d142(sample_volume)
    fragment, depth = nest(["hi"] * (limit - 1))
    assert depth == limit
    approve(document, fragment)
    assert_everything_builds(sample_volume, client, document)


def test_a_unit_past_the_limit_is_left_out_of_the_build_and_reported(sample_volume):
    document = d142(sample_volume)
    # As an import stores it: the gate only warns.
    document.add_revision(xml(d142_with(nest(["hi"] * 240)[0])), by=None, summary="import")
    current = build_everything(sample_volume)
    assert {b.status for b in current} == {ExportBuild.Status.COMPLETE}
    for build in current:
        assert build.error.startswith("Left out of this build")
        assert "d142: its elements nest 241 levels deep" in build.error
        assert not ExportFile.objects.filter(build=build, document=document).exists()
        assert ExportFile.objects.filter(build=build, document=None).exists()  # the volume
        assert ExportFile.objects.filter(build=build).exclude(document=None).exists()  # others


@st.composite
def structures(draw):
    """Mixed nesting (hi, seg, quote, note, list/item, table-in-table) whose depth falls a few
    levels either side of the limit, or anywhere from 1 to 250 (libxml2 parses up to 256)."""
    limit = settings.EMEND_MAX_TEI_DEPTH
    kinds = draw(st.lists(st.sampled_from(sorted(WRAPPERS)), min_size=0, max_size=40))
    target = draw(st.one_of(st.integers(limit - 4, limit + 4), st.integers(1, 250)))
    _, depth = nest(kinds)
    while depth > target and kinds:  # outermost first: drop from the outside in
        kinds = kinds[1:]
        _, depth = nest(kinds)
    return kinds + ["hi"] * max(0, target - depth)


@hsettings(max_examples=12, deadline=None, derandomize=True,
           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(kinds=structures())
def test_gate_accepts_implies_every_export_builds(sample_volume, client, kinds):
    document = d142(sample_volume)
    fragment, depth = nest(kinds)
    try:
        approve(document, fragment)
    except GateError as refused:
        event("refused")
        assert depth > settings.EMEND_MAX_TEI_DEPTH, refused.message
        assert refused.code == "too_deep"
        return
    assert depth <= settings.EMEND_MAX_TEI_DEPTH
    event("accepted at the limit" if depth == settings.EMEND_MAX_TEI_DEPTH else "accepted")
    try:
        assert_everything_builds(sample_volume, client, d142(sample_volume))
    finally:  # the next example starts from d142 as imported
        revision = d142(sample_volume).current_revision
        revision.document.add_revision(revision.parent.tei, by=None, summary="undo")


@pytest.mark.parametrize("kind, times", [("hi", 248), ("list", 124), ("table", 82),
                                         ("note", 124), ("quote", 248)])
def test_the_pages_of_an_imported_unit_past_the_limit_still_serve(sample_volume, client,
                                                                  people, kind, times):
    # An import only warns: its pages must not fail, up to the 256 levels libxml2 parses (the
    # plain text recursed per level and failed from about 240).
    document = d142(sample_volume)
    fragment, depth = nest([kind] * times)
    assert 245 <= depth < 256
    document.add_revision(xml(d142_with(fragment)), by=None, summary="import")
    for signed_in in (False, True):
        if signed_in:
            client.force_login(people.editor)
        for address in ("/", ".txt", ".xml", "/diff/1/2/", "/history/"):
            response = client.get(f"/{sample_volume.slug}/d142{address}")
            assert response.status_code == 200, address
            if address in ("/", ".txt", ".xml"):
                assert b"deep" in response.content, address


def test_an_import_warns_and_its_build_leaves_the_unit_out_saying_why(tmp_path, client):
    from edition.imports import import_tei
    from tests.helpers import document_tei, volume_tei

    deep, depth = nest(["list", "hi", "table"] * 20)  # 121 levels
    path = tmp_path / "vol1.xml"
    path.write_text(volume_tei(document_tei(1) + document_tei(2, deep) + document_tei(3)))
    result = import_tei(path)
    [warning] = [w for w in result.warnings if w.startswith("d2: ")]
    assert f"its elements nest {depth} levels deep" in warning
    assert "EMEND_MAX_TEI_DEPTH" in warning
    current = build_everything(result.edition)
    assert {b.status for b in current} == {ExportBuild.Status.COMPLETE}
    for build in current:
        assert "d2: its elements nest" in build.error
        assert set(ExportFile.objects.filter(build=build).exclude(document=None)
                   .values_list("document__xml_id", flat=True)) == {"d1", "d3"}
    from tests.helpers import make_member

    client.force_login(make_member(result.edition, "reviewer", "reviewer"))  # who sees builds
    page = client.get(f"/{result.edition.slug}/exports/").content.decode()
    assert "Left out of this build (the rest of the volume is complete): d2: its elements" in page


def test_a_unit_imported_past_the_limit_stays_editable_but_gets_no_deeper(sample_volume):
    document = d142(sample_volume)
    imported = xml(d142_with(nest(["hi"] * 120)[0]))
    document.add_revision(imported, by=None, summary="import")
    current = document.current_revision.tei
    number = document.current_revision.number + 1
    # A correction elsewhere, and one making it shallower, pass; one making it deeper does not.
    assert "The Prime Minister" in current
    check_candidate(current.replace("The Prime Minister", "The prime minister", 1), document,
                    number=number, current=current)
    check_candidate(xml(d142_with(nest(["hi"] * 110)[0])), document, number=number,
                    current=current)
    with pytest.raises(GateError, match="nest 123 levels deep") as refused:
        check_candidate(xml(d142_with(nest(["hi"] * 122)[0])), document, number=number,
                        current=current)
    assert refused.value.code == "too_deep"
    # Let through the depth check, not the rest of the gate.
    with pytest.raises(GateError, match="not valid TEI") as refused:
        check_candidate(current.replace("</div>", "<p>a<p>b</p>c</p></div>"), document,
                        number=number, current=current)
    assert refused.value.code == "invalid-tei"


def test_at_the_limit_a_build_needs_well_under_the_default_recursion_limit(sample_volume):
    # Measured: a unit at the limit (100) builds everything within about 520 frames (render_html
    # and WeasyPrint each use a few per level); 232 levels needed more than 1,000. Allowing 650
    # here leaves a worker that has used a third of Python's default 1,000 frames before the
    # build (a thread, Celery's own frames) still able to build it.
    import inspect
    import sys

    document = d142(sample_volume)
    approve(document, nest(["hi"] * (settings.EMEND_MAX_TEI_DEPTH - 1))[0])
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack(0)) + 650)
    try:
        current = build_everything(sample_volume)
    finally:
        sys.setrecursionlimit(before)
    assert len(current) == 2
    assert all(b.status == ExportBuild.Status.COMPLETE and b.error == "" for b in current)


def test_a_unit_a_renderer_fails_on_is_left_out_with_none_of_its_files(sample_volume,
                                                                        monkeypatch):
    from django.core.files.storage import storages

    from edition.exporting import text

    real = text.document

    def failing(vol, part):
        if part.xml_id == "d142":
            raise KeyError("boom")
        return real(vol, part)

    monkeypatch.setattr(text, "document", failing)  # after TEI and HTML were written
    [build] = [b for b in build_everything(sample_volume) if b.group == "text"]
    assert build.status == ExportBuild.Status.COMPLETE
    assert build.error == ("Left out of this build (the rest of the volume is complete): "
                           "d142: its plain text file cannot be made: KeyError: 'boom'")
    assert not ExportFile.objects.filter(build=build, document__xml_id="d142").exists()
    _, names = storages["exports"].listdir(f"{sample_volume.slug}/{build.pk}")
    assert names and not [n for n in names if n.startswith("d142.")]
    assert f"{sample_volume.slug}.txt" in names
