"""The reading view for signed-in people (issue 14, item 3): the parts every reader shares come
from the cache, only their own are rendered — the header with their name and CSRF token, their
messages, a proposer's tools — and a page never shows text older than the approved one."""

import re

import pytest
from django.contrib.messages import constants
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache
from django.http import HttpResponse
from django.middleware.csrf import _does_token_match
from django.test import RequestFactory
from lxml import html

from edition.models import Document, Membership
from edition.roles import roles_key
from tests.helpers import revise

pytestmark = pytest.mark.django_db

D142 = "/frus1958-60v18/d142/"


def text(response) -> str:
    return " ".join(html.fromstring(response.content).text_content().split())


def csrf_of(response) -> str:
    return re.search(r'"x-csrftoken": "([^"]+)"', response.content.decode())[1]


class TestQueries:
    def test_a_signed_in_reader_costs_the_session_and_the_user(
            self, client, sample_edition, people, django_assert_max_num_queries):
        client.force_login(people.stranger)
        client.get(D142)  # the shared parts and the roles are cached
        with django_assert_max_num_queries(2):
            response = client.get(D142)
        assert response.status_code == 200
        assert "Signed in as stranger" in text(response)
        assert "Memorandum of Conversation" in text(response)

    def test_the_parts_cached_by_an_anonymous_reader_serve_the_signed_in_one(
            self, client, sample_edition, people, django_assert_max_num_queries):
        client.get(D142)
        client.force_login(people.stranger)
        client.get("/")  # the roles cached on another page
        with django_assert_max_num_queries(2):
            assert client.get(D142).status_code == 200

    def test_a_reviewer_anywhere_sees_the_queue_link_with_no_query_for_it(
            self, client, sample_edition, people, django_assert_max_num_queries):
        client.force_login(people.reviewer)
        client.get(D142)
        # session, user, the document (the tools place proposals on its current revision),
        # the open proposals and the suggestions: the shared parts are not rendered again.
        with django_assert_max_num_queries(7):
            tree = html.fromstring(client.get(D142).content)
        assert tree.xpath("//nav[@class='site-nav']//a[@href='/review/queue/']")
        assert tree.xpath("//section[@id='propose-bar']")

    def test_the_page_is_private(self, client, sample_edition, people):
        client.force_login(people.stranger)
        client.get(D142)
        response = client.get(D142)
        assert "private" in response["Cache-Control"]
        assert "public" not in response["Cache-Control"]
        assert "s-maxage" not in response["Cache-Control"]


class TestOwnParts:
    def test_each_person_gets_their_own_name_and_csrf_token(self, sample_edition, people):
        from django.test import Client

        stranger, editor = Client(), Client()
        stranger.force_login(people.stranger)
        editor.force_login(people.editor)
        first, second = stranger.get(D142), editor.get(D142)
        again = stranger.get(D142)
        assert "Signed in as stranger" in text(again) and "Signed in as editor" in text(second)
        assert "Signed in as editor" not in text(again)
        # Each page carries a token of its reader's secret (masked anew for every response).
        mine, theirs = stranger.cookies["csrftoken"].value, editor.cookies["csrftoken"].value
        assert mine != theirs
        assert _does_token_match(csrf_of(first), mine) and _does_token_match(csrf_of(again), mine)
        assert _does_token_match(csrf_of(second), theirs)

    def test_a_message_is_shown_once_to_its_reader(self, client, sample_edition, people):
        client.force_login(people.stranger)
        client.get(D142)
        # As a view leaves it for the next page: in the messages cookie.
        storage, response = CookieStorage(RequestFactory().get(D142)), HttpResponse()
        storage.add(constants.SUCCESS, "Your proposal was submitted.")
        storage.update(response)
        client.cookies["messages"] = response.cookies["messages"].value
        shown = client.get(D142)
        assert "Your proposal was submitted." in text(shown)
        assert "Your proposal was submitted." not in text(client.get(D142))

    def test_the_anonymous_page_has_no_name_or_token(self, client, sample_edition, people):
        client.force_login(people.stranger)
        client.get(D142)
        client.logout()
        anonymous = client.get(D142).content.decode()
        assert "stranger" not in anonymous and "x-csrftoken" not in anonymous
        assert "csrfmiddlewaretoken" not in anonymous

    def test_the_etag_is_the_readers(self, client, sample_edition, people):
        anonymous = client.get(D142)["ETag"]
        client.force_login(people.stranger)
        mine = client.get(D142)["ETag"]
        assert mine != anonymous
        assert client.get(D142, HTTP_IF_NONE_MATCH=mine).status_code == 304
        client.force_login(people.editor)
        assert client.get(D142, HTTP_IF_NONE_MATCH=mine).status_code == 200

    def test_a_signed_in_page_has_no_time_to_revalidate_by(self, client, sample_edition,
                                                            people):
        """An editor's page moves with their own open proposals and everyone's with their name,
        none of which has a time: the ETag alone, so If-Modified-Since is never answered 304
        (an anonymous reader's page keeps its Last-Modified)."""
        since = client.get(D142)["Last-Modified"]
        for person in (people.stranger, people.editor):
            client.force_login(person)
            for _ in range(2):  # rendered, then from the cached parts (the fast path)
                response = client.get(D142)
                assert response.status_code == 200 and not response.has_header("Last-Modified")
            assert client.get(D142, HTTP_IF_MODIFIED_SINCE=since).status_code == 200


class TestSharedParts:
    def test_the_words_a_search_marks_stay_out_of_the_shared_parts(
            self, client, sample_edition, people):
        client.force_login(people.stranger)
        client.get(D142 + "?hl=Kishi")  # stores the shared parts
        client.logout()
        for page in (client.get(D142 + "?hl=manner"), client.get(D142)):
            [canonical] = html.fromstring(page.content).xpath("//link[@rel='canonical']")
            assert canonical.get("href") == "http://testserver" + D142


class TestNeverStale:
    def test_an_approval_shows_at_once(self, client, sample_edition, people):
        client.force_login(people.stranger)
        before = client.get(D142)
        assert "restrained manner" in text(before)
        revise(Document.objects.get(xml_id="d142"), "restrained manner", "calm manner")
        after = client.get(D142, HTTP_IF_NONE_MATCH=before["ETag"])
        assert after.status_code == 200
        assert "calm manner" in text(after) and "restrained manner" not in text(after)

    def test_the_proposers_tools_are_on_the_revision_shown(self, client, sample_edition, people):
        client.force_login(people.editor)
        client.get(D142)
        key = Document.stamp_key("frus1958-60v18", "d142")
        old_stamp = cache.get(key)
        revise(Document.objects.get(xml_id="d142"), "restrained manner", "calm manner")
        # A reader who read the old stamp before the approval committed cached it after the
        # drops: the shared parts stored under it (the old text) look current for a while.
        # The tools must never be placed on text other than the current revision's.
        cache.set(key, old_stamp)
        tree = html.fromstring(client.get(D142).content)
        [root] = tree.xpath("//div[@id='propose-root']")
        assert root.get("data-rev") == "2"
        assert "calm manner" in tree.text_content()


class TestRoles:
    def test_a_new_member_gets_the_tools_on_the_next_page(self, client, sample_edition, people):
        client.force_login(people.stranger)
        assert "propose-bar" not in client.get(D142).content.decode()
        membership = Membership.objects.create(edition=sample_edition, user=people.stranger,
                                               role="editor")
        assert "propose-bar" in client.get(D142).content.decode()
        membership.role = "reviewer"
        membership.save()
        assert "/review/queue/" in client.get(D142).content.decode()
        membership.delete()
        page = client.get(D142).content.decode()
        assert "propose-bar" not in page and "/review/queue/" not in page

    def test_removing_a_member_drops_their_cached_roles(self, client, sample_edition, people):
        client.force_login(people.editor)
        client.get(D142)
        assert cache.get(roles_key(people.editor.pk)) == {sample_edition.pk: "editor"}
        Membership.objects.filter(user=people.editor).delete()
        assert cache.get(roles_key(people.editor.pk)) is None
        assert "propose-bar" not in client.get(D142).content.decode()

    def test_the_tools_shown_do_not_grant_the_right(self, client, sample_edition, people):
        # A role left in the cache (a drop lost to an outage) shows tools, but proposing asks
        # the database.
        client.force_login(people.stranger)
        cache.set(roles_key(people.stranger.pk), {sample_edition.pk: "editor"})
        assert "propose-bar" in client.get(D142).content.decode()
        assert client.get(D142 + "propose/").status_code == 404


class TestSessions:
    def test_a_session_is_kept_in_the_cache_briefly(self):
        from edition.sessions import SESSION_CACHE_TTL, _Forgiving

        timeouts = []

        class Recorder:
            def set(self, key, value, timeout=None):
                timeouts.append(timeout)

        _Forgiving(Recorder()).set("session", {}, 14 * 24 * 3600)
        _Forgiving(Recorder()).set("session", {}, 10)
        assert timeouts == [SESSION_CACHE_TTL, 10]

    def test_a_failing_cache_is_a_miss(self):
        from edition.sessions import _Forgiving

        class Down:
            def get(self, key, default=None):
                raise ConnectionError("down")

            def __contains__(self, key):
                raise ConnectionError("down")

        assert _Forgiving(Down()).get("session") is None
        assert "session" not in _Forgiving(Down())
