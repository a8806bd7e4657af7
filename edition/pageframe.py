"""A signed-in reader's page put together as a string: the reading view's template rendered once
per process with markers where the reader's own values go, then filled in per request.

What `edition/document_detail.html` (and `base.html` around it) shows a signed-in reader is the
shared parts (`views.SharedParts`, cached), their name, their CSRF token, whether the header
shows the Queue link, their messages, and for a proposer their own parts (the propose bar, the
tools, the suggestions: `views._proposer_parts`). The frame is rendered with a marker in place
of each of these (a frame per value of the Queue link and of being a proposer) and split at
the markers; a page is the pieces joined with the reader's values,
escaped as the template escapes them. A page with messages to show is rendered in full.
`tests/edition/test_page_frame.py` compares the two paths byte for byte.

The frame depends on the templates and the settings (static files' addresses), both fixed for
a process: it is built once per settings object (a test's `override_settings` makes another)
and not at all under DEBUG, where templates are reloaded as they change.
"""

from __future__ import annotations

import re
import secrets
import threading
from types import SimpleNamespace

from django.conf import settings
from django.template.loader import get_template
from django.utils.html import conditional_escape

TEMPLATE = "edition/document_detail.html"

# Random per process: no text of a unit can contain them by chance or design.
_SALT = secrets.token_hex(8)
SLOTS = ("title", "head", "lead", "text", "aside", "username", "csrf_token",
         "bar", "tools", "suggestions")  # the last three: a proposer's own parts
_MARK = {slot: f"emendslot{_SALT}{slot}" for slot in SLOTS}
_SPLIT = re.compile("(" + "|".join(map(re.escape, _MARK.values())) + ")")
_SLOT_OF = {mark: slot for slot, mark in _MARK.items()}

_lock = threading.Lock()
_built: dict[tuple[int, str, bool, bool], tuple[object, tuple]] = {}


def _build(view_name: str, reviews_somewhere: bool, can_propose: bool) -> tuple:
    """The frame's pieces: str for literal text, a 1-tuple (slot,) where a value goes."""
    user = SimpleNamespace(is_authenticated=True, get_username=lambda: _MARK["username"])
    context = {
        "parts": {name: _MARK[name] for name in ("title", "head", "lead", "text", "aside")},
        "can_propose": can_propose,
        "offers": [],
        # A proposer's parts, rendered apart (edition/views.py `_proposer_parts`).
        "own": {name: _MARK[name] for name in ("bar", "tools", "suggestions")}
        if can_propose else None,
        "user": user,
        "csrf_token": _MARK["csrf_token"],
        "reviews_somewhere": reviews_somewhere,
        "messages": [],
        # Only what base.html asks of the request (the view's name marks the current page's
        # link in the header): anything else it came to ask would render
        # empty here, and the byte-for-byte test would fail.
        "request": SimpleNamespace(resolver_match=SimpleNamespace(view_name=view_name)),
    }
    rendered = get_template(TEMPLATE).render(context)
    return tuple((_SLOT_OF[piece],) if piece in _SLOT_OF else piece
                 for piece in _SPLIT.split(rendered) if piece)


def frame(view_name: str, reviews_somewhere: bool, can_propose: bool = False) -> tuple | None:
    """The pieces of the page for a view, a value of the header's Queue link and whether the
    reader may propose; None under DEBUG (render the template)."""
    if settings.DEBUG:
        return None
    wrapped = settings._wrapped
    key = (id(wrapped), view_name, bool(reviews_somewhere), bool(can_propose))
    found = _built.get(key)
    # The settings object is kept with its frame: its id cannot be another's while it is here.
    if found is None or found[0] is not wrapped:
        with _lock:
            found = (wrapped, _build(view_name, bool(reviews_somewhere), bool(can_propose)))
            _built[key] = found
    return found[1]


def fill(pieces: tuple, parts: dict[str, str], username: str, csrf_token: str,
         own: dict[str, str] | None = None) -> str:
    """The page: `parts` (the shared ones) and a proposer's `own` are inserted as they are
    (rendered HTML), the name and the token escaped as the template escapes them."""
    values = {**parts, **(own or {}), "username": conditional_escape(username),
              "csrf_token": conditional_escape(csrf_token)}
    return "".join(piece if piece.__class__ is str else values[piece[0]] for piece in pieces)
