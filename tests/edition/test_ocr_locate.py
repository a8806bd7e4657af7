"""edition/ocr/locate.py and align.py on OCR words made from the text itself (no Tesseract):
which boxes a stretch of the text has on its page, and what the alignment forgives."""

import pytest
from django.conf import settings

from edition import pages
from edition.imports import import_tei
from edition.ocr import align, locate

pytestmark = pytest.mark.django_db
SAMPLE = settings.EMEND_SAMPLES_DIR / "frus1958-60v18-with-front-matter.xml"


@pytest.fixture
def d144():
    edition = import_tei(SAMPLE).edition
    pages.sync(edition)
    return edition.documents.get(xml_id="d144")


def fake_ocr(page, words, per_line=8, change=None):
    """OCR words for `words` (a list of strings): 8 to a line, each box 100 px wide,
    `change` {index: text} reading some otherwise."""
    change = change or {}
    return [[change.get(i, text), 100 + (i % per_line) * 110, 200 + (i // per_line) * 60, 100,
             40, 95.0, i // per_line] for i, text in enumerate(words)]


def page_words(document, n):
    revision = document.current_revision
    span = next(s for s in pages.spans(document) if s.page.n == n)
    text = revision.layer.text
    return span, [(m.group(), span.start + m.start(), span.start + m.end())
                  for m in align._WORD.finditer(text[span.start:span.end])]


def test_boxes_of_a_stretch_are_its_words_boxes(d144):
    span, words = page_words(d144, "277")
    page = span.page
    page.ocr_words = [["277", 1000, 50, 80, 40, 96.0, 0]] + [
        [t, x, y + 60, w, h, c, line + 1] for t, x, y, w, h, c, line in
        fake_ocr(page, [w for w, _, _ in words])]
    page.save()
    revision = d144.current_revision
    # Words 3 to 5 of the page: their three boxes, not the page number's.
    found = locate.boxes(page, d144, revision, words[3][1], words[5][2])
    assert found == [[100 + i * 110, 260, 100, 40] for i in (3, 4, 5)]
    # An insertion point between words 3 and 4: the two words around it.
    point = words[3][2] + 1
    assert locate.boxes(page, d144, revision, point, point) == \
        [[100 + i * 110, 260, 100, 40] for i in (3, 4)]


def test_boxes_follow_a_word_the_ocr_read_otherwise(d144):
    span, words = page_words(d144, "277")
    page = span.page
    page.ocr_words = fake_ocr(page, [w for w, _, _ in words], change={4: "Koreo"})
    page.save()
    found = locate.boxes(page, d144, d144.current_revision, words[4][1], words[4][2])
    assert found == [[100 + 4 * 110, 200, 100, 40]]


def test_no_ocr_no_boxes(d144):
    span, words = page_words(d144, "277")
    assert locate.boxes(span.page, d144, d144.current_revision, 0, 10) == []


def test_available_names_tesseract_or_says_why_not(monkeypatch):
    from edition.ocr import engine

    ok, reason = engine.available()
    assert (ok and reason.startswith("Tesseract ")) or (not ok and "OCR is not installed" in reason)
    engine._probe.cache_clear()
    monkeypatch.setattr("pytesseract.pytesseract.tesseract_cmd", "/nonexistent/tesseract")
    try:
        assert engine.available() == (False, "OCR is not installed (Tesseract was not found)")
    finally:
        engine._probe.cache_clear()
