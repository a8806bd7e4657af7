"""PDF exports, laid out by WeasyPrint: the volume and a single document.

The volume has a title page (the volume's own `<titlePage>` when it has one), then every unit
in volume order, each from a new page: the front matter (Preface, Sources, Abbreviations,
Persons…), with a table of contents with page numbers where the printed contents stood (after
the title page when there is none), the chapters and their documents, the back matter. Every
unit is a PDF bookmark, nested under the chapter that holds it; a chapter that is only a
heading runs on into its first document. Running heads give the volume
title on left-hand pages and the current unit's heading on right-hand ones, folios are at
the foot, "[Page 276]" marks where a page of the printed edition begins, and footnotes are set
at the foot of the page where their marker falls (CSS `float: footnote`). The style is
pdf.css next to this module.

Each document's print HTML (pdfhtml.py) is cached per revision; the layout itself is redone for
every file. The volume is laid out in pieces (pdfbook.py), so that its memory does not grow
with its number of pages.
WeasyPrint fetches nothing: the HTML and CSS reference no resource, and the URL fetcher
refuses everything but `data:` URLs, so a build never touches the network. Fonts are the
system's (fontconfig).
"""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Callable
from datetime import timezone
from pathlib import Path

from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

from . import pdfhtml
from .pdfhtml import VERSION, print_html
from .sources import Entry, Part, Volume, nested_list
from .titlepage import title_page, to_html

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
    """The volume, laid out in pieces (`pdfbook`): WeasyPrint keeps every page's boxes until
    the file is written, so one layout of the whole volume grew by 0.8 MB a page."""
    from .pdfbook import book  # noqa: PLC0415 (it imports this module)

    return book(vol)


def volume_whole(vol: Volume) -> bytes:
    """The volume laid out at once, as before `pdfbook`: the same pages (the tests compare
    them), in memory that grows with the number of pages."""
    body = [_title_page(vol)]
    for entry in vol.reading:
        body.append(_contents(vol) if entry is None else _unit(vol, entry))
    return _pdf(vol, vol.edition.title or vol.edition.slug, "\n".join(body))


def _unit(vol: Volume, entry: Entry) -> str:
    """The unit's print HTML, its article classed by its depth in the outline (its bookmark
    level, pdf.css) and by its kind; a chapter that is only a heading runs on into its first
    unit."""
    classes = entry.classes
    if entry.encloses and entry.part.is_heading_only:
        classes += " heading-only"
    return pdfhtml.document(vol, entry.part).replace(
        '<article class="tei-document"', f'<article class="tei-document {classes}"', 1)


def document(vol: Volume, part: Part) -> bytes:
    edition = vol.edition
    header = (f'<div class="document-header" data-running="{_esc(_running_title(vol))}">'
              f"{_esc(edition.title or edition.slug)}</div>")
    return _pdf(vol, f"{part.document} — {edition.short_title}",
                header + "\n" + pdfhtml.document(vol, part))


def _pdf(vol: Volume, title: str, body: str) -> bytes:
    page = _page(vol, title, _resolve_links(body, vol))
    fetcher = OfflineFetcher(timeout=1)
    document = HTML(string=page, base_url="about:blank", url_fetcher=fetcher)
    return document.write_pdf(stylesheets=[CSS(string=STYLE, url_fetcher=fetcher)],
                              font_config=font_config())


_fonts = threading.local()


def font_config() -> FontConfiguration:
    """The thread's fontconfig configuration and Pango font map, made once: WeasyPrint makes
    one per file by default, which loads the system's fonts again (some 10% of a document's
    time) and does not give all of it back (a build's worker grew by 0.3 MB a document).
    The files are the same: a PDF embeds the glyphs its own pages use. Per thread: Pango's
    font map is not thread-safe."""
    config = getattr(_fonts, "config", None)
    if config is None:
        config = _fonts.config = FontConfiguration()
    return config


def _page(vol: Volume, title: str, body: str) -> str:
    """The HTML file WeasyPrint lays out: `body` (its links resolved) and the metadata."""
    authors = "".join(f'<meta name="author" content="{_esc(name)}">'
                      for name in vol.edition.editors)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{_esc(title)}</title>{authors}"
            f'<meta name="generator" content="Emend"></head>\n'
            f'<body>\n{body}\n</body></html>\n')


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
    """The volume's `<titlePage>` if it has one, else the header's title, editors and imprint;
    then where and when the file was built, and from which revisions."""
    edition = vol.edition
    lines = [f'<section class="title-page" data-running="{_esc(_running_title(vol))}">']
    blocks = title_page(edition)
    if blocks:
        lines.append(f'<div class="tei-title-page">{to_html(blocks)}</div>')
    else:
        if edition.series_title:
            lines.append(f'<div class="series">{_esc(edition.series_title)}</div>')
        lines.append(f'<div class="title">{_esc(edition.title or edition.slug)}</div>')
        if edition.editors:
            names = edition.editors
            joined = (names[0] if len(names) == 1
                      else ", ".join(names[:-1]) + " and " + names[-1])
            lines.append(f'<div class="editors">Edited by {_esc(joined)}</div>')
        for line in [edition.publisher,
                     ", ".join(p for p in [edition.pub_place, edition.pub_date] if p)]:
            if line:
                lines.append(f'<div class="imprint">{_esc(line)}</div>')
    built = vol.built_at.astimezone(timezone.utc)
    lines.append(f'<div class="built">Exported from Emend on {built:%Y-%m-%d %H:%M} UTC: '
                 f"{_esc(vol.site_url())}</div>")
    lines.append(f'<div class="sources">Built from {_esc(vol.sources_line())}.</div>')
    lines.append("</section>")
    return "\n".join(lines)


def _contents(vol: Volume, folios: Callable[[str], str] | None = None) -> str:
    """Every unit with its page, those of a chapter nested under it; not the printed
    contents, which this one replaces. The page is `folios(xml_id)` when given (a volume laid
    out in pieces knows it once the pieces are), else `target-counter` (pdf.css)."""
    entries = [e for e in vol.reading if e is not None]

    def item(entry: Entry) -> str:
        kind = "heading" if entry.encloses else "unit"
        page = "" if folios is None else f' data-page="{_esc(folios(entry.part.xml_id))}"'
        return (f'<a class="{kind}" href="#{_esc(entry.part.xml_id)}"{page}>'
                f"{_esc(entry.part.heading)}</a>")

    return ('<nav class="contents"><h2>Contents</h2>\n'
            + nested_list(entries, item) + "</nav>")
