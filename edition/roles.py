"""Who belongs to an edition, and in which role: the membership queries every app asks.

People outside an edition get 404 for its non-public pages (they must not learn what is
there); members whose role is too small get 403. Decisions about proposals build on these in
`review/actions/`.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from .models import Edition, Membership

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
