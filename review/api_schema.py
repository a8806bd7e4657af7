"""The OpenAPI 3 description of the API's bodies and parameters (served at /api/schema/).

The views parse their bodies by hand (review/serializers.py), so drf-spectacular cannot see
them: these JSON Schemas say what serializers.py accepts and answers, and review/api.py attaches
them with `@extend_schema`. Keep the two in step: tests/review/test_api_fuzz.py sends what these
schemas allow and must never get a 500.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse

from edition.tei import markup

from .models import Change, Event, Proposal

SAMPLE_EDITION, SAMPLE_DOCUMENT = "frus1958-60v18", "d142"

STRING = {"type": "string"}
NULLABLE_STRING = {"type": "string", "nullable": True}
INTEGER = {"type": "integer"}
NULLABLE_INTEGER = {"type": "integer", "nullable": True}
DATETIME = {"type": "string", "format": "date-time"}
STRING_MAP = {"type": "object", "additionalProperties": STRING}

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": STRING, "message": STRING,
            "field": {"type": "string", "description": "the request field at fault"},
            "candidates": {"type": "array", "items": INTEGER},
            "current_revision": INTEGER,
            "status": STRING,
        },
    }},
}

SELECTOR = {
    "type": "object",
    "description": "W3C TextQuoteSelector plus offsets into the base revision's text layer.",
    "required": ["exact"],
    "properties": {
        "exact": STRING,
        "prefix": {"type": "string", "maxLength": 32},
        "suffix": {"type": "string", "maxLength": 32},
        "start": {"type": "integer", "minimum": 0},
        "end": {"type": "integer", "minimum": 0},
    },
}

CHANGE_FIELDS = {
    "kind": {"type": "string", "enum": list(Change.Kind.values), "default": "text"},
    "selector": SELECTOR,
    "replacement": {"type": "string", "description": "kind text"},
    "body": {"type": "string", "description": "kinds note-add, note-edit: TEI inline markup"},
    "fragment": {"type": "string", "description": "kind structure: TEI blocks"},
    "note": {"type": "string", "description": "kinds note-edit, note-remove: the footnote id"},
    "attributes": {**STRING_MAP, "description": "kinds metadata, markup"},
    "element": {"type": "string", "enum": list(markup.ELEMENTS), "description": "kind markup"},
    "operation": {"type": "string", "enum": list(markup.OPERATIONS), "default": "wrap"},
}
CHANGE = {"type": "object", "properties": CHANGE_FIELDS}

PROPOSAL_REQUEST = {
    "type": "object",
    "description": "One change (its fields at the top level) or several (`changes`).",
    "required": ["base_revision", "rationale"],
    "properties": {
        "base_revision": {"type": "integer", "minimum": 1,
                          "description": "the revision the offsets were taken from"},
        "rationale": STRING,
        "offsets": {"type": "string", "enum": ["code-points", "utf-16"],
                    "default": "code-points"},
        "changes": {"type": "array", "items": CHANGE, "minItems": 1},
        **CHANGE_FIELDS,
    },
}
RETARGET_REQUEST = {**PROPOSAL_REQUEST, "required": ["base_revision"]}
REASON_REQUEST = {"type": "object", "required": ["reason"], "properties": {"reason": STRING}}
COMMENT_REQUEST = {"type": "object", "required": ["body"], "properties": {"body": STRING}}
EMPTY_REQUEST = {"type": "object"}

EVENT = {
    "type": "object",
    "properties": {"kind": {"type": "string", "enum": list(Event.Kind.values)},
                   "actor": NULLABLE_STRING, "body": STRING, "created_at": DATETIME},
}
PROPOSAL = {
    "type": "object",
    "properties": {
        "id": INTEGER, "url": STRING, "html_url": STRING, "edition": STRING,
        "document": STRING, "author": STRING,
        "status": {"type": "string", "enum": list(Proposal.Status.values)},
        "status_reason": STRING, "context_changed": {"type": "boolean"},
        "revision": INTEGER, "applied_revision": NULLABLE_INTEGER, "rationale": STRING,
        "changes": {"type": "array", "items": CHANGE},
        "created_at": DATETIME, "updated_at": DATETIME,
        "decided_at": {**DATETIME, "nullable": True},
        "approvals": INTEGER, "required_approvals": INTEGER,
        "events": {"type": "array", "items": EVENT},
    },
}
PROPOSAL_PAGE = {
    "type": "object",
    "properties": {"next": NULLABLE_STRING, "previous": NULLABLE_STRING,
                   "results": {"type": "array", "items": PROPOSAL}},
}
APPROVAL = {
    "type": "object",
    "properties": {"status": {"type": "string", "enum": ["approved", "pending"]},
                   "revision": INTEGER, "approvals": INTEGER, "required": INTEGER,
                   "proposal": PROPOSAL},
}
FOOTNOTE = {"type": "object", "properties": {
    "id": NULLABLE_STRING, "n": NULLABLE_STRING, "type": NULLABLE_STRING, "offset": INTEGER,
    "text": STRING, "tei": STRING}}
PAGE_BREAK = {"type": "object", "properties": {
    "n": NULLABLE_STRING, "id": NULLABLE_STRING, "offset": INTEGER}}
DOCUMENT = {
    "type": "object",
    "properties": {
        "edition": STRING, "document": STRING, "number": NULLABLE_INTEGER, "title": STRING,
        "matter": {"type": "string", "enum": ["front", "body", "back"]},
        "type": NULLABLE_STRING, "parent": NULLABLE_STRING,
        "revision": INTEGER, "current_revision": INTEGER, "text": STRING,
        "attributes": STRING_MAP,
        "footnotes": {"type": "array", "items": FOOTNOTE},
        "page_breaks": {"type": "array", "items": PAGE_BREAK},
        "tei": STRING, "url": STRING, "revision_url": STRING,
    },
}
REGISTER = {"type": "object", "properties": {"results": {"type": "array", "items": {
    "type": "object",
    "properties": {"id": STRING, "name": STRING, "description": STRING, "element": STRING,
                   "attributes": STRING_MAP}}}}}

SUGGESTION = {
    "type": "object",
    "properties": {
        "id": INTEGER,
        "kind": {"type": "string", "enum": ["check", "import", "ocr"],
                 "description": "ocr: the page image's OCR reads otherwise than the text"},
        "check": STRING, "label": STRING,
        "change": {"type": "string", "description": "the proposal the fix takes: text, "
                   "note-edit or structure; empty when only a person can fix it"},
        "note": {"type": "string", "description": "the footnote whose own text the selector "
                 "is on (empty: the document's text)"},
        "selector": {**SELECTOR, "description": "Where the quote is on the current revision "
                     "(start/end placed now)."},
        "revision": INTEGER, "replacement": STRING, "fragment": STRING,
        "explanation": STRING, "check_explanation": STRING,
        "confidence": {"type": "number", "nullable": True, "minimum": 0, "maximum": 100,
                       "description": "ocr: the OCR's mean confidence in the words it read "
                       "there (null for other kinds)"},
        "page": {**NULLABLE_STRING, "description": "ocr: the printed page number (pb/@n) of "
                 "the page image the words are on"},
        "region": {"type": "array", "nullable": True, "minItems": 4, "maxItems": 4,
                   "items": INTEGER, "description": "ocr: [x, y, w, h] of the words on the "
                   "page image, in its pixels"},
    },
}
SUGGESTION_LIST = {"type": "object", "properties": {
    "revision": INTEGER, "results": {"type": "array", "items": SUGGESTION}}}
DISMISSAL = {"type": "object", "properties": {"id": INTEGER, "dismissed": {"type": "boolean"}}}


def body(schema: dict) -> dict:
    """A request body (drf-spectacular reads a plain dict as media type → schema)."""
    return {"application/json": schema}


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """The error answers an operation can give, all of one shape."""
    return {code: OpenApiResponse(ERROR) for code in codes}


# -- parameters -----------------------------------------------------------------------------

EDITION = OpenApiParameter("edition", OpenApiTypes.STR, OpenApiParameter.PATH,
                           description="the edition's slug",
                           examples=[OpenApiExample("sample", value=SAMPLE_EDITION)])
DOC = OpenApiParameter("doc", OpenApiTypes.STR, OpenApiParameter.PATH,
                       description="the document's xml:id",
                       examples=[OpenApiExample("sample", value=SAMPLE_DOCUMENT)])
PK = OpenApiParameter("pk", OpenApiTypes.INT, OpenApiParameter.PATH,
                      description="the proposal's id",
                      examples=[OpenApiExample("first", value=1)])
REGISTER_NAME = OpenApiParameter("register", OpenApiTypes.STR, OpenApiParameter.PATH,
                                 enum=["persons", "terms"])
SUGGESTION_PK = OpenApiParameter("pk", OpenApiTypes.INT, OpenApiParameter.PATH,
                                 description="the suggestion's id",
                                 examples=[OpenApiExample("first", value=1)])
REVISION = OpenApiParameter("revision", OpenApiTypes.INT, OpenApiParameter.QUERY,
                            description="an earlier revision (default: the current one)")
QUERY = OpenApiParameter("q", OpenApiTypes.STR, OpenApiParameter.QUERY,
                         description="part of a name or id")
LISTING = [
    OpenApiParameter("status", OpenApiTypes.STR, OpenApiParameter.QUERY,
                     description="comma-separated statuses, or open, stuck, closed"),
    OpenApiParameter("edition", OpenApiTypes.STR, OpenApiParameter.QUERY,
                     description="an edition's slug"),
    OpenApiParameter("document", OpenApiTypes.STR, OpenApiParameter.QUERY,
                     description="a document's id (d143)"),
    OpenApiParameter("author", OpenApiTypes.STR, OpenApiParameter.QUERY,
                     description="a username"),
    OpenApiParameter("cursor", OpenApiTypes.STR, OpenApiParameter.QUERY,
                     description="from `next` or `previous` of a page"),
    OpenApiParameter("limit", OpenApiTypes.INT, OpenApiParameter.QUERY,
                     description="proposals per page, up to 200 (default 50)"),
]


# -- search (edition/search.py; GET /api/search/) ----------------------------------------------

SEARCH_PARAMETERS = [
    OpenApiParameter("q", OpenApiTypes.STR, OpenApiParameter.QUERY, required=True,
                     description='words in web syntax: "exact phrase", -exclude, or',
                     examples=[OpenApiExample("word", value="negotiations")]),
    OpenApiParameter("edition", OpenApiTypes.STR, OpenApiParameter.QUERY,
                     description="only this edition (its slug)"),
    OpenApiParameter("date_from", OpenApiTypes.DATE, OpenApiParameter.QUERY,
                     description="documents dated on or after (YYYY-MM-DD)"),
    OpenApiParameter("date_to", OpenApiTypes.DATE, OpenApiParameter.QUERY,
                     description="documents dated on or before (YYYY-MM-DD)"),
    OpenApiParameter("kind", OpenApiTypes.STR, OpenApiParameter.QUERY,
                     enum=["document", "front", "note"],
                     description="document: running text outside the front matter; front: "
                                 "front matter; note: footnotes"),
    OpenApiParameter("page", OpenApiTypes.INT, OpenApiParameter.QUERY,
                     description="1-based page of 20 results (at most 50)"),
]
SEARCH = {
    "type": "object",
    "required": ["count", "page", "pages", "results"],
    "properties": {
        "count": {"type": "integer", "description": "matches, counted up to 1,000"},
        "more": {"type": "boolean", "description": "more matches than `count`"},
        "page": INTEGER,
        "pages": INTEGER,
        "next": NULLABLE_STRING,
        "previous": NULLABLE_STRING,
        "results": {"type": "array", "items": {
            "type": "object",
            "properties": {
                "edition": STRING,
                "edition_title": STRING,
                "document": STRING,
                "number": NULLABLE_INTEGER,
                "title": STRING,
                "date": {"type": "string", "format": "date-time", "nullable": True},
                "kind": {"type": "string", "enum": ["document", "front", "note"]},
                "note_id": NULLABLE_STRING,
                "url": STRING,
                "snippet_html": {
                    "type": "string",
                    "description": "escaped HTML: the passage's text with the matches in "
                                   "<mark>…</mark>, the only markup",
                },
                "rank": {"type": "number"},
            },
        }},
    },
}
