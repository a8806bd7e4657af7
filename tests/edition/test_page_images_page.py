"""The Page images page, its uploads panel, and uploaded images served from storage."""

import re
from pathlib import Path

import pytest
from django.test import Client
from PIL import Image

from edition import facsimiles, pages
from edition.models import FacsimileUpload, PageImage
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db
PATTERN = "https://static.history.state.gov/frus/{volume}/medium/{facs}.png"


@pytest.fixture
def edition(sample_edition, people):
    sample_edition.facsimile_url = PATTERN
    sample_edition.save()
    pages.sync(sample_edition)
    return sample_edition




def uploaded(edition, tmp_path, facs="0307") -> PageImage:
    path = tmp_path / f"{facs}.png"
    Image.new("L", (850, 1100), "white").save(path)
    upload = facsimiles.store(facsimiles.plan(edition, [path]))
    facsimiles.make(upload.pk, 0, upload.total)
    return PageImage.objects.select_related("edition").get(edition=edition, facs=facs)


def test_image_urls_of_a_remote_and_an_uploaded_page(edition, tmp_path):
    remote = pages.pages(edition).get(facs="0309")
    assert pages.image_urls(remote) == {
        "display": "https://static.history.state.gov/frus/frus1958-60v18/medium/0309.png",
        "full": "https://static.history.state.gov/frus/frus1958-60v18/medium/0309.png",
        "thumbnail": "https://static.history.state.gov/frus/frus1958-60v18/medium/0309.png"}
    page = uploaded(edition, tmp_path)
    urls = pages.image_urls(page)
    base = f"/frus1958-60v18/pages/{page.pk}"
    folder = Path(page.image.name).parent.name
    assert urls == {"display": f"{base}/display/{folder}/{Path(page.display.name).name}",
                    "full": f"{base}/full/{folder}/0307.png",
                    "thumbnail": f"{base}/thumbnail/{folder}/{Path(page.thumbnail.name).name}"}
    no_image = PageImage(edition=edition, n="1")
    assert pages.image_urls(no_image) == {"display": "", "full": "", "thumbnail": ""}


def test_uploaded_images_are_served_to_anyone_with_an_etag(edition, tmp_path):
    page = uploaded(edition, tmp_path)
    address = pages.image_urls(page)["display"]
    response = Client().get(address)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert "immutable" in response["Cache-Control"] and "public" in response["Cache-Control"]
    body = b"".join(response.streaming_content)
    with Image.open(__import__("io").BytesIO(body)) as image:
        assert image.size == (page.width, page.height)
    again = Client().get(address, HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
    # Another page's file, an unknown variant, another edition: not found.
    assert Client().get(address.replace("display/", "display/x")).status_code == 404
    assert Client().get(address.replace("-display.png", "-thumb.png")).status_code == 404
    assert Client().get(address.replace("/display/", "/original/")).status_code == 404
    assert Client().get(address.replace("frus1958-60v18", "other")).status_code == 404


def test_a_replaced_scans_address_is_gone(edition, tmp_path):
    first = pages.image_urls(uploaded(edition, tmp_path))["display"]
    again = tmp_path / "again"
    again.mkdir()
    second = pages.image_urls(uploaded(edition, again))["display"]
    assert first != second
    assert Client().get(first).status_code == 404
    assert Client().get(second).status_code == 200


def test_members_see_every_page_in_order(edition, people, tmp_path):
    uploaded(edition, tmp_path)
    response = signed_in(people.editor).get("/frus1958-60v18/pages/")
    assert response.status_code == 200
    html = response.content.decode()
    labels = [p.label for p in pages.pages(edition)]
    positions = [html.index(f">{label}") for label in labels]
    assert positions == sorted(positions)
    assert "Uploaded scan" in html and "The edition&#x27;s image address" in html
    assert 'href="/frus1958-60v18/d144/"' in html
    assert "0307.png</span>" in html and "done: 1 page stored" in html
    assert "hx-trigger" not in html  # nothing running: no polling


def test_strangers_get_404_and_readers_sign_in(edition, people):
    assert signed_in(people.stranger).get("/frus1958-60v18/pages/").status_code == 404
    assert signed_in(people.stranger).get("/frus1958-60v18/pages/uploads/").status_code == 404
    assert Client().get("/frus1958-60v18/pages/").status_code == 302


def test_the_uploads_panel_polls_while_an_upload_runs(edition, people, tmp_path):
    path = tmp_path / "0307.png"
    Image.new("L", (100, 100), "white").save(path)
    upload = facsimiles.store(facsimiles.plan(edition, [path]))
    client = signed_in(people.reviewer)
    response = client.get("/frus1958-60v18/pages/uploads/", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert 'hx-trigger="every 2s"' in html and "0 of 1 page ready" in html
    assert response["Cache-Control"].startswith("no-store") or "no-store" in response[
        "Cache-Control"]
    facsimiles.make(upload.pk, 0, 1)
    html = client.get("/frus1958-60v18/pages/uploads/").content.decode()
    assert "hx-trigger" not in html and "done: 1 page stored" in html
    assert FacsimileUpload.objects.get().status == "done"


def test_the_list_is_paged(edition, people, monkeypatch):
    from edition import page_views

    monkeypatch.setattr(page_views, "PAGE_SIZE", 2)
    client = signed_in(people.editor)
    first = client.get("/frus1958-60v18/pages/").content.decode()
    assert 'rel="next" href="?page=2"' in first and "[Page 279]" not in first
    last = client.get("/frus1958-60v18/pages/?page=2").content.decode()
    assert "[Page 279]" in last
    assert client.get("/frus1958-60v18/pages/?page=%00").status_code == 200


def test_the_poll_sends_only_the_rows_that_changed(edition, people, tmp_path, monkeypatch):
    """Each poll of the uploads panel carries, out of band, the rows of the table's page that
    were made (or read) since the previous poll: never the whole list."""
    from edition import page_views

    for facs in ("0306", "0307"):
        Image.new("L", (100, 100), "white").save(tmp_path / f"{facs}.png")
    upload = facsimiles.store(facsimiles.plan(
        edition, [tmp_path / "0306.png", tmp_path / "0307.png"]))
    client = signed_in(people.reviewer)
    html = client.get("/frus1958-60v18/pages/").content.decode()
    poll = html.split('hx-get="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert poll.startswith("/frus1958-60v18/pages/uploads/?page=1&since=")
    monkeypatch.setattr(page_views, "CLOCK_SLACK", page_views.timedelta(0))
    nothing = client.get(poll).content.decode()
    assert "hx-swap-oob" not in nothing and "0 of 2 pages ready" in nothing
    facsimiles.make(upload.pk, 0, 1)
    made = PageImage.objects.get(facs="0306")
    answer = client.get(poll).content.decode()
    assert answer.count('hx-swap-oob="true"') == 1
    assert re.search(rf'<template>\s*<tr id="page-{made.pk}" hx-swap-oob="true">', answer)
    assert "Uploaded scan" in answer and "1 of 2 pages ready" in answer
    # The next poll asks from its own answer's time: the row is not sent again.
    following = answer.split('hx-get="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert "hx-swap-oob" not in client.get(following).content.decode()
    # A row on another page of the table is not sent; a bad `since` sends none.
    monkeypatch.setattr(page_views, "PAGE_SIZE", 1)
    assert "hx-swap-oob" not in client.get(poll.replace("page=1", "page=3")).content.decode()
    assert "hx-swap-oob" not in client.get(
        "/frus1958-60v18/pages/uploads/?since=yesterday%00").content.decode()
