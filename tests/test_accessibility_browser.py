"""axe-core in Chromium on every kind of page, as an anonymous reader and as a reviewer, at a
desktop width and at 390 px: no serious or critical violation. And the reviewer's half of the
keyboard-only story (the proposer's half is tests/review/test_reading_browser.py): sign in,
find the proposal in the queue and approve it, never touching the mouse."""

import pytest

from edition.models import Document, Revision
from review.actions.propose import do_propose
from tests.browser import chromium_page, serious
from tests.helpers import revise, text_spec
from tests.review.test_browser_story import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PUBLIC = ["/", "/frus1958-60v18/", "/frus1958-60v18/d142/", "/frus1958-60v18/comp1/",
          "/frus1958-60v18/d142/history/", "/frus1958-60v18/d142/diff/1/2/",
          "/frus1958-60v18/d142/corrections/", "/frus1958-60v18/corrections/",
          "/frus1958-60v18/exports/"]
SIGNED_IN = ["/review/", "/review/queue/", "/review/mine/", "PROPOSAL",
             "/frus1958-60v18/d142/propose/"]



@pytest.fixture
def reviewed(sample_volume, people):
    """A second revision of d142 (for the diff) and an open proposal (for the queue)."""
    revise(Document.objects.get(xml_id="d142"), "restrained manner", "calm manner")
    d144 = Document.objects.get(xml_id="d144")
    revision = d144.current_revision
    return do_propose(d144, author=people.editor, base_revision=revision.number,
                      changes=[text_spec(revision, "Prime Minister", "Premier")],
                      rationale="As printed")


@pytest.mark.parametrize("width", [1280, 390])
def test_no_serious_violation_anywhere(live_server, reviewed, width):
    found = {}
    with chromium_page() as page:
        page.set_viewport_size({"width": width, "height": 900})
        for path in PUBLIC + ["/accounts/login/"]:
            page.goto(live_server.url + path)
            found[f"anonymous {path}"] = serious(page)
        sign_in(page, live_server.url, "reviewer", "/review/")
        for path in PUBLIC + SIGNED_IN:
            path = f"/review/proposals/{reviewed.pk}/" if path == "PROPOSAL" else path
            response = page.goto(live_server.url + path)
            assert response.ok, (path, response.status)
            found[f"reviewer {path}"] = serious(page)
    assert {where: v for where, v in found.items() if v} == {}


def test_a_reviewer_approves_with_the_keyboard_alone(live_server, reviewed, people):
    with chromium_page() as page:
        page.goto(f"{live_server.url}/accounts/login/?next=/review/queue/")
        page.keyboard.press("Tab")  # the skip link first: onwards to the form
        focused = ""
        for _ in range(30):
            focused = page.evaluate("document.activeElement.name || ''")
            if focused == "username":
                break
            page.keyboard.press("Tab")
        assert focused == "username"
        page.keyboard.type("reviewer")
        page.keyboard.press("Tab")
        page.keyboard.type("pw-" + "reviewer" * 2)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{live_server.url}/review/queue/")  # not the login page: its ?next= matches a glob
        page.wait_for_load_state("networkidle")
        for _ in range(80):  # Tab through the queue until the row's Approve button
            page.keyboard.press("Tab")
            label = page.evaluate("document.activeElement.textContent.trim()")
            if label == "Approve":
                break
        assert label == "Approve"
        page.keyboard.press("Enter")  # the row's form posts (HTMX swaps the row in place)
        page.wait_for_load_state()
        for _ in range(50):
            if Document.objects.get(xml_id="d144").current_revision.number == 2:
                break
            page.wait_for_timeout(100)
        page.wait_for_load_state()
        assert "approved" in page.locator("main").inner_text().lower()
    d144 = Document.objects.get(xml_id="d144")
    assert d144.current_revision.number == 2
    assert "Premier" in Revision.objects.get(pk=d144.current_revision_id).text
