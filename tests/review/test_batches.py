"""One correction across an edition (review/batches.py and its pages): a batch of proposals,
one per document, from a phrase or from one check's suggestions."""

import pytest
from lxml import html
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from django.http import Http404

from edition.imports import import_tei
from edition.models import Document, Suggestion
from review import batches
from review.actions import ProposalError
from review.actions.approve import do_approve
from review.actions.propose import do_propose
from review.models import Proposal, ProposalBatch
from tests.helpers import make_member, revise, text_spec, volume_tei

pytestmark = pytest.mark.django_db

# d1 has the lost range twice, d2 once, d3 not at all, d4 once.
BODY = "".join([
    '<div type="document" xml:id="d1" n="1"><head>1. Telegram</head>'
    "<p>See Documents 139142 and, again, 139142 here.</p></div>",
    '<div type="document" xml:id="d2" n="2"><head>2. Memorandum</head>'
    "<p>As in Documents 139142 above.</p></div>",
    '<div type="document" xml:id="d3" n="3"><head>3. Letter</head>'
    "<p>Nothing to change.</p></div>",
    '<div type="document" xml:id="d4" n="4"><head>4. Note</head>'
    "<p>An opening paragraph, well before the match and long enough.</p>"
    "<p>Compare 139142 with the rest.</p></div>",
])


@pytest.fixture
def edition(tmp_path):
    path = tmp_path / "vol.xml"
    path.write_text(volume_tei(BODY, slug="frus-batch"), encoding="utf-8")
    return import_tei(path).edition


@pytest.fixture
def team(edition):
    from types import SimpleNamespace
    return SimpleNamespace(
        editor=make_member(edition, "editor", "editor"),
        reviewer=make_member(edition, "reviewer", "reviewer"),
        reviewer2=make_member(edition, "reviewer2", "reviewer"),
        stranger=make_member(edition, "stranger", None),
    )


@pytest.fixture
def other_edition(tmp_path):
    path = tmp_path / "other.xml"
    path.write_text(volume_tei('<div type="document" xml:id="d1" n="1"><head>1. T</head>'
                               "<p>Other 139142 text.</p></div>", slug="frus-other"),
                    encoding="utf-8")
    return import_tei(path).edition


def doc(edition, xml_id):
    return Document.objects.select_related("current_revision").get(edition=edition,
                                                                   xml_id=xml_id)


def test_matches_finds_every_occurrence_in_volume_order(edition):
    found = batches.matches(edition, "139142", "139–142")
    assert [(m.document.xml_id, m.exact) for m in found] == [
        ("d1", "139142"), ("d1", "139142"), ("d2", "139142"), ("d4", "139142")]
    for m in found:
        assert m.text[m.start:m.end] == "139142"
        assert "<del>139142</del><ins>139–142</ins>" in m.html
        assert m.quote["exact"] == "139142"


def test_matches_is_case_sensitive_and_leaves_other_text_alone(edition):
    assert batches.matches(edition, "documents", "x") == []
    assert [m.document.xml_id for m in batches.matches(edition, "Documents", "Docs")] == [
        "d1", "d2"]


@pytest.mark.parametrize("find, replacement", [("", "x"), ("same", "same")])
def test_matches_refuses_an_empty_or_idle_replacement(edition, find, replacement):
    with pytest.raises(ValueError):
        batches.matches(edition, find, replacement)


def test_create_batch_one_proposal_per_document_untick_one(edition, team):
    found = batches.matches(edition, "139142", "139–142")
    chosen = [m for m in found if m.document.xml_id != "d4"]  # d4's stays as it is
    tokens = [m.token for m in chosen]
    resolved = batches.resolve(edition, tokens, find="139142", replacement="139–142")
    result = batches.create_batch(team.editor, edition, "Restore the en dashes", resolved,
                                  find="139142", replacement="139–142")
    assert result.refused == []
    batch = result.batch
    proposals = list(batch.proposals.order_by("document__order"))
    assert [p.document.xml_id for p in proposals] == ["d1", "d2"]
    assert [p.changes.count() for p in proposals] == [2, 1]
    assert {p.rationale for p in proposals} == {"Restore the en dashes"}
    assert all(c.content == "139–142" and c.exact == "139142"
               for p in proposals for c in p.changes.all())
    assert batches.progress(batch).pending == 2


def test_stale_text_is_reported_not_misapplied(edition, team):
    found = batches.matches(edition, "139142", "139–142")
    tokens = [m.token for m in found]
    revise(doc(edition, "d2"), "Documents 139142 above", "Documents 139–142 above")
    # d4 moved on too, but only before the match: its selector still finds it.
    revise(doc(edition, "d4"), "An opening", "A first opening")
    resolved = batches.resolve(edition, tokens, find="139142", replacement="139–142")
    result = batches.create_batch(team.editor, edition, "Dashes", resolved,
                                  find="139142", replacement="139–142")
    assert [d.xml_id for d, _ in result.refused] == ["d2"]
    assert "changed since the preview" in result.refused[0][1]
    assert sorted(p.document.xml_id for p in result.proposals) == ["d1", "d4"]
    d4 = result.batch.proposals.get(document__xml_id="d4").changes.get()
    text = doc(edition, "d4").current_revision.text
    assert text[d4.start:d4.end] == "139142"


@pytest.mark.parametrize("forge", [
    lambda e, m, other: f"{other.pk}:1:0:6",  # a document of another edition
    lambda e, m, other: f"{m.document.pk}:1:{m.start + 1}:{m.end + 1}",  # not the quote
    lambda e, m, other: f"{m.document.pk}:9:{m.start}:{m.end}",  # no such revision
    lambda e, m, other: "1:2",
    lambda e, m, other: "²:1:0:6",
])
def test_forged_matches_are_refused(edition, team, other_edition, forge):
    match = batches.matches(edition, "139142", "139–142")[0]
    other = doc(other_edition, "d1")
    with pytest.raises(batches.BatchForged):
        batches.resolve(edition, [match.token, forge(edition, match, other)],
                        find="139142", replacement="139–142")
    assert not Proposal.objects.exists()


def test_without_the_role_nothing_is_proposed(edition, team, other_edition):
    chosen = batches.resolve(edition, [m.token for m in batches.matches(edition, "139142", "x")],
                             find="139142", replacement="x")
    with pytest.raises(Http404):
        batches.create_batch(team.stranger, edition, "r", chosen, find="139142",
                             replacement="x")
    viewer = make_member(edition, "viewer", None)
    from edition.models import Membership
    Membership.objects.create(edition=other_edition, user=viewer, role="editor")
    with pytest.raises(Http404):
        batches.create_batch(viewer, edition, "r", chosen, find="139142", replacement="x")
    assert not ProposalBatch.objects.exists() and not Proposal.objects.exists()


def test_a_rationale_is_required(edition, team):
    chosen = batches.matches(edition, "139142", "x")
    with pytest.raises(ProposalError):
        batches.create_batch(team.editor, edition, "  ", chosen, find="139142", replacement="x")
    with pytest.raises(ProposalError):
        batches.create_batch(team.editor, edition, "a\x00b", chosen, find="139142",
                             replacement="x")
    assert not ProposalBatch.objects.exists()


def test_a_refused_document_is_reported_and_the_others_created(edition, team, settings):
    settings.EMEND_MAX_PROPOSAL_CHANGES = 1  # d1 has two matches: refused as too many
    chosen = batches.matches(edition, "139142", "139–142")
    result = batches.create_batch(team.editor, edition, "Dashes", chosen, find="139142",
                                  replacement="139–142")
    assert [d.xml_id for d, _ in result.refused] == ["d1"]
    assert sorted(p.document.xml_id for p in result.proposals) == ["d2", "d4"]


def _batch(edition, team):
    return batches.create_batch(team.editor, edition, "Dashes",
                                batches.matches(edition, "139142", "139–142"),
                                find="139142", replacement="139–142").batch


def test_approve_all_reports_a_conflict_and_does_not_force_it(edition, team):
    batch = _batch(edition, team)
    # Someone else's approved correction takes d2's words first: its batch proposal conflicts.
    d2 = doc(edition, "d2")
    other = do_propose(d2, author=team.reviewer2, base_revision=1,
                       changes=[text_spec(d2.current_revision, "Documents 139142", "Docs 139-142")],
                       rationale="Another reading")
    do_approve(other, by=team.reviewer)
    outcomes = batches.approve_batch(team.reviewer, batch)
    assert [(o.proposal.document.xml_id, o.failed) for o in outcomes] == [
        ("d1", False), ("d2", True), ("d4", False)]
    assert doc(edition, "d1").current_revision.text.count("139–142") == 2
    assert "139–142" in doc(edition, "d4").current_revision.text
    assert "Docs 139-142" in doc(edition, "d2").current_revision.text  # not forced
    state = batches.progress(batch)
    assert (state.approved, state.pending + state.conflicted) == (2, 1)


def test_approve_all_leaves_a_gate_refusal_pending(edition, team, monkeypatch):
    from edition.gate import GateError
    from review.actions import approve as approve_module

    batch = _batch(edition, team)
    real = approve_module.check_candidate

    def refuse_d4(tei, document, **kwargs):
        if document.xml_id == "d4":
            raise GateError("refused for the test", code="invalid-tei")
        return real(tei, document, **kwargs)

    monkeypatch.setattr(approve_module, "check_candidate", refuse_d4)
    outcomes = batches.approve_batch(team.reviewer, batch)
    failed = [o.proposal.document.xml_id for o in outcomes if o.failed]
    assert failed == ["d4"]
    assert batch.proposals.get(document__xml_id="d4").status == Proposal.Status.PENDING
    assert "139142" in doc(edition, "d4").current_revision.text


def test_the_author_cannot_approve_their_own_batch(edition, team):
    batch = _batch(edition, team)
    outcomes = batches.approve_batch(team.editor, batch)
    assert outcomes and all(o.failed for o in outcomes)
    assert batches.progress(batch).pending == 3


def test_check_based_batch_from_open_text_suggestions(edition, team):
    d1, d4 = doc(edition, "d1"), doc(edition, "d4")
    text1 = d1.current_revision.text
    at = text1.index("139142")
    Suggestion.objects.create(document=d1, revision=d1.current_revision, check_name="range",
                              change="text", exact="139142", prefix=text1[max(at - 32, 0):at],
                              suffix=text1[at + 6:at + 38], replacement="139–142",
                              explanation="a lost en dash")
    Suggestion.objects.create(document=d4, revision=d4.current_revision, check_name="range",
                              change="text", exact="139142", replacement="139–142",
                              explanation="a lost en dash")
    gone = Suggestion.objects.create(document=d4, revision=d4.current_revision,
                                     check_name="range", change="text", exact="no such words",
                                     replacement="x", explanation="gone")
    Suggestion.objects.create(document=d4, revision=d4.current_revision, check_name="range",
                              change="text", exact="Compare", replacement="Cf.",
                              explanation="dismissed").dismiss(by=team.editor)
    Suggestion.objects.create(document=d4, revision=d4.current_revision, check_name="signature",
                              change="text", exact="rest", replacement="others",
                              explanation="another check")
    found = batches.suggestion_matches(edition, "range")
    assert [(m.document.xml_id, m.start) for m in found] == [("d1", at),
                                                             ("d4", d4.current_revision.text.index("139142"))]
    resolved = batches.resolve(edition, [m.token for m in found], check_name="range")
    result = batches.create_batch(team.editor, edition, "Lost ranges", resolved,
                                  check_name="range")
    assert sorted(p.document.xml_id for p in result.proposals) == ["d1", "d4"]
    # A suggestion that is not an open one of this check cannot be smuggled in.
    with pytest.raises(batches.BatchForged):
        batches.resolve(edition, [f"{d4.pk}:1:0:5:{gone.pk + 1}"], check_name="range")


# ------------------------------------------------------------------------------------------
# Property: approving a batch changes the ticked matches and nothing else


class _Rollback(Exception):
    pass


WORDS = ["139142", "1391", "42", "Documents", "and", "See", "x", "139142,", "Pérez", "𝔘"]
paragraph = st.lists(st.sampled_from(WORDS), min_size=1, max_size=12).map(" ".join)
volume = st.lists(st.lists(paragraph, min_size=1, max_size=3), min_size=1, max_size=3)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(documents=volume, ticks=st.lists(st.booleans(), min_size=40, max_size=40),
       replacement=st.sampled_from(["139–142", "", "139 – 142", "Documents"]))
def test_property_approving_a_batch_keeps_the_text_outside_the_matches(
        db, documents, ticks, replacement):
    from django.db import transaction

    from edition.imports import create_document
    from edition.models import Edition

    try:
        with transaction.atomic():
            edition = Edition.objects.create(slug="props", title="P", tei_header="<x/>",
                                             tei_skeleton="<x/>")
            editor = make_member(edition, "p-editor", "editor")
            reviewer = make_member(edition, "p-reviewer", "reviewer")
            before = {}
            for n, paragraphs in enumerate(documents, 1):
                body = "".join(f"<p>{p}</p>" for p in paragraphs)
                document = create_document(
                    edition, f"d{n}", '<div xmlns="http://www.tei-c.org/ns/1.0" '
                    f'type="document" xml:id="d{n}" n="{n}"><head>{n}. T</head>{body}</div>',
                    {"number": n, "title": "T"}, order=n, by=None, summary="import")
                before[document.pk] = document.current_revision.text
            found = batches.matches(edition, "139142", replacement)
            chosen = [m for m, tick in zip(found, ticks) if tick]
            assume(chosen)
            expected = dict(before)
            for m in sorted(chosen, key=lambda m: -m.start):
                text = expected[m.document.pk]
                expected[m.document.pk] = text[:m.start] + replacement + text[m.end:]
            result = batches.create_batch(editor, edition, "Dashes", chosen, find="139142",
                                          replacement=replacement)
            refused = {d.pk for d, _ in result.refused}
            if result.batch:
                outcomes = batches.approve_batch(reviewer, result.batch)
                refused |= {o.proposal.document_id for o in outcomes if o.failed}
            for document in Document.objects.filter(edition=edition).select_related(
                    "current_revision"):
                now = document.current_revision.text
                # Applied exactly where ticked, or (refused: reported) not at all.
                assert now == (before[document.pk] if document.pk in refused
                               else expected[document.pk])
            raise _Rollback
    except _Rollback:
        pass


# ------------------------------------------------------------------------------------------
# The pages


def _login(client, user):
    client.force_login(user)
    return client


def test_preview_lists_every_match_ticked_and_submit_makes_the_batch(client, edition, team):
    _login(client, team.editor)
    url = f"/{edition.slug}/batches/new/"
    page = client.get(url, {"find": "139142"})
    assert page.status_code == 200 and 'value="139142"' in page.text
    assert 'name="match"' not in page.text  # nothing to preview before a replacement is given
    page = client.get(url, {"find": "139142", "replacement": "139–142"})
    assert "4 matches in 3 documents" in page.text
    assert page.text.count('name="match"') == 4 and page.text.count(" checked") == 4
    assert "<del>139142</del><ins>139–142</ins>" in page.text
    none = client.get(url, {"find": "139142", "replacement": "139–142", "ticked": "none"})
    assert none.text.count(" checked") == 0
    found = batches.matches(edition, "139142", "139–142")
    response = client.post(url, {"find": "139142", "replacement": "139–142",
                                 "rationale": "Restore the dashes",
                                 "match": [m.token for m in found[:3]]})
    batch = ProposalBatch.objects.get()
    assert response.status_code == 302 and response.url == batch.get_absolute_url()
    assert sorted(p.document.xml_id for p in batch.proposals.all()) == ["d1", "d2"]


def test_submit_without_a_rationale_shows_the_preview_again(client, edition, team):
    _login(client, team.editor)
    found = batches.matches(edition, "139142", "139–142")
    response = client.post(f"/{edition.slug}/batches/new/", {
        "find": "139142", "replacement": "139–142", "rationale": " ",
        "match": [found[0].token]})
    assert response.status_code == 400 and "rationale is required" in response.text
    assert response.text.count(" checked") == 1  # what was ticked stays ticked
    assert not ProposalBatch.objects.exists()


def test_forged_post_is_refused_with_400(client, edition, team, other_edition):
    _login(client, team.editor)
    other = doc(other_edition, "d1")
    response = client.post(f"/{edition.slug}/batches/new/", {
        "find": "139142", "replacement": "x", "rationale": "r",
        "match": [f"{other.pk}:1:0:6"]})
    assert response.status_code == 400 and "not in this edition" in response.text
    assert not Proposal.objects.exists()


@pytest.mark.parametrize("who, status", [("stranger", 404), ("elsewhere", 404)])
def test_people_without_the_role_are_refused(client, edition, team, other_edition, who,
                                             status):
    # Every role of an edition may propose (edition/roles.py): without one, the pages are 404.
    if who == "elsewhere":  # an editor of another edition only
        user = make_member(other_edition, "elsewhere", "editor")
    else:
        user = team.stranger
    _login(client, user)
    url = f"/{edition.slug}/batches/new/"
    assert client.get(url, {"find": "139142", "replacement": "x"}).status_code == status
    found = batches.matches(edition, "139142", "x")
    assert client.post(url, {"find": "139142", "replacement": "x", "rationale": "r",
                             "match": [m.token for m in found]}).status_code == status
    assert client.get(f"/{edition.slug}/batches/check/range/").status_code == status
    assert not Proposal.objects.exists()


def test_queue_shows_the_batch_as_one_item_and_the_batch_page_approves_all(client, edition,
                                                                          team):
    batch = _batch(edition, team)
    _login(client, team.reviewer)
    queue = client.get("/review/queue/")
    assert "Replace “139142” with “139–142” in 3 documents" in queue.text
    assert "3 pending" in queue.text and batch.get_absolute_url() in queue.text
    assert f'id="proposal-{batch.proposals.first().pk}"' not in queue.text
    page = client.get(batch.get_absolute_url())
    assert page.status_code == 200 and "Approve all that apply" in page.text
    for p in batch.proposals.all():
        assert f'/review/proposals/{p.pk}/approve/' in page.text  # per-document decisions
    response = client.post(f"/{edition.slug}/batches/{batch.pk}/approve/")
    assert response.status_code == 302
    assert batches.progress(batch).approved == 3
    assert "139142" not in doc(edition, "d1").current_revision.text
    assert batch.get_absolute_url() not in client.get("/review/queue/").text


def test_per_document_decision_from_the_batch_page(client, edition, team):
    batch = _batch(edition, team)
    _login(client, team.reviewer)
    d2 = batch.proposals.get(document__xml_id="d2")
    client.post(f"/review/proposals/{d2.pk}/reject/", {"reason": "keep it",
                                                       "next": batch.get_absolute_url()})
    state = batches.progress(batch)
    assert (state.rejected, state.pending) == (1, 2)
    assert "Rejected <span class=\"count\">1</span>" in client.get(
        batch.get_absolute_url()).text


def test_editors_may_not_approve_a_batch(client, edition, team):
    batch = _batch(edition, team)
    editor2 = make_member(edition, "editor2", "editor")
    _login(client, editor2)
    page = client.get(batch.get_absolute_url())
    assert page.status_code == 200 and "Approve all that apply" not in page.text
    assert client.post(f"/{edition.slug}/batches/{batch.pk}/approve/").status_code == 403
    _login(client, team.stranger)
    assert client.get(batch.get_absolute_url()).status_code == 404
    assert batches.progress(batch).pending == 3


def test_batch_of_another_edition_is_404(client, edition, team, other_edition):
    batch = _batch(edition, team)
    _login(client, team.reviewer)
    assert client.get(f"/{other_edition.slug}/batches/{batch.pk}/").status_code == 404


def test_check_page_previews_the_suggestions(client, edition, team):
    d4 = doc(edition, "d4")
    Suggestion.objects.create(document=d4, revision=d4.current_revision, check_name="range",
                              change="text", exact="139142", replacement="139–142",
                              explanation="a lost en dash")
    _login(client, team.editor)
    page = client.get(f"/{edition.slug}/batches/check/range/")
    assert "1 match in 1 document" in page.text
    found = batches.suggestion_matches(edition, "range")
    response = client.post(f"/{edition.slug}/batches/check/range/", {
        "rationale": "Lost ranges", "match": [m.token for m in found]})
    assert response.status_code == 302
    assert ProposalBatch.objects.get().check_name == "range"


def test_a_refusal_inside_a_chunk_undoes_its_document_alone(edition, team, settings,
                                                            monkeypatch):
    monkeypatch.setattr(batches, "CHUNK", 2)  # d1 (refused) and d2 share a transaction
    settings.EMEND_MAX_PROPOSAL_CHANGES = 1
    result = batches.create_batch(team.editor, edition, "Dashes",
                                  batches.matches(edition, "139142", "139–142"),
                                  find="139142", replacement="139–142")
    assert [d.xml_id for d, _ in result.refused] == ["d1"]
    assert sorted(Proposal.objects.values_list("document__xml_id", flat=True)) == ["d2", "d4"]


def test_the_proposal_page_links_to_its_batch(client, edition, team):
    batch = _batch(edition, team)
    _login(client, team.reviewer)
    page = client.get(f"/review/proposals/{batch.proposals.first().pk}/")
    assert batch.get_absolute_url() in page.text


def test_the_check_link_include(edition):
    from django.template.loader import render_to_string

    html = render_to_string("review/_batch_link.html", {"edition": edition,
                                                        "check_name": "range", "count": 12})
    assert f'href="/{edition.slug}/batches/check/range/"' in html and "Fix all 12" in html
    assert render_to_string("review/_batch_link.html", {"edition": edition,
                                                        "check_name": "range",
                                                        "count": 1}).strip() == ""


def test_a_large_batch_form_reaches_the_view(client, edition, team):
    # 1,200 ticked matches: past Django's default of 1,000 fields (settings raise it).
    _login(client, team.editor)
    response = client.post(f"/{edition.slug}/batches/new/", {
        "find": "139142", "replacement": "x", "rationale": "r",
        "match": [f"{n}:1:0:6" for n in range(1, 1201)]})
    assert response.status_code == 400 and "not in this edition" in response.text


def test_documents_containing_is_literal_case_sensitive_and_per_edition(edition,
                                                                         other_edition):
    from edition.search import documents_containing

    assert [d.xml_id for d in documents_containing(edition, "139142")] == ["d1", "d2", "d4"]
    assert [d.xml_id for d in documents_containing(edition, "Nothing to")] == ["d3"]
    assert not documents_containing(edition, "nothing to").exists()  # SQLite's LIKE would
    assert not documents_containing(edition, "").exists()
    assert [d.xml_id for d in documents_containing(other_edition, "139142")] == ["d1"]


def test_the_search_pages_query_fills_the_form(client, edition, team):
    _login(client, team.editor)
    page = client.get(f"/{edition.slug}/batches/new/", {"q": '"Documents 139142"'})
    assert 'value="Documents 139142"' in page.text


def test_a_document_the_gate_refuses_is_reported_and_the_others_proposed(edition, team,
                                                                          monkeypatch):
    from edition.gate import GateError
    from review.actions import propose as propose_module

    real = propose_module.check_candidate

    def refuse_d2(tei, document, **kwargs):
        if document.xml_id == "d2":
            raise GateError("not valid TEI for the test", code="invalid-tei")
        return real(tei, document, **kwargs)

    monkeypatch.setattr(propose_module, "check_candidate", refuse_d2)
    result = batches.create_batch(team.editor, edition, "Dashes",
                                  batches.matches(edition, "139142", "139–142"),
                                  find="139142", replacement="139–142")
    assert [(d.xml_id, "not valid TEI for the test" in why) for d, why in result.refused] == [
        ("d2", True)]
    assert sorted(p.document.xml_id for p in result.proposals) == ["d1", "d4"]


def test_the_queue_asks_for_batches_in_one_query_however_many(client, edition, team):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _login(client, team.reviewer)
    client.get("/review/queue/")

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/review/queue/").status_code == 200
        return len(queries)

    none = count()
    _batch(edition, team)
    one = count()
    batches.create_batch(team.editor, edition, "Spelling",
                         batches.matches(edition, "Nothing", "Naught"), find="Nothing",
                         replacement="Naught")
    assert one == count() == none + 1


def test_decided_and_conflicted_batch_proposals_are_rows_under_their_status(client, edition,
                                                                              team):
    """Only a batch's pending proposals are folded into its one queue item: an approved or
    conflicted one is counted and listed under its status like any other."""
    batch = _batch(edition, team)
    first, *rest = list(batch.proposals.order_by("pk"))
    do_approve(first, by=team.reviewer)
    client.force_login(team.reviewer)
    approved = client.get("/review/queue/?status=approved")
    assert f'id="proposal-{first.pk}"' in approved.text
    pending = client.get("/review/queue/")
    assert f'id="proposal-{rest[0].pk}"' not in pending.text
    counts = html.fromstring(pending.content).xpath("string(//*[contains(@class,'status-counts')])")
    assert "Approved 1" in " ".join(counts.split())
