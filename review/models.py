"""Proposals, their changes and their timeline (comments and decisions).

A proposal groups one or more changes to one document, anchored on the text layer of
`proposal.anchor_revision`. Invariant, held by `review.actions` under a row lock on the
document: for every open proposal each change satisfies `head.text[start:end] == exact`, head
being the document's current revision. `revision` records where the offsets were last mapped
explicitly (creation, re-targeting, a nearby rebase, a conflict); far-away proposals are carried
over by shifting their offsets alone, so an approval does not rewrite every open proposal.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse

from edition.models import Document, Revision
from edition.tei.markup import Markup


class ProposalQuerySet(models.QuerySet):
    def open(self) -> ProposalQuerySet:
        return self.filter(status__in=Proposal.OPEN)

    def pending(self) -> ProposalQuerySet:
        return self.filter(status=Proposal.Status.PENDING)

    def open_reverts_of(self, revision: Revision) -> ProposalQuerySet:
        """Open proposals undoing `revision`, newest first."""
        return self.open().filter(reverts=revision).order_by("-created_at")

    def visible_to(self, user) -> ProposalQuerySet:
        """Proposals of the editions `user` belongs to (all of them for a superuser)."""
        if user.is_superuser:
            return self
        return self.filter(document__edition__memberships__user=user)


class Proposal(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        CHANGES_REQUESTED = "changes", "Changes requested"
        CONFLICTED = "conflicted", "Conflicted"
        NEEDS_REVIEW = "needs-review", "Needs review"
        ORPHANED = "orphaned", "Orphaned"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        WITHDRAWN = "withdrawn", "Withdrawn"

    # Anchored on the current revision and rebased on every approval.
    OPEN = (Status.PENDING, Status.CHANGES_REQUESTED)
    # Waiting for the author: the anchor no longer holds; the author re-targets. Needs review
    # and orphaned come from re-anchoring across a revision without a step map
    # (review.reanchoring): the quote was found only approximately, or not at all.
    STUCK = (Status.CONFLICTED, Status.NEEDS_REVIEW, Status.ORPHANED)
    CLOSED = (Status.APPROVED, Status.REJECTED, Status.WITHDRAWN)

    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="proposals")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                               related_name="proposals")
    revision = models.ForeignKey(Revision, on_delete=models.PROTECT, related_name="+",
                                 help_text="The revision the offsets refer to")
    rationale = models.TextField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    status_reason = models.TextField(blank=True)
    context_changed = models.BooleanField(
        default=False, help_text="An approved change touched this proposal's text"
    )
    applied_revision = models.OneToOneField(Revision, on_delete=models.PROTECT, null=True,
                                            blank=True, related_name="applied_proposal")
    reverts = models.ForeignKey(Revision, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="reverted_by",
                                help_text="The revision whose change this proposal undoes")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    # One correction proposed across the edition (review/batches.py); reviewed together.
    batch = models.ForeignKey("ProposalBatch", on_delete=models.PROTECT, null=True, blank=True,
                              related_name="proposals")
    decided_at = models.DateTimeField(null=True, blank=True)
    # Made from a suggestion in one click (review/suggested.py): the OCR's evidence (its page,
    # words, confidence and region) travels with the proposal to the reviewer.
    suggestion = models.ForeignKey("edition.Suggestion", on_delete=models.SET_NULL, null=True,
                                   blank=True, related_name="proposals")

    objects = ProposalQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["status", "created_at", "id"], name="proposal_queue"),
            models.Index(fields=["document", "status"], name="proposal_document_status"),
            models.Index(fields=["author", "status"], name="proposal_author_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="approved", applied_revision__isnull=False)
                | (~Q(status="approved") & Q(applied_revision__isnull=True)),
                name="proposal_applied_iff_approved",
            ),
        ]

    def __str__(self) -> str:
        return f"Proposal {self.pk} on {self.document.xml_id}"

    def get_absolute_url(self) -> str:
        return reverse("review:proposal", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN

    @property
    def anchor_revision(self) -> Revision:
        """The revision the offsets refer to: the document's current one while the proposal is
        open (the rebase keeps them there without rewriting every proposal's `revision`);
        otherwise `revision`, where they were last valid."""
        if self.is_open:
            return self.document.current_revision
        return self.revision

    @property
    def is_stuck(self) -> bool:
        return self.status in self.STUCK

    @property
    def kinds(self) -> list[str]:
        return sorted({c.get_kind_display() for c in self.changes.all()})

    def approvers(self) -> set[int]:
        """Ids of the reviewers who approved since the last (re)submission (one query)."""
        return approvers_since_submission(
            self.events.filter(kind__in=Event.COUNTED).only("kind", "actor_id"))


class Change(models.Model):
    class Kind(models.TextChoices):
        TEXT = "text", "Text correction"
        NOTE_ADD = "note-add", "Footnote added"
        NOTE_EDIT = "note-edit", "Footnote edited"
        NOTE_REMOVE = "note-remove", "Footnote removed"
        STRUCTURE = "structure", "Structural fix"
        METADATA = "metadata", "Document metadata"
        MARKUP = "markup", "Markup"

    NOTE_KINDS = (Kind.NOTE_ADD, Kind.NOTE_EDIT, Kind.NOTE_REMOVE)
    # Changes that name an existing footnote by id (`note_id`) rather than a place in the text.
    EXISTING_NOTE_KINDS = (Kind.NOTE_EDIT, Kind.NOTE_REMOVE)

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    # W3C TextQuoteSelector: exact == revision.text[start:end] while the proposal is open.
    exact = models.TextField(blank=True)
    prefix = models.CharField(max_length=64, blank=True)
    suffix = models.CharField(max_length=64, blank=True)
    # A metadata change has no place in the text (0–0, no quote): `content` holds the
    # attributes it sets, as JSON (read and written by `attributes` only).
    content = models.TextField(
        blank=True, help_text="Replacement text, footnote body (TEI), block fragment (TEI) or "
                              "the document's attributes or the markup (JSON)"
    )
    note_id = models.CharField(max_length=100, blank=True, help_text="The footnote edited")
    # Where re-anchoring found the quote only approximately (review.reanchoring.Found): a
    # suggestion for the author's re-targeting, never applied by itself.
    found = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["proposal", "start", "id"]
        # No index on start/end: every approval shifts the offsets of the changes after it,
        # and with no index on them PostgreSQL updates those rows in place (HOT; see the
        # fill factor in migration 0002). Changes are found through their proposal's index.
        constraints = [
            models.CheckConstraint(condition=Q(start__lte=F("end")), name="change_range_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.start}–{self.end}"

    @property
    def is_footnote(self) -> bool:
        return self.kind in self.NOTE_KINDS

    @property
    def is_metadata(self) -> bool:
        return self.kind == self.Kind.METADATA

    @property
    def is_markup(self) -> bool:
        return self.kind == self.Kind.MARKUP

    @property
    def markup(self) -> Markup:
        """A markup change's payload (edition.tei.markup reads and writes its JSON)."""
        return Markup.from_content(self.content)

    @property
    def attributes(self) -> dict[str, str]:
        """A metadata change's attributes (shown name → value, "" removes); {} for others."""
        return attributes_of(self.kind, self.content)

    @property
    def names_note(self) -> bool:
        """Edits or removes an existing footnote: placed by its id, not by a quote."""
        return self.kind in self.EXISTING_NOTE_KINDS


def attributes_of(kind: str, content: str) -> dict[str, str]:
    """The attributes a metadata change stores in `content` (JSON); {} for other kinds."""
    if kind != Change.Kind.METADATA:
        return {}
    try:
        values = json.loads(content)
    except ValueError:
        return {}  # refused by actions.propose before it is ever stored
    return values if isinstance(values, dict) else {}


def attributes_content(values: dict[str, str]) -> str:
    """`content` of a metadata change setting `values`."""
    return json.dumps(values, ensure_ascii=False, sort_keys=True)


def approvers_since_submission(events) -> set[int]:
    """Ids of the reviewers who approved since the last (re)submission, from events in timeline
    order. A resubmission or a request for changes starts the count again."""
    approvers: set[int] = set()
    for event in events:
        if event.kind == Event.Kind.APPROVED:
            approvers.add(event.actor_id)
        elif event.kind in (Event.Kind.RESUBMITTED, Event.Kind.CHANGES_REQUESTED):
            approvers.clear()
    return approvers


class Event(models.Model):
    """The timeline of a proposal: created, comments, decisions, conflicts, re-targeting, and
    approvals the gate refused."""

    class Kind(models.TextChoices):
        CREATED = "created", "proposed"
        COMMENTED = "commented", "commented"
        APPROVED = "approved", "approved"
        REFUSED = "refused", "could not approve"  # the result failed the gate: nothing changed
        APPLIED = "applied", "applied as a new revision"
        REJECTED = "rejected", "rejected"
        CHANGES_REQUESTED = "changes", "asked for changes"
        RESUBMITTED = "resubmitted", "re-targeted and resubmitted"
        WITHDRAWN = "withdrawn", "withdrew"
        CONFLICTED = "conflicted", "conflict"
        CONTEXT_CHANGED = "context", "context changed"
        REANCHORED = "reanchored", "could not be carried over"

    # What counting approvals reads (approvers_since_submission).
    COUNTED = (Kind.APPROVED, Kind.RESUBMITTED, Kind.CHANGES_REQUESTED)

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                              blank=True, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["proposal", "kind"], name="event_proposal_kind")]

    def __str__(self) -> str:
        return f"{self.actor} {self.get_kind_display()} #{self.proposal_id}"


class ProposalBatch(models.Model):
    """One correction proposed across an edition (review/batches.py): a proposal per document,
    all with the batch's rationale, reviewed together on the batch page. What it replaces is
    either `find` → `replacement` (a search) or the open suggestions of one check
    (`check_name`), each with its own replacement."""

    edition = models.ForeignKey("edition.Edition", on_delete=models.PROTECT,
                                related_name="proposal_batches")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                               related_name="proposal_batches")
    rationale = models.TextField()
    find = models.TextField(blank=True, help_text="The text replaced (a search's phrase)")
    replacement = models.TextField(blank=True)
    check_name = models.CharField(max_length=50, blank=True,
                                  help_text="The check whose suggestions it applies")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Batch {self.pk}: {self.summary}"

    def get_absolute_url(self) -> str:
        return reverse("review:batch", args=[self.edition.slug, self.pk])

    @property
    def summary(self) -> str:
        if self.check_name:
            return f"Fix the suggestions of the check “{self.check_name}”"
        return f"Replace “{self.find}” with “{self.replacement}”"
