"""In Chromium: an editor whose footnote edit would nest the document past EMEND_MAX_TEI_DEPTH
(edition/gate.py) reads why, in the proposing form, and nothing is stored."""

import pytest

from edition.models import Document
from review.models import Proposal
from tests.browser import chromium_page
from tests.review.test_browser_story import LISTEN, open_form, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_footnote_edit_nesting_past_the_limit_is_refused_with_the_reason(
        live_server, tmp_path, sample_volume, people):
    d142 = Document.objects.get(edition=sample_volume, xml_id="d142")
    # A footnote 80 levels deep, as approved before (under the limit of 100).
    tei = d142.current_revision.tei
    deep = ("<p>Deep words" + "<hi>" * 78 + 'here<note xml:id="d142fn50" n="50">A deep note.'
            "</note>" + "</hi>" * 78 + " end.</p>")
    assert tei.count("</div>") and tei.rstrip().endswith("</div>")
    d142.add_revision(tei.rstrip()[:-len("</div>")] + deep + "</div>", by=None, summary="t")

    with chromium_page() as page:
        sign_in(page, live_server.url, "editor", "/frus1958-60v18/d142/")
        page.evaluate(LISTEN)
        form = open_form(page, "#fn-d142fn50", "A deep note", "select",
                         "Edit or remove this footnote")
        # 30 levels: under the fragment limit (32), but 80 + 30 is past the document's 100.
        form.locator("textarea[name=note_edit_body]").fill(
            "<hi>" * 30 + "A deeper note." + "</hi>" * 30)
        form.locator("textarea[name=rationale]").fill("Emphasis")
        form.get_by_role("button", name="Submit proposal").click()
        alert = page.locator("#propose-popover [role=alert]")
        alert.wait_for(state="visible")
        page.screenshot(path=str(tmp_path / "refused.png"), full_page=False)
        words = alert.inner_text()
        assert "levels deep, more than the 100 every page and export is proven to handle" in words
        assert "EMEND_MAX_TEI_DEPTH" in words
        assert "flatten the nested markup" in words
    assert not Proposal.objects.exists()
