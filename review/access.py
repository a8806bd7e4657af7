"""Who may do what: one helper per object kind, decided in views, never in templates.

People outside an edition get 404 for its review objects (they must not learn they exist);
members whose role is too small get 403.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from edition.models import Edition, Membership

from .models import Proposal

Role = Membership.Role
PROPOSERS = {Role.EDITOR, Role.REVIEWER, Role.ADMIN}
REVIEWERS = {Role.REVIEWER, Role.ADMIN}


def role_in(user, edition: Edition | int) -> str | None:
    """The user's role in the edition; superusers act as admins everywhere."""
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


def get_proposal_for(user, pk: int, *, queryset=None) -> Proposal:
    """A proposal the user may see (a member of its edition); 404 for everyone else."""
    queryset = queryset if queryset is not None else Proposal.objects.all()
    try:
        proposal = (
            queryset.select_related("document__edition", "author", "revision")
            .defer("document__edition__tei_skeleton", "document__edition__tei_header")
            .get(pk=pk)
        )
    except Proposal.DoesNotExist:
        raise Http404("No such proposal") from None
    require_member(user, proposal.document.edition)
    return proposal
