"""The shared cache as Emend configures it (config/settings.py `_cache`): keys that never outlive
their database, and a server that may go away.

Every key holds the database's token (`Instance`), read once per process: a cache that outlives
its database, or serves two of them, never answers one with the other's pages. A database
restored from a backup brings its old token back; clear the cache after restoring one.

While the cache server is unreachable, or its disk full, reads miss and writes are dropped: the
site renders every page, slower, and nothing fails. The first failure is logged; for a few
seconds after it the server is not asked again, so that an outage costs no time per call.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time

import redis
from django.core.cache.backends import filebased
from django.core.cache.backends import redis as django_redis
from django.db import DatabaseError

log = logging.getLogger(__name__)

RETRY_AFTER = 5.0  # seconds without asking a server that failed
_token: str | None = None
_token_lock = threading.Lock()
_down_until: dict[str, float] = {}
_untokened: set[str] = set()  # the token could not be read: logged once


def make_key(key: str, key_prefix: str, version: int) -> str:
    """Django's KEY_FUNCTION: its default key with the database's token."""
    return f"{key_prefix}:{version}:{instance_token()}:{key}"


def instance_token() -> str:
    """The database's token, made on first use where migration 0008 did not (a flushed test
    database)."""
    global _token
    if _token is None:
        from .models import Instance  # the cache is configured before the apps load

        with _token_lock:
            if _token is None:
                try:
                    # One row, pk 1: processes that find none agree on the one that was made.
                    row, _ = Instance.objects.get_or_create(
                        pk=1, defaults={"token": secrets.token_hex(8)})
                except DatabaseError as error:
                    # Not migrated yet, or the database down: keys of their own, every read
                    # a miss, and the token asked for again next time.
                    if not _untokened:
                        log.warning("no database token (%s); the cache is not shared", error)
                    _untokened.add(type(error).__name__)
                    return secrets.token_hex(8)
                _token = row.token
    return _token


def forget_instance_token() -> None:
    """Read the token again on next use (tests that stand in a second database)."""
    global _token
    _token = None


class _Degrading:
    """A cache backend whose failures to reach its store answer as misses."""

    unreachable: tuple[type[Exception], ...] = (OSError,)

    def _call(self, name: str, default, *args, **kwargs):
        where = f"{type(self).__name__} {self._where}"
        if _down_until.get(where, 0.0) > time.monotonic():
            return default
        try:
            result = getattr(super(), name)(*args, **kwargs)
        except self.unreachable as error:
            if where not in _down_until:
                log.warning("cache %s unreachable (%s); serving uncached", where, error)
            _down_until[where] = time.monotonic() + RETRY_AFTER
            return default
        if _down_until.pop(where, None) is not None:
            log.warning("cache %s reachable again", where)
        return result

    def get(self, key, default=None, version=None):
        return self._call("get", default, key, default, version)

    def get_many(self, keys, version=None):
        return self._call("get_many", {}, keys, version)

    def has_key(self, key, version=None):
        return self._call("has_key", False, key, version)

    def set(self, key, value, timeout=..., version=None):
        kwargs = {} if timeout is ... else {"timeout": timeout}
        return self._call("set", None, key, value, version=version, **kwargs)

    def set_many(self, data, timeout=..., version=None):
        kwargs = {} if timeout is ... else {"timeout": timeout}
        return self._call("set_many", list(data), data, version=version, **kwargs)

    def add(self, key, value, timeout=..., version=None):
        kwargs = {} if timeout is ... else {"timeout": timeout}
        return self._call("add", False, key, value, version=version, **kwargs)

    def touch(self, key, timeout=..., version=None):
        kwargs = {} if timeout is ... else {"timeout": timeout}
        return self._call("touch", False, key, version=version, **kwargs)

    def incr(self, key, delta=1, version=None):
        return self._call("incr", delta, key, delta, version)

    def decr(self, key, delta=1, version=None):
        return self._call("decr", -delta, key, delta, version)

    def delete(self, key, version=None):
        return self._call("delete", False, key, version)

    def delete_many(self, keys, version=None):
        return self._call("delete_many", None, keys, version)

    def clear(self):
        return self._call("clear", None)


class _OneClient(django_redis.RedisCacheClient):
    """Django's Redis client makes a `redis.Redis` for every call (measured at 9% of a cached
    page's time); its connection pool is thread-safe, and so is a client over it: make one per
    server and keep it."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, redis.Redis] = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            if index not in self._pools:  # as Django's, for this index (reads pick at random)
                self._pools[index] = self._pool_class.from_url(
                    self._servers[index], **self._pool_options)
            client = self._clients.setdefault(
                index, self._client(connection_pool=self._pools[index]))
        return client


# One client (so one connection pool) per process and configuration: Django makes a backend per
# thread, each of which would otherwise open its own pool.
_clients: dict[tuple, _OneClient] = {}
_clients_lock = threading.Lock()


class RedisCache(_Degrading, django_redis.RedisCache):
    unreachable = (OSError, redis.RedisError)

    @property
    def _cache(self) -> _OneClient:
        config = (tuple(self._servers), repr(sorted(self._options.items())))
        client = _clients.get(config)
        if client is None:
            with _clients_lock:
                client = _clients.get(config) or _clients.setdefault(
                    config, _OneClient(self._servers, **self._options))
        return client

    @property
    def _where(self) -> str:
        return ",".join(self._servers)


class FileBasedCache(_Degrading, filebased.FileBasedCache):
    @property
    def _where(self) -> str:
        return self._dir
