"""Sessions read from the cache and written to the database: Django's `cached_db`, made safe
for a cache that fails or loses a write.

- A cache that fails is a miss: reading, creating and deleting a session go on in the database
  (edition/sharedcache.py makes its own backends fail so; any other backend would raise), so
  signing in and out never need the cache.
- A session is kept in the cache for at most `SESSION_CACHE_TTL`: a deletion lost while the
  cache was unreachable (a sign-out during an outage) leaves the old session readable there for
  no longer than that, as `STAMP_TTL` bounds a page stamp's lost drop (edition/pagecache.py).
"""

from __future__ import annotations

import logging

from django.contrib.sessions.backends import cached_db

log = logging.getLogger(__name__)

SESSION_CACHE_TTL = 5 * 60


class _Forgiving:
    """The few cache calls `cached_db` makes, each a miss or a no-op when the cache fails."""

    def __init__(self, cache) -> None:
        self.cache = cache

    def get(self, key, default=None):
        try:
            return self.cache.get(key, default)
        except Exception:
            log.warning("session cache unreachable: read from the database", exc_info=True)
            return default

    def set(self, key, value, timeout=None) -> None:
        timeout = SESSION_CACHE_TTL if timeout is None else min(timeout, SESSION_CACHE_TTL)
        try:
            self.cache.set(key, value, timeout)
        except Exception:
            log.warning("session cache unreachable: not cached", exc_info=True)

    def delete(self, key) -> None:
        try:
            self.cache.delete(key)
        except Exception:
            log.warning("session cache unreachable: a deleted session stays there until it "
                        "expires (SESSION_CACHE_TTL)", exc_info=True)

    def __contains__(self, key) -> bool:
        try:
            return key in self.cache
        except Exception:
            return False


class SessionStore(cached_db.SessionStore):
    def __init__(self, session_key=None) -> None:
        super().__init__(session_key)
        self._cache = _Forgiving(self._cache)
