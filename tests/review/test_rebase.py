"""Approving a proposal rebases every other open proposal of the document (review/actions/approve.py, review/rebasing.py).

Each test approves on the sample's d142 and checks the others: shifted when far, flagged
"context changed" when touching, conflicted (with a reason, an event and a mail) when
overlapping; footnotes and structural fixes; grouped changes; the approval rules; and that the
number of queries of an approval does not grow with the number of far-away proposals.
"""

import re

import pytest
from lxml import etree
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext

from edition.models import Document, Revision
from edition.tei import XML_ID
from edition.tei.edits import block_xml, note_body_xml
from edition.tei.selectors import CONTEXT, selector
from review.actions import ProposalError
from review.actions.propose import ChangeSpec, do_propose
from review.actions.retarget import do_retarget
from review.models import Change, Event, Proposal
from tests.helpers import text_spec
from review.actions.approve import do_approve
from review.actions.decide import do_reject, do_withdraw

pytestmark = pytest.mark.django_db
Status = Proposal.Status


@pytest.fixture
def d142(sample_edition) -> Document:
    return sample_edition.documents.get(xml_id="d142")


# ---------------------------------------------------------------------------------------------
# Builders and the invariant


def head(document: Document) -> Revision:
    return Document.objects.select_related("current_revision").get(pk=document.pk).current_revision


def text(document: Document, exact: str, replacement: str, occurrence: int = 0) -> ChangeSpec:
    return text_spec(head(document), exact, replacement, occurrence=occurrence)


def point(document: Document, after: str, content: str, *, kind="text", occurrence=0):
    """An insertion (or a footnote) right after the `occurrence`-th `after`."""
    at = -1
    for _ in range(occurrence + 1):
        at = head(document).text.index(after, at + 1)
    at += len(after)
    return ChangeSpec(kind, at, at, content)


def note_edit(note_id: str, body: str) -> ChangeSpec:
    return ChangeSpec("note-edit", 0, 0, body, note_id=note_id)


def note_remove(note_id: str) -> ChangeSpec:
    return ChangeSpec("note-remove", 0, 0, note_id=note_id)


def block(document: Document, first: str, last: str) -> tuple[int, int]:
    """The range from the start of `first` to the end of `last` on the head revision."""
    t = head(document).text
    start = t.index(first)
    return start, t.index(last, start) + len(last)


def structure(document: Document, first: str, last: str, fragment: str) -> ChangeSpec:
    start, end = block(document, first, last)
    return ChangeSpec("structure", start, end, fragment, exact=head(document).text[start:end])


def current_block_xml(document: Document, first: str, last: str) -> str:
    return block_xml(head(document).element, *block(document, first, last))


def propose(document: Document, author, *changes: ChangeSpec, rationale="A fix") -> Proposal:
    return do_propose(document, author=author, base_revision=head(document).number,
                      changes=list(changes), rationale=rationale)


def reload(proposal: Proposal) -> Proposal:
    return Proposal.objects.get(pk=proposal.pk)


def only_change(proposal: Proposal) -> Change:
    [change] = Change.objects.filter(proposal=proposal)
    return change


def note_anchors(revision: Revision) -> dict[str, int]:
    return {a.element.get(XML_ID): a.offset for a in revision.layer.notes}


def note_bodies(revision: Revision) -> dict[str, str]:
    return {a.element.get(XML_ID): note_body_xml(a.element) for a in revision.layer.notes}


def events(proposal: Proposal, kind: str) -> list[Event]:
    return list(Event.objects.filter(proposal=proposal, kind=kind))


def assert_invariant(document: Document) -> None:
    """Every open proposal is anchored on the head: its quotes and footnotes are there."""
    current = head(document)
    anchors = note_anchors(current)
    for proposal in Proposal.objects.open().filter(document=document):
        assert proposal.anchor_revision == current, f"proposal {proposal.pk} not rebased"
        for c in proposal.changes.all():
            if c.kind in (Change.Kind.NOTE_EDIT, Change.Kind.NOTE_REMOVE):
                assert c.note_id in anchors, f"proposal {proposal.pk}: no footnote {c.note_id}"
                assert c.start == c.end == anchors[c.note_id], (
                    f"proposal {proposal.pk}: {c.note_id} is at {anchors[c.note_id]}, the "
                    f"change says {c.start}")
            else:
                assert current.text[c.start:c.end] == c.exact, f"proposal {proposal.pk}"
            quote = selector(current.text, c.start, c.end)
            assert (c.prefix, c.suffix) == (quote["prefix"], quote["suffix"])


# ---------------------------------------------------------------------------------------------


class TestShift:
    def test_approval_shifts_later_proposals_and_keeps_earlier_ones(self, d142, people,
                                                                    sample_edition):
        before = propose(d142, people.editor2, text(d142, "Prime Minister expressed", "PM said"))
        later = propose(d142, people.editor2, text(d142, "Cameroons", "Cameroun"))
        note = propose(d142, people.editor2, point(d142, "prestige of both countries", "Note.",
                                                   kind="note-add"))
        edit = propose(d142, people.editor2, note_edit("d142fn1", "Edited."))
        d144 = sample_edition.documents.get(xml_id="d144")
        elsewhere = propose(d144, people.editor2, text(d144, "Kishi", "Kishi Nobusuke"))
        old = {p.pk: only_change(p).start for p in (before, later, note, edit)}

        approved = propose(d142, people.editor, text(d142, "understanding and efforts",
                                                     "understanding"))
        at = only_change(approved).start
        revision = do_approve(approved, by=people.reviewer)

        assert revision.number == 2 and revision.change["steps"] == [[at, 25, 13]]
        assert only_change(reload(before)).start == old[before.pk]
        for p in (later, note, edit):
            assert only_change(reload(p)).start == old[p.pk] - 12
        for p in (before, later, note, edit):
            p = reload(p)
            assert p.status == Status.PENDING and not p.context_changed
            assert not p.events.exclude(kind=Event.Kind.CREATED).exists()
        assert reload(elsewhere).revision == head(d144)  # other documents are not touched
        assert_invariant(d142)

    def test_nearby_proposal_gets_its_new_context(self, d142, people):
        nearby = propose(d142, people.editor2, text(d142, "forth", "out"))
        assert only_change(nearby).start - head(d142).text.index("Seoul") < CONTEXT
        do_approve(propose(d142, people.editor, text(d142, "Seoul", "Pusan")), by=people.reviewer)
        change = only_change(nearby)
        assert change.prefix.endswith("from Pusan setting ")
        assert not reload(nearby).context_changed
        assert_invariant(d142)

    def test_proposals_on_both_sides_of_a_long_deletion(self, d142, people):
        first = propose(d142, people.editor2, text(d142, "Secretary Herter", "Mr. Herter"))
        last = propose(d142, people.editor2, text(d142, "Cameroons", "Cameroun"))
        deleted = " He mentioned that the Department had received a telegram from"
        do_approve(propose(d142, people.editor, text(d142, deleted, "")), by=people.reviewer)
        assert reload(first).status == reload(last).status == Status.PENDING
        assert_invariant(d142)

    def test_touching_proposals_are_flagged_context_changed(self, d142, people):
        left = propose(d142, people.editor2, text(d142, "telegram from ", "cable from "))
        right = propose(d142, people.editor2, text(d142, " setting forth", " stating"))
        do_approve(propose(d142, people.editor, text(d142, "Seoul", "Pusan")), by=people.reviewer)

        for p in (left, right):
            p = reload(p)
            assert p.status == Status.PENDING and p.context_changed
            [event] = events(p, Event.Kind.CONTEXT_CHANGED)
            assert "revision 2" in event.body
        assert_invariant(d142)
        # A second touching change does not repeat the event.
        do_approve(propose(d142, people.editor, text(d142, "forth a request", "forth the request")), 
            by=people.reviewer)
        assert len(events(right, Event.Kind.CONTEXT_CHANGED)) == 1
        assert_invariant(d142)

    def test_insertion_touching_a_range_stays_outside_it(self, d142, people):
        pending = propose(d142, people.editor2, text(d142, "Seoul", "Pusan"))
        do_approve(propose(d142, people.editor, point(d142, "from ", "the capital, ")), 
            by=people.reviewer)
        do_approve(propose(d142, people.editor, point(d142, "Seoul", ", Korea,")), 
            by=people.reviewer)
        assert reload(pending).status == Status.PENDING
        assert only_change(pending).prefix.endswith("from the capital, ")
        assert only_change(pending).suffix.startswith(", Korea,")
        assert_invariant(d142)
        revision = do_approve(reload(pending), by=people.reviewer)
        assert "from the capital, Pusan, Korea, setting" in revision.text


class TestConflicts:
    APPROVED = "the Cameroons"

    @pytest.mark.parametrize(
        ("shape", "pending"),
        [
            ("identical", lambda d: text(d, "the Cameroons", "the Cameroun")),
            ("pending contains", lambda d: text(d, "of the Cameroons for", "of Cameroon for")),
            ("pending inside", lambda d: text(d, "Cameroons", "Cameroun")),
            ("partial left", lambda d: text(d, "application of the", "application by the")),
            ("partial right", lambda d: text(d, "Cameroons for early", "Cameroun for early")),
            ("insertion inside", lambda d: point(d, "the Camer", "-")),
        ],
    )
    def test_overlapping_proposal_conflicts(self, d142, people, mailoutbox,
                                            django_capture_on_commit_callbacks, shape, pending):
        mine = propose(d142, people.editor2, pending(d142))
        before = only_change(mine)
        with django_capture_on_commit_callbacks(execute=True):
            do_approve(propose(d142, people.editor, text(d142, self.APPROVED, "Cameroun")), 
                by=people.reviewer)

        mine = reload(mine)
        assert mine.status == Status.CONFLICTED, shape
        assert mine.status_reason
        [event] = events(mine, Event.Kind.CONFLICTED)
        assert event.body == mine.status_reason
        # The author's offsets still point at the revision they were made on, to re-target.
        assert mine.revision.number == 1
        after = only_change(mine)
        assert (after.start, after.end, after.exact) == (before.start, before.end, before.exact)
        [mail] = [m for m in mailoutbox if "editor2@example.org" in m.to]
        assert "needs re-targeting" in mail.subject and mine.status_reason in mail.body
        assert_invariant(d142)

    def test_approved_insertion_inside_a_pending_range_conflicts(self, d142, people):
        mine = propose(d142, people.editor2, text(d142, "the Cameroons", "Cameroon"))
        do_approve(propose(d142, people.editor, point(d142, "the ", "former ", occurrence=0)), 
            by=people.reviewer)  # elsewhere: the first "the " of the document
        assert reload(mine).status == Status.PENDING
        do_approve(propose(d142, people.editor, point(d142, "the Camer", "-")), by=people.reviewer)
        mine = reload(mine)
        assert mine.status == Status.CONFLICTED
        assert mine.status_reason == "text was inserted inside this range"

    def test_insert_vs_insert_at_one_point_conflicts(self, d142, people):
        mine = propose(d142, people.editor2, point(d142, "Seoul", " (Korea)"))
        do_approve(propose(d142, people.editor, point(d142, "Seoul", ", Korea,")), by=people.reviewer)
        mine = reload(mine)
        assert mine.status == Status.CONFLICTED
        assert mine.status_reason == "another insertion was approved at the same point"

    def test_two_deletions_of_a_repeated_word(self, sample_edition, people):
        d144 = sample_edition.documents.get(xml_id="d144")
        # Make "the the", then two editors each remove one copy.
        do_approve(propose(d144, people.editor, point(d144, "outer space, ", "the ")), 
            by=people.reviewer)
        assert "the the exchange" in head(d144).text
        first = propose(d144, people.editor, text(d144, "the the", "the"))
        second = propose(d144, people.editor2, text(d144, "the the exchange", "the exchange"))
        do_approve(first, by=people.reviewer)
        assert reload(second).status == Status.CONFLICTED
        assert "the exchange of meteorological" in head(d144).text
        assert "the the" not in head(d144).text

    def test_approving_a_conflicted_proposal_fails(self, d142, people):
        mine = propose(d142, people.editor2, text(d142, "Cameroons", "Cameroun"))
        do_approve(propose(d142, people.editor, text(d142, "the Cameroons", "Cameroon")), 
            by=people.reviewer)
        revisions = Revision.objects.filter(document=d142).count()
        with pytest.raises(ProposalError) as raised:
            do_approve(reload(mine), by=people.reviewer2)
        assert raised.value.code == Status.CONFLICTED
        assert Revision.objects.filter(document=d142).count() == revisions
        assert reload(mine).status == Status.CONFLICTED
        assert not events(mine, Event.Kind.APPROVED)

    def test_the_author_retargets_a_conflicted_proposal(self, d142, people):
        mine = propose(d142, people.editor2, text(d142, "Cameroons", "Cameroun"))
        do_approve(propose(d142, people.editor, text(d142, "the Cameroons", "the Kamerun")), 
            by=people.reviewer)
        do_retarget(reload(mine), by=people.editor2, base_revision=head(d142).number,
                    changes=[text(d142, "Kamerun", "Cameroun")])
        assert reload(mine).status == Status.PENDING
        assert_invariant(d142)
        assert "the Cameroun for" in do_approve(reload(mine), by=people.reviewer).text


class TestFootnotes:
    def test_note_add_at_the_same_point_as_an_approved_note_add_conflicts(self, d142, people):
        mine = propose(d142, people.editor2, point(d142, "Viet Nam", "Mine.", kind="note-add"))
        do_approve(propose(d142, people.editor, point(d142, "Viet Nam", "Theirs.", kind="note-add")), 
            by=people.reviewer)
        mine = reload(mine)
        assert mine.status == Status.CONFLICTED
        assert mine.status_reason == "another footnote was approved at the same point"

    def test_note_add_at_another_point_is_kept_and_numbered_in_order(self, d142, people):
        later = propose(d142, people.editor2, point(d142, "Cameroons", "Later.", kind="note-add"))
        do_approve(propose(d142, people.editor, point(d142, "Viet Nam", "Earlier.", kind="note-add")), 
            by=people.reviewer)
        assert reload(later).status == Status.PENDING
        assert_invariant(d142)
        revision = do_approve(reload(later), by=people.reviewer)
        bodies = note_bodies(revision)
        assert [bodies[f"d142fn{n}"] for n in (1, 2, 3)] == [
            bodies["d142fn1"], "Earlier.", "Later."]

    def test_note_add_with_a_text_insertion_at_its_point(self, d142, people):
        note = propose(d142, people.editor2, point(d142, "Seoul", "Which telegram?",
                                                   kind="note-add"))
        do_approve(propose(d142, people.editor, point(d142, "Seoul", ", Korea,")), by=people.reviewer)
        note = reload(note)
        assert note.status == Status.PENDING and note.context_changed
        assert_invariant(d142)
        revision = do_approve(note, by=people.reviewer)
        assert revision.text.count("Seoul, Korea, setting") == 1
        # The footnote stays with the word before it: "Seoul", ahead of the inserted text.
        anchor = {body: a for a, body in
                  ((note_anchors(revision)[i], b) for i, b in note_bodies(revision).items())}
        assert revision.text[:anchor["Which telegram?"]].endswith("from Seoul")

    def test_note_add_whose_word_was_deleted_conflicts(self, d142, people):
        mine = propose(d142, people.editor2, point(d142, "very difficult", "Why?",
                                                   kind="note-add"))
        do_approve(propose(d142, people.editor, text(d142, " very difficult", "")), by=people.reviewer)
        mine = reload(mine)
        assert mine.status == Status.CONFLICTED
        assert mine.status_reason == "the words this footnote was anchored to were deleted"

    def test_note_add_whose_following_text_was_deleted_stays(self, d142, people):
        mine = propose(d142, people.editor2, point(d142, "very difficult", "Why?",
                                                   kind="note-add"))
        do_approve(propose(d142, people.editor, text(d142, " talks", "")), by=people.reviewer)
        mine = reload(mine)
        assert mine.status == Status.PENDING and mine.context_changed
        assert_invariant(d142)
        revision = do_approve(mine, by=people.reviewer)
        assert "very difficult with the Republic" in revision.text

    def test_note_add_in_a_deleted_range_conflicts(self, d142, people):
        mine = propose(d142, people.editor2, point(d142, "very", "Why?", kind="note-add"))
        do_approve(propose(d142, people.editor, text(d142, " very difficult", "")), by=people.reviewer)
        assert reload(mine).status == Status.CONFLICTED

    # A footnote adds no text, so no step map records it: these cases are checked against
    # the approved footnote's point itself (review.anchoring.against_added_notes).

    def test_deleting_the_words_an_approved_note_follows_conflicts(self, d142, people):
        deletion = propose(d142, people.editor2, text(d142, " very difficult", ""))
        do_approve(propose(d142, people.editor, point(d142, "very difficult", "Why?", kind="note-add")
                ), by=people.reviewer)
        deletion = reload(deletion)
        assert deletion.status == Status.CONFLICTED
        assert deletion.status_reason == "a footnote was approved on the words this change deletes"
        assert "Why?" in note_bodies(head(d142)).values()

    def test_replacing_text_around_an_approved_note_conflicts(self, d142, people):
        replacement = propose(d142, people.editor2, text(d142, "very difficult talks", "hard negotiations"))
        do_approve(propose(d142, people.editor, point(d142, "very difficult", "Why?", kind="note-add")
                ), by=people.reviewer)
        replacement = reload(replacement)
        assert replacement.status == Status.CONFLICTED
        assert replacement.status_reason == (
            "a footnote was approved inside the text this change replaces")

    def test_replacing_the_words_an_approved_note_follows_keeps_the_note(self, d142, people):
        replacement = propose(d142, people.editor2, text(d142, "very difficult", "very hard"))
        do_approve(propose(d142, people.editor, point(d142, "very difficult", "Why?", kind="note-add")
                ), by=people.reviewer)
        replacement = reload(replacement)
        assert replacement.status == Status.PENDING and replacement.context_changed
        assert_invariant(d142)
        revision = do_approve(replacement, by=people.reviewer)
        anchors, bodies = note_anchors(revision), note_bodies(revision)
        [note_id] = [i for i, body in bodies.items() if body == "Why?"]
        assert revision.text[:anchors[note_id]].endswith("very hard")

    def test_structural_fix_of_the_block_of_an_approved_note_conflicts(self, d142, people):
        xml = current_block_xml(d142, "The Prime Minister expressed the appreciation", "to any part of Korea.")
        fix = propose(d142, people.editor2, structure(
            d142, "The Prime Minister expressed the appreciation", "to any part of Korea.", xml.replace("<p", '<p rend="x"', 1)))
        do_approve(propose(d142, people.editor, point(d142, "very difficult", "Why?", kind="note-add")
                ), by=people.reviewer)
        fix = reload(fix)
        assert fix.status == Status.CONFLICTED
        assert fix.status_reason == (
            "a footnote was approved in the blocks this structural fix replaces")
        assert "Why?" in note_bodies(head(d142)).values()

    def test_a_proposal_made_before_an_approved_note_is_checked_against_it(self, d142, people):
        stale_base = head(d142).number
        deletion = text(d142, " very difficult", "")
        do_approve(propose(d142, people.editor, point(d142, "very difficult", "Why?", kind="note-add")
                ), by=people.reviewer)
        with pytest.raises(ProposalError) as raised:
            do_propose(d142, author=people.editor2, base_revision=stale_base,
                       changes=[deletion], rationale="x")
        assert raised.value.code == "stale"
        assert "a footnote was approved on the words this change deletes" in str(raised.value)

    def test_a_proposal_made_before_an_approved_note_elsewhere_is_mapped(self, d142, people):
        stale_base = head(d142).number
        deletion = text(d142, " talks", "")
        do_approve(propose(d142, people.editor, point(d142, "very difficult", "Why?", kind="note-add")
                ), by=people.reviewer)
        proposal = do_propose(d142, author=people.editor2, base_revision=stale_base,
                              changes=[deletion], rationale="x")
        assert only_change(proposal).exact == " talks"

    def test_deleting_the_words_an_existing_note_follows_is_refused(self, d142, people):
        with pytest.raises(ProposalError, match="takes away the words footnote 1 follows") as e:
            propose(d142, people.editor, text(d142, " from Seoul", ""))
        assert e.value.code == "note"
        # With the note removed in the same proposal, the deletion is fine.
        proposal = propose(d142, people.editor, text(d142, " from Seoul", ""),
                           note_remove("d142fn1"))
        revision = do_approve(proposal, by=people.reviewer)
        assert "d142fn1" not in note_anchors(revision) and "telegram setting" in revision.text

    def test_a_change_across_an_existing_note_marker_is_refused(self, d142, people):
        with pytest.raises(ProposalError, match="spans the marker of footnote 1") as e:
            propose(d142, people.editor, text(d142, "Seoul setting", "Seoul, setting"))
        assert e.value.code == "note"
        # Each side on its own is fine.
        propose(d142, people.editor, text(d142, "setting", "which set"))

    def test_note_edit_of_a_removed_note_conflicts(self, d142, people):
        mine = propose(d142, people.editor2, note_edit("d142fn1", "A better note."))
        do_approve(propose(d142, people.editor, note_remove("d142fn1")), by=people.reviewer)
        mine = reload(mine)
        assert mine.status == Status.CONFLICTED
        assert "d142fn1 was removed" in mine.status_reason

    def test_note_edit_of_an_edited_note_conflicts(self, d142, people):
        mine = propose(d142, people.editor2, note_edit("d142fn1", "Mine."))
        do_approve(propose(d142, people.editor, note_edit("d142fn1", "Theirs.")), by=people.reviewer)
        mine = reload(mine)
        assert mine.status == Status.CONFLICTED
        assert "d142fn1 was edited" in mine.status_reason
        assert note_bodies(head(d142))["d142fn1"] == "Theirs."

    def test_note_edit_follows_notes_renumbered_by_an_approved_note_add(self, d142, people):
        original = note_bodies(head(d142))["d142fn1"]
        mine = propose(d142, people.editor2, note_edit("d142fn1", "Edited."))
        removal = propose(d142, people.editor2, note_remove("d142fn1"))
        do_approve(propose(d142, people.editor, point(d142, "Republic of Korea", "New.", kind="note-add"),
                ), by=people.reviewer)
        assert note_bodies(head(d142))["d142fn2"] == original
        for p in (mine, removal):
            assert reload(p).status == Status.PENDING
            assert only_change(p).note_id == "d142fn2"
        assert_invariant(d142)
        revision = do_approve(reload(mine), by=people.reviewer)
        assert note_bodies(revision) | {"d142fn0": ""} == {
            "d142fn0": "", "d142fn1": "New.", "d142fn2": "Edited."}

    def test_note_edit_follows_notes_renumbered_by_an_approved_note_removal(self, d142, people):
        do_approve(propose(d142, people.editor, point(d142, "Republic of Korea", "New.", kind="note-add"),
                ), by=people.reviewer)
        mine = propose(d142, people.editor2, note_edit("d142fn2", "Edited."))
        do_approve(propose(d142, people.editor, note_remove("d142fn1")), by=people.reviewer)
        assert only_change(mine).note_id == "d142fn1"
        assert_invariant(d142)
        revision = do_approve(reload(mine), by=people.reviewer)
        assert note_bodies(revision)["d142fn1"] == "Edited."
        assert "d142fn2" not in note_bodies(revision)

    def test_note_edit_of_a_note_at_an_approved_insertion_point(self, d142, people):
        # Footnotes stay with the word before them: the approved insertion goes after the note
        # ("Seoul" + note + ","), and the pending edit still points at the note.
        mine = propose(d142, people.editor2, note_edit("d142fn1", "Edited."))
        do_approve(propose(d142, people.editor, point(d142, "Seoul", ",")), by=people.reviewer)
        assert note_anchors(head(d142))["d142fn1"] == head(d142).text.index("Seoul,") + 5
        assert reload(mine).status == Status.PENDING
        assert_invariant(d142)


class TestStructuralFixes:
    PARTICIPANTS = ('<list type="participants"><head>PARTICIPANTS</head>'
                    "<item>Prime Minister Kishi</item><item>Secretary Herter</item></list>")

    def test_proposals_in_other_blocks_shift(self, d142, people):
        title = propose(d142, people.editor2, text(d142, "Memorandum", "Memo"))
        subject = propose(d142, people.editor2, text(d142, "Problems Relating", "Problems"))
        paragraph = propose(d142, people.editor2, text(d142, "Cameroons", "Cameroun"))
        note = propose(d142, people.editor2, note_edit("d142fn1", "Edited."))
        old = {p.pk: only_change(p).start for p in (title, subject, paragraph, note)}
        before = head(d142).text
        revision = do_approve(propose(d142, people.editor, structure(
            d142, "PARTICIPANTS", "139.]", self.PARTICIPANTS)), by=people.reviewer)
        delta = len(revision.text) - len(before)
        assert "PARTICIPANTS\n\nPrime Minister Kishi\n\nSecretary Herter" in revision.text
        for p in (title, subject):
            assert only_change(reload(p)).start == old[p.pk]
        for p in (paragraph, note):
            assert only_change(reload(p)).start == old[p.pk] + delta
        for p in (title, subject, paragraph, note):
            assert reload(p).status == Status.PENDING
        assert_invariant(d142)

    def test_proposal_overlapping_the_changed_text_conflicts(self, d142, people):
        mine = propose(d142, people.editor2, text(d142, "same list", "list"))
        do_approve(propose(d142, people.editor, structure(d142, "PARTICIPANTS", "139.]", self.PARTICIPANTS),
                ), by=people.reviewer)
        assert reload(mine).status == Status.CONFLICTED

    def test_pending_structural_fix_of_the_same_block_conflicts(self, d142, people):
        # Two fixes of the dateline's markup, same text: approving one must not let the other
        # silently undo it.
        xml = current_block_xml(d142, "Washington", "p.m.")
        mine = propose(d142, people.editor2, structure(
            d142, "Washington", "p.m.", xml.replace('calendar="gregorian"', "")))
        do_approve(propose(d142, people.editor, structure(
            d142, "Washington", "p.m.", xml.replace('rendition="#right"', 'rendition="#left"')),
        ), by=people.reviewer)
        assert reload(mine).status == Status.CONFLICTED

    def test_structural_fix_adding_a_note_renumbers_pending_note_edits(self, d142, people):
        original = note_bodies(head(d142))["d142fn1"]
        mine = propose(d142, people.editor2, note_edit("d142fn1", "Edited."))
        with_note = self.PARTICIPANTS.replace("Kishi</item>", "Kishi<note>Added.</note></item>")
        do_approve(propose(d142, people.editor, structure(d142, "PARTICIPANTS", "139.]", with_note),
                ), by=people.reviewer)
        bodies = note_bodies(head(d142))
        assert (bodies["d142fn1"], bodies["d142fn2"]) == ("Added.", original)
        assert reload(mine).status == Status.PENDING
        assert only_change(mine).note_id == "d142fn2"
        assert_invariant(d142)

    def test_structural_fix_removing_a_note_conflicts_its_pending_edits(self, d142, people):
        mine = propose(d142, people.editor2, note_edit("d142fn1", "Edited."))
        xml = current_block_xml(d142, "The Prime Minister expressed", "part of Korea.")
        without_note = re.sub(r"<note [^>]*>.*?</note>", "", xml, flags=re.S)
        assert without_note != xml
        revision = do_approve(propose(d142, people.editor, structure(
            d142, "The Prime Minister expressed", "part of Korea.", without_note)), 
            by=people.reviewer)
        assert "d142fn1" not in note_anchors(revision)
        assert reload(mine).status == Status.CONFLICTED

    def test_pending_structural_fix_conflicts_when_text_is_added_at_its_block_edge(self, d142,
                                                                                  people):
        # The insertion touches the fix's range, so it is only "context changed" as a range;
        # but the block now ends after it, and the fix no longer covers a whole block.
        xml = current_block_xml(d142, "Washington", "p.m.")
        mine = propose(d142, people.editor2, structure(
            d142, "Washington", "p.m.", xml.replace('calendar="gregorian"', "")))
        do_approve(propose(d142, people.editor, point(d142, "5:30 p.m.", " (local time)")), 
            by=people.reviewer)
        assert reload(mine).status == Status.CONFLICTED

    def test_text_proposal_elsewhere_in_the_replaced_block_conflicts(self, d142, people):
        mine = propose(d142, people.editor2, text(d142, "Foreign Minister Fujiyama", "Fujiyama"))
        xml = current_block_xml(d142, "Foreign Minister Fujiyama", "membership applications.")
        split = xml.replace(" He inquired", "</p><p>He inquired", 1)
        assert split != xml
        do_approve(propose(d142, people.editor, structure(d142, "Foreign Minister Fujiyama",
                                               "membership applications.", split)), 
            by=people.reviewer)
        assert reload(mine).status == Status.CONFLICTED


class TestGroupedProposal:
    def test_all_changes_apply_in_one_revision_and_others_shift_between_them(self, d142,
                                                                             people):
        between = propose(d142, people.editor2, text(d142, "Secretary Herter replied",
                                                     "Herter replied"))
        after = propose(d142, people.editor2, text(d142, "this possibility", "this option"))
        old = {p.pk: only_change(p).start for p in (between, after)}
        grouped = propose(
            d142, people.editor,
            text(d142, "Seoul", "Seoul, Korea,"),  # +8, before `between`
            point(d142, "Viet Nam", "The Republic of Vietnam.", kind="note-add"),
            text(d142, "Cameroons", "Cameroun"),  # -1, between `between` and `after`
            text(d142, "Memorandum of Conversation", "Memorandum"),  # -16, in the title
        )
        revisions = Revision.objects.filter(document=d142).count()
        revision = do_approve(grouped, by=people.reviewer)

        assert Revision.objects.filter(document=d142).count() == revisions + 1
        assert revision.number == 2 and revision.change["proposal"] == grouped.pk
        assert len(revision.change["steps"]) == 3
        t = revision.text
        assert t.startswith("142. Memorandum\n\n") and "Seoul, Korea, setting" in t
        assert "the Cameroun for" in t
        assert "The Republic of Vietnam." in note_bodies(revision).values()
        assert reload(grouped).applied_revision == revision
        assert only_change(reload(between)).start == old[between.pk] - 16 + 8
        assert only_change(reload(after)).start == old[after.pk] - 16 + 8 - 1
        assert_invariant(d142)

    def test_a_grouped_proposal_conflicts_as_a_whole(self, d142, people):
        grouped = propose(d142, people.editor2, text(d142, "Memorandum", "Memo"),
                          text(d142, "Cameroons", "Cameroun"))
        do_approve(propose(d142, people.editor, text(d142, "the Cameroons", "Cameroon")), 
            by=people.reviewer)
        assert reload(grouped).status == Status.CONFLICTED
        # Neither change moved: the author re-targets the whole proposal.
        assert [c.start for c in grouped.changes.order_by("start")] == [
            c.start for c in reload(grouped).changes.order_by("start")]


class TestApprovalRules:
    def test_two_approvals_from_distinct_reviewers(self, d142, people, sample_edition):
        sample_edition.required_approvals = 2
        sample_edition.save()
        p = propose(d142, people.editor, text(d142, "Cameroons", "Cameroun"))
        assert do_approve(p, by=people.reviewer) is None
        assert reload(p).status == Status.PENDING and head(d142).number == 1
        with pytest.raises(ProposalError) as raised:
            do_approve(reload(p), by=people.reviewer)
        assert raised.value.code == "duplicate"
        revision = do_approve(reload(p), by=people.admin)
        assert revision.number == 2
        assert revision.change["approvers"] == sorted([people.reviewer.pk, people.admin.pk])
        assert len(events(p, Event.Kind.APPROVED)) == 2

    def test_a_proposal_waiting_for_its_second_approval_is_rebased(self, d142, people,
                                                                  sample_edition):
        sample_edition.required_approvals = 2
        sample_edition.save()
        waiting = propose(d142, people.editor, text(d142, "Cameroons", "Cameroun"))
        do_approve(waiting, by=people.reviewer)
        other = propose(d142, people.editor2, text(d142, "Seoul", "Pusan"))
        do_approve(other, by=people.reviewer)
        do_approve(other, by=people.reviewer2)
        assert_invariant(d142)
        assert do_approve(reload(waiting), by=people.reviewer2).number == 3

    def test_unapplicable_proposal_is_marked_conflicted_on_approval(
            self, d142, people, mailoutbox, django_capture_on_commit_callbacks):
        p = propose(d142, people.editor, text(d142, "Cameroons", "Cameroun"))
        # Quote and offsets hold, but the TEI cannot carry the change (as after a rebase that
        # missed something): the approval must leave the proposal conflicted, and say why.
        Change.objects.filter(proposal=p).update(content="Camer\noun")
        with django_capture_on_commit_callbacks(execute=True):
            with pytest.raises(ProposalError) as raised:
                do_approve(reload(p), by=people.reviewer)
        assert raised.value.code == "conflicted"
        assert head(d142).number == 1
        p = reload(p)
        assert p.status == Status.CONFLICTED and "line break" in p.status_reason
        assert len(events(p, Event.Kind.CONFLICTED)) == 1
        assert [m.to for m in mailoutbox] == [["editor@example.org"]]

    def test_reviewer_cannot_approve_own(self, d142, people):
        own = propose(d142, people.reviewer, text(d142, "Cameroons", "Cameroun"))
        with pytest.raises(PermissionDenied):
            do_approve(own, by=people.reviewer)
        assert reload(own).status == Status.PENDING
        assert not events(own, Event.Kind.APPROVED)

    def test_editor_cannot_approve(self, d142, people):
        p = propose(d142, people.editor2, text(d142, "Cameroons", "Cameroun"))
        with pytest.raises(PermissionDenied):
            do_approve(p, by=people.editor)
        assert reload(p).status == Status.PENDING

    @pytest.mark.parametrize("close", ["approve", "reject", "withdraw"])
    def test_closed_proposal_cannot_be_approved(self, d142, people, close):
        p = propose(d142, people.editor, text(d142, "Cameroons", "Cameroun"))
        if close == "approve":
            do_approve(p, by=people.reviewer)
        elif close == "reject":
            do_reject(p, by=people.reviewer, reason="No.")
        else:
            do_withdraw(p, by=people.editor)
        with pytest.raises(ProposalError):
            do_approve(reload(p), by=people.reviewer2)
        assert Revision.objects.filter(document=d142).count() == (2 if close == "approve" else 1)


class TestCost:
    @staticmethod
    def pending_far_away(document: Document, author, count: int) -> None:
        """`count` one-word proposals in the last paragraph, created in bulk."""
        revision = head(document)
        t = revision.text
        words = [m.span() for m in re.finditer(r"[a-z]{4,}", t[len(t) // 2:])]
        for i in range(count):
            start, end = (x + len(t) // 2 for x in words[i % len(words)])
            p = Proposal.objects.create(document=document, author=author, revision=revision,
                                        rationale=f"far {i}")
            Change.objects.create(proposal=p, kind="text", start=start, end=end,
                                  content=t[start:end].upper(), **selector(t, start, end))

    def approval_queries(self, document, people, far: int) -> int:
        self.pending_far_away(document, people.editor2, far)
        # Two neighbours of the approved change: one touching, one conflicting.
        propose(document, people.editor2, text(document, "Memorandum of", "Memo of"))
        propose(document, people.editor2, text(document, "Conversation", "Talk"))
        p = propose(document, people.editor, text(document, "Memorandum", "MEMORANDUM"))
        p = Proposal.objects.get(pk=p.pk)
        reviewer = type(people.reviewer).objects.get(pk=people.reviewer.pk)
        with CaptureQueriesContext(connection) as queries:
            do_approve(p, by=reviewer)
        assert_invariant(document)
        return len(queries)

    def test_approval_queries_do_not_grow_with_far_pending_proposals(self, sample_edition,
                                                                    people):
        few = self.approval_queries(sample_edition.documents.get(xml_id="d142"), people, 5)
        many = self.approval_queries(sample_edition.documents.get(xml_id="d144"), people, 200)
        assert few == many, (few, many)
        assert Proposal.objects.filter(status=Status.CONFLICTED).count() == 2


class TestOneApprovalsWork:
    """Issue 14, item 5: the text layer built once per approval, no re-parse of the tree."""

    def test_each_tree_has_its_layer_built_once(self, d142, people, monkeypatch):
        from edition.tei import textlayer

        built = []
        original = textlayer._build

        def counting(element):
            if element.get(XML_ID) == "d142":  # a whole document's layer, not a note's
                built.append(etree.tostring(element, encoding="unicode"))
            return original(element)

        monkeypatch.setattr(textlayer, "_build", counting)
        proposal = propose(d142, people.editor, text(d142, "Seoul", "Pusan"))
        before = head(d142)
        built.clear()
        revision = do_approve(proposal, by=people.reviewer)
        # The head's layer, to place the change in its tree; the new revision's, which
        # checked the change, served the gate, the renderers and the stored text column.
        assert built == [before.tei, revision.tei]
        assert Revision.objects.get(pk=revision.pk).text == textlayer.text_of(
            Revision.objects.get(pk=revision.pk).element)

    def test_the_revision_stored_is_the_tree_the_gate_checked(self, d142, people, monkeypatch):
        from edition import gate

        checked = []
        original = gate._render

        def recording(part, *, keep):
            checked.append((part.revision.element, part.revision.tei))
            return original(part, keep=keep)

        monkeypatch.setattr(gate, "_render", recording)
        proposal = propose(d142, people.editor, text(d142, "Seoul", "Pusan"))
        checked.clear()  # proposing checks what it would make
        revision = do_approve(proposal, by=people.reviewer)
        [(element, tei)] = checked
        assert tei == revision.tei == etree.tostring(element, encoding="unicode")
        assert "Pusan" in revision.tei and "Pusan" in revision.text


class TestMarkupWithText:
    def test_a_far_proposal_between_new_markup_and_a_later_edit_stays_where_it_is(
            self, d142, people):
        """One approval marking words early in the text and shortening a word late in it: a
        pending change between the two, far from both, keeps its offsets (the shift applies
        past the edit only, never past the marked words)."""
        from edition.tei.markup import Markup

        t = head(d142).text
        words = [m for m in re.finditer(r"\b[a-z]{6,}\b", t)]
        early = words[2]
        late = next(m for m in reversed(words) if t.count(m[0]) == 1)
        middle = next(m for m in words if early.end() + 2 * CONTEXT < m.start()
                      and m.end() + 2 * CONTEXT < late.start() and t.count(m[0]) == 1)
        pending = propose(d142, people.editor2, text(d142, middle[0], middle[0].upper()))
        marking = text_spec(head(d142), early[0], "", occurrence=t[:early.start()].count(
            early[0]), kind=Change.Kind.MARKUP)
        marking.content = Markup("wrap", "hi", {"rend": "italic"}).to_content()
        approved = propose(d142, people.editor, marking, text(d142, late[0], late[0][:-2]))

        assert do_approve(approved, by=people.reviewer) is not None
        assert reload(pending).status == Status.PENDING
        assert head(d142).text[only_change(pending).start:only_change(pending).end] == middle[0]
        assert_invariant(d142)
