"""The printed page a reviewer checks a change against (issue 11): the page (or pages) each
change's words stand on, with those words outlined from the page's OCR, and the evidence of
the OCR suggestion a proposal was made from.

Pages come from `edition.pages.shown` on the revision the change's offsets refer to; word
boxes from `edition.ocr.locate.boxes`, which maps the revision's words onto the OCR's. Where
no word can be outlined the reviewer is told why (no OCR installed, the page not read yet,
the words not found on it): the image is shown all the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from edition import ocr, pages
from edition.models import Document, PageImage, Revision, Suggestion
from edition.ocr import locate

from .models import Change


@dataclass(frozen=True)
class ChangePage:
    shown: pages.Shown
    boxes: list  # [x, y, w, h] of the words the change touches, in the image's pixels
    note: str  # why none is outlined ("" when some are)


@dataclass(frozen=True)
class Evidence:
    """What the OCR read where a suggestion said the text differs."""

    suggestion: Suggestion
    shown: pages.Shown | None
    ocr_reading: str
    transcription: str
    confidence: float | None
    region: list | None


def change_pages(changes: list[Change], document: Document, revision: Revision,
                 shown: list[pages.Shown]) -> list[list[ChangePage]]:
    """For each change, the pages it falls on, each with the boxes of its words. Each page is
    aligned once for all the changes on it (a proposal may hold a hundred changes)."""
    placed = [[] if c.is_metadata else _on(shown, c.start, c.end) for c in changes]
    ranges: dict[int, list[tuple[int, int]]] = {}
    for on in placed:
        for item, start, end in on:
            ranges.setdefault(item.page.pk, []).append((start, end))
    found = {}
    for item in {item.page.pk: item for on in placed for item, _, _ in on}.values():
        wanted = ranges[item.page.pk]
        found[item.page.pk] = dict(zip(wanted, locate.many(item.page, document, revision,
                                                           wanted), strict=True))
    return [[_outlined(item, found[item.page.pk][(start, end)]) for item, start, end in on]
            for on in placed]


def pages_of(document: Document, revision: Revision, shown: list[pages.Shown], start: int,
             end: int) -> list[ChangePage]:
    """The pages [start, end) of `revision`'s text falls on (a point: the page it stands on),
    each with the boxes of its words (a point, where an insertion or a footnote's marker
    goes: the words either side)."""
    return [_outlined(item, locate.boxes(item.page, document, revision, start, end))
            for item, start, end in _on(shown, start, end)]


def _on(shown: list[pages.Shown], start: int, end: int) -> list[tuple[pages.Shown, int, int]]:
    """The pages [start, end) falls on, each with the part of the range on it."""
    if not shown:
        return []
    if end == start:
        on = [s for s in shown if s.start <= start][-1:] or shown[:1]
    else:
        on = [s for s in shown if s.start < end and start < s.end]
    found = []
    for item in on:
        part_start = max(start, item.start)
        found.append((item, part_start, max(part_start, min(end, item.end))))
    return found


def selection_page(document: Document, revision: Revision, start: int,
                   end: int) -> ChangePage | None:
    """The page a selection begins on (the proposing form shows it), its words outlined."""
    found = pages_of(document, revision, pages.shown(document, revision), start, end)
    return found[0] if found else None


def _outlined(item: pages.Shown, boxes: list) -> ChangePage:
    if boxes:
        return ChangePage(item, boxes, "")
    if not item.page.ocr_words:
        installed, reason = ocr.available()
        if not installed:
            return ChangePage(item, [], f"The words cannot be outlined: {reason}")
        if item.page.ocr_status == PageImage.OCRStatus.FAILED:
            return ChangePage(item, [], "The words cannot be outlined: reading this page "
                                        "failed.")
        return ChangePage(item, [], "The words cannot be outlined: this page has not been "
                                    "read by OCR yet.")
    return ChangePage(item, [], "The OCR of this page did not find these words: look for "
                                "them on the image.")


def evidence(suggestion: Suggestion | None) -> Evidence | None:
    """The OCR evidence of the suggestion a proposal was made from (None for other kinds)."""
    if suggestion is None or suggestion.check_name != Suggestion.Check.OCR:
        return None
    page = suggestion.page
    shown = (pages.Shown(page, 0, 0, pages.image_urls(page), "")
             if page is not None and page.has_image else None)
    return Evidence(suggestion, shown, suggestion.replacement, suggestion.exact,
                    suggestion.confidence, suggestion.region)
