"""Importing FRUS TEI volumes and plain-text renderings into editions.

Both importers write in one transaction: bad input is refused with a TEIError and nothing stays
written. History is never deleted: a re-import adds revisions, it does not replace them. Each new
revision goes through the gate (edition/gate.py), which reports rather than refuses here: a
volume is imported as published, and its report says which documents fail and why.
"""

from __future__ import annotations

import copy
import io
import logging
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max, OuterRef, Subquery
from lxml import etree

from . import bulk, search, tasks
from .changes import RevisionChange
from .checks import run as checks_run
from .exporting import sources
from .exporting.builds import request_export
from .gate import GateError, check_candidate, render_stored as gate_render
from .models import (
    RESERVED_UNIT_IDS, Document, Edition, PendingRenderCheck, Revision, SearchEntry, Suggestion,
)
from .tei import TEI_NS, XML_ID, tei
from .tei.fromtext import parse_plaintext
from .tei.metadata import dateline_place, document_dates
from .tei.parsing import TEIError, parse_document_div, refuse_doctype, safe_parser
from .tei.textlayer import text_of

log = logging.getLogger(__name__)

# Processing instructions in the skeleton: one stands for a whole unit (a document, a leaf
# section); the other for a container's own content (its head and introduction), inside the
# container's shell, which keeps the placeholders of the units it holds.
PLACEHOLDER = "emend-document"
CONTENT_PLACEHOLDER = "emend-content"


@dataclass
class ImportResult:
    edition: Edition
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # in the database, absent from the file
    warnings: list[str] = field(default_factory=list)
    # New revisions whose rendering the worker checks after the commit (a volume: more than
    # EMEND_IMPORT_RENDER_INLINE_UNITS); each one that fails becomes a "render" suggestion.
    render_pending: int = 0

    @property
    def notes(self) -> list[str]:
        """What the report says besides its warnings: the checks still to come."""
        if not self.render_pending:
            return []
        return [f"The rendering check of {self.render_pending} new revision(s) runs in the "
                "worker after the import: a page or export that cannot be made from one is "
                "listed, as it is found, on the edition's suggestions page "
                f"(/{self.edition.slug}/suggestions/?check=render)."]


def check_size(path: Path) -> None:
    size = path.stat().st_size
    limit = settings.EMEND_MAX_IMPORT_BYTES
    if size > limit:
        raise TEIError(
            f"{path.name} is {size:,} bytes, over the import limit of {limit:,} bytes "
            "(EMEND_MAX_IMPORT_BYTES)"
        )


class _CountingReader:
    """A file wrapper that reports bytes read, for a progress bar during streaming parse."""

    def __init__(self, raw: BinaryIO, on_read: Callable[[int], None]) -> None:
        self.raw, self.on_read = raw, on_read

    def read(self, size: int = -1) -> bytes:
        chunk = self.raw.read(size)
        self.on_read(len(chunk))
        return chunk


def import_tei(
    path: str | os.PathLike,
    *,
    by=None,
    update: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import a FRUS volume (or excerpt): an edition, its documents and revision 1 of each.

    An existing edition is refused unless `update`, which adds a revision wherever the TEI
    differs and never deletes. Raises TEIError, with nothing written, for unacceptable input.
    """
    path = Path(path)
    check_size(path)
    with transaction.atomic(), path.open("rb") as raw:
        source = _CountingReader(raw, on_progress) if on_progress else raw
        return _Importer(path.name, by=by, update=update).run(source)


# FRUS ids and numbers must fit the database's columns: a longer id or a bigger number is
# refused with its line rather than failing inside the database.
MAX_ID_LENGTH = Document._meta.get_field("xml_id").max_length
MAX_NUMBER = 2**31 - 1
MAX_PROBLEMS_SHOWN = 50
# New units stored together: each INSERT carries this many rows; memory holds their trees.
NEW_UNITS_BATCH = 100
MATTERS = {tei("front"): Document.Matter.FRONT, tei("body"): Document.Matter.BODY,
           tei("back"): Document.Matter.BACK}


class _Importer:
    """Streams a volume: each unit (a div history.state.gov shows as a page) is stored when its
    end tag is read and replaced in the tree by a placeholder, so memory holds the skeleton,
    not the volume. Problems are collected, every one with its line, and refused together."""

    def __init__(self, filename: str, *, by, update: bool) -> None:
        self.filename, self.by, self.update = filename, by, update
        self.edition: Edition | None = None
        self.result: ImportResult | None = None
        self.seen_ids: set[str] = set()
        self.existing: dict[str, Document] = {}
        self.next_order = 1
        self.orders: dict[etree._Element, int] = {}  # units open, by their start tag
        self.units_met = 0
        self.parents: dict[str, str | None] = {}  # unit id → the enclosing unit's id
        self.problems: list[str] = []
        self.new_units: list[tuple[str, str, dict, int]] = []  # waiting for `_store_new`
        # The new revisions that passed the TEI checks, to be rendered (`_check_rendering`):
        # their ids, and their documents while there are few enough to render them here.
        self.render_ids: list[int] = []
        self.to_render: list[Document] | None = []

    def problem(self, line: int | None, message: str) -> None:
        self.problems.append(f"{self.filename}, line {line or '?'}: {message}")

    def run(self, source) -> ImportResult:
        events = etree.iterparse(
            source,
            events=("start", "end"),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            remove_comments=False,
        )
        root = None
        try:
            for event, element in events:
                if root is None:
                    root = element
                    self._check_root(root)
                if event == "start":
                    self._check_unique_id(element)
                    if element.tag == tei("div") and self._is_unit(element):
                        self.orders[element] = self.units_met
                        self.units_met += 1
                elif element.tag == tei("teiHeader"):
                    self._edition_from_header(root, element)
                elif element in self.orders:
                    self._unit(element)
        except etree.XMLSyntaxError as exc:
            # libxml2 reports a repeated xml:id at the end; the line is already a problem.
            if not (self.problems and "already defined" in str(exc)):
                self.problems.append(_describe_syntax_error(self.filename, exc))
            raise TEIError(self._refusal()) from exc
        self._store_new()  # the last batch (nothing when there are problems)
        if root is None:
            raise TEIError(f"{self.filename} is empty")
        if self.edition is None:
            raise TEIError(f"{self.filename} has no <teiHeader>")
        if not (self.result.created or self.result.updated or self.result.unchanged
                or self.problems):
            raise TEIError(f'{self.filename} holds no <div type="document">: nothing to import')
        if self.problems:
            raise TEIError(self._refusal())
        self._finish(root)
        return self.result

    def _refusal(self) -> str:
        if len(self.problems) == 1:
            return self.problems[0]
        shown = self.problems[:MAX_PROBLEMS_SHOWN]
        more = len(self.problems) - len(shown)
        return "\n".join(
            [f"{self.filename} was not imported ({len(self.problems)} problems); nothing was "
             "written:", *shown] + ([f"… and {more} more"] if more else []))

    @staticmethod
    def _is_unit(div: etree._Element) -> bool:
        """A document div anywhere outside another document, or a div with an id whose every
        enclosing div has one up to front, body or back: a section, compilation, chapter or
        appendix item. Read at the start tag: the ancestors are there, the content not yet."""
        if any(a.get("type") == "document" for a in div.iterancestors(tei("div"))):
            return False
        if div.get("type") == "document":
            return True
        if not div.get(XML_ID):
            return False
        for ancestor in div.iterancestors():
            if ancestor.tag in MATTERS:
                return True
            if ancestor.tag != tei("div") or not ancestor.get(XML_ID):
                return False
        return False

    def _check_root(self, root: etree._Element) -> None:
        refuse_doctype(root.getroottree())
        if root.tag != tei("TEI"):
            name = etree.QName(root.tag)
            where = f" in namespace {name.namespace}" if name.namespace else " (no namespace)"
            raise TEIError(
                f"{self.filename} is not TEI: its root element is <{name.localname}>{where}; "
                f"expected <TEI> in {TEI_NS}"
            )

    def _check_unique_id(self, element: etree._Element) -> None:
        xml_id = element.get(XML_ID)
        if xml_id is None:
            return
        if xml_id in self.seen_ids:
            self.problem(element.sourceline, f"xml:id “{xml_id}” is used twice")
        self.seen_ids.add(xml_id)

    def _edition_from_header(self, root: etree._Element, header: etree._Element) -> None:
        meta = _header_metadata(header)
        slug = root.get(XML_ID) or meta.pop("idno", "")
        meta.pop("idno", None)
        if not slug:
            raise TEIError(
                f"{self.filename}: the volume has no identifier (xml:id on <TEI> or "
                '<idno type="frus">)'
            )
        header_xml = etree.tostring(header, encoding="unicode", with_tail=False)
        edition = Edition.objects.select_for_update().filter(slug__iexact=slug).first()
        if edition is not None and not self.update:
            raise TEIError(
                f"edition {edition.slug} already exists; re-import with --update to add "
                "revisions where the TEI differs (history is never replaced)"
            )
        if edition is None:
            edition = Edition(slug=slug)
        for name, value in meta.items():
            setattr(edition, name, value)
        edition.tei_header = header_xml
        edition.tei_skeleton = edition.tei_skeleton or ""
        try:
            edition.full_clean(exclude=["tei_skeleton"])
        except Exception as exc:
            raise TEIError(f"{self.filename}: the volume's metadata is not acceptable: {exc}")
        edition.save()
        self.edition = edition
        self.result = ImportResult(edition)
        self.existing = {d.xml_id: d for d in edition.documents.with_current()}
        self.next_order = (edition.documents.aggregate(m=Max("order"))["m"] or 0) + 1

    def _unit(self, element: etree._Element) -> None:
        line = element.sourceline
        if self.edition is None:
            raise TEIError(f"{self.filename}, line {line}: a document comes before the "
                           "<teiHeader>")
        xml_id = element.get(XML_ID)
        if not self._acceptable_id(xml_id, line):
            return
        own = _own_content(element)  # None for a leaf: its revision is the div itself
        unit = element if own is None else _unit_element(element, own)
        tei_xml = etree.tostring(unit, encoding="unicode", with_tail=False)
        fields = self._fields(element, unit, line)
        parent = next((a for a in element.iterancestors(tei("div")) if a in self.orders), None)
        self.parents[xml_id] = parent.get(XML_ID) if parent is not None else None
        order = self.next_order + self.orders.pop(element)  # and the element may be freed
        if self.problems:  # nothing will be written: keep checking, skip the work
            self._leave_placeholder(element, xml_id, own)
            return
        document = self.existing.get(xml_id)
        if document is None:
            self.new_units.append((xml_id, tei_xml, fields, order))
            if len(self.new_units) >= NEW_UNITS_BATCH:
                self._store_new()
        elif document.current_revision.tei == tei_xml:
            self.result.unchanged.append(xml_id)
        else:
            document.edition = self.edition  # its header is deferred there: spare a query
            document.add_revision(tei_xml, by=self.by,
                                  summary=f"Re-imported from {self.filename}",
                                  change=RevisionChange(kind="reimport", source=self.filename))
            Document.objects.filter(pk=document.pk).update(**fields)
            self.result.updated.append(xml_id)
            self._gate(document)
            document.current_revision.release()  # `existing` holds every document
        self._leave_placeholder(element, xml_id, own)

    def _store_new(self) -> None:
        """The new units waiting, each a document and its first revision, in four statements
        for the lot (not four each); then the gate's verdict on each."""
        if not self.new_units or self.problems:  # nothing will be written
            self.new_units = []
            return
        documents = create_documents(self.edition, self.new_units, by=self.by,
                                     summary=f"Imported from {self.filename}")
        self.new_units = []
        for document in documents:
            self.result.created.append(document.xml_id)
            self._gate(document)
            document.current_revision.release()  # the tree and layer: memory holds a batch

    def _gate(self, document: Document) -> None:
        """The gate's TEI checks on the document's new revision, into the report; its
        rendering waits for `_check_rendering` (in the transaction, or in the worker)."""
        if not _report_gate(document, self.result.warnings, render=False):
            return  # not rendered, as the whole gate stops at the TEI's first problem
        self.render_ids.append(document.current_revision_id)
        if self.to_render is not None:
            self.to_render.append(document)
            # An import storing at most this many new revisions renders each through the
            # gate's six renderers in its transaction, so its report names every problem at
            # once; a larger one (a volume: 7 ms a unit, minutes for 50,000 units, the edition
            # locked all along) checks only the TEI here and leaves the rendering to the
            # worker after the commit (gate.check_rendering).
            if len(self.to_render) > settings.EMEND_IMPORT_RENDER_INLINE_UNITS:
                self.to_render = None

    def _check_rendering(self) -> None:
        if self.to_render is not None:
            # sources.storing: every unit's pieces written together, at the end. (Only here:
            # the store reads the site's URL patterns, a second to load in a new process.)
            with sources.storing():
                for document in self.to_render:
                    revision = document.current_revision
                    try:
                        gate_render(document, revision)
                    except GateError as exc:
                        self.result.warnings.append(f"{document.xml_id}: {exc.message}")
                    revision.release()
            return
        self.result.render_pending = len(self.render_ids)
        # Rows in the import's transaction: the worker's check deletes them, the sweep re-sends
        # what a lost message or a dead worker left (tasks.sweep_stuck_jobs).
        PendingRenderCheck.objects.bulk_create(
            PendingRenderCheck(revision_id=pk) for pk in self.render_ids)
        tasks.enqueue_on_commit(tasks.check_rendering, self.render_ids)

    def _acceptable_id(self, xml_id: str | None, line: int | None) -> bool:
        if not xml_id:
            self.problem(line, 'a <div type="document"> has no xml:id')
        elif len(xml_id) > MAX_ID_LENGTH:
            self.problem(line, f"xml:id “{xml_id[:40]}…” is {len(xml_id)} characters long; "
                               f"Emend takes at most {MAX_ID_LENGTH}")
        elif not Document.ID_PATTERN.fullmatch(xml_id):
            self.problem(line, f"xml:id “{xml_id}” is not an XML name Emend can address")
        elif xml_id.lower() in RESERVED_UNIT_IDS:
            self.problem(line, f"xml:id “{xml_id}” is the address of one of Emend's own pages "
                               f"(/{self.edition.slug}/{xml_id}/); rename the div")
        else:
            return True
        return False

    def _fields(self, element: etree._Element, unit: etree._Element, line: int | None) -> dict:
        """The row's fields from the unit's TEI (`element` is where it stands in the volume)."""
        xml_id = unit.get(XML_ID)
        n = unit.get("n", "")
        if n.isascii() and n.isdigit() and int(n) > MAX_NUMBER:
            self.problem(line, f"{xml_id}: n=“{n}” is not a document number Emend can store "
                               f"(at most {MAX_NUMBER})")
        errors: list[str] = []
        fields = _document_fields(unit, self.result.warnings, errors)
        for message in errors:
            self.problem(line, message)
        fields["part"] = _part_of(element)
        fields["matter"] = next((MATTERS[a.tag] for a in element.iterancestors()
                                 if a.tag in MATTERS), Document.Matter.BODY)
        return fields

    def _leave_placeholder(self, element: etree._Element, xml_id: str,
                           own: list[etree._Element] | None) -> None:
        """Keep the skeleton small while streaming: the unit lives on in its revision. A leaf
        is replaced whole; a container keeps its shell (the div without attributes) around the
        placeholders of its units, with its own content replaced by an emend-content mark."""
        if own is not None:  # a container: `own` is its content before its first unit
            mark = etree.ProcessingInstruction(CONTENT_PLACEHOLDER, xml_id)
            mark.tail = own[-1].tail if own else None  # else the text went with the unit
            for child in own:
                element.remove(child)
            element.attrib.clear()
            element.text = None
            element.insert(0, mark)
            return
        placeholder = etree.ProcessingInstruction(PLACEHOLDER, xml_id)
        placeholder.tail = element.tail
        element.getparent().replace(element, placeholder)

    def _finish(self, root: etree._Element) -> None:
        in_file = set(self.result.created + self.result.updated + self.result.unchanged)
        self.result.kept = sorted(set(self.existing) - in_file)
        skeleton = etree.tostring(root, encoding="unicode")
        if self.result.kept:
            self.result.warnings.append(
                f"{len(self.result.kept)} document(s) are not in the file and were kept: "
                + ", ".join(self.result.kept)
            )
            skeleton = _keep_placeholders(skeleton, self.edition.tei_skeleton, self.result.kept)
        moved = self._link_parents()
        self._check_rendering()
        self.edition.tei_skeleton = skeleton
        if self.result.created or moved:
            self.edition.contents_version += 1
        self.edition.save(update_fields=["tei_skeleton", "contents_version", "updated_at"])
        self.edition.touch()
        if self.result.created:
            # Other volumes' pages may cite this one's documents: their links change now.
            Edition.objects.exclude(pk=self.edition.pk).touch()
        revisions = Revision.objects.filter(
            document__edition=self.edition,
            document__xml_id__in=self.result.created + self.result.updated,
            current_of__isnull=False,
        ).values_list("pk", flat=True)
        tasks.enqueue_on_commit(tasks.warm_rendering, list(revisions))
        # Every unit: the persons list and the numbering the checks read may have changed.
        tasks.enqueue_on_commit(tasks.run_edition_checks, self.edition.pk)
        # The page rows follow the volume's pbs (edition/pages.py): a walk of every unit, so
        # in the worker, like the rendering.
        tasks.enqueue_on_commit(tasks.sync_pages, self.edition.pk)
        # Always, even if no document changed: the header or front matter may have. Documents
        # whose revision did not change are not rendered again.
        request_export(self.edition, f"Imported {self.filename}")

    def _link_parents(self) -> int:
        """Point each unit at its enclosing unit: known only once the enclosing one is read.
        Returns how many units moved (or were new)."""
        rows = self.edition.documents.values_list("xml_id", "pk", "parent_id")
        pk_of, have = {}, {}
        for xml_id, pk, parent_id in rows:
            pk_of[xml_id], have[xml_id] = pk, parent_id
        # By parent: one UPDATE per enclosing unit (a volume has tens of chapters, thousands
        # of documents), not a CASE of a branch per unit, which took longer to compile.
        moved: dict[int | None, list[int]] = {}
        for xml_id, parent in self.parents.items():
            if have.get(xml_id) != pk_of.get(parent):
                moved.setdefault(pk_of.get(parent), []).append(pk_of[xml_id])
        for parent_pk, pks in moved.items():
            for start in range(0, len(pks), 2000):  # a bounded IN (…)
                Document.objects.filter(pk__in=pks[start:start + 2000]).update(
                    parent_id=parent_pk)
        return sum(map(len, moved.values()))


def _own_content(div: etree._Element) -> list[etree._Element] | None:
    """A container's own content: the children before its first unit (a placeholder left by
    a nested unit, or a nested container's shell); None when the div holds no unit (a leaf).
    Content after the first unit stays in the skeleton, where the volume export keeps it."""
    own = []
    for child in div:
        if _is_unit_mark(child):
            return own
        own.append(child)
    return None


def _is_unit_mark(node: etree._Element) -> bool:
    if isinstance(node, etree._ProcessingInstruction):
        return node.target == PLACEHOLDER
    return len(node) > 0 and isinstance(node[0], etree._ProcessingInstruction) and (
        node[0].target == CONTENT_PLACEHOLDER)


def _unit_element(div: etree._Element, own: list[etree._Element]) -> etree._Element:
    """A container's revision: the div's attributes and its own content, nothing nested."""
    unit = etree.Element(div.tag, attrib=dict(div.attrib), nsmap=div.nsmap)
    unit.text = div.text
    for child in own:
        unit.append(copy.deepcopy(child))
    if own:
        unit[-1].tail = None
    return unit


def split_units(edition: Edition, *, by=None) -> ImportResult:
    """Give an edition imported before whole volumes its front matter, chapters and appendices
    as units: its current text (the volume export, every approved correction in it) is read
    again as a re-import. Documents come back as they are and gain no revision; only the
    parts that were kept in the skeleton become units."""
    from .exporting.sources import load_volume
    from .exporting.tei import volume

    source = volume(load_volume(edition), record=False)
    with transaction.atomic():
        importer = _Importer(f"{edition.slug} (current text)", by=by, update=True)
        result = importer.run(io.BytesIO(source))
        if result.updated:  # the text read back differs: never expected, never silent
            raise TEIError(f"{edition.slug}: reading the current text back would change "
                           f"{', '.join(result.updated)}; nothing was written")
    return result


def _report_gate(document: Document, warnings: list[str], *, render: bool = True) -> bool:
    """Put the gate's verdict on the document's new revision into the import's report
    (`render=False`: its TEI checks only); whether it passed."""
    revision = document.current_revision
    try:
        check_candidate(revision.tei, document, number=revision.number, keep=True,
                        element=revision.element, like=revision, render=render)
    except GateError as exc:
        if exc.code == "no-schema":
            if exc.message not in warnings:
                warnings.append(exc.message)
        else:
            warnings.append(f"{document.xml_id}: {exc.message}")
        return False
    return True


def create_document(edition, xml_id, tei_xml, fields, *, order, by, summary) -> Document:
    (document,) = create_documents(edition, [(xml_id, tei_xml, fields, order)], by=by,
                                   summary=summary)
    return document


def create_documents(edition, units: list[tuple[str, str, dict, int]], *, by,
                     summary) -> list[Document]:
    """New documents, each `(xml_id, tei_xml, fields, order)` with its revision 1 and its
    search entries: one statement per table (a COPY on PostgreSQL: edition/bulk.py)."""
    documents = [Document(edition=edition, xml_id=xml_id, order=order, **fields)
                 for xml_id, _tei, fields, order in units]
    change = RevisionChange(kind="import").to_json()
    revisions = [Revision(number=1, tei=tei_xml, author=by, summary=summary, change=change)
                 for _id, tei_xml, _fields, _order in units]
    for revision in revisions:
        revision.derive()  # a bulk insert calls no save()
    # One transaction even when the caller has none: no document without its revision or
    # its search entries.
    with transaction.atomic():
        if bulk.reserve(Document, documents) and bulk.reserve(Revision, revisions):
            # Each document written pointing at its revision, written next: the foreign keys
            # are checked at the commit (Django makes them DEFERRABLE INITIALLY DEFERRED), so
            # both in one transaction even when the caller has none (autocommit would check
            # each statement).
            for document, revision in zip(documents, revisions):
                revision.document = document
                document.current_revision = revision
            bulk.insert(Document, documents)
            bulk.insert(Revision, revisions)
        else:
            Document.objects.bulk_create(documents)
            for document, revision in zip(documents, revisions):
                revision.document = document
            Revision.objects.bulk_create(revisions)
            for document, revision in zip(documents, revisions):
                document.current_revision = revision
            # Each new document's one revision, in one UPDATE whatever the batch (bulk_update
            # would compile a CASE of a branch per document).
            Document.objects.filter(pk__in=[d.pk for d in documents]).update(
                current_revision=Subquery(Revision.objects.filter(document=OuterRef("pk"))
                                          .values("pk")[:1]))
        bulk.insert(SearchEntry, [entry for document, revision in zip(documents, revisions)
                                  for entry in search.entries(document, revision)])
    return documents


def _header_metadata(header: etree._Element) -> dict:
    def first(xpath: str) -> str:
        found = header.xpath(xpath, namespaces={"t": TEI_NS})
        return _squash("".join(found[0].itertext())) if found else ""

    return {
        "title": first(".//t:titleStmt/t:title[@type='complete']") or first(".//t:title"),
        "series_title": first(".//t:titleStmt/t:title[@type='series']"),
        "subseries": first(".//t:titleStmt/t:title[@type='sub-series']"),
        "volume_number": first(".//t:titleStmt/t:title[@type='volume-number']"),
        "volume_title": first(".//t:titleStmt/t:title[@type='volume']"),
        "editors": [
            _squash("".join(e.itertext()))
            for e in header.xpath(".//t:titleStmt/t:editor[@role='primary']",
                                  namespaces={"t": TEI_NS})
        ],
        "publisher": first(".//t:publicationStmt/t:publisher"),
        "pub_place": first(".//t:publicationStmt/t:pubPlace"),
        "pub_date": first(".//t:publicationStmt/t:date[@type='publication-date']"),
        "idno": first(".//t:publicationStmt/t:idno[@type='frus']"),
    }


def _document_fields(element: etree._Element, warnings: list[str],
                     errors: list[str]) -> dict:
    """The row's fields a unit's div gives: number (documents only), title, dates, place."""
    xml_id = element.get(XML_ID)
    head = element.find(tei("head"))
    heading = text_of(head) if head is not None else ""
    div_type = element.get("type") or ""
    n = element.get("n", "")
    number = (int(n) if div_type == "document" and n.isascii() and n.isdigit()
              and int(n) <= MAX_NUMBER else None)
    title = re.sub(r"^\s*\d+\.\s*", "", heading) if number is not None else heading
    date_min, date_max = document_dates(element, warnings, errors)
    return {"number": number, "title": title[:1000] or xml_id, "date_min": date_min,
            "date_max": date_max, "div_type": div_type[:50], "place": dateline_place(element)}


def _part_of(element: etree._Element) -> str:
    """The head of the nearest enclosing division (the compilation: 'Japan', 'Korea')."""
    for ancestor in element.iterancestors(tei("div")):
        head = ancestor.find(tei("head"))
        if head is not None:
            return text_of(head)[:500]
    return ""


def _keep_placeholders(skeleton: str, old_skeleton: str, kept: list[str]) -> str:
    """A re-import of a partial file keeps the documents it lacks at the end of the volume."""
    root = etree.fromstring(skeleton.encode(), parser=safe_parser())
    body = root.find(f"{tei('text')}/{tei('body')}")
    for xml_id in kept:
        if f"<?{PLACEHOLDER} {xml_id}?>" not in skeleton and body is not None:
            body.append(etree.ProcessingInstruction(PLACEHOLDER, xml_id))
    return etree.tostring(root, encoding="unicode")


def _squash(text: str) -> str:
    return " ".join(text.split())


def _describe_syntax_error(filename: str, exc: etree.XMLSyntaxError) -> str:
    message = str(exc.msg or exc)
    line = exc.lineno or (exc.position[0] if exc.position else "?")
    if "encoding" in message.lower() or "utf-8" in message.lower():
        return (
            f"{filename}, line {line}: the bytes do not match the file's encoding "
            f"(UTF-8 unless the XML declaration says otherwise): {message}"
        )
    if "entity" in message.lower():
        return f"{filename}, line {line}: {message} (entities are not expanded on import)"
    return f"{filename}, line {line}: not well-formed XML: {message}"


# ------------------------------------------------------------------------------------------
# Plain text


def import_text(
    path: str | os.PathLike, *, edition: Edition, number: int | None = None, by=None,
    encoding: str = "utf-8",
) -> tuple[Document, list[str]]:
    """Turn a plain-text rendering of one document into a TEI document of `edition`.

    Returns the document and the importer's report. Raises TEIError, nothing written, when the
    file is unreadable, not in `encoding`, or a document with that id already exists.
    """
    path = Path(path)
    check_size(path)
    raw = path.read_bytes()
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise TEIError(
            f"{path.name}, line {line}: byte 0x{raw[exc.start]:02x} is not valid {encoding}; "
            "convert the file to UTF-8 or pass --encoding"
        ) from exc
    except LookupError as exc:
        raise TEIError(f"unknown encoding {encoding!r}") from exc
    parsed = parse_plaintext(text, number=number)
    element = parse_document_div(parsed.tei)
    with transaction.atomic():
        edition = Edition.objects.select_for_update().get(pk=edition.pk)
        if edition.documents.filter(xml_id=parsed.xml_id).exists():
            raise TEIError(
                f"{edition.slug} already has a document {parsed.xml_id}; corrections to it go "
                "through proposals, not a second import"
            )
        errors: list[str] = []
        fields = _document_fields(element, parsed.report, errors)
        if errors:
            raise TEIError(f"{path.name}: " + "; ".join(errors))
        preceding, following = _neighbours(edition, parsed.number)
        order = _make_room(edition, preceding, following)
        # It stands in the chapter of the document before it (or after it, if first).
        neighbour = preceding or following
        fields["part"] = neighbour.part if neighbour else ""
        fields["parent_id"] = neighbour.parent_id if neighbour else None
        if preceding and following and following.parent_id != preceding.parent_id:
            following = None  # the next document opens another chapter: not before it
        document = create_document(edition, parsed.xml_id, parsed.tei, fields, order=order,
                                   by=by, summary=f"Imported from plain text {path.name}")
        _store_findings(document, parsed.findings)
        # One document: its checks run here, so the report can name what they found.
        found = checks_run.run_document(document)
        parsed.report.extend(f"Suggestion ({s.check_name}): {s.explanation}" for s in found)
        _report_gate(document, parsed.report)
        edition.tei_skeleton = _insert_placeholder(
            edition.tei_skeleton, parsed.xml_id,
            after=preceding.xml_id if preceding else None,
            before=following.xml_id if following else None,
        )
        edition.contents_version += 1  # links to d143 from other documents now resolve
        edition.save(update_fields=["tei_skeleton", "contents_version", "updated_at"])
        edition.touch()
        tasks.enqueue_on_commit(tasks.warm_rendering, [document.current_revision_id])
        tasks.enqueue_on_commit(tasks.sync_pages, edition.pk)  # its pbs renumber the pages
        request_export(edition, f"Imported {path.name} as {parsed.xml_id}")
    return document, parsed.report


def _store_findings(document: Document, found) -> None:
    from .ownparts import forget

    forget([document.pk])  # bulk_create sends no signal: a proposer's cached parts
    Suggestion.objects.bulk_create(
        Suggestion(document=document, revision=document.current_revision,
                   check_name=f.check, change=f.change, note_id=f.note_id, exact=f.exact,
                   prefix=f.prefix, suffix=f.suffix, replacement=f.replacement,
                   fragment=f.fragment, placement=f.placement, explanation=f.explanation)
        for f in found)


def _neighbours(edition: Edition, number: int) -> tuple[Document | None, Document | None]:
    """The numbered documents just before and just after `number`."""
    documents = edition.documents.filter(div_type="document", number__isnull=False)
    return (documents.filter(number__lt=number).order_by("-number", "-order").first(),
            documents.filter(number__gt=number).order_by("number", "order").first())


# Above any order a volume reaches: rows moved out of the way and back in two statements.
_ORDER_SHIFT = 1_000_000_000


def _make_room(edition: Edition, preceding: Document | None,
               following: Document | None) -> int:
    """The order for a new document right after `preceding` (or right before `following`),
    moving every later unit down one."""
    if preceding is None and following is None:
        return (edition.documents.aggregate(m=Max("order"))["m"] or 0) + 1
    position = preceding.order + 1 if preceding else following.order
    # Two statements keep the unique (edition, order) constraint true at every row, however
    # large the volume (one UPDATE per row was 50,000 statements at the front of a big one).
    edition.documents.filter(order__gte=position).update(order=F("order") + _ORDER_SHIFT)
    edition.documents.filter(order__gte=_ORDER_SHIFT).update(
        order=F("order") - _ORDER_SHIFT + 1)
    return position


def _insert_placeholder(skeleton: str, xml_id: str, *, after: str | None,
                        before: str | None) -> str:
    root = etree.fromstring(skeleton.encode(), parser=safe_parser())
    placeholder = etree.ProcessingInstruction(PLACEHOLDER, xml_id)
    by_id = {pi.text: pi for pi in _placeholders(root)}
    # Before the next document rather than after the previous one: page breaks between two
    # documents open the page the later one starts on.
    if before in by_id:
        by_id[before].addprevious(placeholder)
        placeholder.tail = by_id[before].tail
    elif after in by_id:
        placeholder.tail = by_id[after].tail
        by_id[after].addnext(placeholder)
    else:
        body = root.find(f"{tei('text')}/{tei('body')}")
        (body if body is not None else root).append(placeholder)
    return etree.tostring(root, encoding="unicode")


def _placeholders(root: etree._Element) -> Iterator[etree._Element]:
    for node in root.iter(etree.ProcessingInstruction):
        if node.target == PLACEHOLDER:
            yield node
