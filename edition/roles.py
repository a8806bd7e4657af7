"""Who belongs to an edition, and in which role: the membership queries every app asks.

People outside an edition get 404 for its non-public pages (they must not learn what is
there); members whose role is too small get 403. Decisions about proposals build on these in
`review/actions/`.
"""

from __future__ import annotations

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import Http404

from .models import Document, Edition, Membership

Role = Membership.Role
PROPOSERS = frozenset({Role.EDITOR, Role.REVIEWER, Role.ADMIN})
REVIEWERS = frozenset({Role.REVIEWER, Role.ADMIN})


def role_in(user, edition: Edition | int) -> str | None:
    """The user's role in the edition; superusers act as admins everywhere. Cached on the
    user object for the request."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return Role.ADMIN
    edition_id = edition if isinstance(edition, int) else edition.pk
    cache = user.__dict__.setdefault("_emend_roles", {})
    if edition_id not in cache:
        cache[edition_id] = (
            Membership.objects.filter(user=user, edition_id=edition_id)
            .values_list("role", flat=True)
            .first()
        )
    return cache[edition_id]


# How long a person's roles are kept in the cache: bounds how long a drop lost to an
# unreachable cache can leave a page showing tools a person no longer has (never the right to
# use them: every action asks `role_in`, which reads the database).
ROLES_TTL = 5 * 60


def roles_key(user_id: int) -> str:
    return f"emend:roles:{user_id}"


def shown_roles(user) -> dict[int, str]:
    """Every role the user has, {edition id: role}, for what a page *shows* (the proposing
    tools, the Queue link): from the cache, or one query cached until their memberships change.
    Authorisation never reads this: `role_in` asks the database."""
    if not user.is_authenticated:
        return {}
    roles = user.__dict__.get("_emend_shown_roles")
    if roles is None:
        key = roles_key(user.pk)
        roles = cache.get(key)
        if not isinstance(roles, dict):
            roles = _memberships(user)
            cache.set(key, roles, ROLES_TTL)
            # Read again once stored (as page stamps are, edition/pagecache.py `_values`): a
            # change committed between the read and the write dropped the key before the
            # write, and the old roles would be shown until ROLES_TTL.
            again = _memberships(user)
            if again != roles:
                cache.delete(key)
                roles = again
        user.__dict__["_emend_shown_roles"] = roles
    return roles


def _memberships(user) -> dict[int, str]:
    return dict(Membership.objects.filter(user=user).values_list("edition_id", "role"))


def prime_shown_roles(user, roles) -> None:
    """`roles` as read from the cache (`roles_key`) with something else in one round trip
    (edition.auth): kept for `shown_roles` when it is a cached value, else nothing."""
    if isinstance(roles, dict):
        user.__dict__["_emend_shown_roles"] = roles


def shown_role(user, edition_id: int) -> str | None:
    """`role_in` for what a page shows (shown_roles): no query once cached."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return Role.ADMIN
    return shown_roles(user).get(edition_id)


def reviews_somewhere(user) -> bool:
    """May the user review in any edition (the header's Queue link); from `shown_roles`."""
    return user.is_authenticated and (
        user.is_superuser or any(role in REVIEWERS for role in shown_roles(user).values()))


@receiver([post_save, post_delete], sender=Membership, dispatch_uid="edition.roles.forget")
def _forget_roles(sender, instance: Membership, **kwargs) -> None:
    # Dropped now and again on commit (as the page stamps are, edition/models.py `_touch`): a
    # reader in between may have cached the roles it read before this change committed.
    Document.retire([roles_key(instance.user_id)])


def can_propose(user, edition) -> bool:
    return role_in(user, edition) in PROPOSERS


def can_review(user, edition) -> bool:
    return role_in(user, edition) in REVIEWERS


def reviewed_editions(user):
    """Editions whose proposals the user may review."""
    if user.is_superuser:
        return Edition.objects.all()
    return Edition.objects.filter(memberships__user=user, memberships__role__in=REVIEWERS)


def member_editions(user):
    if user.is_superuser:
        return Edition.objects.all()
    return Edition.objects.filter(memberships__user=user)


def require_member(user, edition) -> str:
    """The user's role; Http404 for people outside the edition."""
    role = role_in(user, edition)
    if role is None:
        raise Http404("No such page")
    return role


def require_proposer(user, edition) -> None:
    if require_member(user, edition) not in PROPOSERS:
        raise PermissionDenied("Only editors, reviewers and admins of this edition may propose")


def require_reviewer(user, edition) -> None:
    if require_member(user, edition) not in REVIEWERS:
        raise PermissionDenied("Only reviewers and admins of this edition may decide")
