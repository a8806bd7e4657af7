"""Word-level diffs for reviewers: tokenise into words, diff the token strings with
diff-match-patch, clean up semantically, expand back, and escape the HTML ourselves.

Never used to apply or detect conflicts (patch_apply overwrites silently); only to show.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from diff_match_patch import diff_match_patch
from django.utils.html import escape

_TOKEN = re.compile(r"\w+|\s+|[^\w\s]", re.UNICODE)


@dataclass(frozen=True)
class Piece:
    op: str  # "equal", "insert", "delete"
    text: str


def word_diff(old: str, new: str) -> list[Piece]:
    """Word-level diff of two texts: a sequence of equal / delete / insert pieces."""
    tokens: dict[str, str] = {}
    vocabulary: list[str] = []

    def encode(text: str) -> str:
        out = []
        for token in _TOKEN.findall(text):
            if token not in tokens:
                # Private-use and beyond: one code point per distinct token.
                tokens[token] = chr(0xF0000 + len(vocabulary))
                vocabulary.append(token)
            out.append(tokens[token])
        return "".join(out)

    dmp = diff_match_patch()
    dmp.Diff_Timeout = 2.0
    diffs = dmp.diff_main(encode(old), encode(new), False)
    dmp.diff_cleanupSemantic(diffs)
    names = {0: "equal", 1: "insert", -1: "delete"}
    return [Piece(names[op], "".join(vocabulary[ord(c) - 0xF0000] for c in chunk))
            for op, chunk in diffs]


def diff_html(old: str, new: str) -> str:
    """The diff as HTML: <del> and <ins> around changed words, everything escaped."""
    out = []
    for piece in word_diff(old, new):
        text = escape(piece.text).replace("\n\n", "<br><br>")
        if piece.op == "equal":
            out.append(text)
        elif piece.op == "delete":
            out.append(f"<del>{text}</del>")
        else:
            out.append(f"<ins>{text}</ins>")
    return "".join(out)


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
