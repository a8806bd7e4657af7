"""Lining up a page's OCR words with the transcription's words on that page.

The transcription of a page is the stretch of each unit's text layer on it (`pages.spans`: the
end of one document and the start of the next can share a page), then the text of the footnotes
anchored in those stretches, which the printed page sets at its foot. Both sides are cut into
words with their offsets (the text layer's) or boxes (the image's), and compared by a key that
forgives FRUS typography: curly and straight quotes, hyphen, en and em dashes and "--", NFKC
(ligatures). On the OCR side a word split by a line-end hyphen ("Ko-" / "rea") is joined again,
a footnote call glued to its word ("Korea.1", for a footnote anchored on the page) is taken off,
and `[Page N]`, the running head and the page number — the lines before the first and after the
last line that matches the text — are not the transcription's business.

The two word sequences are aligned by Levenshtein's edit operations over whole words
(rapidfuzz), not by searching strings: a run of operations between two agreeing words is one
`Disagreement` — the text's words, the image's, and the agreeing words on either side.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from dataclasses import dataclass, field

from rapidfuzz.distance import Levenshtein

from .. import pages as page_layout
from ..models import Document, PageImage, Revision
from ..tei import XML_ID
from ..tei.textlayer import build

_TYPOGRAPHY = str.maketrans({
    "‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "`": "'", "´": "'",
    "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"', "«": '"', "»": '"',
    "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "−": "-", "\u00ad": "",
})
_DASHES = re.compile(r"-{2,}")
_WORD = re.compile(r"\S+")
# A line-end hyphen (ASCII, Unicode or soft) and the lower-case start of the next line's word.
_HYPHENATED = re.compile(r"[A-Za-z][-\u2010\u00ad]$")
_PAGE_MARK = re.compile(r"^\[?Page$", re.IGNORECASE)
# What Tesseract makes of a superscript footnote call it does not read as a digit.
_CALL_MISREADS = "®©°’'‘`*^\"”“"
_PAGE_NUMBER = re.compile(r"^[\[(]?[0-9A-Za-z]{1,8}[\])]?[.,]?$")


def key(text: str) -> str:
    """What two words must share to agree."""
    text = unicodedata.normalize("NFKC", text).translate(_TYPOGRAPHY)
    return _DASHES.sub("-", text)


@dataclass(frozen=True)
class Word:
    """A transcription word: `start`/`end` in its unit's text layer, or in footnote
    `note_id`'s own layer."""

    text: str
    key: str
    start: int
    end: int
    document_id: int
    note_id: str = ""

    @property
    def home(self) -> tuple[int, str]:
        return (self.document_id, self.note_id)


@dataclass(frozen=True)
class Read:
    """A word the OCR read: its text (without a footnote call or line-end hyphen), its
    box(es) [x, y, w, h] in image pixels (two for a word hyphenated across lines), the
    confidence (0–100) and its line."""

    text: str
    key: str
    boxes: tuple[tuple[int, int, int, int], ...]
    confidence: float
    line: int


@dataclass
class Transcription:
    """The words of the transcription on one page, and the texts their offsets are in."""

    words: list[Word] = field(default_factory=list)
    texts: dict[tuple[int, str], str] = field(default_factory=dict)
    revisions: dict[int, Revision] = field(default_factory=dict)
    labels: set[str] = field(default_factory=set)  # the footnote calls printed on the page


@dataclass(frozen=True)
class Disagreement:
    """A run of words where the text and the image differ. `before`/`after`: the agreeing
    word pairs around it (None at the page's edges)."""

    words: tuple[Word, ...]
    reads: tuple[Read, ...]
    before: tuple[Word, Read] | None
    after: tuple[Word, Read] | None


@dataclass
class Alignment:
    transcription: Transcription
    reads: list[Read]
    pairs: list[tuple[Word, Read]]  # the agreeing words
    disagreements: list[Disagreement]
    # Each transcription word's reads: the agreeing one, or those of its disagreement.
    reads_of: dict[int, tuple[Read, ...]]


def units_on(page: PageImage) -> list[Document]:
    """The units whose text may stand on `page` (the one holding its `pb`, and those that
    begin before the next `pb`), in volume order."""
    following = (PageImage.objects.filter(edition_id=page.edition_id,
                                          sequence__gt=page.sequence,
                                          sequence__lt=page_layout._PARKED)
                 .order_by("sequence").only("unit_order").first())
    units = Document.objects.filter(edition_id=page.edition_id, order__gte=page.unit_order)
    if following is not None:
        units = units.filter(order__lte=following.unit_order)
    return list(units.exclude(current_revision=None).select_related("current_revision")
                .order_by("order"))


def transcription(page: PageImage, revisions: dict[int, Revision] | None = None) -> Transcription:
    """The words of the page's transcription: each unit's stretch on the page (`revisions`
    names the revision to read per document pk; default the current one), then the footnotes
    anchored there."""
    revisions = revisions or {}
    found = Transcription()
    notes: list[Word] = []
    for document in units_on(page):
        revision = revisions.get(document.pk) or document.current_revision
        stretches = [(s.start, s.end) for s in page_layout.spans(document, revision)
                     if s.page.pk == page.pk]
        if not stretches:
            continue
        layer = revision.layer
        found.revisions[document.pk] = revision
        found.texts[(document.pk, "")] = layer.text
        for start, end in stretches:
            found.words += _words(layer.text, start, end, document.pk)
            for anchor in layer.notes:
                # A note anchored after the unit's last word is on the page that word is on.
                if start <= anchor.offset < end or anchor.offset == end == len(layer.text):
                    note_id = anchor.element.get(XML_ID) or ""
                    if not note_id or (document.pk, note_id) in found.texts:
                        continue
                    text = build(anchor.element).text
                    found.texts[(document.pk, note_id)] = text
                    found.labels.add((anchor.element.get("n") or "").strip())
                    notes += _words(text, 0, len(text), document.pk, note_id)
    found.words += notes
    found.labels.discard("")
    return found


def _words(text: str, start: int, end: int, document_id: int, note_id: str = "") -> list[Word]:
    return [Word(m.group(), key(m.group()), start + m.start(), start + m.end(), document_id,
                 note_id) for m in _WORD.finditer(text[start:end])]


def reads(page: PageImage, known: Transcription) -> list[Read]:
    """The page's OCR words as `Read`s: `[Page N]` left out, line-end hyphenation joined,
    footnote calls (of the notes on the page) taken off their words."""
    raw = [w for w in page.ocr_words if w and str(w[0]).strip()]
    keys = {w.key for w in known.words}
    heights = [int(w[4]) for w in raw]
    typical = statistics.median(heights) if heights else 0
    found: list[Read] = []
    index = 0
    while index < len(raw):
        text, x, y, w, h, confidence, line = raw[index][:7]
        following = raw[index + 1] if index + 1 < len(raw) else None
        if _PAGE_MARK.match(text) and following and _PAGE_NUMBER.match(following[0]):
            index += 2
            continue
        boxes = ((int(x), int(y), int(w), int(h)),)
        if (following is not None and following[6] != line and _HYPHENATED.search(text)
                and following[0][:1].islower()):
            joined, kept = text[:-1] + following[0], text[:-1] + "-" + following[0]
            text = kept if key(kept) in keys else joined
            boxes += ((int(following[1]), int(following[2]), int(following[3]),
                       int(following[4])),)
            confidence = min(float(confidence), float(following[5]))
            index += 1
        elif text in known.labels and (not found or found[-1].line != line
                                       or typical and int(h) < 0.8 * typical):
            # A footnote's number opening its line at the foot of the page, or a call read
            # as a word of its own (small, beside its word).
            index += 1
            continue
        text = _without_call(text, known.labels, keys)
        found.append(Read(text, key(text), boxes, float(confidence), int(line)))
        index += 1
    return found


def _without_call(text: str, labels: set[str], keys: set[str]) -> str:
    if key(text) in keys or not labels:
        return text
    # A superscript call is often read as a mark glued to its word ("Conversation®").
    stem = text.rstrip(_CALL_MISREADS)
    if stem != text and key(stem) in keys:
        return stem
    for label in labels:
        if text.endswith(label) and len(text) > len(label):
            stem = text[:-len(label)]
            if not stem[-1].isdigit():
                return stem
    return text


def align(page: PageImage, revisions: dict[int, Revision] | None = None) -> Alignment:
    """The page's OCR words aligned with its transcription (see the module's docstring)."""
    known = transcription(page, revisions)
    read = reads(page, known)
    words = known.words
    ops = Levenshtein.opcodes([w.key for w in words], [r.key for r in read])
    pairs: list[tuple[Word, Read]] = []
    runs: list[tuple[int, int, int, int]] = []  # [i1, i2) of words, [j1, j2) of reads
    for op in ops:
        if op.tag == "equal":
            pairs += zip(words[op.src_start:op.src_end], read[op.dest_start:op.dest_end])
        elif runs and runs[-1][1] == op.src_start and runs[-1][3] == op.dest_start:
            runs[-1] = (runs[-1][0], op.src_end, runs[-1][2], op.dest_end)
        else:
            runs.append((op.src_start, op.src_end, op.dest_start, op.dest_end))
    matched_lines = sorted({r.line for _, r in pairs})
    first, last = (matched_lines[0], matched_lines[-1]) if matched_lines else (0, -1)
    by_word = {id(w): i for i, w in enumerate(words)}
    pair_at = {by_word[id(w)]: (w, r) for w, r in pairs}
    reads_of: dict[int, tuple[Read, ...]] = {by_word[id(w)]: (r,) for w, r in pairs}
    found = []
    for i1, i2, j1, j2 in runs:
        # OCR lines that match nothing, above the text's first line or below its last: the
        # running head, the page number, marks on the page.
        inside = tuple(r for r in read[j1:j2] if first <= r.line <= last)
        for i in range(i1, i2):
            reads_of[i] = inside
        if not inside and i1 == i2:
            continue
        found.append(Disagreement(tuple(words[i1:i2]), inside, pair_at.get(i1 - 1),
                                  pair_at.get(i2)))
    return Alignment(known, read, pairs, found, reads_of)
