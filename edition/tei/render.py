"""Render one FRUS document (`div type="document"`) as an HTML fragment for the reading view.

The output is built from escaped strings only: TEI markup is never passed through, every text
node and attribute value goes through `html.escape`, and links are made only from targets we
recognise (documents of the edition, anchors of this document, http(s) URLs). The function is
pure, so callers cache the result per revision.

Ids in the output (the page templates and the CSS rely on them):
- `<article class="tei-document" id="{doc id}">` wraps everything;
- note markers `fnref-{note id}`, footnotes `fn-{note id}`, notes heading `notes-{doc id}`;
- page markers `pg_276` (the TEI id when it has that form, else from `@n`) and register entries
  `p_KN1`, `t_CPI1` (persons and terms: `/<edition>/persons/#p_KN1` lands on the entry) keep
  their TEI ids; other TEI `xml:id`s become `tei-{id}`: TEI content never reaches the page's own
  ids (`propose-root`, `main`), nor its classes (`rend` goes through REND_CLASSES).

Links come from `Links`: documents of the edition (`doc_href`, None for one that is neither
here nor upstream: the ref stays text, marked `ref-missing`), other volumes (`volume_href`), and
the persons and terms units (a `persName corresp` or `gloss target` becomes a link there).
Elements outside the TEI namespace (XHTML `script`, `object`, `iframe` embedded in a figure)
never reach the output: a placeholder says they are kept in the TEI.

Offsets for proposing (review/static/review/propose.js): every HTML element that starts a block
of the text layer carries `data-o`, the code-point offset of that block's first character in
`textlayer.build(div).text`. What the layer leaves out is marked so a script can skip it: note
markers (`.fnref`), page markers (`.pb`), the notes section (`.footnotes`) and stand-ins such as
"[Image]" (`.layer-skip`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from lxml import etree

from . import FRUS_NS, TEI_NS, XML_ID, XML_NS, collapse, local_name
from .notes import SKIPPED, Footnote, collect_footnotes, document_id, unique_id
from .render_blocks import ListsTablesFigures
from .render_blocks import attr as _attr
from .render_blocks import css_class as _class
from .textlayer import BLOCK_ELEMENTS, TextLayer
from .textlayer import build as build_layer

XML_LANG = f"{{{XML_NS}}}lang"

_XML_SPACE = re.compile(r"[ \t\r\n]+")
_PAGE_ID = re.compile(r"pg_[\w.-]+")
_SAYS_SOURCE = re.compile(r"source\s*:", re.IGNORECASE)
# Entries of the persons and terms registers keep their ids: links from documents land on them.
_ENTRY_ID = re.compile(r"[pt]_[\w.-]+")
_NOT_ID = re.compile(r"[^\w.-]+")
# rend values shown with a class of ours (document.css, pdf.css); other values are dropped,
# never passed on as a class: a TEI value must not reach the page's own classes.
REND_CLASSES = {"smallcaps": "smallcaps", "sc": "smallcaps", "small-caps": "smallcaps",
                "underline": "underline", "strikethrough": "strikethrough",
                "strike": "strikethrough"}
# A document of the same edition, optionally one of its notes: "d139", "d139fn2".
_DOC_TARGET = re.compile(r"(?P<doc>d\d+[a-z]?)(?:fn\w+)?")
_EXTERNAL = re.compile(r"https?://", re.IGNORECASE)
# Another volume, whole or one of its documents: "frus1958-60v17", "frus1958-60v17#d12",
# "frus1958-60v17/d12".
_VOLUME_TARGET = re.compile(
    r"(?P<volume>frus[A-Za-z0-9][A-Za-z0-9-]*)(?:[#/](?P<doc>[A-Za-z_][\w.-]*)?)?/?"
)
_DOC_NUMBER = re.compile(r"d(\d+[a-z]?)")
_OUR_NAMESPACES = (f"{{{TEI_NS}}}", f"{{{FRUS_NS}}}")
# The descendants `_HTMLRenderer._assign_ids` may give an id to, in document order.
_ID_CANDIDATES = etree.XPath(".//*[@xml:id or (local-name() = 'pb' and @n)]")
EMBEDDED_MEDIA = "Embedded media (not shown here: kept in the TEI)"

SECTIONS = frozenset({"div", "attachment", "floatingText"})
# Paragraph-like elements: HTML class of the `<p>` they become ("" for a plain `<p>`).
PARAGRAPHS = {
    "p": "",
    "ab": "ab",
    "dateline": "dateline",
    "salute": "salute",
    "signed": "signed",
    "byline": "byline",
    "trailer": "trailer",
    "addrLine": "addrline",
    "l": "l",
    "speaker": "speaker",
    "stage": "stage",
}
# Containers that become a `<div>` with this class.
BOXES = {
    "opener": "opener",
    "closer": "closer",
    "postscript": "postscript",
    "address": "address",
    "lg": "lg",
    "sp": "sp",
    "epigraph": "epigraph",
    "argument": "argument",
    "listBibl": "listbibl",
}
# Inline elements that are plain text to a reader; the class lets CSS or a side panel find them.
SPANS = {
    "placeName": "placename",
    "geogName": "geogname",
    "date": "date",
    "time": "time",
    "docDate": "date",
    "persName": "persname",
    "name": "name",
    "orgName": "orgname",
    "gloss": "gloss",
    "rs": "rs",
    "term": "term",
    "seg": "seg",
    "num": "num",
    "foreign": "foreign",
    "docAuthor": "docauthor",
}
# Attributes worth keeping as data-* on those spans (ids for a future side panel).
DATA_ATTRIBUTES = {"persName": ("corresp",), "gloss": ("target",), "rs": ("corresp", "type")}
# Mentions linked to a register entry: element → (register, attribute pointing to the entry).
# The same pairs as edition/registers.py MENTIONS (which must not be imported here: no database).
MENTIONS = {"persName": ("persons", "corresp"), "gloss": ("terms", "target"),
            "term": ("terms", "corresp")}
HI_TAGS = {
    "italic": "em",
    "i": "em",
    "strong": "strong",
    "bold": "strong",
    "b": "strong",
    "superscript": "sup",
    "sup": "sup",
    "subscript": "sub",
    "sub": "sub",
}
# Elements whose HTML is block-level: a `<p>` holding one must become a `<div>`.
BLOCK_TRIGGERS = frozenset(SECTIONS | set(BOXES) | {"p", "ab", "list", "table", "figure"})


def block_offsets(div: etree._Element,
                  layer: TextLayer | None = None) -> dict[etree._Element, int]:
    """TEI block element → offset of its first character in the text layer (`layer`, the
    div's own when the caller has it built already).

    Only blocks whose first character is their own text get one: a block that opens with a
    nested block (a `p` starting with a `list`) has no text of its own at its start, so the
    offset would belong to the nested block's element instead.
    """
    offsets: dict[etree._Element, int] = {}
    seen: set[etree._Element] = set()  # blocks whose first text has gone by (segments in order)
    blocks_of: dict[etree._Element, list[etree._Element]] = {}  # host → its blocks, inner first
    for segment in (layer or build_layer(div)).segments:
        if not segment.content:
            continue
        host = segment.element if segment.slot == "text" else segment.element.getparent()
        blocks = blocks_of.get(host)
        if blocks is None:
            chain = [host, *host.iterancestors()]
            blocks = blocks_of[host] = [element for element in chain
                                        if local_name(element) in BLOCK_ELEMENTS]
        for element in blocks:
            if element not in seen:
                seen.add(element)
                if element is blocks[0]:
                    offsets[element] = segment.start
    offsets.pop(div, None)  # the <article> stands for the div; its text is in its children
    return offsets


def _nowhere(volume: str, document: str) -> str | None:
    return None


@dataclass(frozen=True)
class Links:
    """Where links from a document go; each answer an href, or None for "not a link".

    `doc_href(xml_id)`: a unit of this edition (None: neither here nor upstream).
    `volume_href(volume, document)`: another volume, `document` "" for the whole volume.
    `registers`: register ("persons", "terms") → the address of its unit's page.
    """

    doc_href: Callable[[str], str | None]
    volume_href: Callable[[str, str], str | None] = _nowhere
    registers: tuple[tuple[str, str], ...] = ()

    def register_href(self, register: str) -> str | None:
        return dict(self.registers).get(register)


def render_html(div: etree._Element, *, doc_href: Callable[[str], str | None] | None = None,
                links: Links | None = None, layer: TextLayer | None = None,
                footnotes: list[Footnote] | None = None) -> str:
    """The document as one `<article>` HTML fragment, footnotes at its end. Pass `links`, or
    `doc_href` alone for links to documents only; `layer`, the div's text layer if built;
    `footnotes`, its `collect_footnotes` if listed."""
    if links is None:
        if doc_href is None:
            raise TypeError("render_html needs doc_href or links")
        links = Links(doc_href=doc_href)
    return _HTMLRenderer(div, links, layer, footnotes).render()


def is_foreign(el: etree._Element) -> bool:
    """An element outside the TEI namespace and FRUS's extension of it (`frus:attachment`):
    XHTML, SVG… embedded in a figure."""
    tag = el.tag
    return isinstance(tag, str) and not tag.startswith(_OUR_NAMESPACES)


def follows_foreign(el: etree._Element) -> bool:
    """Whether `el` comes right after another foreign element (space and comments between):
    one placeholder stands for the run."""
    previous = el.getprevious()
    while previous is not None and not local_name(previous):
        if (previous.tail or "").strip():
            return False
        previous = previous.getprevious()
    return previous is not None and is_foreign(previous) and not (previous.tail or "").strip()


def _html_id(name: str, xml_id: str, n: str) -> str:
    """The HTML id for a TEI element, in namespaces the page's own ids never use: page breaks
    `pg_…` (history.state.gov's anchors: the TEI id when it has that form, else from @n),
    register entries `p_…`/`t_…` as they are, any other TEI id `tei-…`; "" for none. Notes get
    `fn-`/`fnref-` elsewhere."""
    if name == "pb":
        if _PAGE_ID.fullmatch(xml_id):
            return xml_id
        if n:
            return "pg_" + _NOT_ID.sub("_", n)
    if _ENTRY_ID.fullmatch(xml_id):
        return xml_id
    return f"tei-{_NOT_ID.sub('_', xml_id)}" if xml_id else ""


def page_anchor(pb_id: str, n: str) -> str:
    """The HTML id of a `pb`'s "[Page N]" marker (before any de-duplication: a volume's page
    ids are unique), which the reading view's page images follow."""
    return _html_id("pb", pb_id, n)


class _Target(NamedTuple):
    href: str  # "" when the target is known but missing
    external: bool = False
    missing: str = ""  # why there is no link: the title of the plain text


def _doc_label(xml_id: str) -> str:
    match = _DOC_NUMBER.fullmatch(xml_id)
    return f"Document {match[1]}" if match else xml_id


class _HTMLRenderer(ListsTablesFigures):
    def __init__(self, div: etree._Element, links: Links,
                 layer: TextLayer | None = None,
                 footnotes: list[Footnote] | None = None) -> None:
        self.root = div
        self.links = links
        self.doc_id = document_id(div)
        self.footnotes = collect_footnotes(div) if footnotes is None else footnotes
        self.note_of = {fn.element: fn for fn in self.footnotes}
        self.marked: set[str] = set()  # notes whose marker made it into the text
        self.link_depth = 0  # inside an <a>: anchors must wait until it closes
        self.deferred: list[str] = []
        self.block_cache: dict[etree._Element, bool] = {}
        self.offsets = block_offsets(div, layer)
        self._assign_ids()

    def _assign_ids(self) -> None:
        used = {self.doc_id, f"notes-{self.doc_id}"}
        for fn in self.footnotes:
            used |= {f"fn-{fn.id}", f"fnref-{fn.id}"}
        # TEI id → fragment id in the output, for same-document refs.
        self.anchors: dict[str, str] = {self.doc_id: self.doc_id}
        for fn in self.footnotes:
            self.anchors[fn.id] = f"fn-{fn.id}"
        self.html_ids: dict[etree._Element, str] = {}
        # Only elements with an xml:id, and page breaks with an @n, can get an id
        # (`_html_id`): found by one XPath, in document order (`root.iter()`'s), instead of a
        # walk over every element; the few found climb to the top for what encloses them.
        for el in _ID_CANDIDATES(self.root):
            if el in self.note_of:  # footnotes use fn-{id}
                continue
            name = local_name(el)
            if name in SKIPPED or is_foreign(el) or any(
                    local_name(a) in SKIPPED or is_foreign(a) for a in el.iterancestors()):
                continue  # never rendered
            xml_id = (el.get(XML_ID) or "").strip()
            wanted = _html_id(name, xml_id, (el.get("n") or "").strip())
            if not wanted:
                continue
            html_id = unique_id(wanted, used)
            self.html_ids[el] = html_id
            self.anchors.setdefault(xml_id or html_id, html_id)

    # -- the whole fragment ------------------------------------------------------------------

    def render(self) -> str:
        lang = (self.root.get(XML_LANG) or "en").strip() or "en"
        body = self.content(self.root, phrasing=False, trim=True)
        parts = [
            f'<article class="tei-document" id="{_attr(self.doc_id)}" lang="{_attr(lang)}">',
            body,
        ]
        if self.footnotes:
            parts.append(self.footnote_section())
        parts.append("</article>")
        return "\n".join(p for p in parts if p) + "\n"

    def footnote_section(self) -> str:
        heading_id = _attr(f"notes-{self.doc_id}")
        items = []
        for fn in self.footnotes:
            note_id = _attr(fn.id)
            label = html.escape(fn.label)
            body = self.content(fn.element, phrasing=False, trim=True)
            back = ""
            if fn.id in self.marked:  # a note inside skipped markup has no marker to go back to
                back_label = (
                    "Back to the text of the source note"
                    if fn.is_source
                    else f"Back to the text of note {fn.label}"
                )
                back = (
                    f' <a class="fn-back" href="#fnref-{note_id}" '
                    f'aria-label="{_attr(back_label)}">↩</a>'
                )
            cls = "footnote footnote-source" if fn.is_source else "footnote"
            # FRUS source notes begin "Source: …": a "Source." label would say it twice.
            says_source = fn.is_source and _SAYS_SOURCE.match(
                _XML_SPACE.sub(" ", "".join(fn.element.itertext())).lstrip())
            label_html = "" if says_source else f'<span class="fn-label">{label}.</span> '
            items.append(f'<li id="fn-{note_id}" class="{cls}">{label_html}{body}{back}</li>')
        return (
            f'<section class="footnotes" aria-labelledby="{heading_id}">\n'
            f'<h2 id="{heading_id}">Notes</h2>\n<ol>\n' + "\n".join(items) + "\n</ol>\n</section>"
        )

    # -- content of a container --------------------------------------------------------------

    def content(self, el: etree._Element, *, phrasing: bool, trim: bool) -> str:
        """Children of `el` with their text; whitespace at block edges is dropped.

        `phrasing`: the HTML parent only allows inline content. `trim`: the parent is a block,
        so space at its start and end means nothing.
        """
        nodes: list[tuple[str, bool | None]] = []  # (html, is_block), or (raw text, None)

        def add_text(raw: str | None) -> None:
            if not raw:
                return
            text = collapse(raw)
            if nodes and nodes[-1][1] is None:  # merge across skipped comments / empty output
                text = _XML_SPACE.sub(" ", nodes[-1][0] + text)
                nodes[-1] = (text, None)
            else:
                nodes.append((text, None))

        add_text(el.text)
        for child in el:
            if name := local_name(child):
                rendered, block = self.element(child, phrasing=phrasing)
                if rendered and name == "pb" and _glued_after(nodes, child):
                    rendered = self.page_break(child, space_after=True)
                if rendered:
                    nodes.append((rendered, block))
            add_text(child.tail)

        out: list[str] = []
        prev_block = False
        last = len(nodes) - 1
        for i, (value, block) in enumerate(nodes):
            if block is None:
                # Space at an edge (a neighbouring block, or the start or end of a block
                # parent) means nothing. Text never follows text here: `add_text` merges.
                if (nodes[i - 1][1] if i else trim):
                    value = value.lstrip(" ")
                if (nodes[i + 1][1] if i < last else trim):
                    value = value.rstrip(" ")
                if not value:
                    continue
                if "&" in value or "<" in value or ">" in value:
                    value = html.escape(value, quote=False)
            if out and (block or prev_block):
                out.append("\n")  # one block per line keeps the fragment readable
            out.append(value)
            prev_block = bool(block)
        return "".join(out)

    def has_block(self, el: etree._Element) -> bool:
        """Whether `el` holds block-level HTML (a list, a table, a paragraph…) outside notes."""
        if el in self.block_cache:
            return self.block_cache[el]
        result = False
        for child in el:
            name = local_name(child)
            if not name or name == "note" or name in SKIPPED or is_foreign(child):
                continue
            if name in BLOCK_TRIGGERS or self.is_block_quote(child) or self.has_block(child):
                result = True
                break
        self.block_cache[el] = result
        return result

    def is_block_quote(self, el: etree._Element) -> bool:
        return local_name(el) in ("quote", "q") and (
            "block" in (el.get("rend") or "") or self.has_block(el)
        )

    # -- one element -------------------------------------------------------------------------

    def open(self, tag: str, el: etree._Element, classes: str = "", *, offset: bool = True,
             **attrs: str) -> str:
        """An opening tag carrying the element's id, language and text-layer offset; every
        value escaped. `offset=False` when the tag's first text is not the element's own."""
        parts = [tag]
        if el in self.html_ids:
            parts.append(f'id="{_attr(self.html_ids[el])}"')
        if offset and el in self.offsets:
            parts.append(f'data-o="{self.offsets[el]}"')
        if classes:
            parts.append(f'class="{_attr(classes)}"')
        lang = (el.get(XML_LANG) or "").strip()
        if lang:
            parts.append(f'lang="{_attr(lang)}"')
        for key, value in attrs.items():
            parts.append(f'{key.replace("_", "-")}="{_attr(value)}"')
        return "<" + " ".join(parts) + ">"

    def wrap(self, el: etree._Element, classes: str, *, phrasing: bool, **attrs: str):
        """Generic rendering: a span, or a div when the element holds blocks."""
        if not phrasing and self.has_block(el):
            inner = self.content(el, phrasing=False, trim=True)
            return f'{self.open("div", el, classes, **attrs)}{inner}</div>', True
        inner = self.content(el, phrasing=True, trim=False)
        return f'{self.open("span", el, classes, **attrs)}{inner}</span>', False

    def element(self, el: etree._Element, *, phrasing: bool) -> tuple[str, bool]:
        """HTML for `el` (its tail excluded) and whether that HTML is block-level."""
        name = local_name(el)
        if name in SKIPPED:
            return "", False
        if is_foreign(el):
            return self.embedded(el, phrasing=phrasing)
        if name == "note":
            return self.note(el, phrasing=phrasing)
        if name == "pb":
            return self.page_break(el), False
        if name == "lb":
            return self.open("br", el), False
        if name == "head":
            return self.head(el, phrasing=phrasing)
        if name in PARAGRAPHS:
            cls = PARAGRAPHS[name]
            if phrasing:
                return self.wrap(el, cls or "p", phrasing=True)
            if self.has_block(el):
                inner = self.content(el, phrasing=False, trim=True)
                return f'{self.open("div", el, cls or "p")}{inner}</div>', True
            inner = self.content(el, phrasing=True, trim=True)
            return f'{self.open("p", el, cls)}{inner}</p>', True
        if name in BOXES and not phrasing:
            inner = self.content(el, phrasing=False, trim=True)
            return f'{self.open("div", el, BOXES[name])}{inner}</div>', True
        if name in SECTIONS and not phrasing:
            kind = el.get("type") or ("attachment" if name == "attachment" else "")
            cls = _class("tei-div", f"tei-div-{kind}" if kind else "")
            inner = self.content(el, phrasing=False, trim=True)
            return f'{self.open("section", el, cls)}\n{inner}\n</section>', True
        if name == "list" and not phrasing:
            return self.listing(el), True
        if name == "table" and not phrasing:
            return self.table(el), True
        if name == "figure" and not phrasing:
            return self.figure(el), True
        if name in ("quote", "q"):
            if not phrasing and self.is_block_quote(el):
                inner = self.content(el, phrasing=False, trim=True)
                return f'{self.open("blockquote", el)}{inner}</blockquote>', True
            return self.inline(el, "q", phrasing=phrasing)
        if name == "ref":
            return self.ref(el, phrasing=phrasing)
        if name == "hi":
            return self.hi(el, phrasing=phrasing)
        if name == "emph":
            return self.inline(el, "em", phrasing=phrasing)
        if name == "title":
            return self.inline(el, "cite", phrasing=phrasing, classes="title")
        if name == "graphic":
            return f'{self.open("span", el, "graphic layer-skip")}[Image]</span>', False
        if name in MENTIONS:
            mention = self.mention(el, phrasing=phrasing)
            if mention:
                return mention, False
        if name in SPANS:
            data = {
                f"data_{attr}": el.get(attr)
                for attr in DATA_ATTRIBUTES.get(name, ())
                if el.get(attr)
            }
            return self.wrap(el, SPANS[name], phrasing=phrasing, **data)
        # Unknown (or misplaced) markup: keep every word, say where it came from.
        return self.wrap(el, _class(f"tei-{name}"), phrasing=phrasing)

    def inline(self, el: etree._Element, tag: str, *, phrasing: bool, classes: str = ""):
        if not phrasing and self.has_block(el):
            return self.wrap(el, _class(f"tei-{local_name(el)}", classes), phrasing=False)
        inner = self.content(el, phrasing=True, trim=False)
        return f"{self.open(tag, el, classes)}{inner}</{tag}>", False

    def hi(self, el: etree._Element, *, phrasing: bool) -> tuple[str, bool]:
        tokens = (el.get("rend") or "").split()
        if not phrasing and self.has_block(el):
            known = (t for t in tokens if t in HI_TAGS or t in REND_CLASSES)
            return self.wrap(el, _class("hi", *(f"hi-{t}" for t in known)), phrasing=False)
        inner = self.content(el, phrasing=True, trim=False)
        tags = [HI_TAGS[t] for t in tokens if t in HI_TAGS]
        classes = [REND_CLASSES[t] for t in tokens if t in REND_CLASSES]
        # Several renditions nest ("italic strong" → <em><strong>); the outermost carries the id.
        for tag in reversed(tags[1:]):
            inner = f"<{tag}>{inner}</{tag}>"
        if tags:
            cls = _class(*classes)
            return f"{self.open(tags[0], el, cls)}{inner}</{tags[0]}>", False
        cls = _class(*classes) if classes else "hi"
        return f'{self.open("span", el, cls)}{inner}</span>', False

    def head(self, el: etree._Element, *, phrasing: bool) -> tuple[str, bool]:
        parent = el.getparent()
        if phrasing:
            return self.wrap(el, "head", phrasing=True)
        if parent is self.root:
            first = next(c for c in parent if local_name(c) == "head")
            if first is el:
                inner = self.content(el, phrasing=True, trim=True)
                return f'{self.open("h1", el)}{inner}</h1>', True
        elif parent is not None and local_name(parent) in SECTIONS:
            level = self.heading_level(el)
            inner = self.content(el, phrasing=True, trim=True)
            return f'{self.open(f"h{level}", el)}{inner}</h{level}>', True
        inner = self.content(el, phrasing=True, trim=True)
        return f'{self.open("p", el, "head")}{inner}</p>', True

    def heading_level(self, el: etree._Element) -> int:
        depth = 0
        for ancestor in el.iterancestors():
            if ancestor is self.root:
                break
            if local_name(ancestor) in SECTIONS:
                depth += 1
        # The document title is h1; sections and subject lists start at h2.
        return min(6, 1 + max(depth, 1))

    # -- anchors: notes, page breaks, links ----------------------------------------------------

    def note(self, el: etree._Element, *, phrasing: bool) -> tuple[str, bool]:
        fn = self.note_of.get(el)
        if fn is None:
            # A note inside a note: its words stay inside the parent's body.
            return self.wrap(el, "inline-note", phrasing=phrasing)
        note_id = _attr(fn.id)
        aria = "Source note" if fn.is_source else f"Note {fn.label}"
        cls = "fnref fnref-source" if fn.is_source else "fnref"
        marker = (
            f'<sup class="{cls}"><a href="#fn-{note_id}" id="fnref-{note_id}" '
            f'aria-label="{_attr(aria)}">{html.escape(fn.label)}</a></sup>'
        )
        self.marked.add(fn.id)
        return self.defer_if_in_link(marker), False

    def page_break(self, el: etree._Element, *, space_after: bool = False) -> str:
        n = _XML_SPACE.sub(" ", el.get("n") or "").strip()
        label = f"Page {n}" if n else "Page break"
        # The space goes inside the marker, which is not part of the text layer (proposing
        # skips .pb), so offsets in the page stay those of the text.
        text = f"[{html.escape(label)}]" + (" " if space_after else "")
        if el in self.html_ids:
            page_id = _attr(self.html_ids[el])
            marker = (
                f'<a class="pb" id="{page_id}" href="#{page_id}" aria-label="{_attr(label)}">'
                f"{text}</a>"
            )
        else:
            marker = f'<span class="pb">{text}</span>'
        return self.defer_if_in_link(marker)

    def defer_if_in_link(self, anchor: str) -> str:
        # HTML forbids <a> inside <a>: a marker inside a ref moves just after the link.
        if self.link_depth:
            self.deferred.append(anchor)
            return ""
        return anchor

    def ref_href(self, target: str) -> _Target | None:
        """Where a TEI ref target goes; a target with `missing` set names a unit we know of
        but cannot link to; None when the target must not become a link."""
        target = (target.split() or [""])[0]
        if target.startswith("#"):
            fragment = target[1:]
            if fragment in self.anchors:
                return _Target("#" + self.anchors[fragment])
            match = _DOC_TARGET.fullmatch(fragment)
            if match:
                href = self.links.doc_href(match["doc"])
                if href is None:
                    return _Target("", missing=f"{_doc_label(match['doc'])} is not in this "
                                                "edition")
                if fragment != match["doc"]:
                    href += f"#fn-{fragment}"
                return _Target(href)
            return None
        if _EXTERNAL.match(target):
            return _Target(target, external=True)
        match = _VOLUME_TARGET.fullmatch(target)
        if match and self.links.volume_href is not _nowhere:  # else: not ours to resolve
            fragment = match["doc"] or ""
            note = _DOC_TARGET.fullmatch(fragment)  # "d12fn3": document d12, its note
            document = note["doc"] if note else fragment
            href = self.links.volume_href(match["volume"], document)
            if href is None:
                what = f"{_doc_label(document)} of {match['volume']}" if document else (
                    match["volume"])
                return _Target("", missing=f"{what} is not in this edition")
            external = bool(_EXTERNAL.match(href))
            if fragment != document and not external:  # upstream note anchors are not ours
                href += f"#fn-{fragment}"
            return _Target(href, external=external)
        return None  # javascript:, relative paths: never links

    def ref(self, el: etree._Element, *, phrasing: bool) -> tuple[str, bool]:
        resolved = self.ref_href(el.get("target") or "")
        if resolved is not None and resolved.missing:
            return self.wrap(el, "ref ref-missing", phrasing=phrasing, title=resolved.missing)
        if resolved is None or self.link_depth or (not phrasing and self.has_block(el)):
            return self.wrap(el, "ref", phrasing=phrasing)
        rel = {"rel": "noopener"} if resolved.external else {}
        return self.link(el, resolved.href, **rel), False

    def link(self, el: etree._Element, href: str, classes: str = "", **attrs: str) -> str:
        """`el` as an `<a>`; note and page markers inside it move just after it."""
        self.link_depth += 1
        outer_deferred, self.deferred = self.deferred, []
        try:
            inner = self.content(el, phrasing=True, trim=False)
        finally:
            self.link_depth -= 1
        after, self.deferred = "".join(self.deferred), outer_deferred
        return f'{self.open("a", el, classes, href=href, **attrs)}{inner}</a>{after}'

    def mention(self, el: etree._Element, *, phrasing: bool) -> str:
        """A persName or gloss pointing to a register entry, as a link to the entry on the
        register's page; "" when it stays a span (no such page, inside a link, holds blocks)."""
        register, attribute = MENTIONS[local_name(el)]
        base = self.links.register_href(register)
        target = (el.get(attribute) or "").split()
        entry = target[0][1:] if target and target[0].startswith("#") else ""
        if (not base or not _ENTRY_ID.fullmatch(entry) or self.link_depth
                or (not phrasing and self.has_block(el))):
            return ""
        data = {f"data_{a}": el.get(a) for a in DATA_ATTRIBUTES.get(local_name(el), ())
                if el.get(a)}
        return self.link(el, f"{base}#{entry}", SPANS[local_name(el)], data_entry=entry, **data)

    def embedded(self, el: etree._Element, *, phrasing: bool) -> tuple[str, bool]:
        """Foreign markup (XHTML script, object, iframe…) is never rendered: one placeholder
        stands for a run of it."""
        if follows_foreign(el):
            return "", False
        tag = "span" if phrasing else "div"
        return (f'<{tag} class="embedded-media layer-skip" role="note">{EMBEDDED_MEDIA}</{tag}>',
                not phrasing)

    # -- lists, tables, figures ----------------------------------------------------------------


def _glued_after(nodes: list[tuple[str, bool | None]], pb: etree._Element) -> bool:
    """A page break with a space before it and a word right after it ("appreciation <pb/>for",
    as written back after an edit: the text layer keeps one space of the two): the marker
    needs a space after it, or it reads "[Page 276]for". A break inside a word has no space
    on either side and stays glued."""
    before = nodes[-1][0] if nodes and nodes[-1][1] is None else ""
    tail = pb.tail or ""
    return before.endswith(" ") and bool(tail) and not tail[0].isspace()
