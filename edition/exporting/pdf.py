"""PDF exports, laid out by WeasyPrint: the volume and a single document.

The volume has a title page, a table of contents with page numbers, then every document from a
new page; each document (and compilation) is a PDF bookmark. Running heads give the volume
title on left-hand pages and the current document's heading on right-hand ones, folios are at
the foot, "[Page 276]" marks where a page of the printed edition begins, and footnotes are set
at the foot of the page where their marker falls (CSS `float: footnote`). The style is
pdf.css next to this module.

Each document's print HTML (pdfhtml.py) is cached per revision; the layout itself is redone for
every file.
WeasyPrint fetches nothing: the HTML and CSS reference no resource, and the URL fetcher
refuses everything but `data:` URLs, so a build never touches the network. Fonts are the
system's (fontconfig).
"""

from __future__ import annotations

import html
import re
from datetime import timezone
from pathlib import Path

from weasyprint import CSS, HTML
from weasyprint.urls import URLFetcher

from . import pdfhtml
from .pdfhtml import VERSION, print_html
from .sources import Part, Volume

__all__ = ["VERSION", "OfflineFetcher", "document", "print_html", "volume"]
STYLE = (Path(__file__).with_name("pdf.css")).read_text(encoding="utf-8")
# Links to other documents, as pdfhtml.DOC_LINK leaves them: resolved when a file is assembled.
# Text cannot contain "<" (it is escaped), so only real <a> tags match.
DOC_LINK_RE = re.compile(r'(<a\s[^<>]*?href=")emend-doc:([^"#]+)(#[^"]*)?"')


class OfflineFetcher(URLFetcher):
    """Refuses every URL but `data:`: a build must never wait on (or leak to) the network."""

    def fetch(self, url, headers=None):
        if not url.startswith("data:"):
            raise ValueError(f"the PDF export fetches nothing: {url}")
        return super().fetch(url, headers)


# -- files ------------------------------------------------------------------------------------

def volume(vol: Volume) -> bytes:
    body = [_title_page(vol), _contents(vol)]
    compilation = ""
    for part in vol.parts:
        if part.document.part and part.document.part != compilation:
            compilation = part.document.part
            body.append(f'<h1 class="compilation">{_esc(compilation)}</h1>')
        body.append(pdfhtml.document(vol, part))
    classes = "has-compilations" if compilation else ""
    return _pdf(vol, vol.edition.title or vol.edition.slug, "\n".join(body), classes)


def document(vol: Volume, part: Part) -> bytes:
    edition = vol.edition
    header = (f'<div class="document-header" data-running="{_esc(_running_title(vol))}">'
              f"{_esc(edition.title or edition.slug)}</div>")
    return _pdf(vol, f"{part.document} — {edition.short_title}",
                header + "\n" + pdfhtml.document(vol, part))


def _pdf(vol: Volume, title: str, body: str, classes: str = "") -> bytes:
    authors = "".join(f'<meta name="author" content="{_esc(name)}">'
                      for name in vol.edition.editors)
    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{_esc(title)}</title>{authors}"
            f'<meta name="generator" content="Emend"></head>\n'
            f'<body class="{classes}">\n{_resolve_links(body, vol)}\n</body></html>\n')
    fetcher = OfflineFetcher(timeout=1)
    document = HTML(string=page, base_url="about:blank", url_fetcher=fetcher)
    return document.write_pdf(stylesheets=[CSS(string=STYLE, url_fetcher=fetcher)])


def _resolve_links(text: str, vol: Volume) -> str:
    hrefs: dict[str, str] = {}  # vol.doc_href reverses a URL: once per target is enough

    def resolve(match: re.Match) -> str:
        doc, anchor = match[2], match[3] or ""
        if doc not in hrefs:
            hrefs[doc] = vol.doc_href(doc)
        href = hrefs[doc]
        if href.startswith("#") and anchor:
            href = anchor  # a note of a document in this file: its id is in the file too
        elif not href.startswith("#"):
            href = html.escape(href) + anchor
        return f'{match[1]}{href}"'

    return DOC_LINK_RE.sub(resolve, text)


def _esc(value: str) -> str:
    return html.escape(value, quote=True)


def _running_title(vol: Volume) -> str:
    return vol.edition.short_title or vol.edition.slug


def _title_page(vol: Volume) -> str:
    edition = vol.edition
    lines = [f'<section class="title-page" data-running="{_esc(_running_title(vol))}">']
    if edition.series_title:
        lines.append(f'<div class="series">{_esc(edition.series_title)}</div>')
    lines.append(f'<div class="title">{_esc(edition.title or edition.slug)}</div>')
    if edition.editors:
        names = edition.editors
        joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        lines.append(f'<div class="editors">Edited by {_esc(joined)}</div>')
    for line in [edition.publisher, ", ".join(p for p in [edition.pub_place, edition.pub_date]
                                              if p)]:
        if line:
            lines.append(f'<div class="imprint">{_esc(line)}</div>')
    built = vol.built_at.astimezone(timezone.utc)
    lines.append(f'<div class="built">Exported from Emend on {built:%Y-%m-%d %H:%M} UTC: '
                 f"{_esc(vol.site_url())}</div>")
    lines.append(f'<div class="sources">Built from {_esc(vol.sources_line())}.</div>')
    lines.append("</section>")
    return "\n".join(lines)


def _contents(vol: Volume) -> str:
    """Every document with its page (`target-counter` in pdf.css), by compilation if any."""
    lines = ['<nav class="contents"><h2>Contents</h2><ol>']
    compilation = ""
    for part in vol.parts:
        doc = part.document
        if doc.part and doc.part != compilation:
            compilation = doc.part
            lines.append(f'<li class="compilation">{_esc(compilation)}</li>')
        lines.append(f'<li><a href="#{_esc(doc.xml_id)}">{_esc(str(doc))}</a></li>')
    lines.append("</ol></nav>")
    return "\n".join(lines)
