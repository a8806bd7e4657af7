"""Search in a real browser: type in the header's box, read the results, open one, and the
reading view marks the match. axe-core finds nothing serious on /search/ at 1280 and 390 px,
for a reader and for a member (who has the proposal options)."""

import pytest

from edition.models import Document
from review.actions.propose import do_propose
from tests.browser import chromium_page
from tests.helpers import text_spec
from tests.review.test_browser_story import sign_in
from tests.test_accessibility_browser import serious

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_search_from_the_header_and_open_the_passage(live_server, sample_volume):
    with chromium_page() as page:
        page.set_viewport_size({"width": 390, "height": 900})
        page.goto(live_server.url + "/frus1958-60v18/")
        box = page.get_by_role("searchbox", name="Search the editions")
        box.fill("negotiation")
        box.press("Enter")
        page.wait_for_url("**/search/?q=negotiation")
        assert "result" in page.locator("#results-heading").inner_text()
        assert page.locator(".search-snippet mark").count() >= 1
        page.locator(".search-hit h3 a").first.click()
        page.wait_for_url("**/frus1958-60v18/d142/?hl=*")
        marks = page.locator("mark.search-mark")
        marks.first.wait_for()
        assert marks.first.inner_text().lower().startswith("negotiation")
        assert marks.first.is_visible()


@pytest.mark.parametrize("width", [1280, 390])
def test_search_page_has_no_serious_violation(live_server, sample_volume, people, width):
    d144 = Document.objects.get(xml_id="d144")
    do_propose(d144, author=people.editor, base_revision=d144.current_revision.number,
               changes=[text_spec(d144.current_revision, "Prime Minister", "Premier")],
               rationale="Premier as printed")
    found = {}
    with chromium_page() as page:
        page.set_viewport_size({"width": width, "height": 900})
        for path in ["/search/", "/search/?q=Minister&kind=document", "/search/?q=-x",
                     "/search/?q=zzzz"]:
            page.goto(live_server.url + path)
            found[f"anonymous {path}"] = serious(page)
        sign_in(page, live_server.url, "reviewer", "/review/")
        path = "/search/?q=Premier&proposals=on"
        page.goto(live_server.url + path)
        assert page.locator(".search-proposals li").count() == 1
        found[f"reviewer {path}"] = serious(page)
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, "the page scrolls sideways"
    assert {where: v for where, v in found.items() if v} == {}
