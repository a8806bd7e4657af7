"""The readers' fast path (edition.middleware.ReaderFastPathMiddleware, edition/pagecache.py):
an anonymous reader of a cached page is answered before the middleware stack, with exactly the
bytes the stack gives, and never once the page has changed; everyone else goes through it."""

import re
import time

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from edition import pagecache, pages
from edition.exporting import builds
from edition.models import Document, Edition
from tests.helpers import revise

pytestmark = pytest.mark.django_db

ED = "/frus1958-60v18"
DOC, OTHER = f"{ED}/d142/", f"{ED}/d144/"
API = "/api/editions/frus1958-60v18/documents/d142/"
PUBLIC = [DOC, f"{ED}/", f"{ED}/corrections/", f"{ED}/d142/corrections/",
          f"{ED}/d142/history/", f"{ED}/d142/diff/1/2/", f"{ED}/exports/", API,
          f"{ED}/?page=1", f"{DOC}?hl=Herter"]


@pytest.fixture(autouse=True)
def _no_routes():
    pagecache.forget_routes()
    yield
    pagecache.forget_routes()


@pytest.fixture
def edited(sample_edition, settings):
    """d142 with a second revision (a diff, log entries) and a current export build."""
    settings.EMEND_EXPORT_FORMATS = ["tei"]
    revise(Document.objects.get(xml_id="d142"), "restrained manner", "calm manner")
    builds.run(sample_edition.pk)
    return sample_edition


def fast(response) -> bool:
    """Answered by the fast path: the stack inside it (the session middleware) never saw the
    request."""
    return not hasattr(response.wsgi_request, "session")


def same(a, b) -> None:
    """The same answer, byte for byte: status, headers in their order, cookies, body."""
    assert a.status_code == b.status_code
    assert list(a.items()) == list(b.items())
    assert a.cookies.output() == b.cookies.output()
    assert a.content == b.content


def fast_after_learning(client, url, method="get", **headers):
    """The stack's answer from the cache (the second request when the first renders, else the
    first) and the fast path's, the request after it."""
    answers = [getattr(client, method)(url, **headers) for _ in range(3)]
    assert not fast(answers[0]), url
    assert [fast(a) for a in answers[1:]] in ([False, True], [True, True]), url
    slow = answers[1] if not fast(answers[1]) else answers[0]
    return slow, answers[2]


@pytest.mark.parametrize("url", PUBLIC)
def test_every_cached_public_page_is_answered_fast_with_the_same_bytes(client, edited, url):
    slow, quick = fast_after_learning(client, url)
    assert quick.status_code == 200
    same(slow, quick)
    # As it leaves the server: the security headers of the outer middleware too.
    assert quick["X-Content-Type-Options"] == "nosniff"
    assert quick["Content-Security-Policy"] and quick["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("url", PUBLIC)
def test_a_304_with_if_none_match_is_answered_fast_with_the_same_headers(client, edited, url):
    etag = client.get(url)["ETag"]
    slow, quick = fast_after_learning(client, url, HTTP_IF_NONE_MATCH=etag)
    assert quick.status_code == 304
    same(slow, quick)


def test_a_304_with_if_modified_since(client, edited):
    modified = client.get(DOC)["Last-Modified"]
    slow, quick = fast_after_learning(client, DOC, HTTP_IF_MODIFIED_SINCE=modified)
    assert quick.status_code == 304
    same(slow, quick)


def test_an_old_copy_gets_the_page_and_the_current_one_still_a_fast_304(client, edited):
    etag = client.get(DOC)["ETag"]
    fast_after_learning(client, DOC, HTTP_IF_NONE_MATCH=etag)
    old = client.get(DOC, HTTP_IF_NONE_MATCH='"not-this-one"')
    assert old.status_code == 200 and not fast(old) and old["ETag"] == etag
    again = client.get(DOC, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and fast(again)


def test_an_approval_retires_the_fast_answer_at_once(client, edited):
    slow, _ = fast_after_learning(client, DOC)
    _, other = fast_after_learning(client, OTHER)
    etag = slow["ETag"]
    fast_after_learning(client, DOC, HTTP_IF_NONE_MATCH=etag)
    revise(Document.objects.get(xml_id="d142"), "calm manner", "quiet manner")
    after = client.get(DOC)
    assert not fast(after) and b"quiet manner" in after.content and after["ETag"] != etag
    revalidated = client.get(DOC, HTTP_IF_NONE_MATCH=etag)
    assert revalidated.status_code == 200 and not fast(revalidated)
    assert b"quiet manner" in revalidated.content
    # The next reader of the new page is fast again; the other document never stopped.
    assert fast(client.get(DOC)) or fast(client.get(DOC))
    kept = client.get(OTHER)
    assert fast(kept)
    same(other, kept)


def test_touching_the_edition_retires_every_fast_answer(client, edited):
    for url in PUBLIC:
        fast_after_learning(client, url)
    edited.volume_title = "A Shorter Title"
    edited.save()
    edited.touch()
    for url in PUBLIC:
        response = client.get(url)
        assert not fast(response), url
        assert b"A Shorter Title" in response.content or url == API, url


def test_a_stamp_missing_from_the_cache_goes_through_the_stack(client, edited):
    slow, _ = fast_after_learning(client, DOC)
    cache.delete(Document.stamp_key(edited.slug, "d142"))
    response = client.get(DOC)
    assert not fast(response)
    same(slow, response)


def test_an_evicted_page_goes_through_the_stack(client, edited):
    slow, _ = fast_after_learning(client, DOC)
    cache.clear()
    response = client.get(DOC)
    assert not fast(response) and response.content == slow.content


def test_the_image_origins_in_the_csp_are_the_stacks_once_it_reads_them_again(client, edited,
                                                                             monkeypatch):
    """A reading page's CSP names the edition's image origins, which each process remembers
    for `pages.ORIGINS_TTL`: another process's change reaches this one's stack after that
    time, and its fast answers too (they replay the headers the stack gave)."""
    old, new = "https://old.example", "https://new.example"
    edited.facsimile_url = old + "/{volume}/{facs}.png"
    edited.save()
    pages.sync(edited)
    _, quick = fast_after_learning(client, DOC)
    assert old in quick["Content-Security-Policy"]
    # Another process moves the images: the pages stamp is dropped, but this process still
    # remembers the old origins for the rest of their time.
    Edition.objects.filter(pk=edited.pk).update(facsimile_url=new + "/{volume}/{facs}.png")
    pages.sync(Edition.objects.get(pk=edited.pk))
    pages._origins[edited.slug] = (time.monotonic() + pages.ORIGINS_TTL, (old,))
    _, quick = fast_after_learning(client, DOC)
    assert old in quick["Content-Security-Policy"]  # as the stack answers, for now
    now = time.monotonic()
    monkeypatch.setattr(time, "monotonic", lambda: now + pages.ORIGINS_TTL)  # their time is up
    response = client.get(DOC)
    assert new in response["Content-Security-Policy"] and not fast(response)
    assert new in client.get(DOC)["Content-Security-Policy"]
    assert fast(client.get(DOC))


def test_signed_in_readers_never_take_it(client, edited, people):
    fast_after_learning(client, DOC)
    client.force_login(people.stranger)
    response = client.get(DOC)
    assert not fast(response) and "private" in response["Cache-Control"]
    assert b"Sign out" in response.content or b"sign out" in response.content.lower()


def test_a_reader_with_messages_never_takes_it(client, edited):
    fast_after_learning(client, DOC)
    client.cookies["messages"] = "anything"
    assert not fast(client.get(DOC))


def test_a_token_never_takes_it(edited, people):
    api = APIClient()
    fast_after_learning(api, API)
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = api.get(API)
    assert not fast(response) and response.status_code == 401


def test_the_api_still_refuses_what_it_cannot_give(edited):
    api = APIClient()
    fast_after_learning(api, API)
    response = api.get(API, HTTP_ACCEPT="text/html")
    assert not fast(response) and response.status_code == 406


def test_htmx_never_takes_it(client, edited):
    fast_after_learning(client, DOC)
    assert not fast(client.get(DOC, HTTP_HX_REQUEST="true"))


@pytest.mark.parametrize("url", [DOC, f"{ED}/", f"{ED}/d142/history/"])
def test_head_is_answered_fast_with_the_same_headers(client, edited, url):
    get, _ = fast_after_learning(client, url)
    slow, quick = fast_after_learning(client, url, "head")
    same(slow, quick)
    assert quick.status_code == 200 and quick.content == b""
    assert list(quick.items()) == list(get.items())
    etag = get["ETag"]
    slow, quick = fast_after_learning(client, url, "head", HTTP_IF_NONE_MATCH=etag)
    assert quick.status_code == 304
    same(slow, quick)


def test_a_disallowed_host_is_still_a_400(client, edited):
    fast_after_learning(client, DOC)
    assert client.get(DOC, HTTP_HOST="evil.example").status_code == 400


def test_a_refused_user_agent_is_still_a_403(client, edited, settings):
    """CommonMiddleware refuses DISALLOWED_USER_AGENTS, whatever route the page was learned on."""
    settings.DISALLOWED_USER_AGENTS = [re.compile("BadBot")]
    fast_after_learning(client, DOC)
    refused = client.get(DOC, HTTP_USER_AGENT="BadBot/1.0")
    assert refused.status_code == 403 and not fast(refused)
    assert fast(client.get(DOC, HTTP_USER_AGENT="Mozilla/5.0"))


def test_another_host_is_another_route(client, edited, settings):
    settings.ALLOWED_HOSTS = ["testserver", "other.example"]
    fast_after_learning(client, DOC)
    first = client.get(DOC, HTTP_HOST="other.example")
    assert not fast(first) and b"http://other.example/" in first.content


def test_a_query_string_is_a_route_of_its_own(client, edited):
    slow, _ = fast_after_learning(client, DOC)
    hl = client.get(f"{DOC}?hl=Herter")
    assert not fast(hl) and hl.content == slow.content
    # Parameters the page does not cache are never answered fast.
    for _ in range(3):
        assert not fast(client.get(f"{DOC}?page=2"))


def test_a_precondition_goes_through_the_stack(client, edited):
    slow, _ = fast_after_learning(client, DOC)
    response = client.get(DOC, HTTP_IF_MATCH='"not-this-one"')
    assert not fast(response)


def test_changed_settings_are_learned_again(client, edited, settings):
    fast_after_learning(client, DOC)
    settings.EMEND_SHARED_MAX_AGE = 7
    response = client.get(DOC)
    assert not fast(response) and "s-maxage=7" in response["Cache-Control"]


def test_the_routes_are_bounded(client, edited, monkeypatch):
    monkeypatch.setattr(pagecache, "FAST_ROUTES", 2)
    for url in PUBLIC[:4]:
        fast_after_learning(client, url)
    assert len(pagecache._routes) == 2
    assert not fast(Client().get(PUBLIC[0]))


@pytest.mark.parametrize("url", [DOC, API])
def test_the_fast_answer_is_the_one_of_a_stack_without_it(client, edited, settings, url):
    _, quick = fast_after_learning(client, url)
    etag = quick["ETag"]
    _, quick304 = fast_after_learning(client, url, HTTP_IF_NONE_MATCH=etag)
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE
                           if m != "edition.middleware.ReaderFastPathMiddleware"]
    same(client.get(url), quick)
    same(client.get(url, HTTP_IF_NONE_MATCH=etag), quick304)
