"""What an export is built from: an edition and its units' current revisions, in volume order
(front matter, chapters and their documents, back matter), and the volume's outline."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from lxml import etree

from ..models import Document, Edition, Revision
from ..rendering import RENDER_VERSION

ONE_YEAR = 365 * 24 * 3600
# Within `refreshing`: the hashes of the keys re-rendered so far, so a fragment is rendered once
# per build however many files take it (a document's file, then the volume's).
_refresh: ContextVar[set[int] | None] = ContextVar("refresh", default=None)
_scratch: ContextVar[dict[str, str] | None] = ContextVar("scratch", default=None)


@contextmanager
def refreshing(refresh: bool = True) -> Iterator[None]:
    """Within it, `fragment` re-renders what it has not rendered in it yet instead of reading
    the cache (a full rebuild)."""
    token = _refresh.set(set() if refresh else None)
    try:
        yield
    finally:
        _refresh.reset(token)


@contextmanager
def scratch() -> Iterator[None]:
    """Within it, `fragment` keeps what it renders in a dict of its own and neither reads nor
    writes the shared cache: the gate renders revisions that may never exist."""
    token = _scratch.set({})
    try:
        yield
    finally:
        _scratch.reset(token)


@dataclass(frozen=True)
class Part:
    """One unit of a build (a document, a front matter section, a chapter, an appendix) at the
    revision it is built from."""

    document: Document
    revision: Revision

    def release(self) -> None:
        """Forget the revision's parsed tree and text layer (a build keeps tens of thousands
        of parts: their TEI strings are small, their trees are not)."""
        self.revision.release()

    @property
    def xml_id(self) -> str:
        return self.document.xml_id

    @property
    def label(self) -> str:
        """"Document 142", or the title of a unit without a number ("Preface", "Japan")."""
        return self.document.label

    @property
    def heading(self) -> str:
        """"142. Memorandum of Conversation", "Preface": what contents and bookmarks show."""
        return str(self.document)

    @property
    def is_printed_contents(self) -> bool:
        """The printed volume's own contents (`subtype="table-of-contents"`): its entries point
        at pages of the printed book, so the files for reading put their own contents, with
        links and page numbers, in its place."""
        return (self.document.matter == Document.Matter.FRONT
                and self.revision.element.get("subtype") == "table-of-contents")

    @property
    def is_heading_only(self) -> bool:
        """A chapter whose own revision is its heading alone (no introduction)."""
        return all(etree.QName(child).localname == "head"
                   for child in self.revision.element if isinstance(child.tag, str))

    @classmethod
    def candidate(cls, document: Document, tei: str, *, number: int,
                  element: etree._Element | None = None, like: Revision | None = None) -> Part:
        """A revision not stored (yet): what an approval or a proposal would make. `element`:
        `tei` parsed already; `like`: a revision of the same TEI whose derived values (tree,
        text layer, footnotes) it takes."""
        revision = Revision(document=document, number=number, tei=tei,
                            checksum=hashlib.sha256(tei.encode("utf-8")).hexdigest())
        if element is not None:
            revision.element = element  # the cached_property's slot
        if like is not None:
            revision.reuse(like)
        return cls(document, revision)


@dataclass(frozen=True)
class Entry:
    """A part in the volume's outline: `depth` is how many of the volume's units enclose it."""

    part: Part
    depth: int
    encloses: bool = False  # the next entry is one of its units: it heads a chapter

    @property
    def classes(self) -> str:
        """HTML classes for its article: its depth, its kind (`unit-compilation`), its matter."""
        kind = _NOT_CLASS.sub("", self.part.document.div_type) or "unit"
        return f"depth-{self.depth} unit-{kind} matter-{self.part.document.matter}"


_NOT_CLASS = re.compile(r"[^\w-]")


@dataclass
class Volume:
    """An edition and the parts a build holds: all units, or one for a single unit's export."""

    edition: Edition
    parts: list[Part]
    built_at: datetime = field(default_factory=timezone.now)
    whole: bool = True  # the whole volume, or a single document's export

    @cached_property
    def xml_ids(self) -> frozenset[str]:
        return frozenset(p.xml_id for p in self.parts)

    def doc_href(self, xml_id: str) -> str:
        """Where a `ref` to another document points: inside the file when it is there, else
        the document's page on the public site (EMEND_SITE_URL)."""
        if self.whole and xml_id in self.xml_ids:
            return f"#{xml_id}"
        return settings.EMEND_SITE_URL + reverse("edition:document",
                                                 args=[self.edition.slug, xml_id])

    def site_url(self, part: Part | None = None) -> str:
        if part is None:
            return settings.EMEND_SITE_URL + self.edition.get_absolute_url()
        return settings.EMEND_SITE_URL + reverse(
            "edition:revision", args=[self.edition.slug, part.xml_id, part.revision.number])

    @cached_property
    def outline(self) -> list[Entry]:
        """The parts in volume order, each at the depth of its enclosing units: a part nests
        under the last open part that is its parent, so the outline always follows the
        volume's order (a unit whose parent is not open stands at the top level)."""
        depths: list[int] = []
        open_units: list[int] = []  # the pks of the parts enclosing the current position
        for part in self.parts:
            parent = part.document.parent_id
            while open_units and open_units[-1] != parent:
                open_units.pop()
            depths.append(len(open_units))
            open_units.append(part.document.pk)
        return [Entry(part, depth, encloses=index + 1 < len(depths)
                      and depths[index + 1] > depth)
                for index, (part, depth) in enumerate(zip(self.parts, depths, strict=True))]

    @cached_property
    def reading(self) -> list[Entry | None]:
        """The outline as the files for reading (HTML, EPUB, PDF) set it: None where their own
        contents go, in place of the printed contents (`Part.is_printed_contents`, left out),
        or first when the volume has none."""
        entries: list[Entry | None] = [
            None if entry.part.is_printed_contents else entry for entry in self.outline]
        if None not in entries:
            return [None, *entries]
        first = entries.index(None)
        return [e for i, e in enumerate(entries) if e is not None or i == first]

    def sources(self) -> dict[str, int]:
        """Document id → revision number: what a download names as its source."""
        return {p.xml_id: p.revision.number for p in self.parts}

    def sources_line(self) -> str:
        """"d142 revision 2, d143 revision 1": the revisions a file was built from, for the
        file itself to name (a reader citing a download offline needs them)."""
        return ", ".join(f"{p.xml_id} revision {p.revision.number}" for p in self.parts)


def nested_list(entries: list[Entry], item: Callable[[Entry], str]) -> str:
    """The outline as nested `<ol>`s: `item(entry)` is the inside of each `<li>`, and the
    entries a unit encloses are a list inside its item. A list opens one level at a time, so
    the HTML stays well formed whatever depths the entries skip (a unit left out)."""
    if not entries:
        return ""
    base = entries[0].depth
    lines = ["<ol>"]
    level = 0  # lists open inside the outermost one
    for index, entry in enumerate(entries):
        wanted = max(0, min(entry.depth - base, level + 1)) if index else 0
        if index:
            if wanted > level:
                lines.append("<ol>")
            else:
                lines.append("</li>" + "</ol></li>" * (level - wanted))
        level = wanted
        lines.append(f"<li>{item(entry)}")
    lines.append("</li>" + "</ol></li>" * level + "</ol>")
    return "\n".join(lines)


def load_volume(edition: Edition, *, documents: list[Document] | None = None) -> Volume:
    """The edition's units (or `documents`) at their current revisions, in volume order.

    One query, streamed: every part shares `edition` (whose skeleton is read once, if at all)
    and holds its revision's TEI, not its text layer or change record (no format reads them).
    """
    queryset = (Document.objects.filter(edition=edition, current_revision__isnull=False)
                .select_related("current_revision")
                .defer("current_revision__text", "current_revision__change",
                       "current_revision__summary")
                .order_by("order"))
    if documents is not None:
        queryset = queryset.filter(pk__in=[d.pk for d in documents])
    parts = []
    for doc in queryset.iterator(chunk_size=2000):
        doc.edition = edition  # spare a query per document in the renderers
        doc.current_revision.document = doc
        parts.append(Part(doc, doc.current_revision))
    return Volume(edition, parts, whole=documents is None)


def fragment(fmt: str, version: int | str, part: Part, build: Callable[[], str]) -> str:
    """A part's piece of a format, cached by the revision's checksum: an incremental rebuild
    re-renders only the documents whose revision changed. A fragment is the same in a volume
    and in a single document's file: every format leaves links to other documents as tokens
    and resolves them when it assembles the file."""
    # The site's address is in links of most fragments: part of the key, hashed short.
    site = hashlib.sha256(settings.EMEND_SITE_URL.encode()).hexdigest()[:8]
    # RENDER_VERSION: most formats start from the reading site's HTML renderer.
    key = (f"emend:export:{fmt}:{version}.{RENDER_VERSION}:{site}:{part.document.edition.slug}:"
           f"{part.revision.checksum}")
    local = _scratch.get()
    if local is not None:
        if key not in local:
            local[key] = build()
        return local[key]
    refreshed = _refresh.get()
    stale = refreshed is not None and hash(key) not in refreshed
    value = None if stale else cache.get(key)
    if value is None:
        value = build()
        cache.set(key, value, ONE_YEAR)
        if refreshed is not None:
            refreshed.add(hash(key))
    return value
