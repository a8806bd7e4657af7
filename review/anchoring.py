"""Anchoring of proposals on the text layer: step maps, rebase rules, quote selectors.

Pure functions, no database. Semantics follow ProseMirror's StepMap: a step replaces
[pos, pos + old_len) by new_len characters. A pending range is mapped through the steps of an
approved change: shifted when disjoint, kept outside an insertion that touches it (assoc rules),
flagged "context changed" when the change touches it, and conflicted when they overlap.
"""

from __future__ import annotations

from dataclasses import dataclass

CONTEXT = 32  # code points of prefix / suffix in a TextQuoteSelector


@dataclass(frozen=True)
class Step:
    pos: int
    old_len: int
    new_len: int

    @property
    def end(self) -> int:
        return self.pos + self.old_len

    @property
    def delta(self) -> int:
        return self.new_len - self.old_len

    def as_list(self) -> list[int]:
        return [self.pos, self.old_len, self.new_len]


@dataclass(frozen=True)
class Mapped:
    start: int
    end: int
    context_changed: bool = False
    conflict: str = ""


def map_range(start: int, end: int, step: Step, *, footnote: bool = False) -> Mapped:
    """Map the half-open range [start, end) of the old text through one step."""
    p, q, d = step.pos, step.end, step.delta
    if step.old_len == 0 and step.new_len == 0:
        return Mapped(start, end)
    if start == end:
        return _map_point(start, step, footnote=footnote)
    if step.old_len == 0:  # the approved change was an insertion at p
        if start < p < end:
            return Mapped(start, end, conflict="text was inserted inside this range")
        if p == start:  # insertions stay outside the pending range: it moves after them
            return Mapped(start + d, end + d, context_changed=True)
        if p == end:
            return Mapped(start, end, context_changed=True)
        return Mapped(start + d, end + d) if p < start else Mapped(start, end)
    if start < q and p < end:
        return Mapped(start, end, conflict="an approved change overlaps this range")
    if end == p:
        return Mapped(start, end, context_changed=True)
    if start == q:
        return Mapped(start + d, end + d, context_changed=True)
    return Mapped(start, end) if end < p else Mapped(start + d, end + d)


def _map_point(s: int, step: Step, *, footnote: bool) -> Mapped:
    p, q, d = step.pos, step.end, step.delta
    if step.old_len == 0:
        if s == p:
            if footnote:  # a footnote stays with the word before it, before the insertion
                return Mapped(s, s, context_changed=True)
            return Mapped(s, s, conflict="another insertion was approved at the same point")
        return Mapped(s + d, s + d) if p < s else Mapped(s, s)
    if p < s < q:
        return Mapped(s, s, conflict="the text around this point was changed")
    if s == q:
        if footnote and step.new_len == 0:
            return Mapped(s, s, conflict="the words this footnote was anchored to were deleted")
        return Mapped(s + d, s + d, context_changed=True)
    if s == p:
        return Mapped(s, s, context_changed=True)
    return Mapped(s, s) if s < p else Mapped(s + d, s + d)


def map_through(start: int, end: int, steps: list[Step], *, footnote: bool = False) -> Mapped:
    changed = False
    for step in steps:
        mapped = map_range(start, end, step, footnote=footnote)
        if mapped.conflict:
            return mapped
        start, end, changed = mapped.start, mapped.end, changed or mapped.context_changed
    return Mapped(start, end, changed)


def step_between(old: str, new: str) -> Step | None:
    """The one step turning `old` into `new`: what lies between their common prefix and suffix.

    Used for changes that are not plain text edits (structural fixes); None when equal.
    """
    if old == new:
        return None
    limit = min(len(old), len(new))
    p = 0
    while p < limit and old[p] == new[p]:
        p += 1
    s = 0
    while s < limit - p and old[len(old) - 1 - s] == new[len(new) - 1 - s]:
        s += 1
    return Step(p, len(old) - p - s, len(new) - p - s)


def selector(text: str, start: int, end: int) -> dict[str, str]:
    """W3C Web Annotation TextQuoteSelector fields for [start, end) of `text`."""
    return {
        "exact": text[start:end],
        "prefix": text[max(start - CONTEXT, 0) : start],
        "suffix": text[end : end + CONTEXT],
    }


def find_quote(text: str, exact: str, prefix: str = "", suffix: str = "",
               hint: int | None = None) -> list[int]:
    """Start offsets where `exact` occurs, best first: by matching context, then near `hint`.

    Used to place a selection made without offsets (the no-JavaScript form, API clients that
    send only a quote). An empty `exact` is placed by its context alone.
    """
    candidates = []
    if exact:
        i = text.find(exact)
        while i != -1:
            candidates.append(i)
            i = text.find(exact, i + 1)
    else:
        candidates = list(range(len(text) + 1))

    def score(i: int) -> tuple[int, int]:
        before = text[max(i - len(prefix), 0) : i]
        after = text[i + len(exact) : i + len(exact) + len(suffix)]
        context = _common_suffix(before, prefix) + _common_prefix(after, suffix)
        return (-context, abs(i - hint) if hint is not None else 0)

    candidates.sort(key=score)
    if not exact:
        best = score(candidates[0])[0] if candidates else 0
        candidates = [c for c in candidates if score(c)[0] == best and best < 0]
    return candidates


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


def _against_one_note(kind: str, start: int, end: int, deletes: bool, point: int) -> Mapped:
    """How a pending change fares against a footnote approved at `point` (both offsets in the
    same revision). Footnotes add no text, so no step records them; without this check a pending
    change would carry the old TEI or the old words over the new note:

    - a structural fix whose blocks hold the point would rewrite them without the note;
    - a text change around the point would replace the words the note is anchored in;
    - a deletion ending at the point would move the note onto earlier words.

    `kind` is a Change.Kind value: "text", "structure", "note-add", "note-edit", "note-remove".
    """
    if kind == "note-add":
        if start == point:
            return Mapped(start, end, conflict="another footnote was approved at the same point")
        return Mapped(start, end)
    if kind in ("note-edit", "note-remove"):
        return Mapped(start, end)
    if kind == "structure" and start <= point <= end:
        return Mapped(start, end,
                      conflict="a footnote was approved in the blocks this structural fix replaces")
    if start < point < end:
        return Mapped(start, end,
                      conflict="a footnote was approved inside the text this change replaces")
    if deletes and start < point == end:
        return Mapped(start, end,
                      conflict="a footnote was approved on the words this change deletes")
    return Mapped(start, end, context_changed=point in (start, end))


def against_added_notes(kind: str, start: int, end: int, deletes: bool,
                        points) -> Mapped:
    """`_against_one_note` for every footnote an approval added: the first conflict, or
    "context changed" if any note touches the range."""
    changed = False
    for point in points:
        beside = _against_one_note(kind, start, end, deletes, point)
        if beside.conflict:
            return beside
        changed = changed or beside.context_changed
    return Mapped(start, end, context_changed=changed)
