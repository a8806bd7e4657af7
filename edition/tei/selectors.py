"""W3C Web Annotation selectors on the text layer, and the one rule that places a quote.

A TextQuoteSelector (`exact` with 32 code points of `prefix` and `suffix`) names a passage by
its words; a TextPositionSelector by its offsets (code points here; browsers count UTF-16 units,
converted at the edge). The proposing form, the JSON API, re-targeting and the JSON export all
go through this module, so the same quote is placed at the same offsets wherever it comes from.
"""

from __future__ import annotations

from dataclasses import dataclass

CONTEXT = 32  # code points of prefix / suffix in a TextQuoteSelector


@dataclass(frozen=True)
class Quote:
    """A TextQuoteSelector. An empty `exact` names a point by its context alone."""

    exact: str
    prefix: str = ""
    suffix: str = ""


class QuoteError(ValueError):
    """A quote that cannot be placed; `candidates` are the offsets that were equally good."""

    def __init__(self, message: str, candidates: list[int] | None = None) -> None:
        super().__init__(message)
        self.candidates = candidates or []


class QuoteNotFound(QuoteError):
    pass


class QuoteAmbiguous(QuoteError):
    pass


def selector(text: str, start: int, end: int) -> dict[str, str]:
    """TextQuoteSelector fields for [start, end) of `text`."""
    return {
        "exact": text[start:end],
        "prefix": text[max(start - CONTEXT, 0):start],
        "suffix": text[end:end + CONTEXT],
    }


def place_quote(text: str, quote: Quote, *, hint: int | None = None,
                within: int | None = None) -> int:
    """The start offset of `quote` in `text`, by one rule:

    1. the candidates are the places where `exact` occurs (for an empty `exact`, every point
       where at least one character of the context agrees); with `within`, only those at most
       `within` code points from `hint`;
    2. the candidates whose context agrees best win: characters of `prefix` matching the text
       before and of `suffix` matching the text after, counted exactly first, then again with
       spaces at the junction ignored (typed context loses its edge spaces; a selection's keeps
       them, and then the exact count decides);
    3. several winners: the one nearest `hint`, when there is a hint and one is nearest;
    4. otherwise QuoteAmbiguous with the winners; no candidate at all, QuoteNotFound.
    """
    ranked = _ranked(text, quote, hint, within)
    if not ranked:
        what = f"“{quote.exact[:60]}”" if quote.exact else "a point with that context"
        raise QuoteNotFound(f"{what} does not occur in the text")
    best = [c for score, c in ranked if score == ranked[0][0]]
    if len(best) > 1 and hint is not None:
        distance = sorted(abs(c - hint) for c in best)
        if distance[0] < distance[1]:
            return min(best, key=lambda c: abs(c - hint))
    if len(best) > 1:
        raise QuoteAmbiguous(
            f"“{quote.exact[:60]}” occurs {len(best)} times and its context does not tell "
            "them apart", best)
    return best[0]


def quote_candidates(text: str, quote: Quote, *, hint: int | None = None) -> list[int]:
    """Every place `place_quote` considers, best first (nearest `hint` among equals)."""
    ranked = _ranked(text, quote, hint, None)
    return [c for _, c in sorted(ranked, key=lambda item: (
        item[0], abs(item[1] - hint) if hint is not None else 0))]


def _ranked(text: str, quote: Quote, hint: int | None,
            within: int | None) -> list[tuple[tuple[int, int], int]]:
    """(negated context score, offset) of each candidate, best first."""
    exact = quote.exact
    if exact:
        candidates, i = [], text.find(exact)
        while i != -1:
            candidates.append(i)
            i = text.find(exact, i + 1)
    else:
        candidates = list(range(len(text) + 1))
    if within is not None and hint is not None:
        candidates = [c for c in candidates if abs(c - hint) <= within]
    ranked = [(_score(text, c, quote), c) for c in candidates]
    if not exact:
        ranked = [item for item in ranked if item[0] < (0, 0)]
    ranked.sort(key=lambda item: item[0])
    return ranked


def _score(text: str, start: int, quote: Quote) -> tuple[int, int]:
    end = start + len(quote.exact)
    before = text[max(start - len(quote.prefix) - 1, 0):start]
    after = text[end:end + len(quote.suffix) + 1]
    exact = _common_suffix(before, quote.prefix) + _common_prefix(after, quote.suffix)
    loose = (_common_suffix(before.rstrip(" "), quote.prefix.rstrip(" "))
             + _common_prefix(after.lstrip(" "), quote.suffix.lstrip(" ")))
    return (-exact, -loose)


def _common_prefix(a: str, b: str) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def _common_suffix(a: str, b: str) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[-1 - n] == b[-1 - n]:
        n += 1
    return n


def utf16_to_code_points(text: str, offset: int) -> int:
    """Convert a UTF-16 offset into `text` (as browsers count) to a code-point offset."""
    if offset < 0:
        raise ValueError("a UTF-16 offset cannot be negative")
    units = 0
    for index, char in enumerate(text):
        if units == offset:
            return index
        if units > offset:
            raise ValueError(f"UTF-16 offset {offset} falls inside a surrogate pair")
        units += 2 if ord(char) > 0xFFFF else 1
    if units != offset:
        raise ValueError(f"UTF-16 offset {offset} is not a character boundary of the text")
    return len(text)
