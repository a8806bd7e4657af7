"""Rejecting, asking for changes (reviewers, never on their own proposal) and withdrawing (the
author). Approving is `approve`: it applies the change."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from edition.roles import REVIEWERS, require_member

from .. import notifications
from ..models import Event, Proposal
from . import ProposalError, check_prose_length, check_text, closed_error, lock

Status = Proposal.Status


def check_reviewer(user, proposal: Proposal) -> None:
    """Who may decide at all: reviewers and admins of the edition, never on their own
    proposal. Http404 for outsiders, PermissionDenied for the rest."""
    if require_member(user, proposal.document.edition) not in REVIEWERS:
        raise PermissionDenied("Only reviewers of this edition decide; as a member you may "
                               "comment.")
    if proposal.author_id == user.pk:
        raise PermissionDenied("You proposed this: another reviewer must decide.")


def check_decide(user, proposal: Proposal) -> None:
    """Reject or ask for changes: a reviewer, on a proposal not yet closed."""
    check_reviewer(user, proposal)
    if proposal.status in Proposal.CLOSED:
        raise closed_error(proposal)


def do_reject(proposal: Proposal, *, by, reason: str) -> Proposal:
    return _decide(proposal, by=by, kind=Event.Kind.REJECTED, reason=reason)


def do_request_changes(proposal: Proposal, *, by, reason: str) -> Proposal:
    return _decide(proposal, by=by, kind=Event.Kind.CHANGES_REQUESTED, reason=reason)


def _decide(proposal: Proposal, *, by, kind: str, reason: str) -> Proposal:
    """A reason is required and the author is told (after commit). Locks the document, then
    the proposal."""
    if not reason.strip():
        raise ProposalError("a reason is required", code="reason")
    check_text("reason", reason)
    check_prose_length(reason, "reason")
    with transaction.atomic():
        _, proposal = lock(proposal)
        check_decide(by, proposal)
        Event.objects.create(proposal=proposal, actor=by, kind=kind, body=reason.strip())
        if kind == Event.Kind.REJECTED:
            proposal.status = Status.REJECTED
            proposal.decided_at = timezone.now()
        else:
            proposal.status = Status.CHANGES_REQUESTED
        proposal.status_reason = reason.strip()
        proposal.save()
        notifications.decided(proposal)
    return proposal


def check_withdraw(user, proposal: Proposal) -> None:
    """Only the author withdraws, while the proposal is not closed."""
    require_member(user, proposal.document.edition)
    if proposal.author_id != user.pk:
        raise PermissionDenied("Only the author may withdraw a proposal.")
    if proposal.status in Proposal.CLOSED:
        raise closed_error(proposal)


def do_withdraw(proposal: Proposal, *, by) -> Proposal:
    """Locks the document, then the proposal."""
    with transaction.atomic():
        _, proposal = lock(proposal)
        check_withdraw(by, proposal)
        proposal.status = Status.WITHDRAWN
        proposal.decided_at = timezone.now()
        proposal.save()
        Event.objects.create(proposal=proposal, actor=by, kind=Event.Kind.WITHDRAWN)
    return proposal
