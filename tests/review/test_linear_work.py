"""Work on submitted TEI grows linearly with its size: applying a structural fix of thousands
of blocks (review/transform.py, edition/tei/edits.py, the text layer)."""

from __future__ import annotations

import gc
import sys
import time

from lxml import etree

from edition.tei import edits, textlayer
from edition.tei.parsing import parse_document_div
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
