"""The Page images page in Chromium: an uploaded scan shows, a remote image that cannot be
reached says so without script, the page passes axe at 1280 and 390 px, and every image link
is reached with the keyboard."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from PIL import Image

from edition import facsimiles, pages
from tests.browser import chromium_page
from tests.review.test_browser_story import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
# .invalid never resolves (RFC 2606): the image of a site out of reach, with or without internet.
UNREACHABLE = "https://images.invalid/{volume}/{facs}.png"


@pytest.fixture
def edition(sample_edition, people, tmp_path):
    sample_edition.facsimile_url = UNREACHABLE
    sample_edition.save()
    pages.sync(sample_edition)
    scan = tmp_path / "0307.png"
    Image.new("L", (850, 1100), "white").save(scan)
    upload = facsimiles.store(facsimiles.plan(sample_edition, [scan]))
    facsimiles.make(upload.pk, 0, upload.total)
    return sample_edition


def _shown(page, label: str) -> str:
    """What is drawn at the middle of a page's thumbnail link: IMG, or the text's SPAN."""
    link = page.get_by_label(f"{label}, full-size image")
    box = link.bounding_box()
    return page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y).tagName",
        [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2])


@pytest.mark.parametrize("width", [1280, 390])
def test_page_images_page_in_a_browser(live_server, edition, width):
    with chromium_page() as page:
        page.set_viewport_size({"width": width, "height": 900})
        sign_in(page, live_server.url, "reviewer", "/frus1958-60v18/pages/")
        page.wait_for_load_state("networkidle")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        uploaded = page.get_by_label("[Page 277], full-size image")
        uploaded.scroll_into_view_if_needed()
        assert uploaded.locator("img").evaluate("img => img.naturalWidth") > 0
        assert _shown(page, "[Page 277]") == "IMG"
        remote = page.get_by_label("[Page 279], full-size image")
        remote.scroll_into_view_if_needed()
        assert remote.locator("img").evaluate("img => img.naturalWidth") == 0
        assert _shown(page, "[Page 279]") == "SPAN"
        assert remote.get_attribute("href").startswith("https://images.invalid/")
        violations = [v["id"] for v in Axe().run(page).response["violations"]
                      if v["impact"] in ("serious", "critical")]
        assert violations == []
        reached = set()
        for _ in range(40):
            page.keyboard.press("Tab")
            reached.add(page.evaluate("document.activeElement.getAttribute('aria-label')"))
        assert {"[Page 277], full-size image", "[Page 279], full-size image"} <= reached
