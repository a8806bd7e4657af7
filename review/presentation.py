"""How proposals look to people: changes as word diffs in context, the rendered result of a
structural fix, footnote lists for the forms. Escaped HTML in, nothing written."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe
from lxml import etree

from edition.models import Revision
from edition.tei import XML_ID, markup, tei, textlayer
from edition.tei.edits import ALLOWED, block_xml, note_body_xml, parse_fragment_list
from edition.tei.metadata import values_of
from edition.tei.render import render_html
from edition.tei.selectors import QuoteError

from . import diffs
from .actions.retarget import place_change, quote_of
from .models import Change, Proposal
from .transform import apply_changes

Kind = Change.Kind
NOTE_MARKERS = {
    Kind.NOTE_ADD: '<ins class="note-marker" title="footnote added here">[new note]</ins>',
    Kind.NOTE_EDIT: '<mark class="note-marker" title="footnote edited">[note]</mark>',
    Kind.NOTE_REMOVE: '<del class="note-marker" title="footnote removed">[note]</del>',
}


def _window(text: str, start: int, end: int, context: int) -> tuple[int, int]:
    """`context` code points either side of [start, end), widened to whole words."""
    lo = text.rfind(" ", 0, start - context) + 1 if start > context else 0
    hi = text.find(" ", min(end + context, len(text)))
    return lo, len(text) if hi == -1 else hi


def _framed(text: str, lo: int, hi: int, html: str) -> str:
    return ("… " if lo > 0 else "") + html + (" …" if hi < len(text) else "")


def word_diff_in_context(text: str, start: int, end: int, replacement: str,
                         context: int = 160) -> str:
    """Escaped HTML: the words around [start, end), diffed word by word against the change."""
    lo, hi = _window(text, start, end, context)
    new = text[lo:start] + replacement + text[end:hi]
    return _framed(text, lo, hi, diffs.diff_html(text[lo:hi], new))


def point_in_context(text: str, pos: int, marker_html: str, context: int) -> str:
    lo, hi = _window(text, pos, pos, context)
    html = escape(text[lo:pos]) + marker_html + escape(text[pos:hi])
    return _framed(text, lo, hi, html).replace("\n\n", " ¶ ")


def fragment_text(content: str) -> str:
    """The text layer of submitted block TEI ('' when it does not parse: applying says why)."""
    try:
        _, elements = parse_fragment_list(content, allowed=set(ALLOWED))
    except ValueError:
        return ""
    wrapper = etree.Element(tei("div"))
    wrapper.extend(elements)
    return textlayer.text_of(wrapper)


def attributes_diff(change: Change, revision: Revision) -> str:
    """Escaped HTML: each attribute a metadata change sets, "name: old → new"."""
    now = values_of(revision.element)
    return "; ".join(
        f"{escape(name)}: <del>{escape(now.get(name) or '(none)')}</del> → "
        f"<ins>{escape(value or '(none)')}</ins>" for name, value in change.attributes.items())


def short_diff(change: Change, text: str, revision: Revision | None = None) -> str:
    """One line of a queue row: the change in a little context, escaped HTML. A metadata
    change needs the `revision` its old values are read from."""
    if change.is_metadata:
        return attributes_diff(change, revision) if revision is not None else escape(
            "; ".join(f"{name} → {value or '(none)'}" for name, value in change.attributes.items()))
    if change.is_markup:
        return escape(change.markup.describe(text[change.start:change.end]))
    if change.kind == Kind.TEXT:
        return diffs.in_context(text, change.start, change.end, change.content, context=60)
    if change.kind == Kind.STRUCTURE:
        return diffs.in_context(text, change.start, change.end, fragment_text(change.content),
                                context=60)
    return point_in_context(text, change.start, NOTE_MARKERS[change.kind], 60)


# A queue row shows a change this long (characters removed plus inserted) folded: its size,
# and the whole diff behind "show all" in a box of its own height.
LONG_CHANGE = 400


@dataclass
class RowDiff:
    label: str  # the kind of change
    html: str  # escaped HTML (short_diff), safe to mark
    removed: int = 0
    inserted: int = 0

    @property
    def is_long(self) -> bool:
        return self.removed + self.inserted > LONG_CHANGE


def row_diff(change: Change, text: str) -> RowDiff:
    """A change as a row of the queue (or the dashboard) shows it."""
    removed = 0 if change.is_metadata else change.end - change.start
    return RowDiff(change.get_kind_display(), mark_safe(short_diff(change, text)),
                   removed=removed, inserted=len(change.content))


@dataclass
class ChangeView:
    change: Change
    diff: str  # escaped HTML (diffs / escape), safe to mark
    source_before: str = ""  # TEI source, plain text: the template escapes it
    source_after: str = ""
    source_diff: str = ""
    pages: list = field(default_factory=list)  # review.page_images.ChangePage: its page(s)


def describe(change: Change, revision: Revision) -> ChangeView:
    text, start, end = revision.text, change.start, change.end
    if change.is_metadata:
        now = values_of(revision.element)
        before = "\n".join(f'{name}="{now[name]}"' for name in change.attributes if name in now)
        after = "\n".join(f'{name}="{value}"' for name, value in change.attributes.items()
                          if value)
        return ChangeView(change, mark_safe(attributes_diff(change, revision)), before, after,
                          mark_safe(diffs.diff_html(before, after)))
    if change.is_markup:
        return _describe_markup(change, revision)
    if change.kind == Kind.TEXT:
        return ChangeView(change, mark_safe(word_diff_in_context(text, start, end,
                                                                 change.content)))
    if change.kind == Kind.STRUCTURE:
        try:
            before = (block_xml(revision.element, start, end, revision.layer)
                      if end > start else "")
        except ValueError:  # a conflicted proposal's range may no longer cover whole blocks
            before = ""
        diff = word_diff_in_context(text, start, end, fragment_text(change.content))
    else:
        anchor = revision.layer.note(change.note_id) if change.note_id else None
        before = note_body_xml(anchor.element) if anchor else ""
        diff = point_in_context(text, start, NOTE_MARKERS[change.kind], 160)
    after = "" if change.kind == Kind.NOTE_REMOVE else change.content
    # The source's indentation is not part of the change: diff the markup, not the layout.
    source_diff = diffs.diff_html(_squash(before), _squash(after))
    return ChangeView(change, mark_safe(diff), before, after, mark_safe(source_diff))


def _describe_markup(change: Change, revision: Revision) -> ChangeView:
    """“wrap “Kishi” in persName corresp=#p_KN1”, with the block's TEI before and after."""
    text = revision.text
    summary = escape(change.markup.describe(text[change.start:change.end]))
    block = next(((lo, hi) for lo, hi in revision.layer.block_spans()
                  if lo <= change.start and change.end <= hi), None)
    try:
        before = block_xml(revision.element, *block) if block else ""
        changed = markup.apply(revision.element, change.start, change.end, change.markup)
        after = block_xml(changed, *block) if block else ""
    except ValueError:  # a conflicted proposal's words may have moved
        before = after = ""
    return ChangeView(change, mark_safe(summary), before, after,
                      mark_safe(diffs.diff_html(_squash(before), _squash(after))))


def _squash(xml: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r">\s+<", "><", xml)).strip()


def rendered_result(proposal: Proposal, changes: list[Change]) -> tuple[str, str]:
    """(HTML of the document as it would read after the change, or the reason it cannot)."""
    slug = proposal.document.edition.slug
    revision = proposal.anchor_revision
    try:
        applied = apply_changes(revision.element, changes, text=revision.text)
    except ValueError as exc:  # TextChangeError, FragmentError, TEIError
        return "", str(exc)
    # render_html escapes every text node and attribute: safe by construction.
    html = render_html(applied.element,
                       doc_href=lambda xml_id: reverse("edition:document", args=[slug, xml_id]))
    return mark_safe(html), ""


def where_now(change: Change, text: str, *, quote: str | None = None) -> str:
    """Escaped HTML: the current text around where the change's quote (or `quote`, a
    suggestion) is found again, marked ("" when it is not found, or not by a quote)."""
    if change.names_note or change.is_metadata:
        return ""
    try:
        spec = place_change(change, text, quote=quote or quote_of(change), content="")
    except QuoteError:
        return ""
    lo, hi = _window(text, spec.start, spec.end, 160)
    middle = (f"<mark>{escape(text[spec.start:spec.end])}</mark>" if spec.end > spec.start
              else '<mark class="point" title="here">‸</mark>')
    html = escape(text[lo:spec.start]) + middle + escape(text[spec.end:hi])
    return mark_safe(_framed(text, lo, hi, html).replace("\n\n", " ¶ "))


def footnotes(revision: Revision) -> list[dict]:
    """The revision's footnotes for a form's chooser: id, offset, label and first words."""
    notes = []
    for anchor in revision.layer.notes:
        note = anchor.element
        if note.get(XML_ID):
            source = note.get("type") == "source"
            notes.append({"id": note.get(XML_ID), "offset": anchor.offset,
                          "label": "Source note" if source else f"Note {note.get('n') or '?'}",
                          "words": textlayer.text_of(note)[:70]})
    return notes
