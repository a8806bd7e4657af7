"""IIIF Presentation 3 manifests (edition/iiif/): the volume's and a unit's, their canvases,
headers, caching, and the links to them."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from iiif_prezi3 import Manifest

from edition import pages
from edition.iiif import manifests
from edition.models import RESERVED_UNIT_IDS, PageImage
from tests.helpers import revise
from tests.page_images import synced_edition, upload

pytestmark = pytest.mark.django_db
CONTEXT = "http://iiif.io/api/presentation/3/context.json"


@pytest.fixture
def edition(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return synced_edition()


def get_json(client, url, **headers):
    response = client.get(url, **headers)
    assert response.status_code == 200, response.content[:300]
    return response, json.loads(response.content)


def _language_map(value) -> bool:
    return isinstance(value, dict) and value and all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(s, str) for s in v)
        for k, v in value.items())


def check_presentation_3(manifest: dict, client) -> None:
    """The Presentation 3.0 rules a manifest can be checked against offline: its structure,
    types, language maps, HTTP(S) ids without fragments for canvases, unique ids, painting
    annotations targeting their canvas, `start` naming one of its canvases, and every
    id of ours answering with itself."""
    assert manifest["@context"] == CONTEXT
    assert manifest["type"] == "Manifest" and _language_map(manifest["label"])
    Manifest(**{k: v for k, v in manifest.items() if k != "@context"})  # iiif-prezi3's schema
    assert manifest["items"], "a manifest must have at least one canvas"
    ids = [manifest["id"]]
    for item in manifest.get("metadata", []):
        assert _language_map(item["label"]) and _language_map(item["value"])
    for link in manifest.get("homepage", []) + manifest.get("rendering", []):
        assert link["type"] == "Text" and _language_map(link["label"]) and link["format"]
    for canvas in manifest["items"]:
        assert canvas["type"] == "Canvas" and _language_map(canvas["label"])
        assert urlsplit(canvas["id"]).scheme in ("http", "https")
        assert "#" not in canvas["id"]
        assert isinstance(canvas["width"], int) and canvas["width"] > 0
        assert isinstance(canvas["height"], int) and canvas["height"] > 0
        [page] = canvas["items"]
        assert page["type"] == "AnnotationPage"
        [annotation] = page["items"]
        assert annotation["type"] == "Annotation" and annotation["motivation"] == "painting"
        assert annotation["target"] == canvas["id"]
        body = annotation["body"]
        assert body["type"] == "Image" and urlsplit(body["id"]).scheme in ("http", "https")
        ids += [canvas["id"], page["id"], annotation["id"]]
    canvases = {c["id"] for c in manifest["items"]}
    for found in manifest.get("structures", []):
        assert found["type"] == "Range" and _language_map(found["label"]) and found["items"]
        assert all(ref["type"] == "Canvas" and ref["id"] in canvases and set(ref) == {"id", "type"}
                   for ref in found["items"])
        ids.append(found["id"])
    assert len(ids) == len(set(ids))
    if "start" in manifest:
        assert manifest["start"]["type"] == "Canvas"
        assert manifest["start"]["id"] in [c["id"] for c in manifest["items"]]
    # Our own ids are addresses that answer with what they name.
    for url in ids:
        _, found = get_json(client, urlsplit(url).path)
        assert found["id"] == url


def test_edition_manifest_has_a_canvas_per_page_in_order(client, edition):
    response, manifest = get_json(client, "/frus1958-60v18/iiif/manifest.json")
    assert response["Content-Type"] == f'application/ld+json;profile="{CONTEXT}"'
    assert response["Access-Control-Allow-Origin"] == "*"
    rows = list(pages.pages(edition))
    assert [c["label"] for c in manifest["items"]] == [{"none": [p.label]} for p in rows]
    assert [c["label"]["none"][0] for c in manifest["items"]][-2:] == ["[Page 277]",
                                                                       "[Page 279]"]
    assert manifest["id"] == "http://testserver/frus1958-60v18/iiif/manifest.json"
    assert manifest["label"] == {"en": [edition.title]}
    assert manifest["homepage"][0]["id"] == "http://testserver/frus1958-60v18/"
    body = manifest["items"][-1]["items"][0]["items"][0]["body"]
    assert body["id"] == ("https://static.history.state.gov/frus/frus1958-60v18/medium/"
                          "0309.png")
    assert body["format"] == "image/png"
    check_presentation_3(manifest, client)


def test_unknown_sizes_are_assumed_and_said(client, edition):
    _, manifest = get_json(client, "/frus1958-60v18/iiif/manifest.json")
    canvas = manifest["items"][-1]
    assert (canvas["width"], canvas["height"]) == manifests.DEFAULT_SIZE
    assert "width" not in canvas["items"][0]["items"][0]["body"]
    assert "not recorded" in canvas["metadata"][0]["value"]["en"][0]
    # A page of known size sets the size the others are assumed to have.
    page = PageImage.objects.get(edition=edition, facs="0307")
    page.width, page.height = 600, 900
    page.save()
    _, manifest = get_json(client, "/frus1958-60v18/iiif/manifest.json")
    known, assumed = manifest["items"][-2], manifest["items"][-1]
    assert (known["width"], known["height"]) == (600, 900) and "metadata" not in known
    assert known["items"][0]["items"][0]["body"]["width"] == 600
    assert (assumed["width"], assumed["height"]) == (600, 900)


def test_uploaded_page_has_display_thumbnail_and_full_size(client, edition):
    upload(PageImage.objects.get(edition=edition, facs="0309"), size=(800, 1200))
    _, manifest = get_json(client, "/frus1958-60v18/iiif/manifest.json")
    canvas = manifest["items"][-1]
    assert (canvas["width"], canvas["height"]) == (800, 1200)
    body = canvas["items"][0]["items"][0]["body"]
    assert body["id"].startswith("http://testserver/") and body["width"] == 800
    assert canvas["thumbnail"][0]["id"].startswith("http://testserver/")
    assert canvas["rendering"][0]["type"] == "Image"
    assert canvas["rendering"][0]["id"] != body["id"]
    check_presentation_3(manifest, client)


def test_document_manifest_starts_on_its_first_page(client, edition):
    _, manifest = get_json(client, "/frus1958-60v18/d144/iiif/manifest.json")
    assert [c["label"]["none"][0] for c in manifest["items"]] == ["[Page 277]", "[Page 279]"]
    assert manifest["start"] == {"id": manifest["items"][0]["id"], "type": "Canvas"}
    assert manifest["homepage"][0]["id"] == "http://testserver/frus1958-60v18/d144/"
    assert manifest["partOf"][0]["id"] == "http://testserver/frus1958-60v18/iiif/manifest.json"
    tei = [r for r in manifest["rendering"] if r["format"] == "application/tei+xml"]
    assert tei[0]["id"] == "http://testserver/frus1958-60v18/d144.xml"
    # The same page is the same canvas in both manifests.
    _, volume = get_json(client, "/frus1958-60v18/iiif/manifest.json")
    assert manifest["items"][-1] == volume["items"][-1]
    check_presentation_3(manifest, client)


def test_rendering_names_the_current_exports(client, edition):
    from edition.exporting import builds

    builds.request_export(edition, "test")
    builds.run(edition.pk, "text")
    _, manifest = get_json(client, "/frus1958-60v18/iiif/manifest.json")
    urls = {r["format"]: r["id"] for r in manifest["rendering"]}
    assert urls["application/tei+xml"] == \
        "http://testserver/frus1958-60v18/exports/frus1958-60v18.xml"
    assert client.get(urlsplit(urls["application/epub+zip"]).path).status_code == 200
    _, document = get_json(client, "/frus1958-60v18/d142/iiif/manifest.json")
    assert "http://testserver/frus1958-60v18/exports/d142.html" in \
        [r["id"] for r in document["rendering"]]


def test_etag_follows_the_pages(client, edition):
    url = "/frus1958-60v18/iiif/manifest.json"
    etag = client.get(url)["ETag"]
    again = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again["Access-Control-Allow-Origin"] == "*"
    page = PageImage.objects.get(edition=edition, facs="0309")
    page.url = "https://example.org/0309.png"
    page.save()
    response = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200 and response["ETag"] != etag
    assert b"https://example.org/0309.png" in response.content


def test_no_page_images_no_manifest(client, edition):
    PageImage.objects.filter(edition=edition).update(url="", source="")
    assert client.get("/frus1958-60v18/iiif/manifest.json").status_code == 404
    assert client.get("/frus1958-60v18/d144/iiif/manifest.json").status_code == 404
    assert client.get("/nonesuch/iiif/manifest.json").status_code == 404
    assert client.get("/frus1958-60v18/d999/iiif/manifest.json").status_code == 404
    assert client.get("/frus1958-60v18/iiif/canvas/pg_279").status_code == 404
    page = client.get("/frus1958-60v18/d144/").content.decode()
    assert "IIIF manifest" not in page
    assert "IIIF manifest" not in client.get("/frus1958-60v18/exports/").content.decode()


def test_reading_view_and_exports_page_link_the_manifests(client, edition):
    page = client.get("/frus1958-60v18/d144/").content.decode()
    assert 'href="/frus1958-60v18/d144/iiif/manifest.json"' in page
    assert 'href="/frus1958-60v18/iiif/manifest.json"' in page
    exports = client.get("/frus1958-60v18/exports/").content.decode()
    assert 'href="/frus1958-60v18/iiif/manifest.json"' in exports


def test_contents_lead_to_each_units_pages(client, edition):
    """A Range per unit with page images, in volume order, its pages those the unit's text
    stands on (the same as its own manifest's on the sample)."""
    _, manifest = get_json(client, "/frus1958-60v18/iiif/manifest.json")
    labels = {c["id"]: c["label"]["none"][0] for c in manifest["items"]}
    ranges = {r["label"]["none"][0]: [labels[ref["id"]] for ref in r["items"]]
              for r in manifest["structures"]}
    units = [str(d) for d in edition.documents.order_by("order")]
    assert list(ranges) == [u for u in units if u in ranges]
    for xml_id in ("d142", "d144"):
        document = edition.documents.get(xml_id=xml_id)
        assert ranges[str(document)] == [s.page.label for s in pages.spans(document)]
    _, found = get_json(client, "/frus1958-60v18/d144/iiif/range")
    assert found["id"] == "http://testserver/frus1958-60v18/d144/iiif/range"
    assert found["partOf"] == [{"id": manifest["id"], "type": "Manifest"}]
    # A unit's title follows its revision, which does not touch the edition.
    d144 = edition.documents.get(xml_id="d144")
    revise(d144, "Memorandum of Conversation", "Memorandum of a Conversation")
    d144.title = "Memorandum of a Conversation"
    d144.save()
    _, again = get_json(client, "/frus1958-60v18/iiif/manifest.json")
    assert "144. Memorandum of a Conversation" in [r["label"]["none"][0]
                                                   for r in again["structures"]]


def test_document_manifest_links_the_pages_api(client, edition):
    _, manifest = get_json(client, "/frus1958-60v18/d144/iiif/manifest.json")
    [see_also] = manifest["seeAlso"]
    assert see_also["id"] == "http://testserver/api/editions/frus1958-60v18/documents/d144/pages/"
    assert client.get(urlsplit(see_also["id"]).path).status_code == 200


def test_canvas_addresses(client, edition):
    page = PageImage.objects.get(edition=edition, facs="0309")
    assert manifests.canvas_name(page) == "pg_279"
    _, canvas = get_json(client, "/frus1958-60v18/iiif/canvas/pg_279")
    assert canvas["@context"] == CONTEXT and canvas["type"] == "Canvas"
    _, annotation = get_json(client, "/frus1958-60v18/iiif/canvas/pg_279/image")
    assert annotation["type"] == "Annotation"
    assert annotation["partOf"] == [{"id": canvas["id"], "type": "Canvas"}]
    page.pb_id = ""
    page.save()
    assert manifests.canvas_name(page) == "facs-0309"
    assert client.get("/frus1958-60v18/iiif/canvas/facs-0309").status_code == 200
    assert client.get("/frus1958-60v18/iiif/canvas/seq-99999").status_code == 404


def test_iiif_is_reserved():
    assert "iiif" in RESERVED_UNIT_IDS


def test_link_uses_the_views_list_of_pages_when_it_has_one(edition, django_assert_num_queries):
    from edition.templatetags.edition_iiif import iiif_manifest_url

    d144 = edition.documents.select_related("edition").get(xml_id="d144")
    with django_assert_num_queries(0):
        assert iiif_manifest_url(d144, []) == ""
        assert iiif_manifest_url(d144, ["a page"]) == "/frus1958-60v18/d144/iiif/manifest.json"
    assert iiif_manifest_url(d144, "") == "/frus1958-60v18/d144/iiif/manifest.json"


PB_279 = '<pb n="279" xml:id="pg_279" facs="0309"/>'


def _begin_on_279(d144):
    """d144 with its page break moved to the very start of its text (offset 0)."""
    d144.refresh_from_db()
    tei = d144.current_revision.tei.replace(PB_279, "", 1)
    head = tei.index("<head")
    return d144.add_revision(tei[:head] + PB_279 + tei[head:], by=None, summary="test")


def _range_labels(client, xml_id):
    _, manifest = get_json(client, "/frus1958-60v18/iiif/manifest.json")
    labels = {c["id"]: c["label"]["none"][0] for c in manifest["items"]}
    _, found = get_json(client, f"/frus1958-60v18/{xml_id}/iiif/range")
    return [labels[ref["id"]] for ref in found["items"]]


def test_range_of_a_unit_beginning_with_its_page_break(client, edition, settings,
                                                       django_capture_on_commit_callbacks):
    """A unit whose first pb is at offset 0 of its text begins on that page: its Range holds
    exactly the canvases of its own pages, as its manifest and the reading view say, not the
    page before it too."""
    d144 = edition.documents.get(xml_id="d144")
    assert _range_labels(client, "d144") == [s.page.label for s in pages.spans(d144)]
    assert len(pages.spans(d144)) == 2  # the skeleton's page 277, then 279
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the worker's tasks run on commit, here
    # The approval that puts the pb at the start has the pages synced (in the worker).
    with django_capture_on_commit_callbacks(execute=True):
        _begin_on_279(d144)
    d144.refresh_from_db()
    spans = pages.spans(d144)
    assert [s.page.n for s in spans] == ["279"] and spans[0].start == 0
    assert _range_labels(client, "d144") == [spans[0].page.label]
    _, own = get_json(client, "/frus1958-60v18/d144/iiif/manifest.json")
    assert [c["label"]["none"][0] for c in own["items"]] == [spans[0].page.label]
    # And back: text before the pb again puts the page before it into the range.
    with django_capture_on_commit_callbacks(execute=True):
        revise(d144, PB_279 + "<head", "<head")
    d144.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        revise(d144, "</list>", "</list>" + PB_279)
    d144.refresh_from_db()
    assert _range_labels(client, "d144") == [s.page.label for s in pages.spans(d144)]
    assert len(pages.spans(d144)) == 2


def test_migration_marks_existing_units_beginning_on_their_page(edition):
    """Rows synced before `at_start` existed get it from the migration's pass."""
    import importlib

    from django.apps import apps

    d144 = edition.documents.get(xml_id="d144")
    _begin_on_279(d144)
    pages.sync(edition)
    assert list(PageImage.objects.filter(at_start=True).values_list("n", flat=True)) == ["279"]
    PageImage.objects.update(at_start=False)
    importlib.import_module("edition.migrations.0016_page_image_at_start").mark_starts(apps, None)
    assert list(PageImage.objects.filter(at_start=True).values_list("n", flat=True)) == ["279"]
