"""The volume TEI export carries a <facsimile> for uploaded scans (edition/exporting/tei.py):
the skeleton's own kept as it is, a surface per uploaded page pointing at its pb and at the
served images, valid TEI, and rebuilt when the uploads change."""

from __future__ import annotations

import pytest
from lxml import etree

from edition import pages
from edition.exporting import builds, tei
from edition.exporting.sources import load_volume
from edition.imports import import_tei
from edition.models import ExportFile, PageImage
from tests.helpers import volume_tei
from tests.page_images import synced_edition, upload

pytestmark = pytest.mark.django_db
T = "{http://www.tei-c.org/ns/1.0}"
XML_ID = "{http://www.w3.org/XML/1998/namespace}id"


@pytest.fixture
def edition(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.EMEND_SITE_URL = "https://emend.example"
    return synced_edition()


def volume_root(edition) -> etree._Element:
    return etree.fromstring(tei.volume(load_volume(edition)))


def without_frus(root: etree._Element) -> etree._ElementTree:
    for el in root.iter():
        for name in [n for n in el.attrib if n.startswith("{http://history.state.gov/frus")]:
            del el.attrib[name]
    return etree.ElementTree(root)


def shape(element: etree._Element) -> list:
    return [(el.tag, dict(el.attrib), el.text) for el in element.iter()]


def test_no_uploads_no_facsimile(edition):
    assert volume_root(edition).find(f"{T}facsimile") is None
    assert tei.uploaded_facsimile(edition) is None


def test_a_surface_per_uploaded_page_valid_tei(edition, tei_all):
    upload(PageImage.objects.get(edition=edition, facs="0309"), size=(1000, 1500))
    upload(PageImage.objects.get(edition=edition, facs="0307"), size=(800, 1200))
    root = volume_root(edition)
    children = [etree.QName(c).localname for c in root if isinstance(c.tag, str)]
    assert children == ["teiHeader", "facsimile", "text"]
    surfaces = root.findall(f"{T}facsimile/{T}surface")
    assert [(s.get("start"), s.get("n")) for s in surfaces] == [("#pg_277", "277"),
                                                               ("#pg_279", "279")]
    display, full = surfaces[1].findall(f"{T}graphic")
    assert display.get("url").startswith("https://emend.example/")
    assert display.get("url").endswith("0309-display.png")
    assert (display.get("width"), display.get("height"), display.get("mimeType")) == \
        ("1000px", "1500px", "image/png")
    assert full.get("url").endswith("/0309.png") and full.get("width") is None
    # Each surface's start names a pb of the volume.
    pb_ids = {pb.get(XML_ID) for pb in root.iter(f"{T}pb")}
    assert {s.get("start")[1:] for s in surfaces} <= pb_ids
    assert tei_all.validate(without_frus(root)), tei_all.error_log.last_error


def test_read_back_the_surfaces_name_the_uploads(edition):
    """pages.surfaces reads the exported facsimile as the import would: the same images."""
    upload(PageImage.objects.get(edition=edition, facs="0309"), size=(1000, 1500))
    root = volume_root(edition)
    edition.tei_skeleton = etree.tostring(root, encoding="unicode")
    found = pages.surfaces(edition)[("id", "pg_279")]
    assert (found.width, found.height) == (1000, 1500)
    assert found.url.endswith("0309-display.png") and found.full_url.endswith("/0309.png")


def test_the_skeletons_own_facsimile_is_kept_as_it_is(settings, tmp_path, tei_all):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    own = ('<facsimile><surface start="#pg_1"><graphic url="https://img.example/1.png" '
           'mimeType="image/png" width="533px" height="800px"/></surface></facsimile>')
    body = ('<div type="document" xml:id="d1" n="1"><head>1. One</head>'
            '<p>First <pb n="1" xml:id="pg_1" facs="0001"/>page and '
            '<pb n="2" xml:id="pg_2" facs="0002"/>second.</p></div>')
    source = volume_tei(body).replace("<text>", own + "<text>", 1)
    path = tmp_path / "vol.xml"
    path.write_text(source)
    edition = import_tei(path).edition
    pages.sync(edition)
    upload(PageImage.objects.get(edition=edition, pb_id="pg_2"), size=(600, 900))
    root = volume_root(edition)
    first, second = root.findall(f"{T}facsimile")
    expected = etree.fromstring(own.replace(
        "<facsimile>", '<facsimile xmlns="http://www.tei-c.org/ns/1.0">'))
    assert shape(first) == shape(expected)
    assert [s.get("start") for s in second.findall(f"{T}surface")] == ["#pg_2"]
    assert tei_all.validate(without_frus(root)), tei_all.error_log.last_error


def test_a_build_after_an_upload_writes_the_volume_again(edition):
    builds.request_export(edition, "import")
    builds.run(edition.pk, "text")

    def volume_file():
        row = ExportFile.objects.get(build__edition=edition, build__current=True,
                                     format="tei", document=None)
        with builds.storage().open(row.name, "rb") as handle:
            return row.name, handle.read()

    name, before = volume_file()
    assert b"<facsimile" not in before
    upload(PageImage.objects.get(edition=edition, facs="0309"))
    builds.request_export(edition, "page images uploaded")
    builds.run(edition.pk, "text")
    new_name, after = volume_file()
    assert new_name != name
    assert b'<surface start="#pg_279" n="279">' in after


def test_a_pb_without_an_id_gets_a_surface_named_by_its_number(settings, tmp_path, tei_all):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    body = ('<div type="document" xml:id="d1" n="1"><head>1. One</head>'
            '<p>First <pb n="7" facs="0007"/>page.</p></div>')
    path = tmp_path / "vol.xml"
    path.write_text(volume_tei(body))
    edition = import_tei(path).edition
    pages.sync(edition)
    upload(PageImage.objects.get(edition=edition, facs="0007"), size=(600, 900))
    root = volume_root(edition)
    [surface] = root.findall(f"{T}facsimile/{T}surface")
    assert surface.get("start") is None and surface.get("n") == "7"
    assert tei_all.validate(without_frus(root)), tei_all.error_log.last_error
