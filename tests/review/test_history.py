"""History: the diff of two revisions, reverting a change, and the history page.

The diff is public and cacheable for long (revisions are immutable); a revert is a proposal
like any other, made by members who may propose, and refused when a later approved change
touched what it would undo.
"""

import random
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from lxml import html
from edition.models import Document
from review.actions.propose import ChangeSpec, do_propose
from review.corrections import notes_of
from review.models import Change, Proposal
from tests.helpers import text_spec
from review.actions.approve import do_approve

pytestmark = pytest.mark.django_db
XSS = "<script>alert('x')</script>"
D142 = "/frus1958-60v18/d142"


def head(xml_id="d142"):
    return Document.objects.select_related("current_revision").get(xml_id=xml_id).current_revision


def approved(people, specs, *, rationale="Typo in the source", doc="d142", author=None):
    """Propose `specs` (a function of the head revision) and approve: the new revision."""
    document = Document.objects.select_related("current_revision").get(xml_id=doc)
    revision = document.current_revision
    proposal = do_propose(document, author=author or people.editor,
                          base_revision=revision.number, changes=specs(revision),
                          rationale=rationale)
    return do_approve(proposal, by=people.reviewer)


def text_change(exact, replacement, **kwargs):
    return lambda revision: [text_spec(revision, exact, replacement, **kwargs)]


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return html.fromstring(response.content)


def words(element) -> str:
    return " ".join(element.text_content().split())


# ------------------------------------------------------------------------------------------
# The diff of two revisions


class TestRevisionDiff:
    def test_anonymous_sees_word_diff_with_links_to_both(self, client, people):
        approved(people, text_change("Japanese Government for", "Government of Japan for"))
        tree = page(client, f"{D142}/diff/1/2/")
        assert tree.xpath("//del[contains(., 'Japanese')]")
        assert tree.xpath("//ins[contains(., 'of Japan')]")
        assert tree.xpath(f"//a[@href='{D142}/r/1/']") and tree.xpath(f"//a[@href='{D142}/r/2/']")
        assert "No footnote changed" in words(tree)

    def test_each_change_is_an_anchor_linked_to_the_next_and_previous(self, client, people):
        approved(people, lambda revision: [text_spec(revision, "Secretary Herter", "Mr. Herter"),
                                           text_spec(revision, "Mr. Parsons", "Parsons")])
        tree = page(client, f"{D142}/diff/1/2/")
        changes = tree.cssselect(".diff-full .change")
        assert [c.get("id") for c in changes] == ["change-1", "change-2"]
        assert tree.cssselect('.change-count a[href="#change-1"]')
        assert "2 changes in the text" in words(tree)
        first_nav, second_nav = tree.cssselect(".diff-full .change-nav")
        assert [a.get("href") for a in first_nav.cssselect("a")] == ["#change-2"]
        assert [a.get("href") for a in second_nav.cssselect("a")] == ["#change-1"]
        assert first_nav.cssselect("a")[0].get("aria-label") == "Next change (2 of 2)"
        assert changes[0].cssselect("del") and changes[0].cssselect("ins")

    def test_history_links_open_the_diff_at_the_first_change(self, client, people):
        approved(people, text_change("Secretary Herter", "Mr. Herter"))
        tree = page(client, f"{D142}/history/")
        assert tree.cssselect(f'a[href="{D142}/diff/1/2/#change-1"]')

    def test_missing_revision_is_404(self, client, people):
        approved(people, text_change("Secretary Herter", "Mr. Herter"))
        assert client.get(f"{D142}/diff/1/9/").status_code == 404
        assert client.get(f"{D142}/diff/0/2/").status_code == 404
        assert client.get("/frus1958-60v18/d999/diff/1/2/").status_code == 404

    def test_etag_and_long_cache(self, client, people):
        approved(people, text_change("Secretary Herter", "Mr. Herter"))
        first = client.get(f"{D142}/diff/1/2/")
        assert "max-age=86400" in first["Cache-Control"] and "public" in first["Cache-Control"]
        assert client.get(f"{D142}/diff/1/2/", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
        # A later approval does not change this page.
        approved(people, text_change("Mr. Parsons", "Parsons"))
        assert client.get(f"{D142}/diff/1/2/", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304

    def test_signed_in_copy_is_private(self, client, people):
        approved(people, text_change("Secretary Herter", "Mr. Herter"))
        client.force_login(people.stranger)
        response = client.get(f"{D142}/diff/1/2/")
        assert "private" in response["Cache-Control"]

    def test_reversed_and_identical(self, client, people):
        approved(people, text_change("Secretary Herter", "Mr. Herter"))
        tree = page(client, f"{D142}/diff/2/1/")
        assert tree.xpath("//ins[contains(., 'Secretary')]")
        assert "identical" in words(page(client, f"{D142}/diff/2/2/"))

    def test_compare_form_redirects_to_the_canonical_address(self, client, people):
        approved(people, text_change("Secretary Herter", "Mr. Herter"))
        response = client.get(f"{D142}/diff/1/2/?a=2&b=1")
        assert response.status_code == 302
        assert response["Location"] == f"{D142}/diff/2/1/#change-1"
        assert client.get(f"{D142}/diff/1/2/?a=x&b=1").status_code == 400

    def test_footnotes_added_changed_removed(self, client, people):
        # A note before footnote 1 renumbers it: the diff follows it by the recorded renames.
        point = head().text.index("to north Korea.") + 15
        approved(people, lambda r: [ChangeSpec("note-add", point, point, "A new note.")])
        approved(people, lambda r: [ChangeSpec("note-edit", 0, 0, "Telegram 516 from Seoul.",
                                               note_id="d142fn2")])
        tree = page(client, f"{D142}/diff/1/3/")
        items = [words(li) for li in tree.xpath("//ul[@class='note-changes']/li")]
        assert items[0] == "Footnote 1 added: A new note."
        assert items[1].startswith("Footnote 2 changed: Telegram")
        assert len(items) == 2
        assert tree.xpath("//li[@class='note-changed']//ins[contains(., '516')]")
        assert tree.xpath("//li[@class='note-changed']//del[contains(., '515')]")
        approved(people, lambda r: [ChangeSpec("note-remove", 0, 0, note_id="d142fn1")])
        items = [words(li) for li in page(client, f"{D142}/diff/3/4/").xpath(
            "//ul[@class='note-changes']/li")]
        # The renumbered telegram note is not reported as changed.
        assert items == ["Footnote 1 removed: A new note."]

    def test_replacement_is_escaped(self, client, people):
        # Not markup (a text correction holding a tag is refused), still escaped.
        approved(people, text_change("Secretary Herter", "Herter <3 & co"))
        response = client.get(f"{D142}/diff/1/2/")
        assert b"<3" not in response.content
        assert b"&lt;3" in response.content


# ------------------------------------------------------------------------------------------
# Reverting


def revert(client, user, number, reason="The source says so", doc="d142"):
    if user is not None:
        client.force_login(user)
    return client.post(f"/frus1958-60v18/{doc}/r/{number}/revert/", {"reason": reason})


class TestRevertPermissions:
    def test_anonymous_is_sent_to_sign_in(self, client, people):
        approved(people, text_change("Secretary Herter", "Mr. Herter"))
        response = revert(client, None, 2)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
        assert not Proposal.objects.filter(reverts__isnull=False).exists()

    def test_stranger_gets_404(self, client, people):
        approved(people, text_change("Secretary Herter", "Mr. Herter"))
        assert revert(client, people.stranger, 2).status_code == 404
        assert not Proposal.objects.filter(reverts__isnull=False).exists()

    def test_forged_get_is_405(self, client, people):
        approved(people, text_change("Secretary Herter", "Mr. Herter"))
        client.force_login(people.editor)
        assert client.get(f"{D142}/r/2/revert/").status_code == 405

    def test_missing_revision_is_404(self, client, people):
        assert revert(client, people.editor, 7).status_code == 404

    def test_reason_is_required(self, client, people):
        approved(people, text_change("Secretary Herter", "Mr. Herter"))
        response = revert(client, people.editor, 2, reason="  ")
        assert response.status_code == 302 and response["Location"] == f"{D142}/history/#r2"
        assert not Proposal.objects.filter(reverts__isnull=False).exists()

    def test_first_revision_cannot_be_reverted(self, client, people):
        response = revert(client, people.editor, 1)
        assert response.status_code == 302
        assert not Proposal.objects.filter(reverts__isnull=False).exists()
        assert "no change to revert" in words(page(client, response["Location"]))


class TestRevert:
    def test_editor_proposes_the_inverse_of_a_text_change(self, client, people):
        revision = approved(people, text_change("Secretary Herter", "Mr. Herter"))
        response = revert(client, people.editor, 2, reason="Herter was Secretary")
        proposal = Proposal.objects.get(reverts=revision)
        assert response.status_code == 302
        assert response["Location"] == f"/review/proposals/{proposal.pk}/"
        assert proposal.status == "pending" and proposal.author == people.editor
        assert proposal.rationale == "Revert revision 2: Herter was Secretary"
        [change] = proposal.changes.all()
        assert (change.kind, change.exact, change.content) == ("text", "Mr. Herter",
                                                               "Secretary Herter")
        do_approve(proposal, by=people.reviewer)
        assert head().text == head().parent.parent.text

    def test_revert_after_an_unrelated_later_change(self, client, people):
        original = head().text
        approved(people, text_change("the Japanese Government recognized",
                                     "the Government of Japan recognized"))
        # Earlier in the text: every offset of revision 2's change moves.
        approved(people, text_change("The Prime Minister expressed the appreciation",
                                     "Kishi expressed appreciation"))
        revert(client, people.editor, 2)
        proposal = Proposal.objects.get(reverts__number=2)
        do_approve(proposal, by=people.reviewer)
        expected = original.replace("The Prime Minister expressed the appreciation",
                                    "Kishi expressed appreciation")
        assert head().text == expected

    def test_revert_refused_when_a_later_change_touched_it(self, client, people):
        approved(people, text_change("Secretary Herter expressed", "Mr. Herter expressed"))
        approved(people, text_change("Mr. Herter expressed", "Christian Herter noted"))
        response = revert(client, people.editor, 2)
        assert response["Location"] == f"{D142}/history/#r2"
        assert not Proposal.objects.filter(reverts__isnull=False).exists()
        message = words(page(client, response["Location"]))
        assert "revision 2's change was since modified by revision 3" in message
        assert "propose a correction instead" in message

    @pytest.mark.parametrize("seed", range(5))
    def test_reverting_one_of_many_disjoint_changes_keeps_the_others(self, client, people,
                                                                     seed):
        # Words of one paragraph replaced in random order by longer or shorter ones, then one
        # change reverted: the result is the text with every other change, wherever it moved.
        rng = random.Random(seed)
        original = head().text
        paragraph = original.index("Foreign Minister Fujiyama mentioned")
        words_at = [m.start() + paragraph for m in re.finditer(r"\b[a-z]{4,}\b",
                                                               original[paragraph:])]
        chosen = sorted(rng.sample(words_at[::3][:40], 6))
        changes = []
        for start in rng.sample(chosen, len(chosen)):
            word = re.match(r"[a-z]+", original[start:]).group()
            new = rng.choice([word.upper(), word[:2], word + "-" + word])
            changes.append((start, word, new))
        for start, word, new in changes:
            # Offsets on the head: earlier changes moved them.
            moved = start + sum(len(n) - len(w) for s, w, n in changes[:changes.index(
                (start, word, new))] if s < start)
            approved(people, lambda r, m=moved, w=word, n=new: [
                ChangeSpec("text", m, m + len(w), n, exact=w)])
        victim = rng.randrange(len(changes))
        response = revert(client, people.editor, victim + 2)
        do_approve(Proposal.objects.get(reverts__number=victim + 2), by=people.reviewer)
        expected = original
        for start, word, new in sorted((c for i, c in enumerate(changes) if i != victim),
                                       reverse=True):
            expected = expected[:start] + new + expected[start + len(word):]
        assert response.status_code == 302 and head().text == expected

    def test_multi_change_proposal_is_reverted_whole(self, client, people):
        original = head().text
        approved(people, lambda r: [text_spec(r, "Secretary Herter", "Mr. Herter"),
                                    text_spec(r, "Foreign Minister Fujiyama", "Fujiyama")])
        revert(client, people.editor, 2)
        do_approve(Proposal.objects.get(reverts__number=2), by=people.reviewer)
        assert head().text == original

    def test_open_revert_is_not_duplicated(self, client, people):
        approved(people, text_change("Secretary Herter", "Mr. Herter"))
        revert(client, people.editor, 2)
        first = Proposal.objects.get(reverts__number=2)
        response = revert(client, people.reviewer, 2)
        assert response["Location"] == f"/review/proposals/{first.pk}/"
        assert Proposal.objects.filter(reverts__number=2).count() == 1

    def test_footnote_edit_add_and_remove_are_reverted(self, client, people):
        def notes(revision):
            return [(n.label, n.text) for n in notes_of(revision.element).values()]

        first = head()
        approved(people, lambda r: [ChangeSpec("note-edit", 0, 0, "Telegram 516.",
                                               note_id="d142fn1")])
        revert(client, people.editor, 2)
        do_approve(Proposal.objects.get(reverts__number=2), by=people.reviewer)
        assert notes(head()) == notes(first)
        point = head().text.index("to north Korea.") + 15
        approved(people, lambda r: [ChangeSpec("note-add", point, point,
                                               '<hi rend="italic">New</hi>.')])
        revert(client, people.editor, 4)
        proposal = Proposal.objects.get(reverts__number=4)
        assert [(c.kind, c.note_id) for c in proposal.changes.all()] == [("note-remove",
                                                                          "d142fn1")]
        do_approve(proposal, by=people.reviewer)
        assert notes(head()) == notes(first)
        approved(people, lambda r: [ChangeSpec("note-remove", 0, 0, note_id="d142fn1")])
        revert(client, people.editor, 6)
        proposal = Proposal.objects.get(reverts__number=6)
        assert [c.kind for c in proposal.changes.all()] == ["note-add"]
        do_approve(proposal, by=people.reviewer)
        assert head().text == first.text
        assert notes(head()) == notes(first)
        assert [a.offset for a in head().layer.notes] == [a.offset for a in first.layer.notes]

    def test_structural_fix_is_reverted_block_by_block(self, client, people):
        first = head()
        start = first.text.index("Washington, January 19")
        end = first.text.index("p.m.") + 4
        dateline = ("<opener><dateline>Washington, January 19, 1960, 3:30–5:30 "
                    "p.m.</dateline></opener><p>[A paragraph the editor added.]</p>")
        approved(people, lambda r: [ChangeSpec("structure", start, end, dateline)])
        # A later, unrelated text change in another block does not stop the revert.
        approved(people, text_change("Secretary Herter", "Mr. Herter"))
        revert(client, people.editor, 2)
        proposal = Proposal.objects.get(reverts__number=2)
        assert [c.kind for c in proposal.changes.all()] == ["structure"]
        do_approve(proposal, by=people.reviewer)
        assert head().text == first.text.replace("Secretary Herter", "Mr. Herter", 1)

    def test_edit_outside_review_is_reverted_by_its_block(self, client, people):
        first = head()
        document = Document.objects.select_related("current_revision", "edition").get(
            xml_id="d142")
        document.add_revision(first.tei.replace("Parsons</persName> added",
                                                "Parsons</persName> noted"),
                              by=None, summary="Admin fix")
        revert(client, people.editor, 2)
        proposal = Proposal.objects.get(reverts__number=2)
        [change] = proposal.changes.all()
        assert change.kind == "structure" and change.exact.startswith("Foreign Minister")
        do_approve(proposal, by=people.reviewer)
        assert head().text == first.text

    def test_structural_revert_refused_when_the_block_changed_since(self, client, people):
        first = head()
        start = first.text.index("Washington, January 19")
        end = first.text.index("p.m.") + 4
        approved(people, lambda r: [ChangeSpec(
            "structure", start, end,
            "<opener><dateline>Washington, January 19, 1960.</dateline></opener>")])
        approved(people, text_change("January 19, 1960.", "January 19, 1960, afternoon."))
        response = revert(client, people.editor, 2)
        assert not Proposal.objects.filter(reverts__isnull=False).exists()
        assert "since modified" in words(page(client, response["Location"]))


# ------------------------------------------------------------------------------------------
# The history page


class TestHistoryPage:
    @pytest.fixture
    def history(self, people):
        approved(people, text_change("Secretary Herter", "Mr. Herter"),
                 rationale=f"Style {XSS}")
        return people

    def rows(self, tree):
        return tree.xpath("//table[@class='history']/tbody/tr")

    def test_rows_show_proposer_approvers_rationale_and_diff(self, client, history):
        tree = page(client, f"{D142}/history/")
        newest = self.rows(tree)[0]
        cells = [words(td) for td in newest.xpath("td")]
        assert cells[2].startswith("Revision 2 (current)")
        assert f"Style {XSS}" in cells[4]
        assert cells[5:] == ["editor", "reviewer"]
        assert newest.xpath(f".//a[@href='{D142}/diff/1/2/#change-1']")

    def test_rationale_is_escaped(self, client, history):
        response = client.get(f"{D142}/history/")
        assert b"<script>alert" not in response.content
        assert b"&lt;script&gt;" in response.content

    def test_compare_form_works_without_javascript(self, client, history):
        tree = page(client, f"{D142}/history/")
        [form] = tree.xpath("//form[@id='compare']")
        assert form.get("method") == "get"
        checked = {i.get("name"): i.get("value") for i in tree.xpath(
            "//input[@form='compare'][@checked]")}
        assert checked == {"a": "1", "b": "2"}
        response = client.get(form.get("action"), {"a": "2", "b": "1"})
        assert response["Location"] == f"{D142}/diff/2/1/#change-1"

    def test_revert_button_for_proposers_only(self, client, history):
        path = f"//form[@action='{D142}/r/2/revert/']"
        assert not page(client, f"{D142}/history/").xpath(path)
        client.force_login(history.stranger)
        assert not page(client, f"{D142}/history/").xpath(path)
        client.force_login(history.editor)
        tree = page(client, f"{D142}/history/")
        [form] = tree.xpath(path)
        assert form.get("method") == "post" and form.xpath(".//textarea[@name='reason']")
        # Revision 1 (the import) has nothing to revert.
        assert not tree.xpath(f"//form[@action='{D142}/r/1/revert/']")

    def test_revert_row_links_the_reverted_revision(self, client, history):
        revert(client, history.editor, 2)
        do_approve(Proposal.objects.get(reverts__number=2), by=history.reviewer)
        tree = page(client, f"{D142}/history/")
        assert self.rows(tree)[0].xpath(f".//a[@href='{D142}/r/2/' and contains(., 'revision 2')]")

    def test_queries_do_not_grow_with_revisions(self, client, history):
        def count() -> int:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(f"{D142}/history/").status_code == 200
            return len(queries)

        client.force_login(history.editor)
        count()  # the person's roles (the header's Queue link) are cached from then on
        few = count()
        for i in range(4):
            herter = ["Mr. Herter", "Secretary Herter"]
            approved(history, text_change(herter[i % 2], herter[1 - i % 2]))
        assert count() == few <= 8


def test_change_kinds_cover_every_inverse():
    # A new kind of change needs an inverse in review.reverting: this fails to remind.
    assert set(Change.Kind.values) == {"text", "note-add", "note-edit", "note-remove",
                                       "structure", "metadata", "markup"}
