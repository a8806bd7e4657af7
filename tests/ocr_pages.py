"""Printed pages to OCR, made from the real text (issue 11's measurements; the tests and
bench/ocr.py share them).

`render(page)` sets the transcription of one `PageImage` (its units' stretches, then the
footnotes anchored there: `edition.ocr.align.transcription`) as a printed page at 300 dpi in
DejaVu Serif: a running head with the page number (or a `[Page N]` marker), paragraphs wrapped
to the measure with some words hyphenated at the line's end, footnote calls as superscripts
after their words, the footnotes in a smaller size under a rule — and curly quotes printed
straight on some words, as a typesetter might. Into the printed text go known differences
from the transcription (`Injected`): a misspelt word, a lost dash, a dropped word, a wrong
digit and an added word, each at a word of the running text the caller can look up.

Rendered pages are cached as PNG under EMEND_OCR_PAGES_CACHE (default: a directory in the
system's temporary directory), keyed by their content, so a second run draws nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from edition.ocr.align import Transcription, Word, transcription
from edition.models import PageImage

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")
DPI = 300
SIZE = 42  # 10 pt at 300 dpi
NOTE_SIZE = 33  # 8 pt
WIDTH, MARGIN = 1800, 180  # a 6-inch page with its margins
LEADING = 1.35
VERSION = "1"
KINDS = ("misspelt", "lost-dash", "dropped", "wrong-digit", "added")


@dataclass(frozen=True)
class Injected:
    """A difference printed into the page: at transcription word `word` (for "added": the
    word the added one follows), the page prints `printed` ("" for a dropped word)."""

    kind: str
    word: Word
    printed: str


@dataclass
class TestPage:
    png: bytes
    width: int
    height: int
    injected: list[Injected]
    transcription: Transcription


def cache_dir() -> Path:
    path = Path(os.environ.get("EMEND_OCR_PAGES_CACHE")
                or Path(tempfile.gettempdir()) / "emend-ocr-pages")
    path.mkdir(parents=True, exist_ok=True)
    return path


def render(page: PageImage, *, seed: int = 0, inject: tuple[str, ...] = KINDS) -> TestPage:
    """The printed page of `page`'s transcription with one difference of each kind in
    `inject` (those the page has a word for)."""
    known = transcription(page)
    rng = random.Random(f"{seed}:{page.n}:{len(known.words)}")
    injected = _choose(known, rng, inject)
    printed = _printed_words(known, injected, rng)
    recipe = json.dumps([VERSION, page.n, printed], ensure_ascii=False)
    path = cache_dir() / f"{hashlib.sha256(recipe.encode()).hexdigest()[:24]}.png"
    if not path.exists():
        image = _draw(page, printed)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", dpi=(DPI, DPI))
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(buffer.getvalue())
        tmp.replace(path)
    png = path.read_bytes()
    with Image.open(io.BytesIO(png)) as image:
        width, height = image.size
    return TestPage(png, width, height, injected, known)


def _choose(known: Transcription, rng: random.Random, kinds: tuple[str, ...]) -> list[Injected]:
    """One word per kind, in the running text, at least five words from the page's edges
    and from each other."""
    running = [i for i, w in enumerate(known.words) if not w.note_id]
    if len(running) < 20:
        return []
    usable = running[5:-5]
    taken: set[int] = set()
    found = []
    for kind in kinds:
        candidates = [i for i in usable if _fits(kind, known.words[i].text)
                      and not any(abs(i - t) < 6 for t in taken)]
        if not candidates:
            continue
        index = rng.choice(candidates)
        taken.add(index)
        word = known.words[index]
        found.append(Injected(kind, word, _changed(kind, word.text, rng)))
    return found


def _fits(kind: str, text: str) -> bool:
    if kind == "misspelt":
        return text.isalpha() and len(text) >= 5 and text.islower()
    if kind == "lost-dash":
        return any(d in text[1:-1] for d in "-–—")
    if kind == "dropped":
        return text.isalpha() and len(text) >= 3
    if kind == "wrong-digit":
        return any(c.isdigit() for c in text)
    return text.isalpha() and text.islower()  # added after it


def _changed(kind: str, text: str, rng: random.Random) -> str:
    if kind == "misspelt":
        at = rng.randrange(1, len(text) - 1)
        letter = rng.choice([c for c in "aeioulnrst" if c != text[at]])
        return text[:at] + letter + text[at + 1:]
    if kind == "lost-dash":
        at = next(i for i, c in enumerate(text) if c in "-–—" and 0 < i < len(text) - 1)
        return text[:at] + text[at + 1:]
    if kind == "dropped":
        return ""
    if kind == "wrong-digit":
        at = rng.choice([i for i, c in enumerate(text) if c.isdigit()])
        return text[:at] + str((int(text[at]) + rng.randrange(1, 9)) % 10) + text[at + 1:]
    return f"{text} not"


def _printed_words(known: Transcription, injected: list[Injected],
                   rng: random.Random) -> list[dict]:
    """The page as a list of words to print: text, and where a paragraph or a footnote
    starts, and the footnote call printed after a word."""
    by_word = {id(i.word): i for i in injected}
    calls = _calls(known)
    printed, previous = [], None
    for word in known.words:
        text = by_word[id(word)].printed if id(word) in by_word else word.text
        if rng.random() < 0.3:
            text = text.replace("’", "'").replace("“", '"').replace("”", '"')
        starts = previous is None or previous.home != word.home or \
            "\n" in known.texts[word.home][previous.end:word.start]
        item = {"text": text, "paragraph": starts, "note": word.note_id,
                "call": calls.get((word.home, word.end), "")}
        if starts and word.note_id:
            item["label"] = _label(known, word)
        if text or item["call"]:
            printed.append(item)
        previous = word
    return printed


def _calls(known: Transcription) -> dict[tuple[tuple[int, str], int], str]:
    """The footnote call printed after the word ending at each offset of a unit's text."""
    found = {}
    for document_id, revision in known.revisions.items():
        for anchor in revision.layer.notes:
            note_id = anchor.element.get("{http://www.w3.org/XML/1998/namespace}id") or ""
            if (document_id, note_id) in known.texts:
                found[((document_id, ""), anchor.offset)] = (anchor.element.get("n") or "").strip()
    return found


def _label(known: Transcription, word: Word) -> str:
    revision = known.revisions[word.document_id]
    note = revision.layer.note(word.note_id)
    return (note.element.get("n") or "").strip() if note else ""


def _draw(page: PageImage, printed: list[dict]) -> Image.Image:
    body, small = ImageFont.truetype(str(FONT), SIZE), ImageFont.truetype(str(FONT), NOTE_SIZE)
    call_font = ImageFont.truetype(str(FONT), int(SIZE * 0.6))
    measure = WIDTH - 2 * MARGIN
    rng = random.Random(page.n)
    lines: list[tuple[list[tuple[str, str]], bool, bool]] = []  # (word, call), note?, indent?
    current: list[tuple[str, str]] = []
    width = 0.0
    note = False

    def space_of(font):
        return font.getlength(" ")

    for item in printed:
        font = small if item["note"] else body
        if item["paragraph"]:
            if current:
                lines.append((current, note, False))
            note = bool(item["note"])
            current, width = [], 0.0
            if item.get("label"):
                current, width = [(item["label"], "")], font.getlength(item["label"])
        text, call = item["text"], item["call"]
        size = font.getlength(text) + (call_font.getlength(call) if call else 0)
        gap = space_of(font) if current else 0
        if width + gap + size > measure and current:
            head = _hyphenate(text, font, measure - width - gap, rng)
            if head:
                current.append((head + "-", ""))
                text = text[len(head):]
                size = font.getlength(text) + (call_font.getlength(call) if call else 0)
            lines.append((current, note, False))
            current, width, gap = [], 0.0, 0
        current.append((text, call))
        width += gap + size
    if current:
        lines.append((current, note, False))

    line_height = int(SIZE * LEADING)
    note_height = int(NOTE_SIZE * LEADING)
    body_lines = [line for line in lines if not line[1]]
    note_lines = [line for line in lines if line[1]]
    height = (MARGIN + 2 * line_height + len(body_lines) * line_height
              + (line_height + len(note_lines) * note_height if note_lines else 0) + MARGIN)
    image = Image.new("L", (WIDTH, max(height, 2400)), 255)
    draw = ImageDraw.Draw(image)
    y = MARGIN
    if page.sequence % 2:
        draw.text((MARGIN, y), f"[Page {page.n}]", font=body, fill=0)
    else:
        head = "Foreign Relations, 1958–1960, Volume XVIII"
        draw.text((MARGIN, y), head, font=body, fill=0)
        draw.text((WIDTH - MARGIN - body.getlength(page.n), y), page.n, font=body, fill=0)
    y += 2 * line_height
    for words, _, _ in body_lines:
        y = _line(draw, words, body, call_font, y)
        y += line_height
    if note_lines:
        draw.line((MARGIN, y + line_height // 3, MARGIN + 500, y + line_height // 3), fill=0,
                  width=3)
        y += line_height
        for words, _, _ in note_lines:
            _line(draw, words, small, call_font, y)
            y += note_height
    return image


def _line(draw, words, font, call_font, y) -> int:
    x = float(MARGIN)
    for text, call in words:
        if text:
            draw.text((x, y), text, font=font, fill=0)
            x += font.getlength(text)
        if call:
            draw.text((x + 2, y - SIZE * 0.15), call, font=call_font, fill=0)
            x += call_font.getlength(call) + 2
        x += font.getlength(" ")
    return y


def _hyphenate(text: str, font, room: float, rng: random.Random) -> str:
    """The head of `text` to print before a line-end hyphen, or "" (about half the long
    words that do not fit are hyphenated, as a typesetter's justification would)."""
    if not (text.isalpha() and len(text) >= 7) or rng.random() < 0.5:
        return ""
    for cut in range(len(text) - 3, 2, -1):
        if font.getlength(text[:cut] + "-") <= room:
            return text[:cut]
    return ""


def require_tesseract() -> None:
    """Skip (saying why) when Tesseract cannot run; with EMEND_REQUIRE_OCR set (CI), fail."""
    import pytest

    from edition.ocr import available

    ok, reason = available()
    if not ok:
        if os.environ.get("EMEND_REQUIRE_OCR"):
            pytest.fail(f"EMEND_REQUIRE_OCR is set but {reason}")
        pytest.skip(reason)


def words_of(page: PageImage, *, change: dict[str, str] | None = None,
             confidence: float = 95.0) -> list[list]:
    """OCR words as Tesseract would give them for the page's transcription, read perfectly
    but for `change` ({transcription word: what is read instead, "" to read nothing}), eight
    words to a line, 100 px wide each, under a running head with the page number."""
    change = change or {}
    found = [[page.n or "1", 1500, 40, 60, 40, 96.0, 0]]
    index = 0
    for word in transcription(page).words:
        text = change.get(word.text, word.text)
        for part in text.split():
            line = 1 + index // 8
            found.append([part, 100 + (index % 8) * 110, 40 + line * 60, 100, 40,
                          confidence, line])
            index += 1
    return found


def score(injected: list[Injected], found: list) -> tuple[list[Injected], list]:
    """(the injected differences some finding covers, the findings that cover none): a
    finding (edition.ocr.record.Finding or Suggestion-like with document_id, note_id, start,
    end) covers a difference when its range on the same text overlaps the word's."""
    hit, covering = [], set()
    for item in injected:
        word = item.word
        mine = [i for i, f in enumerate(found) if (f.document_id, f.note_id) == word.home
                and f.start < word.end and word.start < f.end]
        if mine:
            hit.append(item)
            covering.update(mine)
    return hit, [f for i, f in enumerate(found) if i not in covering]
