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


# A proposer's page: the bar (open proposals), the tools, the suggestions (d143's, from the
# import) in the frame, against the template's includes.
def propose(author, exact, replacement):
    from review.actions.propose import do_propose
    from tests.helpers import text_spec

    document = Document.objects.get(xml_id="d142")
    revision = document.current_revision
    return do_propose(document, author=author, base_revision=revision.number,
                      changes=[text_spec(revision, exact, replacement)], rationale="fix")


@pytest.mark.parametrize("who", ["editor", "reviewer", "admin"])
@pytest.mark.parametrize("path", ["/frus1958-60v18/d142/", "/frus1958-60v18/d143/"])
def test_a_proposers_page_from_the_frame_is_the_templates(sample_volume, people, monkeypatch,
                                                          who, path):
    propose(people.editor2, "restrained manner", "calm \"manner\" ‘more’")
    propose(people.reviewer, "prospective membership", "future membership")
    client = Client()
    client.force_login(getattr(people, who))
    client.get(path)
    framed, rendered = both_ways(client, monkeypatch, path)
    assert framed.status_code == rendered.status_code == 200
    assert pageframe.TEMPLATE not in [t.name for t in framed.templates]
    content = framed.content.decode()
    assert 'id="propose-bar"' in content and 'id="propose-root"' in content
    if path.endswith("d142/"):
        assert "2 open proposals" in " ".join(content.split())
    else:
        assert 'id="suggestions"' in content
    assert without_tokens(framed.content) == without_tokens(rendered.content)
    for header in ("Content-Type", "Cache-Control", "Vary", "ETag", "Last-Modified"):
        assert framed.get(header) == rendered.get(header), header
    found = tokens(framed.content)
    assert len(set(found)) == 1 and len(found) >= 2
    assert _does_token_match(found[0], client.cookies["csrftoken"].value)


def test_the_proposers_own_parts_follow_the_open_proposals(sample_volume, people):
    from review.actions.decide import do_withdraw

    client = Client()
    client.force_login(people.editor)
    path = "/frus1958-60v18/d142/"

    def pending():
        page = " ".join(client.get(path).content.decode().split())
        return re.findall(r"Proposal (\d+)</a>", page)

    assert pending() == []
    first = propose(people.editor2, "restrained manner", "calm manner")
    assert pending() == [str(first.pk)]
    second = propose(people.reviewer, "prospective membership", "future membership")
    assert pending() == [str(first.pk), str(second.pk)]
    do_withdraw(first, by=people.editor2)
    assert pending() == [str(second.pk)]
    # An approval: a new revision, the proposal closed; the tools on the new revision.
    second.refresh_from_db()
    from review.actions.approve import do_approve

    do_approve(second, by=people.admin)
    assert pending() == []
    assert 'data-rev="2"' in client.get(path).content.decode()
