"""Playwright driving Debian's Chromium (never a downloaded browser build)."""

import os
import shutil
from contextlib import contextmanager

import pytest

CHROMIUM = os.environ.get("EMEND_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@contextmanager
def chromium_page():
    if not shutil.which(CHROMIUM):
        message = f"{CHROMIUM} is not installed (apt-get install chromium; make test does it as root)"
        if os.environ.get("EMEND_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # between browser steps are still synchronous and safe.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    from django.db import connections

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield browser.new_page()
        finally:
            browser.close()
            # Playwright runs an asyncio loop in this thread, so while it is open Django's
            # connection handler (asgiref's thread-critical Local) gives the test's code a
            # context-local connection, not the thread's. pytest-django closes only the
            # thread's: close this one here, while the loop still runs and it is the one
            # `connections` names, or its session outlives the run and the test database
            # cannot be dropped ("There is 1 other session using the database").
            connections.close_all()


def serious(page) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each (none: [])."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [f"{v['id']} ({len(v['nodes'])}): {v['nodes'][0]['target']}"
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
