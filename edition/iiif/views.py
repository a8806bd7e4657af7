"""The manifests' addresses: public, readable from any site (viewers on other sites load them:
`Access-Control-Allow-Origin: *`), answered 304 when the client's copy still holds.

The JSON is cached under its fingerprint (`manifests.fingerprint`: two queries, no TEI), which
is also the ETag, so a manifest is rebuilt only when what it shows changed: a page image, the
edition's metadata, a new export build, the unit's revision."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.cache import get_conditional_response, patch_cache_control
from django.views.decorators.http import require_safe

from ..models import Document, Edition
from . import manifests

CACHE_TTL = 24 * 3600


def _origin(request: HttpRequest) -> str:
    return f"{request.scheme}://{request.get_host()}"


def _answer(request: HttpRequest, key: str, build: Callable[[], dict]) -> HttpResponse:
    """The JSON-LD `build` makes, cached and tagged by `key` (a fingerprint)."""
    etag = f'"iiif-{key[:40]}"'
    response = get_conditional_response(request, etag=etag)
    if response is None:
        cache_key = f"emend:iiif:{key}"
        body = cache.get(cache_key)
        if body is None:
            try:
                body = json.dumps(build(), ensure_ascii=False).encode("utf-8")
            except LookupError as exc:
                raise Http404(str(exc)) from None
            cache.set(cache_key, body, CACHE_TTL)
        response = HttpResponse(body, content_type=manifests.CONTENT_TYPE)
    response["ETag"] = etag
    response["Access-Control-Allow-Origin"] = "*"
    # Revalidated on every use: the ETag makes that a 304 without a body.
    patch_cache_control(response, public=True, no_cache=True)
    return response


def _edition(slug: str) -> Edition:
    return get_object_or_404(Edition.objects.without_tei(), slug=slug)


@login_not_required
@require_safe
def edition_manifest(request: HttpRequest, edition: str) -> HttpResponse:
    found = _edition(edition)
    key = "e:" + manifests.fingerprint(found, _origin(request))
    return _answer(request, key, lambda: manifests.edition_manifest(
        found, request.build_absolute_uri))


@login_not_required
@require_safe
def document_manifest(request: HttpRequest, edition: str, doc: str) -> HttpResponse:
    document = get_object_or_404(Document.objects.select_related("edition", "current_revision")
                                 .defer("edition__tei_skeleton", "edition__tei_header"),
                                 edition__slug=edition, xml_id=doc)
    key = "d:" + manifests.fingerprint(document.edition, _origin(request), document)
    return _answer(request, key, lambda: manifests.document_manifest(
        document, request.build_absolute_uri))


@login_not_required
@require_safe
def canvas(request: HttpRequest, edition: str, name: str, part: str = "") -> HttpResponse:
    """A canvas's id answers with the canvas; its annotation page's and its image
    annotation's ids (`…/page`, `…/image`) with those."""
    found = _edition(edition)
    page = manifests.page_by_canvas_name(found, name)
    if page is None or not page.has_image:
        raise Http404("No such canvas")
    key = f"c:{page.pk}:{part}:" + manifests.fingerprint(found, _origin(request))
    return _answer(request, key, lambda: manifests.canvas_json(
        found, page, request.build_absolute_uri, part))


@login_not_required
@require_safe
def range_(request: HttpRequest, edition: str, doc: str) -> HttpResponse:
    """A unit's Range in the edition's manifest (its contents entry)."""
    document = get_object_or_404(Document.objects.select_related("edition")
                                 .defer("edition__tei_skeleton", "edition__tei_header"),
                                 edition__slug=edition, xml_id=doc)
    key = f"r:{document.pk}:" + manifests.fingerprint(document.edition, _origin(request))
    return _answer(request, key, lambda: manifests.range_json(
        document, request.build_absolute_uri))
