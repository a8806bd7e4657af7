"""The issue's story in Chromium: an editor proposes three fixes to d143 from the reading view,
a reviewer decides on them in the queue without a page reload, the public sees the result.

Also: the proposing script's offsets agree with the server's text layer on every block."""

import re

import pytest

from edition.imports import create_document
from edition.models import Document
from edition.tei import TEI_NS
from review.models import Change, Proposal
from tests.browser import chromium_page, serious

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DATELINE = "Washington, January 19, 1960, 3:30–5:30 p.m."

# Put the selection (or a caret: where="before"/"after") on the first occurrence of `text` in
# the text nodes under `selector`, as a person dragging or clicking would.
SELECT = """([selector, text, where]) => {
  const walker = document.createTreeWalker(document.querySelector(selector), NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const i = node.data.indexOf(text);
    if (i < 0) continue;
    const range = document.createRange();
    range.setStart(node, where === "after" ? i + text.length : i);
    if (where === "select") range.setEnd(node, i + text.length);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    return true;
  }
  return false;
}"""


# Collect the ids of proposalCreated events (the HTMX trigger of a successful submission).
LISTEN = """window.__created = [];
  document.body.addEventListener("proposalCreated", (e) => window.__created.push(e.detail.id));"""


def sign_in(page, base: str, username: str, next_path: str) -> None:
    page.goto(f"{base}/accounts/login/?next={next_path}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw-" + username * 2)
    page.get_by_role("button", name="Sign in").click()
    # Not a glob on next_path: the sign-in page's own address (…?next=/review/) matches it.
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    page.wait_for_load_state()


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()


def open_form(page, selector: str, text: str, where: str, trigger: str):
    assert page.evaluate(SELECT, [selector, text, where]), f"{text!r} not under {selector}"
    button = page.locator(".propose-trigger")
    button.wait_for(state="visible")
    assert button.inner_text() == trigger
    button.click()
    form = page.locator("#propose-popover form.propose-form")
    form.wait_for(state="visible")
    return form


def submit(page, form, rationale: str) -> int:
    form.locator("textarea[name=rationale]").fill(rationale)
    form.get_by_role("button", name="Submit proposal").click()
    done = page.locator("#propose-popover .propose-done")
    done.wait_for(state="visible")
    number = int(re.search(r"Proposal (\d+) submitted", done.inner_text())[1])
    assert page.evaluate("window.__created").pop() == number  # the proposalCreated event
    return number


def test_propose_review_and_publish_d143(live_server, tmp_path, sample_volume, people):
    doc_path = "/frus1958-60v18/d143/"
    first = Document.objects.get(xml_id="d143").current_revision
    base = live_server.url

    with chromium_page() as page:
        # -- the editor, in the reading view ------------------------------------------------
        sign_in(page, base, "editor", doc_path)
        page.evaluate(LISTEN)

        # 1. The source note's ranges lost their en-dashes: edit that footnote.
        form = open_form(page, "#fn-d143fn0", "139142", "select", "Edit or remove this footnote")
        assert form.locator("input[name=kind][value=note-edit]").is_checked()
        body = form.locator("textarea[name=note_edit_body]")
        assert "Documents 139142 and 144146." in body.input_value()
        body.fill(body.input_value().replace("139142", "139–142").replace("144146", "144–146"))
        page.screenshot(path=str(tmp_path / "1-footnote-edit.png"), full_page=True)
        note_edit = submit(page, form, "The ranges lost their en-dashes in the scrape.")
        # The dialog, now saying what was submitted, is still named (by that line).
        assert serious(page) == []

        # 2. An editorial footnote after "tantamount to recognition."
        form = open_form(page, "article.tei-document", "tantamount to recognition.", "after",
                         "Propose here")
        assert form.locator("input[name=kind][value=note-add]").is_checked()
        point = first.text.index("tantamount to recognition.") + len("tantamount to recognition.")
        assert form.locator("input[name=start]").input_value() == str(point)
        form.locator("textarea[name=note_body]").fill(
            'Kishi refers to the flag incident at Nagasaki; see <hi rend="italic">Foreign '
            "Relations</hi>, 1958–1960, vol. XIX.")
        page.screenshot(path=str(tmp_path / "2-footnote-add.png"), full_page=True)
        note_add = submit(page, form, "Readers need the context of the incident.")

        # 3. The dateline is missing: insert it before the SUBJECT list.
        form = open_form(page, "article.tei-document", "SUBJECT", "before", "Propose here")
        assert form.locator("input[name=kind][value=structure]").is_checked()
        assert form.locator("input[name=placement][value=before]").is_checked()
        assert form.locator("input[name=start]").input_value() == str(first.text.index("SUBJECT"))
        form.locator("textarea[name=fragment]").fill(
            f"<opener><dateline>{DATELINE}</dateline></opener>")
        page.screenshot(path=str(tmp_path / "3-structure.png"), full_page=True)
        structure = submit(page, form, "The scrape lost the dateline; it is in the printed volume.")

        kinds = dict(Proposal.objects.values_list("pk", "changes__kind"))
        assert kinds == {note_edit: Change.Kind.NOTE_EDIT, note_add: Change.Kind.NOTE_ADD,
                         structure: Change.Kind.STRUCTURE}
        sign_out(page)

        # -- the reviewer, in the queue: no page reload -------------------------------------
        sign_in(page, base, "reviewer", "/review/queue/")
        page.evaluate("window.__storyMarker = 'same page'")
        queue_url = page.url
        for pk in (note_edit, structure):
            row = page.locator(f"#proposal-{pk}")
            row.get_by_role("button", name="Approve").click()
            page.locator(f"#proposal-{pk} .outcome").wait_for(state="visible")
            assert "Approved and applied as revision" in page.locator(f"#proposal-{pk} .outcome").inner_text()
        assert serious(page) == []  # a decided row's muted text keeps its contrast
        row = page.locator(f"#proposal-{note_add}")
        row.locator("details.row-reject summary").click()
        row.locator("textarea[name=reason]").fill("Footnote 1 already describes the incident.")
        row.get_by_role("button", name="Reject").click()
        page.locator(f"#proposal-{note_add} .outcome").wait_for(state="visible")
        assert "Rejected" in page.locator(f"#proposal-{note_add} .outcome").inner_text()
        assert page.evaluate("window.__storyMarker") == "same page" and page.url == queue_url
        page.screenshot(path=str(tmp_path / "4-queue.png"), full_page=True)
        sign_out(page)

        # -- the public page, its history, and the first revision ---------------------------
        page.goto(f"{base}{doc_path}")
        assert page.locator(".propose-root").count() == 0
        assert page.locator("article p.dateline").inner_text() == DATELINE
        source = page.locator("#fn-d143fn0").inner_text()
        assert "Documents 139–142 and 144–146." in source
        assert "Nagasaki" not in page.locator("article").inner_text()
        page.screenshot(path=str(tmp_path / "5-public.png"), full_page=True)

        page.goto(f"{base}{doc_path}history/")
        history = page.locator("table.history tbody tr")
        assert history.count() == 3
        newest = history.nth(0).inner_text()
        assert "Revision 3" in newest and "editor" in newest and "reviewer" in newest
        assert "editor" in history.nth(1).inner_text() and "reviewer" in history.nth(1).inner_text()
        page.screenshot(path=str(tmp_path / "6-history.png"), full_page=True)

        page.goto(f"{base}{doc_path}r/1/")
        assert "Documents 139142 and 144146." in page.locator("#fn-d143fn0").inner_text()
        assert page.locator("article p.dateline").count() == 0
        assert "revision 1" in page.locator(".revision-banner").inner_text()


def test_script_offsets_agree_with_the_text_layer(live_server, tmp_path, sample_volume, people):
    """Selecting the whole of each block gives exactly the server's offsets and quote."""
    edition = sample_volume
    tei = (f'<div xmlns="{TEI_NS}" type="document" xml:id="d900" n="900"><head>900. Odd</head>'
           "<p>Before \U0001d504\U0001d505 the q\u0307 word<lb/>and  cafe\u0301\u00a0after.</p>"
           "<list><label>a.</label><item>One <pb n='9'/>item</item></list></div>")
    create_document(edition, "d900", tei, {"number": 900, "title": "Odd"}, order=900, by=None,
                    summary="test")
    with chromium_page() as page:
        sign_in(page, live_server.url, "editor", "/frus1958-60v18/d142/")
        for xml_id in ("d142", "d143", "d144", "d900"):
            text = Document.objects.get(xml_id=xml_id).current_revision.text
            page.goto(f"{live_server.url}/frus1958-60v18/{xml_id}/")
            found = page.evaluate("""() => {
                const article = document.querySelector("article.tei-document");
                return [...article.querySelectorAll("[data-o]")].map((block) => {
                  const range = document.createRange();
                  range.selectNodeContents(block);
                  return [+block.dataset.o, window.emendPropose.describe(article, range)];
                });
            }""")
            assert found, xml_id
            for o, got in found:
                end = text.find("\n\n", o)
                end = len(text) if end == -1 else end
                # A block's contents end where a nested block begins (none in these documents).
                assert (got["start"], got["end"], got["exact"]) == (o, end, text[o:end]), xml_id
                assert got["prefix"] == text[max(o - 32, 0):o]
                assert got["suffix"] == text[end:end + 32]
        # Code points, not UTF-16 units: 𝔄𝔅 count one each.
        page.evaluate(SELECT, ["article.tei-document", "the q\u0307 word", "select"])
        got = page.evaluate("""() => window.emendPropose.describe(
            document.querySelector("article.tei-document"), window.getSelection().getRangeAt(0))""")
        text = Document.objects.get(xml_id="d900").current_revision.text
        assert got["start"] == text.index("the q\u0307") and got["exact"] == "the q\u0307 word"


def test_two_selections_grouped_into_one_proposal(live_server, tmp_path, people):
    text = Document.objects.get(xml_id="d142").current_revision.text
    with chromium_page() as page:
        sign_in(page, live_server.url, "editor", "/frus1958-60v18/d142/")
        page.evaluate(LISTEN)
        form = open_form(page, "article.tei-document", "restrained manner", "select",
                         "Propose a change")
        assert form.locator("textarea[name=replacement]").input_value() == "restrained manner"
        form.locator("textarea[name=replacement]").fill("calm manner")
        form.locator("textarea[name=rationale]").fill("Two fixes at once")
        form.get_by_role("button", name="Add another change").click()
        page.locator("#propose-popover .propose-queue li").wait_for(state="visible")

        # A second selection goes into the open form: the queue and the rationale stay.
        form = open_form(page, "article.tei-document", "voluntary repatriation", "select",
                         "Propose a change")
        start = form.locator("input[name=start]")
        page.wait_for_function(
            "n => document.querySelector('#propose-popover input[name=start]').value === n",
            arg=str(text.index("voluntary repatriation")))
        assert form.locator(".propose-queue li").count() == 1
        assert form.locator("textarea[name=rationale]").input_value() == "Two fixes at once"
        assert start.input_value() == str(text.index("voluntary repatriation"))
        form.locator("textarea[name=replacement]").fill("voluntary return")
        page.screenshot(path=str(tmp_path / "grouped.png"), full_page=True)
        number = submit(page, form, "Two fixes at once")
    proposal = Proposal.objects.get(pk=number)
    assert sorted(proposal.changes.values_list("exact", "content")) == [
        ("restrained manner", "calm manner"), ("voluntary repatriation", "voluntary return")]


def test_form_works_without_javascript(live_server, tmp_path, people):
    text = Document.objects.get(xml_id="d142").current_revision.text
    with chromium_page() as page:
        page = page.context.browser.new_context(java_script_enabled=False).new_page()
        sign_in(page, live_server.url, "editor", "/frus1958-60v18/d142/")
        page.get_by_role("link", name="propose a change with a form").click()
        page.wait_for_url("**/d142/propose/")
        page.get_by_label("Passage", exact=True).fill("the Republic of Korea")
        page.get_by_label("Corrected text").fill("the ROK")
        page.get_by_label("Why?").fill("House style")
        page.get_by_role("button", name="Find the passage").click()
        # It occurs several times: the page lists them; choose the third.
        choices = page.locator("input[name=choice]")
        assert choices.count() > 3
        choices.nth(2).check()
        page.screenshot(path=str(tmp_path / "nojs-choices.png"), full_page=True)
        page.get_by_role("button", name="Submit proposal").click()
        page.wait_for_url("**/review/proposals/*/")
        assert "submitted" in page.locator(".messages").inner_text()
    change = Proposal.objects.get().changes.get()
    starts = [i for i in range(len(text)) if text.startswith("the Republic of Korea", i)]
    assert (change.start, change.content) == (starts[2], "the ROK")
