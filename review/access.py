"""Finding a proposal for someone: 404 to people outside its edition (they must not learn it
exists). What members may do with it is each action's `check_*` (review/actions/)."""

from __future__ import annotations

from django.http import Http404

from edition.roles import require_member

from .models import Proposal


def proposal_for_member(user, pk: int, *, queryset=None) -> Proposal:
    """A proposal the user may see (a member of its edition); Http404 for everyone else."""
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
