"""Issue 11's story in Chromium: an editor proposes a correction on a document with page images,
seeing the printed page of the selection; the reviewer goes from the queue to the proposal,
sees the page image with the changed words outlined where the OCR found them, zooms with the
keyboard, and approves. At 1280 and 390 px, with axe-core."""

import pytest

from edition import pages
from edition.models import Document, PageImage
from review.models import Proposal
from tests import pageimages
from tests.browser import chromium_page, serious
from tests.review.test_browser_story import LISTEN, open_form, sign_in, sign_out, submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

D144 = "/frus1958-60v18/d144/"



# The client rectangle of the OCR box of `word` on the figure's image, as displayed now.
WORD_RECT = """([figure, box, width]) => {
  const img = document.querySelector(figure + " img").getBoundingClientRect();
  const k = img.width / width;
  return {x: img.left + box[0] * k, y: img.top + box[1] * k, width: box[2] * k, height: box[3] * k};
}"""


def overlap(a, b) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


def outlined(page, figure: str, word_box: list, width: int) -> bool:
    """Some outline on the figure covers the word's OCR box, as both are displayed."""
    word = page.evaluate(WORD_RECT, [figure, word_box, width])
    boxes = page.locator(f"{figure} rect.page-box")
    return any(overlap(boxes.nth(i).bounding_box(), word) for i in range(boxes.count()))


@pytest.fixture
def scanned(settings, tmp_path, sample_edition, people):
    # The excerpt as imported (d142, d144): d143 from plain text has no place in the skeleton,
    # so it comes last in the volume while its order is before d144's.
    settings.MEDIA_ROOT = tmp_path / "media"
    pages.sync(sample_edition)
    pageimages.attach(Document.objects.get(xml_id="d144"))
    return settings.MEDIA_ROOT


def test_reviewer_checks_the_change_on_the_printed_page_and_approves(live_server, scanned,
                                                                     tmp_path):
    base = live_server.url
    page_279 = PageImage.objects.get(n="279")
    word = next(w for w in page_279.ocr_words if w[0] == "Peninsula")
    with chromium_page() as page:
        pageimages.serve_media(page, scanned)
        page.set_viewport_size({"width": 1280, "height": 900})

        # -- the editor selects "Ise Peninsula": the form shows page 279, the words outlined --
        sign_in(page, base, "editor", D144)
        page.evaluate(LISTEN)
        form = open_form(page, "article.tei-document", "Ise Peninsula", "select",
                         "Propose a change")
        figure = "#propose-popover .propose-page figure"
        page.locator(figure).wait_for(state="visible")
        assert page.locator(f"{figure} .page-label").inner_text() == "[Page 279]"
        page.wait_for_function(f"() => document.querySelector('{figure} img').naturalWidth > 0")
        assert outlined(page, figure, word[1:5], page_279.width)
        page.locator(figure).scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / "1-propose-form.png"))
        form.locator("textarea[name=replacement]").fill("Ise Bay")
        number = submit(page, form, "The printed page reads Ise Bay.")
        sign_out(page)

        # -- the reviewer: from the queue to the proposal ------------------------------------
        sign_in(page, base, "reviewer", "/review/queue/")
        page.locator(f"#proposal-{number} a[href$='/proposals/{number}/']").first.click()
        page.wait_for_url(f"**/proposals/{number}/")
        figure = "article.change figure.page-figure"
        page.locator(figure).wait_for(state="visible")
        assert page.locator(f"{figure} .page-label").inner_text() == "[Page 279]"
        page.wait_for_function(f"() => document.querySelector('{figure} img').naturalWidth > 0")
        box = page.locator(f"{figure} rect.page-box").first
        box.wait_for(state="attached")
        assert outlined(page, figure, word[1:5], page_279.width)
        # The outline is in the frame's view (scrolled there if need be).
        frame_box = page.locator(f"{figure} .page-frame").bounding_box()
        first = box.bounding_box()
        assert frame_box["y"] <= first["y"] <= frame_box["y"] + frame_box["height"]
        page.screenshot(path=str(tmp_path / "2-proposal-1280.png"), full_page=True)
        assert serious(page) == []

        # The keyboard zooms the image; the outlines follow it.
        frame = page.locator(f"{figure} .page-frame")
        frame.focus()
        width = page.locator(f"{figure} img").bounding_box()["width"]
        page.keyboard.press("+")
        page.keyboard.press("+")
        assert page.locator(f"{figure} img").bounding_box()["width"] > width * 1.5
        box.scroll_into_view_if_needed()
        assert outlined(page, figure, word[1:5], page_279.width)
        page.keyboard.press("ArrowDown")
        page.keyboard.press("0")
        assert abs(page.locator(f"{figure} img").bounding_box()["width"] - width) < 1
        page.screenshot(path=str(tmp_path / "3-proposal-zoomed.png"))

        # 390 px: one column, nothing wider than the screen, the words still outlined.
        page.set_viewport_size({"width": 390, "height": 844})
        page.reload()
        page.locator(figure).wait_for(state="visible")
        page.wait_for_function(f"() => document.querySelector('{figure} img').naturalWidth > 0")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert outlined(page, figure, word[1:5], page_279.width)
        page.screenshot(path=str(tmp_path / "4-proposal-390.png"), full_page=True)
        assert serious(page) == []

        # Approve.
        page.set_viewport_size({"width": 1280, "height": 900})
        page.get_by_role("button", name="Approve").click()
        page.locator("#decision-panel .status-approved").wait_for(state="visible")
        page.screenshot(path=str(tmp_path / "5-approved.png"))
    proposal = Proposal.objects.get(pk=number)
    assert proposal.status == Proposal.Status.APPROVED
    assert "Ise Bay" in Document.objects.get(xml_id="d144").current_revision.text


def test_ocr_evidence_on_the_suggestions_and_proposal_pages(live_server, scanned, people,
                                                           tmp_path):
    from edition.models import Suggestion
    from review.actions.propose import do_propose
    from tests.helpers import text_spec

    d144 = Document.objects.select_related("current_revision").get(xml_id="d144")
    page_279 = PageImage.objects.get(n="279")
    text = d144.current_revision.text
    at = text.index("hurricanes")
    region = next(w for w in page_279.ocr_words if w[0] == "hurricanes.")[1:5]
    suggestion = Suggestion.objects.create(
        document=d144, revision=d144.current_revision, check_name=Suggestion.Check.OCR,
        change="text", exact="hurricanes", prefix=text[at - 32:at], suffix=text[at + 10:at + 42],
        replacement="hurricancs", page=page_279, confidence=71.5, region=region,
        explanation="The page image reads “hurricancs”.")
    with chromium_page() as page:
        pageimages.serve_media(page, scanned)
        for width in (1280, 390):
            page.set_viewport_size({"width": width, "height": 900})
            sign_in(page, live_server.url, "editor", "/frus1958-60v18/suggestions/")
            item = page.locator(f"#suggestion-{suggestion.pk}")
            crop = item.locator(".page-crop svg")
            crop.wait_for(state="visible")
            # The region's outline is inside the crop as drawn.
            outline, drawn = item.locator("rect.page-region").bounding_box(), crop.bounding_box()
            assert drawn["x"] <= outline["x"] and outline["x"] + outline["width"] <= drawn["x"] + drawn["width"] + 1
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            item.screenshot(path=str(tmp_path / f"suggestion-{width}.png"))
            assert serious(page) == []
            sign_out(page)
        proposal = do_propose(d144, author=people.editor, base_revision=1,
                              changes=[text_spec(d144.current_revision, "hurricanes", "hurricancs")],
                              rationale="The OCR read it so")
        proposal.suggestion = suggestion
        proposal.save(update_fields=["suggestion"])
        page.set_viewport_size({"width": 1280, "height": 900})
        sign_in(page, live_server.url, "reviewer", proposal.get_absolute_url())
        section = page.locator("section.ocr-evidence")
        section.wait_for(state="visible")
        assert "hurricancs" in section.inner_text() and "72%" in section.inner_text()
        assert page.locator("section.ocr-evidence rect.page-region").count() == 1
        page.screenshot(path=str(tmp_path / "proposal-evidence.png"), full_page=True)
        assert serious(page) == []
