"""The JSON API (docs/API.md): the published text for anyone, proposals and decisions for members.

Same rules as the pages, asked of the same `check_*` (review/actions/): outsiders get 404 for an
edition's review objects, a role too small gets 403. Anonymous requests to anything but the
document endpoint get 401. Authentication, parsing and permissions are the `REST_FRAMEWORK`
defaults (config/settings.py). Every error is `{"error": {"code": …, "message": …}}`;
`exception_handler` is the one place that shapes them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from edition import pagecache, registers, search
from edition.models import Document, Edition, Revision
from edition.params import has_nul, positive_int
from edition.roles import require_member
from edition.views import cache_headers, conditional, reading_stamps

from . import api_schema as S
from .access import proposal_for_member
from .actions import ProposalError
from .actions.approve import check_approve, do_approve
from .actions.comment import check_comment, do_comment
from .actions.decide import (check_decide, check_withdraw, do_reject, do_request_changes,
                             do_withdraw)
from .actions.propose import check_propose, do_propose
from .actions.retarget import check_retarget, do_retarget
from .models import Proposal
from .serializers import (ApiError, base_revision, change_specs, document_json, event_json,
                          invalid, parse_body, proposal_json, rationale)

# The actions' error codes → HTTP status. Codes naming a proposal status ("approved",
# "changes", …) come from deciding on a proposal that is no longer pending: 409, code "state".
PROPOSAL_ERROR_STATUS = {
    "invalid": 400, "reason": 400,
    "quote": 422, "offsets": 422, "unapplicable": 422, "note": 422, "overlap": 422,
    "metadata": 422, "markup": 422,
    "invalid-tei": 422, "unrenderable": 422,  # the gate, when proposing (edition/gate.py)
    "too_deep": 422, "too_large": 413, "too_many": 413,
    "stale": 409, "conflicted": 409, "closed": 409, "duplicate": 409,
    "refused": 409,  # the gate, when approving: nothing changed
    "no-schema": 503,  # the gate cannot check: tei_all.rng is not installed
}


def api(methods: list[str], *, public: bool = False):
    """A DRF function view with the REST_FRAMEWORK defaults; `public` lets anonymous callers
    in. DRF authenticates by itself, so Django's login requirement is lifted."""

    # HEAD answers as GET on every GET endpoint (RFC 9110 §9.3.2): DRF's api_view allows only the
    # methods it is given (Django's View.setup adds head only to class-based views), so HEAD
    # was a 405. The view runs as for GET and the server leaves the body out, so the headers
    # (ETag, Cache-Control, Content-Length) are GET's own.
    if "GET" in methods and "HEAD" not in methods:
        methods = [*methods, "HEAD"]

    def decorate(view):
        @wraps(view)
        def checked(request: Request, *args, **kwargs) -> Response:
            refuse_nul(request.query_params)
            return view(request, *args, **kwargs)

        if public:
            checked = permission_classes([AllowAny])(checked)
        return login_not_required(api_view(methods)(checked))

    return decorate


def refuse_nul(params) -> None:
    """A NUL in a query parameter is a 400 before it reaches a filter: PostgreSQL refuses to
    compare one (ValueError), whatever the parameter."""
    for name, values in params.lists():
        if has_nul(name, *values):
            field = name.replace("\x00", "\ufffd")
            raise invalid(field, "contains a NUL character")


# ------------------------------------------------------------------------------------------
# Errors


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """Shape every error as {"error": {"code", "message", …}}; None lets a bug be a 500."""
    if isinstance(exc, ApiError):
        return _error(exc.status, exc.code, exc.message, **exc.extra)
    if isinstance(exc, ProposalError):
        return _proposal_error(exc)
    if isinstance(exc, RequestDataTooBig):
        return _error(413, "too_large", f"the request body is over "
                                        f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes "
                                        "(DATA_UPLOAD_MAX_MEMORY_SIZE)")
    if isinstance(exc, Http404):
        return _error(404, "not_found", _message(exc, "not found"))
    if isinstance(exc, PermissionDenied):
        return _error(403, "forbidden", _message(exc, "you may not do this"))
    if isinstance(exc, exceptions.APIException):
        return _api_exception(exc)
    return None


def _proposal_error(exc: ProposalError) -> Response:
    if exc.code in PROPOSAL_ERROR_STATUS:
        return _error(PROPOSAL_ERROR_STATUS[exc.code], exc.code, exc.message)
    if exc.code in Proposal.Status.values:
        return _error(409, "state", exc.message, status=exc.code)
    return _error(400, exc.code, exc.message)


def _api_exception(exc: exceptions.APIException) -> Response:
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = f"{exc.wait:d}"
    detail = exc.detail
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        code, message = "not_authenticated", str(detail)
    elif isinstance(exc, exceptions.PermissionDenied):
        # DRF raises PermissionDenied for a missing CSRF token; say so in the code.
        message = str(detail)
        code = "csrf" if message.startswith("CSRF Failed") else "forbidden"
    elif isinstance(exc, exceptions.NotFound):
        code, message = "not_found", str(detail)
    elif isinstance(exc, exceptions.ParseError):
        code, message = "invalid", f"the body is not valid JSON: {detail}"
    else:
        code = getattr(detail, "code", None) or exc.default_code
        message = str(detail) if not isinstance(detail, list | dict) else str(exc.default_detail)
    response = _error(exc.status_code, str(code), message)
    for name, value in headers.items():
        response[name] = value
    return response


def _error(status_code: int, code: str, message: str, **extra) -> Response:
    return Response({"error": {"code": code, "message": message, **extra}}, status=status_code)


def _message(exc: Exception, default: str) -> str:
    return str(exc.args[0]) if exc.args and exc.args[0] else default


# ------------------------------------------------------------------------------------------
# Documents (public)


def _document(edition: str, doc: str) -> Document:
    return get_object_or_404(
        Document.objects.select_related("edition", "current_revision").defer(
            "edition__tei_skeleton", "edition__tei_header"),
        edition__slug=edition, xml_id=doc,
    )


@extend_schema(summary="A document's published text", parameters=[S.EDITION, S.DOC, S.REVISION],
               responses={200: S.DOCUMENT, **S.errors(400, 401, 404)})
@api(["GET"], public=True)
def document(request: Request, edition: str, doc: str) -> HttpResponse:
    """The published text of a document: `?revision=n` for an earlier revision. Anonymous
    callers get it from the page cache (edition/pagecache.py) until the unit gets a revision
    or the edition changes: the payload names the current revision, the unit's title and
    place, all of which move only with those."""
    number = None
    if "revision" in request.query_params:
        number = positive_int(request.query_params["revision"])
        if number is None:
            raise invalid("revision", "must be a revision number")

    def render(stamps):
        document = _document(edition, doc)
        revision = document.current_revision if number is None else get_object_or_404(
            Revision, document=document, number=number)
        etag, not_modified = conditional(request, "api", stamps, revision.pk,
                                         last_modified=None, version=API_DOCUMENT_VERSION,
                                         header=False)
        if not_modified is None:
            # Revisions are immutable: the payload of one is cached forever, keyed by its id,
            # and by what it shows of the unit's row, which is not: a re-import may move a
            # unit to another parent without changing its TEI (no new revision).
            key = f"emend:api:revision:{revision.pk}:{_row_digest(document)}"
            data = cache.get(key)
            if data is None:
                data = document_json(document, revision)
                cache.set(key, data, None)
            # Rendered here, as DRF's JSONRenderer would (the only renderer), so that the
            # bytes can be kept whole.
            payload = {**data, "current_revision": document.current_revision.number}
            response = HttpResponse(JSONRenderer().render(payload),
                                    content_type="application/json")
        else:
            response = not_modified
        response["ETag"] = etag
        return cache_headers(request, response)

    params = ("revision",) if number is not None and str(number) == request.query_params[
        "revision"] else ()
    return pagecache.serve(request, f"api:{edition}:{doc}:{number or 0}", API_DOCUMENT_VERSION,
                           reading_stamps(edition, doc), render,
                           lambda response: cache_headers(request, response), params)


def _row_digest(document: Document) -> str:
    """What `document_json` reads of the unit's row (its ids and edition never change)."""
    row = (document.parent_id, document.number, document.title, document.matter,
           document.div_type)
    return hashlib.sha256(repr(row).encode()).hexdigest()[:16]


# Part of the document payload's ETag and cache key: bump it when document_json changes.
API_DOCUMENT_VERSION = 1


@extend_schema(summary="The volume's persons or terms", parameters=[S.EDITION, S.REGISTER_NAME,
                                                                   S.QUERY],
               responses={200: S.REGISTER, **S.errors(400, 401, 404)})
@api(["GET"], public=True)
def register(request: Request, edition: str, register: str) -> Response:
    """The volume's persons or terms matching `?q=` (name or id), for the markup picker:
    public, as the lists are part of the published volume."""
    found = get_object_or_404(Edition.objects.without_tei(), slug=edition)
    query = request.query_params.get("q", "")
    return Response({"results": [e.as_json() for e in registers.search(found, register, query)]})


@extend_schema(summary="Full-text search of the published text",
               parameters=S.SEARCH_PARAMETERS,
               responses={200: S.SEARCH, **S.errors(400, 401)})
@api(["GET"], public=True)
def search_text(request: Request) -> Response:
    """The current text of every edition (edition/search.py), as /search/ shows it to readers;
    never proposals. Bad parameters or a query with nothing to search for: 400."""
    form = search.SearchForm(request.query_params)
    if not form.is_valid():
        field, messages = next(iter(form.errors.items()))
        raise invalid(field if field != "__all__" else "date_to", " ".join(messages))
    if not form.cleaned_data["q"]:
        raise invalid("q", "type a word or a phrase to search for")
    try:
        results = search.search(form.cleaned_data["q"], form.filters(),
                                page=form.cleaned_data.get("page") or 1)
    except search.QueryError as exc:
        raise invalid("q", str(exc)) from None

    def page_url(number: int) -> str:
        params = request.query_params.copy()
        params["page"] = str(number)
        return request.build_absolute_uri("?" + params.urlencode())

    return Response({
        "count": min(results.count, search.COUNT_CAP), "more": results.capped,
        "page": results.page, "pages": results.pages,
        "next": page_url(results.page + 1) if results.has_next and results.count else None,
        "previous": page_url(results.page - 1) if results.has_previous else None,
        "results": [{
            "edition": hit.document.edition.slug,
            "edition_title": hit.document.edition.short_title,
            "document": hit.document.xml_id,
            "number": hit.document.number,
            "title": hit.document.title,
            "date": hit.document.date_min,
            "kind": hit.kind,
            "note_id": hit.note_id or None,
            "url": request.build_absolute_uri(search.passage_url(hit, results.query)),
            "snippet_html": str(hit.snippet),
            "rank": hit.rank,
        } for hit in results.hits],
    })


# ------------------------------------------------------------------------------------------
# Proposals


class ProposalPagination(CursorPagination):
    """Keyset pagination on the primary key: constant queries and time at any depth."""

    ordering = "id"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200

    def decode_cursor(self, request):
        """DRF's, refusing a forged position (not an id: "abc", a NUL, past bigint) before it
        reaches the filter; _page answers 400."""
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None and \
                positive_int(cursor.position, maximum=2**63 - 1) is None:
            raise exceptions.NotFound(self.invalid_cursor_message)
        return cursor


def _listing(user) -> QuerySet[Proposal]:
    return (
        Proposal.objects.visible_to(user)
        .select_related("document__edition", "document__current_revision", "author", "revision",
                        "applied_revision")
        .defer("document__edition__tei_skeleton", "document__edition__tei_header",
               "revision__tei", "revision__text", "applied_revision__tei",
               "applied_revision__text", "document__current_revision__tei",
               "document__current_revision__text")
        .prefetch_related("changes")
    )


def _filtered(request: Request, proposals: QuerySet[Proposal]) -> QuerySet[Proposal]:
    params = request.query_params
    if statuses := params.get("status"):
        wanted: set[str] = set()
        groups = {"open": Proposal.OPEN, "stuck": Proposal.STUCK, "closed": Proposal.CLOSED}
        for value in statuses.split(","):
            if value in groups:
                wanted.update(groups[value])
            elif value in Proposal.Status.values:
                wanted.add(value)
            else:
                raise invalid("status", f"unknown status “{value}”: use "
                                        f"{', '.join(Proposal.Status.values)}, open, stuck "
                                        "or closed (comma-separated)")
        proposals = proposals.filter(status__in=wanted)
    if slug := params.get("edition"):
        edition = get_object_or_404(Edition, slug=slug)
        require_member(request.user, edition)
        proposals = proposals.filter(document__edition=edition)
    if doc := params.get("document"):
        proposals = proposals.filter(document__xml_id=doc)
    if author := params.get("author"):
        proposals = proposals.filter(author__username=author)
    return proposals


def _page(request: Request, proposals: QuerySet[Proposal]) -> Response:
    paginator = ProposalPagination()
    try:
        page = paginator.paginate_queryset(proposals, request)
    except exceptions.NotFound:
        raise invalid("cursor", "not a cursor this API gave out") from None
    return paginator.get_paginated_response([proposal_json(p) for p in page])


@extend_schema(operation_id="proposals_list", summary="Proposals of the editions you belong to",
               parameters=S.LISTING,
               responses={200: S.PROPOSAL_PAGE, **S.errors(400, 401, 404)})
@api(["GET"])
def proposals(request: Request) -> Response:
    """Proposals of the editions the user belongs to, oldest first: ?status= &edition= …"""
    return _page(request, _filtered(request, _listing(request.user)))


@extend_schema(methods=["GET"], summary="A document's proposals",
               parameters=[S.EDITION, S.DOC, *S.LISTING],
               responses={200: S.PROPOSAL_PAGE, **S.errors(400, 401, 404)})
@extend_schema(methods=["POST"], summary="Propose a change", parameters=[S.EDITION, S.DOC],
               request=S.body(S.PROPOSAL_REQUEST),
               responses={201: S.PROPOSAL, **S.errors(400, 401, 403, 404, 409, 413, 415, 422,
                                                      503)})
@api(["GET", "POST"])
def document_proposals(request: Request, edition: str, doc: str) -> Response:
    """GET: the document's proposals (members). POST: propose a change (editors and up)."""
    document = _document(edition, doc)
    if request.method in ("GET", "HEAD"):
        require_member(request.user, document.edition)
        return _page(request, _filtered(request, _listing(request.user).filter(document=document)))
    check_propose(request.user, document)
    data = parse_body(request.data)
    base = base_revision(document, data)
    with _stale_names_head(document):
        proposal = do_propose(document, author=request.user, base_revision=base.number,
                              changes=change_specs(data, base), rationale=rationale(data))
    return Response(proposal_json(_reload(request.user, proposal.pk), detail=True),
                    status=status.HTTP_201_CREATED)


@contextmanager
def _stale_names_head(document: Document) -> Iterator[None]:
    """A stale proposal's error tells the client which revision to reload."""
    try:
        yield
    except ProposalError as exc:
        if exc.code != "stale":
            raise
        current = Revision.objects.filter(current_of=document.pk).values_list(
            "number", flat=True).get()
        raise ApiError(409, "stale", exc.message, current_revision=current) from exc


def _reload(user, pk: int) -> Proposal:
    return proposal_for_member(user, pk, queryset=Proposal.objects.prefetch_related("changes"))


@extend_schema(operation_id="proposal_retrieve", summary="A proposal with its timeline",
               parameters=[S.PK],
               responses={200: S.PROPOSAL, **S.errors(401, 404)})
@api(["GET"])
def proposal(request: Request, pk: int) -> Response:
    return Response(proposal_json(_reload(request.user, pk), detail=True))


def _checked(request: Request, pk: int, check) -> Proposal:
    """The proposal, if the action's check allows it: 404 for outsiders, 403 for a role too
    small or the wrong person, 409 for a proposal whose state forbids it."""
    proposal = proposal_for_member(request.user, pk)
    check(request.user, proposal)
    return proposal


@extend_schema(summary="Approve", parameters=[S.PK], request=S.body(S.EMPTY_REQUEST),
               responses={200: S.APPROVAL, **S.errors(400, 401, 403, 404, 409, 415, 503)})
@api(["POST"])
def approve(request: Request, pk: int) -> Response:
    """200 with the new revision once applied, or the approvals still needed."""
    proposal = _checked(request, pk, check_approve)
    revision = do_approve(proposal, by=request.user)
    proposal = _reload(request.user, pk)
    data = proposal_json(proposal, detail=True)
    if revision is None:
        return Response({"status": "pending", "approvals": data["approvals"],
                         "required": data["required_approvals"], "proposal": data})
    return Response({"status": "approved", "revision": revision.number, "proposal": data})


@extend_schema(summary="Reject", parameters=[S.PK], request=S.body(S.REASON_REQUEST),
               responses={200: S.PROPOSAL, **S.errors(400, 401, 403, 404, 409, 415)})
@api(["POST"])
def reject(request: Request, pk: int) -> Response:
    proposal = _checked(request, pk, check_decide)
    do_reject(proposal, by=request.user, reason=_text(request, "reason"))
    return Response(proposal_json(_reload(request.user, pk), detail=True))


@extend_schema(summary="Ask the author for changes", parameters=[S.PK],
               request=S.body(S.REASON_REQUEST),
               responses={200: S.PROPOSAL, **S.errors(400, 401, 403, 404, 409, 415)})
@api(["POST"])
def request_changes(request: Request, pk: int) -> Response:
    proposal = _checked(request, pk, check_decide)
    do_request_changes(proposal, by=request.user, reason=_text(request, "reason"))
    return Response(proposal_json(_reload(request.user, pk), detail=True))


@extend_schema(summary="Withdraw your proposal", parameters=[S.PK], request=S.body(S.EMPTY_REQUEST),
               responses={200: S.PROPOSAL, **S.errors(400, 401, 403, 404, 409, 415)})
@api(["POST"])
def withdraw(request: Request, pk: int) -> Response:
    proposal = _checked(request, pk, check_withdraw)
    do_withdraw(proposal, by=request.user)
    return Response(proposal_json(_reload(request.user, pk), detail=True))


@extend_schema(summary="Comment", parameters=[S.PK], request=S.body(S.COMMENT_REQUEST),
               responses={201: S.EVENT, **S.errors(400, 401, 404, 415)})
@api(["POST"])
def comment(request: Request, pk: int) -> Response:
    """Any member may comment, on any proposal they can see."""
    proposal = _checked(request, pk, check_comment)
    event = do_comment(proposal, by=request.user, body=_text(request, "body"))
    return Response(event_json(event), status=status.HTTP_201_CREATED)


@extend_schema(summary="Re-target or revise your proposal", parameters=[S.PK],
               request=S.body(S.RETARGET_REQUEST),
               responses={200: S.PROPOSAL, **S.errors(400, 401, 403, 404, 409, 413, 415, 422,
                                                      503)})
@api(["POST"])
def retarget(request: Request, pk: int) -> Response:
    """The author re-targets a conflicted proposal or revises one: same body as proposing."""
    proposal = _checked(request, pk, check_retarget)
    data = parse_body(request.data)
    base = base_revision(proposal.document, data)
    new_rationale = data.get("rationale")
    if new_rationale is not None and not isinstance(new_rationale, str):
        raise invalid("rationale", "must be a string")
    with _stale_names_head(proposal.document):
        do_retarget(proposal, by=request.user, changes=change_specs(data, base),
                    base_revision=base.number, rationale=new_rationale)
    return Response(proposal_json(_reload(request.user, pk), detail=True))


@extend_schema(exclude=True)
@api(["GET", "POST", "PUT", "PATCH", "DELETE"], public=True)
def not_found(request: Request, path: str = "") -> Response:
    """Unknown addresses under /api/ answer in JSON too, for anyone."""
    raise Http404(f"no API endpoint at /api/{path}; see docs/API.md")


def _text(request: Request, field: str) -> str:
    value = parse_body(request.data).get(field)
    if not isinstance(value, str) or not value.strip():
        raise invalid(field, "required (a non-empty string)")
    return value

