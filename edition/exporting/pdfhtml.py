"""The PDF's HTML source for one document: what WeasyPrint lays out (edition/exporting/pdf.py).

Each document's print HTML is the reading view's (`render_html`) reworked with lxml, and is
cached per revision (`sources.fragment`). It is a module of its own so that rendering it needs
no WeasyPrint: the gate (edition/gate.py) renders every new revision's print HTML in the web
process, where neither WeasyPrint nor the libraries it loads (Pango) need to be.
"""

from __future__ import annotations

import html

import lxml.html
from lxml import etree

from . import html as html_export
from .sources import Part, Volume, fragment

VERSION = 1  # bump when the print HTML changes: cached fragments are keyed by it
# Links to other documents leave the renderer as "emend-doc:d143#fn-d143fn1" and are resolved
# when a file is assembled, so a cached fragment is right whichever documents the file holds.
DOC_LINK = "emend-doc:"
HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
BLOCKS = frozenset({"p", "div", "section", "blockquote", "ul", "ol", "li", "table", "caption",
                    "thead", "tbody", "tr", "th", "td", "figure", "figcaption", *HEADINGS})


# Compiled once, not at every document.
_NOTE_ITEMS = etree.XPath("./section[@class='footnotes']/ol/li")
_NOTES_SECTION = etree.XPath("./section[@class='footnotes']")
_ITEMS = etree.XPath("./ol/li")


def _esc(value: str) -> str:
    return html.escape(value, quote=True)


def document(vol: Volume, part: Part) -> str:
    """The document's print HTML and the line naming its source."""
    url = vol.site_url(part)
    return (f'{article(part)}<div class="document-source">{_esc(part.label)}, revision '
            f'{part.revision.number}: <a href="{_esc(url)}">{_esc(url)}</a></div>')


def article(part: Part) -> str:
    """`print_html`, cached per revision."""
    return fragment("pdf", VERSION, part, lambda: print_html(part))


def print_html(part: Part) -> str:
    """The document's `<article>` for print: footnote bodies moved to their markers, the
    heading carrying the running head, `<p>` made `<div class="p">` (see `_block_safe`)."""
    # The HTML export's rendering of the revision, its document links made ours.
    rendered = html_export.with_doc_links(html_export.tokened(part), DOC_LINK)
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
    # Each id's first <a>, found in one pass instead of a search of the article per note. The
    # renderer's ids are unique and moving note bodies adds no <a id>, so the first stays first.
    links: dict[str | None, object] = {}
    for link in article.iter("a"):
        links.setdefault(link.get("id"), link)
    for item in _NOTE_ITEMS(article):
        note_id = item.get("id", "")[len("fn-"):]
        marker = links.get(f"fnref-{note_id}")
        markers = [] if marker is None else [marker]
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
    for section in _NOTES_SECTION(article):
        if not _ITEMS(section):
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
