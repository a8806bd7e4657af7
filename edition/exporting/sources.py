"""What an export is built from: an edition and its documents' current revisions, in order."""

from __future__ import annotations

import hashlib
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
    """One document of a build at the revision it is built from."""

    document: Document
    revision: Revision

    def release(self) -> None:
        """Forget the revision's parsed tree and text layer (a build keeps tens of thousands
        of parts: their TEI strings are small, their trees are not)."""
        self.revision.__dict__.pop("element", None)
        self.revision.__dict__.pop("layer", None)

    @property
    def xml_id(self) -> str:
        return self.document.xml_id

    @property
    def label(self) -> str:
        """"Document 142" (or the title when the document has no number)."""
        if self.document.number is not None:
            return f"Document {self.document.number}"
        return self.document.title

    @classmethod
    def candidate(cls, document: Document, tei: str, *, number: int) -> Part:
        """A revision not stored (yet): what an approval or a proposal would make."""
        revision = Revision(document=document, number=number, tei=tei,
                            checksum=hashlib.sha256(tei.encode("utf-8")).hexdigest())
        return cls(document, revision)


@dataclass
class Volume:
    """An edition and the parts a build holds: all documents, or one for a document export."""

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

    def sources(self) -> dict[str, int]:
        """Document id → revision number: what a download names as its source."""
        return {p.xml_id: p.revision.number for p in self.parts}

    def sources_line(self) -> str:
        """"d142 revision 2, d143 revision 1": the revisions a file was built from, for the
        file itself to name (a reader citing a download offline needs them)."""
        return ", ".join(f"{p.xml_id} revision {p.revision.number}" for p in self.parts)


def load_volume(edition: Edition, *, documents: list[Document] | None = None) -> Volume:
    """The edition's documents (or `documents`) at their current revisions, in volume order.

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
