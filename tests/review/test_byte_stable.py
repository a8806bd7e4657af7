"""An approval changes only the bytes of the range it edits: the source's line breaks and
indentation elsewhere in the paragraph, and everything outside it, keep their bytes (so diffs
against the upstream TEI show the correction and nothing else)."""

import os
from copy import deepcopy as _copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edition.imports import import_text
from edition.models import Document
from edition.tei.parsing import parse_document_div
from edition.tei.textlayer import _write_change, apply_change, build
from review.actions.approve import do_approve
from review.actions.propose import do_propose
from tests.helpers import D143_TEXT, make_member, text_spec

pytestmark = pytest.mark.django_db


def changed_span(old: str, new: str) -> tuple[str, str]:
    """The differing middles of two strings once their common prefix and suffix are cut."""
    prefix = len(os.path.commonprefix([old, new]))
    suffix = len(os.path.commonprefix([old[prefix:][::-1], new[prefix:][::-1]]))
    return old[prefix:len(old) - suffix], new[prefix:len(new) - suffix]


@pytest.mark.parametrize("xml_id, word, replacement", [
    ("d142", "repatriation", "repatriations"),  # a paragraph broken over many source lines
    ("d142", "Fujiyama", "Fujiyama Aiichiro"),
    ("d144", "Prime Minister", "Premier"),
    ("d143", "propinquity", "proximity"),  # TEI made from plain text
])
def test_a_one_word_approval_changes_only_that_word(sample_edition, xml_id, word, replacement):
    if xml_id == "d143":
        import_text(D143_TEXT, edition=sample_edition)
    editor = make_member(sample_edition, "ed", "editor")
    reviewer = make_member(sample_edition, "rev", "reviewer")
    document = Document.objects.get(xml_id=xml_id)
    before = document.current_revision
    proposal = do_propose(document, author=editor, base_revision=before.number,
                          changes=[text_spec(before, word, replacement)], rationale="test")
    after = do_approve(proposal, by=reviewer)
    old, new = changed_span(before.tei, after.tei)
    assert len(old) <= len(word) and len(new) <= len(replacement), (old, new)
    assert len(after.tei) - len(before.tei) == len(replacement) - len(word)


PARAGRAPH = """<div xmlns="http://www.tei-c.org/ns/1.0"><p>The Secretary
                    said that <hi rend="italic">the  U.S.</hi> would
                    view the <pb n="2" xml:id="pg_2"/>
                    visits in that light.<note n="1">A note.</note> He added
                    nothing.</p>
                <p>  Second   paragraph.  </p></div>"""


# A text node not in NFC (the e and its accent apart) beside nodes that are: the layer holds it
# composed, so it cannot be written in place; its neighbours still keep their bytes.
DECOMPOSED = PARAGRAPH.replace("nothing.</p>", "nothing.</p>\n                <p>Señor\n"
                               "   Pe&#769;rez <hi>and</hi>\n   the others.</p>")


def slots(element):
    """Every text and tail string of the tree, in document order."""
    return [(e.text, e.tail) for e in element.iter()]


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_text_change_keeps_the_bytes_of_every_text_node_it_does_not_touch(data):
    """Property: a text node the change does not touch keeps its bytes (line breaks and
    indentation included); in a touched node only the replaced characters change, unless
    the change cannot be carried that way, when its block is written in normal form."""
    div = parse_document_div(data.draw(st.sampled_from([PARAGRAPH, DECOMPOSED])))
    layer = build(div)
    text = layer.text
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, min(len(text), start + 12)))
    replacement = data.draw(st.sampled_from(["", "x", "word", "two words"]))
    try:
        changed = apply_change(div, start, end, replacement)
    except ValueError:
        return  # refused (block boundary, doubled space): nothing to compare
    assert build(changed).text == text[:start] + replacement + text[end:]
    touched = {(id(s.element), s.slot) for s in layer.segments
               if s.start <= end and s.end >= start}
    blocks = {id(p) for p in div.iter("{http://www.tei-c.org/ns/1.0}p")
              if any(id(e) in {t[0] for t in touched} for e in p.iter())}
    for (orig, new) in zip(div.iter(), changed.iter(), strict=True):
        in_block = any(id(a) in blocks for a in [orig, *orig.iterancestors()])
        for slot in ("text", "tail"):
            if in_block or (id(orig), slot) in touched:
                continue
            assert getattr(orig, slot) == getattr(new, slot), (slot, orig.tag)
    # And where the change can be written node by node (the common case: in place, or a node
    # that does not map onto its layer, as decomposed "Pérez", alone in normal form), the rest
    # of its own block keeps its bytes too.
    for mode in ("in place", "node"):
        tree = _copy(div)
        if not (_write_change(tree, start, end, replacement, mode=mode)
                and build(tree).text == build(changed).text):
            continue
        for (orig, new) in zip(div.iter(), changed.iter(), strict=True):
            for slot in ("text", "tail"):
                if (id(orig), slot) not in touched:
                    assert getattr(orig, slot) == getattr(new, slot), (slot, orig.tag)
        break
