"""The worker renders a document's reading page again after an approval retired it
(edition/warming.py): the page it stores is the one a reader would have rendered, byte for byte,
under every origin pages were served at; a task for a superseded revision does nothing."""

from unittest import mock

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from lxml import html

from edition import pagecache, tasks
from edition.models import Document
from tests.helpers import revise

pytestmark = pytest.mark.django_db

D142, D144 = "/frus1958-60v18/d142/", "/frus1958-60v18/d144/"


@pytest.fixture
def hosts(settings):
    settings.ALLOWED_HOSTS = ["testserver", "emend.example.org"]


def from_cache(client, url, **extra):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **extra)
    assert response.status_code == 200
    return response, len(queries) == 0


def words(response) -> str:
    return " ".join(html.fromstring(response.content).text_content().split())


def approve_d144():
    return revise(Document.objects.get(xml_id="d144"), "Kishi</persName> mentioned",
                  "Kishi</persName> noted")


def test_the_warmed_page_is_the_page_a_reader_renders(client, sample_edition, hosts):
    client.get(D144)
    client.get(D144, secure=True, HTTP_HOST="emend.example.org")
    assert set(pagecache.origins()) == {"http://testserver", "https://emend.example.org"}
    revision = approve_d144()

    assert tasks.warm_pages(revision.pk) == 2
    warmed, cached = from_cache(client, D144)
    assert cached, "the reader's page came from the cache"
    warmed_there, cached = from_cache(client, D144, secure=True, HTTP_HOST="emend.example.org")
    assert cached
    assert "Kishi noted" in words(warmed)
    assert b"https://emend.example.org/" in warmed_there.content  # its own absolute links
    assert b"https://emend.example.org/" not in warmed.content

    cache.clear()  # rendered fresh by a reader: the same bytes and headers
    fresh, cached = from_cache(client, D144)
    assert not cached
    fresh_there, _ = from_cache(client, D144, secure=True, HTTP_HOST="emend.example.org")
    for one, other in ((warmed, fresh), (warmed_there, fresh_there)):
        assert one.content == other.content
        for header in ("ETag", "Last-Modified", "Cache-Control", "Content-Type"):
            assert one[header] == other[header]


def test_a_superseded_revision_warms_nothing(client, sample_edition):
    client.get(D144)
    first = approve_d144()
    second = revise(Document.objects.get(xml_id="d144"), "Kishi</persName> noted",
                    "Kishi</persName> said")
    with CaptureQueriesContext(connection) as queries:
        assert tasks.warm_pages(first.pk) == 0
    assert len(queries) == 1  # only the look-up that found it superseded
    _, cached = from_cache(client, D144)
    assert not cached  # nothing was stored for it
    assert tasks.warm_pages(second.pk) == 1
    response, cached = from_cache(client, D144)
    assert cached and "Kishi said" in words(response)


def test_no_origin_known_warms_nothing(sample_edition):
    revision = approve_d144()
    assert tasks.warm_pages(revision.pk) == 0


def test_an_approval_sends_the_warming_once_it_commits(
        client, sample_edition, django_capture_on_commit_callbacks):
    client.get(D144)
    with mock.patch.object(tasks.after_revision, "apply_async") as send:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            revision = approve_d144()
        assert not send.called  # not before the commit: the worker must see the revision
        for callback in callbacks:
            callback()
    send.assert_called_once()
    document = Document.objects.get(xml_id="d144")
    assert send.call_args.kwargs["args"] == (document.pk, revision.pk)


def test_the_message_after_a_revision_warms_the_page_then_runs_the_checks(
        client, sample_edition):
    client.get(D144)
    revision = approve_d144()
    document = Document.objects.get(xml_id="d144")
    with mock.patch.object(tasks, "run_checks", wraps=tasks.run_checks) as checks:
        tasks.after_revision(document.pk, revision.pk)
    checks.assert_called_once_with([document.pk])
    response, cached = from_cache(client, D144)
    assert cached and "Kishi noted" in words(response)


def test_a_failing_page_is_logged_not_raised(client, sample_edition, caplog):
    client.get(D144)
    revision = approve_d144()
    with mock.patch("edition.views._shared_parts", side_effect=RuntimeError("boom")):
        assert tasks.warm_pages(revision.pk) == 0
    _, cached = from_cache(client, D144)
    assert not cached  # the reader renders it, as without a worker


def test_origins_are_a_few_most_recent(client, sample_edition, settings):
    settings.ALLOWED_HOSTS = ["*"]
    for n in range(pagecache.MAX_ORIGINS + 2):
        client.get(D142 + f"?n={n}")  # not cached: no origin noted
        client.get(D142, HTTP_HOST=f"h{n}.example.org")
    known = pagecache.origins()
    assert len(known) == pagecache.MAX_ORIGINS
    assert known[0] == f"http://h{pagecache.MAX_ORIGINS + 1}.example.org"


def test_other_hosts_never_push_the_sites_own_origin_out(client, sample_edition, settings):
    """Another port, which ALLOWED_HOSTS lets through, is an origin of its own: however many
    arrive, the site's origin (EMEND_SITE_URL's) stays among those warmed."""
    settings.EMEND_SITE_URL = "https://emend.example.org/"
    settings.ALLOWED_HOSTS = ["emend.example.org"]
    client.get(D142, HTTP_HOST="emend.example.org", secure=True)
    for port in range(1, pagecache.MAX_ORIGINS + 3):
        client.get(D142, HTTP_HOST=f"emend.example.org:{port}", secure=True)
    known = pagecache.origins()
    assert len(known) == pagecache.MAX_ORIGINS and "https://emend.example.org" in known
    assert known[0] == f"https://emend.example.org:{pagecache.MAX_ORIGINS + 2}"


def test_a_host_spelt_otherwise_is_answered_and_not_kept(client, sample_edition, settings):
    settings.ALLOWED_HOSTS = ["emend.example.org"]
    for host in ("EMEND.example.org", "emend.example.org."):
        response = client.get(D142, HTTP_HOST=host)
        assert response.status_code == 200 and b"Memorandum of Conversation" in response.content
    assert pagecache.origins() == ()
    client.get(D142, HTTP_HOST="emend.example.org")
    assert pagecache.origins() == ("http://emend.example.org",)
