"""Work on submitted TEI grows linearly with its size: applying a structural fix of thousands
of blocks (review/transform.py, edition/tei/edits.py, the text layer) and showing it to
reviewers (review/diffs.py)."""

from __future__ import annotations

import gc
import random
import sys
import time

import pytest
from lxml import etree

from edition.tei import edits, textlayer
from edition.tei.parsing import parse_document_div
from review import diffs
from review.models import Change
from review.transform import apply_changes
from tests.helpers import many_blocks

DOC = ('<div xmlns="http://www.tei-c.org/ns/1.0" type="document" xml:id="d9" n="9">'
       '<head>9. Memorandum<note type="source" xml:id="d9fn0">Source.</note></head>\n{}\n</div>')


def lines_run(call) -> int:
    """How many lines of Python `call()` executes: a measure of work that no other process
    on the machine can change."""
    count = 0

    def line(frame, event, arg):
        nonlocal count
        count += event == "line"
        return line

    previous = sys.gettrace()
    sys.settrace(lambda frame, event, arg: line)
    try:
        call()
    finally:
        sys.settrace(previous)
    return count


def replace_every_block(n: int):
    """What proposing and approving a structural fix computes, without the database: every
    block of an n-block document replaced by n new ones (applied, the new text layer, the
    step)."""
    div = parse_document_div(DOC.format(many_blocks(n)))
    layer = textlayer.build(div)
    start = layer.text.index("Block 0")
    change = Change(kind="structure", start=start, end=len(layer.text),
                    content=many_blocks(n, "stated"))
    return lambda: apply_changes(div, [change], text=layer.text)


def test_python_work_grows_linearly_with_the_blocks():
    # Eight times the blocks, eight times the lines (7.97: the count is exact, so the bound can
    # be close). Shifting every earlier footnote's offset at each block end made it 11.6.
    small, large = (lines_run(replace_every_block(n)) for n in (250, 2000))
    assert large / small < 8.5, (small, large)


def test_replacing_blocks_is_not_quadratic_in_the_tree():
    # The tree work is lxml's (C, which the count above cannot see): CPU time, the best of five
    # runs, interleaved so that other load weighs on both sizes. Linear is ×4 here; inserting by
    # index, as replace_blocks did, was ×20.
    div = parse_document_div(DOC.format("<p>Only.</p>"))
    start = textlayer.text_of(div).index("Only.")
    fragments = {n: many_blocks(n) for n in (2000, 8000)}
    best = {n: float("inf") for n in fragments}
    gc.disable()
    try:
        for _ in range(5):
            for n, fragment in fragments.items():
                started = time.process_time()
                edits.replace_blocks(div, start, start + 5, fragment)
                best[n] = min(best[n], time.process_time() - started)
    finally:
        gc.enable()
    assert best[8000] / best[2000] < 10, best


def test_new_blocks_stand_where_the_old_ones_stood():
    # Linking each block beside its neighbour puts them where inserting by index did: in the
    # place of the first block replaced (a comment between replaced blocks ends up after
    # them), before the block a point starts, or at the end.
    div = parse_document_div(DOC.format("<p>One.</p>\n<p>Two.</p><!-- c -->\n<p>Three.</p>\n"
                                        "<p>Four.</p>"))
    text = textlayer.text_of(div)

    def body(tree) -> str:
        return "".join(etree.tostring(e, encoding="unicode", with_tail=True)
                       for e in tree[1:]).replace(' xmlns="http://www.tei-c.org/ns/1.0"', "")

    replaced, _ = edits.replace_blocks(div, text.index("Two."), text.index("Four.") - 2,
                                       "<p>A.</p><p>B.</p>")
    assert body(replaced) == "<p>One.</p>\n<p>A.</p>\n<p>B.</p>\n<!-- c -->\n<p>Four.</p>\n"
    inserted, _ = edits.replace_blocks(div, text.index("Two."), text.index("Two."),
                                       "<p>A.</p>")
    assert body(inserted) == ("<p>One.</p>\n<p>A.</p>\n<p>Two.</p><!-- c -->\n<p>Three.</p>\n"
                              "<p>Four.</p>\n")
    appended, _ = edits.replace_blocks(div, len(text), len(text), "<p>A.</p>")
    assert body(appended).endswith("<p>Four.</p>\n<p>A.</p>\n")


# -- the reviewers' word diff ---------------------------------------------------------------------


def test_a_change_past_the_token_budget_is_shown_whole_without_diffing(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("diff-match-patch was asked to diff a huge change")

    monkeypatch.setattr(diffs.diff_match_patch, "diff_main", refuse)
    old = "Intro. " + " ".join(f"w{i}" for i in range(diffs.WORD_TOKENS)) + " End."
    new = "Intro. " + " ".join(f"v{i}" for i in range(diffs.WORD_TOKENS)) + " End."
    pieces = diffs.word_diff(old, new)
    assert [p.op for p in pieces] == ["equal", "delete", "insert", "equal"]
    assert "".join(p.text for p in pieces if p.op != "insert") == old
    assert "".join(p.text for p in pieces if p.op != "delete") == new


def test_more_distinct_words_than_code_points_to_spare_still_diff():
    # One code point stands for each distinct token: 140,000 overflowed the 131,072 of the
    # private-use planes (ValueError: a revision's diff on the history page failed). Only the
    # part that differs and its context are encoded now.
    words = [f"w{i}" for i in range(140_000)]
    old, new = " ".join(words), " ".join(words).replace(" w35000 ", " changed ")
    pieces = diffs.word_diff(old, new)
    assert [(p.op, p.text) for p in pieces if p.op != "equal"] == [
        ("delete", "w35000"), ("insert", "changed")]
    assert "".join(p.text for p in pieces if p.op != "insert") == old


@pytest.mark.parametrize("seed", range(3))
def test_diff_of_the_changed_part_is_the_diff_of_the_whole(seed):
    # Repetitive texts make diff-match-patch shift edits into the agreeing context; the diff
    # must come out as when the whole texts were encoded and diffed.
    rng = random.Random(seed)
    words = ["a", "b", "the", " ", " ", ".", "\n\n", "é", "ab"]
    for _ in range(300):
        old = [rng.choice(words) for _ in range(rng.choice([0, 3, 40, 200]))]
        new = list(old)
        for _ in range(rng.choice([1, 2, 5])):
            at = rng.randint(0, len(new))
            if rng.random() < 0.5 and at < len(new):
                del new[at]
            else:
                new.insert(at, rng.choice(words))
        assert diffs.word_diff("".join(old), "".join(new)) == whole_diff("".join(old),
                                                                        "".join(new))


def whole_diff(old: str, new: str) -> list[diffs.Piece]:
    """word_diff as it was: every token of both texts encoded, diffed in one go."""
    tokens: dict[str, str] = {}
    vocabulary: list[str] = []

    def encode(text: str) -> str:
        out = []
        for token in diffs._TOKEN.findall(text):
            if token not in tokens:
                tokens[token] = chr(0xF0000 + len(vocabulary))
                vocabulary.append(token)
            out.append(tokens[token])
        return "".join(out)

    dmp = diffs.diff_match_patch()
    found = dmp.diff_main(encode(old), encode(new), False)
    dmp.diff_cleanupSemantic(found)
    names = {0: "equal", 1: "insert", -1: "delete"}
    return [diffs.Piece(names[op], "".join(vocabulary[ord(c) - 0xF0000] for c in chunk))
            for op, chunk in found]


def test_unrelated_passages_are_shown_whole_without_diffing(monkeypatch):
    # 1,200 words rewritten: diff-match-patch would spend seconds finding nothing in common.
    def refuse(*args, **kwargs):
        raise AssertionError("diff-match-patch was asked to diff unrelated passages")

    monkeypatch.setattr(diffs.diff_match_patch, "diff_main", refuse)
    old = " ".join(f"old{i}" for i in range(600))
    new = " ".join(f"new{i}" for i in range(600))
    assert [p.op for p in diffs.word_diff(old, new)] == ["delete", "insert"]
