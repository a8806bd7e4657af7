"""The signed-in person read from the cache: Django's `ModelBackend` with the user's row kept
in the cache, so a signed-in page costs no query for it (issue 14, item 3).

- `get_user` reads the person and their shown roles (`edition.roles.shown_roles`) in one round
  trip; a miss loads the row as `ModelBackend` does and caches it. Django's `auth.get_user`
  still checks the session's hash against the row's password and `is_active` is still asked,
  so a cached row is trusted exactly as a loaded one.
- Every save or deletion of a user drops their entry, now and again on commit (as the page
  stamps are, `Document.retire`): a password change, a deactivation, a new username or a
  sign-in (`last_login`) are seen by the next request. A drop lost to an unreachable cache
  leaves the old row readable for at most `USER_TTL` (as `SESSION_CACHE_TTL` bounds a
  session's). Permissions are never cached with it: the row is stored as it comes from the
  database, before anything asks for them.
- A row read from the database is cached under the user's *stamp* (a random token kept in the
  cache, which `forget_user` drops) as it was before the read, and served only while the stamp
  is the same: a request that read the row just before a change committed cannot put the old
  row back after the change's drop (it stores it under a stamp that is gone).
- An update that bypasses `save()` (`User.objects.filter(...).update(...)`) must call
  `forget_user`; nothing in Emend does.
"""

from __future__ import annotations

import logging
import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from .roles import prime_shown_roles, roles_key

log = logging.getLogger(__name__)

USER_TTL = 5 * 60


def user_key(user_id) -> str:
    return f"emend:user:{user_id}"


def stamp_key(user_id) -> str:
    return f"emend:userstamp:{user_id}"


class CachedModelBackend(ModelBackend):
    def get_user(self, user_id):
        UserModel = get_user_model()
        try:
            pk = UserModel._meta.pk.to_python(user_id)
        except Exception:
            return None
        key, stamp_at = user_key(pk), stamp_key(pk)
        found = _forgiving(lambda: cache.get_many([key, stamp_at, roles_key(pk)]), {})
        stamp, entry = found.get(stamp_at), found.get(key)
        user = entry[1] if (isinstance(entry, tuple) and len(entry) == 2
                            and stamp is not None and entry[0] == stamp) else None
        if not isinstance(user, UserModel) or user.pk != pk:
            if stamp is None:  # taken before the read: a drop after it retires what we store
                _forgiving(lambda: cache.add(stamp_at, secrets.token_hex(8), 2 * USER_TTL), None)
                stamp = _forgiving(lambda: cache.get(stamp_at), None)
            try:
                user = UserModel._default_manager.get(pk=pk)
            except UserModel.DoesNotExist:
                return None
            if stamp is not None:
                _forgiving(lambda: cache.set(key, (stamp, user), USER_TTL), None)
        # Read with the row, in the same round trip: the header and the proposing tools ask.
        prime_shown_roles(user, found.get(roles_key(pk)))
        return user if self.user_can_authenticate(user) else None


def _forgiving(call, failed):
    # Signing in and reading as oneself never need the cache (edition/sessions.py): a cache
    # that raises (any backend but Emend's own, which miss instead) is a miss here.
    try:
        return call()
    except Exception:
        log.warning("user cache unreachable: read from the database", exc_info=True)
        return failed


def forget_user(user_id) -> None:
    keys = [user_key(user_id), stamp_key(user_id)]

    def drop():
        if _forgiving(lambda: cache.delete_many(keys) or True, False) is False:
            log.warning("a changed user stays in the cache until it expires (USER_TTL)")

    drop()
    transaction.on_commit(drop)


def _forget(sender, instance, **kwargs) -> None:
    forget_user(instance.pk)


def connect() -> None:
    """Called from `EditionConfig.ready` (the user model is known then)."""
    model = get_user_model()
    post_save.connect(_forget, sender=model, dispatch_uid="edition.auth.forget_user")
    post_delete.connect(_forget, sender=model, dispatch_uid="edition.auth.forget_user_deleted")
