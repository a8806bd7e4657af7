"""Word-level diffs for reviewers: tokenise into words, diff the token strings with
diff-match-patch, clean up semantically, expand back, and escape the HTML ourselves.

Never used to apply or detect conflicts (patch_apply overwrites silently); only to show.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from diff_match_patch import diff_match_patch
from django.utils.html import escape

_TOKEN = re.compile(r"\w+|\s+|[^\w\s]", re.UNICODE)
# Diffing costs about (tokens that differ) × (edits): past WORD_DIFF_COST (a quarter of a second
# of diff-match-patch, two unrelated passages of 500 words) or past WORD_TOKENS differing tokens
# (words, spaces, marks), a change is shown deleted and inserted whole.
WORD_DIFF_COST = 1_000_000
WORD_TOKENS = 20_000


@dataclass(frozen=True)
class Piece:
    op: str  # "equal", "insert", "delete"
    text: str


def word_diff(old: str, new: str) -> list[Piece]:
    """Word-level diff of two texts: a sequence of equal / delete / insert pieces.

    Linear in the texts where they agree at the start and end; what lies between is diffed
    when that is cheap (WORD_DIFF_COST, WORD_TOKENS), else shown deleted and inserted whole:
    diff-match-patch's time grows with the product of the length and the edits, up to its
    timeout (2 s) for a few hundred paragraphs rewritten.
    """
    old_tokens, new_tokens = _TOKEN.findall(old), _TOKEN.findall(new)
    head = _common(old_tokens, new_tokens)
    tail = _common(old_tokens[head:][::-1], new_tokens[head:][::-1])
    old_end, new_end = len(old_tokens) - tail, len(new_tokens) - tail
    changed = (old_end - head) + (new_end - head)
    if changed > WORD_TOKENS or changed * _fewest_edits(
            old_tokens[head:old_end], new_tokens[head:new_end]) > WORD_DIFF_COST:
        pieces = [Piece("equal", "".join(old_tokens[:head])),
                  Piece("delete", "".join(old_tokens[head:old_end])),
                  Piece("insert", "".join(new_tokens[head:new_end])),
                  Piece("equal", "".join(old_tokens[old_end:]))]
        return [piece for piece in pieces if piece.text]
    # diff-match-patch sees the changed part with as much agreeing context either side as it
    # can shift an edit into (no more than the edit's length), so it diffs as it would the
    # whole texts; the rest of the agreeing start and end is added back around its result.
    keep = changed + 1
    lead, trail = max(head - keep, 0), max(tail - keep, 0)
    old_part = old_tokens[lead:len(old_tokens) - trail]
    new_part = new_tokens[lead:len(new_tokens) - trail]
    tokens: dict[str, str] = {}
    vocabulary: list[str] = []

    def encode(part: list[str]) -> str:
        out = []
        for token in part:
            if token not in tokens:
                # Private-use planes: one code point per distinct token (at most
                # 3 × WORD_TOKENS of the 131,072 there).
                tokens[token] = chr(0xF0000 + len(vocabulary))
                vocabulary.append(token)
            out.append(tokens[token])
        return "".join(out)

    dmp = diff_match_patch()
    dmp.Diff_Timeout = 2.0
    diffs = dmp.diff_main(encode(old_part), encode(new_part), False)
    dmp.diff_cleanupSemantic(diffs)
    names = {0: "equal", 1: "insert", -1: "delete"}
    pieces = [Piece(names[op], "".join(vocabulary[ord(c) - 0xF0000] for c in chunk))
              for op, chunk in diffs]
    return _around("".join(old_tokens[:lead]), pieces,
                   "".join(old_tokens[len(old_tokens) - trail:]))


def _fewest_edits(old: list[str], new: list[str]) -> int:
    """At least this many tokens are deleted or inserted: those one side has more of."""
    old_count, new_count = Counter(old), Counter(new)
    return sum((old_count - new_count).values()) + sum((new_count - old_count).values())


def _common(a: list[str], b: list[str]) -> int:
    """How many tokens `a` and `b` share at their start."""
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def _around(before: str, pieces: list[Piece], after: str) -> list[Piece]:
    """`pieces` with agreeing text before and after, merged into equal pieces at the ends."""
    if before:
        if pieces and pieces[0].op == "equal":
            pieces[0] = Piece("equal", before + pieces[0].text)
        else:
            pieces.insert(0, Piece("equal", before))
    if after:
        if pieces and pieces[-1].op == "equal":
            pieces[-1] = Piece("equal", pieces[-1].text + after)
        else:
            pieces.append(Piece("equal", after))
    return pieces


def _marked(piece: Piece) -> str:
    text = escape(piece.text).replace("\n\n", "<br><br>")
    tag = {"delete": "del", "insert": "ins"}.get(piece.op)
    return f"<{tag}>{text}</{tag}>" if tag else text


def diff_html(old: str, new: str) -> str:
    """The diff as HTML: <del> and <ins> around changed words, everything escaped."""
    return "".join(_marked(piece) for piece in word_diff(old, new))


def navigable_diff_html(old: str, new: str) -> tuple[str, int]:
    """The diff as `diff_html` writes it, each change (a run of deletions and insertions) in a
    `<span class="change" id="change-N">` with links to the previous and the next change;
    and how many changes there are."""
    pieces = word_diff(old, new)
    runs: list[list[Piece] | Piece] = []
    for piece in pieces:
        if piece.op == "equal":
            runs.append(piece)
        elif runs and isinstance(runs[-1], list):
            runs[-1].append(piece)
        else:
            runs.append([piece])
    total = sum(isinstance(run, list) for run in runs)
    out, n = [], 0
    for run in runs:
        if isinstance(run, Piece):
            out.append(_marked(run))
            continue
        n += 1
        marks = "".join(_marked(piece) for piece in run)
        links = []
        if n > 1:
            links.append(f'<a href="#change-{n - 1}" aria-label="Previous change ({n - 1} of '
                         f'{total})">previous</a>')
        if n < total:
            links.append(f'<a href="#change-{n + 1}" aria-label="Next change ({n + 1} of '
                         f'{total})">next</a>')
        nav = f'<span class="change-nav">{n}/{total}{" " if links else ""}{" · ".join(links)}</span>'
        out.append(f'<span class="change" id="change-{n}" tabindex="-1">{marks}</span>{nav}')
    return "".join(out), total


def in_context(text: str, start: int, end: int, replacement: str, *, context: int = 120) -> str:
    """HTML of the change [start, end) → replacement with `context` characters either side."""
    lo = max(text.rfind(" ", 0, max(start - context, 0)) + 1, 0) if start > context else 0
    hi_search = text.find(" ", min(end + context, len(text)))
    hi = len(text) if hi_search == -1 else hi_search
    before, after = text[lo:start], text[end:hi]
    lead = "… " if lo > 0 else ""
    trail = " …" if hi < len(text) else ""
    return (lead + escape(before) + (f"<del>{escape(text[start:end])}</del>" if end > start else "")
            + (f"<ins>{escape(replacement)}</ins>" if replacement else "") + escape(after)
            + trail).replace("\n\n", " ¶ ")
