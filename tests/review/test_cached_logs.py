"""The corrections logs from the cache (edition/pagecache.py): anonymous readers are served
without a query until the log changes, and see every approval as soon as it commits."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from lxml import html

from tests.review.test_corrections import EDITION_LOG, LOG, approve

pytestmark = pytest.mark.django_db
D144_LOG = "/frus1958-60v18/d144/corrections/"


def queries(client, url, **headers) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **headers)
    return len(captured), response


def words(response) -> str:
    return " ".join(html.fromstring(response.content).text_content().split())


def test_the_edition_log_is_cached_until_the_next_approval(client, people):
    approve(people, "Secretary Herter", "Mr. Herter")
    first = client.get(EDITION_LOG)
    assert queries(client, EDITION_LOG)[0] == 0
    assert queries(client, EDITION_LOG, HTTP_IF_NONE_MATCH=first["ETag"])[1].status_code == 304
    approve(people, "Kishi", "Prime Minister Kishi", doc="d144")
    count, again = queries(client, EDITION_LOG, HTTP_IF_NONE_MATCH=first["ETag"])
    assert count > 0 and again.status_code == 200 and "Prime Minister Kishi" in words(again)


def test_a_documents_log_is_kept_when_another_document_is_corrected(client, people):
    approve(people, "Secretary Herter", "Mr. Herter")
    first = client.get(LOG)
    approve(people, "Kishi", "Prime Minister Kishi", doc="d144")
    count, again = queries(client, LOG, HTTP_IF_NONE_MATCH=first["ETag"])
    assert count == 0 and again.status_code == 304
    # d144's own log shows its correction.
    assert "Prime Minister Kishi" in words(client.get(D144_LOG))


def test_a_documents_log_is_retired_by_its_own_approval(client, people):
    first = client.get(LOG)
    approve(people, "Secretary Herter", "Mr. Herter")
    count, again = queries(client, LOG, HTTP_IF_NONE_MATCH=first["ETag"])
    assert count > 0 and again.status_code == 200 and "Mr." in words(again)


def test_since_and_signed_in_readers_are_rendered_each_time(client, people):
    approve(people, "Secretary Herter", "Mr. Herter")
    client.get(LOG + "?since=1")
    assert queries(client, LOG + "?since=1")[0] > 0
    assert client.get(LOG + "?since=x").status_code == 400
    client.force_login(people.stranger)
    client.get(LOG)
    assert queries(client, LOG)[0] > 0


def test_a_page_number_past_the_last_is_not_kept(client, people):
    """It shows the last page; kept, any number would be an entry of its own for a day."""
    approve(people, "Secretary Herter", "Mr. Herter")
    client.get(EDITION_LOG + "?page=1")
    assert queries(client, EDITION_LOG + "?page=1")[0] == 0
    client.get(EDITION_LOG + "?page=99")
    count, past = queries(client, EDITION_LOG + "?page=99")
    assert count > 0 and past.status_code == 200 and "Mr. Herter" in words(past)


def test_each_entry_is_derived_once(client, people, monkeypatch):
    """Before → after of a revision never changes: a log page derives only the new entries
    (and reads only their text layers), whatever else changed."""
    from review import corrections

    approve(people, "Secretary Herter", "Mr. Herter")
    approve(people, "Kishi", "Prime Minister Kishi", doc="d144")
    client.get(EDITION_LOG)
    derived = []
    real = corrections._entry_parts
    monkeypatch.setattr(corrections, "_entry_parts",
                        lambda revision, *a: derived.append(revision.pk) or real(revision, *a))
    third = approve(people, "Mr. Parsons", "Parsons")
    page = client.get(EDITION_LOG)
    assert derived == [third.pk]
    assert "Mr. Herter" in words(page) or "Mr." in words(page)
    derived.clear()
    client.get(LOG)  # d142's log: both its entries are already known
    assert derived == []


def test_a_cached_entry_is_the_entry_derived_now(client, people):
    from django.core.cache import cache

    approve(people, "Secretary Herter", "Mr. Herter")
    fresh = client.get(EDITION_LOG).content
    cache.clear()
    assert client.get(EDITION_LOG).content == fresh
    assert client.get(EDITION_LOG).content == fresh  # page and entries from the cache
