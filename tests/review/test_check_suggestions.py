"""The checks' suggestions in use: recorded on import and after each new revision, replaced on a
re-run, remembered when dismissed or proposed; the edition's suggestions page, its checks
switch, and "Propose this fix" in one click (review/suggested.py)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from lxml import html

from edition.checks import names, run
from edition.models import Document, Edition, Suggestion
from review.actions.approve import do_approve
from review.models import Proposal
from tests.helpers import revise

pytestmark = pytest.mark.django_db
LIST = "/frus1958-60v18/suggestions/"


def d142() -> Document:
    return Document.objects.select_related("current_revision", "edition").get(xml_id="d142")


@pytest.fixture
def flawed(sample_volume):
    """d142 with a doubled word and a page marker left in its text, checked."""
    document = d142()
    text = document.current_revision.tei
    assert "Secretary" in text
    revise(document, "Secretary", "the the Secretary [Page 12]")
    run.run_document(d142())
    return sample_volume


def checks_of(xml_id: str) -> list[tuple[str, str]]:
    return sorted(Suggestion.objects.filter(document__xml_id=xml_id).open().of_checks()
                  .values_list("check_name", "exact"))


def test_import_records_only_the_true_findings_of_the_sample(sample_volume):
    call_command("run_checks", "frus1958-60v18", "--now")
    assert checks_of("d142") == [] and checks_of("d144") == []
    assert checks_of("d143") == [("range", "139142"), ("range", "144146")]


def test_a_new_revision_queues_the_checks_on_commit(sample_volume, django_capture_on_commit_callbacks,
                                                     settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    with django_capture_on_commit_callbacks(execute=True):
        revise(d142(), "Secretary", "the the Secretary")
    assert checks_of("d142") == [("doubled-word", "the the")]


def test_a_rerun_replaces_open_suggestions_and_keeps_dismissed_ones_away(flawed, people):
    assert checks_of("d142") == [("doubled-word", "the the"), ("page-text", "[Page 12]")]
    doubled = Suggestion.objects.get(check_name="doubled-word")
    doubled.dismiss(by=people.editor)
    revise(d142(), "[Page 12]", "")  # the page marker is fixed by hand
    run.run_document(d142())
    assert checks_of("d142") == []  # the doubled word stays dismissed, the marker is gone
    assert Suggestion.objects.filter(check_name="doubled-word").count() == 1


def test_run_checks_command_checks_one_document_and_refuses_unknown_ones(flawed):
    Suggestion.objects.all().delete()
    call_command("run_checks", "frus1958-60v18", "--document", "d142", "--now")
    assert checks_of("d142") and not checks_of("d143")
    with pytest.raises(Exception, match="no unit d999"):
        call_command("run_checks", "frus1958-60v18", "--document", "d999", "--now")
    with pytest.raises(Exception, match="no edition"):
        call_command("run_checks", "nope", "--now")


def test_editor_sees_the_list_with_counts_context_and_filter(client, flawed, people):
    client.force_login(people.editor)
    response = client.get(LIST)
    assert response.status_code == 200
    page = html.fromstring(response.content)
    counts = " ".join(page.xpath("//section[@class='suggestion-counts']")[0].text_content().split())
    assert "Doubled word (1)" in counts and "Range without its dash (2)" in counts
    marks = page.xpath("//li[@class='suggestion']//mark/text()")
    assert "the the" in marks and "139142" in marks
    filtered = html.fromstring(client.get(LIST + "?check=doubled-word").content)
    assert [m for m in filtered.xpath("//li[@class='suggestion']//mark/text()")] == ["the the"]
    assert client.get(LIST + "?check=nonsense%00").status_code == 200  # shows everything


@pytest.mark.parametrize("persona, status", [("stranger", 404), ("editor", 200),
                                             ("reviewer", 200), ("admin", 200)])
def test_list_is_for_proposers(client, flawed, people, persona, status):
    client.force_login(getattr(people, persona))
    assert client.get(LIST).status_code == status


def test_anonymous_reader_is_sent_to_sign_in(client, flawed):
    assert client.get(LIST).status_code == 302


def test_propose_in_one_click_creates_the_proposal_and_it_applies(client, flawed, people):
    client.force_login(people.editor)
    doubled = Suggestion.objects.get(check_name="doubled-word")
    url = f"/frus1958-60v18/d142/suggestions/{doubled.pk}/propose/"
    response = client.post(url, {"next": LIST})
    assert response.status_code == 302 and response["Location"] == LIST
    (proposal,) = Proposal.objects.all()
    assert proposal.author == people.editor
    assert "Doubled word" in proposal.rationale and "the word is doubled" in proposal.rationale
    (change,) = proposal.changes.all()
    assert (change.kind, change.exact, change.content) == ("text", "the the", "the")
    # Proposed: not offered again, and a second click proposes nothing.
    assert "the the" not in html.fromstring(client.get(LIST).content).xpath("//mark/text()")
    assert client.post(url).status_code == 404
    do_approve(proposal, by=people.reviewer)
    assert "the the Secretary" not in d142().current_revision.text


def test_one_click_fixes_a_footnote_with_both_its_ranges(client, sample_volume, people):
    client.force_login(people.editor)
    first = Suggestion.objects.get(exact="139142")
    response = client.post(f"/frus1958-60v18/d143/suggestions/{first.pk}/propose/")
    assert response.status_code == 302 and response["Location"].endswith("/d143/#suggestions")
    (proposal,) = Proposal.objects.all()
    (change,) = proposal.changes.all()
    assert change.kind == "note-edit" and "139–142 and 144–146" in change.content
    assert not Suggestion.objects.filter(check_name="range").open().exists()


@pytest.mark.parametrize("persona, status", [("stranger", 404), ("reader", 302)])
def test_outsiders_cannot_propose_or_dismiss(client, flawed, people, persona, status):
    if persona == "stranger":
        client.force_login(people.stranger)
    doubled = Suggestion.objects.get(check_name="doubled-word")
    base = f"/frus1958-60v18/d142/suggestions/{doubled.pk}/"
    assert client.post(base + "propose/").status_code == status
    assert client.post(base + "dismiss/").status_code == status
    assert not Proposal.objects.exists() and Suggestion.objects.get(pk=doubled.pk).dismissed_at is None
    client.force_login(people.editor)
    assert client.get(base + "propose/").status_code == 405


def test_a_suggestion_no_longer_applying_proposes_nothing(client, flawed, people):
    client.force_login(people.editor)
    doubled = Suggestion.objects.get(check_name="doubled-word")
    revise(d142(), "the the Secretary", "the Secretary")  # fixed since, checks not yet re-run
    response = client.post(f"/frus1958-60v18/d142/suggestions/{doubled.pk}/propose/",
                           follow=True)
    assert "no longer applies" in response.content.decode()
    assert not Proposal.objects.exists()


def test_no_fix_suggestion_offers_no_one_click(client, flawed, people):
    client.force_login(people.editor)
    page = html.fromstring(client.get(LIST + "?check=page-text").content)
    (item,) = page.xpath("//li[@class='suggestion']")
    assert "No automatic fix" in item.text_content()
    assert not item.xpath(".//form[contains(@action, '/propose/')]")
    marker = Suggestion.objects.get(check_name="page-text")
    response = client.post(f"/frus1958-60v18/d142/suggestions/{marker.pk}/propose/", follow=True)
    assert "Nothing was proposed" in response.content.decode()


def test_dismiss_from_the_list_returns_to_it(client, flawed, people):
    client.force_login(people.editor)
    doubled = Suggestion.objects.get(check_name="doubled-word")
    response = client.post(f"/frus1958-60v18/d142/suggestions/{doubled.pk}/dismiss/",
                           {"next": LIST + "?check=doubled-word"})
    assert response["Location"] == LIST + "?check=doubled-word"
    response = client.post(f"/frus1958-60v18/d142/suggestions/{doubled.pk}/dismiss/",
                           {"next": "https://evil.example/"})
    assert response.status_code == 404  # dismissed already
    page = Suggestion.objects.get(check_name="page-text")
    response = client.post(f"/frus1958-60v18/d142/suggestions/{page.pk}/dismiss/",
                           {"next": "https://evil.example/"})
    assert response["Location"] == "/frus1958-60v18/d142/#suggestions"


def test_reviewer_turns_a_check_off_and_on(client, flawed, people):
    client.force_login(people.reviewer)
    on = [name for name in names() if name != "doubled-word"]
    response = client.post(LIST + "checks/", {"enabled": on})
    assert response.status_code == 302
    assert Edition.objects.get().disabled_checks == ["doubled-word"]
    assert "the the" not in html.fromstring(client.get(LIST).content).xpath("//mark/text()")
    run.run_document(d142())  # a run records nothing for a check turned off
    assert not Suggestion.objects.filter(check_name="doubled-word").exists()
    client.post(LIST + "checks/", {"enabled": names() + ["bogus"]})
    assert Edition.objects.get().disabled_checks == []


def test_editor_may_not_turn_checks_off(client, flawed, people):
    client.force_login(people.editor)
    assert client.post(LIST + "checks/", {"enabled": []}).status_code == 403
    client.force_login(people.stranger)
    assert client.post(LIST + "checks/", {"enabled": []}).status_code == 404
    assert Edition.objects.get().disabled_checks == []


# ------------------------------------------------------------------------------------------
# The API

API = "/api/editions/frus1958-60v18/documents/{doc}/suggestions/"


def test_api_lists_suggestions_placed_on_the_current_revision(flawed, people):
    from tests.helpers import token_client

    client = token_client(people.editor)
    response = client.get(API.format(doc="d142"))
    assert response.status_code == 200
    data = response.json()
    text = d142().current_revision.text
    by_check = {s["check"]: s for s in data["results"]}
    doubled = by_check["doubled-word"]
    assert doubled["kind"] == "check" and doubled["replacement"] == "the"
    selector = doubled["selector"]
    assert text[selector["start"]:selector["end"]] == selector["exact"] == "the the"
    assert by_check["page-text"]["change"] == "" and data["revision"] == 2
    d143 = client.get(API.format(doc="d143")).json()["results"]
    assert {(s["kind"], s["check"]) for s in d143} == {
        ("import", "dateline"), ("import", "list-items"), ("check", "range")}
    (first, _) = [s for s in d143 if s["check"] == "range"]
    assert first["note"] == "d143fn0" and first["selector"]["exact"] == "139142"


def test_api_propose_and_dismiss(flawed, people):
    from tests.helpers import token_client

    client = token_client(people.editor)
    doubled = Suggestion.objects.get(check_name="doubled-word")
    response = client.post(API.format(doc="d142") + f"{doubled.pk}/propose", format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["changes"][0]["replacement"] == "the"
    assert client.post(API.format(doc="d142") + f"{doubled.pk}/propose",
                       format="json").status_code == 404
    marker = Suggestion.objects.get(check_name="page-text")
    response = client.post(API.format(doc="d142") + f"{marker.pk}/propose", format="json")
    assert response.status_code == 422 and response.json()["error"]["code"] == "unapplicable"
    response = client.post(API.format(doc="d142") + f"{marker.pk}/dismiss/", format="json")
    assert response.status_code == 200 and response.json() == {"id": marker.pk, "dismissed": True}
    listed = client.get(API.format(doc="d142")).json()["results"]
    assert {s["check"] for s in listed} == set()


@pytest.mark.parametrize("persona, status", [("stranger", 404), (None, 401)])
def test_api_refuses_outsiders(flawed, people, persona, status):
    from rest_framework.test import APIClient

    from tests.helpers import token_client

    client = token_client(people.stranger) if persona else APIClient()
    doubled = Suggestion.objects.get(check_name="doubled-word")
    assert client.get(API.format(doc="d142")).status_code == status
    assert client.post(API.format(doc="d142") + f"{doubled.pk}/propose",
                       format="json").status_code == status
    assert client.post(API.format(doc="d142") + f"{doubled.pk}/dismiss",
                       format="json").status_code == status
    assert not Proposal.objects.exists()


@pytest.mark.parametrize("value, error", [
    (["doubled-word"], None), ([], None), ("doubled-word", "a list of check names"),
    (["no-such-check"], "no check named no-such-check"), ([1], "a list of check names"),
])
def test_edition_validates_its_disabled_checks(sample_edition, value, error):
    from django.core.exceptions import ValidationError

    sample_edition.disabled_checks = value
    if error is None:
        sample_edition.clean()
    else:
        with pytest.raises(ValidationError, match=error):
            sample_edition.clean()


def test_a_check_with_several_text_fixes_offers_them_as_one_batch(client, flawed, people):
    """"Fix all N in this volume": the count is of the fixes a batch can carry (running-text
    fixes), and the link opens the batch preview of that check."""
    d144 = Document.objects.select_related("current_revision", "edition").get(xml_id="d144")
    revise(d144, "Prime Minister", "the the Prime Minister")
    run.run_document(Document.objects.select_related("current_revision", "edition")
                     .get(xml_id="d144"))
    client.force_login(people.editor)
    page = html.fromstring(client.get(LIST).content)
    links = page.xpath("//section[@class='suggestion-counts']//a[@class='batch-link']")
    assert [(a.text, a.get("href")) for a in links] == [
        ("Fix all 2 in this volume", "/frus1958-60v18/batches/check/doubled-word/")]
    preview = client.get(links[0].get("href"))
    assert preview.status_code == 200
    assert preview.content.decode().count('name="match"') == 2


def test_the_list_says_whether_the_ocr_cross_check_can_run(client, sample_volume, people,
                                                           monkeypatch):
    """Where the OCR's suggestions would be, the editor learns why there are none when
    Tesseract is missing; the checks' suggestions are listed as usual."""
    from edition import ocr

    client.force_login(people.editor)
    monkeypatch.setattr(ocr, "available", lambda: (True, "Tesseract 5.3.0"))
    assert "read with Tesseract 5.3.0" in client.get(LIST).content.decode()
    monkeypatch.setattr(ocr, "available",
                        lambda: (False, "OCR is not installed (Tesseract was not found)"))
    page = client.get(LIST).content.decode()
    assert "cannot run here: OCR is not installed (Tesseract was not found)" in page
    assert "By check" in page
