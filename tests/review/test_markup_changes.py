"""Markup as a change of its own (`"kind": "markup"`): proposed on words of the text layer,
approved into the TEI without touching the text, reverted by unwrapping; a text correction
typing markup is refused; the volume's persons and terms are offered to the picker."""

import pytest

from edition.imports import import_tei
from review.actions import ProposalError
from review.actions.approve import do_approve
from review.actions.propose import ChangeSpec, do_propose
from review.actions.revert import do_revert
from review.models import Change, Proposal
from review.presentation import describe, short_diff
from tests.helpers import SAMPLES, text_spec, token_client

pytestmark = pytest.mark.django_db

EDITION = "frus1958-60v18"
KISHI = {"corresp": "#p_KN1"}


@pytest.fixture
def sample_edition(db):
    """The volume with its front matter (List of Persons, List of Abbreviations): `people`
    are members of it."""
    return import_tei(SAMPLES / "frus1958-60v18-with-front-matter.xml").edition



def document(edition, xml_id):
    return edition.documents.select_related("current_revision").get(xml_id=xml_id)


def markup_spec(revision, words, element, attributes=None, operation="wrap", occurrence=0):
    spec = text_spec(revision, words, "", occurrence=occurrence, kind=Change.Kind.MARKUP)
    from edition.tei.markup import Markup
    spec.content = Markup(operation, element, attributes or {}).to_content()
    return spec


def approve_now(proposal, people):
    do_approve(Proposal.objects.get(pk=proposal.pk), by=people.reviewer)
    return Proposal.objects.get(pk=proposal.pk)


def test_api_markup_change_wraps_kishi_once_approved(sample_edition, people):
    d144 = document(sample_edition, "d144")
    head = d144.current_revision
    # d142's only “Kishi” is in a footnote (no place on the document's text layer); d144 has
    # it marked already: take the markup off, then put it back through the API's example body.
    unwrap = do_propose(d144, author=people.editor, base_revision=head.number,
                        changes=[markup_spec(head, "Kishi", "persName", operation="unwrap")],
                        rationale="Start from bare words")
    assert approve_now(unwrap, people).status == "approved"
    d144.refresh_from_db()
    assert "<persName corresp=\"#p_KN1\">Kishi</persName>" not in d144.current_revision.tei
    assert d144.current_revision.text == head.text

    editor, reviewer = token_client(people.editor), token_client(people.reviewer)
    response = editor.post(f"/api/editions/{EDITION}/documents/d144/proposals/", {
        "base_revision": 2, "kind": "markup", "selector": {"exact": "Kishi"},
        "element": "persName", "attributes": KISHI,
        "rationale": "Kishi is the Prime Minister of the List of Persons",
    }, format="json")
    assert response.status_code == 201, response.json()
    change = response.json()["changes"][0]
    assert (change["kind"], change["element"], change["attributes"]) == (
        "markup", "persName", KISHI)
    assert change["selector"]["exact"] == "Kishi"
    approved = reviewer.post(f"/api/proposals/{response.json()['id']}/approve", {},
                             format="json")
    assert approved.status_code == 200, approved.json()
    d144.refresh_from_db()
    assert '<persName corresp="#p_KN1">Kishi</persName>' in d144.current_revision.tei
    assert d144.current_revision.text == head.text


def test_api_refuses_markup_outside_the_allow_list_and_across_markup(sample_edition, people):
    editor = token_client(people.editor)
    url = f"/api/editions/{EDITION}/documents/d144/proposals/"
    body = {"base_revision": 1, "kind": "markup", "selector": {"exact": "Kishi"},
            "rationale": "r"}
    response = editor.post(url, {**body, "element": "script"}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (422, "markup")
    response = editor.post(url, {**body, "selector": {"exact": "ishi mentioned"},
                                 "element": "persName"}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (422, "markup")
    assert "crosses the edge of existing markup" in response.json()["error"]["message"]


def test_text_correction_typing_markup_is_refused_towards_markup(sample_edition, people):
    d142 = document(sample_edition, "d142")
    head = d142.current_revision
    spec = text_spec(head, "Prime Minister", '<persName corresp="#p_KN1">Prime Minister</persName>')
    with pytest.raises(ProposalError, match="markup change") as refused:
        do_propose(d142, author=people.editor, base_revision=1, changes=[spec], rationale="r")
    assert refused.value.code == "markup"
    response = token_client(people.editor).post(
        f"/api/editions/{EDITION}/documents/d142/proposals/",
        {"base_revision": 1, "selector": {"exact": "The Prime Minister expressed the appreciation"},
         "rationale": "r", "replacement": "The Prime Minister&nbsp;expressed the appreciation"}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (422, "markup")
    # Plain characters that merely look like markup stay text corrections.
    do_propose(d142, author=people.editor, base_revision=1,
               changes=[text_spec(head, "Prime Minister", "Prime Minister (A&B)")],
               rationale="r")


def test_pending_structural_fix_conflicts_after_markup_of_its_block(sample_edition, people):
    d142 = document(sample_edition, "d142")
    head = d142.current_revision
    start = head.text.index("The Prime Minister expressed the appreciation")
    end = head.text.index("\n\n", start)
    block = head.text[start:end]
    fix = do_propose(d142, author=people.editor2, base_revision=1, rationale="Re-typed",
                     changes=[ChangeSpec(Change.Kind.STRUCTURE, start, end,
                                         f"<p>{block}</p>", exact=block)])
    nearby = do_propose(d142, author=people.editor2, base_revision=1, rationale="typo",
                        changes=[text_spec(head, "Japanese Government", "Japanese government")])
    marked = do_propose(d142, author=people.editor, base_revision=1, rationale="a person",
                        changes=[markup_spec(head, "Prime Minister", "persName", KISHI)])
    approve_now(marked, people)
    fix.refresh_from_db()
    assert fix.status == "conflicted"
    assert "markup" in fix.status_reason
    nearby.refresh_from_db()
    assert nearby.status == "pending" and nearby.context_changed is False  # other words


def test_markup_change_is_described_and_reverted_by_unwrapping(sample_edition, people):
    d142 = document(sample_edition, "d142")
    head = d142.current_revision
    proposal = do_propose(d142, author=people.editor, base_revision=1, rationale="a person",
                          changes=[markup_spec(head, "Prime Minister", "persName", KISHI)])
    change = proposal.changes.get()
    assert short_diff(change, head.text) == (
        "wrap “Prime Minister” in persName corresp=#p_KN1")
    view = describe(change, head)
    assert '<persName corresp="#p_KN1">Prime Minister</persName>' in view.source_after
    approve_now(proposal, people)
    d142.refresh_from_db()
    revert = do_revert(d142, d142.current_revision, by=people.editor, reason="wrong person")
    undo = revert.changes.get()
    assert (undo.markup.operation, undo.markup.element) == ("unwrap", "persName")
    approve_now(revert, people)
    d142.refresh_from_db()
    assert d142.current_revision.tei.count('corresp="#p_KN1"') == head.tei.count(
        'corresp="#p_KN1"')


def test_persons_endpoint_finds_kishi(sample_edition, client):
    response = client.get(f"/api/editions/{EDITION}/persons/?q=kish")
    assert response.status_code == 200
    kishi = response.json()["results"][0]
    assert (kishi["id"], kishi["name"]) == ("p_KN1", "Kishi, Nobusuke")
    assert kishi["attributes"] == KISHI and kishi["element"] == "persName"
    assert "Prime Minister" in kishi["description"]
    terms = client.get(f"/api/editions/{EDITION}/terms/?q=anzus").json()["results"]
    assert [t["id"] for t in terms] == ["t_ANZUS1"]


def test_form_without_javascript_offers_markup_and_the_volume_s_persons(sample_edition, people,
                                                                        client):
    client.force_login(people.editor)
    url = f"/{EDITION}/d142/propose/"
    page = client.get(url).content.decode()
    assert 'value="markup"' in page and 'name="markup_element"' in page
    assert '<option value="#p_KN1">Kishi, Nobusuke</option>' in page
    response = client.post(url, {
        "action": "submit", "kind": "markup", "rev": 1, "rationale": "a person",
        "exact": "The Prime Minister expressed the appreciation", "markup_operation": "wrap",
        "markup_element": "persName", "attr_corresp_pick": "#p_KN1"})
    assert response.status_code == 302
    change = Proposal.objects.get().changes.get()
    assert (change.kind, change.markup.attributes) == ("markup", KISHI)
    assert change.exact == "The Prime Minister expressed the appreciation"


def test_form_refuses_a_text_correction_typing_markup_with_400(sample_edition, people, client):
    client.force_login(people.editor)
    response = client.post(f"/{EDITION}/d142/propose/", {
        "action": "submit", "kind": "text", "rev": 1, "rationale": "r",
        "exact": "The Prime Minister expressed the appreciation",
        "replacement": '<persName corresp="#p_KN1">The Prime Minister</persName> expressed '
                       "the appreciation"})
    assert response.status_code == 400
    assert "markup change" in response.content.decode()
    assert not Proposal.objects.exists()


def test_markup_proposal_pages_show_and_retarget_it(sample_edition, people, client):
    d142 = document(sample_edition, "d142")
    head = d142.current_revision
    words = "The Prime Minister expressed the appreciation"
    first = do_propose(d142, author=people.editor, base_revision=1, rationale="a person",
                       changes=[markup_spec(head, words, "persName", KISHI)])
    second = do_propose(d142, author=people.editor2, base_revision=1, rationale="a term",
                        changes=[markup_spec(head, words, "term", {"corresp": "#t_AA1"})])
    client.force_login(people.reviewer)
    page = client.get(first.get_absolute_url()).content.decode()
    assert "wrap “The Prime Minister expressed the appreciation” in persName" in page
    approve_now(first, people)
    second.refresh_from_db()
    assert second.status == "conflicted"  # markup of the same words since
    client.force_login(people.editor2)
    assert client.get(f"/review/proposals/{second.pk}/retarget/").status_code == 200
