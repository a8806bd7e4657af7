"""Suggestions (the import's findings and the checks') as offers on a document's current
revision: where each still applies, and the address of the proposing form with its change
placed and its content filled in.

A suggestion is shown only while its finding still holds on the current text (the quote is
there, the block is still what the finding saw); once a proposal fixed it, or the text moved on,
it is no longer offered. Nothing is rewritten: the stored quote stays on its own revision. The
checks an edition turned off are not offered at all.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.db.models import Count, Q
from django.urls import reverse
from lxml import etree

from .models import Document, Edition, Revision, Suggestion
from .tei import XML_ID, local_name
from .tei.edits import child_spans, note_body_xml
from .tei.selectors import Quote, QuoteError, place_quote, selector
from .tei.textlayer import TextChangeError, apply_change, build

Check = Suggestion.Check


@dataclass(frozen=True)
class Offer:
    """A suggestion that still applies to the current revision: where its quote is now
    (`start`/`end` and the quote, on the document's text layer or on footnote `note_id`'s own),
    and the prefilled proposing form ("" when the check offers no fix)."""

    suggestion: Suggestion
    propose_url: str
    also_fixes: int = 0  # other open suggestions the same proposal repairs (one footnote)
    start: int = 0
    end: int = 0
    quote: dict = field(default_factory=dict)  # prefix, exact, suffix as the text is now
    fields: dict = field(default_factory=dict)  # the proposing form's, as in `propose_url`
    fixes: list = field(default_factory=list)  # pks of the suggestions the fix repairs

    @property
    def document(self) -> Document:
        return self.suggestion.document


def offered(document: Document) -> list[Suggestion]:
    """The document's open suggestions of the checks its edition has on."""
    # The page: an OCR suggestion shows its region of the page image (whose address names
    # the edition, at hand).
    found = list(document.suggestions.open().enabled_in(document.edition).select_related("page"))
    for suggestion in found:
        if suggestion.page is not None:
            suggestion.page.edition = document.edition
    return found


def offers(document: Document, revision: Revision) -> list[Offer]:
    """The document's open suggestions that still apply to `revision` (its current one)."""
    open_ = offered(document)
    return _offers(document, revision, open_, open_) if open_ else []


def edition_offers(edition: Edition, suggestions: list[Suggestion]) -> list[Offer]:
    """Offers for these suggestions (a page of an edition's list), each on its document's
    current revision: one query for the documents' revisions, one for their other open
    suggestions (a footnote's fixes go together)."""
    by_document: dict[int, list[Suggestion]] = defaultdict(list)
    for suggestion in suggestions:
        by_document[suggestion.document_id].append(suggestion)
    documents = {d.pk: d for d in Document.objects.filter(pk__in=by_document)
                 .select_related("current_revision")}
    siblings: dict[int, list[Suggestion]] = defaultdict(list)
    for other in (Suggestion.objects.filter(document__in=list(documents)).open()
                  .enabled_in(edition)):
        siblings[other.document_id].append(other)
    found = []
    for document_id, mine in by_document.items():
        document = documents[document_id]
        document.edition = edition
        for suggestion in mine:
            suggestion.document = document
        found += _offers(document, document.current_revision, mine, siblings[document_id])
    order = {s.pk: i for i, s in enumerate(suggestions)}
    return sorted(found, key=lambda o: order[o.suggestion.pk])


def offer_of(suggestion: Suggestion) -> Offer | None:
    """The offer of one open suggestion on its document's current revision, or None when it
    no longer applies (or its check is off)."""
    document = suggestion.document
    if suggestion.dismissed_at or suggestion.proposed_at or suggestion.check_name in (
            document.edition.disabled_checks or []):
        return None
    found = _offers(document, document.current_revision, [suggestion], offered(document))
    return found[0] if found else None


def counts(edition: Edition) -> dict[str, tuple[int, int]]:
    """Open suggestions recorded in the edition, by check name (the checks turned off left
    out): how many, and how many fix the running text (those a batch can carry: review's
    "Fix all N in this volume"). Recorded, so one that a revision since has fixed counts until
    the checks run again."""
    rows = (Suggestion.objects.filter(document__edition=edition).open().enabled_in(edition)
            .values_list("check_name")
            .annotate(n=Count("pk"), text=Count("pk", filter=Q(change="text", note_id="")))
            .order_by())
    return {name: (n, text) for name, n, text in rows}


def _offers(document: Document, revision: Revision, wanted: list[Suggestion],
            open_: list[Suggestion]) -> list[Offer]:
    base = reverse("review:propose", args=[document.edition.slug, document.xml_id])
    div = revision.element
    spans = [(child, span) for child, span in child_spans(div, revision.layer)
             if span[0] is not None]
    found = []
    for suggestion in wanted:
        if suggestion.check_name == Check.RENDER:
            # About the whole revision, not a place in it: it applies while that revision is
            # current (a new one passed the whole gate), shown at the document's start.
            if suggestion.revision_id == revision.pk:
                found.append(Offer(suggestion, "", start=0, end=0,
                                   quote=selector(revision.text, 0, 0)))
            continue
        placed = _where(suggestion, div, revision.text)
        if placed is None:
            continue
        start, end, text = placed
        here = {"start": start, "end": end, "quote": selector(text, start, end)}
        if not suggestion.has_fix:
            found.append(Offer(suggestion, "", **here))
            continue
        fields = _fields(suggestion, div, spans, revision.text, open_)
        if fields is not None:
            also = fields.pop("also_fixes", 0)
            fixes = fields.pop("fixes", [suggestion.pk])
            fields.update(rev=revision.number, action="place")
            found.append(Offer(suggestion, f"{base}?{urlencode(fields)}", also, fields=fields,
                               fixes=fixes, **here))
    return found


def _where(suggestion: Suggestion, div: etree._Element, text: str):
    """(start, end, the text they are offsets in) of the suggestion's quote now, or None."""
    if suggestion.note_id:
        note = next((n for n in div.iter("{*}note") if n.get(XML_ID) == suggestion.note_id),
                    None)
        if note is None:
            return None
        text = build(note).text
    if not suggestion.exact and suggestion.placement == "before":
        point = text.find(suggestion.prefix + suggestion.suffix)
        return None if point < 0 else (point + len(suggestion.prefix),) * 2 + (text,)
    start = _place(text, suggestion)
    return None if start is None else (start, start + len(suggestion.exact), text)


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
    fixes: dict[tuple[int, int], tuple[str, int]] = {}
    for other in [suggestion, *open_]:  # its own fix first: an overlapping other one yields
        if other.note_id == suggestion.note_id and other.change == suggestion.change:
            start = _place(note_text, other)
            if start is None:
                continue
            end = start + len(other.exact)
            if not any(a < end and start < b or (a, b) == (start, end) for a, b in fixes):
                fixes[start, end] = (other.replacement, other.pk)
    edited = note
    try:
        for (start, end), (replacement, _) in sorted(fixes.items(), reverse=True):
            edited = apply_change(edited, start, end, replacement)
    except TextChangeError:
        return None
    return {"kind": "note-edit", "note_id": suggestion.note_id,
            "note_edit_body": note_body_xml(edited), "also_fixes": len(fixes) - 1,
            "fixes": [pk for _, pk in fixes.values()]}
