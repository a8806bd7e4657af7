"""PDF exports, laid out by WeasyPrint: the volume and a single document.

The volume has a title page, a table of contents with page numbers, then every document from a
new page; each document (and compilation) is a PDF bookmark. Running heads give the volume
title on left-hand pages and the current document's heading on right-hand ones, folios are at
the foot, "[Page 276]" marks where a page of the printed edition begins, and footnotes are set
at the foot of the page where their marker falls (CSS `float: footnote`). The style is
pdf.css next to this module.

Each document's print HTML is the reading view's (`render_html`) reworked with lxml, and is
cached per revision (`sources.fragment`); the layout itself is redone for every file.
WeasyPrint fetches nothing: the HTML and CSS reference no resource, and the URL fetcher
refuses everything but `data:` URLs, so a build never touches the network. Fonts are the
system's (fontconfig).
"""

from __future__ import annotations

import html
import re
from datetime import timezone
from pathlib import Path

import lxml.html
from weasyprint import CSS, HTML
from weasyprint.urls import URLFetcher

from ..tei.render import render_html
from .sources import Part, Volume, fragment

VERSION = 1  # bump when the print HTML changes: cached fragments are keyed by it
STYLE = (Path(__file__).with_name("pdf.css")).read_text(encoding="utf-8")
# Links to other documents leave the renderer as "emend-doc:d143#fn-d143fn1" and are resolved
# when a file is assembled, so a cached fragment is right whichever documents the file holds.
# Text cannot contain "<" (it is escaped), so only real <a> tags match.
DOC_LINK = "emend-doc:"
DOC_LINK_RE = re.compile(r'(<a\s[^<>]*?href=")emend-doc:([^"#]+)(#[^"]*)?"')
HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
BLOCKS = frozenset({"p", "div", "section", "blockquote", "ul", "ol", "li", "table", "caption",
                    "thead", "tbody", "tr", "th", "td", "figure", "figcaption", *HEADINGS})


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
        body.append(_document(vol, part))
    classes = "has-compilations" if compilation else ""
    return _pdf(vol, vol.edition.title or vol.edition.slug, "\n".join(body), classes)


def document(vol: Volume, part: Part) -> bytes:
    edition = vol.edition
    header = (f'<div class="document-header" data-running="{_esc(_running_title(vol))}">'
              f"{_esc(edition.title or edition.slug)}</div>")
    return _pdf(vol, f"{part.document} — {edition.short_title}",
                header + "\n" + _document(vol, part))


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


# -- one document -----------------------------------------------------------------------------

def _document(vol: Volume, part: Part) -> str:
    article = fragment("pdf", VERSION, part, lambda: print_html(part))
    url = vol.site_url(part)
    return (f'{article}<div class="document-source">{_esc(part.label)}, revision '
            f'{part.revision.number}: <a href="{_esc(url)}">{_esc(url)}</a></div>')


def print_html(part: Part) -> str:
    """The document's `<article>` for print: footnote bodies moved to their markers, the
    heading carrying the running head, `<p>` made `<div class="p">` (see `_block_safe`)."""
    rendered = render_html(part.revision.element, doc_href=lambda xml_id: DOC_LINK + xml_id)
    article = lxml.html.fragment_fromstring(rendered)
    for element in article.iter():
        element.attrib.pop("data-o", None)  # the reading view's text-layer offsets
    heading = article.find("h1")
    if heading is not None:
        heading.set("data-running", str(part.document))
    _footnotes_in_place(article)
    _block_safe(article)
    return lxml.html.tostring(article, encoding="unicode")


def _footnotes_in_place(article) -> None:
    """Each note's body replaces its marker, in a `span.footnote` that pdf.css floats to the
    foot of the page. Notes without a marker stay in the notes section at the end."""
    for item in article.xpath("./section[@class='footnotes']/ol/li"):
        note_id = item.get("id", "")[len("fn-"):]
        markers = article.xpath(".//a[@id=$id]", id=f"fnref-{note_id}")
        if not markers or markers[0].getparent().tag != "sup":
            continue
        for back in item.find_class("fn-back"):
            back.drop_tree()
        for label in item.find_class("fn-label"):
            label.drop_tree()  # "1." is the ::footnote-marker now
        note = lxml.html.Element("span", {"id": f"fn-{note_id}", "class": "footnote"})
        if "footnote-source" in (item.get("class") or ""):
            note.set("class", "footnote footnote-source")
        note.set("data-label", markers[0].text_content())  # "1", as the call shows it
        note.text = (item.text or "").lstrip()
        note.extend(item)  # moves the children
        if len(note):
            note[-1].tail = (note[-1].tail or "").rstrip()
        else:
            note.text = note.text.rstrip()
        _drop_block_whitespace(note)
        sup = markers[0].getparent()
        note.tail = sup.tail
        sup.getparent().replace(sup, note)
        item.getparent().remove(item)
    for section in article.xpath("./section[@class='footnotes']"):
        if not section.xpath("./ol/li"):
            section.getparent().remove(section)


def _drop_block_whitespace(note) -> None:
    """The renderer puts a newline between blocks. In the `<article>` it is nothing, but in a
    footnote (an inline box holding blocks) WeasyPrint sets each as an empty line."""
    for element in note.iter():
        if element.tag in BLOCKS and not (element.tail or "").strip():
            element.tail = None
        if len(element) and element[0].tag in BLOCKS and not (element.text or "").strip():
            element.text = None


def _block_safe(article) -> None:
    """WeasyPrint re-parses the HTML we serialise, and an HTML parser ends a `<p>` at the first
    block inside it (a footnote's list, table or second paragraph would then leave the note).
    So paragraphs become `<div class="p">`, and headings inside footnote bodies (they would
    end an enclosing heading) `<div class="fn-head">`."""
    for element in list(article.iter("p")):
        element.tag = "div"
        element.set("class", " ".join(["p", *(element.get("class") or "").split()]))
    for note in article.find_class("footnote"):
        for element in list(note.iter(*HEADINGS)):
            element.tag = "div"
            element.set("class", " ".join(["fn-head", *(element.get("class") or "").split()]))
