"""Inline markup as a change of its own: wrap words of the text layer in an element FRUS uses,
change an element's attributes, or remove the element and keep its words. No database.

The text layer is never changed by these edits (each function checks it); a range is given in
text-layer offsets, and wrapping is refused when it would cross the edge of an existing inline
element, unless it covers whole elements.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field

from lxml import etree

from . import XML_NS, local_name, tei
from .edits import ALLOWED, COMMON_ATTRIBUTES
from .textlayer import BLOCK_ELEMENTS, BLOCK_SEPARATOR, TextChangeError, _build

ELEMENTS = ("persName", "gloss", "placeName", "orgName", "date", "hi", "ref", "term")
OPERATIONS = ("wrap", "change", "unwrap")


class MarkupError(TextChangeError):
    """Markup the TEI cannot carry, or outside the allow-list; the message says what to do."""


@dataclass(frozen=True)
class Markup:
    """A markup change's payload, stored as JSON in `Change.content` (read and written here)."""

    operation: str = "wrap"
    element: str = ""
    attributes: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_content(cls, content: str) -> Markup:
        try:
            data = json.loads(content) if content else {}
        except ValueError:
            return cls()
        if not isinstance(data, dict):
            return cls()
        return cls(operation=data.get("operation", "wrap"), element=data.get("element", ""),
                   attributes=dict(data.get("attributes") or {}))

    def to_content(self) -> str:
        return json.dumps({"operation": self.operation, "element": self.element,
                           "attributes": self.attributes}, ensure_ascii=False, sort_keys=True)

    def describe(self, words: str) -> str:
        attrs = "".join(f" {name}={value}" for name, value in sorted(self.attributes.items()))
        if self.operation == "unwrap":
            return f"remove {self.element} around “{words}”"
        if self.operation == "change":
            return f"change {self.element} on “{words}” to{attrs or ' no attributes'}"
        return f"wrap “{words}” in {self.element}{attrs}"


def check(markup: Markup) -> Markup:
    """The payload checked on its own: operation, element and attributes from the allow-list
    (edition.tei.edits.ALLOWED). Raises MarkupError."""
    if markup.operation not in OPERATIONS:
        raise MarkupError(f"unknown markup operation “{markup.operation}”: use "
                          + ", ".join(OPERATIONS))
    if markup.element not in ELEMENTS:
        raise MarkupError(f"“{markup.element}” is not an inline element markup can use: "
                          + ", ".join(ELEMENTS))
    permitted = (COMMON_ATTRIBUTES | ALLOWED[markup.element]) - {"xml:id"}
    for name, value in markup.attributes.items():
        if name not in permitted:
            raise MarkupError(f"attribute {name} is not allowed on <{markup.element}>: use "
                              + ", ".join(sorted(permitted)))
        if not isinstance(value, str) or not value.strip():
            raise MarkupError(f"attribute {name} needs a value")
        if any(c in value for c in "<&\"\n"):
            raise MarkupError(f"attribute {name}: the value holds a character it cannot hold")
    if markup.operation == "unwrap" and markup.attributes:
        raise MarkupError("removing markup takes no attributes")
    return markup


def apply(div: etree._Element, start: int, end: int, markup: Markup) -> etree._Element:
    """A copy of `div` with `markup` applied to [start, end) of its text layer; the text layer
    is unchanged (checked). Raises MarkupError."""
    check(markup)
    tree = copy.deepcopy(div)
    layer, builder = _build(tree)
    if not (0 <= start < end <= len(layer.text)):
        raise MarkupError(f"select the words to mark up (range {start}–{end} of 0–"
                          f"{len(layer.text)})")
    for sep in layer.separators:
        if start < sep + len(BLOCK_SEPARATOR) and end > sep:
            raise MarkupError("the selection crosses a block boundary (between paragraphs, "
                              "list items…); mark up each block separately")
    words = layer.text[start:end]
    if words != words.strip(" "):
        raise MarkupError("the selection starts or ends with a space; select the words only")
    # Write every slot in normal form so that raw offsets are text-layer offsets.
    for element, slot, _, segment in builder.slots:
        setattr(element, slot, segment.content if segment and segment.content else None)
    if markup.operation == "wrap":
        _wrap(tree, layer, start, end, markup)
    else:
        target = _covering(tree, layer, start, end, markup.element)
        if target is None:
            raise MarkupError(f"no <{markup.element}> covers exactly “{words[:60]}”; select "
                              f"the whole marked-up words")
        if markup.operation == "unwrap":
            _unwrap(target)
        else:
            for name in list(target.attrib):
                if name != f"{{{XML_NS}}}id":
                    del target.attrib[name]
            _set_attributes(target, markup.attributes)
    if _build(tree)[0].text != layer.text:
        raise MarkupError("the TEI cannot carry this markup without changing the text")
    return tree


def attributes_at(div: etree._Element, start: int, end: int, name: str) -> dict[str, str] | None:
    """The attributes (xml:id aside) of the innermost <name> covering exactly [start, end),
    by their shown names; None when there is none."""
    element = _covering(div, _build(div)[0], start, end, name)
    if element is None:
        return None
    return {key.replace(f"{{{XML_NS}}}", "xml:"): value for key, value in element.attrib.items()
            if key != f"{{{XML_NS}}}id"}


def _set_attributes(element: etree._Element, attributes: dict[str, str]) -> None:
    for name, value in sorted(attributes.items()):
        element.set(name.replace("xml:", f"{{{XML_NS}}}"), value)


def _spans(layer) -> dict[etree._Element, tuple[int, int]]:
    """element → the [start, end) its text covers, for every element holding text (keys keep
    lxml's proxies alive, so lookups find the same objects)."""
    spans: dict[etree._Element, tuple[int, int]] = {}
    for segment in layer.segments:
        owner = segment.element if segment.slot == "text" else segment.element.getparent()
        for element in [owner, *owner.iterancestors()]:
            lo, hi = spans.get(element, (segment.start, segment.end))
            spans[element] = (min(lo, segment.start), max(hi, segment.end))
    return spans


def _covering(tree, layer, start: int, end: int, name: str) -> etree._Element | None:
    """The innermost <name> whose text is exactly [start, end)."""
    spans = _spans(layer)
    found = [e for e in tree.iter(tei(name)) if spans.get(e) == (start, end)]
    return found[-1] if found else None


def _position(segment, offset: int) -> tuple[etree._Element, int, int]:
    """(parent, i, k): offset k in the text node before child i of parent."""
    if segment.slot == "text":
        return segment.element, 0, offset
    parent = segment.element.getparent()
    return parent, parent.index(segment.element) + 1, offset


def _text_before(parent: etree._Element, i: int) -> str:
    return (parent.text if i == 0 else parent[i - 1].tail) or ""


def _inline(element: etree._Element, root: etree._Element) -> bool:
    return element is not root and local_name(element) not in BLOCK_ELEMENTS


def _start_positions(tree, segment, offset):
    position = _position(segment, offset)
    yield position
    parent, i, k = position
    while k == 0 and i == 0 and _inline(parent, tree):  # at the very start of an element
        grand = parent.getparent()
        i = grand.index(parent)
        parent, k = grand, len(_text_before(grand, i))
        yield parent, i, k


def _end_positions(tree, segment, offset):
    position = _position(segment, offset)
    yield position
    parent, i, k = position
    while k == len(_text_before(parent, i)) and i == len(parent) and _inline(parent, tree):
        grand = parent.getparent()
        parent, i, k = grand, grand.index(parent) + 1, 0
        yield parent, i, k


def _wrap(tree, layer, start: int, end: int, markup: Markup) -> None:
    first = next((s for s in layer.segments if s.start <= start < s.end), None)
    last = next((s for s in layer.segments if s.start < end <= s.end), None)
    if first is None or last is None:
        raise MarkupError("the selection begins or ends at a line break; select words")
    if _covering(tree, layer, start, end, markup.element) is not None:
        raise MarkupError(f"these words are already marked up as {markup.element}; change "
                          "that markup instead")
    ends = list(_end_positions(tree, last, end - last.start))
    pair = None
    for s_parent, i1, k1 in _start_positions(tree, first, start - first.start):
        match = next(((i2, k2) for e_parent, i2, k2 in ends if e_parent is s_parent), None)
        if match:
            pair = s_parent, i1, k1, *match
            break
    if pair is None:
        raise MarkupError("the selection crosses the edge of existing markup; select only "
                          "words inside it, or the whole marked-up words")
    parent, i1, k1, i2, k2 = pair
    moved = list(parent[i1:i2])
    wrapper = etree.SubElement(parent, tei(markup.element))  # in the tree's namespaces
    _set_attributes(wrapper, markup.attributes)
    before = _text_before(parent, i1)
    if i1 == i2:
        wrapper.text, wrapper.tail = before[k1:k2] or None, before[k2:] or None
    else:
        after = moved[-1].tail or ""
        wrapper.text = before[k1:] or None
        moved[-1].tail = after[:k2] or None
        wrapper.tail = after[k2:] or None
        for child in moved:
            wrapper.append(child)  # moves it, with its tail
    if i1 == 0:
        parent.text = before[:k1] or None
    else:
        parent[i1 - 1].tail = before[:k1] or None
    parent.insert(i1, wrapper)


def _unwrap(element: etree._Element) -> None:
    """Replace `element` by its content (text, children, tail kept in place)."""
    parent = element.getparent()
    i = parent.index(element)
    children = list(element)
    inner_tail = (children[-1].tail if children else element.text) or ""
    head = element.text or "" if children else ""
    tail = element.tail or ""
    joined_before = _text_before(parent, i) + (head if children else inner_tail)
    if children:
        children[-1].tail = (inner_tail + tail) or None
    else:
        joined_before += tail
    element.tail = None
    parent.remove(element)
    for offset, child in enumerate(children):
        parent.insert(i + offset, child)
    if i == 0:
        parent.text = joined_before or None
    else:
        parent[i - 1].tail = joined_before or None
