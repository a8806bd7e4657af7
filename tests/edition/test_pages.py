"""edition/pages.py: one PageImage per pb, in volume order, and each unit's pages on its text."""

import re

import pytest
from django.conf import settings

from edition import pages
from edition.imports import import_tei
from edition.models import PageImage

pytestmark = pytest.mark.django_db
SAMPLE = settings.EMEND_SAMPLES_DIR / "frus1958-60v18-with-front-matter.xml"


@pytest.fixture
def edition():
    result = import_tei(SAMPLE)
    edition = result.edition
    edition.facsimile_url = "https://static.history.state.gov/frus/{volume}/medium/{facs}.png"
    edition.save()
    pages.sync(edition)
    return edition


def test_one_row_per_pb_in_volume_order(edition):
    rows = list(pages.pages(edition))
    assert len(rows) == len(re.findall(r"<pb\b", SAMPLE.read_text()))
    assert [r.n for r in rows][:5] == ["A1", "A2", "A3", "A4", "I"]
    assert rows[-1].n == "279"
    assert rows[-1].url == ("https://static.history.state.gov/frus/frus1958-60v18/medium/"
                            "0309.png")
    assert rows[-1].source == PageImage.Source.PATTERN


def test_sync_keeps_rows_and_their_ocr(edition):
    page = PageImage.objects.get(edition=edition, facs="0309")
    page.ocr_words = [["Korea", 1, 2, 3, 4, 95.0, 0]]
    page.save()
    pages.sync(edition)
    again = PageImage.objects.get(edition=edition, facs="0309")
    assert again.pk == page.pk and again.ocr_words == page.ocr_words


def test_spans_of_a_document(edition):
    d142 = edition.documents.get(xml_id="d142")
    found = pages.spans(d142)
    text = d142.current_revision.layer.text
    # The excerpt goes from the front matter to page 276 (d142 begins on the page before).
    assert [s.page.n for s in found] == ["XXVI", "276"]
    assert found[0].start == 0 and found[-1].end == len(text)
    for before, after in zip(found, found[1:]):
        assert before.end == after.start
    d144 = edition.documents.get(xml_id="d144")
    # Page 277's pb stands between the units (in the skeleton); d143 is not in the excerpt.
    assert [(s.page.n, s.start) for s in pages.spans(d144)][0] == ("277", 0)
    assert [s.page.n for s in pages.spans(d144)] == ["277", "279"]
    assert pages.page_at(d144, 500).n == "279"


def test_sync_writes_in_batches_not_a_statement_per_page(edition, django_assert_max_num_queries):
    """A sync runs after every import and every revision that moves a pb: its statements do
    not grow with the volume's pages (33 here), and it never rewrites a page's OCR words."""
    PageImage.objects.filter(edition=edition, facs="0309").update(
        ocr_words=[["Korea", 1, 2, 3, 4, 95.0, 0]])
    with django_assert_max_num_queries(15):
        pages.sync(edition)
    assert PageImage.objects.get(edition=edition, facs="0309").ocr_words[0][0] == "Korea"
