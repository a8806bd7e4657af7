"""Rendered HTML and plain text of revisions, cached forever: both are pure functions of the TEI.

The cache key holds the TEI's checksum, the edition's slug (links between documents) and the
renderer's version, so a key can never name stale output, even in a cache shared by many hosts.
"""

from __future__ import annotations

from django.core.cache import cache
from django.urls import reverse

from .models import Document, Edition, Revision
from .tei.plaintext import render_plaintext
from .tei.render import render_html

# Bump when the renderer's output changes, so cached pages of old revisions are rebuilt.
RENDER_VERSION = 4  # 2: data-o text-layer offsets on blocks (proposing); 3: a space after a glued page marker;
# 4: TEI ids as tei-… and pg_…, rend through an allow-list (never the page's own ids and classes)
ONE_YEAR = 365 * 24 * 3600


def rendered_html(revision: Revision) -> str:
    slug = edition_of(revision.document).slug
    key = f"emend:html:{RENDER_VERSION}:{slug}:{revision.checksum}"
    html = cache.get(key)
    if html is None:
        html = render_html(
            revision.element,
            doc_href=lambda xml_id: reverse("edition:document", args=[slug, xml_id]),
        )
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
