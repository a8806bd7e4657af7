"""The reading view's page images (issue 11, item 2): a panel of the unit's pages when it has
images, which works without JavaScript, is part of the anonymous cached page, and changes
when the page images do."""

import pytest
from django.core.cache import cache
from lxml import html

from edition import pages
from edition.models import Document, PageImage
from tests import pageimages

pytestmark = pytest.mark.django_db

D144 = "/frus1958-60v18/d144/"


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def synced(sample_edition):
    pages.sync(sample_edition)
    return sample_edition


def tree(response):
    return html.fromstring(response.content)


def test_no_panel_without_page_images(client, synced):
    page = tree(client.get(D144))
    assert not page.cssselect("#reading-pages") and not page.cssselect(".reading-pages-toggle")


def test_panel_lists_each_page_with_its_image_and_its_marker(client, synced, media):
    d144 = Document.objects.get(xml_id="d144")
    pageimages.attach(d144)
    page = tree(client.get(D144))
    panel = page.cssselect("details#reading-pages")[0]
    assert "open" not in panel.attrib  # collapsed above the text until asked for
    items = panel.cssselect(".reading-pages-list li")
    # Page 277 stands between d142 and d144 in the skeleton: in effect where d144 begins,
    # with no marker of its own in d144; page 279's marker is in the text.
    assert [li.get("data-label") for li in items] == ["[Page 277]", "[Page 279]"]
    assert [li.get("data-anchor") for li in items] == ["", "pg_279"]
    assert page.cssselect("article.tei-document a.pb#pg_279")
    for li, stored in zip(items, PageImage.objects.filter(n__in=["277", "279"])
                          .order_by("sequence")):
        link = li.cssselect("a")[0]
        assert link.get("href") == pages.image_urls(stored)["full"] != ""
    figure = panel.cssselect("figure.page-figure")[0]
    assert figure.cssselect("img")[0].get("src").endswith("0307-display.png")
    assert figure.cssselect("img")[0].get("alt") == "The printed page [Page 277]"
    assert figure.cssselect("a.page-full")[0].get("href").endswith("0307.png")
    # The toggle is for the script to show: without it, it would do nothing.
    toggle = page.cssselect("button.reading-pages-toggle")[0]
    assert "hidden" in toggle.attrib and toggle.get("aria-pressed") == "false"


def test_remote_images_are_given_as_they_are(client, synced):
    synced.facsimile_url = "https://static.history.state.gov/frus/{volume}/medium/{facs}.png"
    synced.save()
    pages.sync(synced)
    page = tree(client.get(D144))
    items = page.cssselect(".reading-pages-list li")
    assert items[1].get("data-display") == (
        "https://static.history.state.gov/frus/frus1958-60v18/medium/0309.png")


def test_the_cached_page_changes_when_the_page_images_do(client, synced, media):
    before = client.get(D144)
    assert b"reading-pages" not in before.content
    pageimages.attach(Document.objects.get(xml_id="d144"))  # pages.touch: the stamp dropped
    after = client.get(D144, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200 and after["ETag"] != before["ETag"]
    assert tree(after).cssselect("#reading-pages")


def test_a_lost_stamp_is_read_again_from_the_database(client, synced, media):
    client.get(D144)
    PageImage.objects.filter(n="279").update(url="https://example.org/279.png")  # no touch
    cache.delete(pages.unit_panel_key(synced.slug, "d144"))  # as after STAMP_TTL
    assert b"https://example.org/279.png" in client.get(D144).content


def test_sync_drops_the_stamps_of_what_it_changed(synced):
    slug = synced.slug
    keys = [pages.stamp_key(slug), pages.panels_key(slug), pages.unit_panel_key(slug, "d142"),
            pages.unit_panel_key(slug, "d144")]
    cache.set_many({key: "old" for key in keys})
    pages.sync(synced)  # nothing moved: only the edition's pages stamp (the exports page's)
    assert [cache.get(key) for key in keys] == [None, "old", "old", "old"]
    PageImage.objects.filter(edition=synced).delete()
    pages.sync(synced)  # every row made again: every unit's panel
    assert [cache.get(key) for key in keys] == [None, "old", None, None]


def test_an_old_revision_shows_its_own_pages(client, synced, media):
    pageimages.attach(Document.objects.get(xml_id="d144"))
    page = tree(client.get(D144 + "r/1/"))
    assert [li.get("data-label") for li in page.cssselect(".reading-pages-list li")] == [
        "[Page 277]", "[Page 279]"]


def test_without_images_one_query_and_no_text_layer(synced, django_assert_num_queries):
    d144 = Document.objects.with_current().get(xml_id="d144")
    with django_assert_num_queries(1):
        assert pages.shown(d144) == []
    assert "layer" not in d144.current_revision.__dict__


def test_the_spans_are_kept_under_the_units_panel_stamp(synced, media, monkeypatch):
    d144 = Document.objects.with_current().get(xml_id="d144")
    pageimages.attach(d144)
    panel = pages.unit_panel_key(synced.slug, "d144")
    cache.set(panel, pages.unit_panel_value(synced.slug, "d144"))
    first = pages.shown(d144)

    def no(*args, **kwargs):
        raise AssertionError("spans derived again")
    monkeypatch.setattr(pages, "spans", no)
    again = Document.objects.with_current().get(xml_id="d144")
    assert [(s.page.pk, s.start, s.end, s.anchor) for s in pages.shown(again)] == [
        (s.page.pk, s.start, s.end, s.anchor) for s in first]
    pages.touch(synced, ["d144"])  # its pages changed: derived again
    cache.set(panel, "another")
    with pytest.raises(AssertionError, match="derived again"):
        pages.shown(again)
