"""First use in Chromium under `make run` (DEBUG=1): a refused form shows its message in place,
and a page the browser brings back with Back is fetched again rather than shown stale."""

import pytest

from edition.models import Document
from review.actions.propose import do_propose
from tests.browser import chromium_page
from tests.helpers import text_spec
from tests.review.test_browser_story import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _proposal(edition, author):
    d = Document.objects.select_related("current_revision").get(edition=edition, xml_id="d142")
    return do_propose(d, author=author, base_revision=d.current_revision.number,
                      changes=[text_spec(d.current_revision, "the Japanese Government",
                                         "the Government of Japan")],
                      rationale="Typo in the source")


def test_reject_without_reason_shows_inline_error_under_debug(live_server, settings,
                                                              sample_edition, people):
    settings.DEBUG = True  # django-htmx's debug handler would replace the page with the 400
    proposal = _proposal(sample_edition, people.editor)
    path = f"/review/proposals/{proposal.pk}/"
    with chromium_page() as page:
        sign_in(page, live_server.url, "reviewer", path)
        page.locator("form.decide-reason textarea").fill("   ")
        page.get_by_role("button", name="Reject").click()
        page.locator("#decision-panel .field-error").wait_for(state="visible")
        # The page is still the proposal page (header and all), not a bare error document.
        assert page.locator("header.site-header").count() == 1
        assert page.locator("h1").count() == 1
