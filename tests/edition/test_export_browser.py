"""The exports page in a real browser: the reviewers' status panel follows a build without a
reload and stops polling when idle; the downloads arrive whole and named."""

import time

import pytest

from edition.exporting import builds
from edition.models import Edition
from tests.browser import chromium_page
from tests.review.test_browser_story import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_status_panel_follows_the_build_and_downloads_work(live_server, sample_volume,
                                                           settings, tmp_path, people):
    settings.EMEND_EXPORT_FORMATS = ["tei", "txt"]
    edition: Edition = sample_volume
    path = f"/{edition.slug}/exports/"
    with chromium_page() as page:
        polls = []
        page.on("request", lambda r: polls.append(r.url) if "/exports/status/" in r.url else None)
        sign_in(page, live_server.url, "reviewer", path)
        panel = page.locator("#export-status")
        assert "waiting for a build" in panel.inner_text()
        assert "have not been built yet" in page.content()

        builds.run(edition.pk)  # what the worker does
        # A function, not an expression: Playwright evals an expression, which the CSP forbids.
        page.wait_for_function(
            "() => document.querySelector('#export-status').innerText.includes('up to date')",
            timeout=10_000)
        settled = len(polls)
        assert settled >= 1
        time.sleep(4.5)  # two poll intervals: an idle panel asks nothing more
        assert len(polls) == settled

        page.reload()
        assert "Last updated" in page.content()
        with page.expect_download() as info:
            page.get_by_role("link", name=f"{edition.slug}.xml", exact=True).click()
        download = info.value
        assert download.suggested_filename == f"{edition.slug}.xml"
        data = download.path().read_bytes()
        assert data.startswith(b"<?xml") and b'xml:id="d143"' in data
        with page.expect_download() as info:
            page.get_by_role("link", name="Document 143 as Plain text").click()
        assert "Memorandum of Conversation" in info.value.path().read_text()
        page.screenshot(path=str(tmp_path / "exports.png"), full_page=True)


def test_exports_page_fits_a_phone(live_server, sample_volume, settings):
    settings.EMEND_EXPORT_FORMATS = ["tei", "html", "txt", "json", "epub", "pdf"]
    builds.run(sample_volume.pk)
    with chromium_page() as page:
        page.set_viewport_size({"width": 390, "height": 800})
        page.goto(f"{live_server.url}/{sample_volume.slug}/exports/")
        assert page.locator("table.exports").count() == 2
        assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_a_unit_left_out_on_the_exports_page_desktop_phone_keyboard_axe(
        live_server, sample_volume, settings, people, monkeypatch, tmp_path):
    """A build that left d143 out: its row says so and offers only the files that exist (the
    PDF's build held it), reached by the keyboard in order; no serious axe finding, and the
    page still fits a phone."""
    from edition.exporting import text
    from tests.browser import serious

    settings.EMEND_EXPORT_FORMATS = ["tei", "html", "txt", "json", "epub", "pdf"]
    real = text.document

    def failing(vol, part):
        if part.xml_id == "d143":
            raise ValueError("a renderer fails on d143")
        return real(vol, part)

    monkeypatch.setattr(text, "document", failing)
    builds.run(sample_volume.pk)
    path = f"/{sample_volume.slug}/exports/"
    with chromium_page() as page:
        sign_in(page, live_server.url, "reviewer", path)
        assert "Left out of this build" in page.locator("#export-status").inner_text()
        row = page.locator("tr", has=page.get_by_role("link", name="Document 143", exact=True))
        assert "not in the current build: read it on its page" in row.inner_text()
        assert row.get_by_role("link").count() == 2  # its page, its PDF
        row.get_by_role("link", name="Document 143", exact=True).focus()
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.getAttribute('aria-label')")
        assert focused == "pdf: Document 143 as PDF"
        assert serious(page) == []
        page.screenshot(path=str(tmp_path / "desktop.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 800})
        page.reload()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert serious(page) == []
        page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
