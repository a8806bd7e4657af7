"""HTML exports: one self-contained file, readable offline and printable.

A file holds a title block (the volume's `<titlePage>`, or series, title, editors and imprint
from the header), a table of contents (the volume only: every unit, a chapter's nested under it,
standing where the printed contents stood or after the title block), every unit's `<article>`
in volume order as the reading site renders it (front matter, chapters and their documents,
back matter; footnote markers and notes linking both ways, `[Page 276]` markers with ids), and
a colophon naming the revision of every unit and linking to the public site. Its style sheet
is inline: the reading site's document.css (palette, type, the rendered TEI) and the few rules
of a file's own blocks; it loads nothing and runs no script.

Each document's article is cached per revision (`sources.fragment`), so the volume is string
joining plus one pass that resolves links between documents. The article is rendered with a
*token* where a link to another document goes, and the token is resolved only when a file is
assembled: `#d143` when d143 is in the file, its page on the public site otherwise. The cached
article therefore does not depend on which documents the volume holds (a document imported
later gets in-file links from the cached articles that point to it) nor on whether it is built
for the volume or for a single document's file: both share one cache entry.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Callable, Iterator
from datetime import timezone as dt_timezone
from functools import cache, lru_cache
from pathlib import Path

from django.contrib.staticfiles import finders

from ..tei.render import render_html
from . import sources
from .sources import Entry, Part, Volume, nested_list
from .titlepage import title_page, to_html

VERSION = 3  # bump when the output changes: cached fragments and stored files are then rebuilt
FORMAT = "html"

# XML 1.0 cannot carry U+0000, so a NUL in rendered TEI is always one of our tokens.
_TOKEN = "\x00"
# A link to another document as `render_html` writes it with `_doc_token`: the token, then
# "#fn-…" when the TEI ref points at one of that document's notes.
_DOC_LINK = re.compile(f"{_TOKEN}(?P<doc>[^{_TOKEN}]+){_TOKEN}(?P<frag>#[^\"]*)?")
# The reading site's text-layer offsets (for proposing): meaningless in a file. Only inside a
# tag: text and attribute values are escaped, so `<` and `>` are always markup, and an
# attribute followed by `>` before any `<` is inside a tag (text would reach the next tag's
# `<` first). Searched for its literal start, not tried at every `<` of the article.
_OFFSET_ATTR = re.compile(r' data-o="\d+"(?=[^<>]*>)')


# -- one document's article -------------------------------------------------------------------

def article(part: Part) -> str:
    """The document's `<article>`, links to other documents still tokens (`resolve_links`)."""
    return sources.fragment(FORMAT, VERSION, part, lambda: _render(part))


def _render(part: Part) -> str:
    return _OFFSET_ATTR.sub("", tokened(part))


def _doc_token(xml_id: str) -> str:
    return f"{_TOKEN}{xml_id}{_TOKEN}"


# Where `tokened` keeps its output on the revision (Revision.release forgets it).
TOKENED = "export_html"
# A document token in `tokened` output: the whole of what `doc_href` returned for the id.
_DOC_TOKEN = re.compile(f"{_TOKEN}([^{_TOKEN}]+){_TOKEN}")


def tokened(part: Part) -> str:
    """`render_html` of the part's revision, links to other documents as tokens: rendered once
    per revision for the three formats that start from it (this one, EPUB and print HTML), which
    a build or the gate renders one after the other."""
    revision = part.revision
    rendered = revision.__dict__.get(TOKENED)
    if rendered is None:
        # The revision's layer: the JSON export reads the same one, so it is built once.
        rendered = render_html(revision.element, doc_href=_doc_token, layer=revision.layer,
                               footnotes=revision.footnotes)
        revision.__dict__[TOKENED] = rendered
    return rendered


def with_doc_links(rendered: str, prefix: str) -> str:
    """`tokened` output with each link to another document as `prefix` + its id: the bytes
    `render_html(…, doc_href=lambda xml_id: prefix + xml_id)` gives. The renderer writes what
    `doc_href` returns into an href through `html.escape`, which leaves the token (NUL, which
    no XML carries, around an id `d\\d+[a-z]?`) as it is; `prefix` must be one that escaping
    leaves as it is too (no `&<>"'`)."""
    if _TOKEN not in rendered:
        return rendered
    return _DOC_TOKEN.sub(lambda m: prefix + m[1], rendered)


def resolve_links(text: str, doc_href: Callable[[str], str]) -> str:
    """Replace the document tokens of `article()` output with real hrefs from `doc_href`."""
    if _TOKEN not in text:
        return text
    # vol.doc_href scans the parts and reverses a URL: once per distinct target is enough.
    hrefs: dict[str, str] = {}

    def resolve(match: re.Match) -> str:
        doc, fragment = match["doc"], match["frag"] or ""
        if doc not in hrefs:
            hrefs[doc] = doc_href(doc)
        href = hrefs[doc]
        if href.startswith("#") and fragment:
            return fragment  # a note of a document in this file: its id is in the file too
        return html.escape(href, quote=True) + fragment  # the fragment is escaped already

    return _DOC_LINK.sub(resolve, text)


# -- files ------------------------------------------------------------------------------------

def volume(vol: Volume) -> bytes:
    return b"".join(volume_chunks(vol))


def volume_chunks(vol: Volume) -> Iterator[bytes]:
    """The volume's page a document at a time, for a build to write as it comes."""
    edition = vol.edition
    head, tail = _page(edition.title or edition.slug, _BODY).split(_BODY)

    def out(*pieces: str) -> bytes:
        return resolve_links("\n".join(pieces), vol.doc_href).encode("utf-8")

    yield out(head + _title_block(vol), "<main>")
    for entry in vol.reading:
        if entry is None:  # where the printed contents stood: ours, with links
            yield out("", _contents(vol))
            continue
        yield out("", article(entry.part).replace(
            '<article class="tei-document"', f'<article class="tei-document {entry.classes}"',
            1), _document_source(vol, entry.part))
    yield out("", "</main>", _colophon(vol) + tail)


_BODY = "\x00body\x00"  # where the page's body goes, split around


def document(vol: Volume, part: Part) -> bytes:
    title = f"{part.document} — {vol.edition.short_title}"
    body = "\n".join([_title_block(vol), "<main>", article(part), "</main>",
                      _colophon(vol, part)])
    return resolve_links(_page(title, body), vol.doc_href).encode("utf-8")


def _esc(value: str) -> str:
    return html.escape(value, quote=True)


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="Emend">\n<title>{_esc(title)}</title>\n'
        f"<style>\n{style()}</style>\n</head>\n<body>\n<div class=\"container\">\n"
        f"{body}\n</div>\n</body>\n</html>\n"
    )


def _title_block(vol: Volume) -> str:
    edition = vol.edition
    lines = ['<header class="volume-header" id="emend-title">']
    blocks = title_page(edition)
    if blocks:
        lines += [f'<div class="tei-title-page">{to_html(blocks)}</div>', "</header>"]
        return "\n".join(lines)
    if edition.series_title:
        lines.append(f'<p class="series">{_esc(edition.series_title)}</p>')
    lines.append(f"<h1>{_esc(edition.short_title if edition.series_title else edition.title)}"
                 "</h1>")
    if edition.editors:
        lines.append(f'<p class="editors">Edited by {_esc(_and(edition.editors))}</p>')
    where = ": ".join(p for p in [edition.pub_place, edition.publisher_short] if p)
    imprint = ", ".join(p for p in [where, edition.pub_date] if p)
    if imprint:
        lines.append(f'<p class="imprint">{_esc(imprint)}</p>')
    lines.append("</header>")
    return "\n".join(lines)


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _contents(vol: Volume) -> str:
    """Every unit but the printed contents, a chapter's units nested under it."""
    def item(entry: Entry) -> str:
        doc = entry.part.document
        number = f'<span class="toc-number">{doc.number}.</span> ' if doc.number else ""
        kind = "toc-heading" if entry.encloses else "toc-unit"
        return (f'<a class="{kind}" href="#{_esc(doc.xml_id)}">{number}{_esc(doc.title)}'
                "</a>")

    entries = [e for e in vol.reading if e is not None]
    return "\n".join([
        '<nav class="volume-toc" id="emend-contents" aria-labelledby="emend-contents-h">',
        '<h2 id="emend-contents-h">Contents</h2>', nested_list(entries, item), "</nav>"])


def _document_source(vol: Volume, part: Part) -> str:
    url = vol.site_url(part)
    return (f'<p class="document-source">{_esc(part.label)}, revision {part.revision.number}: '
            f'<a href="{_esc(url)}">{_esc(url)}</a></p>')


def _when(vol: Volume) -> str:
    return _moment(vol.built_at)


@lru_cache(maxsize=8)
def _moment(built_at) -> str:
    # Every file of a build shows the same moment: written once per build.
    moment = built_at.astimezone(dt_timezone.utc)
    return (f'<time datetime="{moment.isoformat(timespec="seconds")}">'
            f"{moment:%Y-%m-%d %H:%M} UTC</time>")


def _colophon(vol: Volume, part: Part | None = None) -> str:
    if part is None:
        revisions = ", ".join(f"{_esc(xml_id)} r{number}"
                              for xml_id, number in vol.sources().items())
        built = f"Built from revisions {revisions}, on {_when(vol)}."
    else:
        url = _esc(vol.site_url(part))
        built = (f"Built from revision {part.revision.number} of {_esc(part.label)} "
                 f"({_esc(part.xml_id)}), on {_when(vol)}.</p>\n"
                 f'<p>This revision: <a href="{url}">{url}</a>')
    site = vol.site_url()
    return "\n".join([
        '<footer class="colophon" id="emend-colophon">',
        f"<p>{built}</p>",
        f'<p>The current text, its history and other formats: <a href="{_esc(site)}">'
        f"{_esc(site)}</a></p>",
        "</footer>",
    ])


# The site's style sheet for documents, found as the site serves it (STATICFILES_DIRS before
# the app's own), read from disk whether or not static files are collected or hashed.
DOCUMENT_CSS = "edition/document.css"


@cache
def style() -> str:
    """document.css, then the rules of what only a file has: its frame, title block, contents,
    the rule between documents, the colophon."""
    path = finders.find(DOCUMENT_CSS)
    if path is None:
        raise LookupError(f"{DOCUMENT_CSS} is not in any static files directory")
    return Path(path).read_text(encoding="utf-8") + FILE_STYLE


def fingerprint() -> str:
    """What the files depend on besides VERSION: document.css changes with the site."""
    return hashlib.sha256(style().encode()).hexdigest()


FILE_STYLE = """
/* ---- An export file ------------------------------------------------------------------ */

.container { max-width: var(--measure); margin-inline: auto; padding: 1.5rem 1.25rem 3rem; }

.volume-header { margin-bottom: 2rem; padding-bottom: 1rem; border-bottom: 1px solid var(--rule); }
.volume-header .series { margin: 0; color: var(--muted); font-variant: small-caps; letter-spacing: 0.03em; }
.volume-header h1 { margin-top: 0.25em; }
.volume-header .editors, .volume-header .imprint { margin: 0.25em 0; }
.volume-toc ol { padding-left: 0; list-style: none; }
.volume-toc ol ol { padding-left: 1.25em; }
.volume-toc a { text-decoration: none; }
.volume-toc a:hover { text-decoration: underline; }
.toc-heading { display: block; margin-top: 0.75em; font-weight: 600; }
.toc-number { display: inline-block; min-width: 3em; font-variant-numeric: lining-nums tabular-nums; }
.unit-compilation > h1, .unit-chapter > h1 { font-size: 1.5em; text-align: center; }
.tei-title-page { text-align: center; }
.tei-title-page > div { margin: 0 0 1em; }
.tei-title-page .tp-volumetitle { font-size: 1.6em; font-weight: 600; }
.document-source, .colophon { color: var(--muted); font-family: var(--sans); font-size: 0.8rem; overflow-wrap: anywhere; }
.document-source { margin-top: -0.5rem; }
.colophon { margin-top: 3rem; padding-top: 1rem; border-top: 1px solid var(--rule); }
:target { scroll-margin-top: 1rem; }

/* A volume's documents follow one another: a rule between them, a dotted one above notes. */
.tei-document { margin-top: 2.5rem; padding-top: 0.5rem; border-top: 1px solid var(--rule); }
main > .tei-document:first-child { border-top: 0; margin-top: 0; }
.footnotes { margin-top: 2em; border-top-style: dotted; }

@media print {
  .container { max-width: none; padding: 0; }
  .volume-toc { break-after: page; }
}
"""
