"""What an import from plain text could not recover, found in the TEI it built, each with the fix
an editor may propose: a missing dateline, a signature kept as a paragraph, lost list items, digit
runs that were ranges before their en dash was lost ("Documents 139142").

Pure functions of a document `div`; offsets and quotes are on the text layer the fix applies to
(the document's, or one footnote's own for a footnote edit). The detectors are conservative: a
finding nobody needs costs an editor a click, a wrong one costs a reviewer's attention.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from . import XML_ID, local_name
from .edits import child_spans
from .selectors import selector
from .textlayer import TextLayer, build

EN_DASH = "\u2013"
PLACEHOLDER_DATELINE = "[Place], [Month Day, Year]"
PLACEHOLDER_ITEM = "[one entry per line]"

MONTHS = ("January|February|March|April|May|June|July|August|September|October|November|"
          "December")
# "Washington, June 20, 1959, 11 a.m." — a place, then a date, on a short line of its own.
DATELINE = re.compile(rf"(?P<place>[A-Z][\w.’' -]{{1,40}}),\s+(?P<date>(?:{MONTHS})\s+\d{{1,2}},"
                      rf"\s+\d{{4}})(?P<rest>,[^\n]{{0,40}}|\.)?")
# A signature: one to five capitalised words or initials, nothing else ("Christian A. Herter").
SIGNATURE = re.compile(r"(?:[A-Z][\w’'-]*|[A-Z]\.)(?:\s+(?:[A-Z][\w’'-]*|[A-Z]\.)){0,4}")
# One-word paragraphs that are not names.
NOT_SIGNATURES = frozenset({"Approved", "Agreed", "Attachment", "Enclosure", "Secret",
                            "Confidential", "Unclassified", "End", "Tab", "Annex"})
# A digit run standing alone: not part of "493.9411/4–1758", "1.5" or "139–142".
DIGIT_RUN = re.compile(r"(?<![\d/.\u2013-])\d{4,8}(?![\d/\u2013-]|\.\d)")
# Words after which a run of digits names documents (or pages) by number.
NUMBERED_THINGS = re.compile(r"\b(?:Documents?|documents?|pages?|pp\.)\s*$")
# A list of numbers after such a word: "Documents 139, 140142 and 144146".
NUMBER_LIST_TAIL = re.compile(r"(?:\d+(?:\u2013\d+)?(?:,\s*|,?\s+and\s+))*$")
# Words after which digits are an identifier, never a range ("telegram 19581960").
IDENTIFIER_WORDS = re.compile(
    r"\b(?:telegram|despatch|dispatch|airgram|instruction|circular|no\.|number|lot|cf|file|"
    r"files|memorandum|tel\.|deptel|embtel)\s*$", re.IGNORECASE)
YEARS = range(1700, 2100)
# A lost range this wide or wider is not guessed ("Documents 1391" is not 13–91).
MAX_DOCUMENT_SPAN, MAX_YEAR_SPAN = 50, 100


@dataclass(frozen=True)
class Finding:
    """One thing the import could not recover, and the change that would fix it.

    `change` is the kind of proposal the fix takes (`text`, `structure` or `note-edit`);
    `exact`/`prefix`/`suffix` are a TextQuoteSelector on the document's text layer, or on the
    footnote `note_id`'s own layer for a footnote edit. `replacement` is the new text (text and
    footnote edits), `fragment` the TEI of the blocks (structural fixes, with `placement`
    "before" for an insertion at a block's start).
    """

    check: str
    change: str
    explanation: str
    exact: str = ""
    prefix: str = ""
    suffix: str = ""
    replacement: str = ""
    fragment: str = ""
    placement: str = "replace"
    note_id: str = ""

    @property
    def report_line(self) -> str:
        return f"Suggestion ({self.check}): {self.explanation}"


def find(div: etree._Element) -> list[Finding]:
    """Every finding for a document built from plain text, in document order of the checks."""
    layer = build(div)
    blocks = [(child, span) for child, span in child_spans(div, layer) if span[0] is not None]
    return [*_dateline(div, layer, blocks), *_lists(layer, blocks), *_signature(layer, blocks),
            *_ranges(div, layer)]


# ------------------------------------------------------------------------------------------
# Structure


def _dateline(div, layer: TextLayer, blocks) -> list[Finding]:
    if div.find(".//{*}dateline") is not None:
        return []
    body = [(child, span) for child, span in blocks if local_name(child) != "head"]
    if not body:
        return []
    for child, (start, end) in body[:4]:
        text = layer.text[start:end]
        if local_name(child) == "p" and (match := DATELINE.fullmatch(text)):
            fragment = (f"<opener><dateline><placeName>{_escape(match['place'])}</placeName>, "
                        f"<date>{_escape(text[match.start('date'):])}</date></dateline></opener>")
            return [Finding(
                "dateline", "structure",
                f"The paragraph “{text}” reads like a dateline (a place and a date): mark it up "
                "as the document's dateline.",
                fragment=fragment, **selector(layer.text, start, end))]
    start = body[0][1][0]
    return [Finding(
        "dateline", "structure",
        "No dateline was found: insert one after the heading, with the place and date of the "
        "document (replace the placeholder).",
        fragment=f"<opener><dateline>{PLACEHOLDER_DATELINE}</dateline></opener>",
        placement="before", **selector(layer.text, start, start))]


def _lists(layer: TextLayer, blocks) -> list[Finding]:
    findings = []
    for child, (start, end) in blocks:
        if local_name(child) != "list":
            continue
        items = child.findall("{*}item")
        if any(build(item).text for item in items):
            continue
        head = child.find("{*}head")
        label = build(head).text if head is not None else child.get("type", "list")
        list_type = child.get("type")
        opening = f'<list type="{_escape(list_type)}">' if list_type else "<list>"
        lines = [opening, f"<head>{_escape(label)}</head>"]
        lines += [f"<item>{PLACEHOLDER_ITEM}</item>"] * 3 + ["</list>"]
        findings.append(Finding(
            "list-items", "structure",
            f"The {label} list lost its entries: fill in one item per line (add or remove "
            "items as needed).",
            fragment="\n".join(lines), **selector(layer.text, start, end)))
    return findings


def _signature(layer: TextLayer, blocks) -> list[Finding]:
    paragraphs = [(child, span) for child, span in blocks if local_name(child) in ("p", "closer")]
    if len(paragraphs) < 2 or local_name(paragraphs[-1][0]) != "p":
        return []
    child, (start, end) = paragraphs[-1]
    text = layer.text[start:end]
    if (len(text) > 50 or child.find(".//{*}note") is not None or text in NOT_SIGNATURES
            or not SIGNATURE.fullmatch(text)):
        return []
    return [Finding(
        "signature", "structure",
        f"The last paragraph, “{text}”, reads like a signature: mark it up as the document's "
        "closing signature.",
        fragment=f"<closer><signed>{_escape(text)}</signed></closer>",
        **selector(layer.text, start, end))]


# ------------------------------------------------------------------------------------------
# Ranges whose en dash was lost


def lost_range(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The range the digits text[start:end] were before the dash was lost, when that is clear:
    after "Documents" (or pages), one split into two ascending numbers of like length at most
    `MAX_DOCUMENT_SPAN` apart; elsewhere, eight digits that are two ascending years not named as an
    identifier ("telegram 19581960" stays)."""
    digits, before = text[start:end], text[max(start - 80, 0):start]
    lead = before[: len(before) - len(NUMBER_LIST_TAIL.search(before).group())]
    if NUMBERED_THINGS.search(lead):
        splits = [(int(digits[:i]), int(digits[i:])) for i in range(1, len(digits))
                  if digits[i] != "0" and len(digits) - i in (i, i + 1)]
        good = [(a, b) for a, b in splits if a < b < a + MAX_DOCUMENT_SPAN]
        return good[0] if len(good) == 1 else None
    if len(digits) == 8 and not IDENTIFIER_WORDS.search(before):
        a, b = int(digits[:4]), int(digits[4:])
        if a in YEARS and b in YEARS and a < b < a + MAX_YEAR_SPAN:
            return a, b
    return None


def _ranges(div, layer: TextLayer) -> list[Finding]:
    findings = [_range_finding(layer.text, match, "text") for match in DIGIT_RUN.finditer(
        layer.text)]
    for anchor in layer.notes:
        note_id = anchor.element.get(XML_ID)
        if not note_id:
            continue
        note_text = build(anchor.element).text
        label = ("the source note" if anchor.element.get("type") == "source"
                 else f"footnote {anchor.element.get('n') or note_id}")
        findings += [_range_finding(note_text, match, "note-edit", note_id, label)
                     for match in DIGIT_RUN.finditer(note_text)]
    return [f for f in findings if f is not None]


def _range_finding(text: str, match: re.Match, change: str, note_id: str = "",
                   note_label: str = "") -> Finding | None:
    found = lost_range(text, match.start(), match.end())
    if found is None:
        return None
    a, b = found
    where = f" in {note_label}" if note_id else ""
    return Finding(
        "range", change,
        f"“{match.group()}”{where} looks like the range {a}{EN_DASH}{b} with its en dash lost "
        "in the plain text.",
        replacement=f"{a}{EN_DASH}{b}", note_id=note_id,
        **selector(text, match.start(), match.end()))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace(
        '"', "&quot;")

