"""Re-anchoring open proposals across a revision without a step map (review/reanchoring.py):
a re-import (`import_tei --update`) or an edit outside review.

Proposals are made on the sample's d142, then a changed copy of the excerpt is re-imported.
A proposal whose quote and context are found unchanged stays open, moved; anything less is never
applied silently: needs review (with the place found, for the author to confirm by re-targeting)
or orphaned (nothing found), with the reason on the proposal, in its timeline and in a mail.
"""

import re

import pytest
from lxml import html

from edition.imports import import_tei
from edition.models import Document, Revision
from edition.tei.edits import block_xml, child_spans
from review.actions import ProposalError
from review.actions.approve import check_approve
from review.actions.decide import do_request_changes
from review.actions.propose import ChangeSpec, do_propose
from review.models import Event, Proposal
from review.reanchoring import Found
from tests.helpers import EXCERPT, revise, text_spec

pytestmark = pytest.mark.django_db
Status = Proposal.Status

INSERTED = "At the outset the Secretary welcomed the Prime Minister. "


@pytest.fixture
def d142(sample_edition) -> Document:
    return sample_edition.documents.get(xml_id="d142")


def head(document: Document) -> Revision:
    return Document.objects.select_related("current_revision").get(pk=document.pk).current_revision


def propose_text(document, author, exact: str, replacement: str) -> Proposal:
    spec = text_spec(head(document), exact, replacement)
    return do_propose(document, author=author, base_revision=head(document).number,
                      changes=[spec], rationale="A correction")


def propose(document, author, spec: ChangeSpec) -> Proposal:
    return do_propose(document, author=author, base_revision=head(document).number,
                      changes=[spec], rationale="A correction")


def note_add_after(document, after: str, body: str) -> ChangeSpec:
    at = head(document).text.index(after) + len(after)
    return ChangeSpec("note-add", at, at, body)


def words(xml: str, old: str, new: str) -> str:
    """`xml` with the words `old` (whatever whitespace separates them in the file) → `new`."""
    pattern = r"\s+".join(re.escape(w) for w in old.split())
    changed, n = re.subn(pattern, new, xml, count=1)
    assert n == 1, f"{old!r} is not in the excerpt"
    return changed


def reimport(tmp_path, *edits, xml: str | None = None):
    """Re-import the excerpt with each (old words, new) edit made; returns the import result."""
    xml = xml if xml is not None else EXCERPT.read_text(encoding="utf-8")
    for old, new in edits:
        xml = words(xml, old, new)
    path = tmp_path / "frus1958-60v18-changed.xml"
    path.write_text(xml, encoding="utf-8")
    return import_tei(path, update=True)


def without_note(note_id: str) -> str:
    xml = EXCERPT.read_text(encoding="utf-8")
    changed, n = re.subn(rf'<note\b[^>]*xml:id="{note_id}"[^>]*>.*?</note>', "", xml,
                         count=1, flags=re.S)
    assert n == 1
    return changed


def assert_invariant(document: Document) -> None:
    """Open proposals hold on the head; stuck ones on the revision they are pinned to."""
    current = head(document)
    for proposal in Proposal.objects.filter(document=document).exclude(
            status__in=Proposal.CLOSED):
        proposal.refresh_from_db()
        on = current if proposal.is_open else proposal.revision
        for change in proposal.changes.all():
            if change.names_note:
                anchor = on.layer.note(change.note_id)
                assert anchor is not None and anchor.offset == change.start, proposal
            else:
                assert on.text[change.start:change.end] == change.exact, proposal


@pytest.fixture
def proposals(d142, people):
    return {
        "main": propose_text(d142, people.editor, "in the main pragmatic", "mainly pragmatic"),
        "parallel": propose_text(d142, people.editor,
                                 "we did not have a situation parallel to the one faced",
                                 "we did not face a situation like the one"),
        "debate": propose_text(d142, people.editor2, "fruitless debate on this issue",
                               "a fruitless debate on this issue"),
        "note": propose(d142, people.editor, ChangeSpec(
            "note-edit", 0, 0, "Telegram 515 from Seoul, January 18, 1960.",
            note_id="d142fn1")),
        "note-add": propose(d142, people.editor2, note_add_after(
            d142, "studying this possibility", "Not found in the files.")),
    }


def status(proposal: Proposal) -> str:
    proposal.refresh_from_db()
    return proposal.status


# ---------------------------------------------------------------------------------------------
# Exact: moved, still open


def test_text_inserted_before_moves_every_proposal_and_keeps_it_pending(d142, proposals,
                                                                        tmp_path):
    before = {name: list(p.changes.values_list("start", flat=True))
              for name, p in proposals.items()}
    result = reimport(tmp_path, ("The Prime Minister expressed the appreciation",
                                 INSERTED + "The Prime Minister expressed the appreciation"))
    assert result.updated == ["d142"]
    current = head(d142)
    assert current.number == 2 and INSERTED in current.text
    for name, proposal in proposals.items():
        proposal.refresh_from_db()
        assert proposal.status == Status.PENDING, (name, proposal.status_reason)
        assert proposal.revision_id == current.pk
        starts = list(proposal.changes.values_list("start", flat=True))
        assert starts == [s + len(INSERTED) for s in before[name]], name
    assert_invariant(d142)


def test_footnote_edit_follows_its_note(d142, proposals, tmp_path):
    reimport(tmp_path, ("The Prime Minister expressed the appreciation",
                        INSERTED + "The Prime Minister expressed the appreciation"))
    [change] = proposals["note"].changes.all()
    anchor = head(d142).layer.note("d142fn1")
    assert status(proposals["note"]) == Status.PENDING
    assert change.start == change.end == anchor.offset


def test_unchanged_document_leaves_proposals_alone(d142, proposals, tmp_path):
    result = reimport(tmp_path)
    assert result.updated == [] and head(d142).number == 1
    assert all(status(p) == Status.PENDING for p in proposals.values())


# ---------------------------------------------------------------------------------------------
# Approximate or doubtful: needs review


def test_slightly_changed_words_need_review_with_the_place_found(d142, proposals, tmp_path,
                                                                 mailoutbox,
                                                                 django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        reimport(tmp_path, ("a situation parallel to", "a situation similar to"))
    proposal = proposals["parallel"]
    assert status(proposal) == Status.NEEDS_REVIEW
    assert "re-imported the document from frus1958-60v18-changed.xml" in proposal.status_reason
    assert "is no longer in revision 2; the closest passage reads" in proposal.status_reason
    assert proposal.revision.number == 1  # pinned where its offsets hold
    [change] = proposal.changes.all()
    found = Found.from_json(change.found)
    assert found.revision == 2 and found.score >= 80
    assert head(d142).text[found.start:found.end] == (
        "we did not have a situation similar to the one faced")
    event = proposal.events.get(kind=Event.Kind.REANCHORED)
    assert event.body == proposal.status_reason
    [mail] = [m for m in mailoutbox if f"proposal {proposal.pk} " in m.body]
    assert mail.to == ["editor@example.org"] and "needs review" in mail.body
    # The others were far from the edit: still pending, moved (the text grew by 1).
    assert status(proposals["main"]) == Status.PENDING
    assert status(proposals["debate"]) == Status.PENDING
    assert_invariant(d142)


def test_a_needs_review_proposal_cannot_be_approved(d142, proposals, people, tmp_path):
    reimport(tmp_path, ("a situation parallel to", "a situation similar to"))
    proposal = Proposal.objects.get(pk=proposals["parallel"].pk)
    with pytest.raises(ProposalError) as refused:
        check_approve(people.reviewer, proposal)
    assert refused.value.code == Status.NEEDS_REVIEW
    assert proposal.is_stuck


def test_quote_found_with_other_words_around_it_needs_review(d142, proposals, tmp_path):
    reimport(tmp_path, ("replied that our reasons were", "replied that his reasons were"))
    proposal = proposals["main"]
    assert status(proposal) == Status.NEEDS_REVIEW
    assert "is still in revision 2, but the text around it changed" in proposal.status_reason


def test_footnote_changed_by_the_reimport_needs_review(d142, proposals, tmp_path):
    reimport(tmp_path, ("Telegram 515 from Seoul", "Telegram 516 from Seoul"))
    assert status(proposals["note"]) == Status.NEEDS_REVIEW
    assert "footnote d142fn1 reads differently" in proposals["note"].status_reason


def test_author_retargets_a_needs_review_proposal_back_to_pending(client, d142, proposals,
                                                                  people, tmp_path):
    reimport(tmp_path, ("a situation parallel to", "a situation similar to"))
    proposal = proposals["parallel"]
    client.force_login(people.editor)
    url = f"/review/proposals/{proposal.pk}/retarget/"
    page = html.fromstring(client.get(url).content)
    text = page.text_content()
    assert "Needs review" in text and "the closest passage reads" in text
    # The place found is offered as the quote; the author confirms it.
    quote = page.xpath("//textarea[@name='c0-quote']")[0].text_content().strip()
    assert quote == "we did not have a situation similar to the one faced"
    response = client.post(url, {"c0-quote": quote,
                                 "c0-content": "we did not face a situation like the one",
                                 "rationale": "Re-targeted after the re-import"})
    assert response.status_code == 302, response.content.decode()[-2000:]
    assert status(proposal) == Status.PENDING
    assert proposal.revision_id == head(d142).pk
    assert_invariant(d142)


# ---------------------------------------------------------------------------------------------
# Nothing found: orphaned


DELETED = ("He said that the U.S. had decided that fruitless debate on this issue would do "
           "more harm than good and therefore we would wait until an appropriate occasion arose.")


def test_deleted_passage_orphans_its_proposal(d142, proposals, tmp_path):
    reimport(tmp_path, (DELETED, ""))
    proposal = proposals["debate"]
    assert status(proposal) == Status.ORPHANED
    assert ("“fruitless debate on this issue” is no longer in revision 2, and nothing like it "
            "is near its old place") in proposal.status_reason
    [change] = proposal.changes.all()
    assert change.found is None
    assert proposal.events.filter(kind=Event.Kind.REANCHORED).exists()
    assert status(proposals["main"]) == Status.PENDING
    assert_invariant(d142)


def test_footnote_gone_orphans_its_edit(d142, proposals, tmp_path):
    reimport(tmp_path, xml=without_note("d142fn1"))
    assert status(proposals["note"]) == Status.ORPHANED
    assert "footnote d142fn1 is no longer in revision 2" in proposals["note"].status_reason
    assert status(proposals["main"]) == Status.PENDING
    assert_invariant(d142)


def test_footnote_point_with_other_words_before_it_needs_review(d142, proposals, tmp_path):
    reimport(tmp_path, ("and we were now studying this possibility. In any event,",
                        "and they agreed. In any event,"))
    proposal = proposals["note-add"]
    assert status(proposal) == Status.NEEDS_REVIEW
    assert "the place after “… now studying this possibility” reads differently" in (
        proposal.status_reason)
    assert_invariant(d142)


def test_footnote_point_whose_words_are_gone_is_orphaned(d142, proposals, tmp_path):
    reimport(tmp_path, ("and we were now studying this possibility. In any event, there would "
                        "be other, and perhaps more appropriate, occasions this year in "
                        "connection with prospective membership applications.",
                        "and the talk turned to other matters."))
    proposal = proposals["note-add"]
    assert status(proposal) == Status.ORPHANED
    assert "is no longer in revision 2" in proposal.status_reason
    assert_invariant(d142)


# ---------------------------------------------------------------------------------------------
# Any revision without a step map; the invariant after any re-import


def test_an_edit_outside_review_reanchors_too(d142, proposals):
    revise(d142, "in the main\n", "in the mian\n")
    assert status(proposals["main"]) == Status.NEEDS_REVIEW
    assert "changed the document outside review" in proposals["main"].status_reason
    assert status(proposals["debate"]) == Status.PENDING
    assert_invariant(d142)


@pytest.mark.parametrize("edits", [
    [("The Prime Minister expressed the appreciation", INSERTED + "The Prime Minister "
                                                                 "expressed the appreciation")],
    [("a situation parallel to", "a situation similar to")],
    [(DELETED, "")],
    [("Telegram 515 from Seoul", "Telegram 516 from Seoul")],
    [("Problems Relating to the Republic of Korea", "Problems Relating to Korea"),
     ("in the main pragmatic", "in the main practical"), (DELETED, "")],
])
def test_every_open_proposal_holds_on_the_head_after_a_reimport(d142, proposals, tmp_path,
                                                                 edits):
    reimport(tmp_path, *edits)
    assert_invariant(d142)
    assert Proposal.objects.open().exists()


# ---------------------------------------------------------------------------------------------
# Structural fixes, requested changes, the API


def second_paragraph(revision: Revision) -> tuple[int, int]:
    spans = [span for child, span in child_spans(revision.element, revision.layer)
             if child.tag.endswith("}p")]
    return spans[1]


@pytest.fixture
def structural(d142, people):
    current = head(d142)
    start, end = second_paragraph(current)
    fragment = block_xml(current.element, start, end).replace("Foreign Minister",
                                                              "The Foreign Minister", 1)
    return propose(d142, people.editor, ChangeSpec("structure", start, end, fragment,
                                                  exact=current.text[start:end]))


def test_structural_fix_moves_with_its_blocks(d142, structural, tmp_path):
    reimport(tmp_path, ("The Prime Minister expressed the appreciation",
                        INSERTED + "The Prime Minister expressed the appreciation"))
    assert status(structural) == Status.PENDING
    [change] = structural.changes.all()
    assert (change.start, change.end) == second_paragraph(head(d142))
    assert_invariant(d142)


def test_markup_changed_in_a_structural_fix_blocks_needs_review(d142, structural, tmp_path):
    # The text layer is the same; the fix's fragment would undo the new markup.
    reimport(tmp_path, ('corresp="#p_FA8">Fujiyama', 'corresp="#p_FA9">Fujiyama'))
    assert head(d142).number == 2
    assert status(structural) == Status.NEEDS_REVIEW
    assert "the markup of the blocks this structural fix replaces changed" in (
        structural.status_reason)


def test_changes_requested_keeps_its_status_when_moved(d142, proposals, people, tmp_path):
    do_request_changes(proposals["main"], by=people.reviewer, reason="Say why")
    reimport(tmp_path, ("The Prime Minister expressed the appreciation",
                        INSERTED + "The Prime Minister expressed the appreciation"))
    assert status(proposals["main"]) == Status.CHANGES_REQUESTED
    assert_invariant(d142)


def test_api_lists_reanchored_proposals_as_stuck_with_the_place_found(client, d142, proposals,
                                                                      people, tmp_path):
    reimport(tmp_path, ("a situation parallel to", "a situation similar to"), (DELETED, ""))
    client.force_login(people.reviewer)
    stuck = client.get("/api/proposals/?status=stuck").json()["results"]
    assert {(p["id"], p["status"]) for p in stuck} == {
        (proposals["parallel"].pk, "needs-review"), (proposals["debate"].pk, "orphaned")}
    [parallel] = [p for p in stuck if p["id"] == proposals["parallel"].pk]
    found = parallel["changes"][0]["found"]
    assert found["revision"] == 2 and found["score"] >= 80


def test_same_words_and_context_twice_needs_review_when_the_old_place_is_uncertain(
        d142, proposals, tmp_path):
    # The sentence is now there twice, and changes before and after it leave no certain
    # hint (the texts differ from the first change to the last).
    reimport(tmp_path, ("a situation parallel to", "a situation similar to"),
             (DELETED, DELETED + " " + DELETED),
             ("the application of the Cameroons", "the application by the Cameroons"))
    proposal = proposals["debate"]
    assert status(proposal) == Status.NEEDS_REVIEW
    assert "occurs with the same context more than once" in proposal.status_reason
    assert_invariant(d142)
