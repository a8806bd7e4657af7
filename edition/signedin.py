"""The signed-in readers' fast path (issue 14, item 3): a signed-in reader's page of a unit
answered from one cache round trip, before the session, CSRF, auth and messages middleware.

The normal stack already serves this page without a query (the session and the user from the
cache, edition/auth.py; the shared parts, edition/pagecache.py `shared`; a proposer's own
parts, edition/ownparts.py), but pays for three sequential cache reads and every middleware.
`SignedInFastPathMiddleware`, right after the anonymous readers' fast path, reads in one
`get_many` the session, the user's row, its stamp and roles, the page's stamps, its shared
parts and (for a proposer) their own parts, checks each exactly as the normal stack would,
and puts the page together as `views._own_page` / `views._reading_view` do. The response then
goes through the same `process_response` of the middleware the stack would have run (CSRF's
cookie, X-Frame-Options, the CSP), so the headers are theirs.

What it checks, as the normal stack does (anything else: the normal stack answers):

- the session: in the cache (a miss is the database's to answer: it may have expired or been
  deleted by a sign-out elsewhere), holding nothing but the three keys `auth.login` writes
  (no messages stored in it, no expiry of its own, nothing to save), signed in through
  `edition.auth.CachedModelBackend`;
- the user: the cached row under its current stamp (edition/auth.py: a password change, a
  deactivation or any save drops it), active, and the session's hash equal to the row's
  `get_session_auth_hash()` under the current secret key (a hash from a fallback key makes
  Django rotate the session: the normal stack does it); their shown roles cached
  (edition/roles.py; a superuser's are never asked, so never needed);
- the page: every stamp in the cache and the shared parts stored under their values; for a
  proposer, their own parts stored under the current unit and edition stamps on the revision
  shown (a new revision, a proposal, a suggestion drop them);
- the request: a GET or HEAD of a unit's reading view (the URL resolved once per path) with no
  query but `hl`, no messages cookie, no htmx, no credentials header, no precondition but
  If-None-Match / If-Modified-Since, a host `ALLOWED_HOSTS` allows, a CSRF cookie that is a
  well-formed secret (or none: a new secret is made and set, as `get_token` does);
- the settings: not DEBUG, the session engine edition.sessions on the default cache, no
  session saved on every request, the CSRF secret in a cookie, messages in cookies or the
  session (Django's default storage), no user agents refused and no `www.` prepended by
  CommonMiddleware.

The first page of a session in a process reads the user in a second round trip, and a
proposer's own parts in another until the process has seen them propose: after that, one. A
cache that fails sends the request to the stack.

The token is a new masking of the request's own CSRF secret on every page (never another
reader's); the cookie is set on every answer, renewing it, as CsrfViewMiddleware does.
`EMEND_SIGNED_IN_FAST_PATH = False` turns the path off (the tests compare both answers).
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections import OrderedDict

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.sessions.backends.cached_db import KEY_PREFIX as SESSION_CACHE_PREFIX
from django.core.cache import cache
from django.core.exceptions import DisallowedHost
from django.core.signals import setting_changed
from django.http import HttpResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.common import CommonMiddleware
from django.middleware.csrf import (
    CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH, CsrfViewMiddleware, _get_new_csrf_string,
    invalid_token_chars_re,
)
from django.urls import Resolver404, get_urlconf, resolve
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.crypto import constant_time_compare

from . import ownparts, pageframe, pagecache
from .auth import stamp_key, user_key
from .rendering import RENDER_VERSION
from .roles import PROPOSERS, prime_shown_roles, reviews_somewhere, roles_key, shown_role

log = logging.getLogger(__name__)

BACKEND = "edition.auth.CachedModelBackend"
SESSION_KEYS = frozenset({SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY})
VIEW = ("edition", "document")


def _enabled() -> bool:
    """The settings under which the fast path gives the normal stack's answer."""
    return (getattr(settings, "EMEND_SIGNED_IN_FAST_PATH", True)
            and not settings.DEBUG
            and settings.SESSION_ENGINE == "edition.sessions"
            and settings.SESSION_CACHE_ALIAS == "default"
            and not settings.SESSION_SAVE_EVERY_REQUEST
            and not settings.CSRF_USE_SESSIONS
            and settings.MESSAGE_STORAGE
            == "django.contrib.messages.storage.fallback.FallbackStorage"
            and not settings.DISALLOWED_USER_AGENTS
            and not settings.PREPEND_WWW
            and BACKEND in settings.AUTHENTICATION_BACKENDS)


@functools.lru_cache(maxsize=4096)
def _match(path_info: str, urlconf):
    """The resolved reading view of a unit at `path_info`, or None."""
    try:
        match = resolve(path_info, urlconf)
    except Resolver404:
        return None
    if (match.namespace, match.url_name) != VIEW or set(match.kwargs) != {"edition", "doc"}:
        return None
    return match


# Which user a session key was last seen signed in as in this process, and the editions where
# they could propose then: their keys (and a proposer's own parts) are read in the same round
# trip as the session. A guess, never trusted: checked against what that read finds.
SESSIONS = 8192
_sessions: OrderedDict[str, tuple[object, frozenset]] = OrderedDict()
# A unit's ids, (edition slug, xml id) -> (document id, edition id), as its shared parts said.
UNITS = 8192
_units: OrderedDict[tuple[str, str], tuple[int, int]] = OrderedDict()
_lock = threading.Lock()


def _forget_memos(**kwargs) -> None:
    _match.cache_clear()
    with _lock:
        _sessions.clear()
        _units.clear()


def _remember(memo: OrderedDict, key, value, bound: int) -> None:
    with _lock:
        memo[key] = value
        memo.move_to_end(key)
        while len(memo) > bound:
            memo.popitem(last=False)


setting_changed.connect(_forget_memos)


def _no_response(request):  # the middleware below are used for their process_response only
    raise AssertionError("never called")


_CSRF = CsrfViewMiddleware(_no_response)
_XFRAME = XFrameOptionsMiddleware(_no_response)
_COMMON = CommonMiddleware(_no_response)


def _session_auth_hash(user) -> str:
    """`user.get_session_auth_hash()`: an HMAC of the password's hash under the secret key,
    the same for the same two, so remembered for them (Django's own method: a user model
    that overrides it is asked every time)."""
    model = type(user)
    if (model.get_session_auth_hash is not AbstractBaseUser.get_session_auth_hash
            or model._get_session_auth_hash is not AbstractBaseUser._get_session_auth_hash):
        return user.get_session_auth_hash()
    key = (user.password, settings.SECRET_KEY)  # the method reads the key from the settings
    found = _hashes.get(key)
    if found is None:
        found = user.get_session_auth_hash()
        _remember(_hashes, key, found, HASHES)
    return found


HASHES = 1024
_hashes: OrderedDict[tuple[str, str], str] = OrderedDict()


def _mask(secret: str) -> str:
    """What `django.middleware.csrf._mask_cipher_secret` makes of `secret`: a new random mask
    of 32 characters and the secret ciphered with it, in the same alphabet (the token
    CsrfViewMiddleware unmasks). Django draws each mask character with `secrets.choice`, some
    150 µs a page here; this draws them from `os.urandom` by rejection (bytes under 248, four
    times the alphabet's 62, taken modulo 62): as uniform, as unpredictable."""
    chars = CSRF_ALLOWED_CHARS
    mask: list[int] = []
    while len(mask) < CSRF_SECRET_LENGTH:
        mask += [b % 62 for b in os.urandom(40) if b < 248]
    del mask[CSRF_SECRET_LENGTH:]
    index = _CHAR_INDEX
    return "".join(chars[m] for m in mask) + "".join(
        chars[(index[c] + m) % 62] for c, m in zip(secret, mask))


_CHAR_INDEX = {c: i for i, c in enumerate(CSRF_ALLOWED_CHARS)}
assert len(CSRF_ALLOWED_CHARS) == 62


ANYWHERE = "*"  # in a session's guessed editions: a superuser proposes in every edition


def _read(keys: list[str]) -> dict | None:
    """One `get_many`; None when the cache fails (Emend's own backends miss instead, any other
    may raise): the stack, which forgives a failing cache, answers."""
    try:
        return cache.get_many(keys)
    except Exception:
        log.warning("cache unreachable: the signed-in page goes through the stack",
                    exc_info=True)
        return None


def _own_keys(document_id: int, edition_id: int) -> list[str]:
    return [ownparts.unit_key(document_id), ownparts.edition_key(edition_id),
            ownparts.entry_key(RENDER_VERSION, document_id)]


def _user_keys(user_id) -> list[str]:
    return [user_key(user_id), stamp_key(user_id), roles_key(user_id)]


def answer(request) -> HttpResponse | None:
    """The normal stack's answer to a signed-in reader's page, from the cache; None: ask it."""
    if not pagecache.plain_read(request):
        return None
    cookies = request.COOKIES
    session_key = cookies.get(settings.SESSION_COOKIE_NAME)
    # A messages cookie emptied by the page that showed them holds none (CookieStorage).
    if not session_key or len(session_key) < 8 or cookies.get("messages") or not _enabled():
        return None
    secret = cookies.get(settings.CSRF_COOKIE_NAME)
    if secret is not None and (len(secret) != CSRF_SECRET_LENGTH
                               or invalid_token_chars_re.search(secret)):
        return None  # a masked (old) or malformed cookie: CsrfViewMiddleware replaces it
    match = _match(request.path_info, get_urlconf())
    if match is None or not pagecache.same_for_all(request):
        return None
    try:
        origin = pagecache._origin(request)
    except DisallowedHost:
        return None

    from .views import _shared_name, reading_stamps

    slug, doc = match.kwargs["edition"], match.kwargs["doc"]
    stamps = reading_stamps(slug, doc)
    shared_at = pagecache.shared_key_at(origin, _shared_name(slug, doc), RENDER_VERSION)
    session_at = SESSION_CACHE_PREFIX + session_key
    with _lock:
        guess, proposes_in = _sessions.get(session_key, (None, frozenset()))
        unit = _units.get((slug, doc))
    keys = [session_at, shared_at, *(s.key for s in stamps)]
    if guess is not None:
        keys += _user_keys(guess)
        if unit is not None and (unit[1] in proposes_in or ANYWHERE in proposes_in):
            keys += _own_keys(*unit)
    found = _read(keys)
    if found is None:
        return None

    session = found.get(session_at)
    if (not isinstance(session, dict) or session.keys() != SESSION_KEYS
            or session[BACKEND_SESSION_KEY] != BACKEND):
        return None
    UserModel = get_user_model()
    try:
        user_id = UserModel._meta.pk.to_python(session[SESSION_KEY])
    except Exception:
        return None
    if user_id != guess:  # a second round trip, once per session and process
        keys += _user_keys(user_id)
        found |= _read(_user_keys(user_id)) or {}
    entry, stamp = found.get(user_key(user_id)), found.get(stamp_key(user_id))
    user = entry[1] if (isinstance(entry, tuple) and len(entry) == 2 and stamp is not None
                        and entry[0] == stamp) else None
    roles = found.get(roles_key(user_id))
    if not isinstance(user, UserModel) or user.pk != user_id or not user.is_active:
        return None
    # The roles decide the tools and the Queue link; a superuser's are never asked
    # (roles.shown_role, reviews_somewhere: an admin everywhere), so never cached.
    if not isinstance(roles, dict) and not user.is_superuser:
        return None
    session_hash = session[HASH_SESSION_KEY]
    if not session_hash or not constant_time_compare(session_hash, _session_auth_hash(user)):
        return None
    prime_shown_roles(user, roles)
    proposer_in = frozenset({ANYWHERE} if user.is_superuser else  # an admin everywhere
                            (pk for pk, role in (roles or {}).items() if role in PROPOSERS))
    if (user_id, proposer_in) != (guess, proposes_in):
        _remember(_sessions, session_key, (user_id, proposer_in), SESSIONS)

    values = tuple(found.get(s.key) for s in stamps)
    shared = found.get(shared_at)
    if None in values or not isinstance(shared, pagecache.CachedShared) \
            or shared.stamps != values:
        return None
    shared = shared.value
    if unit != (shared.document_id, shared.edition_id):
        _remember(_units, (slug, doc), (shared.document_id, shared.edition_id), UNITS)
    own = None
    if shown_role(user, shared.edition_id) in PROPOSERS:
        # As document_detail: their own parts when stored on the revision shown, the current.
        if not shared.ident[0] == shared.ident[2]:
            return None
        own_keys = _own_keys(shared.document_id, shared.edition_id)
        if own_keys[2] not in keys:  # not guessed: a second round trip
            found |= _read(own_keys) or {}
        own = found.get(own_keys[2])
        if (not isinstance(own, ownparts.Own)
                or own.stamps != (found.get(own_keys[0]), found.get(own_keys[1]), values)
                or None in own.stamps[:2] or own.revision_id != shared.ident[0]):
            return None
    return _respond(request, match, user, values, shared, own, secret)


def _respond(request, match, user, values, shared, own, secret) -> HttpResponse | None:
    from .views import _finish, conditional

    # What the stack would have put on the request for the view and the middleware after it.
    request.user = user
    request.resolver_match = match

    # The request's CSRF secret, which the ETag names (views._viewer), or a new one set in
    # the cookie, as `get_token` makes it.
    if secret is None:
        secret = _get_new_csrf_string()
        request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True
    request.META["CSRF_COOKIE"] = secret
    # The ETag `_own_page` or `_reading_view` gives (a reader who may not propose: no offers,
    # no proposer state).
    etag_parts = own.etag_parts if own is not None else ([], [])
    # No Last-Modified for a signed-in reader (`views._page_time`): the ETag alone.
    etag, not_modified = conditional(request, *shared.ident, values, own is not None,
                                     *etag_parts, last_modified=None)
    if not_modified is not None:
        response = _finish(request, not_modified, etag, None)
    else:
        pieces = pageframe.frame(match.view_name, reviews_somewhere(user), own is not None)
        if pieces is None:
            return None
        # As `get_token` when the page asks for the token (a 304 does not): the cookie set
        # (renewed) on the answer.
        request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True
        token = _mask(secret)
        parts = None if own is None else {
            "bar": own.bar, "tools": own.tools,
            "suggestions": own.suggestions.replace(ownparts.token_marker(), token)}
        page = pageframe.fill(pieces, shared.parts, user.get_username(), token, parts)
        response = _finish(request, HttpResponse(page), etag, None)
    return _through_the_stack(request, response)


def _through_the_stack(request, response: HttpResponse) -> HttpResponse:
    """The response as the middleware between this one and the view leave it, innermost
    first (config/settings.py MIDDLEWARE): the ones that change nothing here are left out
    (CanonicalCase answers 404s only, htmx and LoginRequired touch no response, Messages has
    nothing to store, Auth and Axes nothing to add)."""
    from .middleware import _drop_shared_directives

    # PrivateWhenSignedInMiddleware: nothing to do on what `views.cache_headers` gave a
    # signed-in reader (its work, when the view's headers are ever other than these).
    if response.get("Cache-Control") != "private, no-cache" or response.get("Vary") != "Cookie":
        _drop_shared_directives(response)
        patch_cache_control(response, private=True)
        patch_vary_headers(response, ["Cookie"])
    response = _csp().process_response(request, response)
    response = _XFRAME.process_response(request, response)
    response = _CSRF.process_response(request, response)
    response = _COMMON.process_response(request, response)
    # SessionMiddleware: the session was read (Vary: Cookie), not modified: nothing saved.
    if response.get("Vary") != "Cookie":
        patch_vary_headers(response, ("Cookie",))
    response.signed_in_fast_path = True  # for the tests: which path answered
    return response


@functools.cache
def _csp():
    from .middleware import CSPMiddleware

    return CSPMiddleware(_no_response)


class SignedInFastPathMiddleware:
    """Right after ReaderFastPathMiddleware: a signed-in reader's page answered from one
    cache round trip when everything it depends on is exactly as the normal stack would find
    it (edition/signedin.py); every other request goes through the whole stack."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = answer(request)
        if response is not None:
            return response
        return self.get_response(request)
