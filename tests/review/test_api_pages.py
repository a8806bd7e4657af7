"""GET /api/editions/<ed>/documents/<doc>/pages/ (review/api_pages.py): a document's page
images, public, with where each falls in its text."""

from __future__ import annotations

import pytest

from edition.models import PageImage
from tests.helpers import revise
from tests.page_images import synced_edition, upload

pytestmark = pytest.mark.django_db
URL = "/api/editions/frus1958-60v18/documents/{doc}/pages/"


@pytest.fixture
def edition(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return synced_edition()


def test_pages_of_a_document_for_anyone(client, edition):
    response = client.get(URL.format(doc="d144"))
    assert response.status_code == 200
    data = response.json()
    assert data["document"] == "d144" and data["revision"] == data["current_revision"] == 1
    assert data["manifest"] == "http://testserver/frus1958-60v18/d144/iiif/manifest.json"
    first, second = data["results"]
    assert (first["n"], first["facs"], first["id"], first["label"]) == \
        ("277", "0307", "pg_277", "[Page 277]")
    assert first["images"]["display"] == \
        "https://static.history.state.gov/frus/frus1958-60v18/medium/0307.png"
    assert first["source"] == "pattern" and first["ocr_status"] == "none"
    assert first["width"] is None and first["canvas"].endswith("/iiif/canvas/pg_277")
    # The pages share the text layer between them, in order, from its start to its end.
    text = edition.documents.get(xml_id="d144").current_revision.text
    assert first["start"] == 0 and first["end"] == second["start"]
    assert second["end"] == len(text) and second["n"] == "279"


def test_uploaded_scan_has_absolute_urls_size_and_status(client, edition):
    page = upload(PageImage.objects.get(edition=edition, facs="0309"), size=(900, 1350))
    page.ocr_status = PageImage.OCRStatus.DONE
    page.save()
    found = client.get(URL.format(doc="d144")).json()["results"][1]
    assert found["source"] == "upload" and found["ocr_status"] == "done"
    assert (found["width"], found["height"], found["mime_type"]) == (900, 1350, "image/png")
    images = found["images"]
    assert all(url.startswith("http://testserver/") for url in images.values())
    assert len(set(images.values())) == 3  # display, full size and thumbnail differ


def test_earlier_revision_places_pages_on_its_text(client, edition):
    d144 = edition.documents.get(xml_id="d144")
    end_before = client.get(URL.format(doc="d144")).json()["results"][0]["end"]
    revise(d144, "Memorandum of Conversation", "Memorandum of Conversation inserted")
    now = client.get(URL.format(doc="d144")).json()
    then = client.get(URL.format(doc="d144") + "?revision=1").json()
    assert now["revision"] == 2 and then["revision"] == 1
    assert now["results"][0]["end"] == end_before + len(" inserted")
    assert then["results"][0]["end"] == end_before


def test_without_images_pages_are_listed_without_urls(client, edition):
    PageImage.objects.filter(edition=edition).update(url="", source="")
    data = client.get(URL.format(doc="d144")).json()
    assert data["manifest"] is None
    assert data["results"][0]["images"] == {"display": None, "full": None, "thumbnail": None}
    assert data["results"][0]["canvas"] is None


@pytest.mark.parametrize("query, status", [("?revision=x", 400), ("?revision=9", 404),
                                           ("?revision=%00", 400)])
def test_bad_revision(client, edition, query, status):
    response = client.get(URL.format(doc="d144") + query)
    assert response.status_code == status and "error" in response.json()


def test_unknown_document_is_404(client, edition):
    assert client.get(URL.format(doc="d999")).status_code == 404
    assert client.get("/api/editions/nonesuch/documents/d144/pages/").status_code == 404


def test_schema_describes_the_pages(client, edition):
    schema = client.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/editions/{edition}/documents/{doc}/pages/"]["get"]
    assert operation["summary"] == "A document's page images"
