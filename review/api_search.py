"""Searching pending proposals over the JSON API (docs/API.md, "Searching"): what /search/'s
"Also search pending proposals" finds for a member (review/search.py), with a token. Same
rules and error shape as the rest of the API (review/api.py)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from edition import search

from . import api_schema as S
from . import search as member_search
from .api import _listing, api
from .serializers import invalid, proposal_json


@extend_schema(summary="Search the pending proposals of your editions",
               parameters=S.PROPOSAL_SEARCH_PARAMETERS,
               responses={200: S.PROPOSAL_SEARCH, **S.errors(400, 401)})
@api(["GET"])
def search_proposals(request: Request) -> Response:
    """Open proposals of the caller's editions whose rationale or new text holds the query (at
    most 20, newest first). Outsiders to every edition get none; never another edition's."""
    form = member_search.MemberSearchForm(request.query_params)
    if not form.is_valid():
        field, messages = next(iter(form.errors.items()))
        raise invalid(field if field != "__all__" else "date_to", " ".join(messages))
    try:
        query = search.parse(form.cleaned_data["q"])
    except search.QueryError as exc:
        raise invalid("q", str(exc)) from None
    found = member_search.pending_proposals(request.user, query,
                                            member_search.filters(form, request.user))
    # Loaded again as the listing loads them: the anchor revision and changes of 20 proposals
    # in two queries, not forty.
    ids = [p.pk for p in found]
    loaded = {p.pk: p for p in _listing(request.user).filter(pk__in=ids)}
    return Response({"count": len(ids), "limit": member_search.MAX_PROPOSALS,
                     "results": [proposal_json(loaded[pk]) for pk in ids]})
