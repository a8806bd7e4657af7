"""The Content-Security-Policy in Chromium: the pages people click through report no violation
and no script error, and HTMX still swaps (reading view and proposing popover, queue, proposal
page, exports, sign-in, the admin)."""

import pytest
from django.contrib.auth import get_user_model

from review.actions.propose import do_propose
from tests.browser import chromium_page
from tests.edition.test_register_popups import add_registers
from tests.helpers import text_spec
from tests.review.test_browser_story import SELECT, sign_in, sign_out

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Every violation, on any page, reaches the test through an exposed function (a page's own
# variables do not outlive a navigation).
REPORT = """document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolation(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} `
                        + `at ${e.sourceFile}:${e.lineNumber}`);
});"""


def watch(page) -> list[str]:
    problems = []
    page.expose_function("__cspViolation", lambda text: problems.append(text))
    page.add_init_script(REPORT)

    def console(message) -> None:
        # The site has no favicon; Chromium's request for one is no fault of the page.
        if message.type == "error" and not message.location.get("url", "").endswith(
                "/favicon.ico"):
            problems.append(f"console: {message.text}")

    page.on("console", console)
    page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
    return problems


def settle(page) -> None:
    page.wait_for_load_state("networkidle")


def test_pages_run_under_the_policy(live_server, sample_volume, people):
    edition = sample_volume
    add_registers(edition)
    d142 = edition.documents.get(xml_id="d142")
    proposal = do_propose(d142, author=people.editor,
                          base_revision=d142.current_revision.number,
                          changes=[text_spec(d142.current_revision, "the Japanese Government",
                                             "the Government of Japan")],
                          rationale="Typo in the source")
    get_user_model().objects.create_superuser("root", "root@example.org", "pw-rootroot")
    base = live_server.url
    reading = f"/{edition.slug}/d142/"

    with chromium_page() as page:
        problems = watch(page)
        # The policy is really there: an inline style the page tried would be reported.
        page.goto(f"{base}{reading}")
        page.evaluate("""() => { const s = document.createElement("style");
                                 s.textContent = "p {}"; document.head.append(s); }""")
        for _ in range(40):  # the report arrives asynchronously
            if any(p.startswith("style-src-elem blocked") for p in problems):
                break
            page.wait_for_timeout(50)
        assert any("style-src" in p for p in problems), problems
        problems.clear()

        # Anonymous reader: the reading view and a register popup.
        page.goto(f"{base}{reading}")
        page.locator("a.persname[data-entry='p_HCAJ1']").first.hover()
        page.locator("#register-popup").wait_for(state="visible")
        settle(page)
        assert problems == [], "anonymous reading view"

        # Sign-in page, then the editor's proposing tools: select, open the popover (HTMX).
        sign_in(page, base, "editor", reading)
        assert page.evaluate(SELECT, ["article.tei-document", "Prime Minister", "select"])
        page.locator(".propose-trigger").click()
        page.locator("#propose-popover form.propose-form").wait_for(state="visible")
        settle(page)
        assert problems == [], "sign-in and the proposing popover"
        sign_out(page)

        # The reviewer: the queue, the proposal page's HTMX approval, the exports page.
        sign_in(page, base, "reviewer", "/review/queue/")
        assert page.locator(f"#proposal-{proposal.pk}").is_visible()
        page.goto(f"{base}/review/proposals/{proposal.pk}/")
        page.evaluate("window.__samePage = true")
        page.locator("#decision-panel").get_by_role("button", name="Approve").click()
        page.locator("#decision-panel .status-approved").wait_for(state="visible")
        assert page.evaluate("window.__samePage") is True  # swapped, not reloaded
        page.goto(f"{base}/{edition.slug}/exports/")
        page.locator("#export-status").wait_for(state="visible")
        settle(page)
        assert problems == [], "queue, proposal page, exports"
        sign_out(page)

        # Django's admin runs under the same policy.
        page.goto(f"{base}/admin/")
        page.get_by_label("Username").fill("root")
        page.get_by_label("Password").fill("pw-rootroot")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{base}/admin/")
        page.goto(f"{base}/admin/auth/user/")
        page.goto(f"{base}/admin/auth/user/{people.editor.pk}/change/")
        settle(page)
        assert problems == [], "admin"
