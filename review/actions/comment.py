"""Commenting on a proposal: every member of its edition may, editors included (they answer
reviewers and discuss)."""

from __future__ import annotations

from edition.roles import require_member

from ..models import Event, Proposal
from . import ProposalError, check_prose_length, check_text


def check_comment(user, proposal: Proposal) -> None:
    """Http404 for people outside the edition; everyone inside may comment."""
    require_member(user, proposal.document.edition)


def do_comment(proposal: Proposal, *, by, body: str) -> Event:
    """Add to the thread. No lock: a comment changes no state another decision reads."""
    check_comment(by, proposal)
    if not body.strip():
        raise ProposalError("the comment is empty", code="invalid")
    check_text("comment", body)
    check_prose_length(body, "comment")
    return Event.objects.create(proposal=proposal, actor=by, kind=Event.Kind.COMMENTED,
                                body=body.strip())
