"""The rest of the public pages in the page cache (issue 14, item 2): the history page, the diff
pages, the exports page and the API's document JSON are served to anonymous readers with no
query, and never outlive the change that affects them (never by time alone)."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django.test.utils import CaptureQueriesContext
from lxml import etree, html
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from edition.exporting import builds
from edition.imports import import_tei
from edition.models import Document
from edition.tei import XML_ID
from tests.helpers import EXCERPT, revise

pytestmark = pytest.mark.django_db

ED = "/frus1958-60v18"
HISTORY, DIFF = f"{ED}/d142/history/", f"{ED}/d142/diff/1/2/"
API, EXPORTS = "/api/editions/frus1958-60v18/documents/d142/", f"{ED}/exports/"


def queries_for(client, url, **extra) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **extra)
    return len(queries), response


def text(response) -> str:
    return " ".join(html.fromstring(response.content).text_content().split())


def later(monkeypatch, seconds: int = 5) -> None:
    """What is saved from now on is saved `seconds` later (HTTP dates count whole seconds)."""
    now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: now() + timedelta(seconds=seconds))


def d142() -> Document:
    return Document.objects.get(xml_id="d142")


@pytest.fixture
def edited(sample_edition):
    """d142 with a second revision (so it has a diff), d144 with none."""
    revise(d142(), "restrained manner", "calm manner")
    return sample_edition


class TestHistory:
    def test_anonymous_history_is_served_with_no_query(self, client, edited):
        client.get(HISTORY)
        count, response = queries_for(client, HISTORY)
        assert count == 0 and response.status_code == 200
        assert "Revision 2" in text(response)
        assert client.get(HISTORY, HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304

    def test_a_new_revision_shows_at_once(self, client, edited):
        before = client.get(HISTORY)
        assert "Revision 3" not in text(before)
        revise(d142(), "calm manner", "quiet manner")
        after = client.get(HISTORY, HTTP_IF_NONE_MATCH=before["ETag"])
        assert after.status_code == 200 and "Revision 3" in text(after)

    def test_another_documents_revision_keeps_it(self, client, edited):
        client.get(HISTORY)
        revise(Document.objects.get(xml_id="d144"), "Kishi</persName> mentioned",
               "Kishi</persName> noted")
        assert queries_for(client, HISTORY)[0] == 0

    def test_members_get_their_own_page_and_never_leave_it_in_the_cache(
            self, client, edited, people):
        client.force_login(people.editor)
        assert "Revert this change" in text(client.get(HISTORY))
        client.logout()
        anonymous = client.get(HISTORY)
        assert "Revert this change" not in text(anonymous)
        assert "csrfmiddlewaretoken" not in anonymous.content.decode()


class TestDiff:
    def test_anonymous_diff_is_served_with_no_query(self, client, edited):
        first = client.get(DIFF)
        assert "calm" in text(first)
        count, response = queries_for(client, DIFF)
        assert count == 0 and response.content == first.content
        assert "max-age=86400" in response["Cache-Control"]
        assert "public" in response["Cache-Control"]
        assert client.get(DIFF, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304

    def test_the_editions_title_retires_it(self, client, edited):
        client.get(DIFF)
        edited.volume_title = "A Shorter Title"
        edited.save()
        edited.touch()
        count, response = queries_for(client, DIFF)
        assert count > 0 and "A Shorter Title" in text(response)

    def test_the_editions_title_moves_its_last_modified(self, client, edited, monkeypatch):
        before = client.get(DIFF)
        later(monkeypatch)
        edited.volume_title = "A Shorter Title"
        edited.save()
        edited.touch()
        again = client.get(DIFF, HTTP_IF_MODIFIED_SINCE=before["Last-Modified"])
        assert again.status_code == 200 and "A Shorter Title" in text(again)

    def test_a_unit_renamed_by_a_reimport_is_not_the_copy_revalidated(
            self, client, sample_edition, tmp_path, monkeypatch):
        """The diff names its unit (a chapter by its title), which a re-import may change."""
        revise(Document.objects.get(xml_id="comp1"), "<head>Japan", "<head>Japan.")
        address = f"{ED}/comp1/diff/1/2/"
        before = client.get(address)
        later(monkeypatch)
        renamed = tmp_path / "renamed.xml"
        renamed.write_text(EXCERPT.read_text().replace(
            "<head>Japan</head>", "<head>Japan and Korea</head>", 1))
        import_tei(renamed, update=True)
        for validator in ({"HTTP_IF_NONE_MATCH": before["ETag"]},
                          {"HTTP_IF_MODIFIED_SINCE": before["Last-Modified"]}):
            again = client.get(address, **validator)
            assert again.status_code == 200 and "Japan and Korea" in text(again), validator

    def test_a_missing_revision_is_a_404_and_not_kept(self, client, edited):
        assert client.get(f"{ED}/d142/diff/1/3/").status_code == 404
        revise(d142(), "calm manner", "quiet manner")
        assert client.get(f"{ED}/d142/diff/1/3/").status_code == 200


class TestApiDocument:
    def test_anonymous_json_is_served_with_no_query(self, edited):
        api = APIClient()
        first = api.get(API)
        count, response = queries_for(api, API)
        assert count == 0 and response.status_code == 200
        assert response.content == first.content
        assert response["Content-Type"] == "application/json"
        data = json.loads(response.content)
        assert data["revision"] == data["current_revision"] == 2
        assert "calm manner" in data["text"]
        assert api.get(API, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304

    def test_a_new_revision_shows_at_once(self, edited):
        api = APIClient()
        old = json.loads(api.get(API + "?revision=1").content)
        api.get(API)
        revise(d142(), "calm manner", "quiet manner")
        data = json.loads(api.get(API).content)
        assert data["revision"] == 3 and "quiet manner" in data["text"]
        # An earlier revision's payload names the new current one too.
        again = json.loads(api.get(API + "?revision=1").content)
        assert again["current_revision"] == 3 and again["text"] == old["text"]

    def test_a_unit_moved_by_a_reimport_names_its_new_parent(self, sample_edition, tmp_path):
        """A re-import may move a unit out of its compilation without changing its TEI (no
        new revision): its payload names the unit's place now, not where it stood."""
        api, address = APIClient(), "/api/editions/frus1958-60v18/documents/d144/"
        assert json.loads(api.get(address).content)["parent"] == "comp1"
        root = etree.parse(str(EXCERPT)).getroot()
        d144 = next(d for d in root.iter("{*}div") if d.get(XML_ID) == "d144")
        d144.getparent().addnext(d144)  # after its compilation
        moved = tmp_path / "moved.xml"
        moved.write_bytes(etree.tostring(root))
        assert "d144" in import_tei(moved, update=True).unchanged
        assert json.loads(api.get(address).content)["parent"] is None

    def test_a_bad_revision_is_still_a_400(self, edited):
        response = APIClient().get(API + "?revision=x")
        assert response.status_code == 400
        assert json.loads(response.content)["error"]["field"] == "revision"

    def test_a_token_caller_is_answered_fresh_and_privately(self, edited, people):
        api = APIClient()
        api.get(API)
        api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=people.editor)}")
        count, response = queries_for(api, API)
        assert count > 0 and response.status_code == 200
        assert "private" in response["Cache-Control"]
        # JSON shows nothing of the page's header: no CSRF secret is made, no cookie set.
        assert not response.cookies
        assert api.get(API, HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304


class TestExports:
    @pytest.fixture(autouse=True)
    def tei_only(self, settings):
        settings.EMEND_EXPORT_FORMATS = ["tei"]

    def test_anonymous_exports_page_is_served_with_no_query(self, client, edited):
        builds.run(edited.pk)
        client.get(EXPORTS)
        count, response = queries_for(client, EXPORTS)
        assert count == 0 and response.status_code == 200

    def test_a_new_build_shows_at_once(self, client, edited):
        builds.run(edited.pk)
        before = client.get(EXPORTS)
        first = edited.export_builds.get(current=True)
        assert f"build {first.pk}" in text(before)
        revise(d142(), "calm manner", "quiet manner")
        builds.request_export(edited, "approval")
        builds.run(edited.pk)
        second = edited.export_builds.get(current=True)
        assert second.pk != first.pk
        after = client.get(EXPORTS, HTTP_IF_NONE_MATCH=before["ETag"])
        assert after.status_code == 200
        assert f"build {second.pk}" in text(after) and f"(build {first.pk})" not in text(after)

    def test_reviewers_get_the_live_status(self, client, edited, people):
        builds.run(edited.pk)
        client.get(EXPORTS)
        client.force_login(people.reviewer)
        page = client.get(EXPORTS)
        assert html.fromstring(page.content).xpath("//*[@id='export-status']")
