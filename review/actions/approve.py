"""Approving: record a reviewer's approval; once the edition's required approvals are reached,
apply the proposal as a new revision, carry the other open proposals over (rebase) and ask for
the exports (outbox), all in one transaction. The new revision must pass the gate first
(edition/gate.py): if it does not, nothing changes and the refusal goes on the timeline."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from lxml import etree

from edition.changes import RevisionChange
from edition.exporting.builds import request_export
from edition.gate import GateError, check_candidate
from edition.models import Document, Revision
from edition.tei.parsing import TEIError

from .. import notifications
from ..models import Event, Proposal
from ..rebasing import mark_conflicted, rebase
from ..transform import apply_changes
from . import ProposalError, closed_error, lock
from .decide import check_reviewer


def check_approve(user, proposal: Proposal, *, approvers: set[int] | None = None) -> None:
    """A reviewer (never the author), on a pending proposal they have not approved since its
    last submission. `approvers` spares the query when the caller has counted them."""
    check_reviewer(user, proposal)
    if proposal.status != Proposal.Status.PENDING:
        raise closed_error(proposal, with_reason=True)
    if user.pk in (approvers if approvers is not None else proposal.approvers()):
        raise ProposalError("you have already approved this proposal", code="duplicate")


def do_approve(proposal: Proposal, *, by) -> Revision | None:
    """Record `by`'s approval; apply once the edition's required approvals are reached.

    Locks the document row, then the proposal row. Returns the new revision, or None while
    more approvals are needed. Raises PermissionDenied or ProposalError (check_approve);
    ProposalError(code="conflicted") — after committing the conflict — when the proposal no
    longer applies; ProposalError(code="refused"), with nothing changed but the refusal on the
    timeline, when the result fails the gate ("no-schema" when the gate cannot check).
    """
    try:
        with transaction.atomic():
            document, proposal = lock(proposal, applying=True)
            approvers = proposal.approvers()
            check_approve(by, proposal, approvers=approvers)
            approved = Event(proposal=proposal, actor=by, kind=Event.Kind.APPROVED)
            approvers.add(by.pk)
            if len(approvers) < document.edition.required_approvals:
                approved.save()
                return None
            outcome = _apply(document, proposal, approvers, approved)
    except GateError as exc:  # rolled back, this approval's event included
        if exc.code == "no-schema":
            raise ProposalError(exc.message, code=exc.code) from exc
        # The author reads why on the timeline; reviewers see it on the page as well.
        Event.objects.create(proposal=proposal, actor=by, kind=Event.Kind.REFUSED,
                             body=exc.message)
        raise ProposalError(f"the approval is refused and nothing was changed: the document "
                            f"with this proposal applied fails the checks every revision must "
                            f"pass: {exc.message}", code="refused") from exc
    # Raised only after the commit: the conflict found at approval must stay recorded.
    if isinstance(outcome, str):
        raise ProposalError(f"the proposal cannot be applied: {outcome}", code="conflicted")
    return outcome


def _apply(document: Document, proposal: Proposal, approvers: set[int],
           approved: Event) -> Revision | str:
    """Apply and rebase; or mark the proposal conflicted and return the reason. Raises
    GateError when the result fails the gate. `approved`: this approval's event, unsaved,
    written here before the outcome's (with it, in one statement, when it applies)."""
    # The locked row's current revision, read with it (`lock`): `add_revision` takes it as the
    # parent instead of loading it (TEI and text) a second time.
    head = document.current_revision
    changes = list(proposal.changes.all())
    problem = ""
    # Open proposals are anchored on the head (Proposal.anchor_revision): check the quotes.
    for change in changes:
        if not change.names_note and head.text[change.start:change.end] != change.exact:
            problem = f"the text at {change.start}–{change.end} is no longer “{change.exact}”"
    try:
        applied = None if problem else apply_changes(head.element, changes,
                                                          text=head.text)
    except (ValueError, TEIError) as exc:
        problem = str(exc)
    if problem:
        approved.save()
        mark_conflicted(proposal, problem, anchored_on=head)
        return problem
    tei = etree.tostring(applied.element, encoding="unicode")
    candidate = check_candidate(
        tei, document, number=head.number + 1, current=head.tei, keep=True,
        # The layer apply_changes built to check the result serves the new revision: its
        # tree, not a parse of it, is the candidate when the gate finds them the same.
        source=(applied.element, applied.layer) if applied.layer is not None else None)
    revision = document.add_revision(
        tei, by=proposal.author, summary=proposal.rationale[:500], candidate=candidate,
        change=RevisionChange(
            kind="proposal", proposal=proposal.pk, steps=tuple(applied.steps),
            approvers=tuple(sorted(approvers)), renamed_notes=applied.renamed,
            added_notes=tuple(sorted(applied.added_note_points)),
            touched_notes=tuple(sorted(applied.touched_note_points)),
            inserted_blocks=tuple(sorted(applied.inserted_blocks)),
            attributes=tuple(sorted(applied.attributes)),
            marked=tuple(sorted(applied.marked))),
    )
    proposal.status = Proposal.Status.APPROVED
    proposal.applied_revision = revision
    proposal.decided_at = timezone.now()
    proposal.status_reason = ""
    proposal.save(update_fields=["status", "applied_revision", "decided_at", "status_reason",
                                 "updated_at"])
    # In timeline order: ids and creation times follow the list.
    Event.objects.bulk_create([approved, Event(proposal=proposal, kind=Event.Kind.APPLIED,
                                               body=f"Revision {revision.number}")])
    rebase(document, revision, applied, exclude=proposal)
    # The outbox row commits with the revision: the exports catch up even if the broker is down.
    request_export(document.edition, f"{document.xml_id} revision {revision.number} "
                                     f"(proposal {proposal.pk})")
    notifications.decided(proposal)
    return revision
