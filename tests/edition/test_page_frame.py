"""A signed-in reader's page assembled from the frame (edition/pageframe.py) is byte for byte
the page the template renders, whoever reads and whatever they read."""

import re

import pytest
from django.core.cache import cache
from django.middleware.csrf import _does_token_match
from django.test import Client

from edition import pageframe
from edition.models import Document
from edition.roles import roles_key
from tests.helpers import revise

pytestmark = pytest.mark.django_db

PAGES = ["/frus1958-60v18/d142/", "/frus1958-60v18/d144/", "/frus1958-60v18/d142/r/1/",
         "/frus1958-60v18/d142/?hl=manner"]
TOKENS = re.compile(r'(value="|"x-csrftoken": ")([A-Za-z0-9]+)"')


def tokens(content: bytes) -> list[str]:
    return [m[2] for m in TOKENS.finditer(content.decode())]


def without_tokens(content: bytes) -> str:
    return TOKENS.sub(r'\1TOKEN"', content.decode())


def both_ways(client, monkeypatch, path):
    """The page from the frame, then rendered from the template (the frame switched off)."""
    framed = client.get(path)
    with monkeypatch.context() as patched:
        patched.setattr(pageframe, "frame", lambda *args: None)
        rendered = client.get(path)
    return framed, rendered


@pytest.fixture
def stranger(sample_volume, people):
    client = Client()
    client.force_login(people.stranger)
    return client


@pytest.mark.parametrize("path", PAGES)
def test_the_frame_gives_the_templates_page(stranger, monkeypatch, path, people):
    revise(Document.objects.get(xml_id="d142"), "restrained manner", "calm manner")
    stranger.get(path)  # the shared parts cached
    framed, rendered = both_ways(stranger, monkeypatch, path)
    assert framed.status_code == rendered.status_code == 200
    # The page's own template rendered only when the frame is off (a revision's parts are
    # rendered anew either way: they are not cached).
    assert pageframe.TEMPLATE not in [t.name for t in framed.templates]
    assert pageframe.TEMPLATE in [t.name for t in rendered.templates]
    assert without_tokens(framed.content) == without_tokens(rendered.content)
    for header in ("Content-Type", "Cache-Control", "Vary", "ETag", "Last-Modified"):
        assert framed.get(header) == rendered.get(header), header
    # The token appears twice (htmx's header, the sign-out form), the same both times, and is
    # the reader's own.
    secret = stranger.cookies["csrftoken"].value
    found = tokens(framed.content)
    assert len(found) == 2 and found[0] == found[1] and _does_token_match(found[0], secret)


def test_the_queue_link_and_a_name_that_needs_escaping(stranger, monkeypatch, people):
    people.stranger.username = 'o\'hara<&>"'
    people.stranger.save()
    # A reviewer in another edition, no role in this one: the header's Queue link, no tools.
    cache.set(roles_key(people.stranger.pk), {10**6: "reviewer"})
    path = PAGES[0]
    stranger.get(path)
    framed, rendered = both_ways(stranger, monkeypatch, path)
    assert b"/review/queue/" in framed.content and b"propose-bar" not in framed.content
    assert b"o&#x27;hara&lt;&amp;&gt;&quot;" in framed.content
    assert without_tokens(framed.content) == without_tokens(rendered.content)


def test_the_first_page_sets_the_csrf_cookie(sample_volume, people):
    client = Client()
    client.force_login(people.stranger)
    assert "csrftoken" not in client.cookies
    page = client.get(PAGES[0])
    assert _does_token_match(tokens(page.content)[0], page.cookies["csrftoken"].value)


def test_the_frame_is_not_used_under_debug(settings):
    settings.DEBUG = True
    assert pageframe.frame("edition:document", False) is None
