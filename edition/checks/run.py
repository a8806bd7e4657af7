"""Running the checks on stored documents and keeping their suggestions.

A run replaces the document's open check suggestions with what the checks find on its current
revision; a dismissed one (or one made into a proposal) is remembered by its quote (check, footnote, exact text and the
context on one side at least, so an edit nearby does not bring it back) and is never recorded
again. The import's own findings (dateline, signature, lists) are left as they are.

The volume's facts (document numbers, the persons register) are read once per edition, not per
check or per document: `facts(edition)`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction

from .. import registers
from ..models import Document, Edition, Revision, Suggestion
from ..ownparts import forget
from ..tei.findings import Finding
from . import Volume, find

# The last page break of a unit's TEI, read without parsing it (the unit before may be long).
_PAGE = re.compile(r'<pb\b[^>]*?\bn="([0-9]{1,6})"')


@dataclass(frozen=True)
class Facts:
    """What the checks need of one edition, read once for a run over many documents."""

    edition: Edition
    numbers: frozenset[int]
    persons: dict[str, str]

    def volume(self, previous_page: int | None) -> Volume:
        return Volume(self.numbers, self.persons, previous_page)


def facts(edition: Edition) -> Facts:
    # Unordered: the Meta ordering would join the edition to sort a set.
    numbers = frozenset(edition.documents.filter(number__isnull=False).order_by()
                        .values_list("number", flat=True))
    persons = {e.id: e.name for e in registers.entries(edition, "persons")}
    return Facts(edition, numbers, persons)


def last_page(tei: str) -> int | None:
    pages = _PAGE.findall(tei)
    return int(pages[-1]) if pages else None


def previous_page(document: Document) -> int | None:
    """The last page of the document numbered just before this one, when the volume has it
    (with a document missing between them, the pages between are unknown)."""
    if document.number is None:
        return None
    tei = (Revision.objects.filter(current_of__edition_id=document.edition_id,
                                   current_of__number=document.number - 1,
                                   current_of__div_type="document")
           .values_list("tei", flat=True).first())
    return last_page(tei) if tei else None


# `previous` not given: read the previous document's last page (run_edition passes it along).
_LOOK_UP = object()


def run_document(document: Document, known: Facts | None = None, *,
                 previous=_LOOK_UP) -> list[Suggestion]:
    """Check the document's current revision and replace its open check suggestions.

    Records under the document row's lock (FOR NO KEY UPDATE), as proposing does, so two runs
    on one document never interleave their delete and insert; the checks themselves run before
    it (`_check`). Returns the suggestions recorded."""
    known = known or facts(document.edition)
    if previous is _LOOK_UP:
        previous = previous_page(document)
    return _check(document.pk, lambda unit: known, previous) or []


def run_documents(document_ids: Iterable[int]) -> int:
    """`run_document` on each of these units (after a new revision: the worker's
    `run_checks`); units gone are skipped. Returns how many suggestions were recorded."""
    count, known = 0, {}

    def facts_of(unit: Document) -> Facts:
        if unit.edition_id not in known:
            known[unit.edition_id] = facts(unit.edition)
        return known[unit.edition_id]

    for pk in document_ids:
        count += len(_check(pk, facts_of, _LOOK_UP) or [])
    return count


def _check(pk: int, facts_of, previous) -> list[Suggestion] | None:
    """The checks run before the unit is locked, on its current revision (read with its
    edition in one statement); then the unit is locked and, if that revision is still current,
    what they found replaces its open suggestions. The worker runs at the lowest CPU priority
    (`EMEND_WORKER_NICE`): holding the unit's row while the checks take their CPU would make
    an approval of the same unit wait for a process every reader comes before. A revision
    that committed meanwhile is checked again under the lock (`_record`). None: no such unit,
    or no revision."""
    # The edition without its header and skeleton (a volume's skeleton passes a megabyte): the
    # checks read its numbers and registers through their own queries.
    units = (Document.objects.select_related("edition", "current_revision")
             .defer("edition__tei_skeleton", "edition__tei_header"))
    unit = units.filter(pk=pk).first()
    if unit is None or unit.current_revision_id is None:
        return None
    known = facts_of(unit)
    if previous is _LOOK_UP:
        previous = previous_page(unit)
    found = _find(unit.current_revision, known, previous)
    with transaction.atomic():
        current = (Document.objects.select_for_update(of=("self",), no_key=True)
                   .filter(pk=pk).values_list("current_revision_id", flat=True).first())
        if current is None:
            return None
        if current != unit.current_revision_id:  # a new revision committed meanwhile
            unit, found = units.get(pk=pk), None
        return _record(unit, known, previous, found)


def _find(revision: Revision, known: Facts, previous: int | None) -> list[Finding]:
    return find(revision.element, known.volume(previous),
                disabled=known.edition.disabled_checks or [])


def _record(locked: Document, known: Facts, previous: int | None,
            found: list[Finding] | None = None) -> list[Suggestion]:
    """Replace `locked`'s open check suggestions with what the checks find on its current
    revision (`found`, when they already ran on it): the unit's row lock held, the unit and
    its revision read when it was (`_check`: no join went stale awaiting it)."""
    revision = locked.current_revision
    if found is None:
        found = _find(revision, known, previous)
    # The unit's check suggestions read once, open and settled together (ordered by nothing:
    # the Meta ordering would join the edition to sort them).
    rows = list(locked.suggestions.of_checks().with_is_open().order_by().values_list(
        "pk", "is_open", "check_name", "note_id", "exact", "prefix", "suffix"))
    dismissed = [quote for _, is_open, *quote in rows if not is_open]
    retired = [pk for pk, is_open, *_ in rows if is_open]
    if retired:
        Suggestion.objects.filter(pk__in=retired).delete()
    forget([locked.pk])  # bulk_create sends no signal: a proposer's cached parts
    return Suggestion.objects.bulk_create(
        _row(locked, revision, f) for f in found if not _was_dismissed(f, dismissed))


def run_edition(edition: Edition, xml_ids: Iterable[str] | None = None) -> int:
    """Run the checks on every unit of the edition (or those of `xml_ids`), in order, one
    transaction per unit; the previous page is carried from unit to unit. Returns how many
    suggestions were recorded."""
    known = facts(edition)
    units = edition.documents.exclude(current_revision=None).order_by("order")
    wanted = set(xml_ids) if xml_ids is not None else None
    count, last = 0, (None, None)  # (number, last page) of the numbered document before
    for document in units.only("pk", "xml_id", "number", "div_type", "edition_id").iterator(
            chunk_size=200):
        document.edition = edition
        if wanted is not None and document.xml_id not in wanted:
            continue
        if document.div_type == "document" and document.number is not None:
            before = last[1] if last[0] == document.number - 1 else previous_page(document)
            suggestions = run_document(document, known, previous=before)
            tei = Revision.objects.values_list("tei", flat=True).get(current_of=document.pk)
            # A document with no page break lies within the page the one before ended on.
            last = (document.number, last_page(tei) or before)
        else:
            suggestions = run_document(document, known, previous=None)
        count += len(suggestions)
    return count


def _row(document: Document, revision: Revision, finding: Finding) -> Suggestion:
    return Suggestion(document=document, revision=revision, check_name=finding.check,
                      change=finding.change, note_id=finding.note_id, exact=finding.exact,
                      prefix=finding.prefix, suffix=finding.suffix,
                      replacement=finding.replacement, explanation=finding.explanation)


def _was_dismissed(finding: Finding, dismissed: list[tuple[str, str, str, str, str]]) -> bool:
    return any(check == finding.check and note_id == finding.note_id and exact == finding.exact
               and (prefix == finding.prefix or suffix == finding.suffix)
               for check, note_id, exact, prefix, suffix in dismissed)
