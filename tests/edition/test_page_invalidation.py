"""The anonymous reading page's cache (edition/pagecache.py): an approval retires only the pages
that show what it changed; everything that changes every page still retires them all; a 304
never fetches the page's body."""

from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st
from lxml import html

from edition import pagecache
from edition.imports import import_tei, import_text
from edition.models import Document, Edition
from tests.helpers import D143_TEXT, EXCERPT, document_tei, revise, volume_tei

pytestmark = pytest.mark.django_db

D142, D144 = "/frus1958-60v18/d142/", "/frus1958-60v18/d144/"


def served_from_cache(client, url) -> bool:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries) == 0


def text(response) -> str:
    return " ".join(html.fromstring(response.content).text_content().split())


class TestApproval:
    def test_an_approval_keeps_the_neighbours_page_and_etag(self, client, sample_edition):
        before = client.get(D142)
        old_d144 = client.get(D144)
        revise(Document.objects.get(xml_id="d144"), "Kishi</persName> mentioned",
               "Kishi</persName> noted")
        assert served_from_cache(client, D142)
        after = client.get(D142)
        assert after["ETag"] == before["ETag"] and after.content == before.content
        assert client.get(D142, HTTP_IF_NONE_MATCH=before["ETag"]).status_code == 304
        # The approved document's own page is new, and so is its ETag.
        new_d144 = client.get(D144, HTTP_IF_NONE_MATCH=old_d144["ETag"])
        assert new_d144.status_code == 200 and new_d144["ETag"] != old_d144["ETag"]
        assert "Kishi noted" in text(new_d144)

    def test_the_etag_is_the_same_whether_the_page_came_from_the_cache_or_not(
            self, client, sample_edition):
        cached = client.get(D142)
        cache.clear()  # stamps and pages gone: read again from the database
        assert client.get(D142)["ETag"] == cached["ETag"]
        assert client.get(D142 + "?uncached=1")["ETag"] == cached["ETag"]

    def test_an_approval_does_not_touch_the_edition(self, sample_edition):
        stamp = Edition.objects.get().updated_at
        revise(Document.objects.get(xml_id="d144"), "Kishi</persName> mentioned",
               "Kishi</persName> noted")
        assert Edition.objects.get().updated_at == stamp


class TestWhatEveryPageShows:
    def test_a_title_changed_by_a_reimport_changes_the_neighbours_page(
            self, client, sample_edition, tmp_path):
        before = client.get(D142)
        assert "Memorandum of Conversation" in text(before)
        changed = EXCERPT.read_text().replace(
            "<head>144. Memorandum of Conversation", "<head>144. Cable of Record", 1)
        assert changed != EXCERPT.read_text()
        path = tmp_path / "v.xml"
        path.write_text(changed)
        import_tei(path, update=True)
        after = client.get(D142, HTTP_IF_NONE_MATCH=before["ETag"])
        assert after.status_code == 200 and after["ETag"] != before["ETag"]
        assert "144: Cable of Record" in text(after)

    def test_a_new_unit_retires_every_page(self, client, sample_edition):
        client.get(D142)
        import_text(D143_TEXT, edition=sample_edition)  # d142's next document is d143 now
        assert not served_from_cache(client, D142)
        assert "Document 143" in text(client.get(D142))

    def test_the_editions_metadata_retires_every_page(self, client, sample_edition):
        client.get(D142)
        sample_edition.title = "A New Title of the Volume"
        sample_edition.save()
        sample_edition.touch()  # what the admin does after saving
        assert not served_from_cache(client, D142)
        assert "A New Title of the Volume" in text(client.get(D142))


CHAPTER = '<div type="chapter" xml:id="ch1"><head>Chapter One</head>{}</div>'
DATES = ' frus:doc-dateTime-min="1958-0{m}-02T00:00:00-05:00"' \
        ' frus:doc-dateTime-max="1958-0{m}-02T23:59:59-05:00"'


@pytest.fixture
def chaptered(tmp_path: Path) -> Edition:
    path = tmp_path / "vol.xml"
    path.write_text(volume_tei(CHAPTER.format(
        document_tei(1, attrs=DATES.format(m=1)) + document_tei(2, attrs=DATES.format(m=2)))))
    return import_tei(path).edition


class TestChapters:
    def test_a_childs_new_date_retires_the_chapters_page_but_not_the_sibling(
            self, client, chaptered):
        chapter, sibling = client.get("/vol1/ch1/"), client.get("/vol1/d2/")
        assert "January 2, 1958" in text(chapter)
        d1 = Document.objects.with_current().get(xml_id="d1")
        d1.add_revision(d1.current_revision.tei.replace("1958-01-02T", "1958-03-04T"),
                        by=None, summary="date")
        assert str(Document.objects.get(xml_id="d1").date_min)[:10] == "1958-03-04"
        after = client.get("/vol1/ch1/", HTTP_IF_NONE_MATCH=chapter["ETag"])
        assert after.status_code == 200 and "March 4, 1958" in text(after)
        assert client.get("/vol1/d2/", HTTP_IF_NONE_MATCH=sibling["ETag"]).status_code == 304

    def test_a_childs_text_change_keeps_the_chapters_page(self, client, chaptered):
        client.get("/vol1/ch1/")
        revise(Document.objects.get(xml_id="d1"), "Text 1.", "Text one.")
        assert served_from_cache(client, "/vol1/ch1/")


class CountingCache:
    """The cache as pagecache sees it, with every key asked for written down."""

    def __init__(self, real) -> None:
        self.real, self.asked = real, []

    def get(self, key, default=None):
        self.asked.append([key])
        return self.real.get(key, default)

    def get_many(self, keys):
        self.asked.append(list(keys))
        return self.real.get_many(keys)

    def __getattr__(self, name):
        return getattr(self.real, name)


class TestRoundTrips:
    def test_a_304_asks_once_and_never_for_the_body(self, client, sample_edition, monkeypatch):
        first = client.get(D142)
        counting = CountingCache(cache)
        monkeypatch.setattr(pagecache, "cache", counting)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(D142, HTTP_IF_NONE_MATCH=first["ETag"])
        assert response.status_code == 304 and len(queries) == 0
        assert len(counting.asked) == 1
        assert not any(key.startswith("emend:page:") for key in counting.asked[0])
        assert any(key.startswith("emend:phead:") for key in counting.asked[0])

    def test_a_cached_page_is_one_round_trip(self, client, sample_edition, monkeypatch):
        client.get(D142)
        counting = CountingCache(cache)
        monkeypatch.setattr(pagecache, "cache", counting)
        assert client.get(D142).status_code == 200
        assert len(counting.asked) == 1

    def test_an_old_etag_gets_the_body_from_the_cache(self, client, sample_edition):
        client.get(D142)
        assert served_from_cache(client, D142)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(D142, HTTP_IF_NONE_MATCH='"not-this-one"')
        assert response.status_code == 200 and len(queries) == 0
        assert "Document 142" in text(response)

    def test_a_missing_unit_is_a_404(self, client, sample_edition):
        assert client.get("/frus1958-60v18/d999/").status_code == 404
        assert client.get("/nothing/d1/").status_code == 404


@hsettings(max_examples=15, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(["d142", "d144"]), min_size=1, max_size=4))
def test_the_cached_page_is_always_the_page_rendered_now(client, sample_edition, approvals):
    """Property: whatever was approved where, in whatever order, the page served from the
    cache is the page as it would be rendered now, with the same ETag."""
    cache.clear()
    for url in (D142, D144):
        client.get(url)
    words = {"d142": "Parsons</persName>", "d144": "Kishi</persName>"}
    for n, xml_id in enumerate(approvals):
        document = Document.objects.get(xml_id=xml_id)
        revise(document, words[xml_id], f"{words[xml_id]} x{n}")
        for url in (D142, D144):
            cached, fresh = client.get(url), client.get(url + "?fresh=1")
            # The query string (not cacheable: rendered now) shows in the sign-in link.
            same = fresh.content.replace(b"%3Ffresh%3D1", b"").replace(b"?fresh=1", b"")
            assert cached.content == same and cached["ETag"] == fresh["ETag"]


class TestContents:
    def test_the_contents_are_served_from_the_cache_with_an_etag(self, client, sample_edition):
        first = client.get("/frus1958-60v18/")
        assert first["ETag"] and not first.has_header("Last-Modified")
        assert served_from_cache(client, "/frus1958-60v18/")
        assert client.get("/frus1958-60v18/", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304

    def test_an_approval_that_keeps_the_dates_keeps_the_contents(self, client, chaptered):
        client.get("/vol1/")
        revise(Document.objects.get(xml_id="d1"), "Text 1.", "Text one.")
        assert served_from_cache(client, "/vol1/")

    def test_an_approval_that_moves_a_date_retires_the_contents(self, client, chaptered):
        before = client.get("/vol1/")
        assert "January 2, 1958" in text(before)
        d1 = Document.objects.with_current().get(xml_id="d1")
        d1.add_revision(d1.current_revision.tei.replace("1958-01-02T", "1958-03-04T"),
                        by=None, summary="date")
        after = client.get("/vol1/", HTTP_IF_NONE_MATCH=before["ETag"])
        assert after.status_code == 200 and "March 4, 1958" in text(after)

    def test_a_new_unit_retires_the_contents(self, client, sample_edition):
        client.get("/frus1958-60v18/")
        import_text(D143_TEXT, edition=sample_edition)
        assert "143" in text(client.get("/frus1958-60v18/"))

    def test_only_a_page_number_as_written_is_cached(self, client, sample_edition):
        client.get("/frus1958-60v18/?page=1")
        assert served_from_cache(client, "/frus1958-60v18/?page=1")
        assert not served_from_cache(client, "/frus1958-60v18/?page=01")
        assert not served_from_cache(client, "/frus1958-60v18/?page=1&x=2")
        assert client.get("/frus1958-60v18/?page=%00").status_code == 200

    def test_a_page_number_past_the_last_is_not_kept(self, client, sample_edition):
        """It shows the last page: kept under its own number, any number (up to 2^31) would
        be an entry of its own for a day, and a loop of requests would fill the cache."""
        last = client.get("/frus1958-60v18/?page=1")
        for number in ("2", "2147483647"):
            past = client.get(f"/frus1958-60v18/?page={number}")
            assert past.status_code == 200 and past.content == last.content
            assert not served_from_cache(client, f"/frus1958-60v18/?page={number}")
        assert served_from_cache(client, "/frus1958-60v18/?page=1")


def test_a_stamp_read_before_a_change_and_stored_after_its_drop_is_taken_back(db):
    """A reader reads a stamp from the database, a change commits and drops it (on commit),
    then the reader stores what it read: without the second read, the page from before the
    change would stand until STAMP_TTL."""
    reads = iter(["before", "after"])
    stamp = pagecache.Stamp("emend:test:stamp", lambda: next(reads))
    cache.delete(stamp.key)
    assert pagecache.current([stamp]) == ("after",)
    assert cache.get(stamp.key) is None  # the next reader reads it again


def test_a_stamp_that_did_not_move_stays_stored(db):
    stamp = pagecache.Stamp("emend:test:stamp", lambda: "same")
    cache.delete(stamp.key)
    assert pagecache.current([stamp]) == ("same",)
    assert cache.get(stamp.key) == "same"
