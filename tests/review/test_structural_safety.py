"""Structural fixes never silently undo an approved change (issue: structural fixes that can
never lose data). A structural fix's fragment holds the old TEI of its blocks, so everything
inside them — text, footnotes, blocks inserted among them — approved since it was proposed
makes it conflicted (pending) or stale (proposed on an older revision). Blocks inserted next to
them are not a change to them.

d142's blocks: head, opener, SUBJECT list, PARTICIPANTS list, paragraph 1 (holds footnote
d142fn1), paragraph 2.
"""

import pytest

from edition.models import Document, Revision
from edition.tei.edits import block_xml, note_body_xml
from review.actions import ProposalError
from review.actions.approve import do_approve
from review.actions.propose import ChangeSpec, do_propose
from review.models import Proposal

pytestmark = pytest.mark.django_db
Status = Proposal.Status
PARAGRAPH_1 = ("The Prime Minister expressed", "the United Nations.")


@pytest.fixture
def d142(sample_edition) -> Document:
    return sample_edition.documents.get(xml_id="d142")


def head(document: Document) -> Revision:
    return Document.objects.select_related("current_revision").get(pk=document.pk).current_revision


def paragraph_1(revision: Revision) -> tuple[int, int]:
    text = revision.text
    start = text.index(PARAGRAPH_1[0])
    return start, text.index("\n\n", start)


def structural_fix_of_paragraph_1(revision: Revision) -> ChangeSpec:
    """Paragraph 1 again, one word changed: its fragment carries footnote d142fn1 as it was."""
    start, end = paragraph_1(revision)
    fragment = block_xml(revision.element, start, end).replace("restrained", "calm", 1)
    return ChangeSpec("structure", start, end, fragment, exact=revision.text[start:end])


def propose(document, author, *changes, base=None) -> Proposal:
    return do_propose(document, author=author, changes=list(changes), rationale="fix",
                      base_revision=base or head(document).number)


def note_body(document: Document, note_id: str) -> str:
    return note_body_xml(head(document).layer.note(note_id).element)


EN_DASH_NOTE = "Telegram 1884–1948, the dates restored."


class TestAFootnoteEditedInsideTheBlocks:
    def test_pending_structural_fix_becomes_conflicted_and_the_edit_survives(self, d142,
                                                                              people):
        fix = propose(d142, people.editor, structural_fix_of_paragraph_1(head(d142)))
        do_approve(propose(d142, people.editor,
                           ChangeSpec("note-edit", 0, 0, EN_DASH_NOTE, note_id="d142fn1")),
                   by=people.reviewer)
        fix.refresh_from_db()
        assert fix.status == Status.CONFLICTED
        assert "footnote in the blocks this structural fix replaces" in fix.status_reason
        with pytest.raises(ProposalError):
            do_approve(fix, by=people.reviewer)
        assert note_body(d142, "d142fn1") == EN_DASH_NOTE

    def test_structural_fix_made_on_the_older_revision_is_refused_as_stale(self, d142, people):
        first = head(d142)
        do_approve(propose(d142, people.editor,
                           ChangeSpec("note-edit", 0, 0, EN_DASH_NOTE, note_id="d142fn1")),
                   by=people.reviewer)
        with pytest.raises(ProposalError) as refused:
            propose(d142, people.editor, structural_fix_of_paragraph_1(first), base=1)
        assert refused.value.code == "stale"
        assert note_body(d142, "d142fn1") == EN_DASH_NOTE

    def test_a_removed_footnote_does_not_come_back(self, d142, people):
        fix = propose(d142, people.editor, structural_fix_of_paragraph_1(head(d142)))
        do_approve(propose(d142, people.editor, ChangeSpec("note-remove", 0, 0,
                                                           note_id="d142fn1")),
                   by=people.reviewer)
        fix.refresh_from_db()
        assert fix.status == Status.CONFLICTED
        assert head(d142).layer.note("d142fn1") is None


class TestTextApprovedAtTheEdgeOfTheBlocks:
    def test_an_insertion_at_the_end_of_the_last_word_conflicts(self, d142, people):
        fix = propose(d142, people.editor, structural_fix_of_paragraph_1(head(d142)))
        _, end = paragraph_1(head(d142))
        do_approve(propose(d142, people.editor, ChangeSpec("text", end, end, " [sic]")),
                   by=people.reviewer)
        fix.refresh_from_db()
        assert fix.status == Status.CONFLICTED
        assert "[sic]" in head(d142).text

    def test_the_same_insertion_refuses_a_stale_structural_fix(self, d142, people):
        first = head(d142)
        _, end = paragraph_1(first)
        do_approve(propose(d142, people.editor, ChangeSpec("text", end, end, " [sic]")),
                   by=people.reviewer)
        with pytest.raises(ProposalError) as refused:
            propose(d142, people.editor, structural_fix_of_paragraph_1(first), base=1)
        assert refused.value.code == "stale"


DATELINE = "<opener><dateline>Tokyo, January 19, 1960</dateline></opener>"


class TestABlockInsertedNextToTheBlocks:
    def insert_before_paragraph_1(self, revision: Revision) -> ChangeSpec:
        start, _ = paragraph_1(revision)
        return ChangeSpec("structure", start, start, "<p>Inserted before.</p>")

    def test_is_not_a_conflict_and_both_apply(self, d142, people):
        fix = propose(d142, people.editor, structural_fix_of_paragraph_1(head(d142)))
        do_approve(propose(d142, people.editor, self.insert_before_paragraph_1(head(d142))),
                   by=people.reviewer)
        fix.refresh_from_db()
        assert fix.status == Status.PENDING, fix.status_reason
        revision = do_approve(fix, by=people.reviewer)
        assert "Inserted before.\n\nThe Prime Minister" in revision.text
        assert "calm" in revision.text and "restrained" not in revision.text

    def test_nor_for_a_structural_fix_made_on_the_older_revision(self, d142, people):
        first = head(d142)
        do_approve(propose(d142, people.editor, self.insert_before_paragraph_1(first)),
                   by=people.reviewer)
        fix = propose(d142, people.editor, structural_fix_of_paragraph_1(first), base=1)
        revision = do_approve(fix, by=people.reviewer)
        assert "Inserted before.\n\nThe Prime Minister" in revision.text

    def test_blocks_inserted_among_the_blocks_conflict(self, d142, people):
        revision = head(d142)
        text = revision.text
        start = text.index("SUBJECT")
        end = text.index("Document 139.]") + len("Document 139.]")  # both lists
        fragment = block_xml(revision.element, start, end)
        fix = propose(d142, people.editor, ChangeSpec("structure", start, end, fragment,
                                                      exact=text[start:end]))
        between = text.index("PARTICIPANTS")
        do_approve(propose(d142, people.editor,
                           ChangeSpec("structure", between, between, "<p>Between.</p>")),
                   by=people.reviewer)
        fix.refresh_from_db()
        assert fix.status == Status.CONFLICTED
        assert "inserted among" in fix.status_reason


# ---------------------------------------------------------------------------------------------
# The source note survives structural fixes and reverts


def heading_fix(revision: Revision, fragment: str) -> ChangeSpec:
    text = revision.text
    end = text.index("\n\n")
    return ChangeSpec("structure", 0, end, fragment, exact=text[:end])


class TestTheSourceNote:
    def test_a_heading_fix_that_leaves_it_out_is_refused(self, d142, people):
        with pytest.raises(ProposalError) as refused:
            propose(d142, people.editor,
                    heading_fix(head(d142), "<head>142. Memorandum of Conversation</head>"))
        assert "source note would be lost" in refused.value.message
        assert head(d142).layer.note("d142fn0") is not None

    def test_a_second_source_note_is_refused(self, d142, people):
        revision = head(d142)
        start, end = paragraph_1(revision)
        fragment = block_xml(revision.element, start, end).replace(
            "</p>", '<note type="source">Source: another.</note></p>', 1)
        with pytest.raises(ProposalError, match="one source note"):
            propose(d142, people.editor, ChangeSpec("structure", start, end, fragment,
                                                    exact=revision.text[start:end]))

    def test_a_fragment_without_its_id_keeps_the_id(self, d142, people):
        revision = head(d142)
        fragment = block_xml(revision.element, 0, revision.text.index("\n\n")).replace(
            ' xml:id="d142fn0"', "")
        assert "d142fn0" not in fragment
        new = do_approve(propose(d142, people.editor, heading_fix(revision, fragment)),
                         by=people.reviewer)
        assert new.layer.note("d142fn0") is not None

    def test_reverting_a_heading_fix_keeps_the_source_note_and_its_id(self, d142, people,
                                                                       client):
        revision = head(d142)
        fragment = block_xml(revision.element, 0, revision.text.index("\n\n")).replace(
            "Memorandum of Conversation", "Memorandum of a Conversation", 1)
        changed = do_approve(propose(d142, people.editor, heading_fix(revision, fragment)),
                             by=people.reviewer)
        client.force_login(people.editor)
        response = client.post(f"/frus1958-60v18/d142/r/{changed.number}/revert/",
                               {"reason": "The printed title has no article."})
        assert response.status_code == 302
        revert = Proposal.objects.get(reverts=changed)
        reverted = do_approve(revert, by=people.reviewer)
        assert "Memorandum of Conversation" in reverted.text
        source = reverted.layer.note("d142fn0")
        assert source is not None and source.element.get("type") == "source"
