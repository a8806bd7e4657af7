"""With the cache's Redis and the broker both down, the site reads, signs in and approves:
slower, never failing. Runs on PostgreSQL when DATABASE_URL names one (CI), on SQLite else."""

import logging
import time

import pytest
from lxml import html

from config.celery import app
from edition import sharedcache
from edition.models import Document
from review.actions.propose import do_propose
from tests.helpers import text_spec

pytestmark = pytest.mark.django_db

DEAD_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture
def outage(settings):
    """The cache and the broker at a port where nothing listens."""
    settings.CACHES = {"default": {
        "BACKEND": "edition.sharedcache.RedisCache", "LOCATION": DEAD_REDIS,
        "KEY_FUNCTION": "edition.sharedcache.make_key",
        "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
    }}
    sharedcache._down_until.clear()
    saved = app.conf.broker_write_url, app._pool, app.amqp._producer_pool
    app.conf.broker_write_url, app._pool, app.amqp._producer_pool = DEAD_REDIS, None, None
    yield
    app.conf.broker_write_url, app._pool, app.amqp._producer_pool = saved
    sharedcache._down_until.clear()


def words(response) -> str:
    return " ".join(html.fromstring(response.content).text_content().split())


def test_reading_signing_in_and_approving_survive_cache_and_broker_outages(
        client, people, outage, caplog, django_capture_on_commit_callbacks):
    started = time.monotonic()
    assert "Parsons added" in words(client.get("/frus1958-60v18/d142/"))
    api = client.get("/api/editions/frus1958-60v18/documents/d142/")
    assert api.status_code == 200 and api.json()["current_revision"] == 1
    assert client.get("/frus1958-60v18/d142.txt").status_code == 200
    assert client.get("/accounts/login/").status_code == 200
    signed_in = client.post("/accounts/login/",
                            {"username": "reviewer", "password": "pw-reviewerreviewer"})
    assert signed_in.status_code == 302 and client.session["_auth_user_id"]

    document = Document.objects.with_current().get(xml_id="d142")
    proposal = do_propose(document, author=people.editor, base_revision=1, rationale="verb",
                          changes=[text_spec(document.current_revision, "added", "noted")])
    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/review/proposals/{proposal.pk}/approve/")
    assert response.status_code == 302
    document.refresh_from_db()
    assert document.current_revision.number == 2
    assert any("could not enqueue" in r.message for r in caplog.records)  # logged, not raised

    client.logout()
    assert "Parsons noted" in words(client.get("/frus1958-60v18/d142/"))
    assert time.monotonic() - started < 15  # no request waited on the dead servers
