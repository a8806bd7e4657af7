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


def test_review_tables_fit_a_phone_and_a_one_character_change_shows(live_server, client,
                                                                   sample_edition, people):
    from review.actions.approve import do_approve

    _proposal(sample_edition, people.editor)
    d = Document.objects.select_related("current_revision").get(edition=sample_edition,
                                                               xml_id="d142")
    do_approve(do_propose(d, author=people.editor, base_revision=d.current_revision.number,
                          changes=[text_spec(d.current_revision, ",", ";")],
                          rationale="One character " * 40), by=people.reviewer)
    client.force_login(people.reviewer)
    base = live_server.url
    with chromium_page() as page:
        page.context.add_cookies([{"name": "sessionid", "url": base,
                                   "value": client.cookies["sessionid"].value}])
        page.set_viewport_size({"width": 390, "height": 800})
        for path in ("/review/queue/", "/review/", "/review/mine/",
                     "/frus1958-60v18/d142/history/"):
            page.goto(base + path)
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
        page.set_viewport_size({"width": 1280, "height": 800})
        page.goto(base + "/frus1958-60v18/d142/history/")
        cell = page.locator("td.change-cell").first.bounding_box()
        assert cell["width"] >= 300  # the change column has room on a desktop
        page.goto(base + "/frus1958-60v18/d142/diff/1/2/#change-1")
        for tag in ("del", "ins"):
            box = page.locator(f"#change-1 {tag}").bounding_box()
            assert box["width"] >= 8, (tag, box)  # a comma is ~3 px of ink
        # The change is in view: the page opened at it.
        top = page.locator("#change-1").bounding_box()["y"]
        assert 0 <= top <= 800


def test_back_after_approving_shows_the_queue_as_it_now_is(live_server, sample_edition,
                                                           people):
    proposal = _proposal(sample_edition, people.editor)
    with chromium_page() as page:
        sign_in(page, live_server.url, "reviewer", "/review/queue/")
        row = page.locator(f"#proposal-{proposal.pk}")
        assert row.locator("button.approve").count() == 1
        row.locator("a.open").click()
        page.wait_for_url(f"**/review/proposals/{proposal.pk}/")
        page.locator("#decision-panel button.approve").click()
        page.locator("#decision-panel .notice").wait_for(state="visible")
        page.go_back()
        page.wait_for_url("**/review/queue/")
        # Fetched again: the approved proposal has left the pending list.
        assert page.locator(f"#proposal-{proposal.pk}").count() == 0
        assert "Pending 0" in " ".join(page.locator("#status-counts").inner_text().split())


def test_a_refused_proposal_shows_its_message_where_the_person_is(live_server, settings,
                                                                  sample_edition, people):
    """The popover's form is taller than the screen and Submit is at its bottom: the message
    the server answers with (at the form's top) is brought into view and focused."""
    from tests.review.test_browser_story import SELECT

    settings.DEBUG = True
    with chromium_page() as page:
        page.set_viewport_size({"width": 390, "height": 800})
        sign_in(page, live_server.url, "editor", "/frus1958-60v18/d142/")
        assert page.evaluate(SELECT, ["article.tei-document", "restrained manner", "select"])
        page.locator(".propose-trigger").click()
        form = page.locator("#propose-popover form.propose-form")
        form.wait_for(state="visible")
        form.locator("textarea[name=rationale]").fill("No change at all")
        form.get_by_role("button", name="Submit proposal").click()
        error = page.locator("#propose-popover .propose-error")
        error.wait_for(state="visible")
        assert "changes nothing" in error.inner_text()
        page.wait_for_function("() => document.activeElement.matches('.propose-error')")
        box, popover = error.bounding_box(), page.locator("#propose-popover").bounding_box()
        assert popover["y"] <= box["y"] and box["y"] + box["height"] <= 800
