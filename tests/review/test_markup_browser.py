"""The markup toolbar in Chromium: select a name, press “persName”, pick Kishi from the
volume's persons by typing part of his name, submit — nobody types an id."""

import pytest

from edition.imports import import_tei
from review.models import Proposal
from tests.browser import chromium_page
from tests.helpers import SAMPLES
from tests.review.test_browser_story import LISTEN, SELECT, sign_in, submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sample_edition(db):
    """The volume with its front matter: `people` are members of it."""
    return import_tei(SAMPLES / "frus1958-60v18-with-front-matter.xml").edition


def test_toolbar_wraps_a_name_picked_from_the_list_of_persons(live_server, sample_edition,
                                                               people):
    doc_path = "/frus1958-60v18/d142/"
    with chromium_page() as page:
        sign_in(page, live_server.url, "editor", doc_path)
        page.evaluate(LISTEN)
        assert page.evaluate(SELECT, ["article.tei-document", "Prime Minister expressed",
                                      "select"])
        toolbar = page.locator(".propose-markup-toolbar")
        toolbar.wait_for(state="visible")
        toolbar.get_by_role("button", name="persName").click()
        form = page.locator("#propose-popover form.propose-form")
        form.wait_for(state="visible")
        assert form.locator("input[name=kind][value=markup]").is_checked()
        assert form.locator("select[name=markup_element]").input_value() == "persName"
        who = form.locator("input[name=attr_corresp]")
        who.fill("kish")
        page.wait_for_function("""() => [...document.querySelectorAll(
            '#propose-registers option')].some((o) => o.value === '#p_KN1')
            && document.querySelectorAll('#propose-registers option').length < 10""")
        who.fill("#p_KN1")  # what choosing the suggestion does
        number = submit(page, form, "Kishi, in the List of Persons")
    change = Proposal.objects.get(pk=number).changes.get()
    assert change.exact == "Prime Minister expressed"
    assert (change.markup.element, change.markup.attributes) == ("persName",
                                                                 {"corresp": "#p_KN1"})


@pytest.mark.parametrize("width", [1280, 390])
def test_toolbar_stays_inside_the_window(live_server, sample_edition, people, width):
    """Eight buttons are wider than a phone: beside the trigger where there is room, else under
    it, wrapping, never past the window's edge (where no one could press them)."""
    with chromium_page() as page:
        page.set_viewport_size({"width": width, "height": 900})
        sign_in(page, live_server.url, "editor", "/frus1958-60v18/d142/")
        page.evaluate(LISTEN)
        assert page.evaluate(SELECT, ["article.tei-document", "Prime Minister expressed",
                                      "select"])
        toolbar = page.locator(".propose-markup-toolbar")
        toolbar.wait_for(state="visible")
        box, trigger = toolbar.bounding_box(), page.locator(".propose-trigger").bounding_box()
        assert 0 <= box["x"] and box["x"] + box["width"] <= width
        for name in ("persName", "ref"):
            button = toolbar.get_by_role("button", name=name).bounding_box()
            assert button["x"] + button["width"] <= width
        if width == 1280:  # room beside the trigger: one row, on its line
            assert box["x"] >= trigger["x"] + trigger["width"] and box["y"] == trigger["y"]
        else:
            assert box["y"] >= trigger["y"] + trigger["height"]
