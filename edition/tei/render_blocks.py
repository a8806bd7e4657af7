"""Lists, tables and figures for the HTML renderer (edition/tei/render.py).

A mixin of `_HTMLRenderer`: these methods use its `open`, `content` and `element`. Kept apart
because their nesting rules (labels before items, page breaks between rows) are a topic of their
own.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

from lxml import etree

from . import collapse, local_name

_UNSAFE_CLASS = re.compile(r"[^A-Za-z0-9_-]+")


def prefix(pending: list[str]) -> str:
    """Floating pieces (labels, page markers, stray text) placed before an item's own content."""
    return " ".join(pending) + " " if pending else ""


def attr(value: str) -> str:
    return html.escape(value, quote=True)


def css_class(*names: str) -> str:
    return " ".join(_UNSAFE_CLASS.sub("-", n).strip("-") for n in names if n)


class ListsTablesFigures:
    def listing(self, el: etree._Element) -> str:
        kind = (el.get("type") or "").strip()
        heads = [c for c in el if local_name(c) == "head"]
        items = self.list_items(el)
        if kind in ("subject", "participants"):
            level = self.heading_level(el)
            parts = [self.open("section", el, css_class("list", f"list-{kind}"))]
            for head in heads:
                inner = self.content(head, phrasing=True, trim=True)
                parts.append(f'{self.open(f"h{level}", head, "list-head")}{inner}</h{level}>')
            parts.append(f'<ul class="plain">\n{items}\n</ul>\n</section>')
            return "\n".join(parts)
        ordered = kind == "ordered" or (el.get("rend") or "") in ("numbered", "ordered")
        tag = "ol" if ordered else "ul"
        cls = css_class("list", f"list-{kind}" if kind else "")
        if not heads:
            return f"{self.open(tag, el, cls)}\n{items}\n</{tag}>"
        head_html = "\n".join(
            f'{self.open("p", h, "list-head")}{self.content(h, phrasing=True, trim=True)}</p>'
            for h in heads
        )
        return f'{self.open("div", el, cls)}\n{head_html}\n<{tag}>\n{items}\n</{tag}>\n</div>'

    def list_items(self, el: etree._Element) -> str:
        """`<li>`s for a list. Labels join the item they label; anything else that sits between
        items (a page break, a note, stray text) moves into the next item, since only `<li>` may
        stand in a `<ul>`."""
        items: list[str] = []
        pending: list[str] = []
        for child, name in self.children_with_text(el):
            if name == "head":
                continue
            if name == "item":
                inner = self.content(child, phrasing=False, trim=True)
                if pending and child in self.offsets:
                    # Labels and markers come first in the <li>: the item's offset moves to a
                    # wrapper of its own text, where that text starts.
                    tag = "div" if self.has_block(child) else "span"
                    inner = f'<{tag} data-o="{self.offsets[child]}">{inner}</{tag}>'
                items.append(self.open("li", child, offset=not pending) + prefix(pending)
                             + inner + "</li>")
                pending = []
            elif name == "label":
                inner = self.content(child, phrasing=True, trim=True)
                pending.append(f'{self.open("span", child, "label")}{inner}</span>')
            elif name == "#text":
                pending.append(html.escape(child, quote=False))
            else:
                rendered, block = self.element(child, phrasing=False)
                if block:  # a nested list or paragraph straight in the list: give it an item
                    items.append("<li>" + prefix(pending) + rendered + "</li>")
                    pending = []
                elif rendered:
                    pending.append(rendered)
        if pending:
            if items:
                items[-1] = items[-1][: -len("</li>")] + " " + " ".join(pending) + "</li>"
            else:
                items.append("<li>" + " ".join(pending) + "</li>")
        return "\n".join(items)

    def children_with_text(self, el: etree._Element) -> Iterator[tuple[object, str]]:
        """Child elements with their local names, plus non-blank stray text as ("…", "#text")."""
        for raw in [el.text, *((c, c.tail) for c in el)]:
            if isinstance(raw, tuple):
                child, raw = raw
                if local_name(child):
                    yield child, local_name(child)
            if raw and raw.strip(" \t\r\n"):
                yield collapse(raw).strip(" "), "#text"

    def table(self, el: etree._Element) -> str:
        parts = [self.open("table", el, "tei-table")]
        heads = [c for c in el if local_name(c) == "head"]
        if len(heads) == 1:
            caption = self.content(heads[0], phrasing=True, trim=True)
            parts.append(f'{self.open("caption", heads[0])}{caption}</caption>')
        elif heads:  # each head is a block of the text layer: each keeps its own offset
            caption = " ".join(f'{self.open("span", h, "table-head")}'
                               f'{self.content(h, phrasing=True, trim=True)}</span>'
                               for h in heads)
            parts.append(f"<caption>{caption}</caption>")
        pending: list[str] = []
        for child, name in self.children_with_text(el):
            if name == "head":
                continue
            if name == "row":
                parts.append(self.row(child, pending))
                pending = []
            elif name == "#text":
                pending.append(html.escape(child, quote=False))
            else:
                rendered, block = self.element(child, phrasing=False)
                if block:
                    parts.append(f"<tr><td>{prefix(pending)}{rendered}</td></tr>")
                    pending = []
                elif rendered:
                    pending.append(rendered)
        if pending:
            parts.append(f"<tr><td>{' '.join(pending)}</td></tr>")
        parts.append("</table>")
        return "\n".join(parts)

    def row(self, row: etree._Element, pending: list[str]) -> str:
        cells: list[str] = []
        label_row = row.get("role") == "label"
        for child, name in self.children_with_text(row):
            if name == "cell":
                tag = "th" if label_row or child.get("role") == "label" else "td"
                spans = {}
                for tei_attr, html_attr in (("cols", "colspan"), ("rows", "rowspan")):
                    value = (child.get(tei_attr) or "").strip()
                    # isdigit() alone takes "²", which int() refuses
                    if value.isascii() and value.isdigit() and int(value) > 1:
                        spans[html_attr] = value
                inner = self.content(child, phrasing=False, trim=True)
                cells.append(f"{self.open(tag, child, **spans)}{prefix(pending)}{inner}</{tag}>")
                pending = []
            elif name == "#text":
                pending.append(html.escape(child, quote=False))
            else:
                rendered, _ = self.element(child, phrasing=False)
                if rendered:
                    pending.append(rendered)
        if pending:
            cells.append(f"<td>{' '.join(pending)}</td>")
        return self.open("tr", row) + "".join(cells) + "</tr>"

    def figure(self, el: etree._Element) -> str:
        captions: list[str] = []
        body: list[str] = []
        for child, name in self.children_with_text(el):
            if name in ("head", "figDesc"):
                inner = self.content(child, phrasing=True, trim=True)
                cls = "figure-head" if name == "head" else "figdesc"
                captions.append(f"{self.open('span', child, cls)}{inner}</span>")
            elif name == "#text":
                body.append(html.escape(child, quote=False))
            else:
                rendered, _ = self.element(child, phrasing=False)
                body.append(rendered)
        caption = f"<figcaption>{' '.join(captions)}</figcaption>" if captions else ""
        return f'{self.open("figure", el, "tei-figure")}{"".join(body)}{caption}</figure>'
