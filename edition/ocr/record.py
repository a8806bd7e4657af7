"""Reading a page and keeping its OCR suggestions.

`read_page(page)` OCRs the page image and aligns it; `align_page(page)` aligns what was read
with the text as it is now — a page whose revisions moved on is re-aligned, never re-read
(`PageImage.aligned` records the revisions each alignment used). Aligning replaces the page's
open OCR suggestions with one per `Disagreement` worth an editor's time; a dismissed one, or one
made into a proposal, is remembered by its quote (footnote, exact text, replacement and the
context on one side at least, so that an edit nearby does not bring it back) and is never
recorded again.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .. import pages as page_layout
from ..models import Document, PageImage, Suggestion
from ..ownparts import forget
from ..tei.selectors import selector
from . import engine
from .align import Alignment, Disagreement, Read, align, units_on

# Tesseract's English model reads "Hammarskjöld" as "Hammarskjold": a diacritic the image
# shows and the OCR lost is not the text's fault. And its classic confusions (I/l/1, O/0, J/]…)
# must be read with more confidence than other differences to be worth suggesting (bench/ocr.py:
# the false suggestions on the abbreviations list were these).
CONFUSABLE_CONFIDENCE = 90
_CONFUSABLE = str.maketrans({"l": "I", "1": "I", "|": "I", "!": "I", "0": "O", "]": "J",
                             "5": "S", "8": "B", "2": "Z"})

# A disagreement of more words than this on either side is the alignment losing its way (a
# table, a figure, a page that is not the text's), not a misread word: not suggested.
MAX_WORDS = 4


@dataclass(frozen=True)
class Finding:
    """One disagreement as a suggestion would record it: [start, end) and the quote on the
    text of unit `document_id` (or of its footnote `note_id`), what the image reads there."""

    document_id: int
    note_id: str
    start: int
    end: int
    exact: str
    prefix: str
    suffix: str
    replacement: str
    confidence: float
    region: list[int]
    explanation: str


def findings(alignment: Alignment, page: PageImage, *,
             threshold: float | None = None) -> list[Finding]:
    """The alignment's disagreements worth suggesting: short, within one text, read with a
    confidence of at least `threshold` (default EMEND_OCR_MIN_CONFIDENCE)."""
    if threshold is None:
        threshold = settings.EMEND_OCR_MIN_CONFIDENCE
    found = []
    for gap in alignment.disagreements:
        if len(gap.words) > MAX_WORDS or len(gap.reads) > MAX_WORDS:
            continue
        for part in _split(gap, alignment.transcription.texts):
            if _lost_diacritics(part):
                continue
            finding = _finding(part, alignment, page)
            if finding is None or finding.confidence < threshold:
                continue
            if finding.confidence < CONFUSABLE_CONFIDENCE and _confusions(part):
                continue
            found.append(finding)
    return found


def _split(gap: Disagreement, texts: dict) -> list[Disagreement]:
    """A word-for-word disagreement across a block break, one per block (a fix must not move
    words between paragraphs); any other across a break is left as it is (and not suggested)."""
    if len(gap.words) < 2 or len(gap.words) != len(gap.reads):
        return [gap]
    parts, first = [], 0
    for i in range(1, len(gap.words) + 1):
        if i == len(gap.words) or gap.words[i].home != gap.words[i - 1].home or "\n" in \
                texts[gap.words[i].home][gap.words[i - 1].end:gap.words[i].start]:
            parts.append(Disagreement(gap.words[first:i], gap.reads[first:i],
                                      gap.before if first == 0 else None,
                                      gap.after if i == len(gap.words) else None))
            first = i
    return parts


def _pairs(gap: Disagreement):
    if len(gap.words) == len(gap.reads):
        return list(zip((w.key for w in gap.words), (r.key for r in gap.reads)))
    return None


def _lost_diacritics(gap: Disagreement) -> bool:
    pairs = _pairs(gap)
    return bool(pairs) and all(_bare(word) == read for word, read in pairs)


def _confusions(gap: Disagreement) -> bool:
    pairs = _pairs(gap)
    return bool(pairs) and all(word.translate(_CONFUSABLE) == read.translate(_CONFUSABLE)
                               for word, read in pairs)


def _bare(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text)
                   if not unicodedata.combining(c))


def _finding(gap: Disagreement, alignment: Alignment, page: PageImage) -> Finding | None:
    before = gap.before[0] if gap.before else None
    after = gap.after[0] if gap.after else None
    texts = alignment.transcription.texts
    around = [pair[1] for pair in (gap.before, gap.after) if pair]
    if gap.reads:
        confidence = sum(r.confidence for r in gap.reads) / len(gap.reads)
        region = _union(gap.reads)
    elif around:
        # Nothing read where the text has words: the image's words either side vouch for it.
        confidence = min(r.confidence for r in around)
        region = _union(around[:1])
    else:
        return None
    read = " ".join(r.text for r in gap.reads)
    if gap.words:
        home = gap.words[0].home
        if any(w.home != home for w in gap.words):
            return None  # across two units or into a footnote: no one quote holds it
        text = texts[home]
        start, end = gap.words[0].start, gap.words[-1].end
        if "\n" in text[start:end]:
            return None  # across a block break: words would move between paragraphs
        if read:
            words = text[start:end]
            explanation = (f"On {page.label} the page image reads “{read}” where the text "
                           f"has “{words}”.")
            replacement = read
        else:
            # A word to delete takes its space with it: the one before, or else the one after.
            if before is not None and before.home == home and "\n" not in text[before.end:start]:
                start = before.end
            elif after is not None and after.home == home and "\n" not in text[end:after.start]:
                end = after.start
            else:
                return None
            missing = text[gap.words[0].start:gap.words[-1].end]
            explanation = f"On {page.label} the page image has no “{missing}” here."
            replacement = ""
    else:
        # A word the text lacks: it joins the word before it (or the one after).
        if before is not None:
            home, start, end = before.home, before.start, before.end
            replacement = f"{before.text} {read}"
            where = f"after “{before.text}”"
        elif after is not None:
            home, start, end = after.home, after.start, after.end
            replacement = f"{read} {after.text}"
            where = f"before “{after.text}”"
        else:
            return None
        text = texts[home]
        explanation = (f"On {page.label} the page image reads “{read}” {where}, which the "
                       "text lacks.")
    quote = selector(text, start, end)
    return Finding(home[0], home[1], start, end, quote["exact"], quote["prefix"],
                   quote["suffix"], replacement, round(confidence, 1), region, explanation)


def _union(reads: list[Read] | tuple[Read, ...]) -> list[int]:
    boxes = [box for read in reads for box in read.boxes]
    left = min(b[0] for b in boxes)
    top = min(b[1] for b in boxes)
    right = max(b[0] + b[2] for b in boxes)
    bottom = max(b[1] + b[3] for b in boxes)
    return [left, top, right - left, bottom - top]


def read_page(page: PageImage) -> list[Suggestion]:
    """OCR the page image into `page.ocr_words`, then align it (`align_page`). Without
    Tesseract the page says so (`ocr_status` "unavailable"); an image that cannot be had or
    read marks it "failed" with the reason in `ocr_error`. Returns the suggestions recorded."""
    ok, reason = engine.available()
    if not ok:
        _status(page, PageImage.OCRStatus.UNAVAILABLE, reason)
        return []
    try:
        words, width, height = engine.read(engine.image_bytes(page))
    except engine.OCRError as exc:
        _status(page, PageImage.OCRStatus.FAILED, str(exc))
        return []
    size = page.width, page.height
    page.ocr_words, page.width, page.height = words, width, height
    page.ocr_engine, page.ocr_at = engine.engine_name(), timezone.now()
    page.ocr_status, page.ocr_error = PageImage.OCRStatus.DONE, ""
    # Only if the page still has the image that was read: a scan uploaded meanwhile (its own
    # OCR queued) must not get the old image's words and size.
    fields = ["ocr_words", "width", "height", "ocr_engine", "ocr_at", "ocr_status", "ocr_error"]
    stored = PageImage.objects.filter(pk=page.pk, image=page.image.name or "",
                                      display=page.display.name or "", url=page.url).update(
        **{name: getattr(page, name) for name in fields})
    if not stored:
        return []
    if size != (width, height):
        # The reading pages that show this page give the viewer its size (a remote image's
        # is known once it has been read): theirs are retired, the others kept.
        page_layout.touch(page.edition, page_layout.units_showing(page))
    return align_page(page)


def _status(page: PageImage, status: str, error: str) -> None:
    # ocr_at: when the page was last tried, read or not; the sweep (fail_stuck) sees from it
    # that the edition's queue moves.
    page.ocr_status, page.ocr_error, page.ocr_at = status, error, timezone.now()
    page.save(update_fields=["ocr_status", "ocr_error", "ocr_at"])


def queue(found, *, on_commit: bool = True) -> int:
    """Mark pages (a queryset) queued for OCR now and send a message for each: the `ocr`
    command (`on_commit=False`: its update is committed already, send at once), and a
    reviewer's retry (once its request commits). Returns how many."""
    ids = list(found.values_list("pk", flat=True))
    PageImage.objects.filter(pk__in=ids).update(
        ocr_status=PageImage.OCRStatus.QUEUED, ocr_error="", ocr_queued_at=timezone.now())
    from .. import tasks

    for pk in ids:
        if on_commit:
            tasks.enqueue_on_commit(tasks.ocr_page, pk)
        else:
            tasks._send(tasks.ocr_page, (pk,), {})
    return len(ids)


def fail_stuck(now=None) -> list[int]:
    """Pages queued for OCR longer than EMEND_STUCK_JOB_SECONDS, in editions where no page was
    tried within that time either (a long queue that moves is not stuck): failed, saying why
    (the periodic sweep). A late message still reads the page and marks it done."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.EMEND_STUCK_JOB_SECONDS)
    late = PageImage.objects.filter(ocr_status=PageImage.OCRStatus.QUEUED).filter(
        Q(ocr_queued_at__lt=cutoff) | Q(ocr_queued_at__isnull=True))
    editions = set(late.values_list("edition_id", flat=True).distinct())
    if not editions:
        return []
    moving = set(PageImage.objects.filter(edition_id__in=editions, ocr_at__gte=cutoff)
                 .values_list("edition_id", flat=True).distinct())
    ids = list(late.exclude(edition_id__in=moving).values_list("pk", flat=True))
    hours = settings.EMEND_STUCK_JOB_SECONDS / 3600
    PageImage.objects.filter(pk__in=ids, ocr_status=PageImage.OCRStatus.QUEUED).update(
        ocr_status=PageImage.OCRStatus.FAILED, ocr_at=now,
        ocr_error=f"The OCR worker did not finish reading this page within {hours:g} hour"
                  f"{'s' if hours != 1 else ''} (it may have crashed, or its message was "
                  "lost): retry it.")
    return ids


def align_page(page: PageImage) -> list[Suggestion]:
    """Align the page's OCR with the current text of the units on it and replace the page's
    open OCR suggestions. Locks those units' rows (FOR NO KEY UPDATE, in pk order, as
    proposing does), so the text cannot move under the alignment. Returns the suggestions
    recorded."""
    if not page.ocr_words:
        return []
    with transaction.atomic():
        page = PageImage.objects.select_for_update().get(pk=page.pk)
        ids = sorted(d.pk for d in units_on(page))
        documents = {d.pk: d for d in Document.objects.select_for_update(of=("self",), no_key=True)
                     .filter(pk__in=ids).order_by("pk")}
        alignment = align(page)
        found = findings(alignment, page)
        mine = Suggestion.objects.filter(page=page, check_name=Suggestion.Check.OCR)
        settled = list(Suggestion.objects.filter(document__in=ids, check_name=Suggestion.Check.OCR)
                       .settled().values_list("document_id", "note_id", "exact", "prefix",
                                              "suffix", "replacement"))
        mine.open().delete()
        rows = [_row(f, page, alignment) for f in found if not _was_settled(f, settled)
                and f.document_id in documents]
        forget(r.document_id for r in rows)  # bulk_create sends no signal: proposers' parts
        created = Suggestion.objects.bulk_create(rows)
        page.aligned = {str(pk): r.pk for pk, r in alignment.transcription.revisions.items()}
        page.save(update_fields=["aligned"])
    return created


def _row(finding: Finding, page: PageImage, alignment: Alignment) -> Suggestion:
    return Suggestion(
        document_id=finding.document_id,
        revision=alignment.transcription.revisions[finding.document_id],
        check_name=Suggestion.Check.OCR, change="note-edit" if finding.note_id else "text",
        note_id=finding.note_id, exact=finding.exact, prefix=finding.prefix,
        suffix=finding.suffix, replacement=finding.replacement,
        explanation=finding.explanation, page=page, confidence=finding.confidence,
        region=finding.region)


def _was_settled(finding: Finding, settled: list[tuple]) -> bool:
    return any(document_id == finding.document_id and note_id == finding.note_id
               and exact == finding.exact and replacement == finding.replacement
               and (prefix == finding.prefix or suffix == finding.suffix)
               for document_id, note_id, exact, prefix, suffix, replacement in settled)


def pages_to_realign(document: Document) -> list[int]:
    """The pks of the read pages whose alignment used this unit's text, or that hold one of
    its page breaks: after a new revision they are aligned again."""
    return list(PageImage.objects.filter(edition_id=document.edition_id,
                                         ocr_status=PageImage.OCRStatus.DONE)
                .filter(Q(aligned__has_key=str(document.pk)) | Q(document=document))
                .values_list("pk", flat=True).order_by("sequence"))


def realign_on_revision(sender, *, document: Document, **kwargs) -> None:
    """`revision_added`'s receiver: once the revision commits, the worker aligns the pages
    read against this unit's text again (edition/tasks.py `align_pages`)."""
    from .. import tasks

    found = pages_to_realign(document)
    if found:
        tasks.enqueue_on_commit(tasks.align_pages, found)
