"""Where a stretch of the text stands on a page image: the OCR word boxes of its words (what
the proposal page highlights)."""

from __future__ import annotations

from ..models import Document, PageImage, Revision
from .align import align


def boxes(page: PageImage, document: Document, revision: Revision, start: int,
          end: int) -> list[list[int]]:
    """The boxes [x, y, w, h] (in the page image's pixels, in reading order) of the OCR words
    on `page` that read the words of `revision`'s text layer touching [start, end): those
    that agree, and those the OCR read otherwise. A zero-width range (an insertion point)
    gives the words on either side. Empty when the page has no OCR or the range is not on it."""
    if not page.ocr_words:
        return []
    alignment = align(page, {document.pk: revision})
    mine = [(index, word) for index, word in enumerate(alignment.transcription.words)
            if word.document_id == document.pk and not word.note_id]
    if end > start:
        touched = [index for index, word in mine if word.start < end and start < word.end]
    else:
        before = [index for index, word in mine if word.end <= start]
        after = [index for index, word in mine if word.start >= start]
        touched = before[-1:] + after[:1]
    found: list[list[int]] = []
    for index in touched:
        for read in alignment.reads_of.get(index, ()):
            for box in read.boxes:
                if list(box) not in found:
                    found.append(list(box))
    return found
