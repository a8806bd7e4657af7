"""The suggestions of a document over the JSON API (docs/API.md): listed for members who may
propose, each placed on the current revision; proposed in one call (review/suggested.py) or
dismissed. Same rules and error shape as the rest of the API (review/api.py)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from edition.suggestions import Offer, offer_of, offers

from . import api_schema as S
from .actions import ProposalError
from .actions.propose import check_propose
from .api import _document, _reload, api
from .serializers import proposal_json
from .suggested import do_propose_suggestion


def suggestion_json(offer: Offer, revision: int) -> dict:
    s = offer.suggestion
    return {
        "id": s.pk, "kind": s.kind, "check": s.check_name, "label": s.check_label,
        "change": s.change, "note": s.note_id,
        "selector": {**offer.quote, "start": offer.start, "end": offer.end},
        "revision": revision, "replacement": s.replacement, "fragment": s.fragment,
        "explanation": s.explanation, "check_explanation": s.check_explanation,
        # The OCR's evidence (issue 11); null for the checks' and the import's.
        "confidence": s.confidence, "page": s.page.n if s.page else None, "region": s.region,
    }


@extend_schema(summary="A document's suggestions (checks, import and OCR)",
               parameters=[S.EDITION, S.DOC],
               responses={200: S.SUGGESTION_LIST, **S.errors(400, 401, 403, 404)})
@api(["GET"])
def suggestions(request: Request, edition: str, doc: str) -> Response:
    """The open suggestions that still apply to the current revision, placed on it; those
    no longer applying (fixed since) are left out. Members who may propose."""
    document = _document(edition, doc)
    check_propose(request.user, document)
    revision = document.current_revision
    found = offers(document, revision)
    return Response({"revision": revision.number,
                     "results": [suggestion_json(o, revision.number) for o in found]})


def _open(request: Request, edition: str, doc: str, pk: int):
    document = _document(edition, doc)
    check_propose(request.user, document)  # 404 to outsiders, 403 to a role too small
    suggestion = get_object_or_404(document.suggestions.open(), pk=pk)
    suggestion.document = document
    return document, suggestion


@extend_schema(summary="Propose a suggestion's fix", parameters=[S.EDITION, S.DOC, S.SUGGESTION_PK],
               request=S.body(S.EMPTY_REQUEST),
               responses={201: S.PROPOSAL, **S.errors(400, 401, 403, 404, 409, 415, 422, 503)})
@api(["POST"])
def propose(request: Request, edition: str, doc: str, pk: int) -> Response:
    """201 with the proposal; 422 (code "unapplicable") when the suggestion no longer applies
    or has no fix to propose in one call."""
    _, suggestion = _open(request, edition, doc, int(pk))
    offer = offer_of(suggestion)
    if offer is None:
        raise ProposalError("the suggestion no longer applies to the current text",
                            code="unapplicable")
    try:
        proposal = do_propose_suggestion(offer, author=request.user)
    except ProposalError as exc:
        if exc.code == "invalid":  # no one-call fix: a structural one, or none at all
            raise ProposalError(exc.message, code="unapplicable") from exc
        raise
    return Response(proposal_json(_reload(request.user, proposal.pk), detail=True),
                    status=status.HTTP_201_CREATED)


@extend_schema(summary="Dismiss a suggestion", parameters=[S.EDITION, S.DOC, S.SUGGESTION_PK],
               request=S.body(S.EMPTY_REQUEST),
               responses={200: S.DISMISSAL, **S.errors(401, 403, 404, 415)})
@api(["POST"])
def dismiss(request: Request, edition: str, doc: str, pk: int) -> Response:
    """Set aside for good: no run of the checks records it again."""
    _, suggestion = _open(request, edition, doc, int(pk))
    suggestion.dismiss(by=request.user)
    return Response({"id": suggestion.pk, "dismissed": True})
