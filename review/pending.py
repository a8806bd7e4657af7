"""The open proposals of a document as its reading view shows them to members who may propose:
a list at the top and the passages they change, marked in the text by propose.js."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Max

from edition.models import Document

from .models import Change, Proposal


@dataclass(frozen=True)
class Pending:
    proposals: list[Proposal]
    # [start, end, proposal id] on the current revision's text layer, for propose.js.
    ranges: list[list[int]] = field(default_factory=list)


def _open_on(document: Document):
    return Proposal.objects.open().filter(document=document)


def pending_on(document: Document) -> Pending:
    """Open proposals' changes are anchored on the current revision (review.models), so their
    offsets are those of the page. Footnote edits and metadata have no passage to mark."""
    proposals = list(_open_on(document).select_related("author").prefetch_related("changes"))
    ranges = [
        [change.start, change.end, proposal.pk]
        for proposal in proposals for change in proposal.changes.all()
        if change.end > change.start and not change.names_note
        and change.kind != Change.Kind.METADATA
    ]
    return Pending(proposals, ranges)


def page_state(sender, *, document: Document, user, **kwargs) -> str:
    """The edition.signals.proposer_page_state receiver: changes when the list above would."""
    state = _open_on(document).aggregate(n=Count("id"), last=Max("updated_at"))
    return f"open:{state['n']}:{state['last']}"
