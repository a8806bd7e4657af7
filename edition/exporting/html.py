"""HTML exports: one self-contained file, readable offline and printable.

A file holds a title block (series, title, editors, imprint), a table of contents (the volume
only), every document's `<article>` as the reading site renders it (footnote markers and notes
linking both ways, `[Page 276]` markers with ids), and a colophon naming the revision of every
document and linking to the public site. Its style sheet is inline (a print-friendly subset of
edition/static/edition/emend.css); it loads nothing and runs no script.

Each document's article is cached per revision (`sources.fragment`), so the volume is string
joining plus one pass that resolves links between documents. The article is rendered with a
*token* where a link to another document goes, and the token is resolved only when a file is
assembled: `#d143` when d143 is in the file, its page on the public site otherwise. The cached
article therefore does not depend on which documents the volume holds (a document imported
later gets in-file links from the cached articles that point to it) nor on whether it is built
for the volume or for a single document's file: both share one cache entry.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import timezone as dt_timezone

from ..tei.render import render_html
from . import sources
from .sources import Part, Volume

VERSION = 1  # bump when the output changes: cached fragments and stored files are then rebuilt
FORMAT = "html"

# XML 1.0 cannot carry U+0000, so a NUL in rendered TEI is always one of our tokens.
_TOKEN = "\x00"
# A link to another document as `render_html` writes it with `_doc_token`: the token, then
# "#fn-…" when the TEI ref points at one of that document's notes.
_DOC_LINK = re.compile(f"{_TOKEN}(?P<doc>[^{_TOKEN}]+){_TOKEN}(?P<frag>#[^\"]*)?")
# The reading site's text-layer offsets (for proposing): meaningless in a file. Only inside a
# tag: text is escaped, so `<` starts a tag and `[^<>]` cannot leave it.
_OFFSET_ATTR = re.compile(r'(<[^<>]*?) data-o="\d+"')


# -- one document's article -------------------------------------------------------------------

def article(part: Part) -> str:
    """The document's `<article>`, links to other documents still tokens (`resolve_links`)."""
    return sources.fragment(FORMAT, VERSION, part, lambda: _render(part))


def _render(part: Part) -> str:
    rendered = render_html(part.revision.element, doc_href=_doc_token)
    return _OFFSET_ATTR.sub(r"\1", rendered)


def _doc_token(xml_id: str) -> str:
    return f"{_TOKEN}{xml_id}{_TOKEN}"


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
    edition = vol.edition
    body = [_title_block(vol), _contents(vol), "<main>"]
    part_heading = ""
    for part in vol.parts:
        if part.document.part and part.document.part != part_heading:
            part_heading = part.document.part
            body.append(f'<h2 class="compilation">{_esc(part_heading)}</h2>')
        body.append(article(part))
        body.append(_document_source(vol, part))
    body.append("</main>")
    body.append(_colophon(vol))
    page = _page(edition.title or edition.slug, "\n".join(body))
    return resolve_links(page, vol.doc_href).encode("utf-8")


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
        f"<style>\n{STYLE}</style>\n</head>\n<body>\n<div class=\"container\">\n"
        f"{body}\n</div>\n</body>\n</html>\n"
    )


def _title_block(vol: Volume) -> str:
    edition = vol.edition
    lines = ['<header class="volume-header" id="emend-title">']
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
    """Every document, by compilation when the volume has them."""
    lines = ['<nav class="volume-toc" id="emend-contents" aria-labelledby="emend-contents-h">',
             '<h2 id="emend-contents-h">Contents</h2>', "<ol>"]
    current = None
    for part in vol.parts:
        doc = part.document
        if doc.part != current:
            if current:
                lines.append("</ol></li>")
            current = doc.part
            if current:
                lines.append(f'<li class="toc-compilation"><span>{_esc(current)}</span><ol>')
        number = f'<span class="toc-number">{doc.number}.</span> ' if doc.number else ""
        lines.append(f'<li><a href="#{_esc(doc.xml_id)}">{number}{_esc(doc.title)}</a></li>')
    if current:
        lines.append("</ol></li>")
    lines += ["</ol>", "</nav>"]
    return "\n".join(lines)


def _document_source(vol: Volume, part: Part) -> str:
    url = vol.site_url(part)
    return (f'<p class="document-source">{_esc(part.label)}, revision {part.revision.number}: '
            f'<a href="{_esc(url)}">{_esc(url)}</a></p>')


def _when(vol: Volume) -> str:
    moment = vol.built_at.astimezone(dt_timezone.utc)
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


# A subset of edition/static/edition/emend.css: no site chrome, plus the volume's own blocks.
STYLE = """\
:root {
  --text: #1d1d1b; --muted: #6b6660; --bg: #fffdf8; --surface: #f4f0e6; --rule: #d9d2c3;
  --link: #1f4e8c; --highlight: #fff0b3; --warning-rule: #b7791f;
  --measure: 38rem;
  --serif: Georgia, "Iowan Old Style", "Source Serif 4", "Source Serif Pro", serif;
  --sans: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --text: #e8e4da; --muted: #a39d92; --bg: #181715; --surface: #24221e; --rule: #3d3a34;
    --link: #8fb8f0; --highlight: #4a3f12; --warning-rule: #d69e2e;
  }
}
*, *::before, *::after { box-sizing: border-box; }
body {
  margin: 0; background: var(--bg); color: var(--text); font-family: var(--serif);
  font-size: 1.0625rem; line-height: 1.6; font-kerning: normal;
}
.container { max-width: var(--measure); margin-inline: auto; padding: 1.5rem 1.25rem 3rem; }
h1, h2, h3, h4, h5, h6 { line-height: 1.25; font-weight: 600; margin: 1.6em 0 0.6em; }
h1 { font-size: 1.6em; margin-top: 0.5em; }
h2 { font-size: 1.3em; }
h3 { font-size: 1.12em; }
h4, h5, h6 { font-size: 1em; }
p { margin: 0 0 1em; }
cite { font-style: italic; }
a { color: var(--link); text-underline-offset: 0.15em; text-decoration-thickness: 0.06em; }

.volume-header { margin-bottom: 2rem; padding-bottom: 1rem; border-bottom: 1px solid var(--rule); }
.volume-header .series { margin: 0; color: var(--muted); font-variant: small-caps; letter-spacing: 0.03em; }
.volume-header h1 { margin-top: 0.25em; }
.volume-header .editors, .volume-header .imprint { margin: 0.25em 0; }
.volume-toc ol { padding-left: 0; list-style: none; }
.volume-toc ol ol { padding-left: 1.25em; }
.volume-toc a { text-decoration: none; }
.volume-toc a:hover { text-decoration: underline; }
.toc-compilation > span { display: block; margin-top: 0.75em; font-weight: 600; }
.toc-number { display: inline-block; min-width: 3em; font-variant-numeric: lining-nums tabular-nums; }
h2.compilation { margin-top: 3rem; font-size: 1.5em; text-align: center; }
.document-source, .colophon { color: var(--muted); font-family: var(--sans); font-size: 0.8rem; overflow-wrap: anywhere; }
.document-source { margin-top: -0.5rem; }
.colophon { margin-top: 3rem; padding-top: 1rem; border-top: 1px solid var(--rule); }

.tei-document { hyphens: auto; margin-top: 2.5rem; padding-top: 0.5rem; border-top: 1px solid var(--rule); }
main > .tei-document:first-child, .compilation + .tei-document { border-top: 0; margin-top: 0; }
.tei-document h1 { font-size: 1.45em; }
.opener { margin-bottom: 1.25em; }
.dateline { text-align: right; font-style: italic; }
.closer { margin: 1.5em 0; text-align: right; }
.closer p { margin-bottom: 0.25em; }
.salute { margin-bottom: 0.5em; }
.list-subject, .list-participants { margin: 1em 0 1.25em; }
.list-subject .list-head, .list-participants .list-head {
  margin: 0 0 0.25em; font-size: 0.85em; font-weight: 600; letter-spacing: 0.08em;
}
ul.plain { margin: 0; padding: 0; list-style: none; }
ul.plain li { margin-bottom: 0.15em; }
.list-head { margin-bottom: 0.25em; font-weight: 600; }
.tei-document ul, .tei-document ol { margin: 0 0 1em; padding-left: 1.5em; }
.tei-document .label { margin-right: 0.25em; }
.pb {
  float: right; margin: 0.3em 0 0 0.75em; font-family: var(--sans); font-size: 0.7rem;
  line-height: 1.4; color: var(--muted); text-decoration: none; white-space: nowrap;
}
.tei-document > .pb { float: none; display: block; text-align: right; margin: 0 0 0.5em; }
.fnref { font-size: 0.72em; line-height: 0; vertical-align: super; font-family: var(--sans); }
.fnref a { padding: 0 0.15em; text-decoration: none; }
.fnref-source a { font-variant: small-caps; }
.footnotes { margin-top: 2em; padding-top: 0.75em; border-top: 1px dotted var(--rule); font-size: 0.88em; line-height: 1.5; }
.footnotes h2 { font-size: 1.05em; margin-top: 0; }
.footnotes ol { margin: 0; padding: 0; list-style: none; }
.footnotes li { margin-bottom: 0.6em; padding: 0.15em 0.35em; }
.footnotes li > p { margin: 0.35em 0 0; }
.footnotes .fn-label + p { display: inline; }
.fn-label { font-weight: 600; margin-right: 0.2em; }
.fn-back { text-decoration: none; font-family: var(--sans); padding-inline: 0.2em; }
.inline-note::before { content: " ["; }
.inline-note::after { content: "]"; }
:target { scroll-margin-top: 1rem; }
.footnotes li:target, .pb:target, .fnref a:target { background: var(--highlight); }
.tei-document q { quotes: none; }
.tei-document blockquote { margin: 1em 0 1em 1.5em; padding-left: 1em; border-left: 3px solid var(--rule); }
.smallcaps { font-variant: small-caps; }
.underline { text-decoration: underline; }
.strikethrough, .tei-del { text-decoration: line-through; }
.tei-div { margin-top: 2em; }
.tei-div-attachment { padding-top: 1em; border-top: 1px dashed var(--rule); }
.tei-table { border-collapse: collapse; margin: 1em 0; font-size: 0.92em; }
.tei-table caption { font-weight: 600; text-align: left; padding-bottom: 0.3em; }
.tei-table th, .tei-table td { padding: 0.25em 0.6em; border: 1px solid var(--rule); vertical-align: top; text-align: left; }
.tei-figure { margin: 1.5em 0; padding: 0.75em; background: var(--surface); }
.tei-figure figcaption { font-size: 0.9em; color: var(--muted); }
.graphic { color: var(--muted); font-style: italic; }

@media print {
  :root { --text: #000; --muted: #444; --bg: #fff; --surface: #fff; --rule: #999; --link: #000; --highlight: transparent; }
  @page { margin: 2cm 2.2cm; }
  body { font-size: 11pt; line-height: 1.45; }
  .container { max-width: none; padding: 0; }
  a { color: inherit; text-decoration: none; }
  .fn-back { display: none; }
  .volume-toc { break-after: page; }
  p { orphans: 3; widows: 3; }
  .footnotes li, .tei-table tr { break-inside: avoid-page; }
  h1, h2, h3, .list-head { break-after: avoid-page; }
}
"""
