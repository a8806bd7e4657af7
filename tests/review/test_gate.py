"""The gate in review (edition/gate.py): a proposal whose result is not valid TEI, or that a
renderer cannot take, is refused when made (API 422, form 400); one that slipped past (made
before the gate, or on a revision that has changed since) is refused at approval (409) with
nothing changed but the refusal on its timeline."""

import pytest
from rest_framework.test import APIClient

from edition.models import Document
from edition.tei.selectors import selector
from review.models import Change, Event, Proposal
from tests.edition.test_gate import DEEP_HI, INVALID, VALID
from tests.helpers import make_member
from tests.helpers import token_client
from tests.review.test_api import PROPOSE, error, propose, selection

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def d142(sample_edition):
    return Document.objects.select_related("current_revision").get(
        edition=sample_edition, xml_id="d142")


@pytest.fixture
def editor(sample_edition):
    return make_member(sample_edition, "editor", "editor")


@pytest.fixture
def reviewer(sample_edition):
    return make_member(sample_edition, "reviewer", "reviewer")


def last_paragraph(d142) -> str:
    return d142.current_revision.text.split("\n\n")[-1]


def structural_fix(fragment: str, d142) -> dict:
    """The API body replacing d142's last paragraph with `fragment`."""
    return {"base_revision": 1, "kind": "structure", "rationale": "restore the structure",
            "selector": selection(d142.current_revision.text, last_paragraph(d142)),
            "fragment": fragment}


def slipped_past(d142, author, fragment: str) -> Proposal:
    """A pending structural fix stored without the checks of proposing (as one made before the
    gate existed was)."""
    head = d142.current_revision
    start = head.text.index(last_paragraph(d142))
    end = start + len(last_paragraph(d142))
    proposal = Proposal.objects.create(document=d142, author=author, revision=head,
                                       rationale="restore the structure")
    Change.objects.create(proposal=proposal, kind=Change.Kind.STRUCTURE, start=start, end=end,
                          content=fragment, **selector(head.text, start, end))
    Event.objects.create(proposal=proposal, actor=author, kind=Event.Kind.CREATED)
    return proposal


def revisions(d142) -> int:
    return d142.revisions.count()


# -- proposing --------------------------------------------------------------------------------

@pytest.mark.parametrize("case", [c for c in INVALID if c != "cols-superscript-two"])
def test_schema_invalid_fix_is_refused_when_proposed(case, d142, editor):
    body = error(token_client(editor).post(PROPOSE, structural_fix(INVALID[case], d142),
                                           format="json"), 422, "invalid-tei")
    assert body["message"].startswith("the document as changed fails the checks every "
                                      "revision must pass: not valid TEI: in ")
    assert not Proposal.objects.exists()


def test_cell_cols_superscript_two_is_refused_when_proposed(d142, editor):
    body = error(token_client(editor).post(
        PROPOSE, structural_fix(INVALID["cols-superscript-two"], d142), format="json"),
        422, "invalid-tei")
    assert "Invalid attribute cols for element cell (cols=“²”)" in body["message"]


def test_250_nested_hi_is_refused_when_proposed(d142, editor):
    # The depth limit refuses it first, before anything renders it.
    body = error(token_client(editor).post(PROPOSE, structural_fix(DEEP_HI, d142),
                                           format="json"), 422, "too_deep")
    assert "EMEND_MAX_FRAGMENT_DEPTH" in body["message"]


def test_250_nested_hi_past_a_raised_fragment_limit_is_refused_by_the_gate(d142, editor,
                                                                           settings):
    settings.EMEND_MAX_FRAGMENT_DEPTH = 1000
    body = error(token_client(editor).post(PROPOSE, structural_fix(DEEP_HI, d142),
                                           format="json"), 422, "too_deep")
    assert "its elements nest 251 levels deep" in body["message"]
    assert "(EMEND_MAX_TEI_DEPTH)" in body["message"]


def test_the_form_shows_the_refusal(client, d142, editor):
    client.force_login(editor)
    revision = d142.current_revision
    exact = last_paragraph(d142)
    start = revision.text.index(exact)
    response = client.post("/frus1958-60v18/d142/propose/", {
        "action": "submit", "kind": "structure", "rationale": "restore the structure",
        "rev": revision.number, "start": start, "end": start + len(exact), "exact": exact,
        "prefix": revision.text[max(start - 32, 0):start], "suffix": "",
        "fragment": INVALID["empty-list"]}, **HTMX)
    assert response.status_code == 400
    assert "not valid TEI: in the &lt;list&gt; (empty)" in response.content.decode()
    assert not Proposal.objects.exists()


# -- approving --------------------------------------------------------------------------------

def test_fix_that_slipped_past_proposing_is_refused_at_approval_and_nothing_changes(
        d142, editor, reviewer):
    proposal = slipped_past(d142, editor, INVALID["opener-after-paragraphs"])
    before = revisions(d142)
    body = error(token_client(reviewer).post(f"/api/proposals/{proposal.pk}/approve"),
                 409, "refused")
    assert body["message"].startswith("the approval is refused and nothing was changed")
    assert "Did not expect element opener there" in body["message"]
    assert revisions(d142) == before
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.PENDING and proposal.approvers() == set()
    assert [e.kind for e in proposal.events.all()] == ["created", "refused"]
    [refused] = proposal.events.filter(kind=Event.Kind.REFUSED)
    assert refused.actor == reviewer and "opener" in refused.body
    assert Document.objects.get(pk=d142.pk).current_revision_id == d142.current_revision_id


def test_the_author_reads_why_on_the_proposal_page(client, d142, editor, reviewer):
    proposal = slipped_past(d142, editor, INVALID["empty-row"])
    token_client(reviewer).post(f"/api/proposals/{proposal.pk}/approve")
    client.force_login(editor)
    page = client.get(f"/review/proposals/{proposal.pk}/").content.decode()
    assert "could not approve" in page
    assert "in the &lt;row&gt; (empty)" in page


def test_the_decision_panel_shows_the_refusal_to_the_reviewer(client, d142, editor, reviewer,
                                                              settings):
    settings.EMEND_MAX_FRAGMENT_DEPTH = 1000  # past the limit, the gate is what stops it
    proposal = slipped_past(d142, editor, DEEP_HI)
    client.force_login(reviewer)
    response = client.post(f"/review/proposals/{proposal.pk}/approve/", **HTMX)
    assert response.status_code == 409
    content = response.content.decode()
    assert 'role="alert"' in content and "nest 251 levels deep" in content
    assert "EMEND_MAX_TEI_DEPTH" in content
    assert revisions(d142) == 1


def test_approval_without_the_schema_is_refused_and_records_nothing(d142, editor, reviewer,
                                                                    settings, tmp_path):
    proposal = slipped_past(d142, editor, VALID["paragraph"])
    settings.EMEND_TEI_SCHEMA = tmp_path / "missing.rng"
    body = error(token_client(reviewer).post(f"/api/proposals/{proposal.pk}/approve"),
                 503, "no-schema")
    assert "run `make schema`" in body["message"]
    assert [e.kind for e in proposal.events.all()] == ["created"]


@pytest.mark.parametrize("case", VALID)
def test_valid_structural_fix_is_still_approved(case, d142, editor, reviewer):
    data = propose(token_client(editor), structural_fix(VALID[case], d142))
    response = token_client(reviewer).post(f"/api/proposals/{data['id']}/approve")
    assert response.status_code == 200, response.content
    assert response.json()["revision"] == 2
    assert APIClient().get("/frus1958-60v18/d142/").status_code == 200


def test_an_approval_leaves_its_rendered_pieces_for_the_exports(d142, editor, reviewer,
                                                                 monkeypatch):
    from edition.exporting import epub, html, pdfhtml
    from edition.exporting.sources import load_volume

    data = propose(token_client(editor), structural_fix(VALID["table"], d142))
    token_client(reviewer).post(f"/api/proposals/{data['id']}/approve")

    def render_again(*args, **kwargs):
        raise AssertionError("rendered again")

    # EPUB and print HTML start from the HTML export's rendering of the revision.
    monkeypatch.setattr(html, "render_html", render_again)
    [part] = [p for p in load_volume(d142.edition).parts if p.xml_id == "d142"]
    assert part.revision.number == 2
    assert "<table" in html.article(part) and "<table" in pdfhtml.article(part)
    assert epub.chapter(part)["xhtml"]
