"""The checks. Each reads one text layer (the running text or one footnote's) and yields `Hit`s.

They are conservative on purpose: a missed error costs nothing new (nobody was finding it
before), a false suggestion costs an editor's attention on every run. Where a pattern is
ambiguous (a file number that reads as two dates, a doubled word that may be grammatical) the
check stays silent, and the tests say which cases those are.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from rapidfuzz.distance import OSA

from ..tei import local_name
from .registry import Check, Hit, Layer, Unit, Volume, register

EN_DASH = "\u2013"

# ------------------------------------------------------------------------------------------
# Ranges whose en dash was lost ("Documents 139142", "19581960", "611.947/52160")

# A digit run standing alone: not part of "493.9411/4–1758", "1.5" or "139–142".
DIGIT_RUN = re.compile(r"(?<![\d/.\u2013-])\d{4,8}(?![\d/\u2013-]|\.\d)")
# Words after which a run of digits names documents by number, or pages.
DOCUMENT_WORDS = re.compile(r"\b(?:Documents?|documents?)\s*$")
PAGE_WORDS = re.compile(r"\b(?:pages?|pp\.)\s*$")
# A list of numbers after such a word: "Documents 139, 140142 and 144146".
NUMBER_LIST_TAIL = re.compile(r"(?:\d+(?:\u2013\d+)?(?:,\s*|,?\s+and\s+))*$")
# Words after which digits are an identifier, never a range ("telegram 19581960").
IDENTIFIER_WORDS = re.compile(
    r"\b(?:telegram|despatch|dispatch|airgram|instruction|circular|no\.|number|lot|cf|file|"
    r"files|memorandum|tel\.|deptel|embtel)\s*$", re.IGNORECASE)
YEARS = range(1700, 2100)
# A lost range this wide or wider is not guessed ("Documents 1391" is not 13–91).
MAX_DOCUMENT_SPAN, MAX_YEAR_SPAN = 50, 100
# A Department of State decimal file number whose date lost its dash: "611.947/52160" is
# 611.947/5–2160 (May 21, 1960). Four digits ("/1759") are left alone: serial numbers of
# that length were used before the dated form, and 1–759 cannot be told from them.
FILE_NUMBER = re.compile(r"(?<![\d.])\d{3}\.\d+/(?P<date>\d{5,6})(?![\d\u2013-])")


def lost_range(text: str, start: int, end: int, volume: Volume = Volume(),
               referenced: frozenset[int] = frozenset()) -> tuple[int, int] | None:
    """The range the digits text[start:end] were before the dash was lost, when that is clear.

    Two numbers the unit links to (`ref target="#d139"`, `"#d142"`); after "Documents" (or
    pages), one split into two ascending numbers of like length at most `MAX_DOCUMENT_SPAN`
    apart, and for documents not starting past the volume's last document (an excerpt may end
    before the range does); elsewhere, eight digits that are two ascending years not named as
    an identifier ("telegram 19581960" stays)."""
    digits, before = text[start:end], text[max(start - 80, 0):start]
    splits = [(int(digits[:i]), int(digits[i:])) for i in range(1, len(digits))
              if digits[i] != "0" and len(digits) - i in (i, i + 1)]
    linked = [(a, b) for a, b in splits if a < b and a in referenced and b in referenced]
    if len(linked) == 1:
        return linked[0]
    lead = before[: len(before) - len(NUMBER_LIST_TAIL.search(before).group())]
    documents, pages = DOCUMENT_WORDS.search(lead), PAGE_WORDS.search(lead)
    if documents or pages:
        good = [(a, b) for a, b in splits if a < b < a + MAX_DOCUMENT_SPAN]
        if documents and volume.document_numbers:
            good = [(a, b) for a, b in good if a <= max(volume.document_numbers)]
        return good[0] if len(good) == 1 else None
    if len(digits) == 8 and not IDENTIFIER_WORDS.search(before):
        a, b = int(digits[:4]), int(digits[4:])
        if a in YEARS and b in YEARS and a < b < a + MAX_YEAR_SPAN:
            return a, b
    return None


def file_date(digits: str) -> str | None:
    """"52160" → "5–2160": the one reading of the digits as month, day and two-digit year,
    or None when there is none or more than one ("11560": 1–1560 or 11–560)."""
    head, year = digits[:-2], digits[-2:]
    readings = [f"{head[:i]}{EN_DASH}{head[i:]}{year}" for i in (1, 2)
                if i < len(head) and head[i] != "0" and head[0] != "0"
                and 1 <= int(head[:i]) <= 12 and 1 <= int(head[i:]) <= 31]
    return readings[0] if len(readings) == 1 else None


def _ranges(layer: Layer, unit: Unit, volume: Volume) -> Iterator[Hit]:
    text = layer.text
    for match in DIGIT_RUN.finditer(text):
        found = lost_range(text, match.start(), match.end(), volume, unit.referenced)
        if found is not None:
            a, b = found
            yield Hit(match.start(), match.end(),
                      f"“{match.group()}” looks like the range {a}{EN_DASH}{b} with its en dash "
                      "lost.", f"{a}{EN_DASH}{b}")
    for match in FILE_NUMBER.finditer(text):
        dated = file_date(match["date"])
        if dated is not None:
            yield Hit(match.start("date"), match.end("date"),
                      f"The file number “{match.group()}” lost the dash of its date: FRUS "
                      f"writes it {match.group()[:match.start('date') - match.start()]}{dated}.",
                      dated)


register(Check(
    "range", "Range without its dash",
    "Digits that were a range before the en dash was lost in the transcription: document "
    "numbers after “Documents” (or two documents the text links to), pages, years "
    "(“19581960”), and the date of a decimal file number (“611.947/52160” for 611.947/5–2160).",
    _ranges))


# ------------------------------------------------------------------------------------------
# Footnote markers glued to words

# A letter or a punctuation mark with a digit right after it: what both patterns need.
GLUED_ANYWHERE = re.compile(r"[a-z.,;:”’)]\d")
# "Conversation0": a word in lower case with one or two digits stuck to its end.
GLUED_TO_WORD = re.compile(r"(?<![\w’'])(?P<word>[A-Za-z][a-z]{2,})(?P<mark>\d{1,2})(?![\w])")
# "recognition.1 The" and "telegram 3775.1 The": a digit after the end of a sentence, before
# the next one (a decimal such as "2.5" has no sentence after it, and at most two digits
# before its point here are left alone).
GLUED_TO_SENTENCE = re.compile(r"(?<=[.,;:”’)])(?P<mark>\d{1,2})(?=\s+[A-Z“(]|\s*$)")
# What may stand before that punctuation: a word's last letter, or a three- or four-digit
# number standing alone ("telegram 3775.1").
SENTENCE_END = re.compile(r"(?:[a-z]|(?<![\d,.])\d{3,4}\.)\W?$")


def _glued(layer: Layer, unit: Unit, volume: Volume) -> Iterator[Hit]:
    text = layer.text
    if not GLUED_ANYWHERE.search(text):
        return  # the common case, found in one pass
    for match in GLUED_TO_WORD.finditer(text):
        yield Hit(match.start("mark"), match.end("mark"),
                  f"“{match.group()}” looks like footnote marker {match['mark']} glued to the "
                  f"word “{match['word']}”: remove the digits (and add the footnote if it is "
                  "missing).", "")
    for match in GLUED_TO_SENTENCE.finditer(text):
        if not SENTENCE_END.search(text, max(match.start() - 8, 0), match.start()):
            continue
        before = text[max(match.start() - 12, 0):match.start()].split()[-1:]
        yield Hit(match.start("mark"), match.end("mark"),
                  f"The “{match['mark']}” after “{''.join(before)}” looks like a footnote marker "
                  "left in the text with no footnote there.", "")


register(Check(
    "glued-marker", "Footnote marker in the text",
    "A footnote's number left in the text instead of its note: digits glued to the end of a "
    "word (“Conversation0”) or after the end of a sentence (“3775.1 The”). The fix removes "
    "the digits; if the footnote itself is missing, add it.",
    _glued))


# ------------------------------------------------------------------------------------------
# "[Page 278]" left in the running text

PAGE_TEXT = re.compile(r"\[\s*Page\s+(?P<n>[0-9]+|[ivxlcdm]+)\s*\]", re.IGNORECASE)


def _page_text(layer: Layer, unit: Unit, volume: Volume) -> Iterator[Hit]:
    for match in PAGE_TEXT.finditer(layer.text):
        yield Hit(match.start(), match.end(),
                  f"“{match.group()}” is a page marker kept as text: replace it with a page "
                  f"break (pb n=\"{match['n']}\") using the page-break repair.")


register(Check(
    "page-text", "Page marker kept as text",
    "The printed page's marker (“[Page 278]”) copied into the text instead of marked up as a "
    "page break. It needs a structural fix (the page-break repair), so no text fix is offered.",
    _page_text))


# ------------------------------------------------------------------------------------------
# Doubled words

DOUBLED = re.compile(r"\b(?P<word>[A-Za-z]+)(?P<gap>[ \u00a0]+)(?P=word)\b", re.IGNORECASE)
# Doubles that are grammatical English: "he had had", "he said that that was", "what it is
# is", "they do do", "bye bye".
GRAMMATICAL_DOUBLES = frozenset({"had", "that", "is", "do", "bye"})


def _doubled(layer: Layer, unit: Unit, volume: Volume) -> Iterator[Hit]:
    for match in DOUBLED.finditer(layer.text):
        first = match["word"]
        second = match.group()[len(first) + len(match["gap"]):]
        if first.lower() in GRAMMATICAL_DOUBLES or (first[0].isupper() and second[0].isupper()):
            continue  # grammatical, or a name such as "Pago Pago"
        yield Hit(match.start(), match.end(), f"“{match.group()}”: the word is doubled.", first)


register(Check(
    "doubled-word", "Doubled word",
    "The same word twice in a row (“the the”), often where a line or page turned. Doubles "
    "that are grammatical (“had had”, “that that”, “is is”, “do do”) and names that repeat a "
    "word (“Pago Pago”) are left alone.",
    _doubled))


# ------------------------------------------------------------------------------------------
# Unbalanced brackets, parentheses and quotation marks (per paragraph)

PAIRS = {")": "(", "]": "[", "”": "“"}
OPENERS = frozenset(PAIRS.values())
MARKS = re.compile(r"[()\[\]“”]")
# "a)", "2)", "iv)" listing points: a closing parenthesis with no opening one, by design (one
# that closes an open parenthesis closes it: "(22 USC 4351, et seq)").
ENUMERATOR = re.compile(r"(?:^|(?<=[\s(;:,]))(?:[a-z]|[0-9]{1,2}|[ivx]{1,4})\)")


def _unbalanced(layer: Layer, unit: Unit, volume: Volume) -> Iterator[Hit]:
    text = layer.text
    spans = layer.layer.block_spans()
    for index, (start, end) in enumerate(spans):
        marks = MARKS.findall(text, start, end)
        if not marks:
            continue
        enumerators = {m.end() - 1 + start for m in ENUMERATOR.finditer(text[start:end])}
        stack: list[int] = []
        for match in MARKS.finditer(text, start, end):
            at, char = match.start(), match.group()
            if char in OPENERS:
                stack.append(at)
            elif char in PAIRS:
                if stack and text[stack[-1]] == PAIRS[char]:
                    stack.pop()
                elif at not in enumerators:
                    yield _lone(text, at, "closing")
                    stack = [o for o in stack if text[o] != PAIRS[char]]
        following = text[spans[index + 1][0]:spans[index + 1][1]] if index + 1 < len(spans) else ""
        for at in stack:
            # A quotation running over several paragraphs opens each and closes only the last.
            if text[at] == "“" and following.startswith("“"):
                continue
            yield _lone(text, at, "opening")


def _lone(text: str, at: int, side: str) -> Hit:
    return Hit(at, at + 1, f"The {side} “{text[at]}” has no partner in its paragraph.")


register(Check(
    "unbalanced", "Unbalanced bracket or quote",
    "A parenthesis, square bracket or curly double quotation mark without its partner in the "
    "same paragraph. Listing points (“a)”) and a quotation running on into the next paragraph "
    "(which opens with “) are left alone. Only a person can say where the partner belongs.",
    _unbalanced))


# ------------------------------------------------------------------------------------------
# Straight quotes and apostrophes among curly ones

STRAIGHT = re.compile(r"[\"']")


def curly_for(text: str, at: int) -> str:
    """The curly mark a straight one at text[at] stands for, by what is around it."""
    before = text[at - 1] if at else " "
    after = text[at + 1] if at + 1 < len(text) else " "
    opening = (before.isspace() or before in "([{—–") and not after.isspace()
    if text[at] == '"':
        return "“" if opening else "”"
    # An apostrophe before a year ("’58") points back, however it is placed.
    return "‘" if opening and not after.isdigit() else "’"


def _straight(layer: Layer, unit: Unit, volume: Volume) -> Iterator[Hit]:
    # The unit's typography, not the layer's: a footnote with one straight quote in a unit
    # set in curly ones is found too.
    if not unit.has_curly:
        return
    for match in STRAIGHT.finditer(layer.text):
        mark = curly_for(layer.text, match.start())
        what = "quotation mark" if match.group() == '"' else "apostrophe"
        yield Hit(match.start(), match.end(),
                  f"A straight {what} in a text set with curly ones: “{mark}”.", mark)


register(Check(
    "straight-quote", "Straight quote among curly ones",
    "A straight quotation mark or apostrophe (\" or ') in a unit whose other quotation marks "
    "and apostrophes are curly (“ ” ‘ ’). The fix chooses the curly mark by what stands "
    "around it.",
    _straight))


# ------------------------------------------------------------------------------------------
# A persName that differs from the persons register beyond inflection

POSSESSIVE = re.compile(r"(?:['’]s|s['’]|['’])$")
WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*", re.UNICODE)


def fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _inflected(word: str, name: str) -> bool:
    """"Herter's", "Herters’", "Kishis" are forms of Herter and Kishi."""
    return word == name or (word.startswith(name) and len(word) - len(name) <= 2)


def misspelt(mention: str, name: str) -> tuple[str, str] | None:
    """The (word, register spelling) when `mention` spells a word of the register's `name`
    differently; None when it uses the name (inflected or not) or another word entirely
    ("the Secretary" for Herter is a title, not a misspelling)."""
    names = {fold(w): w for w in WORD.findall(name) if len(w) >= 2}
    words = [w for w in WORD.findall(mention)]
    for word in words:
        bare = POSSESSIVE.sub("", fold(word))
        if any(_inflected(bare, n) for n in names):
            return None
    best = None
    for word in words:
        bare = POSSESSIVE.sub("", fold(word))
        if len(bare) < 4:
            continue
        for folded, spelt in names.items():
            # One edit in four letters, two in longer names: "Hertr", "Kihsi", "Dulels".
            distance = OSA.distance(bare, folded)  # a swap of two letters is one edit
            if 0 < distance <= max(1, len(folded) // 4) and (best is None or distance < best[0]):
                best = distance, POSSESSIVE.sub("", word), spelt
    return (best[1], best[2]) if best else None


def _persons(layer: Layer, unit: Unit, volume: Volume) -> Iterator[Hit]:
    if not volume.persons:
        return
    for segment in layer.layer.segments:
        element = segment.element
        if (segment.slot != "text" or local_name(element) != "persName" or len(element)
                or not segment.content.strip()):
            continue  # names with markup inside are read by people, not guessed at
        targets = (element.get("corresp") or "").split()
        name = next((volume.persons[t[1:]] for t in targets
                     if t.startswith("#") and t[1:] in volume.persons), None)
        if name is None:
            continue
        found = misspelt(segment.content, name)
        if found is None:
            continue
        word, spelt = found
        at = segment.content.find(word)
        start = segment.start + at
        yield Hit(start, start + len(word),
                  f"“{segment.content}” is marked as {name} in the persons list, which spells "
                  f"it “{spelt}”.", spelt)


register(Check(
    "person-name", "Name unlike the persons list",
    "A marked-up name (persName) whose spelling differs from its entry in the volume's List of "
    "Persons by a letter or two (“Hertr” for Herter). Inflected forms (“Herter's”) and titles "
    "(“Secretary Herter”, “the Secretary”) are left alone.",
    _persons))


# ------------------------------------------------------------------------------------------
# Page numbers out of sequence

ARABIC = re.compile(r"[0-9]{1,6}")


def _pages(layer: Layer, unit: Unit, volume: Volume) -> Iterator[Hit]:
    previous, first = volume.previous_page, True
    for anchor in layer.layer.page_breaks:
        n = anchor.element.get("n") or ""
        if not ARABIC.fullmatch(n):
            continue  # roman front-matter pages and unnumbered breaks are not counted
        page = int(n)
        # Between two units the break of a page that begins with the second is printed
        # outside both (d142 ends on 276, pb 277 stands between it and d143, which breaks to
        # 278): from the previous unit, one page more is in sequence too.
        allowed = {previous + 1, previous + 2 if first else previous + 1} if previous else set()
        first = False
        if previous is not None and page not in allowed:
            yield Hit(anchor.offset, anchor.offset,
                      f"Page {page} follows page {previous}: a page break is missing, "
                      "doubled or misnumbered here.")
        previous = page


register(Check(
    "page-sequence", "Page out of sequence",
    "Page breaks (pb n) that do not count up by one within the unit, or from the last page of "
    "the unit printed before it (when that is the previous document of the volume; a page "
    "break printed between the two counts as in sequence). Only a "
    "person with the printed book can say which is wrong.",
    _pages, notes=False))
