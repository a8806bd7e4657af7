"""The proposer's reading view in Chromium: open proposals marked in the text, proposing on a
selection made with the keyboard alone, and the button for a second change never covered."""

import pytest

from edition.models import Document
from review.actions.propose import do_propose
from review.models import Proposal
from tests.browser import chromium_page
from tests.helpers import text_spec
from tests.review.test_browser_story import LISTEN, SELECT, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGE = "/frus1958-60v18/d142/"

# The layer offsets of the current selection, as propose.js computes them.
OFFSETS = """() => {
  const range = getSelection().getRangeAt(0);
  const info = window.emendPropose.describe(document.querySelector("article.tei-document"), range);
  return info && [info.start, info.end, info.exact];
}"""


def test_open_proposals_are_marked_in_the_text(live_server, sample_volume, people):
    document = Document.objects.get(xml_id="d142")
    revision = document.current_revision
    do_propose(document, author=people.reviewer, base_revision=revision.number,
               changes=[text_spec(revision, "restrained manner", "calm manner")],
               rationale="calmer")
    with chromium_page() as page:
        sign_in(page, live_server.url, "editor", PAGE)
        page.wait_for_function("CSS.highlights.has('pending-proposal')")
        marked = page.evaluate("[...CSS.highlights.get('pending-proposal')].map(String)")
        assert marked == ["restrained manner"]
        assert "1 open proposal on this document" in page.locator(".propose-pending").inner_text()


def test_propose_on_a_selection_with_the_keyboard_only(live_server, sample_volume, people):
    text = Document.objects.get(xml_id="d142").current_revision.text
    target = text.index("restrained manner")
    with chromium_page() as page:
        sign_in(page, live_server.url, "editor", PAGE)
        page.evaluate(LISTEN)
        page.keyboard.press("Alt+KeyP")  # a selection in the text, the document focused
        assert page.evaluate("document.activeElement.matches('article.tei-document')")
        assert "Arrow keys move" in page.locator(".propose-keys-status").text_content()
        trail = []
        for _ in range(300):  # line by line towards the place, then by word, then by character
            start = page.evaluate(OFFSETS)[0]  # None on a note marker: that means the note
            trail.append(start)
            if start == target:
                break
            if start is not None and start > target:
                key = "Control+ArrowLeft"
            elif start is not None and start < target - 150:
                key = "ArrowDown"
            else:
                key = "Control+ArrowRight" if start is None or start < target - 1 else "ArrowRight"
            page.keyboard.press(key)
        assert page.evaluate(OFFSETS)[0] == target, str(trail)
        page.keyboard.press("Control+Shift+ArrowRight")
        page.keyboard.press("Control+Shift+ArrowRight")
        assert page.evaluate(OFFSETS) == [target, target + 17, "restrained manner"]
        page.keyboard.press("p")
        form = page.locator("#propose-popover form.propose-form")
        form.wait_for(state="visible")
        assert page.evaluate("document.activeElement.name") == "replacement"
        page.keyboard.press("Control+A")
        page.keyboard.type("calm manner")
        for _ in range(30):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.name") == "rationale":
                break
        page.keyboard.type("Plainer")
        for _ in range(30):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.textContent.trim()") == "Submit proposal":
                break
        page.keyboard.press("Enter")
        page.locator("#propose-popover .propose-done").wait_for(state="visible")
    proposal = Proposal.objects.get()
    assert list(proposal.changes.values_list("start", "exact", "content")) == [
        (target, "restrained manner", "calm manner")]


def test_second_change_button_is_never_under_the_popover(live_server, sample_volume, people):
    with chromium_page() as page:
        sign_in(page, live_server.url, "editor", PAGE)
        page.evaluate(SELECT, ["article.tei-document", "restrained manner", "select"])
        page.locator(".propose-trigger").click()
        page.locator("#propose-popover form.propose-form").wait_for(state="visible")
        # The next words: the popover opened just below them.
        page.evaluate(SELECT, ["article.tei-document", "particularly in view", "select"])
        trigger = page.locator(".propose-trigger")
        trigger.wait_for(state="visible")
        trigger.scroll_into_view_if_needed()
        box = trigger.bounding_box()
        on_top = page.evaluate(
            "([x, y]) => document.elementFromPoint(x, y).matches('.propose-trigger')",
            [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2])
        assert on_top
        selected = page.evaluate("getSelection().getRangeAt(0).getClientRects()[0].top")
        assert box["y"] + box["height"] <= selected  # above the words, away from the form
        trigger.click()  # Playwright refuses to click a covered element
        page.wait_for_function(
            "() => document.querySelector('#propose-popover textarea[name=exact]')"
            "?.value === 'particularly in view'")


def test_a_footnote_is_picked_with_the_keyboard(live_server, sample_volume, people):
    """The caret steps over note markers; Tab reaches a footnote's number (a link), and
    Alt+P there opens the form to edit or remove that footnote."""
    with chromium_page() as page:
        sign_in(page, live_server.url, "editor", PAGE)
        focused = ""
        for _ in range(120):  # Tab through the page until the first footnote's number
            page.keyboard.press("Tab")
            focused = page.evaluate("""() => {
                const marker = document.activeElement.closest('article .fnref');
                const link = marker && marker.querySelector("a[id^='fnref-']");
                return link ? link.id : '';
            }""")
            if focused:
                break
        assert focused.startswith("fnref-")
        page.keyboard.press("Alt+KeyP")
        form = page.locator("#propose-popover form.propose-form")
        form.wait_for(state="visible")
        assert form.locator("input[name=kind][value=note-edit]").is_checked()
        assert form.locator("select[name=note_id]").input_value() == focused.removeprefix("fnref-")
