"""The import's suggestions as offers on a document's current revision: where each still applies,
and the address of the proposing form with its change placed and its content filled in.

A suggestion is shown only while its finding still holds on the current text (the quote is
there, the block is still what the finding saw); once a proposal fixed it, or the text moved on,
it is no longer offered. Nothing is rewritten: the stored quote stays on its own revision.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.urls import reverse
from lxml import etree

from .models import Document, Revision, Suggestion
from .tei import XML_ID, local_name
from .tei.edits import child_spans, note_body_xml
from .tei.selectors import Quote, QuoteError, place_quote, selector
from .tei.textlayer import TextChangeError, apply_change, build

Check = Suggestion.Check


@dataclass(frozen=True)
class Offer:
    suggestion: Suggestion
    propose_url: str
    also_fixes: int = 0  # other open suggestions the same proposal repairs (one footnote)


def offers(document: Document, revision: Revision) -> list[Offer]:
    """The document's open suggestions that still apply to `revision` (its current one)."""
    open_ = list(document.suggestions.open())
    if not open_:
        return []
    base = reverse("review:propose", args=[document.edition.slug, document.xml_id])
    div = revision.element
    spans = [(child, span) for child, span in child_spans(div, revision.layer)
             if span[0] is not None]
    found = []
    for suggestion in open_:
        fields = _fields(suggestion, div, spans, revision.text, open_)
        if fields is not None:
            also = fields.pop("also_fixes", 0)
            fields.update(rev=revision.number, action="place")
            found.append(Offer(suggestion, f"{base}?{urlencode(fields)}", also))
    return found


def _fields(suggestion: Suggestion, div: etree._Element, spans, text: str,
            open_: list[Suggestion]) -> dict | None:
    """The proposing form's fields for the fix, or None when it no longer applies."""
    if suggestion.note_id:
        return _note_fields(suggestion, div, open_)
    if suggestion.change == "text":
        start = _place(text, suggestion)
        if start is None:
            return None
        end = start + len(suggestion.exact)
        return {"kind": "text", "start": start, "end": end, **selector(text, start, end),
                "replacement": suggestion.replacement}
    span = _block_span(suggestion, div, spans, text)
    if span is None:
        return None
    return {"kind": "structure", "start": span[0], "end": span[1], **selector(text, *span),
            "placement": suggestion.placement, "fragment": suggestion.fragment}


def _place(text: str, suggestion: Suggestion) -> int | None:
    try:
        return place_quote(text, Quote(suggestion.exact, suggestion.prefix, suggestion.suffix))
    except QuoteError:
        return None


def _block_span(suggestion: Suggestion, div: etree._Element, spans, text: str):
    """The blocks a structural suggestion fixes, while they are still as the import left them.
    `spans`: the div's top-level blocks with text, (element, (start, end))."""
    if suggestion.placement == "before":
        # An insertion point has no words of its own: its whole context must still be there.
        if suggestion.check_name == Check.DATELINE and div.find(".//{*}dateline") is not None:
            return None
        point = len(suggestion.prefix)
        here = text.find(suggestion.prefix + suggestion.suffix)
        if here < 0 or text.find(suggestion.prefix + suggestion.suffix, here + 1) >= 0:
            return None
        start = here + point
        return (start, start) if any(a == start for _, (a, _) in spans) else None
    start = _place(text, suggestion)
    if start is None:
        return None
    end = start + len(suggestion.exact)
    block = next((child for child, span in spans if span == (start, end)), None)
    expected = "list" if suggestion.check_name == Check.LIST_ITEMS else "p"
    if block is None or local_name(block) != expected:
        return None
    if expected == "list" and any(build(item).text for item in block.findall("{*}item")):
        return None
    return start, end


def _note_fields(suggestion: Suggestion, div: etree._Element,
                 open_: list[Suggestion]) -> dict | None:
    """A footnote edit carrying this fix and every other open one in the same footnote, so
    one proposal repairs the footnote whichever link was followed."""
    note = next((n for n in div.iter("{*}note") if n.get(XML_ID) == suggestion.note_id), None)
    if note is None:
        return None
    note_text = build(note).text
    if _place(note_text, suggestion) is None:
        return None
    fixes = []
    for other in open_:
        if other.note_id == suggestion.note_id and other.change == suggestion.change:
            start = _place(note_text, other)
            if start is not None:
                fixes.append((start, start + len(other.exact), other.replacement))
    edited = note
    try:
        for start, end, replacement in sorted(set(fixes), reverse=True):
            edited = apply_change(edited, start, end, replacement)
    except TextChangeError:
        return None
    return {"kind": "note-edit", "note_id": suggestion.note_id,
            "note_edit_body": note_body_xml(edited), "also_fixes": len(set(fixes)) - 1}
