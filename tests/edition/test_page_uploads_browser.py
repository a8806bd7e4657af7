"""While an upload runs, the Page images table shows each page as the worker makes it, from
the uploads panel's poll (only the changed rows, out of band), without a reload and without
moving the keyboard focus; at 1280 and 390 px, with axe-core."""

import pytest
from PIL import Image
from playwright.sync_api import expect

from edition import facsimiles, pages, tasks
from edition.models import FacsimileUpload, PageImage
from tests.browser import chromium_page, serious
from tests.review.test_browser_story import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PATTERN = "https://static.history.state.gov/frus/{volume}/medium/{facs}.png"



@pytest.mark.parametrize("width", [1280, 390])
def test_rows_follow_the_worker(live_server, settings, tmp_path, sample_edition, people,
                                monkeypatch, width):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    monkeypatch.setattr(tasks, "_send", lambda *args: None)  # no broker: OCR is not read here
    sample_edition.facsimile_url = PATTERN
    sample_edition.save()
    pages.sync(sample_edition)
    for facs in ("0306", "0307"):
        Image.new("L", (300, 400), "white").save(tmp_path / f"{facs}.png")
    upload = facsimiles.store(facsimiles.plan(
        sample_edition, [tmp_path / "0306.png", tmp_path / "0307.png"]))
    made = PageImage.objects.get(facs="0306")
    with chromium_page() as page:
        page.set_viewport_size({"width": width, "height": 900})
        sign_in(page, live_server.url, "reviewer", "/frus1958-60v18/pages/")
        row = page.locator(f"#page-{made.pk}")
        assert "Uploaded scan" not in row.inner_text()
        assert "0 of 2 pages ready" in page.locator("#page-uploads").inner_text()
        assert serious(page) == []
        # The keyboard's focus is on the row the worker is about to change (its unit's link):
        # it stays on that link in the new row.
        focused = page.locator(f"#page-{made.pk} td[data-label=In] a")
        focused.focus()
        # Every poll answers; swapped rows are counted to show only the changed one comes.
        page.evaluate("""() => { window.swapped = [];
          document.body.addEventListener('htmx:oobAfterSwap',
            e => window.swapped.push(e.detail.target.id)); }""")
        facsimiles.make(upload.pk, 0, 1)
        expect(row).to_contain_text("Uploaded scan", timeout=10_000)
        assert row.locator("img").count() == 1  # its thumbnail, from the worker
        assert "1 of 2 pages ready" in page.locator("#page-uploads").inner_text()
        assert page.evaluate("document.activeElement.id") == f"page-{made.pk}-unit"
        facsimiles.make(upload.pk, 1, 2)
        other = PageImage.objects.get(facs="0307")
        expect(page.locator(f"#page-{other.pk}")).to_contain_text("Uploaded scan",
                                                                  timeout=10_000)
        expect(page.locator("#page-uploads")).to_contain_text("done: 2 pages", timeout=10_000)
        swapped = page.evaluate("window.swapped")
        assert sorted(set(swapped)) == sorted([f"page-{made.pk}", f"page-{other.pk}"])
        assert FacsimileUpload.objects.get().status == "done"
        # Idle: polling stopped.
        assert page.locator("#page-uploads[hx-trigger]").count() == 0
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert serious(page) == []
