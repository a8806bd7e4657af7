"""JSON in and out for the API (review/api.py): request bodies to ChangeSpecs, objects to dicts.

Request bodies are parsed by hand rather than with DRF serializers: a change is one of six shapes
chosen by `kind`, and each error names the field (`changes[1].selector.start`) so a client can
point at it. Offsets are placed and checked against the text of the *base* revision — the text
the client selected in — before `actions.propose` maps them to the head revision.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from edition.models import Document, Revision
from edition.tei import XML_ID
from edition.tei.edits import FragmentLimitError, check_fragment_size, note_body_xml
from edition.tei import markup
from edition.tei.markup import Markup
from edition.tei.metadata import MetadataError, values_of
from edition.tei.metadata import check as check_attributes
from edition.tei.selectors import (Quote, QuoteAmbiguous, QuoteNotFound, place_quote,
                                   quote_candidates, utf16_to_code_points)
from edition.tei.textlayer import text_of

from .actions.propose import ChangeSpec, check_change_count
from .models import Change, Event, Proposal, attributes_content

Kind = Change.Kind
# Which request field carries a change's content, by kind (and back, in responses).
CONTENT_FIELD = {Kind.TEXT: "replacement", Kind.NOTE_ADD: "body", Kind.NOTE_EDIT: "body",
                 Kind.STRUCTURE: "fragment"}
OFFSET_UNITS = ("code-points", "utf-16")


class ApiError(Exception):
    """A request the API refuses; rendered as {"error": {"code", "message", **extra}}."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def invalid(field: str, message: str) -> ApiError:
    return ApiError(400, "invalid", f"{field}: {message}", field=field)


# ------------------------------------------------------------------------------------------
# Requests


def parse_body(data: Any) -> dict:
    if not isinstance(data, dict):
        raise ApiError(400, "invalid", "the request body must be a JSON object")
    return data


def base_revision(document: Document, data: dict) -> Revision:
    """The revision the client's offsets refer to (`base_revision`, required)."""
    number = data.get("base_revision")
    if not _is_int(number):
        raise invalid("base_revision", "required: the revision number the selection was made on "
                                       "(`revision` of the document endpoint)")
    try:
        return document.revisions.get(number=number)
    except Revision.DoesNotExist:
        current = document.current_revision.number
        raise ApiError(409, "stale", f"{document.xml_id} has no revision {number} (the current "
                                     f"revision is {current}); reload the document",
                       current_revision=current) from None


def rationale(data: dict) -> str:
    value = data.get("rationale", "")
    if not isinstance(value, str) or not value.strip():
        raise invalid("rationale", "required: say why the text should change")
    return value


def change_specs(data: dict, base: Revision) -> list[ChangeSpec]:
    """The changes of a proposal body: the single-change form or `changes: [...]`."""
    units = data.get("offsets", "code-points")
    if units not in OFFSET_UNITS:
        raise invalid("offsets", f"must be one of {', '.join(OFFSET_UNITS)}")
    if "changes" in data:
        changes = data["changes"]
        if not isinstance(changes, list) or not changes:
            raise invalid("changes", "must be a non-empty list of changes")
        check_change_count(len(changes))  # before placing any of them
        return [_change_spec(c, base, units, f"changes[{i}]") for i, c in enumerate(changes)]
    return [_change_spec(data, base, units, "")]


def _change_spec(data: Any, base: Revision, units: str, where: str) -> ChangeSpec:
    def name(field: str) -> str:
        return f"{where}.{field}" if where else field

    if not isinstance(data, dict):
        raise invalid(where, "a change must be a JSON object")
    kind = data.get("kind", Kind.TEXT)
    if kind not in Kind.values:
        raise invalid(name("kind"), f"must be one of {', '.join(Kind.values)}")
    content = ""
    if kind in CONTENT_FIELD:
        field = CONTENT_FIELD[kind]
        content = data.get(field)
        if not isinstance(content, str):
            raise invalid(name(field), f"required for a “{kind}” change (a string)")
        try:
            check_fragment_size(content)
        except FragmentLimitError as exc:
            raise ApiError(413, exc.code, f"{name(field)}: {exc}", field=name(field)) from None
    if kind == Kind.METADATA:
        return ChangeSpec(kind, 0, 0, attributes_content(_attributes(data, name("attributes"))))
    if kind in Change.EXISTING_NOTE_KINDS:
        note = data.get("note")
        if not isinstance(note, str) or not note:
            raise invalid(name("note"), f"required for a “{kind}” change: the footnote's id")
        # The anchor is looked up by actions.propose; the offsets are placeholders.
        return ChangeSpec(kind, 0, 0, content, note_id=note)
    start, end, exact = _place(data.get("selector"), base, units, name("selector"))
    if kind == Kind.MARKUP:
        content = _markup(data, name).to_content()
    return ChangeSpec(kind, start, end, content, exact=exact)


def _markup(data: dict, name) -> Markup:
    """A markup change's `operation` ("wrap" unless given), `element` and `attributes`."""
    operation = data.get("operation", "wrap")
    element, attributes = data.get("element"), data.get("attributes", {})
    if not isinstance(element, str) or not element:
        raise invalid(name("element"), "required for a “markup” change: "
                                       + ", ".join(markup.ELEMENTS))
    if not isinstance(attributes, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in attributes.items()):
        raise invalid(name("attributes"), "must be an object of attribute name → string")
    try:
        return markup.check(Markup(str(operation), element, attributes))
    except markup.MarkupError as exc:
        raise ApiError(422, "markup", str(exc), field=name("element")) from None


def _attributes(data: dict, where: str) -> dict[str, str]:
    """A metadata change's `attributes`, checked by edition.tei.metadata's rules: 422 naming
    the attribute at fault."""
    try:
        return check_attributes(data.get("attributes"))
    except MetadataError as exc:
        field = f"{where}.{exc.attribute}" if exc.attribute else where
        raise ApiError(422, "metadata", f"{field}: {exc}", field=field) from None


def _place(selector: Any, base: Revision, units: str, where: str) -> tuple[int, int, str]:
    """Offsets of a TextQuoteSelector (+ optional start/end) on the base revision's text."""
    if not isinstance(selector, dict):
        raise invalid(where, "required: {exact, prefix, suffix, start, end}")
    exact = selector.get("exact")
    if not isinstance(exact, str):
        raise invalid(f"{where}.exact", "required: the selected text (\"\" for a point)")
    prefix, suffix = selector.get("prefix", ""), selector.get("suffix", "")
    if not isinstance(prefix, str) or not isinstance(suffix, str):
        raise invalid(where, "prefix and suffix must be strings")
    text = base.text
    quote = Quote(exact, prefix, suffix)
    start, end = selector.get("start"), selector.get("end")
    if start is None and end is None:
        return _find(text, quote, base.number)
    for field, value in (("start", start), ("end", end)):
        if not _is_int(value) or value < 0:
            raise invalid(f"{where}.{field}", "must be a non-negative integer (give both start "
                                              "and end, or neither to place the quote)")
    if end < start:
        raise invalid(f"{where}.end", "must not be before start")
    if units == "utf-16":
        start, end = _from_utf16(text, start), _from_utf16(text, end)
    if end > len(text):
        raise ApiError(422, "offsets", f"offsets {start}–{end} are outside the text of revision "
                                       f"{base.number} (0–{len(text)})")
    if text[start:end] != exact:
        raise ApiError(
            422, "quote",
            f"the quote “{exact[:60]}” is not at {start}–{end} of revision {base.number} "
            f"(found “{text[start:end][:60]}”)",
            candidates=quote_candidates(text, quote, hint=start)[:20] if exact else [],
        )
    return start, end, exact


def _find(text: str, quote: Quote, number: int) -> tuple[int, int, str]:
    """A quote sent without offsets, placed by `place_quote`'s rule (no hint: a tie is an
    error the client resolves by sending start and end)."""
    try:
        start = place_quote(text, quote)
    except QuoteNotFound:
        what = f"the quote “{quote.exact[:60]}”" if quote.exact else \
            "a point with that prefix and suffix"
        raise ApiError(422, "quote", f"{what} does not occur in revision {number}",
                       candidates=[]) from None
    except QuoteAmbiguous as exc:
        raise ApiError(
            422, "ambiguous",
            f"the quote “{quote.exact[:60]}” occurs {len(exc.candidates)} times in revision "
            f"{number} and its prefix/suffix do not tell them apart: give start and end",
            candidates=exc.candidates[:20]) from None
    return start, start + len(quote.exact), quote.exact


def _from_utf16(text: str, offset: int) -> int:
    try:
        index = utf16_to_code_points(text, offset)
    except ValueError as exc:
        raise ApiError(422, "offsets", str(exc)) from None
    # utf16_to_code_points rounds an offset inside a surrogate pair up; refuse it instead.
    if len(text[:index].encode("utf-16-le")) // 2 != offset:
        raise ApiError(422, "offsets", f"UTF-16 offset {offset} splits a character outside the "
                                       "Basic Multilingual Plane")
    return index


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# ------------------------------------------------------------------------------------------
# Responses


def document_json(document: Document, revision: Revision) -> dict:
    """The published text of one revision: everything a client needs to select and propose."""
    layer = revision.layer
    footnotes = []
    for anchor in layer.notes:
        note = anchor.element
        footnotes.append({
            "id": note.get(XML_ID), "n": note.get("n"), "type": note.get("type"),
            "offset": anchor.offset, "text": text_of(note), "tei": note_body_xml(note),
        })
    edition = document.edition
    return {
        "edition": edition.slug,
        "document": document.xml_id,
        "number": document.number,
        "title": document.title,
        # Where the page stands in the volume: front matter, body or back; a document, a
        # section, a compilation or chapter; the unit it stands in.
        "matter": document.matter,
        "type": document.div_type,
        "parent": document.parent.xml_id if document.parent_id else None,
        "revision": revision.number,
        "current_revision": document.current_revision.number,
        "text": layer.text,
        "attributes": values_of(revision.element),
        "footnotes": footnotes,
        "page_breaks": [
            {"n": a.element.get("n"), "id": a.element.get(XML_ID), "offset": a.offset}
            for a in layer.page_breaks
        ],
        "tei": revision.tei,
        "url": document.get_absolute_url(),
        "revision_url": revision.get_absolute_url(),
    }


def change_json(change: Change) -> dict:
    data: dict[str, Any] = {"kind": change.kind}
    if change.is_metadata:
        data["attributes"] = change.attributes
    elif change.is_markup:
        payload = change.markup
        data.update(operation=payload.operation, element=payload.element,
                    attributes=payload.attributes,
                    selector={"exact": change.exact, "prefix": change.prefix,
                              "suffix": change.suffix, "start": change.start, "end": change.end})
    elif change.names_note:
        data["note"] = change.note_id
    else:
        data["selector"] = {"exact": change.exact, "prefix": change.prefix,
                            "suffix": change.suffix, "start": change.start, "end": change.end}
    if change.kind in CONTENT_FIELD:
        data[CONTENT_FIELD[change.kind]] = change.content
    if change.found:  # re-anchoring's suggestion for a proposal that needs review
        data["found"] = change.found
    return data


def proposal_json(proposal: Proposal, *, detail: bool = False) -> dict:
    """A proposal; `detail` adds its timeline and approval count (two more queries)."""
    document = proposal.document
    data = {
        "id": proposal.pk,
        "url": reverse("review:api:proposal", args=[proposal.pk]),
        "html_url": proposal.get_absolute_url(),
        "edition": document.edition.slug,
        "document": document.xml_id,
        "author": proposal.author.get_username(),
        "status": proposal.status,
        "status_reason": proposal.status_reason,
        "context_changed": proposal.context_changed,
        "revision": proposal.anchor_revision.number,
        "applied_revision": proposal.applied_revision.number if proposal.applied_revision else None,
        "rationale": proposal.rationale,
        "changes": [change_json(c) for c in proposal.changes.all()],
        "created_at": proposal.created_at.isoformat(),
        "updated_at": proposal.updated_at.isoformat(),
        "decided_at": proposal.decided_at.isoformat() if proposal.decided_at else None,
    }
    if detail:
        data["approvals"] = len(proposal.approvers())
        data["required_approvals"] = document.edition.required_approvals
        data["events"] = [event_json(e) for e in proposal.events.select_related("actor")]
    return data


def event_json(event: Event) -> dict:
    return {
        "kind": event.kind,
        "actor": event.actor.get_username() if event.actor else None,
        "body": event.body,
        "created_at": event.created_at.isoformat(),
    }
