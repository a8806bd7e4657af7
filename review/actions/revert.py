"""Reverting: proposing the inverse of an approved revision's change, reviewed like any other
proposal (never applied directly). The inverse is computed in `review.reverting`."""

from __future__ import annotations

from django.db import transaction

from edition.models import Document, Revision

from ..models import Proposal
from ..reverting import inverse
from . import ProposalError
from .propose import check_propose, do_propose

# Who may propose a revert: whoever may propose.
check_revert = check_propose


def do_revert(document: Document, revision: Revision, *, by, reason: str) -> Proposal:
    """A proposal undoing `revision`'s change on the current text.

    Locks the document while it computes (then `do_propose` takes the same lock again, in the
    same transaction), so the head cannot move under it. Raises ProposalError (nothing to
    undo, modified since, unapplicable, already proposed) or PermissionDenied.
    """
    if not reason.strip():
        raise ProposalError("say why the change should be reverted", code="reason")
    with transaction.atomic():
        document = (Document.objects.select_for_update(of=("self",), no_key=True)
                    .select_related("edition")
                    .defer("edition__tei_skeleton", "edition__tei_header").get(pk=document.pk))
        check_revert(by, document)
        head = Revision.objects.get(pk=document.current_revision_id)
        specs = inverse(document, revision, head)
        return do_propose(document, author=by, base_revision=head.number, changes=specs,
                          rationale=f"Revert revision {revision.number}: {reason.strip()}",
                          reverts=revision)
