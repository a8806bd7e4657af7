"""The reading view's page images in Chromium: the toggle (remembered), the page following the
reader past "[Page N]" markers, keyboard zoom and pan, 1280 and 390 px, axe-core, no
JavaScript."""

import pytest

from edition import pages
from edition.models import Document
from tests import pageimages
from tests.browser import chromium_page, serious

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

D144 = "/frus1958-60v18/d144/"


@pytest.fixture
def with_images(settings, tmp_path, sample_edition):
    settings.MEDIA_ROOT = tmp_path / "media"
    pages.sync(sample_edition)
    pageimages.attach(Document.objects.get(xml_id="d144"))
    return settings.MEDIA_ROOT



def shown(page) -> str:
    return page.locator("#reading-pages-figure .page-label").inner_text()


def test_page_images_beside_the_text(live_server, with_images, tmp_path):
    with chromium_page() as page:
        pageimages.serve_media(page, with_images)
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(live_server.url + D144)
        toggle = page.get_by_role("button", name="Page images")
        assert toggle.get_attribute("aria-pressed") == "false"
        assert not page.locator("#reading-pages").is_visible()  # off until asked for
        toggle.click()
        assert toggle.get_attribute("aria-pressed") == "true"
        figure = page.locator("#reading-pages-figure")
        figure.wait_for(state="visible")
        assert shown(page) == "[Page 277]"
        image = figure.locator("img")
        page.wait_for_function("() => document.querySelector('#reading-pages-figure img').naturalWidth > 0")
        # Beside the text: the panel's left edge is right of the article's right edge.
        text_box = page.locator("article.tei-document").bounding_box()
        panel_box = page.locator("#reading-pages").bounding_box()
        assert panel_box["x"] >= text_box["x"] + text_box["width"]
        page.screenshot(path=str(tmp_path / "reading-1280.png"))

        # Scrolling past [Page 279] shows page 279; back up, page 277 again.
        page.locator("#pg_279").scroll_into_view_if_needed()
        page.evaluate("document.getElementById('pg_279').scrollIntoView({block: 'start'})")
        page.wait_for_function(
            "() => document.querySelector('#reading-pages-figure .page-label').textContent === '[Page 279]'")
        assert image.get_attribute("src").endswith("0309-display.png")
        assert figure.locator("a.page-full").get_attribute("href").endswith("0309.png")
        page.screenshot(path=str(tmp_path / "reading-1280-279.png"))
        page.evaluate("window.scrollTo(0, 0)")
        page.wait_for_function(
            "() => document.querySelector('#reading-pages-figure .page-label').textContent === '[Page 277]'")

        # The keyboard: focus the image, + zooms, arrows pan, 0 fits again.
        frame = figure.locator(".page-frame")
        page.get_by_role("button", name="Page images").focus()
        for _ in range(3):  # the toggle, the panel's summary, the image
            page.keyboard.press("Tab")
            if frame.evaluate("f => f === document.activeElement"):
                break
        assert frame.evaluate("f => f === document.activeElement")
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline != "none"  # visible focus
        before = frame.evaluate("f => f.querySelector('.page-canvas').offsetWidth")
        page.keyboard.press("+")
        page.keyboard.press("+")
        after = frame.evaluate("f => f.querySelector('.page-canvas').offsetWidth")
        assert after > before * 1.5
        left = frame.evaluate("f => f.scrollLeft")
        page.keyboard.press("ArrowRight")
        assert frame.evaluate("f => f.scrollLeft") > left
        page.keyboard.press("0")
        assert frame.evaluate("f => f.querySelector('.page-canvas').offsetWidth") == before
        page.get_by_role("button", name="Zoom in").click()
        assert frame.evaluate("f => f.querySelector('.page-canvas').offsetWidth") > before
        assert serious(page) == []

        # Two fingers spread apart zoom in (pointer events as a touch screen sends them).
        page.keyboard.press("0")
        page.evaluate("""(frame) => {
          const box = frame.getBoundingClientRect(), y = box.top + 100, x = box.left + box.width / 2;
          const send = (type, id, dx) => frame.dispatchEvent(new PointerEvent(type,
            {pointerId: id, pointerType: "touch", clientX: x + dx, clientY: y, bubbles: true}));
          send("pointerdown", 1, -20); send("pointerdown", 2, 20);
          send("pointermove", 1, -60); send("pointermove", 2, 60);
          send("pointerup", 1, -60); send("pointerup", 2, 60);
        }""", frame.element_handle())
        assert frame.evaluate("f => f.querySelector('.page-canvas').offsetWidth") > before * 2

        # Remembered: the next page load shows the images at once.
        page.reload()
        page.locator("#reading-pages-figure").wait_for(state="visible")
        assert page.get_by_role("button", name="Page images").get_attribute("aria-pressed") == "true"

        # 390 px: a panel above the text, folding away.
        page.set_viewport_size({"width": 390, "height": 844})
        page.reload()
        panel_box = page.locator("#reading-pages").bounding_box()
        text_box = page.locator("article.tei-document").bounding_box()
        assert panel_box["y"] < text_box["y"]
        assert panel_box["x"] + panel_box["width"] <= 390
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(tmp_path / "reading-390.png"))
        page.locator("#reading-pages summary").click()
        assert not page.locator("#reading-pages-figure").is_visible()
        assert serious(page) == []

        # Off again, and remembered.
        page.get_by_role("button", name="Page images").click()
        assert page.get_by_role("button", name="Page images").get_attribute("aria-pressed") == "false"
        page.reload()
        page.get_by_role("button", name="Page images").wait_for(state="visible")  # the script ran
        assert not page.locator("#reading-pages").is_visible()


def test_without_javascript_the_pages_are_links(live_server, with_images, tmp_path):
    with chromium_page() as page:
        context = page.context.browser.new_context(java_script_enabled=False)
        page = context.new_page()
        pageimages.serve_media(page, with_images)
        page.goto(live_server.url + D144)
        assert not page.get_by_role("button", name="Page images").is_visible()
        page.locator("#reading-pages summary").click()
        page.locator("#reading-pages-figure").wait_for(state="visible")
        links = page.locator(".reading-pages-list a")
        assert links.first.inner_text() == "Image of [Page 277]"
        page.screenshot(path=str(tmp_path / "reading-nojs.png"), full_page=True)
        page.get_by_role("link", name="Image of [Page 279]").click()
        page.wait_for_url("**/0309.png")
        context.close()
