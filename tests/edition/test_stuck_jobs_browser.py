"""A reviewer finds an upload and OCR reads that the sweep failed (their worker died) on the
Page images page and retries them, with the keyboard, at 1280 and 390 px, with axe-core."""

from datetime import timedelta

import pytest
from django.utils import timezone
from PIL import Image

from edition import facsimiles, pages, tasks
from edition.models import FacsimileUpload, PageImage
from tests.browser import chromium_page, serious
from tests.review.test_browser_story import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PATTERN = "https://static.history.state.gov/frus/{volume}/medium/{facs}.png"



@pytest.fixture
def stuck(settings, tmp_path, sample_edition, people):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    sample_edition.facsimile_url = PATTERN
    sample_edition.save()
    pages.sync(sample_edition)
    paths = []
    for facs in ("0306", "0307"):
        path = tmp_path / f"{facs}.png"
        Image.new("L", (300, 400), "white").save(path)
        paths.append(path)
    upload = facsimiles.store(facsimiles.plan(sample_edition, paths))
    facsimiles.make(upload.pk, 0, 1)  # one page made; then the worker died
    long_ago = timezone.now() - timedelta(seconds=settings.EMEND_STUCK_JOB_SECONDS + 60)
    FacsimileUpload.objects.filter(pk=upload.pk).update(progressed_at=long_ago)
    PageImage.objects.filter(facs="0309").update(ocr_status="queued", ocr_queued_at=long_ago)
    tasks.sweep_stuck_jobs()
    return upload


@pytest.mark.parametrize("width", [1280, 390])
def test_reviewer_retries_what_the_sweep_failed(live_server, stuck, monkeypatch, width):
    sent = []
    monkeypatch.setattr(tasks, "_send", lambda task, args, options: sent.append(
        (task.name, args)))
    with chromium_page() as page:
        page.set_viewport_size({"width": width, "height": 900})
        sign_in(page, live_server.url, "reviewer", "/frus1958-60v18/pages/")
        assert "/frus1958-60v18/pages/" in page.url
        panel = page.locator("#page-uploads")
        assert "The worker stopped" in panel.inner_text()
        assert "1 page was not made" in panel.inner_text()
        assert page.get_by_text("1 page was not read").is_visible()
        assert serious(page) == []
        # Nothing wider than the viewport (the phone layout).
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        retry = page.get_by_role("button", name="Retry the unfinished pages")
        # By keyboard: Tab reaches the button; Enter submits.
        for _ in range(40):
            page.keyboard.press("Tab")
            if retry.evaluate("el => el === document.activeElement"):
                break
        else:
            pytest.fail("Tab never reaches the retry button")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.get_by_text("are queued again").is_visible()
        assert ("edition.tasks.make_page_images", (stuck.pk, 0, 2)) in sent
        # Queued again: the panel polls and says so.
        assert "queued, 1 of 2 pages ready" in page.locator("#page-uploads").inner_text()
        assert serious(page) == []
        read = page.get_by_role("button", name="Read the 1 page again")
        read.focus()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.get_by_text("1 page queued to be read again.").is_visible()
        page_0309 = PageImage.objects.get(facs="0309")
        assert ("edition.tasks.ocr_page", (page_0309.pk,)) in sent
        assert page_0309.ocr_status == "queued"
        assert page.get_by_role("button", name="Read the 1 page again").count() == 0
        assert serious(page) == []
