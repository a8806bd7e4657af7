"""A document's page images over the JSON API (docs/API.md): public, like the document itself
(the images are shown to every reader). Each page the document's text stands on, in order:
its number, facs id, image addresses, size, where it comes from, its OCR status and the
stretch of the text layer on it (`edition.pages.spans`)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from edition import pages as page_images
from edition.iiif import manifests
from edition.models import Revision
from edition.params import positive_int

from . import api_schema as S
from .api import _document, api
from .serializers import invalid


def page_json(request: Request, span: page_images.PageSpan) -> dict:
    page = span.page
    urls = page_images.image_urls(page) if page.has_image else {}
    return {
        "n": page.n or None, "facs": page.facs or None, "id": page.pb_id or None,
        "label": page.label, "sequence": page.sequence,
        "images": {name: request.build_absolute_uri(urls[name]) if urls.get(name) else None
                   for name in ("display", "full", "thumbnail")},
        "width": page.width, "height": page.height, "mime_type": page.mime_type or None,
        "source": page.source or None,
        "ocr_status": page.ocr_status or "none",
        "start": span.start, "end": span.end,
        "canvas": manifests.canvas_url(page, request.build_absolute_uri, page.edition)
        if page.has_image else None,
    }


@extend_schema(summary="A document's page images", parameters=[S.EDITION, S.DOC, S.REVISION],
               responses={200: S.PAGE_LIST, **S.errors(400, 401, 404)})
@api(["GET"], public=True)
def pages(request: Request, edition: str, doc: str) -> Response:
    """The pages the document's text stands on, in order; `?revision=n` places them on an
    earlier revision's text. The first is the page in effect where the document begins."""
    document = _document(edition, doc)
    revision = document.current_revision
    if "revision" in request.query_params:
        number = positive_int(request.query_params["revision"])
        if number is None:
            raise invalid("revision", "must be a revision number")
        revision = get_object_or_404(Revision, document=document, number=number)
    spans = page_images.spans(document, revision)
    for span in spans:
        span.page.edition = document.edition  # spare a query per page
    has_images = any(span.page.has_image for span in spans)
    return Response({
        "edition": document.edition.slug, "document": document.xml_id,
        "revision": revision.number, "current_revision": document.current_revision.number,
        "manifest": request.build_absolute_uri(manifests.document_manifest_url(document))
        if has_images else None,
        "results": [page_json(request, span) for span in spans],
    })
