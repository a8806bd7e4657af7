"""Anchoring on the text layer (review/anchoring.py): the edge cases DESIGN.md lists.

Three layers of the same rules: the pure step-map functions; the same cases through the TEI
(`apply_changes` makes the steps, the text layer comes from markup), where a mapped range must
still quote the same text in the new revision; and a proposal made on a stale revision.
"""

from types import SimpleNamespace

import pytest
from lxml import etree

from edition.models import Document
from edition.tei import TEI_NS, XML_ID, tei
from edition.tei.textlayer import build, text_of
from edition.changes import Step
from edition.tei.selectors import selector
from review.anchoring import Mapped, map_range, map_through, step_between
from review.actions import ProposalError
from review.actions.propose import ChangeSpec, do_propose
from review.transform import apply_changes
from review.models import Change
from tests.helpers import text_spec
from review.actions.approve import do_approve

NS = f'xmlns="{TEI_NS}"'


def div(body: str) -> etree._Element:
    return etree.fromstring(f'<div {NS} type="document" xml:id="d1">{body}</div>')


def replace(start: int, end: int, content: str = "") -> Step:
    return Step(start, end - start, len(content))


def insert(at: int, content: str) -> Step:
    return Step(at, 0, len(content))


def shifted(start: int, end: int, by: int, *, context: bool = False) -> Mapped:
    return Mapped(start + by, end + by, context_changed=context)


# ---------------------------------------------------------------------------------------------
# Pure step maps. The pending range is [10, 20) unless a test says otherwise.


class TestStep:
    def test_end_delta_and_list(self):
        step = Step(4, 3, 7)
        assert (step.end, step.delta, step.as_list()) == (7, 4, [4, 3, 7])

    def test_empty_step_maps_everything_to_itself(self):
        assert map_range(10, 20, Step(15, 0, 0)) == Mapped(10, 20)
        assert map_range(15, 15, Step(15, 0, 0)) == Mapped(15, 15)

    def test_far_change_before_shifts_far_change_after_does_not(self):
        assert map_range(10, 20, replace(2, 5, "abcdef")) == shifted(10, 20, 3)
        assert map_range(10, 20, replace(25, 30)) == Mapped(10, 20)
        assert map_range(10, 20, insert(3, "ab")) == shifted(10, 20, 2)
        assert map_range(10, 20, insert(21, "ab")) == Mapped(10, 20)


class TestAdjacentEdits:
    """Touching is not overlapping: the range keeps its text and is flagged "context changed"."""

    def test_change_ending_where_the_range_starts(self):
        assert map_range(10, 20, replace(6, 10, "xy")) == shifted(10, 20, -2, context=True)

    def test_deletion_ending_where_the_range_starts(self):
        assert map_range(10, 20, replace(6, 10)) == shifted(10, 20, -4, context=True)

    def test_change_starting_where_the_range_ends(self):
        assert map_range(10, 20, replace(20, 25, "x")) == Mapped(10, 20, context_changed=True)

    def test_deletion_starting_where_the_range_ends(self):
        assert map_range(10, 20, replace(20, 22)) == Mapped(10, 20, context_changed=True)

    def test_insertion_at_the_start_stays_outside_the_range(self):
        assert map_range(10, 20, insert(10, "abc")) == shifted(10, 20, 3, context=True)

    def test_insertion_at_the_end_stays_outside_the_range(self):
        assert map_range(10, 20, insert(20, "abc")) == Mapped(10, 20, context_changed=True)

    def test_one_character_apart_is_not_touching(self):
        assert map_range(10, 20, replace(5, 9, "x")) == shifted(10, 20, -3)
        assert map_range(10, 20, replace(21, 23, "x")) == Mapped(10, 20)

    def test_point_after_a_change_moves_to_its_end(self):
        assert map_range(10, 10, replace(6, 10, "xy")) == shifted(10, 10, -2, context=True)

    def test_point_before_a_change_stays(self):
        assert map_range(10, 10, replace(10, 14, "xy")) == Mapped(10, 10, context_changed=True)


class TestInsertions:
    def test_insert_vs_insert_at_one_point_conflicts(self):
        mapped = map_range(10, 10, insert(10, "abc"))
        assert mapped.conflict == "another insertion was approved at the same point"

    def test_insert_vs_insert_at_other_points(self):
        assert map_range(10, 10, insert(9, "abc")) == shifted(10, 10, 3)
        assert map_range(10, 10, insert(11, "abc")) == Mapped(10, 10)

    @pytest.mark.parametrize("at", [11, 15, 19])
    def test_insertion_inside_a_pending_range_conflicts(self, at):
        mapped = map_range(10, 20, insert(at, "abc"))
        assert mapped.conflict == "text was inserted inside this range"
        assert (mapped.start, mapped.end) == (10, 20)  # a conflict does not move the range


class TestOverlaps:
    """Every shape of overlap between the pending range [10, 20) and an approved change."""

    @pytest.mark.parametrize(
        ("shape", "start", "end"),
        [
            ("pending contains change", 12, 18),
            ("change contains pending", 5, 25),
            ("partial left", 5, 12),
            ("partial right", 18, 25),
            ("identical", 10, 20),
            ("same start, shorter", 10, 15),
            ("same end, shorter", 15, 20),
            ("same start, longer", 10, 25),
            ("same end, longer", 5, 20),
            ("one character inside at the left", 9, 11),
            ("one character inside at the right", 19, 21),
        ],
    )
    @pytest.mark.parametrize("replacement", ["", "x", "a much longer replacement"])
    def test_overlap_conflicts(self, shape, start, end, replacement):
        mapped = map_range(10, 20, replace(start, end, replacement))
        assert mapped.conflict == "an approved change overlaps this range", shape

    @pytest.mark.parametrize(("start", "end"), [(5, 15), (13, 15), (12, 20)])
    def test_point_inside_a_change_conflicts(self, start, end):
        assert map_range(14, 14, replace(start, end, "x")).conflict


class TestFootnotes:
    """footnote=True: a point that belongs to the word before it (a footnote's anchor)."""

    def test_deletion_spanning_the_anchor_conflicts(self):
        assert map_range(10, 10, replace(5, 15), footnote=True).conflict

    def test_deletion_ending_at_the_anchor_conflicts(self):
        mapped = map_range(10, 10, replace(5, 10), footnote=True)
        assert mapped.conflict == "the words this footnote was anchored to were deleted"

    def test_deletion_starting_at_the_anchor_keeps_it_with_the_word_before(self):
        assert map_range(10, 10, replace(10, 15), footnote=True) == Mapped(
            10, 10, context_changed=True)

    def test_replacing_the_word_before_carries_the_anchor_to_its_end(self):
        # "Seoul¹" → "Pusan¹": the word is changed, not deleted; the note follows it.
        assert map_range(10, 10, replace(5, 10, "Pusan, Korea"), footnote=True) == Mapped(
            17, 17, context_changed=True)

    def test_insertion_at_the_anchor_leaves_the_footnote_before_it(self):
        assert map_range(10, 10, insert(10, " and Tokyo"), footnote=True) == Mapped(
            10, 10, context_changed=True)

    def test_insertion_at_a_plain_point_is_insert_vs_insert(self):
        assert map_range(10, 10, insert(10, "x"), footnote=False).conflict

    def test_far_changes_shift_a_footnote_like_any_point(self):
        assert map_range(10, 10, replace(0, 3, "abcdef"), footnote=True) == Mapped(13, 13)
        assert map_range(10, 10, replace(12, 15), footnote=True) == Mapped(10, 10)


class TestMapThrough:
    def test_steps_of_one_proposal_last_position_first(self):
        # apply_changes records the steps of a grouped proposal from the end of the text back.
        steps = [replace(30, 35, "x"), replace(2, 4, "abcd")]
        assert map_through(10, 20, steps) == shifted(10, 20, 2)
        assert map_through(40, 41, steps) == shifted(40, 41, -2)
        assert map_through(25, 28, steps) == shifted(25, 28, 2)

    def test_context_flag_accumulates(self):
        steps = [replace(20, 22, "x"), replace(2, 4)]
        assert map_through(10, 20, steps) == shifted(10, 20, -2, context=True)

    def test_the_first_conflict_stops_the_mapping(self):
        mapped = map_through(10, 20, [replace(30, 31), replace(15, 16), replace(0, 1)])
        assert mapped.conflict and (mapped.start, mapped.end) == (10, 20)

    def test_no_steps(self):
        assert map_through(3, 4, []) == Mapped(3, 4)


class TestStepBetween:
    def test_equal_texts_have_no_step(self):
        assert step_between("same", "same") is None

    @pytest.mark.parametrize(
        ("old", "new"),
        [
            ("in the the end", "in the end"),  # a repeated word: either copy, one step
            ("north korea", "north Korea"),  # case only
            ("Pe\u0301rez", "Pérez"),  # decomposed to precomposed
            ("a 𝔄 b", "a 𝔅𝔅 b"),  # outside the BMP
            ("a\u00a0b", "a b"),  # NBSP to space
            ("", "abc"),
            ("abc", ""),
            ("aaaa", "aa"),
        ],
    )
    def test_the_step_turns_old_into_new(self, old, new):
        step = step_between(old, new)
        assert old[: step.pos] + new[step.pos : step.pos + step.new_len] + old[step.end :] == new
        assert step.old_len >= 0 and step.new_len >= 0

    def test_case_only_correction_is_one_character(self):
        assert step_between("north korea", "north Korea") == Step(6, 1, 1)

    def test_repeated_phrase_deletes_one_copy(self):
        assert step_between("in the the end", "in the end") == Step(7, 4, 0)


# ---------------------------------------------------------------------------------------------
# Through the TEI: the approved change is applied to markup, the pending range is mapped with the
# steps apply_changes recorded, and must quote the same text in the new text layer.


def text_change(start: int, end: int, content: str = "") -> Change:
    return Change(kind=Change.Kind.TEXT, start=start, end=end, content=content)


def rebased(element, approved: list[Change], start: int, end: int, *, footnote=False):
    before = text_of(element)
    applied = apply_changes(element, approved)
    after = text_of(applied.element)
    mapped = map_through(start, end, applied.steps, footnote=footnote)
    if not mapped.conflict:
        assert after[mapped.start:mapped.end] == before[start:end]
    return SimpleNamespace(before=before, after=after, mapped=mapped, applied=applied)


def note_offsets(element) -> dict[str, int]:
    return {a.element.get(XML_ID): a.offset for a in build(element).notes}


class TestThroughTheTEI:
    def test_adjacent_edits_across_inline_markup(self):
        element = div('<p>Secretary <persName corresp="#p_H">Herter</persName> replied</p>')
        text = text_of(element)
        herter = text.index("Herter")
        result = rebased(element, [text_change(0, herter, "Mr. ")], herter, herter + 6)
        assert result.after == "Mr. Herter replied"
        assert result.mapped == Mapped(4, 10, context_changed=True)

    def test_repeated_phrase(self):
        element = div("<p>the talks between the the two countries</p>")
        text = text_of(element)
        second = text.index("the the") + 4
        # Approved: delete the doubled "the "; pending: "two" right after it.
        two = text.index("two")
        result = rebased(element, [text_change(second, second + 4)], two, two + 3)
        assert result.after == "the talks between the two countries"
        assert result.mapped.context_changed and not result.mapped.conflict
        # Pending on the first "the" of the pair: touches the deletion, keeps its text.
        first = second - 4
        result = rebased(element, [text_change(second, second + 4)], first, first + 3)
        assert result.mapped == Mapped(first, first + 3, context_changed=False)

    def test_repeated_phrase_deleted_twice_conflicts(self):
        element = div("<p>in the the end</p>")
        # Two reviewers each remove one copy: the ranges [3, 7) and [6, 10) overlap.
        result = rebased(element, [text_change(3, 7)], 6, 10)
        assert result.mapped.conflict

    def test_case_only_correction(self):
        element = div("<p>repatriation to north Korea. The U.S.</p>")
        text = text_of(element)
        n = text.index("north")
        result = rebased(element, [text_change(n, n + 1, "N")], n + 6, n + 12)
        assert result.after == "repatriation to North Korea. The U.S."
        assert result.mapped == Mapped(n + 6, n + 12)
        # A second case-only fix of the same letter conflicts, even though the text is "equal".
        assert rebased(element, [text_change(n, n + 1, "N")], n, n + 5).mapped.conflict

    def test_combining_characters_are_one_code_point_after_nfc(self):
        element = div("<p>Se\u00f1or Pe\u0301rez said <hi>so</hi> twice</p>")
        text = text_of(element)
        assert text == "Señor Pérez said so twice"
        said = text.index("said")
        twice = text.index("twice")
        result = rebased(element, [text_change(said, said + 4, "replied")], twice, twice + 5)
        assert result.after == "Señor Pérez replied so twice"
        assert result.mapped == shifted(twice, twice + 5, 3)
        # Editing the name itself keeps the TEI in NFC.
        p = text.index("Pérez")
        new = apply_changes(element, [text_change(p, p + 5, "Perez")]).element
        assert text_of(new) == "Señor Perez said so twice"
        assert "\u0301" not in etree.tostring(new, encoding="unicode")

    def test_characters_outside_the_bmp(self):
        element = div("<p>the 𝔘𝔑 said 😀 and left</p>")
        text = text_of(element)
        assert text.index("said") == 7
        left = text.index("left")
        result = rebased(element, [text_change(4, 6, "UN")], left, left + 4)
        assert result.after == "the UN said 😀 and left"
        assert result.mapped == Mapped(left, left + 4)
        emoji = text.index("😀")
        result = rebased(element, [text_change(emoji, emoji + 1, "🙂🙂")], left, left + 4)
        assert result.mapped == shifted(left, left + 4, 1)

    def test_crlf_in_the_tei_never_reaches_the_text_layer(self):
        # An XML parser turns a literal CRLF into LF; a character reference keeps the CR in the
        # text node. The layer collapses both to one space, and changes around them stay exact.
        element = etree.fromstring(
            f'<div {NS} type="document" xml:id="d1">\r\n<p>one\r\ntwo&#13;&#10;three'
            "&#13;four</p>\r\n</div>".encode())
        text = text_of(element)
        assert text == "one two three four" and "\r" not in text
        result = rebased(element, [text_change(3, 4, "-")], 8, 13)
        assert result.after == "one-two three four"
        assert result.mapped == Mapped(8, 13)
        result = rebased(element, [text_change(7, 8, "\u00a0")], 13, 14)
        assert result.after == "one two\u00a0three four"
        assert result.mapped == Mapped(13, 14)

    def test_replacement_with_a_line_break_is_refused(self):
        element = div("<p>one two</p>")
        with pytest.raises(ValueError, match="line break"):
            apply_changes(element, [text_change(3, 4, "\r\n")])

    def test_nbsp_is_kept_and_runs_of_spaces_collapse(self):
        element = div("<p>page\u00a0278   of  the\n     volume</p>")
        text = text_of(element)
        assert text == "page\u00a0278 of the volume"
        nbsp = text.index("\u00a0")
        volume = text.index("volume")
        result = rebased(element, [text_change(nbsp, nbsp + 1, " ")], volume, volume + 6)
        assert result.after == "page 278 of the volume"
        assert result.mapped == Mapped(volume, volume + 6)
        # Deleting one word and its space leaves one space: the source's run does not return.
        of = text.index("of ")
        result = rebased(element, [text_change(of, of + 3)], volume, volume + 6)
        assert result.after == "page\u00a0278 the volume"
        assert result.mapped == shifted(volume, volume + 6, -3)

    def test_grouped_changes_map_a_range_between_them(self):
        element = div("<p>alpha beta gamma delta epsilon</p>")
        text = text_of(element)
        changes = [text_change(0, 5, "ALPHA-ALPHA"), text_change(text.index("delta"),
                                                                 text.index("delta") + 5, "d")]
        gamma = text.index("gamma")
        result = rebased(element, changes, gamma, gamma + 5)
        assert result.after == "ALPHA-ALPHA beta gamma d epsilon"
        eps = text.index("epsilon")
        assert rebased(element, changes, eps, eps + 7).mapped == shifted(eps, eps + 7, 2)


class TestFootnotesThroughTheTEI:
    ELEMENT = ('<p>a telegram from Seoul<note n="1" xml:id="d1fn1">See Document 139.</note> '
               "setting forth a request</p>")

    def test_deletion_spanning_the_anchor_keeps_the_note_in_the_tei_but_conflicts(self):
        element = div(self.ELEMENT)
        text = text_of(element)
        anchor = note_offsets(element)["d1fn1"]
        start = text.index("Seoul")
        result = rebased(element, [text_change(start, anchor + 9)], anchor, anchor,
                         footnote=True)
        assert result.after == "a telegram from forth a request"
        assert result.mapped.conflict
        assert "d1fn1" in note_offsets(result.applied.element)  # nothing is lost in the TEI

    def test_deletion_ending_at_the_anchor_conflicts(self):
        element = div(self.ELEMENT)
        anchor = note_offsets(element)["d1fn1"]
        # " from Seoul" deleted: the words the footnote followed are gone.
        start = text_of(element).index(" from")
        result = rebased(element, [text_change(start, anchor)], anchor, anchor, footnote=True)
        assert result.mapped.conflict == "the words this footnote was anchored to were deleted"

    def test_deletion_starting_at_the_anchor_keeps_the_footnote_after_the_word(self):
        element = div(self.ELEMENT)
        anchor = note_offsets(element)["d1fn1"]
        result = rebased(element, [text_change(anchor, anchor + 8)], anchor, anchor,
                         footnote=True)
        assert result.after == "a telegram from Seoul forth a request"
        assert result.mapped == Mapped(anchor, anchor, context_changed=True)
        # The existing note stays where the mapping says the footnote is.
        assert note_offsets(result.applied.element)["d1fn1"] == result.mapped.start

    def test_replacing_the_word_before_moves_the_note_with_it(self):
        element = div(self.ELEMENT)
        anchor = note_offsets(element)["d1fn1"]
        start = text_of(element).index("Seoul")
        result = rebased(element, [text_change(start, anchor, "Seoul, Korea")], anchor, anchor,
                         footnote=True)
        assert result.mapped == Mapped(anchor + 7, anchor + 7, context_changed=True)
        assert note_offsets(result.applied.element)["d1fn1"] == result.mapped.start

    def test_pending_footnote_at_an_insertion_point_stays_with_the_word_before(self):
        element = div("<p>a telegram from Seoul setting forth a request</p>")
        point = text_of(element).index(" setting")
        result = rebased(element, [text_change(point, point, ", Korea,")], point, point,
                         footnote=True)
        assert result.mapped == Mapped(point, point, context_changed=True)
        # Applying the pending footnote afterwards puts it right after "Seoul".
        added = apply_changes(result.applied.element, [
            Change(kind=Change.Kind.NOTE_ADD, start=point, end=point, content="Body.")])
        p = added.element.find(tei("p"))
        assert p.text == "a telegram from Seoul"
        assert p[0].tail == ", Korea, setting forth a request"


# ---------------------------------------------------------------------------------------------
# A stale revision: offsets made on an older revision are mapped through the recorded steps.


def d142(edition) -> Document:
    return Document.objects.select_related("current_revision").get(edition=edition,
                                                                   xml_id="d142")


def approve_first(edition, people, exact: str, replacement: str):
    """Approve a change on revision 1 of d142; return revision 1's text."""
    doc = d142(edition)
    old = doc.current_revision
    do_approve(do_propose(doc, author=people.editor, base_revision=1, rationale="fix",
                    changes=[text_spec(old, exact, replacement)]), by=people.reviewer)
    return old.text


@pytest.mark.django_db
class TestStaleRevision:
    def test_disjoint_selection_on_an_old_revision_is_mapped(self, sample_edition, people):
        old = approve_first(sample_edition, people, "Seoul", "Seoul, Korea,")
        start = old.index("Cameroons")
        proposal = do_propose(
            d142(sample_edition), author=people.editor, base_revision=1, rationale="spelling",
            changes=[ChangeSpec("text", start, start + 9, "Cameroun", exact="Cameroons")])
        [change] = proposal.changes.all()
        head = d142(sample_edition).current_revision
        assert proposal.revision == head and head.number == 2
        assert (change.start, change.end) == (start + 8, start + 17)
        assert head.text[change.start:change.end] == change.exact == "Cameroons"
        assert selector(head.text, change.start, change.end)["prefix"] == change.prefix

    def test_selection_before_the_approved_change_keeps_its_offsets(self, sample_edition,
                                                                   people):
        old = approve_first(sample_edition, people, "Cameroons", "Cameroun")
        start = old.index("Prime Minister")
        proposal = do_propose(
            d142(sample_edition), author=people.editor, base_revision=1, rationale="x",
            changes=[ChangeSpec("text", start, start + 5, "Premier", exact="Prime")])
        assert proposal.changes.get().start == start

    def test_adjacent_selection_on_an_old_revision_is_accepted(self, sample_edition, people):
        old = approve_first(sample_edition, people, "Seoul", "Pusan")
        start = old.index("Seoul") + len("Seoul")  # " setting" right after the approved change
        proposal = do_propose(
            d142(sample_edition), author=people.editor, base_revision=1, rationale="x",
            changes=[ChangeSpec("text", start, start + 8, "", exact=" setting")])
        change = proposal.changes.get()
        assert d142(sample_edition).current_revision.text[change.start:change.end] == " setting"

    @pytest.mark.parametrize(
        ("approved", "quote", "replacement"),
        [
            ("Cameroons", "the Cameroons", "Cameroon"),  # overlapping
            ("Cameroons", "Cameroons", "Cameroun"),  # identical
            ("application of the Cameroons", "Cameroons", "Cameroun"),  # contained
        ],
    )
    def test_overlapping_selection_on_an_old_revision_is_stale(self, sample_edition, people,
                                                               approved, quote, replacement):
        old = approve_first(sample_edition, people, approved, approved.upper())
        start = old.index(quote)
        with pytest.raises(ProposalError) as raised:
            do_propose(d142(sample_edition), author=people.editor, base_revision=1,
                       rationale="x", changes=[ChangeSpec("text", start, start + len(quote),
                                                               replacement, exact=quote)])
        assert raised.value.code == "stale"
        assert "overlaps" in raised.value.message and "revision 2" in raised.value.message

    def test_insertion_at_an_approved_insertion_point_is_stale(self, sample_edition, people):
        doc = d142(sample_edition)
        old = doc.current_revision.text
        point = old.index(" setting forth")
        do_approve(do_propose(doc, author=people.editor, base_revision=1, rationale="x", changes=[
            ChangeSpec("text", point, point, ", Korea,")]), by=people.reviewer)
        with pytest.raises(ProposalError) as raised:
            do_propose(d142(sample_edition), author=people.editor, base_revision=1,
                       rationale="x", changes=[ChangeSpec("text", point, point, " (ROK)")])
        assert raised.value.code == "stale"

    def test_footnote_whose_word_was_deleted_since_is_stale(self, sample_edition, people):
        old = approve_first(sample_edition, people, " very difficult", "")
        point = old.index(" talks with the Republic")  # after "very difficult"
        with pytest.raises(ProposalError) as raised:
            do_propose(d142(sample_edition), author=people.editor, base_revision=1,
                       rationale="x", changes=[ChangeSpec("note-add", point, point,
                                                               "A note.")])
        assert raised.value.code == "stale"

    def test_footnote_on_an_old_revision_follows_the_word_before(self, sample_edition, people):
        old = approve_first(sample_edition, people, "difficult", "hard")
        point = old.index(" talks with the Republic")
        proposal = do_propose(
            d142(sample_edition), author=people.editor, base_revision=1, rationale="x",
            changes=[ChangeSpec("note-add", point, point, "A note.")])
        change = proposal.changes.get()
        text = d142(sample_edition).current_revision.text
        assert text[:change.start].endswith("very hard")

    @pytest.mark.parametrize("base", [0, 3, -1])
    def test_a_revision_that_does_not_exist_is_stale(self, sample_edition, people, base):
        approve_first(sample_edition, people, "Seoul", "Pusan")
        doc = d142(sample_edition)
        with pytest.raises(ProposalError) as raised:
            do_propose(doc, author=people.editor, base_revision=base, rationale="x",
                       changes=[text_spec(doc.current_revision, "Cameroons", "Cameroun")])
        assert raised.value.code == "stale"

    def test_wrong_quote_on_an_old_revision_is_refused(self, sample_edition, people):
        old = approve_first(sample_edition, people, "Seoul", "Pusan")
        start = old.index("Cameroons")
        with pytest.raises(ProposalError) as raised:
            do_propose(d142(sample_edition), author=people.editor, base_revision=1,
                       rationale="x", changes=[ChangeSpec("text", start, start + 9, "C",
                                                               exact="Cameroun")])
        assert raised.value.code == "quote"
