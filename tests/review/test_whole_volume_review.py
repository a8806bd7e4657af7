"""Front matter, chapters and appendices are corrected through the same proposals and review
as documents, and what is approved there reaches the reading page, the registers and the
volume export."""

import pytest
from lxml import etree

from edition.exporting import tei as tei_export
from edition.exporting.sources import load_volume
from edition.imports import import_tei
from edition.models import Document, Edition
from edition.tei import TEI_NS
from review.actions.approve import do_approve
from review.actions.propose import do_propose
from tests.helpers import SAMPLES, make_member, text_spec

pytestmark = pytest.mark.django_db


@pytest.fixture
def volume():
    edition = import_tei(SAMPLES / "frus1958-60v18-with-front-matter.xml").edition
    return edition, make_member(edition, "ed", "editor"), make_member(edition, "rev", "reviewer")


@pytest.mark.parametrize("unit, exact, replacement", [
    ("preface", "documentation", "documentary record"),
    ("persons", "Secretary of the Treasury", "Secretary of the Treasury, 1957–1961"),
    ("comp1", "Japan", "Japan and Okinawa"),
])
def test_a_correction_to_any_page_of_the_volume_is_proposed_approved_and_exported(
        volume, client, unit, exact, replacement):
    edition, editor, reviewer = volume
    document = Document.objects.get(xml_id=unit)
    revision = document.current_revision
    proposal = do_propose(document, author=editor, base_revision=revision.number,
                          changes=[text_spec(revision, exact, replacement)],
                          rationale="As printed")
    assert do_approve(proposal, by=reviewer) is not None
    document.refresh_from_db()
    assert replacement in document.current_revision.text
    page = client.get(f"/{edition.slug}/{unit}/").content.decode()
    assert replacement in page
    exported = etree.fromstring(tei_export.volume(load_volume(Edition.objects.get())))
    [div] = exported.xpath(f"//t:div[@xml:id='{unit}']", namespaces={"t": TEI_NS})
    assert replacement in " ".join("".join(div.itertext()).split())
    # The documents are all still there, each once, in order.
    assert exported.xpath("//t:div[@type='document']/@xml:id",
                          namespaces={"t": TEI_NS}) == ["d142", "d144"]


def test_a_page_with_embedded_media_takes_corrections_and_never_shows_the_media(tmp_path,
                                                                                client):
    """Volumes as published embed XHTML players in figures: the TEI keeps them (the schema
    does not allow them, and the gate does not blame a correction for what was there)."""
    source = (SAMPLES / "frus1958-60v18-excerpt.xml").read_text()
    figure = ('<div type="section" subtype="historical-document" xml:id="film1">'
              '<head>A newsreel</head><figure><head>Newsreel, 1959</head>'
              '<xhtml:object xmlns:xhtml="http://www.w3.org/1999/xhtml" data="reel.swf">'
              "<xhtml:script>alert(1)</xhtml:script></xhtml:object></figure>"
              "<p>Shown in Tokyo theatres.</p></div>")
    source = source.replace("</body>", f"</body><back>{figure}</back>")
    path = tmp_path / "v.xml"
    path.write_text(source)
    edition = import_tei(path).edition
    editor, reviewer = make_member(edition, "ed", "editor"), make_member(edition, "rev", "reviewer")
    film = Document.objects.get(xml_id="film1")
    assert film.matter == "back"
    revision = film.current_revision
    proposal = do_propose(film, author=editor, base_revision=revision.number,
                          changes=[text_spec(revision, "Tokyo", "Tokyo and Osaka")],
                          rationale="As printed")
    assert do_approve(proposal, by=reviewer) is not None
    page = client.get(f"/{edition.slug}/film1/").content.decode()
    assert "Tokyo and Osaka" in page and "Newsreel, 1959" in page
    assert "alert(1)" not in page and "reel.swf" not in page and "<object" not in page
    film.refresh_from_db()
    assert "reel.swf" in film.current_revision.tei  # kept verbatim


def test_the_api_says_where_each_page_stands(volume, client):
    persons = client.get("/api/editions/frus1958-60v18/documents/persons/").json()
    assert (persons["matter"], persons["type"], persons["parent"], persons["number"]) == (
        "front", "section", None, None)
    d142 = client.get("/api/editions/frus1958-60v18/documents/d142/").json()
    assert (d142["matter"], d142["type"], d142["parent"], d142["number"]) == (
        "body", "document", "comp1", 142)
