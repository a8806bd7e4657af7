"""Document metadata as a change of its own (`"kind": "metadata"`): the document div's dates,
proposed and reviewed like any change; the contents page follows once approved."""

import datetime as dt

import pytest
from django.test import Client
from rest_framework.test import APIClient

from edition.models import Document
from edition.tei import FRUS_NS
from review.actions import ProposalError
from review.actions.approve import do_approve
from review.actions.propose import ChangeSpec, do_propose
from review.actions.revert import do_revert
from review.models import Change, Proposal, attributes_content
from tests.helpers import text_spec, token_client

pytestmark = pytest.mark.django_db

EDITION = "frus1958-60v18"
PROPOSALS_URL = f"/api/editions/{EDITION}/documents/d143/proposals/"
MIN, MAX = "frus:doc-dateTime-min", "frus:doc-dateTime-max"
DATES = {MIN: "1960-01-19T15:30:00-05:00", MAX: "1960-01-19T17:30:00-05:00"}



@pytest.fixture
def d143(sample_volume):
    return sample_volume.documents.get(xml_id="d143")


@pytest.fixture
def as_editor(people):
    return token_client(people.editor)


@pytest.fixture
def as_reviewer(people):
    return token_client(people.reviewer)


def propose_dates(client, attributes, *, base=1, status=201):
    response = client.post(PROPOSALS_URL, {
        "base_revision": base, "kind": "metadata", "attributes": attributes,
        "rationale": "The date of the conversation, as the dateline gives it",
    }, format="json")
    assert response.status_code == status, response.json()
    return response.json()


def approve(client, proposal_id, status=200):
    response = client.post(f"/api/proposals/{proposal_id}/approve", {}, format="json")
    assert response.status_code == status, response.json()
    return response.json()


def metadata_change(revision_number: int, attributes: dict) -> list[ChangeSpec]:
    return [ChangeSpec(Change.Kind.METADATA, 0, 0, attributes_content(attributes))]


def test_approved_dates_reach_the_div_the_row_and_the_contents(d143, as_editor, as_reviewer):
    contents = Client().get(f"/{EDITION}/").content.decode()
    assert "January 19, 1960" not in contents.split("Memorandum of Conversation")[0][-2000:]
    assert d143.date_min is None  # imported from plain text: no date

    proposal = propose_dates(as_editor, DATES)
    assert proposal["changes"] == [{"kind": "metadata", "attributes": DATES}]
    approved = approve(as_reviewer, proposal["id"])
    assert (approved["status"], approved["revision"]) == ("approved", 2)

    document = Document.objects.get(pk=d143.pk)
    div = document.current_revision.element
    assert div.get(f"{{{FRUS_NS}}}doc-dateTime-min") == DATES[MIN]
    assert div.get(f"{{{FRUS_NS}}}doc-dateTime-max") == DATES[MAX]
    assert document.current_revision.text == document.current_revision.parent.text
    assert document.date_min == dt.datetime(1960, 1, 19, 20, 30, tzinfo=dt.UTC)
    assert document.date_max == dt.datetime(1960, 1, 19, 22, 30, tzinfo=dt.UTC)
    assert document.current_revision.record.attributes == (MAX, MIN)
    published = APIClient().get(f"/api/editions/{EDITION}/documents/d143/").json()
    assert published["attributes"] == DATES

    contents = Client().get(f"/{EDITION}/").content.decode()
    row = contents[contents.index('href="/frus1958-60v18/d143/"'):]
    row = row[:row.index("</tr>")]
    assert 'datetime="1960-01-19' in row and "January 19, 1960" in row


@pytest.mark.parametrize("attributes, field", [
    ({MIN: "January 19, 1960", MAX: DATES[MAX]}, f"attributes.{MIN}"),
    ({MIN: "1960-01-19T15:30:00", MAX: DATES[MAX]}, f"attributes.{MIN}"),  # no UTC offset
    ({MIN: "1960-13-19T15:30:00-05:00", MAX: DATES[MAX]}, f"attributes.{MIN}"),
    ({MIN: DATES[MIN], MAX: 1960}, f"attributes.{MAX}"),
    ({MIN: DATES[MAX], MAX: DATES[MIN]}, f"attributes.{MIN}"),  # min after max
    ({"n": "143"}, "attributes.n"),  # not on the allow-list
    ({"xml:id": "d999"}, "attributes.xml:id"),
    ({}, "attributes"),
    (None, "attributes"),
])
def test_bad_metadata_is_refused_naming_the_field(d143, as_editor, attributes, field):
    body = propose_dates(as_editor, attributes, status=422)["error"]
    assert body["code"] == "metadata" and body["field"] == field, body
    assert body["message"].startswith(field)
    assert not Proposal.objects.exists()


def test_one_date_without_the_other_is_refused(d143, as_editor):
    body = propose_dates(as_editor, {MIN: DATES[MIN]}, status=422)["error"]
    assert body["code"] == "metadata"
    assert MIN in body["message"] and MAX in body["message"]


def test_min_after_the_documents_max_is_refused(d143, people):
    do_approve(do_propose(d143, author=people.editor, base_revision=1,
                          changes=metadata_change(1, DATES), rationale="dates"),
               by=people.reviewer)
    with pytest.raises(ProposalError, match="is after"):
        do_propose(d143, author=people.editor, base_revision=2, rationale="later",
                   changes=metadata_change(2, {MIN: "1960-01-20T00:00:00-05:00"}))


def test_values_the_document_already_has_are_an_empty_change(d143, people):
    do_approve(do_propose(d143, author=people.editor, base_revision=1,
                          changes=metadata_change(1, DATES), rationale="dates"),
               by=people.reviewer)
    with pytest.raises(ProposalError, match="empty"):
        do_propose(d143, author=people.editor, base_revision=2, rationale="again",
                   changes=metadata_change(2, DATES))


def test_second_change_of_the_same_dates_conflicts_once_the_first_is_approved(
        d143, people, as_editor, as_reviewer):
    first = propose_dates(as_editor, DATES)
    second = propose_dates(as_editor, {MIN: "1960-01-19T00:00:00-05:00",
                                       MAX: "1960-01-19T23:59:59-05:00"})
    # A text correction of the heading (near offset 0, where metadata changes are stored) is
    # not touched by the dates.
    heading = do_propose(d143, author=people.editor, base_revision=1, rationale="heading",
                         changes=[text_spec(d143.current_revision, "Memorandum of",
                                            "A Memorandum of")])
    approve(as_reviewer, first["id"])
    second = as_reviewer.get(f"/api/proposals/{second['id']}/").json()
    assert second["status"] == "conflicted"
    assert MIN in second["status_reason"] and "revision 2" in second["status_reason"]
    heading.refresh_from_db()
    assert heading.status == Proposal.Status.PENDING


def test_changes_of_other_attributes_or_the_text_do_not_conflict(d143, people):
    text = do_propose(d143, author=people.editor, base_revision=1, rationale="text",
                      changes=[text_spec(d143.current_revision, "143. Memorandum",
                                         "143. A Memorandum")])
    dates = do_propose(d143, author=people.editor, base_revision=1, rationale="dates",
                       changes=metadata_change(1, DATES))
    do_approve(text, by=people.reviewer)
    dates.refresh_from_db()
    assert dates.status == Proposal.Status.PENDING
    assert [(c.start, c.end) for c in dates.changes.all()] == [(0, 0)]
    assert do_approve(dates, by=people.reviewer).number == 3


def test_dates_proposed_on_an_older_revision_are_stale_after_dates_approved(d143, people):
    do_approve(do_propose(d143, author=people.editor, base_revision=1,
                          changes=metadata_change(1, DATES), rationale="dates"),
               by=people.reviewer)
    with pytest.raises(ProposalError) as refused:
        do_propose(d143, author=people.editor, base_revision=1, rationale="old view",
                   changes=metadata_change(1, {MAX: "1960-01-19T18:30:00-05:00"}))
    assert refused.value.code == "stale" and MAX in refused.value.message


def test_metadata_and_a_structural_fix_in_one_proposal(d143, people):
    head = d143.current_revision
    at = head.text.index("SUBJECT")
    fragment = ('<opener><dateline><date from="1960-01-19T15:30:00-05:00" '
                'to="1960-01-19T17:30:00-05:00">January 19, 1960</date></dateline></opener>')
    proposal = do_propose(d143, author=people.editor, base_revision=1, rationale="dateline",
                          changes=[ChangeSpec("structure", at, at, fragment, exact=""),
                                   *metadata_change(1, DATES)])
    revision = do_approve(proposal, by=people.reviewer)
    assert "January 19, 1960" in revision.text
    assert Document.objects.get(pk=d143.pk).date_min is not None
    # Its revert undoes both: the blocks and the dates.
    revert = do_revert(d143, revision, by=people.editor, reason="wrong dateline")
    assert sorted(c.kind for c in revert.changes.all()) == ["metadata", "structure"]
    reverted = do_approve(revert, by=people.reviewer)
    assert reverted.text == d143.current_revision.text
    assert Document.objects.get(pk=d143.pk).date_min is None


def test_two_metadata_changes_in_one_proposal_are_refused(d143, people):
    with pytest.raises(ProposalError) as refused:
        do_propose(d143, author=people.editor, base_revision=1, rationale="twice",
                   changes=metadata_change(1, {MIN: DATES[MIN], MAX: DATES[MAX]})
                   + metadata_change(1, {MAX: DATES[MAX], MIN: DATES[MIN]}))
    assert refused.value.code == "overlap"


def test_reverting_a_metadata_change_restores_the_old_dates(d143, people):
    revision = do_approve(do_propose(d143, author=people.editor, base_revision=1,
                                     changes=metadata_change(1, DATES), rationale="dates"),
                          by=people.reviewer)
    revert = do_revert(d143, revision, by=people.editor, reason="wrong day")
    assert [c.attributes for c in revert.changes.all()] == [{MIN: "", MAX: ""}]
    do_approve(revert, by=people.reviewer)
    document = Document.objects.get(pk=d143.pk)
    assert (document.date_min, document.date_max) == (None, None)
    assert not document.current_revision.element.get(f"{{{FRUS_NS}}}doc-dateTime-min")


def test_revert_is_refused_when_the_dates_changed_since(d143, people):
    revision = do_approve(do_propose(d143, author=people.editor, base_revision=1,
                                     changes=metadata_change(1, DATES), rationale="dates"),
                          by=people.reviewer)
    do_approve(do_propose(d143, author=people.editor, base_revision=2, rationale="later",
                          changes=metadata_change(2, {MAX: "1960-01-19T18:00:00-05:00"})),
               by=people.reviewer)
    with pytest.raises(ProposalError, match="since modified"):
        do_revert(d143, revision, by=people.editor, reason="wrong day")


# -- the proposing form, without JavaScript ---------------------------------------------------

FORM_URL = f"/{EDITION}/d143/propose/"
DATELINE = ('<opener><dateline><placeName>Washington</placeName>, <date '
            'from="1960-01-19T15:30:00-05:00" to="1960-01-19T17:30:00-05:00">January 19, 1960, '
            "3:30–5:30 p.m.</date></dateline></opener>")


@pytest.fixture
def form(client, people, d143):
    client.force_login(people.editor)
    return client


def test_form_shows_the_dates_kind_with_the_current_dates(form, d143, people):
    do_approve(do_propose(d143, author=people.editor, base_revision=1,
                          changes=metadata_change(1, DATES), rationale="dates"),
               by=people.reviewer)
    page = form.get(FORM_URL).content.decode()
    assert 'value="metadata"' in page and "Set the document&#x27;s date" in page
    assert f'name="date_min" value="{DATES[MIN]}"' in page


def test_form_without_javascript_proposes_the_dates(form, d143):
    response = form.post(FORM_URL, {"action": "submit", "kind": "metadata", "rev": 1,
                                    "date_min": DATES[MIN], "date_max": DATES[MAX],
                                    "rationale": "The date of the conversation"})
    assert response.status_code == 302
    (proposal,) = Proposal.objects.all()
    assert response["Location"] == proposal.get_absolute_url()
    assert [(c.kind, c.attributes) for c in proposal.changes.all()] == [("metadata", DATES)]
    page = form.get(proposal.get_absolute_url()).content.decode()
    assert f"{MIN}: <del>(none)</del> → <ins>{DATES[MIN]}</ins>" in page


def test_form_refuses_a_bad_date_with_the_reason(form, d143):
    response = form.post(FORM_URL, {"action": "submit", "kind": "metadata", "rev": 1,
                                    "date_min": "1960-01-19T15:30:00", "date_max": DATES[MAX],
                                    "rationale": "The date"})
    assert response.status_code == 400
    assert "UTC offset" in response.content.decode()
    assert not Proposal.objects.exists()


def test_set_the_date_from_the_dateline_queues_the_dateline_and_fills_the_dates(form, d143):
    response = form.post(FORM_URL, {"action": "dateline-date", "kind": "structure", "rev": 1,
                                    "exact": "SUBJECT", "placement": "before",
                                    "fragment": DATELINE, "rationale": "Dateline and date"})
    assert response.status_code == 200, response.content.decode()
    page = response.content.decode()
    assert 'value="metadata" checked' in page
    assert f'name="date_min" value="{DATES[MIN]}"' in page
    assert f'name="date_max" value="{DATES[MAX]}"' in page
    queued = [v for k, v in _inputs(page) if k == "queued"]
    assert len(queued) == 1 and "structure" in queued[0]

    response = form.post(FORM_URL, {"action": "submit", "kind": "metadata", "rev": 1,
                                    "queued": queued, "date_min": DATES[MIN],
                                    "date_max": DATES[MAX], "rationale": "Dateline and date"})
    assert response.status_code == 302
    (proposal,) = Proposal.objects.all()
    assert sorted(c.kind for c in proposal.changes.all()) == ["metadata", "structure"]


def test_set_the_date_from_the_documents_own_dateline(form, d143, people):
    at = d143.current_revision.text.index("SUBJECT")
    do_approve(do_propose(d143, author=people.editor, base_revision=1, rationale="dateline",
                          changes=[ChangeSpec("structure", at, at, DATELINE.replace(
                              '<date from="1960-01-19T15:30:00-05:00" '
                              'to="1960-01-19T17:30:00-05:00">', "<date>"), exact="")]),
               by=people.reviewer)
    # The dateline's <date> has no attributes: its written day gives the dates, without the
    # UTC offset the text does not state.
    response = form.post(FORM_URL, {"action": "dateline-date", "kind": "structure", "rev": 2,
                                    "rationale": "Date"})
    page = response.content.decode()
    assert response.status_code == 200, page
    assert 'name="date_min" value="1960-01-19T00:00:00"' in page
    assert 'name="date_max" value="1960-01-19T23:59:59"' in page
    assert 'name="queued"' not in page


def test_set_the_date_without_any_dateline_says_so(form, d143):
    response = form.post(FORM_URL, {"action": "dateline-date", "kind": "structure", "rev": 1,
                                    "rationale": "Date"})
    assert response.status_code == 400
    assert "No dateline with a date" in response.content.decode()


def _inputs(page: str) -> list[tuple[str, str]]:
    from lxml import html

    return [(i.get("name"), i.get("value")) for i in html.fromstring(page).iter("input")]


# -- the other review pages -------------------------------------------------------------------

def test_history_diff_queue_and_corrections_pages_show_a_metadata_revision(client, d143, people):
    pending = do_propose(d143, author=people.editor, base_revision=1, rationale="other dates",
                         changes=metadata_change(1, {MIN: "1960-01-18T00:00:00-05:00",
                                                     MAX: "1960-01-18T23:59:59-05:00"}))
    client.force_login(people.reviewer)
    queue = client.get("/review/").content.decode()
    assert "Document metadata" in queue and "1960-01-18T00:00:00-05:00" in queue
    do_approve(do_propose(d143, author=people.editor, base_revision=1,
                          changes=metadata_change(1, DATES), rationale="dates"),
               by=people.reviewer)
    for url in (f"/{EDITION}/d143/history/", f"/{EDITION}/d143/diff/1/2/",
                f"/{EDITION}/d143/corrections/", f"/{EDITION}/corrections/",
                "/review/", pending.get_absolute_url()):
        response = client.get(url)
        assert response.status_code == 200, url
    log = client.get(f"/{EDITION}/d143/corrections/").content.decode()
    assert f"<code>{MIN}</code> set to <ins>{DATES[MIN]}</ins>" in log


def test_author_retargets_a_conflicted_metadata_change(client, d143, people):
    pending = do_propose(d143, author=people.editor, base_revision=1, rationale="other dates",
                         changes=metadata_change(1, {MIN: "1960-01-18T00:00:00-05:00",
                                                     MAX: "1960-01-18T23:59:59-05:00"}))
    do_approve(do_propose(d143, author=people.editor2, base_revision=1,
                          changes=metadata_change(1, DATES), rationale="dates"),
               by=people.reviewer)
    pending.refresh_from_db()
    assert pending.status == Proposal.Status.CONFLICTED
    client.force_login(people.editor)
    url = f"/review/proposals/{pending.pk}/retarget/"
    assert client.get(url).status_code == 200
    wanted = {MAX: "1960-01-19T18:00:00-05:00"}
    response = client.post(url, {"c0-content": attributes_content(wanted),
                                 "rationale": "The meeting ran late"})
    assert response.status_code == 302, response.content.decode()
    pending.refresh_from_db()
    assert pending.status == Proposal.Status.PENDING
    assert [c.attributes for c in pending.changes.all()] == [wanted]
