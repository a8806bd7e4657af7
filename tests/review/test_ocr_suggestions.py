"""OCR suggestions (issue 11) through review's machinery: the suggestions API's fields, one
click (API and page) to a proposal that keeps its suggestion and names the OCR evidence,
dismissing for good, the edition's suggestions page and a batch of them."""

import pytest

from edition import pages
from edition.models import PageImage, Suggestion
from edition.ocr import record
from review.models import Proposal
from tests.helpers import token_client
from tests.ocr_pages import words_of

pytestmark = pytest.mark.django_db
API = "/api/editions/frus1958-60v18/documents/d142/suggestions/"


@pytest.fixture
def ocr(sample_edition, people):
    pages.sync(sample_edition)
    page = PageImage.objects.get(edition=sample_edition, n="276")
    page.ocr_words = words_of(page, change={"restrained": "restraincd", "voluntary": "voluntery"})
    page.ocr_status = PageImage.OCRStatus.DONE
    page.save()
    found = {s.exact: s for s in record.align_page(page)}
    assert set(found) == {"restrained", "voluntary"}
    return found


def test_api_lists_ocr_suggestions_with_their_evidence(ocr, people):
    data = token_client(people.editor).get(API).json()
    item = next(s for s in data["results"] if s["selector"]["exact"] == "restrained")
    suggestion = ocr["restrained"]
    assert item["kind"] == "ocr" and item["check"] == "ocr" and item["change"] == "text"
    assert item["replacement"] == "restraincd" and item["confidence"] == 95.0
    assert item["page"] == "276" and item["region"] == suggestion.region
    assert item["id"] == suggestion.pk and item["note"] == ""
    text = suggestion.document.current_revision.text
    assert text[item["selector"]["start"]:item["selector"]["end"]] == "restrained"


def test_api_propose_keeps_the_suggestion_and_names_the_evidence(ocr, people):
    client = token_client(people.editor)
    suggestion = ocr["restrained"]
    response = client.post(API + f"{suggestion.pk}/propose", format="json")
    assert response.status_code == 201, response.json()
    proposal = Proposal.objects.get(pk=response.json()["id"])
    assert proposal.suggestion == suggestion
    assert proposal.rationale == (
        "Suggested by the OCR cross-check of the page image (OCR confidence 95%): On "
        "[Page 276] the page image reads “restraincd” where the text has “restrained”.")
    assert response.json()["changes"][0]["replacement"] == "restraincd"
    # Proposed: no longer offered, and the next alignment does not record it again.
    assert client.post(API + f"{suggestion.pk}/propose", format="json").status_code == 404
    again = record.align_page(suggestion.page)
    assert [s.exact for s in again] == ["voluntary"]


def test_api_dismiss_is_for_good(ocr, people):
    client = token_client(people.editor)
    suggestion = ocr["voluntary"]
    response = client.post(API + f"{suggestion.pk}/dismiss", format="json")
    assert response.status_code == 200 and response.json() == {"id": suggestion.pk,
                                                                 "dismissed": True}
    assert [s.exact for s in record.align_page(suggestion.page)] == ["restrained"]
    listed = client.get(API).json()["results"]
    assert "voluntary" not in {s["selector"]["exact"] for s in listed}


def test_api_refuses_strangers(ocr, people):
    suggestion = ocr["voluntary"]
    stranger = token_client(people.stranger)
    assert stranger.get(API).status_code == 404
    assert stranger.post(API + f"{suggestion.pk}/propose", format="json").status_code == 404
    assert stranger.post(API + f"{suggestion.pk}/dismiss", format="json").status_code == 404
    assert not Proposal.objects.exists()
    assert Suggestion.objects.get(pk=suggestion.pk).dismissed_at is None


def test_one_click_on_the_page_keeps_the_suggestion(ocr, people, client):
    client.force_login(people.editor)
    suggestion = ocr["restrained"]
    response = client.post(f"/frus1958-60v18/d142/suggestions/{suggestion.pk}/propose/")
    assert response.status_code == 302
    proposal = Proposal.objects.get()
    assert proposal.suggestion == suggestion and "OCR cross-check" in proposal.rationale


def test_edition_suggestions_page_lists_ocr_ones(ocr, people, client):
    client.force_login(people.editor)
    response = client.get("/frus1958-60v18/suggestions/?check=ocr")
    assert response.status_code == 200
    body = response.content.decode()
    assert "the page image reads “restraincd” where the text has “restrained”" in body
    assert "The page image reads otherwise" in body


def test_a_batch_of_one_ocr_suggestion_keeps_it(ocr, people):
    from review import batches

    matches = batches.suggestion_matches(ocr["restrained"].document.edition, "ocr")
    assert {m.exact for m in matches} == {"restrained", "voluntary"}
    chosen = [m for m in matches if m.exact == "restrained"]
    created = batches.create_batch(people.editor, ocr["restrained"].document.edition,
                                   "The OCR of the printed page", chosen, check_name="ocr")
    (proposal,) = created.proposals
    assert proposal.suggestion == ocr["restrained"]
