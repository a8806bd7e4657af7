"""Batch proposals in Chromium: an editor previews a replacement across the edition, unticks
one place and submits; a reviewer opens the batch from the queue and approves all. axe-core
finds no serious or critical violation on the preview, the batch page and the queue, at 1280
and 390 px."""

import pytest

from edition.models import Document
from review.models import Proposal, ProposalBatch
from tests.browser import chromium_page
from tests.test_accessibility_browser import serious
from tests.review.test_batches import BODY  # the same small volume
from tests.review.test_browser_story import sign_in, sign_out

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def volume(tmp_path):
    from edition.imports import import_tei
    from tests.helpers import make_member, volume_tei

    path = tmp_path / "vol.xml"
    path.write_text(volume_tei(BODY, slug="frus-batch"), encoding="utf-8")
    edition = import_tei(path).edition
    make_member(edition, "editor", "editor")
    make_member(edition, "reviewer", "reviewer")
    return edition


@pytest.mark.parametrize("width", [1280, 390])
def test_editor_previews_and_submits_reviewer_approves_all(live_server, volume, width):
    base = live_server.url
    found = {}
    with chromium_page() as page:
        page.set_viewport_size({"width": width, "height": 900})
        sign_in(page, base, "editor", f"/{volume.slug}/batches/new/?find=139142")
        assert page.get_by_label("Find").input_value() == "139142"
        page.get_by_label("Replace with").fill("139–142")
        page.get_by_role("button", name="Preview").click()
        page.wait_for_load_state()
        assert page.get_by_role("heading", name="4 matches in 3 documents").is_visible()
        found["preview"] = serious(page)
        boxes = page.locator('input[name="match"]')
        assert boxes.count() == 4
        boxes.nth(3).focus()
        page.keyboard.press("Space")  # d4's stays as it is
        assert not boxes.nth(3).is_checked()
        page.get_by_label("Rationale").fill("Restore the en dashes lost by the import")
        page.get_by_role("button", name="Propose in the ticked places").click()
        page.wait_for_load_state()
        assert "Proposed in 2 documents" in page.content()
        found["batch (editor)"] = serious(page)
        sign_out(page)

        sign_in(page, base, "reviewer", "/review/queue/")
        item = page.get_by_role("link", name="Replace “139142” with “139–142” in 2 documents")
        assert item.is_visible()
        found["queue"] = serious(page)
        item.click()
        page.wait_for_load_state()
        found["batch (reviewer)"] = serious(page)
        page.get_by_role("button", name="Approve all that apply").click()
        page.wait_for_load_state()
        assert "2 of 2 approved" in page.content()
    assert {where: v for where, v in found.items() if v} == {}
    batch = ProposalBatch.objects.get()
    assert set(batch.proposals.values_list("status", flat=True)) == {Proposal.Status.APPROVED}
    d4 = Document.objects.select_related("current_revision").get(edition=volume, xml_id="d4")
    assert "139142" in d4.current_revision.text
