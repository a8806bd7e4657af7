"""Each unit's page-images panel has a stamp of its own (edition/pages.py `unit_panel_key`): a
sync after an approval that adds, removes or renumbers a `pb` retires the reading pages of the
units whose panel it changed, and keeps every other page and its ETag (issue 14, item 1)."""

import itertools
import re

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from edition import pages, views
from edition.imports import import_tei
from edition.models import Document, PageImage
from tests.edition.test_volumes import WITH_FRONT
from tests.helpers import revise

pytestmark = pytest.mark.django_db

PATTERN = "https://images.example.org/{volume}/{facs}.png"
PB = re.compile(r"<pb\b[^>]*/>")
# New page breaks' ids: unique across hypothesis's examples, which share one database.
FRESH = itertools.count()


@pytest.fixture
def volume(db):
    """The volume with its front matter, every page with an image (the address pattern)."""
    edition = import_tei(WITH_FRONT).edition
    edition.facsimile_url = PATTERN
    edition.save()
    pages.sync(edition)
    cache.clear()
    return edition


def units(edition) -> list[str]:
    return list(edition.documents.order_by("order").values_list("xml_id", flat=True))


def url(edition, xml_id: str) -> str:
    return f"/{edition.slug}/{xml_id}/"


@pytest.fixture
def renders(monkeypatch) -> list[str]:
    """The units whose reading page was rendered (not served from the page cache)."""
    made = []
    shared_parts = views._shared_parts

    def counted(request, document, revision):
        made.append(document.xml_id)
        return shared_parts(request, document, revision)
    monkeypatch.setattr(views, "_shared_parts", counted)
    return made


def served_from_cache(client, address, renders) -> bool:
    before = len(renders)
    assert client.get(address).status_code == 200
    return len(renders) == before


def test_a_renumbered_page_retires_its_units_page_and_keeps_the_others(client, volume, renders):
    before = {x: client.get(url(volume, x)) for x in units(volume)}
    revise(Document.objects.get(xml_id="d144"), 'n="279"', 'n="279a"')
    pages.sync(volume)  # the worker's `sync_pages`, which the approval queued
    after = client.get(url(volume, "d144"), HTTP_IF_NONE_MATCH=before["d144"]["ETag"])
    assert after.status_code == 200 and b"[Page 279a]" in after.content
    for xml_id in units(volume):
        if xml_id != "d144":
            assert served_from_cache(client, url(volume, xml_id), renders), xml_id
            assert client.get(url(volume, xml_id))["ETag"] == before[xml_id]["ETag"]


def test_a_sync_that_changes_no_page_retires_none(client, volume, renders):
    for xml_id in units(volume):
        client.get(url(volume, xml_id))
    revise(Document.objects.get(xml_id="d144"), "Kishi</persName>", "Kishi</persName> too")
    pages.sync(volume)
    for xml_id in units(volume):
        if xml_id != "d144":  # its text changed (its own stamp)
            assert served_from_cache(client, url(volume, xml_id), renders), xml_id


def test_an_upload_retires_every_page(client, volume, renders):
    for xml_id in units(volume):
        client.get(url(volume, xml_id))
    # As facsimiles.py stores a scan: the page's own image, then every panel's stamp dropped.
    PageImage.objects.filter(edition=volume, n="279").update(
        source=PageImage.Source.UPLOAD, image="pages/p279.png", display="pages/p279-display.png")
    pages.touch(volume)
    for xml_id in units(volume):
        assert not served_from_cache(client, url(volume, xml_id), renders), xml_id


def test_the_units_showing_a_page_hold_every_unit_whose_panel_has_it(volume):
    shows: dict[int, set[str]] = {}
    for document in Document.objects.with_current().filter(edition=volume):
        for span in pages.spans(document):
            shows.setdefault(span.page.pk, set()).add(document.xml_id)
    every = set(units(volume))
    for page in PageImage.objects.filter(edition=volume, sequence__lt=pages._PARKED):
        showing = set(pages.units_showing(page))
        assert shows.get(page.pk, set()) <= showing, page.label
        assert showing != every, page.label  # targeted: never the whole volume here


def test_a_page_break_in_a_chapter_retires_the_page_of_the_document_beginning_on_it(
        client, volume, renders):
    """A page break put in the chapter's own text, after its head, is the page in effect where
    its first document begins: that document's panel names it, so its page goes too (it is
    not the document's own change); the other units' pages stay."""
    for xml_id in units(volume):
        client.get(url(volume, xml_id))
    revise(Document.objects.get(xml_id="comp1"), "<head>Japan</head>",
           '<head>Japan</head><pb n="275" xml:id="pg_275" facs="0305"/>')
    pages.sync(volume)
    assert b'data-label="[Page 275]"' in client.get(url(volume, "d142")).content
    assert renders[-1] == "d142"
    for xml_id in ("preface", "toc", "sources", "terms", "persons", "d144"):
        assert served_from_cache(client, url(volume, xml_id), renders), xml_id


def _edit(tei: str, action: str, step: int) -> str | None:
    """`tei` with one `pb` added, or its first or last removed or renumbered; None when there
    is none to take."""
    found = list(PB.finditer(tei))
    found = found[-1] if found and action.endswith("last") else found[0] if found else None
    if action == "add":
        at = tei.find("<p>") if "<p>" in tei else tei.find("<p ")
        if at < 0:
            return None
        return f'{tei[:at]}<pb n="N{step}" xml:id="pg_new{step}" facs="new{step}"/>{tei[at:]}'
    if found is None:
        return None
    if action.startswith("remove"):
        return tei[:found.start()] + tei[found.end():]
    return tei[:found.start()] + re.sub(r'\bn="([^"]*)"', rf'n="\1r{step}"', found.group(), 1) \
        + tei[found.end():]


@hsettings(max_examples=12, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["preface", "sources", "persons", "d142", "d144"]),
                          st.sampled_from(["add", "remove", "renumber", "remove-last",
                                           "renumber-last"])),
                min_size=1, max_size=3))
def test_every_cached_page_is_the_page_rendered_now(client, volume, edits):
    """Property: whatever page breaks were added, removed or renumbered where, each followed by
    the sync its approval queues, every unit's page served from the cache is the page as it
    is rendered from the database with every cache emptied, and a page that changed has a new
    ETag. (A chapter's ETag may also move with its children's revisions while its page stays
    the same: tests/edition/test_page_invalidation.py.)"""
    cache.clear()
    shown = {unit: client.get(url(volume, unit)) for unit in units(volume)}
    for xml_id, action in edits:
        document = Document.objects.get(edition=volume, xml_id=xml_id)
        tei = _edit(document.current_revision.tei, action, next(FRESH))
        if tei is None:
            continue
        document.add_revision(tei, by=None, summary="test")
        pages.sync(volume)
        cached = {unit: client.get(url(volume, unit)) for unit in units(volume)}
        cache.clear()  # and the pages rendered now are cached for the next step
        for unit, served in cached.items():
            fresh = client.get(url(volume, unit))
            assert served.content == fresh.content, (unit, xml_id, action)
            if served.content != shown[unit].content:
                assert served["ETag"] != shown[unit]["ETag"], (unit, xml_id, action)
            shown[unit] = served
