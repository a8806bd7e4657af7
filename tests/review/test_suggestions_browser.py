"""An editor works the edition's suggestions page in Chromium: proposes one fix in one click
and dismisses another, by keyboard alone; axe-core finds nothing serious at 1280 and 390 px."""

import pytest

from edition.checks import run
from edition.models import Document, Suggestion
from review.models import Proposal
from tests.browser import chromium_page
from tests.helpers import revise
from tests.review.test_browser_story import sign_in
from tests.test_accessibility_browser import serious

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
LIST = "/frus1958-60v18/suggestions/"


@pytest.fixture
def flawed(sample_volume, people):
    revise(Document.objects.get(xml_id="d142"), "Secretary", "the the Secretary [Page 12]")
    run.run_edition(sample_volume)
    return sample_volume


def tab_to(page, item_id: str, label: str, limit: int = 120) -> None:
    """Tab until the focus is on the control labelled `label` in the list item `item_id`."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        here = page.evaluate("[document.activeElement.closest('li')?.id || '', "
                             "document.activeElement.textContent.trim()]")
        if here == [item_id, label]:
            return
    raise AssertionError(f"never reached {label} in {item_id}")


@pytest.mark.parametrize("width", [1280, 390])
def test_suggestions_page_has_no_serious_violation(live_server, flawed, width):
    with chromium_page() as page:
        page.set_viewport_size({"width": width, "height": 900})
        sign_in(page, live_server.url, "editor", LIST)
        assert serious(page) == []
        page.goto(live_server.url + LIST + "?check=range")
        assert serious(page) == []
        page.goto(live_server.url + "/frus1958-60v18/d142/")  # the reading view's section
        assert page.locator("#suggestions li").count() == 2
        assert serious(page) == []
        sign_in(page, live_server.url, "reviewer", LIST)  # with the checks form
        assert serious(page) == []


def test_editor_proposes_one_and_dismisses_another_by_keyboard(live_server, flawed, people):
    doubled = Suggestion.objects.get(check_name="doubled-word")
    marker = Suggestion.objects.get(check_name="page-text")
    with chromium_page() as page:
        page.set_viewport_size({"width": 1280, "height": 900})
        sign_in(page, live_server.url, "editor", LIST)
        tab_to(page, f"suggestion-{doubled.pk}", "Propose this fix")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "Proposed: proposal" in page.locator(".messages").inner_text()
        (proposal,) = Proposal.objects.all()
        assert proposal.author == people.editor and proposal.changes.get().content == "the"
        tab_to(page, f"suggestion-{marker.pk}", "Dismiss")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.locator(f"#suggestion-{marker.pk}").count() == 0
    marker.refresh_from_db()
    assert marker.dismissed_by == people.editor
