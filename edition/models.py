"""Editions, documents and their immutable revisions.

A revision's TEI is canonical; its text layer and checksum are derived once, when it is created,
and never change (database triggers refuse UPDATE and DELETE on revisions).
"""

from __future__ import annotations

import hashlib
import re
from functools import cached_property

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models, transaction
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from lxml import etree

from . import checks, signals, tasks
from .changes import RevisionChange
from .tei import textlayer
from .tei.notes import Footnote, collect_footnotes
from .tei.metadata import document_dates
from .tei.parsing import parse_document_div

# Top-level URL segments an edition slug must not take.
RESERVED_SLUGS = frozenset({"admin", "accounts", "static", "media", "api", "review", "healthz",
                            "search"})


def validate_slug_not_reserved(value: str) -> None:
    if value.lower() in RESERVED_SLUGS:
        raise ValidationError(f"“{value}” is reserved for the site's own pages")


# Address segments under an edition that are Emend's own pages (edition/urls.py, review/urls.py):
# a unit with one of these ids could never be reached, so the importer refuses it.
# tests/edition/test_volumes.py checks every literal segment of the URL patterns is here.
RESERVED_UNIT_IDS = frozenset({"exports", "corrections", "search", "suggestions",
                               "batches", "iiif", "pages"})


# The units holding the volume's List of Persons and of Abbreviations (edition/registers.py
# REGISTERS): every reading page shows the entries it mentions from their current revision.
REGISTER_UNITS = frozenset({"persons", "terms"})


class EditionQuerySet(models.QuerySet):
    def without_tei(self) -> EditionQuerySet:
        """Editions without their header and skeleton (the skeleton of a whole volume passes a
        megabyte): what every page and every per-revision loop needs. Both load on access."""
        return self.defer("tei_skeleton", "tei_header")

    def touch(self) -> None:
        """Mark these editions changed (one UPDATE however many): see `_touch`."""
        _touch(self, list(self.values_list("slug", flat=True)))


def _touch(editions: EditionQuerySet, slugs: list[str]) -> None:
    """A new stamp in the database, the cached ones dropped.

    Dropped now and again once the change commits: a reader between the two may have cached
    the old stamp from the database, and dropping (never setting) it means a stamp from a
    transaction that rolled back is never pinned.
    """
    keys = [Edition.stamp_key(slug) for slug in slugs]
    editions.update(updated_at=timezone.now())
    cache.delete_many(keys)
    transaction.on_commit(lambda: cache.delete_many(keys))


class Edition(models.Model):
    """A volume, e.g. frus1958-60v18."""

    # FRUS ids keep their case in addresses (frus1944Quebec); two may not differ only by case,
    # and lookups ignore case (config/middleware.py redirects to this spelling).
    slug = models.CharField(
        max_length=100,
        unique=True,
        validators=[
            RegexValidator(r"^[A-Za-z0-9][A-Za-z0-9-]*$", "letters, digits and hyphens"),
            validate_slug_not_reserved,
        ],
    )
    title = models.CharField(max_length=500, help_text="The complete title")
    series_title = models.CharField(max_length=300, blank=True)
    subseries = models.CharField(max_length=100, blank=True)
    volume_number = models.CharField(max_length=100, blank=True)
    volume_title = models.CharField(max_length=300, blank=True)
    editors = models.JSONField(default=list, blank=True, help_text="Names of the primary editors")
    publisher = models.CharField(max_length=300, blank=True)
    pub_place = models.CharField(max_length=200, blank=True)
    pub_date = models.CharField(max_length=50, blank=True)
    tei_header = models.TextField(help_text="The volume's teiHeader, verbatim")
    # The volume's TEI with every document div replaced by <?emend-document dNNN?>: front matter,
    # compilation heads and page breaks between documents survive for the volume export.
    tei_skeleton = models.TextField()
    upstream_url = models.CharField(
        max_length=300, blank=True,
        help_text="Where documents cited from other volumes (or missing here) live, with "
                  "{volume} and {document}, e.g. "
                  "https://history.state.gov/historicaldocuments/{volume}/{document}",
    )
    # Bumped whenever the set of units changes (an import): rendered links to other units
    # depend on it (edition/rendering.py keys its cache by it).
    contents_version = models.PositiveIntegerField(default=1)
    required_approvals = models.PositiveSmallIntegerField(
        default=1, help_text="Approvals from distinct reviewers before a proposal applies"
    )
    # Names of the checks (edition/checks/) this edition turns off: they record nothing here
    # and their open suggestions are not shown.
    disabled_checks = models.JSONField(
        default=list, blank=True,
        help_text="Checks turned off for this edition, by name (see the suggestions page)")
    # Page images of a volume whose TEI has no <facsimile> (issue 11): an address per `pb`,
    # with {volume} (the slug), {facs} (pb/@facs) and {n} (pb/@n). FRUS's medium PNGs are
    # https://static.history.state.gov/frus/{volume}/medium/{facs}.png
    facsimile_url = models.CharField(
        max_length=500, blank=True,
        help_text="Page image address with {volume}, {facs} and {n}, for a TEI without "
                  "<facsimile>")
    facsimile_full_url = models.CharField(
        max_length=500, blank=True,
        help_text="The full-size image's address, with the same fields (optional)")
    # Hosts the server may fetch remote page images from (for OCR only: readers' browsers
    # load them directly). Empty: the server fetches nothing remote.
    facsimile_hosts = models.JSONField(
        default=list, blank=True,
        help_text="Hosts the server may fetch page images from for OCR, e.g. "
                  "[\"static.history.state.gov\"]")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = EditionQuerySet.as_manager()

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.UniqueConstraint(Lower("slug"), name="edition_slug_unique_ignoring_case"),
            models.CheckConstraint(condition=Q(required_approvals__gte=1),
                                   name="edition_required_approvals_positive"),
        ]

    def __str__(self) -> str:
        return self.title or self.slug

    def clean(self) -> None:
        """The admin's form: `disabled_checks` is a list of the checks' names."""
        value, known = self.disabled_checks, checks.names()
        if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
            raise ValidationError({"disabled_checks": "a list of check names, e.g. "
                                                      '["doubled-word"]'})
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise ValidationError({"disabled_checks": f"no check named {', '.join(unknown)}; "
                                                      f"the checks are {', '.join(known)}"})

    def get_absolute_url(self) -> str:
        return reverse("edition:toc", args=[self.slug])

    @property
    def short_title(self) -> str:
        """'1958–1960, Japan; Korea, Volume XVIII' as history.state.gov lists volumes."""
        parts = [self.subseries, self.volume_title, self.volume_number]
        return ", ".join(p for p in parts if p) or self.title

    @property
    def citation_tail(self) -> str:
        """What follows the italic title in a Chicago-style citation: editors and imprint."""
        eds = " and ".join(self.editors)
        where = ": ".join(p for p in [self.pub_place, self.publisher_short] if p)
        imprint = ", ".join(p for p in [where, self.pub_date] if p)
        return (f", eds. {eds}" if eds else "") + (f" ({imprint})" if imprint else "")

    @property
    def publisher_short(self) -> str:
        return self.publisher.removeprefix("United States ").strip()

    @staticmethod
    def stamp_key(slug: str) -> str:
        """Cache key of the edition's stamp (edition/pagecache.py keys pages by it)."""
        return f"emend:stamp:{slug}"

    @staticmethod
    def exports_key(slug: str) -> str:
        """Cache key of the stamp of the edition's current export builds (its exports page)."""
        return f"emend:exportstamp:{slug}"

    def touch(self) -> None:
        """Mark the edition changed (`_touch`; its slug is at hand, so no query for it)."""
        _touch(Edition.objects.filter(pk=self.pk), [self.slug])


class DocumentQuerySet(models.QuerySet):
    def with_current(self) -> DocumentQuerySet:
        # The volume skeleton and the revision's TEI are large and rarely needed by a page
        # (rendered HTML comes from the cache): they load on first access.
        return self.select_related("current_revision", "edition").defer(
            "edition__tei_skeleton", "edition__tei_header",
            "current_revision__tei", "current_revision__text",
        )


_XML_NAME = r"[A-Za-z_][\w.-]*"  # what a unit's xml:id must be: an XML name the addresses take


class Document(models.Model):
    """A unit of an edition: every `div` that history.state.gov shows as a page. Most are FRUS
    documents (`div type="document"`); the others are front matter sections (Preface, Sources,
    Persons), compilations and chapters (their heading and introduction: the documents inside
    are units of their own, `parent` points up), and appendix items. All are corrected through
    the same proposals; `is_document` tells the numbered documents from the rest."""

    ID_PATTERN = re.compile(_XML_NAME)  # an XML name, as the addresses take it

    class Matter(models.TextChoices):
        FRONT = "front", "Front matter"
        BODY = "body", "Body"
        BACK = "back", "Back matter"

    edition = models.ForeignKey(Edition, on_delete=models.PROTECT, related_name="documents")
    xml_id = models.CharField(
        max_length=100, validators=[RegexValidator(f"^{_XML_NAME}$", "an XML name")]
    )
    number = models.PositiveIntegerField(null=True, blank=True)
    title = models.CharField(max_length=1000)
    part = models.CharField(max_length=500, blank=True, help_text="The compilation it stands in")
    matter = models.CharField(max_length=5, choices=Matter.choices, default=Matter.BODY)
    div_type = models.CharField(max_length=50, default="document", help_text="The div's @type")
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="children", help_text="The enclosing unit")
    place = models.CharField(max_length=300, blank=True, help_text="From the dateline")
    date_min = models.DateTimeField(null=True, blank=True)
    date_max = models.DateTimeField(null=True, blank=True)
    order = models.PositiveIntegerField(help_text="Position in the volume")
    current_revision = models.OneToOneField(
        "Revision",
        on_delete=models.PROTECT,
        related_name="current_of",
        null=True,  # only between creating the document and its first revision
        blank=True,
    )

    objects = DocumentQuerySet.as_manager()

    class Meta:
        ordering = ["edition", "order"]
        # The contents of a volume of 50,000 (edition/contents.py): a matter's units in order,
        # the containers in order, and the documents counted by parent from the index alone;
        # and search's date range.
        indexes = [
            models.Index(fields=["edition", "matter", "order"], name="document_matter_order"),
            models.Index(fields=["edition", "order"], condition=~Q(div_type="document"),
                         name="document_container_order"),
            models.Index(fields=["edition", "div_type", "parent", "matter"],
                         name="document_counts"),
            # Search's date range (edition/search.py Filters): an edition's units whose span
            # overlaps the range, date_min <= to and date_max >= from. date_min bounds the scan;
            # date_max is checked from the index without reading the rows.
            models.Index(fields=["edition", "date_min", "date_max"],
                         name="document_edition_dates"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["edition", "xml_id"], name="document_id_unique"),
            models.UniqueConstraint(fields=["edition", "order"], name="document_order_unique"),
            models.CheckConstraint(
                condition=Q(date_min__isnull=True)
                | Q(date_max__isnull=True)
                | Q(date_min__lte=F("date_max")),
                name="document_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number}. {self.title}" if self.number else self.title

    def get_absolute_url(self) -> str:
        return reverse("edition:document", args=[self.edition.slug, self.xml_id])

    @property
    def label(self) -> str:
        return f"Document {self.number}" if self.number else (self.title or self.xml_id)

    @property
    def heading(self) -> str:
        """"Document 142: Memorandum of Conversation"; "Preface" for a page without a number."""
        return f"{self.label}: {self.title}" if self.number else self.label

    @property
    def is_document(self) -> bool:
        return self.div_type == "document"

    def settle_current_revision(self) -> None:
        """After a locking read that joined the current revision (`select_for_update` with
        `select_related("current_revision")`): read it on its own when the join missed it.
        A row changed by another transaction while the lock was awaited is read as that
        transaction left it, but the rows joined to it are read as they were when the
        statement began, before its new revision existed (PostgreSQL's READ COMMITTED)."""
        wanted = self.current_revision_id
        if wanted is not None and getattr(self.current_revision, "pk", None) != wanted:
            self.current_revision = Revision.objects.get(pk=wanted)

    @staticmethod
    def stamp_key(slug: str, xml_id: str) -> str:
        """Cache key of the unit's stamp (edition/pagecache.py keys its page by it)."""
        return f"emend:ustamp:{slug}:{xml_id}"

    @staticmethod
    def dates_key(slug: str) -> str:
        """Cache key of the stamp of the edition's units' dates (the contents show them)."""
        return f"emend:datestamp:{slug}"

    @staticmethod
    def revisions_key(slug: str) -> str:
        """Cache key of the stamp of the edition's revisions (its corrections log)."""
        return f"emend:revstamp:{slug}"

    @staticmethod
    def retire(keys: list[str]) -> None:
        """Drop these stamps, now and again once the change commits (`_touch`'s reasoning: a
        reader in between may have cached the old stamp from the database)."""
        cache.delete_many(keys)
        transaction.on_commit(lambda: cache.delete_many(keys))

    def add_revision(self, tei_xml: str, *, by, summary: str,
                     change: RevisionChange | None = None,
                     candidate: Revision | None = None) -> Revision:
        """Append a revision and make it current, then send `signals.revision_added` (the review
        app re-anchors open proposals across a revision without a step map) and, once the
        transaction commits, have the worker re-run the checks. The caller holds the
        transaction (and, for an approval, the document's row lock). `candidate`: the gate's
        unsaved revision of the same TEI, whose parsed tree and text layer are reused."""
        parent = self.current_revision
        change = change or RevisionChange(kind="edit")
        revision = Revision(
            document=self, number=parent.number + 1, parent=parent, tei=tei_xml, author=by,
            summary=summary, change=change.to_json(),
        )
        if candidate is not None and candidate.tei == tei_xml:
            revision.reuse(candidate)
        revision.save(force_insert=True)
        self.current_revision = revision
        # The row's dates follow the div's attributes (the import's rule), whatever changed them.
        dates = self.date_min, self.date_max
        self.date_min, self.date_max = document_dates(revision.element)
        self.save(update_fields=["current_revision", "date_min", "date_max"])
        # Only this unit's cached page is retired (edition/pagecache.py), and its parent's when
        # the dates its list of children shows moved: never the edition's other pages.
        slug = self.edition.slug
        retired = [Document.stamp_key(slug, self.xml_id), Document.revisions_key(slug)]
        if dates != (self.date_min, self.date_max):  # the contents and the chapter list them
            retired.append(Document.dates_key(slug))
            if self.parent_id is not None:
                retired += [Document.stamp_key(slug, xml_id) for xml_id in Document.objects
                            .filter(pk=self.parent_id).values_list("xml_id", flat=True)]
        # A proposer's cached parts (edition/ownparts.py): the open proposals are rebased and
        # re-anchored in this transaction (bulk updates), the suggestions placed on new text.
        from .ownparts import unit_key
        Document.retire([*retired, unit_key(self.pk)])
        from . import search  # imports this module
        search.index(self, revision)  # same transaction: no search finds text no longer here
        if self.xml_id in REGISTER_UNITS:
            # Every page embeds the entries of the persons and terms it mentions: all change.
            self.edition.touch()
        signals.revision_added.send(sender=Document, document=self, revision=revision,
                                    change=change)
        # In the worker, never delaying this: the page just retired rendered again (its next
        # reader does not render it: edition/warming.py), then the checks re-run.
        tasks.enqueue_on_commit(tasks.after_revision, self.pk, revision.pk)
        from .pages import begins_on_own_page_moved, page_breaks_moved  # imports this module
        if page_breaks_moved(parent.tei, revision.tei) or begins_on_own_page_moved(parent,
                                                                                revision):
            # The page rows follow the pbs (a whole-volume walk, so in the worker); an
            # approval that leaves them alone costs one scan of the two TEI strings.
            tasks.enqueue_on_commit(tasks.sync_pages, self.edition_id)
        return revision


class RevisionQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("revisions are immutable")

    def delete(self):
        raise TypeError("revisions are immutable; history is never deleted")


# What a revision derives from its TEI and keeps while it is held (`release` forgets them).
_DERIVED = ("element", "layer", "footnotes", "note_texts")


class Revision(models.Model):
    """An immutable state of a document's TEI."""

    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="revisions")
    number = models.PositiveIntegerField()
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    tei = models.TextField(help_text="The document's div element, serialised")
    text = models.TextField(help_text="The text layer derived from the TEI")
    checksum = models.CharField(max_length=64, help_text="SHA-256 of the TEI")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    summary = models.CharField(max_length=500, help_text="What produced this revision")
    # The change that produced it: an edition.changes.RevisionChange, read through `record`.
    change = models.JSONField(default=dict, blank=True)

    objects = RevisionQuerySet.as_manager()

    class Meta:
        ordering = ["document", "number"]
        get_latest_by = "number"
        constraints = [
            models.UniqueConstraint(fields=["document", "number"], name="revision_number_unique"),
            models.CheckConstraint(condition=Q(number__gte=1), name="revision_number_positive"),
            models.CheckConstraint(
                condition=Q(number=1, parent__isnull=True) | Q(number__gt=1, parent__isnull=False),
                name="revision_parent_iff_not_first",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.document.xml_id} r{self.number}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise TypeError("revisions are immutable")
        self.derive()
        super().save(*args, **kwargs)

    def derive(self) -> None:
        """The derived columns (the text layer, the checksum) from the TEI, as `save` writes
        them; the importer calls it itself before a `bulk_create`, which calls no `save`."""
        if "element" not in self.__dict__:  # parsed once: the caller (add_revision) reads it
            self.element = parse_document_div(self.tei)
        self.text = self.layer.text  # and the layer, built once, serves the rebase after
        self.checksum = hashlib.sha256(self.tei.encode("utf-8")).hexdigest()

    def release(self) -> None:
        """Forget the parsed tree and text layer: a volume's worth of them is large."""
        self.__dict__.pop("element", None)
        for name in _DERIVED:
            self.__dict__.pop(name, None)
        self.__dict__.pop("export_html", None)  # exporting/html.py `tokened`

    def reuse(self, other: Revision) -> None:
        """Take `other`'s parsed tree and text layer (an unsaved revision of the same TEI,
        as the gate made it): nothing is parsed or derived twice."""
        for name in _DERIVED:
            if name in other.__dict__:
                self.__dict__[name] = other.__dict__[name]

    def delete(self, *args, **kwargs):
        raise TypeError("revisions are immutable; history is never deleted")

    def get_absolute_url(self) -> str:
        doc = self.document
        return reverse("edition:revision", args=[doc.edition.slug, doc.xml_id, self.number])

    @cached_property
    def element(self) -> etree._Element:
        return parse_document_div(self.tei)

    @cached_property
    def layer(self) -> textlayer.TextLayer:
        return textlayer.build(self.element)

    @cached_property
    def footnotes(self) -> list[Footnote]:
        """`collect_footnotes` of the tree: both renderers, the JSON export and the search
        index list them."""
        return collect_footnotes(self.element)

    @cached_property
    def note_texts(self) -> list[str]:
        """Each footnote's own text layer, in the order of `footnotes` (the search index, the
        JSON export)."""
        return [textlayer.text_of(fn.element) for fn in self.footnotes]

    @cached_property
    def record(self) -> RevisionChange:
        """What this revision changed (steps, footnotes, approvers), typed."""
        return RevisionChange.from_json(self.change)

    @property
    def is_current(self) -> bool:
        return self.document.current_revision_id == self.pk


# A suggestion neither dismissed nor made into a proposal: still waiting for an editor.
_OPEN = Q(dismissed_at__isnull=True, proposed_at__isnull=True)


class SuggestionQuerySet(models.QuerySet):
    def open(self) -> SuggestionQuerySet:
        """Neither dismissed nor made into a proposal: still waiting for an editor."""
        return self.filter(_OPEN)

    def settled(self) -> SuggestionQuerySet:
        """Dismissed or proposed: remembered, so that a run of the checks never records the
        same finding again (the proposal's review decides it now)."""
        return self.exclude(_OPEN)

    def with_is_open(self) -> SuggestionQuerySet:
        """Each row with `is_open` (as `open()` selects them): both kinds in one read."""
        return self.annotate(is_open=_OPEN)

    def of_checks(self) -> SuggestionQuerySet:
        """The checks' suggestions (edition/checks/), not the plain-text import's."""
        return self.filter(check_name__in=checks.names())

    def enabled_in(self, edition: Edition) -> SuggestionQuerySet:
        """Without those of the checks the edition turned off."""
        return self.exclude(check_name__in=edition.disabled_checks or [])


def suggestion_checks() -> list[tuple[str, str]]:
    return [*Suggestion.Check.choices, *checks.choices()]


class Suggestion(models.Model):
    """A machine finding about a document, with the change that would fix it: not a proposal
    until an editor makes it one. Written by the importer (`edition.tei.findings.Finding`) and
    by the checks (edition/checks/run.py), which replace their open ones on each run;
    the quote is on `revision`'s text layer, or on footnote `note_id`'s own layer. `change`
    is "" when there is no fix to offer. A dismissed suggestion stays, so that no run
    records it again."""

    class Check(models.TextChoices):
        """The plain-text import's findings; the checks add their own names."""

        DATELINE = "dateline", "No dateline"
        SIGNATURE = "signature", "Signature kept as a paragraph"
        LIST_ITEMS = "list-items", "List without entries"
        # The OCR cross-check (issue 11): the page image reads otherwise than the text.
        OCR = "ocr", "The page image reads otherwise"
        # A renderer fails on the revision a volume's import stored (edition/gate.py
        # check_rendering, in the worker after the import): no fix to offer, a finding to read.
        RENDER = "render", "A page or an export cannot be made from it"

    class Kind(models.TextChoices):
        IMPORT = "import", "From the import"
        CHECK = "check", "From a check"
        OCR = "ocr", "From the page image's OCR"

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="suggestions")
    revision = models.ForeignKey(Revision, on_delete=models.CASCADE, related_name="+")
    check_name = models.CharField(max_length=20, choices=suggestion_checks)
    change = models.CharField(max_length=20, help_text="The kind of proposal the fix takes")
    note_id = models.CharField(max_length=100, blank=True)
    exact = models.TextField(blank=True)
    prefix = models.CharField(max_length=64, blank=True)
    suffix = models.CharField(max_length=64, blank=True)
    replacement = models.TextField(blank=True)
    fragment = models.TextField(blank=True, help_text="TEI of the blocks, for a structural fix")
    placement = models.CharField(max_length=10, default="replace")
    explanation = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    dismissed_at = models.DateTimeField(null=True, blank=True)
    dismissed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                     null=True, blank=True, related_name="+")
    # Made into a proposal in one click (review/views/suggestions.py): not offered again.
    proposed_at = models.DateTimeField(null=True, blank=True)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+")
    # OCR evidence (check_name "ocr"): the page image, the OCR's mean word confidence (0–100)
    # and the disagreeing words' box [x, y, w, h] in that image's pixels.
    page = models.ForeignKey("PageImage", on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="suggestions")
    confidence = models.FloatField(null=True, blank=True)
    region = models.JSONField(null=True, blank=True)

    objects = SuggestionQuerySet.as_manager()

    class Meta:
        ordering = ["document", "pk"]

    def __str__(self) -> str:
        return f"{self.document.xml_id}: {self.explanation}"

    @property
    def kind(self) -> str:
        if self.check_name == self.Check.OCR:
            return self.Kind.OCR
        return self.Kind.CHECK if self.check_name in checks.names() else self.Kind.IMPORT

    @property
    def has_fix(self) -> bool:
        return bool(self.change)

    @property
    def check_label(self) -> str:
        return self.get_check_name_display()

    @property
    def check_explanation(self) -> str:
        """What the check looks for, for the editor ("" for the import's findings)."""
        check = checks.get(self.check_name)
        return check.explanation if check else ""

    def mark_proposed(self, *, by) -> None:
        """Made into a proposal: the caller holds the proposal's transaction."""
        self.proposed_at, self.proposed_by = timezone.now(), by
        self.save(update_fields=["proposed_at", "proposed_by"])

    def dismiss(self, *, by) -> None:
        """Dismissed for good: it is never offered again."""
        if self.dismissed_at is None:
            self.dismissed_at, self.dismissed_by = timezone.now(), by
            self.save(update_fields=["dismissed_at", "dismissed_by"])


class Membership(models.Model):
    """A person's role in one edition. Roles grow: a reviewer may propose, an admin may review."""

    class Role(models.TextChoices):
        EDITOR = "editor", "Editor"
        REVIEWER = "reviewer", "Reviewer"
        ADMIN = "admin", "Edition admin"

    edition = models.ForeignKey(Edition, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["edition", "user"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} of {self.edition.slug}"


class ExportRequest(models.Model):
    """The outbox: written in the transaction that changes an edition's text (an approval, an
    import), so no change can commit without its export being asked for. A build takes every
    pending request of its edition at once (coalescing); the sweep re-sends lost messages."""

    edition = models.ForeignKey(Edition, on_delete=models.CASCADE, related_name="export_requests")
    group = models.CharField(max_length=20, default="text", help_text="Which formats")
    reason = models.CharField(max_length=300)
    full = models.BooleanField(default=False, help_text="Re-render every document's fragments")
    created_at = models.DateTimeField(auto_now_add=True)
    build = models.ForeignKey("ExportBuild", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="requests", help_text="The build that took it")

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["edition", "group", "build"],
                                name="export_request_pending")]

    def __str__(self) -> str:
        return f"{self.edition.slug}: {self.reason}"


class ExportBuild(models.Model):
    """One build of an edition's export files of one group of formats ("text": TEI, HTML,
    plain text, JSON, EPUB, seconds for a volume; "print": PDF, minutes), so a slow PDF never
    holds back the others. Files go beside the previous build's; `current` marks the build of
    each group that readers download, switched in one transaction once all its files exist."""

    class Status(models.TextChoices):
        BUILDING = "building", "Building"
        COMPLETE = "complete", "Complete"
        FAILED = "failed", "Failed"
        # Its worker stopped beating and the next claim took its requests: not a failure of
        # the build itself, so the sweep does not back off from its group.
        ABANDONED = "abandoned", "Taken over"

    edition = models.ForeignKey(Edition, on_delete=models.CASCADE, related_name="export_builds")
    group = models.CharField(max_length=20, default="text")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.BUILDING)
    current = models.BooleanField(default=False)
    superseded_at = models.DateTimeField(null=True, blank=True,
                                         help_text="When a newer build replaced it (pruning)")
    # What every file depends on besides the revisions (site address, header, format
    # versions): a build with another fingerprint re-renders everything.
    fingerprint = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    heartbeat_at = models.DateTimeField(auto_now_add=True,
                                        help_text="Last sign of life of the worker building it")
    finished_at = models.DateTimeField(null=True, blank=True)
    # A failed build's error; a complete one's units left out, and why (exporting/builds.py).
    error = models.TextField(blank=True)
    # Document id → revision number: what every file of the build was made from.
    sources = models.JSONField(default=dict, blank=True)
    rendered = models.PositiveIntegerField(default=0,
                                           help_text="Document files written (the rest reused)")
    reused = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-pk"]
        indexes = [models.Index(fields=["edition", "group", "status"],
                                name="export_build_status")]
        constraints = [
            models.UniqueConstraint(fields=["edition", "group"], condition=Q(current=True),
                                    name="export_build_one_current"),
            models.CheckConstraint(condition=~Q(current=True) | Q(status="complete"),
                                   name="export_build_current_is_complete"),
        ]

    def __str__(self) -> str:
        return f"{self.edition.slug} build {self.pk} ({self.status})"


class ExportFile(models.Model):
    """A file of a build, in storage under `name`. A document file whose revision did not
    change is not rewritten: the new build's row names the earlier build's file."""

    build = models.ForeignKey(ExportBuild, on_delete=models.CASCADE, related_name="files")
    format = models.CharField(max_length=10)
    document = models.ForeignKey(Document, null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="export_files", help_text="Empty: the volume")
    revision = models.PositiveIntegerField(null=True, blank=True)
    name = models.CharField(max_length=500, help_text="Storage name")
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    format_version = models.PositiveSmallIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["build", "format", "document"],
                                    name="export_file_unique"),
            models.UniqueConstraint(fields=["build", "format"], condition=Q(document=None),
                                    name="export_volume_file_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class ExportFragment(models.Model):
    """One document's rendered piece of an export format (exporting/sources.py `fragment`),
    kept for good: content-addressed by `key`, the hash of everything the piece depends on
    (format, its version and the renderer's, the site's address, the edition, the unit's id,
    number and title, the revision's checksum), so the same key is always the same text. The
    gate stores the pieces of every revision it lets through (an approval, an import), and a
    build assembles its files from them instead of rendering again; a piece the store lacks
    is rendered and stored by the build that needs it."""

    key = models.CharField(max_length=64, primary_key=True)
    edition = models.ForeignKey(Edition, on_delete=models.CASCADE, related_name="+")
    # The revision's checksum: pruning drops the pieces of revisions no longer current.
    checksum = models.CharField(max_length=64)
    format = models.CharField(max_length=10)
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["edition", "checksum"], name="export_fragment_rev")]

    def __str__(self) -> str:
        return f"{self.format} {self.checksum[:12]}"


class PendingRenderCheck(models.Model):
    """A revision a volume's import stored without rendering it (gate.check_rendering runs in
    the worker after the commit). The row is written in the import's transaction and deleted
    by the check, so a lost message or a dead worker leaves it here for the periodic sweep to
    send again (tasks.sweep_stuck_jobs): a unit that cannot be rendered is always reported."""

    revision = models.OneToOneField(Revision, on_delete=models.CASCADE, primary_key=True,
                                    related_name="+")
    # When it was last sent: the sweep re-sends rows older than EMEND_RENDER_CHECK_RESEND_SECONDS.
    sent_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"render check of revision {self.revision_id}"


class Instance(models.Model):
    """This database's identity: one row (pk 1), a random token made with the database
    (migration 0008). Every key of the shared cache holds it (edition/sharedcache.py), so a
    cache that outlives its database — recreated, or another one pointed at the same cache —
    never answers with the other database's pages."""

    token = models.CharField(max_length=32, unique=True)

    def __str__(self) -> str:
        return self.token


class SearchEntry(models.Model):
    """One searchable passage of a unit's current revision: its running text (`note_id` empty)
    or one of its footnotes. Rewritten with every new revision, in the same transaction
    (edition/search.py); the full-text index over `text` is the database's own (a generated
    `tsvector` column on PostgreSQL, an FTS5 table kept by triggers on SQLite: migration 0010)."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE,
                                 related_name="search_entries")
    note_id = models.CharField(max_length=100, blank=True)
    text = models.TextField()

    class Meta:
        indexes = [models.Index(fields=["document", "note_id"], name="search_entry_document")]

    def __str__(self) -> str:
        return f"{self.document_id}#{self.note_id or 'text'}"


def _page_upload_path(page: PageImage, filename: str) -> str:
    return f"pages/{page.edition.slug}/{filename}"


class FacsimileUpload(models.Model):
    """One `import_facsimile` run (image files or a PDF of the printed volume): what the
    reviewers' page shows while the worker stores the pages and makes their derivatives."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Making the page images"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    edition = models.ForeignKey(Edition, on_delete=models.CASCADE,
                                related_name="facsimile_uploads")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When a worker last took it up or finished a page: the periodic sweep fails an upload
    # still queued or running with no progress for EMEND_STUCK_JOB_SECONDS (its worker died).
    progressed_at = models.DateTimeField(default=timezone.now)
    source_name = models.CharField(max_length=500, help_text="The file(s) given")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0, help_text="Pages to store")
    done = models.PositiveIntegerField(default=0, help_text="Pages stored with derivatives")
    failed = models.PositiveIntegerField(default=0, help_text="Pages the worker could not make")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.edition.slug}: {self.source_name} ({self.status})"


class FacsimileItem(models.Model):
    """One page of an upload for the worker to make: the page row, the stored file it comes
    from, for a PDF the page's index in it (0-based), and whether it is finished. A row per
    page, so that finishing one writes only it: a list in the upload's row, written back whole
    per page, made a volume's progress cost the square of its pages."""

    upload = models.ForeignKey(FacsimileUpload, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField(help_text="Its place in the upload, from 0")
    # The PageImage's pk (not a key: a page that left the volume meanwhile fails the item).
    page = models.IntegerField()
    name = models.CharField(max_length=500, help_text="The stored file")
    index = models.IntegerField(null=True, blank=True, help_text="The PDF page, from 0")
    label = models.CharField(max_length=100, blank=True)
    done = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    # When it was finished: the uploads panel's poll sends the rows finished since its last.
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["upload", "position"]
        constraints = [models.UniqueConstraint(fields=["upload", "position"],
                                               name="facsimile_item_position")]


class PageImage(models.Model):
    """The image of one printed page: one per `pb` of the volume, in volume order
    (`sequence`). `document` is the unit whose current TEI holds the `pb` (None for a `pb`
    between units, in the skeleton). The image is remote (`url`: from the TEI's
    <facsimile>, or the edition's `facsimile_url` pattern; readers' browsers load it) or
    uploaded (`image`, with `display` and `thumbnail` derivatives made by the worker).
    `width`/`height` are those of the image OCR word boxes are in (the display image for an
    upload, else the remote image)."""

    class Source(models.TextChoices):
        TEI = "tei", "The TEI's <facsimile>"
        PATTERN = "pattern", "The edition's image address"
        UPLOAD = "upload", "Uploaded scan"

    class OCRStatus(models.TextChoices):
        NONE = "", "Not read"
        QUEUED = "queued", "Queued"
        DONE = "done", "Read"
        FAILED = "failed", "Failed"
        UNAVAILABLE = "unavailable", "OCR not installed"

    edition = models.ForeignKey(Edition, on_delete=models.CASCADE, related_name="pages")
    document = models.ForeignKey(Document, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="page_images")
    sequence = models.PositiveIntegerField(help_text="The pb's position in the volume")
    # The order of the unit holding the pb, or of the last unit begun before it (-1: none):
    # the page in effect where a unit begins is the last one with a smaller unit_order.
    unit_order = models.IntegerField(default=-1)
    # The pb stands at the very start of its unit's text (offset 0 of the text layer): the unit
    # begins on this page, not on the one in effect before it (pages.spans says the same from
    # the TEI). Kept by pages.sync, so that the volume's Ranges need no unit's TEI.
    at_start = models.BooleanField(default=False)
    n = models.CharField(max_length=50, blank=True, help_text="pb/@n: the printed number")
    pb_id = models.CharField(max_length=100, blank=True, help_text="pb/@xml:id")
    facs = models.CharField(max_length=100, blank=True, help_text="pb/@facs")
    source = models.CharField(max_length=10, choices=Source.choices, blank=True)
    url = models.CharField(max_length=1000, blank=True, help_text="A remote image")
    full_url = models.CharField(max_length=1000, blank=True, help_text="Its full size")
    upload = models.ForeignKey(FacsimileUpload, on_delete=models.SET_NULL, null=True,
                               blank=True, related_name="pages")
    image = models.FileField(upload_to=_page_upload_path, max_length=500, blank=True)
    display = models.FileField(upload_to=_page_upload_path, max_length=500, blank=True)
    thumbnail = models.FileField(upload_to=_page_upload_path, max_length=500, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    mime_type = models.CharField(max_length=50, blank=True)
    ocr_status = models.CharField(max_length=12, choices=OCRStatus.choices, blank=True,
                                  default=OCRStatus.NONE)
    ocr_error = models.TextField(blank=True)
    ocr_engine = models.CharField(max_length=100, blank=True)
    ocr_at = models.DateTimeField(null=True, blank=True)
    # When it was queued for OCR: a read queued past EMEND_STUCK_JOB_SECONDS while the
    # edition's queue made no progress is failed by the periodic sweep (its worker died).
    ocr_queued_at = models.DateTimeField(null=True, blank=True)
    # [[text, x, y, w, h, confidence, line], ...] in reading order, in the image's pixels.
    ocr_words = models.JSONField(default=list, blank=True)
    # {document pk: revision pk} the OCR was last aligned against: a page whose revisions
    # moved on is re-aligned, not re-read.
    aligned = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["edition", "sequence"]
        constraints = [models.UniqueConstraint(fields=["edition", "sequence"],
                                               name="page_image_sequence_unique")]
        indexes = [models.Index(fields=["edition", "facs"], name="page_image_facs"),
                   models.Index(fields=["document", "sequence"], name="page_image_document")]

    def __str__(self) -> str:
        return f"{self.edition.slug} [Page {self.n or self.facs}]"

    @property
    def label(self) -> str:
        return f"[Page {self.n}]" if self.n else f"[Image {self.facs}]"

    @property
    def has_image(self) -> bool:
        return bool(self.url or self.display or self.image)
