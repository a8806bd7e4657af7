"""The reading view in a real browser: footnotes, page markers and anchors work."""

import pytest

from edition.imports import import_tei, import_text
from tests.browser import chromium_page
from tests.helpers import D143_TEXT, EXCERPT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_reading_view_shows_footnotes_and_page_markers(live_server, tmp_path):
    edition = import_tei(EXCERPT).edition
    import_text(D143_TEXT, edition=edition)
    with chromium_page() as page:
        page.goto(f"{live_server.url}/frus1958-60v18/")
        page.get_by_role("link", name="Document 142: Memorandum of Conversation").click()
        page.wait_for_url("**/d142/")
        assert page.locator("h1").first.inner_text().startswith("142. Memorandum of Conversation")

        marker = page.locator("#pg_276")
        assert marker.is_visible() and "[Page 276]" in marker.inner_text()
        paragraph = page.locator("article p", has=marker)
        assert "for the restrained manner" in paragraph.inner_text()

        notes = page.locator("section.footnotes li")
        assert notes.count() == 2
        assert notes.nth(0).inner_text().startswith("Source: ")
        assert "Telegram 515 from Seoul" in notes.nth(1).inner_text()

        # Keyboard: the note marker is focusable and following it lands on the note.
        page.locator("#fnref-d142fn1").focus()
        page.keyboard.press("Enter")
        page.wait_for_url("**#fn-d142fn1")
        assert page.evaluate("document.querySelector(':target').id") == "fn-d142fn1"
        page.screenshot(path=str(tmp_path / "d142.png"), full_page=True)

        page.goto(f"{live_server.url}/frus1958-60v18/d143/")
        assert page.locator("#pg_278").inner_text().strip() == "[Page 278]"
        note = page.locator("#fn-d143fn1")
        assert "telegram 2728" in note.inner_text()


def test_sign_in_form_has_labels_above_full_width_fields_on_a_phone(live_server):
    with chromium_page() as page:
        page.set_viewport_size({"width": 390, "height": 800})
        page.goto(f"{live_server.url}/accounts/login/")
        label = page.locator("label[for=id_username]").bounding_box()
        field = page.locator("#id_username").bounding_box()
        button = page.get_by_role("button", name="Sign in").bounding_box()
        assert label["y"] + label["height"] <= field["y"]  # above, not beside
        assert field["width"] >= 340 and field["height"] >= 40
        assert button["width"] >= 340 and button["height"] >= 40
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
