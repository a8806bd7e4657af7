"""What an import from plain text could not recover, found in the TEI it built, each with the fix
an editor may propose: a missing dateline, a signature kept as a paragraph, lost list items.
Errors of the text itself (ranges that lost their en dash, "Documents 139142") are the checks'
(edition/checks/), which run on every unit and revision; `Finding` is the record both share.

Pure functions of a document `div`; offsets and quotes are on the text layer the fix applies to
(the document's, or one footnote's own for a footnote edit). The detectors are conservative: a
finding nobody needs costs an editor a click, a wrong one costs a reviewer's attention.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from . import local_name
from .edits import child_spans
from .selectors import selector
from .textlayer import TextLayer, build

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


@dataclass(frozen=True)
class Finding:
    """One thing the import could not recover, and the change that would fix it.

    `change` is the kind of proposal the fix takes (`text`, `structure` or `note-edit`; "" for
    a check's finding that only a person can fix);
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
    return [*_dateline(div, layer, blocks), *_lists(layer, blocks), *_signature(layer, blocks)]


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


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace(
        '"', "&quot;")

