"""Inline markup on the text layer (edition.tei.markup): wrap, change, unwrap; the text layer
never changes, and a selection across the edge of existing markup is refused."""

import pytest
from lxml import etree

from edition.tei import textlayer
from edition.tei.markup import Markup, MarkupError, apply, attributes_at

TEI = "http://www.tei-c.org/ns/1.0"
DIV = (f'<div xmlns="{TEI}"><p>Prime Minister Kishi said <hi rend="i">very '
       '<persName corresp="#p_E1">Ike</persName></hi> ok.<note n="1">A note</note></p>'
       '<p>Two</p></div>')


def at(text: str, words: str) -> tuple[int, int]:
    start = text.index(words)
    return start, start + len(words)


@pytest.fixture
def div():
    return etree.fromstring(DIV)


def xml(element) -> str:
    return etree.tostring(element, encoding="unicode")


def test_wrap_splits_the_text_node_and_keeps_the_text(div):
    text = textlayer.text_of(div)
    result = apply(div, *at(text, "Kishi"), Markup("wrap", "persName", {"corresp": "#p_KN1"}))
    assert '<p>Prime Minister <persName corresp="#p_KN1">Kishi</persName> said ' in xml(result)
    assert textlayer.text_of(result) == text
    assert "xmlns" not in xml(result)[len(f'<div xmlns="{TEI}">'):]  # no stray declarations


def test_wrap_covering_whole_elements_takes_them_in(div):
    text = textlayer.text_of(div)
    result = apply(div, *at(text, "said very Ike"), Markup("wrap", "term"))
    assert ('<term>said <hi rend="i">very <persName corresp="#p_E1">Ike</persName></hi></term>'
            in xml(result))
    assert textlayer.text_of(result) == text
    around = apply(div, *at(text, "very Ike ok"), Markup("wrap", "date"))
    assert '<date><hi rend="i">very <persName corresp="#p_E1">Ike</persName></hi> ok</date>.' in (
        xml(around))


@pytest.mark.parametrize("words", ["said very", "Ike ok", "Kishi said very"])
def test_wrap_across_the_edge_of_markup_is_refused(div, words):
    text = textlayer.text_of(div)
    with pytest.raises(MarkupError, match="crosses the edge of existing markup"):
        apply(div, *at(text, words), Markup("wrap", "term"))


def test_wrap_across_blocks_and_disallowed_attributes_are_refused(div):
    text = textlayer.text_of(div)
    with pytest.raises(MarkupError, match="block boundary"):
        apply(div, *at(text, "ok.\n\nTwo"), Markup("wrap", "hi"))
    with pytest.raises(MarkupError, match="not allowed on <persName>"):
        apply(div, *at(text, "Kishi"), Markup("wrap", "persName", {"onclick": "x"}))
    with pytest.raises(MarkupError, match="not an inline element"):
        apply(div, *at(text, "Kishi"), Markup("wrap", "script"))


def test_unwrap_and_change_keep_the_words(div):
    text = textlayer.text_of(div)
    unwrapped = apply(div, *at(text, "Ike"), Markup("unwrap", "persName"))
    assert '<hi rend="i">very Ike</hi> ok.' in xml(unwrapped)
    changed = apply(div, *at(text, "Ike"), Markup("change", "persName", {"ref": "#x"}))
    assert '<persName ref="#x">Ike</persName>' in xml(changed)
    assert textlayer.text_of(unwrapped) == textlayer.text_of(changed) == text
    assert attributes_at(div, *at(text, "Ike"), "persName") == {"corresp": "#p_E1"}
    with pytest.raises(MarkupError, match="no <persName> covers exactly"):
        apply(div, *at(text, "Kishi"), Markup("unwrap", "persName"))
