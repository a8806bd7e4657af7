"""The page rows follow the TEI (imports, revisions that move pbs), the reading pages may load
the edition's remote images (CSP), and the admin's page image settings."""

import pytest
from django.test import Client

from edition import pages, tasks
from edition.admin import EditionForm
from edition.imports import import_text
from edition.models import PageImage
from tests.helpers import D143_TEXT

pytestmark = pytest.mark.django_db
PATTERN = "https://static.history.state.gov/frus/{volume}/medium/{facs}.png"


@pytest.fixture
def sent(monkeypatch):
    """The sync_pages messages sent (the worker's)."""
    found = []
    monkeypatch.setattr(tasks.sync_pages, "apply_async",
                        lambda args, **kw: found.append(tuple(args)))
    return found


def test_an_import_has_the_worker_sync_the_pages(db, sent, django_capture_on_commit_callbacks):
    from edition.imports import import_tei
    from tests.helpers import EXCERPT

    with django_capture_on_commit_callbacks(execute=True):
        edition = import_tei(EXCERPT).edition
    assert sent == [(edition.pk,)]
    tasks.sync_pages(edition.pk)
    assert [p.n for p in pages.pages(edition)] == ["276", "277", "279"]
    with django_capture_on_commit_callbacks(execute=True):
        import_text(D143_TEXT, edition=edition)
    assert sent[-1] == (edition.pk,)
    tasks.sync_pages(edition.pk)
    # d143's plain text had "[Page 278]": its pb now stands between 277 and 279.
    assert [p.n for p in pages.pages(edition)] == ["276", "277", "278", "279"]


def test_a_revision_moving_a_pb_syncs_and_one_that_does_not_costs_nothing(
        sample_edition, sent, django_capture_on_commit_callbacks):
    pages.sync(sample_edition)
    d144 = sample_edition.documents.get(xml_id="d144")
    tei = d144.current_revision.tei
    with django_capture_on_commit_callbacks(execute=True):
        d144.add_revision(tei.replace("Korea", "Corea", 1), by=None, summary="text only")
    assert sent == []
    moved = tei.replace('<pb n="279" xml:id="pg_279" facs="0309"/>',
                        '<pb n="279a" xml:id="pg_279" facs="0309"/>')
    assert moved != tei
    with django_capture_on_commit_callbacks(execute=True):
        d144.add_revision(moved, by=None, summary="renumbered")
    assert sent == [(sample_edition.pk,)]
    tasks.sync_pages(sample_edition.pk)
    assert [p.n for p in pages.pages(sample_edition)] == ["276", "277", "279a"]


def test_page_breaks_moved():
    assert not pages.page_breaks_moved('<p>a<pb n="1"/>b</p>', '<p>ab<pb n="1"/>c</p>')
    assert pages.page_breaks_moved('<p>a<pb n="1"/>b</p>', '<p>a<pb n="2"/>b</p>')
    assert pages.page_breaks_moved('<p>ab</p>', '<p>a<tei:pb n="2"/>b</p>')
    assert not pages.page_breaks_moved('<p>a<pbx/>b</p>', '<p>ab</p>')


def _policy(response) -> str:
    return response["Content-Security-Policy"]


def test_reading_pages_may_load_the_editions_remote_images(sample_edition):
    client = Client()
    assert "static.history.state.gov" not in _policy(client.get("/frus1958-60v18/d144/"))
    sample_edition.facsimile_url = PATTERN
    sample_edition.save()
    pages.sync(sample_edition)  # forgets the origins remembered
    policy = _policy(client.get("/frus1958-60v18/d144/"))
    assert "img-src 'self' data: https://static.history.state.gov" in policy
    assert "script-src 'self'" in policy  # the rest of the policy is the site's
    assert "static.history.state.gov" in _policy(client.get("/frus1958-60v18/d144/r/1/"))
    # Pages without page images keep the site's policy.
    assert "static.history.state.gov" not in _policy(client.get("/frus1958-60v18/"))


def test_a_page_elsewhere_allows_the_images_it_shows(sample_edition, rf):
    from django.http import HttpResponse

    from edition.middleware import CSPMiddleware

    sample_edition.facsimile_url = PATTERN
    sample_edition.save()
    request = rf.get("/review/proposals/1/")
    plain = CSPMiddleware(lambda r: HttpResponse()).process_response(request, HttpResponse())
    assert "static.history.state.gov" not in _policy(plain)
    shown = pages.allow_images(HttpResponse(), sample_edition.slug)
    policy = _policy(CSPMiddleware(lambda r: HttpResponse()).process_response(request, shown))
    assert "img-src 'self' data: https://static.history.state.gov" in policy


def test_the_teis_facsimile_hosts_are_allowed_too(sample_edition):
    pages.sync(sample_edition)
    PageImage.objects.filter(edition=sample_edition, facs="0309").update(
        source=PageImage.Source.TEI, url="https://images.example.org:8443/p/0309.png",
        full_url="http://full.example.org/0309.tif")
    assert pages.remote_hosts(sample_edition) == ["https://images.example.org:8443",
                                                  "http://full.example.org"]


def _form(edition, **changes):
    from django.forms.models import model_to_dict

    data = {k: v for k, v in model_to_dict(edition).items() if v is not None}
    data.update(changes)
    data["facsimile_hosts"] = changes.get("facsimile_hosts", "[]")
    return EditionForm(data, instance=edition)


def test_the_admin_refuses_a_pattern_the_pages_cannot_use(sample_edition):
    assert _form(sample_edition, facsimile_url=PATTERN).is_valid() or \
        "facsimile_url" not in _form(sample_edition, facsimile_url=PATTERN).errors
    bad = _form(sample_edition, facsimile_url="https://x.org/{volume}/{page}.png")
    assert "Use only {volume}, {facs} and {n}" in str(bad.errors["facsimile_url"])
    relative = _form(sample_edition, facsimile_full_url="/{facs}.png")
    assert "http:// or https://" in str(relative.errors["facsimile_full_url"])
    hosts = _form(sample_edition, facsimile_hosts='["https://x.org/"]')
    assert "A list of host names" in str(hosts.errors["facsimile_hosts"])
    good = _form(sample_edition, facsimile_hosts='["static.history.state.gov"]')
    assert "facsimile_hosts" not in good.errors
    # A field's attribute: str.format would look it up, and fail, on every page's address.
    attribute = _form(sample_edition, facsimile_url="https://x.org/{n.real}.png")
    assert "Use only {volume}, {facs} and {n}" in str(attribute.errors["facsimile_url"])


def test_the_demo_has_its_page_images_configured(db, settings, tmp_path):
    from django.core.management import call_command

    settings.VAR_DIR = tmp_path
    call_command("setup_demo", stdout=__import__("io").StringIO())
    rows = list(pages.pages(pages.Edition.objects.get(slug="frus1958-60v18")))
    assert rows and all(r.source == PageImage.Source.PATTERN for r in rows if r.facs)
    assert rows[-1].url == ("https://static.history.state.gov/frus/frus1958-60v18/medium/"
                            "0309.png")
    # d143 came from plain text: its [Page 278] is a page too, in volume order (without a
    # facs id, so without an image until a scan is uploaded for it).
    assert [(r.n, r.source) for r in rows][-3:] == [("277", "pattern"), ("278", ""),
                                                     ("279", "pattern")]


@pytest.mark.parametrize("address", [
    "https://a.example;connect-src *;/{facs}.png",  # a directive of its own in the header
    "https://a.example /{facs}.png", "https://exa_mple.org/{facs}.png",
    "https://a.example:99999/{facs}.png"])
def test_an_address_that_could_bend_the_csp_is_refused(sample_edition, address):
    """The image origins go into Content-Security-Policy: a pattern or a TEI graphic whose
    "host" carries a ";" or a space must not add directives to every reading page."""
    assert "facsimile_url" in _form(sample_edition, facsimile_url=address).errors
    pages.sync(sample_edition)
    PageImage.objects.filter(edition=sample_edition, facs="0309").update(
        source=PageImage.Source.TEI, url=address.replace("{facs}", "0309"))
    pages.forget_origins()
    assert pages.remote_hosts(sample_edition) == []
    policy = Client().get("/frus1958-60v18/d144/")["Content-Security-Policy"]
    assert "connect-src *" not in policy and "a.example" not in policy


def test_a_parked_page_is_never_where_a_unit_begins(sample_edition):
    """A page whose pb left the volume keeps its upload, parked after every other page: the
    page in effect where a unit begins is still the last page before it in the volume."""
    pages.sync(sample_edition)
    d144 = sample_edition.documents.get(xml_id="d144")
    before = [s.page.n for s in pages.spans(d144)]
    PageImage.objects.create(edition=sample_edition, sequence=pages._PARKED + 999, n="OLD",
                             facs="9999", unit_order=-1, image="pages/x/old.png")
    assert [s.page.n for s in pages.spans(d144)] == before
    for unit in sample_edition.documents.all():  # comp1 holds no pb of its own
        assert "OLD" not in [s.page.n for s in pages.spans(unit)], unit.xml_id


def test_sync_keeps_the_size_measured_of_the_same_image(sample_edition):
    """A TEI graphic without a size: the OCR measures the image; the next sync keeps that,
    and forgets it only when the graphic names another image."""
    skeleton = sample_edition.tei_skeleton.replace(
        "</teiHeader>", '</teiHeader><facsimile><surface start="#pg_279">'
        '<graphic url="https://images.example.org/0309.png"/></surface></facsimile>', 1)
    type(sample_edition).objects.filter(pk=sample_edition.pk).update(tei_skeleton=skeleton)
    pages.sync(sample_edition)
    page = PageImage.objects.get(edition=sample_edition, n="279")
    assert (page.source, page.width) == (PageImage.Source.TEI, None)
    PageImage.objects.filter(pk=page.pk).update(width=533, height=800)
    pages.sync(sample_edition)
    page.refresh_from_db()
    assert (page.width, page.height) == (533, 800)
    type(sample_edition).objects.filter(pk=sample_edition.pk).update(
        tei_skeleton=skeleton.replace("0309.png", "0309-new.png"))
    pages.sync(sample_edition)
    page.refresh_from_db()
    assert (page.url, page.width, page.height) == (
        "https://images.example.org/0309-new.png", None, None)


@pytest.mark.django_db(transaction=True)
def test_an_approval_does_not_wait_for_a_sync_in_progress(sample_edition, monkeypatch):
    """While a sync holds the edition's row (in the worker, niced), an approval's rows that
    reference the edition (its export request: a foreign key check) go in at once."""
    import threading

    from django.db import connection, transaction

    from edition.exporting.builds import request_export

    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's (SQLite locks the whole database)")
    holding, release = threading.Event(), threading.Event()
    touch = pages.touch

    def held(edition, units=None):  # inside the sync's transaction, its locks taken
        holding.set()
        release.wait(10)
        touch(edition, units)
    monkeypatch.setattr(pages, "touch", held)

    def sync():
        try:
            pages.sync(sample_edition)
        finally:
            connection.close()
    worker = threading.Thread(target=sync)
    worker.start()
    try:
        assert holding.wait(10)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            request_export(sample_edition, "an approval")  # raises if it had to wait
    finally:
        release.set()
        worker.join(10)
