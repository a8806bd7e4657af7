"""The signed-in readers' fast path (edition/signedin.py): the same answer as the whole stack,
byte for byte but for the CSRF token's mask and the cookie's expiry time, for every role; the
whole stack whenever anything is unusual; every change that affects the page seen at once."""

import re
from http.cookies import SimpleCookie

import pytest
from django.contrib.auth import get_user
from django.core.cache import cache
from django.db import connection
from django.middleware.csrf import _does_token_match
from django.test import Client
from django.test.utils import CaptureQueriesContext

from edition import signedin
from edition.models import Document, Edition, Membership
from edition.roles import roles_key
from tests.helpers import make_member, revise, signed_in, text_spec

pytestmark = pytest.mark.django_db

D142, D143 = "/frus1958-60v18/d142/", "/frus1958-60v18/d143/"
TOKENS = re.compile(r'(value="|"x-csrftoken": ")([A-Za-z0-9]{64})"')


def tokens(content: bytes) -> list[str]:
    return [m[2] for m in TOKENS.finditer(content.decode())]


def without_tokens(content: bytes) -> str:
    return TOKENS.sub(r'\1TOKEN"', content.decode())


def fast(response) -> bool:
    return getattr(response, "signed_in_fast_path", False)


def slow_get(client, settings, path, **extra):
    settings.EMEND_SIGNED_IN_FAST_PATH = False
    try:
        return client.get(path, **extra)
    finally:
        settings.EMEND_SIGNED_IN_FAST_PATH = True


def cookie_attributes(response) -> dict:
    """Each cookie the response sets, its value and attributes but the expiry time (a second
    may pass between two answers)."""
    return {name: (morsel.value, {k: v for k, v in morsel.items() if k != "expires"})
            for name, morsel in response.cookies.items()}


def propose(author, exact="restrained manner", replacement="calm manner", xml_id="d142"):
    from review.actions.propose import do_propose

    document = Document.objects.get(xml_id=xml_id)
    revision = document.current_revision
    return do_propose(document, author=author, base_revision=revision.number,
                      changes=[text_spec(revision, exact, replacement)], rationale="fix")




def warm(client, path=D142):
    """Two pages through the stack: the session, the user, the roles, the shared and own
    parts cached, and the CSRF cookie set."""
    client.get(path)
    client.get(path)


@pytest.mark.parametrize("who", ["stranger", "editor", "reviewer", "admin", "superuser"])
@pytest.mark.parametrize("path", [D142, D143, D142 + "?hl=manner"])
def test_the_fast_answer_is_the_stacks(sample_volume, people, settings, who, path):
    propose(people.editor2)  # the editor's bar shows an open proposal
    people.superuser = make_member(None, "root", None, is_superuser=True)
    client = signed_in(getattr(people, who))
    warm(client, path)
    with CaptureQueriesContext(connection) as queries:
        quick = client.get(path)
    assert fast(quick) and queries.captured_queries == []
    slow = slow_get(client, settings, path)
    assert not fast(slow)
    assert quick.status_code == slow.status_code == 200
    assert without_tokens(quick.content) == without_tokens(slow.content)
    assert dict(quick.headers) | {"Set-Cookie": None} == dict(slow.headers) | {"Set-Cookie": None}
    assert cookie_attributes(quick) == cookie_attributes(slow)
    assert quick["Cache-Control"] == "private, no-cache" and quick["Vary"] == "Cookie"
    # The reader's own token, a new mask each time, never the slow page's.
    secret = client.cookies["csrftoken"].value
    found = tokens(quick.content)
    assert found and len(set(found)) == 1 and _does_token_match(found[0], secret)
    assert found[0] not in slow.content.decode()
    proposer = who != "stranger"
    assert ('id="propose-bar"' in quick.content.decode()) is proposer


@pytest.mark.parametrize("who", ["stranger", "editor"])
def test_a_revalidation_is_answered_304_as_the_stack_does(sample_volume, people, settings, who):
    client = signed_in(getattr(people, who))
    warm(client)
    etag = client.get(D142)["ETag"]
    quick = client.get(D142, HTTP_IF_NONE_MATCH=etag)
    slow = slow_get(client, settings, D142, HTTP_IF_NONE_MATCH=etag)
    assert fast(quick) and quick.status_code == slow.status_code == 304
    assert dict(quick.headers) == dict(slow.headers)
    assert cookie_attributes(quick) == cookie_attributes(slow) == {}  # no token asked for


@pytest.mark.parametrize("who", ["stranger", "editor", "superuser"])
def test_one_cache_round_trip(sample_volume, people, monkeypatch, who):
    """Session, user, roles, the page's stamps and parts (and a proposer's own) in one read,
    once this process has seen the session and the page."""
    if who == "superuser":  # an admin everywhere without a membership
        people.superuser = make_member(None, "root", None, is_superuser=True)
    client = signed_in(getattr(people, who))
    warm(client)
    calls = []

    class Counting:
        def __getattr__(self, name):
            def call(*args, **kwargs):
                calls.append(name)
                return getattr(cache, name)(*args, **kwargs)
            return call

    monkeypatch.setattr(signedin, "cache", Counting())
    page = client.get(D142)
    assert fast(page) and calls == ["get_many"]


def test_a_failing_cache_takes_the_stack(reader, monkeypatch):
    class Failing:
        def get_many(self, keys):
            raise ConnectionError("down")

    monkeypatch.setattr(signedin, "cache", Failing())
    page = reader.get(D142)
    assert not fast(page) and page.status_code == 200


def test_two_readers_never_share_a_token(sample_volume, people):
    first, second = signed_in(people.stranger), signed_in(people.editor)
    warm(first), warm(second)
    a, b = first.get(D142), second.get(D142)
    assert fast(a) and fast(b)
    secret_a, secret_b = first.cookies["csrftoken"].value, second.cookies["csrftoken"].value
    assert secret_a != secret_b
    assert _does_token_match(tokens(a.content)[0], secret_a)
    assert _does_token_match(tokens(b.content)[0], secret_b)
    assert b"stranger" in a.content and b">editor<" not in a.content


def test_without_a_csrf_cookie_a_new_secret_is_set(sample_volume, people):
    client = signed_in(people.stranger)
    warm(client)
    del client.cookies["csrftoken"]
    page = client.get(D142)
    assert fast(page)
    secret = page.cookies["csrftoken"].value
    assert len(secret) == 32 and _does_token_match(tokens(page.content)[0], secret)


def test_a_form_posts_with_the_fast_pages_token(sample_volume, people):
    client = Client(enforce_csrf_checks=True)
    client.force_login(people.editor)
    warm(client, D143)
    page = client.get(D143)
    assert fast(page)
    token = tokens(page.content)[0]
    # Signing out: a CSRF-protected POST, with the token the fast page gave.
    response = client.post("/accounts/logout/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert not client.get(D142).wsgi_request.user.is_authenticated


# --- Fallbacks: anything unusual goes through the whole stack ------------------------------

@pytest.fixture
def reader(sample_volume, people):
    client = signed_in(people.stranger)
    warm(client)
    assert fast(client.get(D142))
    return client


@pytest.mark.parametrize("extra", [
    {"HTTP_HX_REQUEST": "true"},
    {"HTTP_AUTHORIZATION": "Token nothing"},
    {"HTTP_IF_MATCH": '"x"'},
    {"HTTP_IF_UNMODIFIED_SINCE": "Mon, 01 Jan 2024 00:00:00 GMT"},
], ids=["htmx", "authorization", "if-match", "if-unmodified-since"])
def test_unusual_headers_take_the_stack(reader, extra):
    assert not fast(reader.get(D142, **extra))


def test_a_query_takes_the_stack(reader):
    assert not fast(reader.get(D142 + "?page=2"))
    assert fast(reader.get(D142 + "?hl=manner"))


def test_other_pages_and_methods_take_the_stack(reader):
    assert not fast(reader.get("/frus1958-60v18/d142/r/1/"))
    assert not fast(reader.get("/frus1958-60v18/"))
    assert not fast(reader.post(D142))
    assert fast(reader.head(D142))


def test_a_messages_cookie_takes_the_stack_and_shows_them(reader):
    from django.contrib.messages import constants
    from django.contrib.messages.storage.base import Message
    from django.contrib.messages.storage.cookie import CookieStorage

    storage = CookieStorage(reader.get(D142).wsgi_request)
    encoded = storage._encode([Message(constants.INFO, "Thank you for the proposal")])
    reader.cookies["messages"] = encoded
    page = reader.get(D142)
    assert not fast(page) and b"Thank you for the proposal" in page.content
    assert fast(reader.get(D142))  # shown once, the cookie gone


def test_messages_in_the_session_take_the_stack(reader):
    from django.contrib.sessions.backends.cached_db import SessionStore

    key = reader.cookies["sessionid"].value
    session = SessionStore(key)
    session["_messages"] = '[["__json_message", 0, 20, "Saved in the session"]]'
    session.save()
    page = reader.get(D142)
    assert not fast(page)


@pytest.mark.parametrize("name, value", [("DEBUG", True), ("SESSION_SAVE_EVERY_REQUEST", True),
                                         ("EMEND_SIGNED_IN_FAST_PATH", False)])
def test_settings_that_take_the_stack(reader, settings, name, value):
    setattr(settings, name, value)
    assert not fast(reader.get(D142))


def test_a_malformed_csrf_cookie_takes_the_stack(reader):
    reader.cookies["csrftoken"] = "short"
    page = reader.get(D142)
    assert not fast(page) and len(page.cookies["csrftoken"].value) == 32


def test_a_session_missing_from_the_cache_takes_the_stack(reader):
    from django.contrib.sessions.backends.cached_db import KEY_PREFIX

    cache.delete(KEY_PREFIX + reader.cookies["sessionid"].value)
    page = reader.get(D142)
    assert not fast(page) and page.wsgi_request.user.is_authenticated
    assert fast(reader.get(D142))  # cached again by the stack


def test_an_unknown_host_takes_the_stack(reader):
    assert reader.get(D142, HTTP_HOST="evil.example").status_code == 400


def test_a_stale_session_hash_takes_the_stack_and_signs_out(reader, people):
    from django.contrib.sessions.backends.cached_db import SessionStore

    session = SessionStore(reader.cookies["sessionid"].value)
    session["_auth_user_hash"] = "0" * 64
    session.save()
    page = reader.get(D142)
    assert not fast(page) and not page.wsgi_request.user.is_authenticated


# --- Invalidation: every change is seen by the next page ------------------------------------

def test_a_password_change_signs_the_other_sessions_out(reader, people):
    people.stranger.set_password("a new one, long enough")
    people.stranger.save()
    page = reader.get(D142)
    assert not fast(page) and not page.wsgi_request.user.is_authenticated
    assert b"Sign in" in page.content and b"stranger" not in page.content


def test_a_deactivated_user_is_signed_out(reader, people):
    people.stranger.is_active = False
    people.stranger.save()
    page = reader.get(D142)
    assert not fast(page) and not get_user(page.wsgi_request).is_authenticated
    assert b"stranger" not in page.content


def test_a_sign_out_elsewhere_ends_the_session(reader, people):
    from django.contrib.sessions.backends.cached_db import SessionStore

    SessionStore(reader.cookies["sessionid"].value).delete()
    page = reader.get(D142)
    assert not fast(page) and not page.wsgi_request.user.is_authenticated


def test_a_new_role_shows_the_tools(reader, people, sample_edition):
    assert b'id="propose-bar"' not in reader.get(D142).content
    Membership.objects.create(user=people.stranger, edition=sample_edition, role="editor")
    page = reader.get(D142)
    assert not fast(page) and b'id="propose-bar"' in page.content
    assert fast(reader.get(D142))


def test_a_role_taken_away_hides_the_tools(sample_volume, people):
    client = signed_in(people.editor)
    warm(client)
    assert b'id="propose-bar"' in client.get(D142).content
    Membership.objects.filter(user=people.editor).delete()  # the signal, row by row
    page = client.get(D142)
    assert not fast(page) and b'id="propose-bar"' not in page.content
    assert cache.get(roles_key(people.editor.pk)) == {}


def test_a_new_revision_is_shown_at_once(reader):
    assert b"restrained manner" in reader.get(D142).content
    revise(Document.objects.get(xml_id="d142"), "restrained manner", "calm manner")
    page = reader.get(D142)
    assert not fast(page) and b"calm manner" in page.content
    again = reader.get(D142)
    assert fast(again) and b"calm manner" in again.content


def test_a_proposal_by_the_editor_is_in_their_bar_at_once(sample_volume, people):
    client = signed_in(people.editor)
    warm(client)
    assert fast(client.get(D142))
    proposal = propose(people.editor)
    page = client.get(D142)
    assert not fast(page) and f"Proposal {proposal.pk}<" in " ".join(page.content.decode().split())
    assert fast(client.get(D142))


def test_a_changed_username_is_shown_at_once(reader, people):
    people.stranger.username = "someone else"
    people.stranger.save()
    page = reader.get(D142)
    assert b"someone else" in page.content


def test_the_session_guess_is_checked(sample_volume, people):
    """A session key guessed as another user's (the process's memo) is never trusted."""
    client = signed_in(people.stranger)
    warm(client)
    key = client.cookies["sessionid"].value
    signedin._sessions[key] = (people.editor.pk, frozenset({people.editor.pk}))
    page = client.get(D142)
    assert fast(page) and page.wsgi_request.user == people.stranger
    assert signedin._sessions[key] == (people.stranger.pk, frozenset())


def test_cookies_parse(sample_volume):
    # The helper above must be able to fail: an attribute other than the expiry counts.
    a, b = SimpleCookie(), SimpleCookie()
    a["x"], b["x"] = "1", "1"
    b["x"]["path"] = "/other"

    class R:
        def __init__(self, c):
            self.cookies = c
    assert cookie_attributes(R(a)) != cookie_attributes(R(b))


def test_the_mask_is_djangos_token_and_new_each_time():
    from collections import Counter

    from django.middleware.csrf import (
        CSRF_ALLOWED_CHARS, _get_new_csrf_string, _unmask_cipher_token,
    )

    secret = _get_new_csrf_string()
    masks = [signedin._mask(secret) for _ in range(2000)]
    assert all(len(t) == 64 and _unmask_cipher_token(t) == secret for t in masks)
    assert len(set(masks)) == len(masks)
    # Every character of the alphabet drawn about as often (64,000 draws, ~1,032 each).
    counts = Counter("".join(t[:32] for t in masks))
    assert set(counts) == set(CSRF_ALLOWED_CHARS)
    assert 800 < min(counts.values()) and max(counts.values()) < 1300


def test_the_session_hash_follows_the_password_and_the_key(people, settings):
    user = people.stranger
    first = signedin._session_auth_hash(user)
    assert first == user.get_session_auth_hash()
    user.set_password("another password entirely")
    assert signedin._session_auth_hash(user) == user.get_session_auth_hash() != first
    settings.SECRET_KEY = "another secret key, long enough to be one"
    assert signedin._session_auth_hash(user) == user.get_session_auth_hash()


def test_signing_in_rotates_the_token_the_fast_page_uses(sample_volume, people):
    client = Client(enforce_csrf_checks=True)
    login = client.get("/accounts/login/")
    before = client.cookies["csrftoken"].value
    token = re.search(r'name="csrfmiddlewaretoken" value="([A-Za-z0-9]+)"',
                      login.content.decode())[1]
    response = client.post("/accounts/login/", {"username": "stranger",
                                                "password": "pw-strangerstranger",
                                                "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    after = client.cookies["csrftoken"].value
    assert after != before  # rotated by `login`, as Django does
    warm(client)
    page = client.get(D142)
    assert fast(page)
    found = tokens(page.content)[0]
    assert _does_token_match(found, after) and not _does_token_match(found, before)


def sign_in_with_the_form(client, username):
    client.get("/accounts/login/")
    response = client.post("/accounts/login/", {
        "username": username, "password": f"pw-{username * 2}",
        "csrfmiddlewaretoken": client.cookies["csrftoken"].value})
    assert response.status_code == 302


@pytest.mark.parametrize("fast_path", [True, False])
def test_a_copy_from_before_signing_in_again_is_not_answered_304(sample_volume, people,
                                                                  settings, fast_path):
    """The page carries a token of the reader's CSRF secret, which signing in renews: the copy
    a browser kept from the session before (the same reader, the same page) must not be
    answered 304, or its sign-out form and htmx requests are refused."""
    settings.EMEND_SIGNED_IN_FAST_PATH = fast_path
    client = Client(enforce_csrf_checks=True)
    sign_in_with_the_form(client, "stranger")
    warm(client)
    page = client.get(D142)
    assert fast(page) is fast_path
    old_token = tokens(page.content)[0]
    assert client.post("/accounts/logout/", {"csrfmiddlewaretoken": old_token}).status_code == 302
    sign_in_with_the_form(client, "stranger")
    warm(client)
    again = client.get(D142, HTTP_IF_NONE_MATCH=page["ETag"])
    assert again.status_code == 200 and fast(again) is fast_path
    assert _does_token_match(tokens(again.content)[0], client.cookies["csrftoken"].value)
    # The same copy is still a 304 while nothing it shows has changed.
    assert client.get(D142, HTTP_IF_NONE_MATCH=again["ETag"]).status_code == 304


@pytest.mark.parametrize("fast_path", [True, False])
def test_a_copy_with_an_old_name_or_header_is_not_answered_304(sample_volume, people,
                                                               settings, fast_path):
    """The header names the reader and links the Queue when they review somewhere."""
    settings.EMEND_SIGNED_IN_FAST_PATH = fast_path
    client = signed_in(people.stranger)
    warm(client)
    etag = client.get(D142)["ETag"]
    people.stranger.username = "someone else"
    people.stranger.save()
    renamed = client.get(D142, HTTP_IF_NONE_MATCH=etag)
    assert renamed.status_code == 200 and b"someone else" in renamed.content
    # A reviewer's role in another edition: the header links the Queue.
    another = Edition.objects.create(slug="another", title="Another", tei_header="")
    Membership.objects.create(user=people.stranger, edition=another, role="reviewer")
    warm(client)
    queue = client.get(D142, HTTP_IF_NONE_MATCH=renamed["ETag"])
    assert queue.status_code == 200 and b'href="/review/queue/"' in queue.content


def test_a_download_sets_no_csrf_cookie(sample_volume, people):
    """A file has no header: its ETag is the reader's alone, and no CSRF secret is made."""
    client = signed_in(people.stranger)
    download = client.get("/frus1958-60v18/d142.xml")
    assert download.status_code == 200 and not download.cookies
    assert client.get("/frus1958-60v18/d142.xml",
                      HTTP_IF_NONE_MATCH=download["ETag"]).status_code == 304
