"""Proposing: checking a proposal's changes against the document and storing it, pending.

Offsets are code points on the text layer of `base_revision`, the revision the person selected
in. A proposal made on an older revision is mapped through the step maps recorded since, and
checked against the footnotes approved since; it is refused as stale only when an approved
change overlaps it. Re-targeting (`retarget`) checks its changes the same way.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from lxml import etree

from edition.changes import RevisionChange
from edition.gate import GateError, check_candidate
from edition.models import Document, Revision
from edition.roles import PROPOSERS, require_member
from edition.tei import XML_ID
from edition.tei.edits import FragmentLimitError, check_fragment_size, note_body_xml
from edition.tei.metadata import check as check_attributes
from edition.tei.metadata import MetadataError, values_of
from edition.tei.parsing import TEIError
from edition.tei.selectors import selector
from edition.tei import markup
from edition.tei.markup import Markup

from ..anchoring import Mapped, against_added_notes, against_blocks, map_through
from ..models import Change, Event, Proposal, attributes_content, attributes_of
from ..transform import apply_changes, compose_renames
from . import ProposalError, check_prose_length, check_text

Kind = Change.Kind
# TEI markup typed into a text correction: an element tag or an entity/character reference.
_MARKUP_TYPED = re.compile(r"</?[A-Za-z][\w:.-]*(\s[^<>]*)?/?>|&(#\d+|#x[0-9a-fA-F]+|[A-Za-z]\w*);")


@dataclass
class ChangeSpec:
    """One change as a client asks for it, before it is checked and stored as a `Change`."""

    kind: str
    start: int
    end: int
    content: str = ""
    exact: str | None = None  # when given, must equal the text at [start, end)
    note_id: str = ""

    @property
    def attributes(self) -> dict[str, str]:
        return attributes_of(self.kind, self.content)


def check_propose(user, document: Document) -> None:
    """Editors, reviewers and admins of the edition propose. Http404 for outsiders."""
    if require_member(user, document.edition) not in PROPOSERS:
        raise PermissionDenied("Only editors, reviewers and admins of this edition may propose")


def check_change_count(count: int) -> None:
    """Refuse a proposal of more than EMEND_MAX_PROPOSAL_CHANGES changes."""
    limit = settings.EMEND_MAX_PROPOSAL_CHANGES
    if count > limit:
        raise ProposalError(f"the proposal has {count} changes, over the limit of {limit} "
                            "(EMEND_MAX_PROPOSAL_CHANGES): split it into several proposals",
                            code="too_many")


def check_limits(changes: list[ChangeSpec]) -> None:
    """Refuse, before any work on them, more changes than EMEND_MAX_PROPOSAL_CHANGES or a
    change larger than EMEND_MAX_FRAGMENT_BYTES (the depth of its TEI is checked as it is
    parsed) or a text replacement longer than EMEND_MAX_REPLACEMENT_CHARS. ProposalError with
    code "too_many" or "too_large"."""
    check_change_count(len(changes))
    replacement_limit = settings.EMEND_MAX_REPLACEMENT_CHARS
    for spec in changes:
        check_text("change", spec.content)
        check_text("quote", spec.exact)
        check_text("footnote id", spec.note_id)
        if spec.kind == Kind.TEXT and len(spec.content) > replacement_limit:
            raise ProposalError(
                f"the replacement text is {len(spec.content):,} characters long, over the limit "
                f"of {replacement_limit:,} (EMEND_MAX_REPLACEMENT_CHARS): propose a shorter "
                "change, or several", code="too_large")
        try:
            check_fragment_size(spec.content)
        except FragmentLimitError as exc:
            raise ProposalError(str(exc), code=exc.code) from None


def do_propose(document: Document, *, author, base_revision: int, changes: list[ChangeSpec],
               rationale: str, reverts: Revision | None = None, batch=None) -> Proposal:
    """Validate and store a proposal against the document's current revision (as one of
    `batch`'s proposals when given: review/batches.py).

    Locks the document row (FOR NO KEY UPDATE OF the document), which serialises proposals
    and approvals on it. Raises ProposalError (code "stale" when an approved change overlaps
    a change made on an older revision) or PermissionDenied.
    """
    if not rationale.strip():
        raise ProposalError("a rationale is required: say why the text should change")
    check_text("rationale", rationale)
    check_prose_length(rationale, "rationale")
    if not changes:
        raise ProposalError("a proposal needs at least one change")
    with transaction.atomic():
        document = (Document.objects.select_for_update(of=("self",), no_key=True)
                    .select_related("edition")
                    .defer("edition__tei_skeleton", "edition__tei_header").get(pk=document.pk))
        check_propose(author, document)
        head, prepared = validated(document, base_revision, changes)
        proposal = Proposal.objects.create(document=document, author=author, revision=head,
                                           rationale=rationale.strip(), reverts=reverts,
                                           batch=batch)
        for change in prepared:
            change.proposal = proposal
        Change.objects.bulk_create(prepared)
        Event.objects.create(proposal=proposal, actor=author, kind=Event.Kind.CREATED)
    return proposal


def validated(document: Document, base_revision: int,
              changes: list[ChangeSpec]) -> tuple[Revision, list[Change]]:
    """The head revision and the changes as unsaved rows anchored on it, checked to apply
    together, within the limits, and to give a revision that passes the gate
    (edition/gate.py). The caller holds the document's lock; `document` comes with its
    edition."""
    check_limits(changes)
    head = Revision.objects.get(pk=document.current_revision_id)
    if base_revision != head.number:
        changes = _map_from(document, base_revision, head, changes)
    prepared = [_prepare(head, spec) for spec in changes]
    _check_no_overlap(prepared)
    _check_notes_kept(head, prepared)
    before = etree.tostring(head.element, encoding="unicode")
    try:
        applied = apply_changes(head.element, prepared, text=head.text)
    except FragmentLimitError as exc:  # nested too deep: found as the TEI is parsed
        raise ProposalError(str(exc), code=exc.code) from exc
    except (ValueError, TEIError) as exc:
        code = "metadata" if isinstance(exc, MetadataError) else "unapplicable"
        raise ProposalError(str(exc), code=code) from exc
    candidate = etree.tostring(applied.element, encoding="unicode")
    if candidate == before:
        raise ProposalError(f"the proposal changes nothing: the document would read exactly as "
                            f"revision {head.number} does", code="invalid")
    try:
        check_candidate(candidate, document,
                        number=head.number + 1, current=head.tei)
    except GateError as exc:
        raise ProposalError(f"the document as changed fails the checks every revision must "
                            f"pass: {exc.message}", code=exc.code) from exc
    return head, prepared


def _map_from(document: Document, base: int, head: Revision, specs: list[ChangeSpec]):
    """Map offsets (and footnote ids) made on revision `base` to `head` through the step maps
    and footnote renames recorded since. Raises ProposalError(code="stale") where an approved
    change overlaps a change, or edited or removed the footnote it edits."""
    later = list(document.revisions.filter(number__gt=base, number__lte=head.number)
                 .order_by("number").only("number", "change"))
    if base < 1 or base > head.number or len(later) != head.number - base:
        raise ProposalError(f"revision {base} does not exist", code="stale")
    # Each approval's footnote points are in its parent's offsets: map revision by revision.
    records: list[RevisionChange] = []
    renamed: dict[str, str | None] = {}
    for revision in later:
        record = revision.record
        if not record.has_step_map:
            raise ProposalError(
                f"the text changed in revision {revision.number} without a step map; reload "
                f"the document (now revision {head.number}) and select again", code="stale")
        records.append(record)
        renamed = compose_renames(renamed, record.renamed_notes)
    base_revision = None
    mapped = []
    for spec in specs:
        if spec.kind == Kind.METADATA:
            _check_attributes_since(spec, records, base, head)
            mapped.append(spec)
            continue
        result = Mapped(spec.start, spec.end)
        for record in records:
            beside = against_added_notes(spec.kind, result.start, result.end, not spec.content,
                                         record.added_notes)
            if spec.kind == Kind.MARKUP and not beside.conflict and any(
                    lo < result.end and hi > result.start for lo, hi in record.marked):
                beside = Mapped(result.start, result.end,
                                conflict="the markup of these words was changed")
            if spec.kind == Kind.STRUCTURE and not beside.conflict:
                beside = Mapped(result.start, result.end, conflict=against_blocks(
                    result.start, result.end, record.steps,
                    inserted_blocks=record.inserted_blocks, note_points=record.touched_notes,
                    marked=record.marked))
            if beside.conflict:
                result = beside
                break
            result = map_through(result.start, result.end, record.steps,
                                 footnote=spec.kind in Change.NOTE_KINDS)
            if result.conflict:
                break
        if result.conflict:
            raise ProposalError(
                f"stale revision: {result.conflict} since revision {base} (now revision "
                f"{head.number}); reload and select again", code="stale")
        note_id = renamed.get(spec.note_id, spec.note_id)
        if spec.kind in Change.EXISTING_NOTE_KINDS:
            base_revision = base_revision or document.revisions.get(number=base)
            if _note_body(base_revision, spec.note_id) != _note_body(head, note_id):
                raise ProposalError(
                    f"stale revision: footnote {spec.note_id} was edited or removed since "
                    f"revision {base} (now revision {head.number}); reload and try again",
                    code="stale")
        mapped.append(ChangeSpec(spec.kind, result.start, result.end, spec.content,
                                 spec.exact, note_id))
    return mapped


def _check_attributes_since(spec: ChangeSpec, records: list[RevisionChange], base: int,
                            head: Revision) -> None:
    """A metadata change made on an older revision holds that revision's values: stale when
    an approved change set one of its attributes since."""
    for record in records:
        touched = set(record.attributes) & set(spec.attributes)
        if touched:
            raise ProposalError(
                f"stale revision: {', '.join(sorted(touched))} changed since revision {base} "
                f"(now revision {head.number}); reload and try again", code="stale")


def _note_body(revision: Revision, note_id: str) -> str | None:
    anchor = revision.layer.note(note_id)
    return note_body_xml(anchor.element) if anchor else None


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _prepare(head: Revision, spec: ChangeSpec) -> Change:
    text = head.text
    if spec.kind not in Kind.values:
        raise ProposalError(f"unknown kind of change “{spec.kind}”")
    if spec.kind == Kind.METADATA:
        return _prepare_metadata(head, spec)
    if not (0 <= spec.start <= spec.end <= len(text)):
        raise ProposalError(f"offsets {spec.start}–{spec.end} are outside the text "
                            f"(0–{len(text)})", code="offsets")
    start, end = spec.start, spec.end
    if spec.kind in Change.EXISTING_NOTE_KINDS:
        anchor = head.layer.note(spec.note_id)
        if anchor is None:
            raise ProposalError(f"revision {head.number} has no footnote “{spec.note_id}”",
                                code="note")
        start = end = anchor.offset
    elif spec.exact is not None and text[start:end] != spec.exact:
        raise ProposalError(
            f"the quote “{spec.exact[:60]}” is not at {spec.start}–{spec.end} of revision "
            f"{head.number} (found “{text[start:end][:60]}”)", code="quote")
    if spec.kind == Kind.NOTE_ADD and start != end:
        raise ProposalError("a footnote is anchored at a point, not a range")
    if spec.kind == Kind.TEXT and start == end and not spec.content:
        raise ProposalError("the change is empty")
    if spec.kind == Kind.TEXT and text[start:end] == spec.content:
        raise ProposalError(f"the change replaces “{_short(spec.content)}” with the same text: it "
                            "changes nothing", code="invalid")
    if spec.kind == Kind.TEXT and _MARKUP_TYPED.search(spec.content):
        raise ProposalError(
            "a text correction is plain text: the replacement holds TEI markup (“<…>” or "
            "“&…;”), which would be stored as literal characters; to mark up words, select "
            "them and propose a markup change (kind “markup”)", code="markup")
    if spec.kind == Kind.MARKUP:
        return _prepare_markup(head, spec, start, end)
    return Change(kind=spec.kind, start=start, end=end, content=spec.content,
                  note_id=spec.note_id, **selector(text, start, end))


def _prepare_markup(head: Revision, spec: ChangeSpec, start: int, end: int) -> Change:
    """Markup of [start, end): checked against the allow-list and applied to the head once,
    so what the TEI cannot carry is refused now rather than at approval."""
    try:
        payload = markup.check(Markup.from_content(spec.content))
        markup.apply(head.element, start, end, payload)
    except markup.MarkupError as exc:
        raise ProposalError(str(exc), code="markup") from exc
    return Change(kind=Kind.MARKUP, start=start, end=end, content=payload.to_content(),
                  **selector(head.text, start, end))


def _prepare_metadata(head: Revision, spec: ChangeSpec) -> Change:
    """The div's attributes: no place in the text (0–0, no quote), only what differs."""
    try:
        values = json.loads(spec.content) if spec.content else {}
    except ValueError as exc:
        raise ProposalError(f"the attributes are not a JSON object: {exc}",
                            code="metadata") from exc
    try:
        values = check_attributes(values)
    except MetadataError as exc:
        raise ProposalError(str(exc), code="metadata") from exc
    now = values_of(head.element)
    if all(now.get(name, "") == value for name, value in values.items()):
        raise ProposalError(f"revision {head.number} already has these values: the change is "
                            "empty", code="metadata")
    return Change(kind=Kind.METADATA, start=0, end=0, content=attributes_content(values))


def _check_notes_kept(head: Revision, changes: list[Change]) -> None:
    """Refuse a text change across a footnote's marker, and a deletion of the words a footnote
    follows: either would silently move the note onto other words (and, with other notes
    at the new place, make the notes' order depend on the order of approvals). Removing the
    note in the same proposal makes it fine."""
    removed = {c.note_id for c in changes if c.kind == Kind.NOTE_REMOVE}
    ranges = [c for c in changes if c.kind == Kind.TEXT and c.start < c.end]
    for anchor in head.layer.notes if ranges else ():
        note_id = anchor.element.get(XML_ID)
        if note_id in removed:
            continue
        label = anchor.element.get("n") or note_id
        for change in ranges:
            if change.start < anchor.offset < change.end:
                raise ProposalError(
                    f"this change spans the marker of footnote {label}; change the text on "
                    f"each side of it separately", code="note")
            if anchor.offset == change.end and not change.content:
                raise ProposalError(
                    f"this deletion takes away the words footnote {label} follows; delete less, "
                    f"or remove the footnote in the same proposal", code="note")


def _check_no_overlap(changes: list[Change]) -> None:
    if sum(c.kind == Kind.METADATA for c in changes) > 1:
        raise ProposalError("two changes of this proposal set the document's attributes; "
                            "combine them into one", code="overlap")
    ordered = sorted((c for c in changes if c.kind != Kind.METADATA),
                     key=lambda c: (c.start, c.end))
    for a, b in zip(ordered, ordered[1:]):
        same_point = a.start == a.end == b.start == b.end
        if b.start < a.end or (same_point and not (a.is_footnote and b.kind == Kind.TEXT
                                                    or b.is_footnote and a.kind == Kind.TEXT)):
            raise ProposalError("two changes of this proposal overlap; combine them into one",
                                code="overlap")
    notes = [c.note_id for c in changes if c.note_id]
    if len(notes) != len(set(notes)):
        raise ProposalError("two changes of this proposal touch the same footnote",
                            code="overlap")
