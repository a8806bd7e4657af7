"""The OCR cross-check end to end with Tesseract: printed pages of the sample's real text
(tests/ocr_pages.py) with known differences, stored as uploads, read by `read_page` and the
`ocr` command. A few seconds a page; skipped without Tesseract, failed under
EMEND_REQUIRE_OCR (CI)."""

import io

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command

from edition import pages
from edition.models import PageImage, Suggestion
from edition.ocr import align, record
from tests.ocr_pages import render, require_tesseract, score

pytestmark = [pytest.mark.django_db, pytest.mark.ocr]


@pytest.fixture
def printed(sample_edition, settings, tmp_path):
    """Pages 276 and 279 of the sample printed with their differences, stored as uploads."""
    require_tesseract()
    settings.MEDIA_ROOT = tmp_path
    pages.sync(sample_edition)
    found = {}
    for n in ("276", "279"):
        page = PageImage.objects.get(edition=sample_edition, n=n)
        printed = render(page, seed=11)
        page.image.save(f"{page.facs}.png", ContentFile(printed.png), save=False)
        page.source = PageImage.Source.UPLOAD
        page.save()
        found[n] = (page, printed)
    return found


def test_injected_differences_are_found_and_little_else(printed):
    for n, (page, printed_page) in printed.items():
        recorded = record.read_page(page)
        page.refresh_from_db()
        assert page.ocr_status == PageImage.OCRStatus.DONE and page.ocr_engine.startswith(
            "Tesseract")
        assert (page.width, page.height) == (printed_page.width, printed_page.height)
        findings = record.findings(align.align(page), page)
        assert len(findings) == len(recorded)
        hit, false = score(printed_page.injected, findings)
        assert len(printed_page.injected) >= 3
        assert hit == printed_page.injected, (n, printed_page.injected, findings)
        assert len(false) <= 1, (n, false)
        for suggestion in recorded:
            x, y, w, h = suggestion.region
            assert 0 <= x < x + w <= page.width and 0 <= y < y + h <= page.height


def test_ocr_command_reads_a_documents_pages_in_place(printed):
    out = io.StringIO()
    call_command("ocr", "frus1958-60v18", "--document", "d144", "--now", stdout=out)
    assert "page(s) read" in out.getvalue()
    page279 = printed["279"][0]
    page279.refresh_from_db()
    assert page279.ocr_status == PageImage.OCRStatus.DONE and page279.ocr_words
    assert Suggestion.objects.filter(page=page279, check_name="ocr").exists()
    # d142's page was not asked for.
    assert printed["276"][0].__class__.objects.get(pk=printed["276"][0].pk).ocr_status == ""


def test_ocr_command_queues_a_page_a_message(printed, monkeypatch):
    from edition import tasks

    sent = []
    monkeypatch.setattr(tasks, "_send", lambda task, args, options: sent.append((task, args)))
    call_command("ocr", "frus1958-60v18", stdout=io.StringIO())
    withimage = [p for p in pages.pages(printed["276"][0].edition) if p.has_image]
    assert sent == [(tasks.ocr_page, (p.pk,)) for p in withimage]
    assert {p.ocr_status for p in PageImage.objects.filter(pk__in=[p.pk for p in withimage])} \
        == {PageImage.OCRStatus.QUEUED}
