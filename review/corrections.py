"""The public record of what changed: corrections logs, the history rows, footnote comparison.

Before → after comes from each approved revision's step map against its parent's text layer, so
nothing is guessed by diffing; footnotes (which have no steps: a note body is not part of the
text layer) are compared note by note, following the ids the approval renumbered.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Prefetch
from django.utils.safestring import SafeString, mark_safe
from lxml import etree

from edition.changes import RevisionChange, Step
from edition.models import Document, Edition, Revision
from edition.roles import PROPOSERS, role_in
from edition.tei import XML_ID, textlayer
from edition.tei.parsing import parse_document_div

from . import diffs
from .models import Proposal
from .transform import compose_renames, image_of

CONTEXT_CHARS = 60  # either side of a change in the logs: enough to recognise the sentence


# ------------------------------------------------------------------------------------------
# Footnotes


@dataclass(frozen=True)
class Note:
    note_id: str
    label: str
    text: str  # the note's own text layer
    element: etree._Element
    offset: int  # its anchor in the document's text layer


@dataclass(frozen=True)
class NoteChange:
    kind: str  # "added", "removed", "changed"
    label: str
    note_id: str  # the id in the newer revision (in the older one for a removal)
    before: str
    after: str

    @property
    def diff(self) -> SafeString:
        return mark_safe(diffs.diff_html(self.before, self.after))


def notes_of(element: etree._Element) -> dict[str, Note]:
    """The document's footnotes by id, in document order (the source note labelled Source)."""
    notes = {}
    for anchor in textlayer.build(element).notes:
        note = anchor.element
        note_id = note.get(XML_ID) or f"@{anchor.offset}"
        label = "Source" if note.get("type") == "source" else (note.get("n") or note_id)
        notes[note_id] = Note(note_id, label, textlayer.text_of(note), note, anchor.offset)
    return notes



def renames_between(document: Document, a: int, b: int) -> dict[str, str]:
    """Note ids of revision a → ids of revision b, from the renames approvals recorded."""
    low, high = sorted((a, b))
    renamed: dict[str, str | None] = {}
    changes = (document.revisions.filter(number__gt=low, number__lte=high).order_by("number")
               .values_list("change", flat=True))
    for change in changes:
        renamed = compose_renames(renamed, RevisionChange.from_json(change).renamed_notes)
    if a <= b:
        return renamed
    return {new: old for old, new in renamed.items() if new is not None}


def note_changes(old: dict[str, Note], new: dict[str, Note],
                 renamed: dict[str, str | None]) -> list[NoteChange]:
    """Footnotes added, removed or changed (by text layer) between two states of a document."""
    image = {}
    for old_id in old:
        new_id = image_of(old_id, renamed)
        if new_id in new:
            image[old_id] = new_id
    found: list[tuple[int, NoteChange]] = []
    for old_id, note in old.items():
        if old_id not in image:
            found.append((note.offset, NoteChange("removed", note.label, old_id, note.text, "")))
        elif (after := new[image[old_id]]).text != note.text:
            found.append((after.offset, NoteChange("changed", after.label, after.note_id,
                                                   note.text, after.text)))
    matched = set(image.values())
    for new_id, note in new.items():
        if new_id not in matched:
            found.append((note.offset, NoteChange("added", note.label, new_id, "", note.text)))
    return [change for _, change in sorted(found, key=lambda item: item[0])]


# ------------------------------------------------------------------------------------------
# Before → after of one approved revision


def placed_steps(steps: list[Step]) -> list[tuple[Step, int]]:
    """Each step with where its new text starts in the revision's text.

    Steps are recorded in the order they were applied, last position first, so a step's `pos`
    holds in the parent's text and moves in the revision's text by the later (lower) steps.
    """
    placed = []
    for i, step in enumerate(steps):
        shift = sum(s.delta for s in steps[i + 1:] if s.end <= step.pos)
        placed.append((step, step.pos + shift))
    return placed


def change_snippets(parent_text: str, text: str, steps: list[Step]) -> list[SafeString]:
    """Escaped HTML of each step: the parent's words struck, the revision's inserted."""
    snippets = []
    for step, start in sorted(placed_steps(steps), key=lambda item: item[0].pos):
        after = text[start:start + step.new_len]
        snippets.append(mark_safe(diffs.in_context(parent_text, step.pos, step.end, after,
                                                   context=CONTEXT_CHARS)))
    return snippets


@dataclass
class Correction:
    revision: Revision
    proposal: Proposal
    snippets: list[SafeString] = field(default_factory=list)
    notes: list[NoteChange] = field(default_factory=list)

    @property
    def document(self) -> Document:
        return self.revision.document

    @property
    def kinds(self) -> list[str]:
        return self.proposal.kinds

    @property
    def attributes(self) -> list[tuple[str, str]]:
        """The document's attributes the change set, (name, value; "" when removed)."""
        return [item for c in self.proposal.changes.all() for item in c.attributes.items()]

    @property
    def previous(self) -> int:
        return self.revision.number - 1


# Part of each entry's cache key: bump it when what `_entry_parts` derives changes.
ENTRY_VERSION = 1
ENTRY_TTL = 30 * 24 * 3600


def with_log_data(queryset):
    """What a log entry shows, in a constant number of queries: neither the TEI nor the text
    layer (`corrections` reads those only for entries not yet in the cache)."""
    return (
        queryset.filter(applied_proposal__isnull=False)  # approved through review
        .select_related("applied_proposal", "document__edition")
        .defer("tei", "text", "document__edition__tei_skeleton",
               "document__edition__tei_header")
        .prefetch_related(
            Prefetch("parent", queryset=Revision.objects.only("id", "number")),
            "applied_proposal__changes",
        )
    )


def _entry_key(revision: Revision) -> str:
    # A revision and its parent never change: what is derived from them is kept for good
    # (the key holds the database's token, edition/sharedcache.py).
    return f"emend:logentry:{ENTRY_VERSION}:{revision.pk}"


def _entry_parts(revision: Revision, texts: dict[int, str], teis: dict[int, str]):
    """Before → after of one approved revision, as plain data: (snippets, note changes)."""
    snippets = [str(s) for s in change_snippets(texts[revision.parent_id], texts[revision.pk],
                                                list(revision.record.steps or ()))]
    notes = []
    if revision.pk in teis and revision.parent_id in teis:
        notes = note_changes(notes_of(parse_document_div(teis[revision.parent_id])),
                             notes_of(parse_document_div(teis[revision.pk])),
                             revision.record.renamed_notes)
    return snippets, notes


def corrections(revisions) -> list[Correction]:
    """Log entries of approved revisions (a queryset made by `with_log_data`, or a page).

    Each entry's before → after is derived once, from the revision's and its parent's text
    layers (and TEI when footnotes changed), and kept in the cache: a log page reads them
    (one query, two at most) only for entries the cache does not hold."""
    revisions = list(revisions)
    found = cache.get_many([_entry_key(r) for r in revisions]) if revisions else {}
    missing = [r for r in revisions if _entry_key(r) not in found]
    if missing:
        wanted = {r.pk for r in missing} | {r.parent_id for r in missing}
        texts = dict(Revision.objects.filter(pk__in=wanted).values_list("pk", "text"))
        noted = [r for r in missing
                 if any(c.is_footnote for c in r.applied_proposal.changes.all())]
        teis = {}
        if noted:
            teis = dict(Revision.objects.filter(
                pk__in={r.pk for r in noted} | {r.parent_id for r in noted})
                .values_list("pk", "tei"))
        made = {_entry_key(r): _entry_parts(r, texts, teis) for r in missing}
        cache.set_many(made, ENTRY_TTL)
        found.update(made)
    entries = []
    for revision in revisions:
        snippets, notes = found[_entry_key(revision)]
        entries.append(Correction(revision, revision.applied_proposal,
                                  [mark_safe(s) for s in snippets], list(notes)))
    return entries


def document_log(document: Document, *, since: int | None = None) -> list[Correction]:
    """Approved changes to one document, newest first; only those after revision `since`."""
    revisions = document.revisions.all()
    if since is not None:
        revisions = revisions.filter(number__gt=since)
    entries = corrections(with_log_data(revisions).order_by("-number"))
    for entry in entries:
        entry.revision.document = document  # shared: spare each URL its queries
    return entries


def edition_log(edition: Edition):
    """Approved changes across an edition, newest first: a queryset to paginate, then pass
    a page of to `corrections`."""
    return with_log_data(Revision.objects.filter(document__edition=edition)).order_by(
        "-created_at", "-id")


# ------------------------------------------------------------------------------------------
# The history page


@dataclass
class HistoryRow:
    revision: Revision
    proposal: Proposal | None
    approvers: list[str]

    @property
    def rationale(self) -> str:
        return self.proposal.rationale if self.proposal else self.revision.summary

    @property
    def previous(self) -> int | None:
        return self.revision.number - 1 if self.revision.number > 1 else None

    @property
    def reverts(self) -> Revision | None:
        return self.proposal.reverts if self.proposal else None


def history_context(document: Document, user) -> dict:
    """Context of the document's history page: rows newest first, and what the viewer may do.

    Three queries whatever the length of the history: revisions (with author and proposal),
    approvers' names, the viewer's role.
    """
    revisions = list(
        document.revisions.select_related("author", "applied_proposal__reverts")
        .defer("tei", "text", "applied_proposal__reverts__tei", "applied_proposal__reverts__text")
        .order_by("-number"))
    approver_ids = {i for r in revisions for i in r.record.approvers}
    User = get_user_model()
    names = dict(User.objects.filter(pk__in=approver_ids)
                 .values_list("pk", User.USERNAME_FIELD)) if approver_ids else {}
    rows = []
    for revision in revisions:
        revision.document = document
        proposal = getattr(revision, "applied_proposal", None)
        if proposal is not None and proposal.reverts is not None:
            proposal.reverts.document = document
        rows.append(HistoryRow(revision, proposal,
                               [names.get(i, "?") for i in revision.record.approvers]))
    role = role_in(user, document.edition)
    current = revisions[0].number if revisions else 1
    return {
        "rows": rows,
        "can_revert": role in PROPOSERS,
        "is_member": role is not None,
        # The comparison form starts on the latest change.
        "compare_a": max(current - 1, 1),
        "compare_b": current,
    }


def revisions_for_diff(document: Document, a: int, b: int) -> tuple[Revision, Revision] | None:
    """Revisions a and b of the document (one query), or None when either does not exist."""
    found = {r.number: r for r in document.revisions.filter(number__in={a, b})}
    if a not in found or b not in found:
        return None
    for revision in found.values():
        revision.document = document
    return found[a], found[b]

