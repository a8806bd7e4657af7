"""The TEI of the common structural repairs, from a few typed fields, in FRUS's own markup.

Each function returns a fragment of top-level blocks for a structural fix (the whole blocks it
replaces, or the blocks inserted), every typed value escaped. Pure: no database, no review.
"""

from __future__ import annotations

import copy
import re
from datetime import date, time
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

from . import XML_ID, local_name, tei
from .textlayer import TextChangeError, build

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
DATE_TYPE = "conversation-or-meeting-date"
_OFFSET = re.compile(r"^[+-](0\d|1[0-4]):[0-5]\d$|^Z$")
_MARK = "{urn:emend}cut"


class GuidedError(ValueError):
    """A value the person must change; the message says which and why."""


# ------------------------------------------------------------------------------------------
# Dateline


def spoken_time(moment: time) -> str:
    """FRUS's clock: "3:30 p.m.", "10 a.m.", "noon", "midnight"."""
    if moment.minute == 0 and moment.hour in (0, 12):
        return "midnight" if moment.hour == 0 else "noon"
    hour = moment.hour % 12 or 12
    minutes = f":{moment.minute:02d}" if moment.minute else ""
    return f"{hour}{minutes} {'a.m.' if moment.hour < 12 else 'p.m.'}"


def written_date(day: date, start: time | None = None, end: time | None = None) -> str:
    """"January 19, 1960, 3:30–5:30 p.m.": the meridiem is written once when both share it."""
    text = f"{MONTHS[day.month - 1]} {day.day}, {day.year}"
    if start is None:
        return text
    first, last = spoken_time(start), spoken_time(end) if end is not None else ""
    if last and first[-4:] == last[-4:] and first[-4:] in ("a.m.", "p.m."):
        first = first[:-5]
    return f"{text}, {first}–{last}" if last else f"{text}, {first}"


def dateline(place: str, day: date, start: time | None = None, end: time | None = None, *,
             utc_offset: str = "", written: str = "") -> str:
    """`<opener><dateline>` as FRUS writes it: the place, then the date with `when` (a day, or
    an instant) or `from`/`to` (a span); times need their UTC offset ("-05:00")."""
    place = " ".join(place.split())
    if not place:
        raise GuidedError("Give the place (for instance “Washington”).")
    if end is not None and start is None:
        raise GuidedError("An end time needs a start time.")
    if start is not None and not _OFFSET.match(utc_offset):
        raise GuidedError("Give the UTC offset of the times, such as “-05:00” (Washington in "
                          "winter) or “+09:00” (Tokyo).")
    if start is not None and end is not None and end <= start:
        raise GuidedError("The end time must be after the start time.")
    iso = day.isoformat()
    if start is None:
        attributes = f"when={quoteattr(iso)}"
    elif end is None:
        attributes = f"when={quoteattr(_instant(iso, start, utc_offset))}"
    else:
        attributes = (f"from={quoteattr(_instant(iso, start, utc_offset))} "
                      f"to={quoteattr(_instant(iso, end, utc_offset))}")
    text = " ".join(written.split()) or written_date(day, start, end)
    return (f'<opener><dateline rendition="#right"><placeName>{escape(place)}</placeName>, '
            f'<date {attributes} type="{DATE_TYPE}" calendar="gregorian">{escape(text)}</date>'
            "</dateline></opener>")


def _instant(iso_day: str, moment: time, utc_offset: str) -> str:
    return f"{iso_day}T{moment.strftime('%H:%M:%S')}{utc_offset}"


# ------------------------------------------------------------------------------------------
# SUBJECT and PARTICIPANTS; closer


def lines_of(value: str) -> list[str]:
    """One entry per non-blank line, whitespace collapsed."""
    return [" ".join(line.split()) for line in value.splitlines() if line.strip()]


def heading_list(kind: str, entries: list[str]) -> str:
    """`<list type="subject|participants"><head>…</head><item>…</item>…</list>`."""
    if kind not in ("subject", "participants"):
        raise GuidedError(f"unknown list {kind!r}")
    if not entries:
        raise GuidedError("Write at least one line.")
    items = "".join(f"<item>{escape(entry)}</item>" for entry in entries)
    return f'<list type="{kind}"><head>{kind.upper()}</head>{items}</list>'


def closer(signed: str, salute: str = "") -> str:
    """`<closer>`, with an optional salutation before the `<signed>` name."""
    signed, salute = " ".join(signed.split()), " ".join(salute.split())
    if not signed:
        raise GuidedError("Give the signature as printed.")
    before = f"<salute>{escape(salute)}</salute>" if salute else ""
    return f"<closer>{before}<signed>{escape(signed)}</signed></closer>"


# ------------------------------------------------------------------------------------------
# Page breaks, paragraph split and merge


def page_break(number: str, facs: str) -> str:
    """`<pb n="276" xml:id="pg_276" facs="0306"/>`: the id is FRUS's, from the page number."""
    number, facs = number.strip(), facs.strip()
    if not re.fullmatch(r"[0-9A-Za-z]+", number):
        raise GuidedError("The page number is letters or digits (“276”, “xii”).")
    if not re.fullmatch(r"[0-9A-Za-z_.-]+", facs):
        raise GuidedError("The facsimile id is letters, digits, “_”, “.” or “-” (“0306”).")
    return f'<pb n="{number}" xml:id="pg_{number}" facs="{facs}"/>'


def with_page_break(block: etree._Element, offset: int, number: str, facs: str) -> str:
    """The block with a page break at `offset` of its own text layer (after the words before)."""
    page_break(number, facs)  # checks both
    number, facs = number.strip(), facs.strip()
    pb = etree.Element(tei("pb"))
    pb.set("n", number)
    pb.set(XML_ID, f"pg_{number}")
    pb.set("facs", facs)
    tree = copy.deepcopy(block)
    _mark(tree, offset)
    mark = next(tree.iter(_MARK))
    pb.tail = mark.tail
    mark.getparent().replace(mark, pb)
    return _xml(tree)


def split_paragraph(paragraph: etree._Element, offset: int) -> str:
    """Two `<p>` from one, the second beginning at `offset` of the paragraph's text layer."""
    _require_p(paragraph)
    text = build(paragraph).text
    if not 0 < offset < len(text) or not text[:offset].strip() or not text[offset:].strip():
        raise GuidedError("Split between words inside the paragraph, not at its edge.")
    first, second = copy.deepcopy(paragraph), copy.deepcopy(paragraph)
    for tree in (first, second):
        _mark(tree, offset)
        _before_page_break(next(tree.iter(_MARK)))
    _cut_after(next(first.iter(_MARK)))
    _cut_before(next(second.iter(_MARK)))
    second.attrib.pop(XML_ID, None)
    return _xml(first) + "\n" + _xml(second)


def merge_paragraphs(first: etree._Element, second: etree._Element) -> str:
    """One `<p>`: the first paragraph's content, a space, the second's."""
    _require_p(first)
    _require_p(second)
    merged, rest = copy.deepcopy(first), copy.deepcopy(second)
    _rstrip_end(merged)
    joint = " " + (rest.text or "").lstrip()
    if len(merged):
        merged[-1].tail = (merged[-1].tail or "") + joint
    else:
        merged.text = (merged.text or "") + joint
    for child in list(rest):
        merged.append(child)
    return _xml(merged)


def _require_p(element: etree._Element) -> None:
    if local_name(element) != "p":
        raise GuidedError(f"That block is a <{local_name(element)}>, not a paragraph.")


def _mark(tree: etree._Element, offset: int) -> None:
    """A marker element before the character at `offset` of `tree`'s layer (or at its end)."""
    layer = build(tree)
    segments = [s for s in layer.segments if s.start <= offset < s.end]
    if not segments:
        segments = [s for s in layer.segments if s.end == offset]
    if not segments:
        raise TextChangeError(f"no text at offset {offset}")
    segment = segments[0]
    # The text node is rewritten in its layer form, so the offset is an index into it.
    cut = offset - segment.start
    before, after = segment.content[:cut], segment.content[cut:]
    mark = etree.Element(_MARK)
    mark.tail = after or None
    if segment.slot == "text":
        segment.element.text = before or None
        segment.element.insert(0, mark)
    else:
        segment.element.tail = before or None
        segment.element.addnext(mark)


def _before_page_break(mark: etree._Element) -> None:
    """A page break right before the cut begins the new paragraph: its page starts there."""
    pb = mark.getprevious()
    if pb is None or local_name(pb) != "pb" or (pb.tail or "").strip():
        return
    pb.tail, mark.tail = mark.tail, None
    mark.getparent().remove(mark)
    pb.addprevious(mark)


def _drop(element: etree._Element) -> None:
    parent, previous, tail = element.getparent(), element.getprevious(), element.tail or ""
    if previous is not None:
        previous.tail = (previous.tail or "") + tail
    else:
        parent.text = (parent.text or "") + tail
    parent.remove(element)


def _cut_after(mark: etree._Element) -> None:
    """Remove everything after the marker (and the marker) up to the root."""
    node = mark
    while node.getparent() is not None:
        parent = node.getparent()
        for sibling in list(node.itersiblings()):
            parent.remove(sibling)
        if node is mark:
            mark.tail = None
            _drop(mark)
        else:
            node.tail = None
        node = parent
    _rstrip_end(node)


def _cut_before(mark: etree._Element) -> None:
    """Remove everything before the marker (and the marker) up to the root."""
    node = mark
    while node.getparent() is not None:
        parent = node.getparent()
        for sibling in list(node.itersiblings(preceding=True)):
            parent.remove(sibling)
        parent.text = None
        if node is mark:
            parent.text = (mark.tail or "").lstrip() or None
            parent.remove(mark)
        node = parent


def _rstrip_end(element: etree._Element) -> None:
    if len(element):
        last = element[-1]
        if last.tail:
            last.tail = last.tail.rstrip() or None
    elif element.text:
        element.text = element.text.rstrip()


def _xml(element: etree._Element) -> str:
    xml = etree.tostring(element, encoding="unicode", with_tail=False)
    return re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", xml)
