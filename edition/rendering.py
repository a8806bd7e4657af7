"""Rendered HTML and plain text of revisions, cached forever: both are pure functions of the TEI
and of where its links go.

The HTML cache key holds the TEI's checksum, the renderer's version and everything links depend
on: the edition's slug and `contents_version` (its set of units), a digest of its
`upstream_url` and of the local editions (slug and contents version each: a ref to another
volume links here when that volume has the document). A key can never name stale output, even
in a cache shared by many hosts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

from django.core.cache import cache
from django.urls import reverse

from .models import Document, Edition, Revision
from .tei.plaintext import render_plaintext
from .tei.render import Links, render_html

# Bump when the renderer's output changes, so cached pages of old revisions are rebuilt.
RENDER_VERSION = 6  # 2: data-o text-layer offsets on blocks (proposing); 3: a space after a glued page marker;
# 4: TEI ids as tei-… and pg_…, rend through an allow-list (never the page's own ids and classes)
# 5: links to persons and terms, refs to missing documents and other volumes, no foreign markup
# 6: no "Source." label on a source note that begins "Source:"
ONE_YEAR = 365 * 24 * 3600
# Units whose page a mention links to: register → the unit's xml:id.
REGISTER_UNITS = {"persons": "persons", "terms": "terms"}


@dataclass(frozen=True)
class _Local:
    """A local edition as links see it."""

    pk: int
    slug: str
    created_at: object
    contents_version: int


def rendered_html(revision: Revision, *, local: tuple[_Local, ...] | None = None) -> str:
    """The revision's HTML, from the cache or rendered into it. `local`: the local editions,
    read once by a caller rendering many revisions (else here, one query)."""
    edition = edition_of(revision.document)
    local = local_editions() if local is None else local
    key = (f"emend:html:{RENDER_VERSION}:{edition.slug}:{edition.contents_version}:"
           f"{_links_digest(edition, local)}:{revision.checksum}")
    html = cache.get(key)
    if html is None:
        html = render_html(revision.element, links=links_for(edition, local))
        cache.set(key, html, ONE_YEAR)
    return html


def edition_of(document: Document) -> Edition:
    """The document's edition, loaded without its skeleton and header if it is not there yet:
    a revision reached on its own must not drag a megabyte of volume along to find a slug."""
    if not Document.edition.is_cached(document):
        document.edition = Edition.objects.without_tei().get(pk=document.edition_id)
    return document.edition


def rendered_text(revision: Revision) -> str:
    key = f"emend:txt:{RENDER_VERSION}:{revision.checksum}"
    text = cache.get(key)
    if text is None:
        text = render_plaintext(revision.element)
        cache.set(key, text, ONE_YEAR)
    return text


def links_for(edition: Edition, local: tuple[_Local, ...] | None = None) -> Links:
    """Where links from `edition`'s documents go: its own units, local editions by slug
    (ignoring case), else its `upstream_url`; None (plain text) when nowhere."""
    local = local_editions() if local is None else local
    by_slug = {e.slug.casefold(): e for e in local}
    units = unit_ids(edition)
    slug = edition.slug

    def doc_href(xml_id: str) -> str | None:
        if xml_id in units:
            return reverse("edition:document", args=[slug, xml_id])
        return upstream(edition, slug, xml_id)

    def volume_href(volume: str, document: str) -> str | None:
        other = by_slug.get(volume.casefold())
        if other is not None:
            if not document:
                return reverse("edition:toc", args=[other.slug])
            if document in _unit_ids(other.pk, other.created_at, other.contents_version):
                return reverse("edition:document", args=[other.slug, document])
        return upstream(edition, volume, document)

    registers = tuple((register, reverse("edition:document", args=[slug, unit]))
                      for register, unit in REGISTER_UNITS.items() if unit in units)
    return Links(doc_href=doc_href, volume_href=volume_href, registers=registers)


def upstream(edition: Edition, volume: str, document: str) -> str | None:
    """`edition.upstream_url` filled in ("" document: the whole volume), or None without one."""
    pattern = edition.upstream_url.strip()
    if not pattern:
        return None
    url = pattern.replace("{volume}", volume).replace("{document}", document)
    return url.rstrip("/") if not document else url


def unit_ids(edition: Edition) -> frozenset[str]:
    """The xml:ids of the edition's units, cached in-process per contents version."""
    return _unit_ids(edition.pk, edition.created_at, edition.contents_version)


@lru_cache(maxsize=64)
def _unit_ids(pk: int, created_at, contents_version: int) -> frozenset[str]:
    # created_at: a database rebuilt (tests) may hand the same pk and version to another edition.
    return frozenset(Document.objects.filter(edition_id=pk).values_list("xml_id", flat=True))


def local_editions() -> tuple[_Local, ...]:
    rows = Edition.objects.order_by("pk").values_list("pk", "slug", "created_at",
                                                      "contents_version")
    return tuple(_Local(*row) for row in rows)


def _links_digest(edition: Edition, local: tuple[_Local, ...]) -> str:
    parts = [edition.upstream_url, *(f"{e.slug.casefold()}={e.contents_version}" for e in local)]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:16]
