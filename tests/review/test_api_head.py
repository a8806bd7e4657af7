"""HEAD on the API's GET endpoints answers as GET would, without a body (RFC 9110 §9.3.2):
same status, same headers (ETag and Cache-Control included), so that a proxy or a link checker
can revalidate without downloading."""

import pytest
from rest_framework.test import APIClient

from tests.helpers import token_client

pytestmark = pytest.mark.django_db

EDITION = "frus1958-60v18"

PUBLIC = [
    f"/api/editions/{EDITION}/documents/d142/",
    f"/api/editions/{EDITION}/documents/d142/?revision=1",
    f"/api/editions/{EDITION}/documents/d142/pages/",
    f"/api/editions/{EDITION}/persons/?q=a",
    f"/api/editions/{EDITION}/terms/",
    "/api/search/?q=Korea",
    "/api/schema/",
]
MEMBERS = [
    "/api/proposals/",
    f"/api/editions/{EDITION}/documents/d142/proposals/",
    f"/api/editions/{EDITION}/documents/d142/suggestions/",
    "/api/search/proposals/?q=Korea",
]
# Headers that may differ between two answers to the same request.
VOLATILE = {"Date"}


def same_headers(get, head):
    got = {k: v for k, v in get.headers.items() if k not in VOLATILE}
    had = {k: v for k, v in head.headers.items() if k not in VOLATILE}
    assert had == got


def check(client, url):
    # HEAD first: a cold cache must not answer HEAD differently from a warm one.
    head = client.head(url)
    get = client.get(url)
    assert get.status_code == 200, (url, get.content[:300])
    assert head.status_code == 200, (url, head.status_code, head.content[:300])
    assert head.content == b""
    same_headers(get, head)
    # And HEAD after the GET (the page cache's fast path may answer it).
    again = client.head(url)
    assert again.status_code == 200 and again.content == b""
    same_headers(get, again)
    return get, head


@pytest.mark.parametrize("url", PUBLIC)
def test_head_on_public_endpoints(sample_edition, url):
    get, head = check(APIClient(), url)
    if "/documents/d142/" in url and "pages" not in url:
        assert head["ETag"] and "Cache-Control" in head


@pytest.mark.parametrize("url", MEMBERS)
def test_head_on_members_endpoints(people, url):
    check(token_client(people.editor), url)


def test_head_conditional_is_304(sample_edition):
    client = APIClient()
    url = f"/api/editions/{EDITION}/documents/d142/"
    etag = client.get(url)["ETag"]
    head = client.head(url, HTTP_IF_NONE_MATCH=etag)
    assert head.status_code == 304 and head.content == b""


def test_head_is_not_a_write(people):
    # Endpoints that take GET and POST must not treat HEAD as POST, and POST-only ones still
    # refuse HEAD.
    client = token_client(people.editor)
    assert client.head("/api/proposals/1/approve").status_code == 405
