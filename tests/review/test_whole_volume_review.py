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
