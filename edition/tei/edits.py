"""Edits of a document's TEI beyond text changes: footnotes and structural fixes.

Each function takes a document div, returns a changed copy, and raises TextChangeError (for
positions) or FragmentError (for submitted TEI) with a message meant for the editor.
"""

from __future__ import annotations

import copy
import itertools
import re

from django.conf import settings
from lxml import etree

from . import TEI_NS, XML_ID, XML_NS, local_name, tei
from .parsing import TEIError, safe_parser
from .textlayer import TextChangeError, TextLayer, build

# The TEI FRUS documents use, and the attributes each may carry. Submitted fragments are held to
# it: anything else (scripts, foreign namespaces, unknown elements) is refused, not sanitised.
COMMON_ATTRIBUTES = {"xml:id", "n", "type", "subtype", "rend", "rendition", "xml:lang", "ana"}
ALLOWED = {
    "p": set(), "head": set(), "opener": set(), "closer": set(), "dateline": set(),
    "salute": set(), "signed": set(), "postscript": set(), "list": set(), "item": set(),
    "label": set(), "note": {"target", "place"}, "pb": {"facs"}, "lb": set(),
    "placeName": {"ref", "corresp"}, "date": {"when", "from", "to", "notBefore", "notAfter",
                                              "calendar"},
    "persName": {"corresp", "ref"}, "orgName": {"corresp", "ref"}, "gloss": {"target"},
    "term": {"corresp"}, "rs": {"corresp", "ref"}, "ref": {"target"}, "hi": set(),
    "q": set(), "quote": set(), "seg": set(), "table": {"rows", "cols"}, "row": {"role"},
    "cell": {"role", "rows", "cols"}, "affiliation": set(), "foreign": set(),
}
BLOCKS = {"p", "head", "opener", "closer", "dateline", "salute", "signed", "postscript", "list",
          "table", "pb", "quote", "note"}
INLINE = set(ALLOWED) - {"opener", "closer", "list", "item", "table", "row", "cell", "head",
                         "p", "postscript", "salute", "signed", "dateline", "label"}
_XML_NS_PREFIX = f"{{{XML_NS}}}"
_NOTE_ID = re.compile(r"^(?P<doc>.+)fn(?P<n>\d+)$")


class FragmentError(TEIError):
    """A submitted TEI fragment that is not well-formed or leaves the allowed subset."""


class FragmentLimitError(FragmentError):
    """A fragment past a configured limit; `code` is "too_large" or "too_deep"."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def check_fragment_size(content: str) -> None:
    """Refuse content longer than EMEND_MAX_FRAGMENT_BYTES (UTF-8), before any work on it."""
    limit = settings.EMEND_MAX_FRAGMENT_BYTES
    # A code point is at most 4 bytes: most content is decided without encoding it.
    if len(content) > limit // 4 and (size := len(content.encode("utf-8"))) > limit:
        raise FragmentLimitError(
            f"the change is {size:,} bytes, over the limit of {limit:,} bytes for one change "
            "(EMEND_MAX_FRAGMENT_BYTES): split it into several proposals", "too_large")


def _depth_error(limit: int) -> FragmentLimitError:
    return FragmentLimitError(
        f"the TEI nests elements more than {limit} levels deep, over the limit "
        "(EMEND_MAX_FRAGMENT_DEPTH)", "too_deep")


def parse_fragment_list(xml: str, *, allowed: set[str]) -> tuple[str | None, list[etree._Element]]:
    """Parse `xml` (mixed content: text and elements) in the TEI namespace.

    Returns the leading text and the top-level elements. Elements and attributes outside
    `allowed` / ALLOWED are refused with their name; FragmentLimitError past
    EMEND_MAX_FRAGMENT_BYTES or EMEND_MAX_FRAGMENT_DEPTH (top-level elements are at depth 1).
    """
    check_fragment_size(xml)
    max_depth = settings.EMEND_MAX_FRAGMENT_DEPTH
    wrapped = f'<wrapper xmlns="{TEI_NS}">{xml}</wrapper>'
    try:
        wrapper = etree.fromstring(wrapped.encode("utf-8"), parser=safe_parser())
    except etree.XMLSyntaxError as exc:
        if exc.msg.startswith("Excessive depth"):  # libxml2's own limit (256), past ours
            raise _depth_error(max_depth) from None
        raise FragmentError(f"the TEI is not well-formed: {exc.msg}") from None
    depth = -1  # the wrapper's own start event brings it to 0
    for event, element in etree.iterwalk(wrapper, events=("start", "end", "comment", "pi")):
        if event == "end":
            depth -= 1
            continue
        if event != "start":
            raise FragmentError("comments and processing instructions are not allowed")
        depth += 1
        if depth > max_depth:
            raise _depth_error(max_depth)
        if element is wrapper:
            continue
        name = etree.QName(element)
        if name.namespace != TEI_NS or name.localname not in allowed:
            raise FragmentError(f"<{name.localname}> is not allowed here")
        permitted = COMMON_ATTRIBUTES | ALLOWED[name.localname]
        for attribute in element.attrib:
            key = attribute.replace(_XML_NS_PREFIX, "xml:")
            if key not in permitted:
                raise FragmentError(f"attribute {key} is not allowed on <{name.localname}>")
    return wrapper.text, list(wrapper)


# ------------------------------------------------------------------------------------------
# Footnotes


def insert_note(
    div: etree._Element, offset: int, body_xml: str
) -> tuple[etree._Element, str, dict[str, str]]:
    """Add a note anchored at `offset` of the text layer.

    Returns the copy, the new note's id and the ids of other notes renumbered (old → new).

    The note goes right after the character before `offset` (footnotes stay with the word before
    them). Notes are renumbered afterwards; the returned id is the new note's final id.
    """
    tree = copy.deepcopy(div)
    layer = build(tree)
    if not 0 < offset <= len(layer.text) or layer.text[offset - 1] in " \n":
        raise TextChangeError("a footnote must follow a word or punctuation mark")
    note = etree.Element(tei("note"))
    _fill(note, body_xml)
    marker = "emend-new-note"
    note.set(XML_ID, marker)
    _place_after_character(layer, offset, note)
    tree, renamed = renumber_notes(tree)
    return tree, renamed.pop(marker, marker), renamed


def edit_note(div: etree._Element, note_id: str, body_xml: str) -> etree._Element:
    tree = copy.deepcopy(div)
    note = _find_note(tree, note_id)
    tail = note.tail
    for child in list(note):
        note.remove(child)
    note.text = None
    _fill(note, body_xml)
    note.tail = tail
    return tree


def remove_note(div: etree._Element, note_id: str) -> tuple[etree._Element, dict[str, str]]:
    tree = copy.deepcopy(div)
    note = _find_note(tree, note_id)
    if note.get("type") == "source":
        raise TextChangeError("the source note cannot be removed; edit it instead")
    _remove_keeping_tail(note)
    return renumber_notes(tree)


def note_body_xml(note: etree._Element) -> str:
    """The note's content as submitted TEI would give it (no namespace declarations)."""
    parts = [_escape(note.text or "")]
    for child in note:
        xml = etree.tostring(child, encoding="unicode", with_tail=False)
        parts.append(re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", xml))
        parts.append(_escape(child.tail or ""))
    return "".join(parts)


def renumber_notes(div: etree._Element) -> tuple[etree._Element, dict[str, str]]:
    """Number the document's footnotes 1, 2, … in order (the source note keeps n="0").

    Ids of the FRUS form `{doc}fn{n}` follow their numbers; references inside the document are
    updated. Returns the div and the map of changed ids (old → new).
    """
    doc_id = div.get(XML_ID) or "d"
    notes = [n for n in div.iter(tei("note")) if _is_footnote(n, div)]
    renamed: dict[str, str] = {}
    number = 0
    for note in notes:
        if note.get("type") == "source":
            continue
        number += 1
        old_id = note.get(XML_ID)
        new_id = f"{doc_id}fn{number}"
        note.set("n", str(number))
        if old_id != new_id and (old_id is None or old_id == "emend-new-note"
                                 or _NOTE_ID.match(old_id)):
            note.set(XML_ID, new_id)
            if old_id:
                renamed[old_id] = new_id
    if renamed:
        for ref in div.iter(tei("ref")):
            target = (ref.get("target") or "").removeprefix("#")
            if target in renamed:
                ref.set("target", "#" + renamed[target])
    return div, renamed


def _is_footnote(note: etree._Element, div: etree._Element) -> bool:
    # Notes inside notes are part of their parent's body, not numbered footnotes.
    return not any(local_name(a) == "note" for a in note.iterancestors() if a is not div)


def _find_note(tree: etree._Element, note_id: str) -> etree._Element:
    for note in tree.iter(tei("note")):
        if note.get(XML_ID) == note_id:
            return note
    raise TextChangeError(f"the document has no footnote {note_id}")


def _fill(note: etree._Element, body_xml: str) -> None:
    text, children = parse_fragment_list(body_xml, allowed=INLINE | {"p", "list", "item"})
    if not (text or "").strip() and not children:
        raise FragmentError("the footnote is empty")
    note.text = text
    for child in children:
        note.append(child)


def _place_after_character(layer: TextLayer, offset: int, element: etree._Element) -> None:
    for segment in layer.segments:
        if segment.start < offset <= segment.end:
            break
    else:
        raise TextChangeError(f"no text at offset {offset} to anchor to")
    # The text node is rewritten in its layer form (collapsed whitespace only: the layer stays
    # the same), so the layer offset is also the index to split at.
    cut = offset - segment.start
    before, after = segment.content[:cut], segment.content[cut:]
    host = segment.element
    if segment.slot == "text":
        host.text = before
        element.tail = after or None
        host.insert(0, element)
    else:
        host.tail = before
        element.tail = after or None
        host.addnext(element)


def _remove_keeping_tail(element: etree._Element) -> None:
    parent = element.getparent()
    tail = element.tail or ""
    previous = element.getprevious()
    if previous is not None:
        previous.tail = (previous.tail or "") + tail
    else:
        parent.text = (parent.text or "") + tail
    parent.remove(element)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# ------------------------------------------------------------------------------------------
# Structural fixes


def target_blocks(div: etree._Element, start: int, end: int,
                  layer: TextLayer | None = None) -> list[etree._Element]:
    """The consecutive top-level blocks of the document whose text is exactly [start, end).

    A zero-width range at the start of a block targets nothing (an insertion before it).
    `layer`, when the caller has it, is the div's text layer (spares building it again).
    """
    if start == end:
        return []
    spans = child_spans(div, layer or build(div))
    first = last = None
    for i, (_, (a, b)) in enumerate(spans):
        if a is not None and start <= a and b <= end:
            first = i if first is None else first
            last = i
    if first is None:
        raise TextChangeError("the range does not cover a whole block")
    run = [child for child, _ in spans[first : last + 1]]
    covered_start, covered_end = spans[first][1][0], spans[last][1][1]
    if (covered_start, covered_end) != (start, end):
        raise TextChangeError(
            "a structural fix replaces whole blocks: select from the start of a paragraph, "
            "heading or list to the end of one"
        )
    return run


def child_spans(div: etree._Element, layer: TextLayer):
    """(child, (start, end)) for each element child of the div; (None, None) without text."""
    owner: dict[int, tuple[int, int]] = {}
    children = [c for c in div if isinstance(c.tag, str)]
    index_of = {id(c): i for i, c in enumerate(children)}
    for segment in layer.segments:
        node = segment.element
        if segment.slot == "tail" and id(node) in index_of:
            continue  # text between top-level blocks: not part of any block
        # A tail belongs to the element's parent's flow: find the top-level child holding it,
        # walking up only as far as that child.
        probe = node if segment.slot == "text" else node.getparent()
        top = None
        if probe is not None:
            for candidate in itertools.chain((probe,), probe.iterancestors()):
                if id(candidate) in index_of:
                    top = candidate
                    break
        if top is None:
            continue
        a, b = owner.get(id(top), (segment.start, segment.end))
        owner[id(top)] = (min(a, segment.start), max(b, segment.end))
    return [(c, owner.get(id(c), (None, None))) for c in children]


def replace_blocks(div: etree._Element, start: int, end: int, fragment_xml: str,
                   ) -> tuple[etree._Element, dict[str, str]]:
    """Replace the blocks spanning [start, end) — or insert before the block at `start` when the
    range is empty — with the blocks of `fragment_xml`. Notes are renumbered afterwards;
    returns the copy and the footnote ids that changed (old → new). Linear in the sizes of
    the document and the fragment."""
    tree = copy.deepcopy(div)
    text, elements = parse_fragment_list(fragment_xml, allowed=set(ALLOWED))
    if (text or "").strip():
        raise FragmentError("text outside an element: wrap it in <p> (or another block)")
    for element in elements:
        if local_name(element) not in BLOCKS:
            raise FragmentError(f"<{local_name(element)}> is not a block; use <p>, <list>, "
                                "<opener>, <closer>, <pb> …")
    layer = build(tree)
    run = target_blocks(tree, start, end, layer)
    if run:
        tail = run[-1].tail
        # Where run[0] stood: before the first sibling after it that stays (a comment between
        # two of the blocks replaced ends up after the new ones).
        removed = {id(element) for element in run}
        following = run[0].getnext()
        while following is not None and id(following) in removed:
            following = following.getnext()
    elif start == len(layer.text):
        following, tail = None, "\n"
    else:
        after = next(((c, a) for c, (a, _) in child_spans(tree, layer)
                      if a is not None and a >= start), None)
        if after is None or after[1] != start:
            raise TextChangeError("an insertion of a block must be at the start of a block")
        following, tail = after[0], None
    # The new blocks go where the run was: before the node after it, or at the end. One
    # sibling link each: insert(index) would walk the children every time (O(n²)).
    _keep_source_note(run, elements)
    for element in run:
        tree.remove(element)
    for i, element in enumerate(elements):
        element.tail = "\n" if i < len(elements) - 1 or tail is None else tail
        if following is None:
            tree.append(element)
        else:
            following.addprevious(element)
    _check_ids_unique(tree)
    return renumber_notes(tree)


def _source_notes(elements: list[etree._Element]) -> list[etree._Element]:
    return [note for element in elements for note in element.iter(tei("note"))
            if note.get("type") == "source"]


def _keep_source_note(old_blocks: list[etree._Element], new_blocks: list[etree._Element]) -> None:
    """A structural fix keeps the document's source note where it was, with its id (the id is
    how it is edited and cited); it cannot drop it, nor add a second one."""
    before, after = _source_notes(old_blocks), _source_notes(new_blocks)
    if len(after) < len(before):
        raise FragmentError('the source note would be lost: keep the <note type="source"> of '
                            "these blocks in the fragment (edit its text with a footnote edit)")
    if len(after) > len(before):
        raise FragmentError("a document has one source note: these blocks did not hold it")
    for old, new in zip(before, after, strict=True):
        if old.get(XML_ID) and not new.get(XML_ID):
            new.set(XML_ID, old.get(XML_ID))


def block_xml(div: etree._Element, start: int, end: int,
              layer: TextLayer | None = None) -> str:
    """The TEI of the blocks spanning [start, end), as an editor would edit it."""
    parts = []
    for element in target_blocks(div, start, end, layer):
        xml = etree.tostring(element, encoding="unicode", with_tail=False)
        parts.append(re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", xml))
    return "\n".join(parts)


def _check_ids_unique(tree: etree._Element) -> None:
    seen: set[str] = set()
    for element in tree.iter():
        xml_id = element.get(XML_ID) if isinstance(element.tag, str) else None
        if xml_id is None:
            continue
        if xml_id in seen:
            raise FragmentError(f"xml:id “{xml_id}” would occur twice")
        seen.add(xml_id)
