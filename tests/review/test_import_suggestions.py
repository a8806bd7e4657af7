"""Suggestions on the reading view (edition/suggestions.py), the import's and the checks':
shown to members who may propose and never to anonymous readers, each one click from a
filled-in proposing form."""

from urllib.parse import parse_qs, urlsplit

import pytest
from lxml import html

from edition.imports import import_text
from edition.models import Document, Suggestion
from edition.tei.textlayer import build
from review.actions.approve import do_approve
from review.models import Proposal

pytestmark = pytest.mark.django_db
PAGE = "/frus1958-60v18/d143/"
TELEGRAM = """150. Telegram From the Department of State to the Embassy in Japan

Washington, June 20, 1959, 11 a.m.

The Secretary discussed Documents 139142 with the Ambassador.

He will report further.

Herter
"""


def d143() -> Document:
    return Document.objects.select_related("current_revision").get(xml_id="d143")


def offers(client, url: str = PAGE) -> dict[str, str]:
    """Each offered suggestion's explanation → its "Propose this fix" link."""
    page = html.fromstring(client.get(url).content)
    return {" ".join(li.text_content().split()): li.xpath(".//a")[0].get("href")
            for li in page.xpath("//section[@id='suggestions']//li")}


def link(client, needle: str) -> str:
    (url,) = [href for text, href in offers(client).items() if needle in text]
    return url


def textarea(page, name: str) -> str:
    return (page.xpath(f"//textarea[@name='{name}']")[0].text or "").removeprefix("\n")


def test_editor_sees_the_suggestions_of_the_import(client, sample_volume, people):
    client.force_login(people.editor)
    shown = offers(client)
    assert len(shown) == 4
    assert any("No dateline" in text for text in shown)
    assert any("In the source note: “139142”" in text and "139–142" in text
               and "also fixes 1 other suggestion in this footnote" in text for text in shown)
    assert any("“144146”" in text and "144–146" in text for text in shown)
    assert any("PARTICIPANTS list lost its entries" in text for text in shown)


def test_anonymous_readers_never_see_them_cached_or_not(client, sample_volume, people):
    for _ in range(2):  # the second answer comes from the whole-page cache
        body = client.get(PAGE).content.decode()
        assert "id=\"suggestions\"" not in body and "139–142" not in body
    client.force_login(people.editor)
    assert len(offers(client)) == 4
    client.logout()
    assert "id=\"suggestions\"" not in client.get(PAGE).content.decode()


def test_stranger_does_not_see_them(client, sample_volume, people):
    client.force_login(people.stranger)
    assert "id=\"suggestions\"" not in client.get(PAGE).content.decode()


def test_range_link_opens_the_footnote_form_filled_and_approval_restores_the_dash(
        client, sample_volume, people):
    client.force_login(people.editor)
    url = link(client, "“139142”")
    query = parse_qs(urlsplit(url).query)
    assert query["kind"] == ["note-edit"] and query["note_id"] == ["d143fn0"]
    response = client.get(url)
    assert response.status_code == 200
    page = html.fromstring(response.content)
    body = textarea(page, "note_edit_body")
    # One proposal repairs the footnote, whichever of its two ranges was followed.
    assert "Documents 139–142 and 144–146." in body
    data = {name: values[0] for name, values in query.items()}
    response = client.post(url.split("?")[0], {**data, "action": "submit",
                                               "rationale": "En dashes lost in the plain text"})
    assert response.status_code == 302
    (proposal,) = Proposal.objects.all()
    do_approve(proposal, by=people.reviewer)
    note = d143().current_revision.layer.note("d143fn0")
    assert "See also Documents 139–142 and 144–146." in build(note.element).text
    # Fixed: neither range is offered again.
    assert not any("139142" in text or "144146" in text for text in offers(client))


def test_dateline_link_places_an_insertion_before_the_subject_list(client, sample_volume, people):
    client.force_login(people.editor)
    url = link(client, "No dateline")
    page = html.fromstring(client.get(url).content)
    assert "<opener><dateline>" in textarea(page, "fragment")
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert query["placement"] == "before" and query["start"] == query["end"]
    response = client.post(url.split("?")[0], {
        **query, "action": "submit", "rationale": "The dateline of the original",
        "fragment": "<opener><dateline><placeName>Washington</placeName>, <date>June 20, "
                    "1959</date></dateline></opener>"})
    assert response.status_code == 302
    do_approve(Proposal.objects.get(), by=people.reviewer)
    text = d143().current_revision.text
    assert "Conversation\n\nWashington, June 20, 1959\n\nSUBJECT" in text
    assert not any("No dateline" in text for text in offers(client))


def test_list_link_fills_the_list_for_editing(client, sample_volume, people):
    client.force_login(people.editor)
    page = html.fromstring(client.get(link(client, "PARTICIPANTS")).content)
    fragment = textarea(page, "fragment")
    assert fragment.startswith('<list type="participants">') and fragment.count("<item>") == 3


def test_dismissed_suggestion_does_not_come_back(client, sample_volume, people):
    client.force_login(people.editor)
    suggestion = Suggestion.objects.get(check_name="list-items")
    url = f"{PAGE}suggestions/{suggestion.pk}/dismiss/"
    response = client.post(url)
    assert response.status_code == 302 and response["Location"].endswith("#suggestions")
    assert len(offers(client)) == 3 and not any("PARTICIPANTS" in t for t in offers(client))
    suggestion.refresh_from_db()
    assert suggestion.dismissed_by == people.editor
    assert client.post(url).status_code == 404  # dismissed already


def test_only_proposers_may_dismiss(client, sample_volume, people):
    suggestion = Suggestion.objects.get(check_name="list-items")
    url = f"{PAGE}suggestions/{suggestion.pk}/dismiss/"
    client.force_login(people.stranger)
    assert client.post(url).status_code == 404
    client.logout()
    assert client.post(url).status_code == 302  # to sign in
    suggestion.refresh_from_db()
    assert suggestion.dismissed_at is None
    client.force_login(people.editor)
    assert client.get(url).status_code == 405


def test_dateline_paragraph_and_signature_become_opener_and_closer(client, sample_edition,
                                                                   people, tmp_path):
    path = tmp_path / "d150.txt"
    path.write_text(TELEGRAM)
    _, report = import_text(path, edition=sample_edition)
    assert [line.split(":")[0] for line in report if line.startswith("Suggestion")] == [
        "Suggestion (dateline)", "Suggestion (signature)", "Suggestion (range)"]
    client.force_login(people.editor)
    page_url = "/frus1958-60v18/d150/"
    for needle in ("reads like a dateline", "reads like a signature", "“139142”"):
        shown = offers(client, page_url)
        (url,) = [href for text, href in shown.items() if needle in text]
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        assert client.get(url).status_code == 200
        response = client.post(url.split("?")[0], {**query, "action": "submit",
                                                   "rationale": "Lost in the plain text"})
        assert response.status_code == 302, response.content.decode()[:2000]
        do_approve(Proposal.objects.latest("pk"), by=people.reviewer)
    revision = Document.objects.get(xml_id="d150").current_revision
    tei = revision.tei
    assert "<opener><dateline><placeName>Washington</placeName>, <date>June 20, 1959, 11 a.m." in tei
    assert "<closer><signed>Herter</signed></closer>" in tei
    assert "discussed Documents 139–142 with" in revision.text
    assert offers(client, page_url) == {}


def test_dismissing_changes_the_page_etag(client, sample_volume, people):
    client.force_login(people.editor)
    etag = client.get(PAGE)["ETag"]
    suggestion = Suggestion.objects.get(check_name="list-items")
    client.post(f"{PAGE}suggestions/{suggestion.pk}/dismiss/")
    response = client.get(PAGE, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200 and "PARTICIPANTS list lost" not in response.content.decode()
