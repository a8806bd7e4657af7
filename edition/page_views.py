"""The edition's Page images page, its uploads' status panel, and uploaded images served from
storage.

Uploaded files are streamed from Django storage (the default storage, shared in production)
by `page_file`, never by DEBUG's media serving, so any web host serves any worker's output.
A stored name is never reused (each upload has its own folder), and the address ends with its
folder and name:
the response is immutable and cached for a year; a new scan is a new address.
"""

from __future__ import annotations

import hashlib
import mimetypes
from datetime import datetime, timedelta

from django.contrib.auth.decorators import login_not_required
from django.core.files.storage import default_storage
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control
from django.views.decorators.http import require_POST, require_safe

from . import facsimiles, ocr, pages
from .models import Edition, FacsimileItem, FacsimileUpload, PageImage
from .params import has_nul, positive_int
from .ocr import record
from .roles import REVIEWERS, require_member, require_reviewer

PAGE_SIZE = 100  # pages listed per page of the list
UPLOADS_SHOWN = 5
VARIANTS = {"display": "display", "full": "image", "thumbnail": "thumbnail"}


@require_safe
def page_images(request: HttpRequest, edition: str) -> HttpResponse:
    """Every page of the volume in order, with its image, unit, source, size and OCR status;
    the latest uploads' progress. For the edition's members (404 to others): it is a
    working page, the images themselves are public in the reading view."""
    edition = get_object_or_404(Edition.objects.without_tei(), slug=edition)
    require_member(request.user, edition)
    since = timezone.now()  # before anything is read: the panel's poll asks what changed since
    number = request.GET.get("page", "1")
    page = Paginator(pages.pages(edition).select_related("document").only(
        *_ROW_FIELDS), PAGE_SIZE).get_page("1" if has_nul(number) else number)
    rows = []
    for row in page.object_list:
        if row.document is not None:
            row.document.edition = edition  # its address, without a query per row
        rows.append((row, pages.image_urls(row)))
    return TemplateResponse(request, "edition/page_images.html", {
        "edition": edition, "page": page, "rows": rows, "ocr": ocr.available(),
        "ocr_failed": PageImage.objects.filter(
            edition=edition, ocr_status=PageImage.OCRStatus.FAILED).count(),
        **_uploads(edition, request.user, page.number, since)})


_ROW_FIELDS = ("sequence", "n", "pb_id", "facs", "source", "url", "full_url", "image",
               "display", "thumbnail", "width", "height", "ocr_status", "ocr_error",
               "edition__slug",
               "document__xml_id", "document__number", "document__title",
               "document__div_type", "document__edition_id")


@require_safe
def upload_status(request: HttpRequest, edition: str) -> HttpResponse:
    """The uploads panel (HTMX): it asks to be polled again only while an upload runs. With
    `since` and `page` (what the panel's last answer said) it also sends, out of band, the
    rows of that page of the table that changed since then (a page made, a page read): never
    the whole list, whose size is the volume's."""
    edition = get_object_or_404(Edition.objects.without_tei(), slug=edition)
    require_member(request.user, edition)
    now = timezone.now()
    table_page = positive_int(request.GET.get("page", "1")) or 1
    since = _moment(request.GET.get("since", ""))
    changed = _changed_rows(edition, table_page, since) if since is not None else []
    response = TemplateResponse(request, "edition/_page_uploads.html", {
        "edition": edition, "changed": changed,
        **_uploads(edition, request.user, table_page, now)})
    patch_cache_control(response, no_store=True)
    return response


# A row is sent again when it changed up to this long before the poll's `since`: a worker's
# clock a little behind the web server's must not lose a row (sending one twice is harmless).
CLOCK_SLACK = timedelta(seconds=10)


def _moment(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value) if value and not has_nul(value) else None
    except ValueError:
        return None
    return moment if moment is not None and timezone.is_aware(moment) else None


def _table_rows(edition: Edition, table_page: int):
    """The rows on page `table_page` of the Page images table: sequences are 0, 1, … in
    volume order (pages.sync), so a page of the list is a range of them."""
    first = (table_page - 1) * PAGE_SIZE
    return pages.pages(edition).filter(sequence__gte=first, sequence__lt=first + PAGE_SIZE)


def _changed_rows(edition: Edition, table_page: int, since: datetime) -> list:
    since = since - CLOCK_SLACK
    made = FacsimileItem.objects.filter(upload__edition=edition, finished_at__gte=since) \
        .values_list("page", flat=True)
    rows = list(_table_rows(edition, table_page).filter(Q(pk__in=made) | Q(ocr_at__gte=since))
                .select_related("document").only(*_ROW_FIELDS))
    for row in rows:
        if row.document is not None:
            row.document.edition = edition
    return [(row, pages.image_urls(row)) for row in rows]


@require_POST
def retry_upload(request: HttpRequest, edition: str, upload: int) -> HttpResponse:
    """Queue the pages of a failed upload that no worker finished (reviewers and admins: they
    look after the edition's pages). 409 when it has none left to make."""
    edition = get_object_or_404(Edition.objects.without_tei(), slug=edition)
    require_reviewer(request.user, edition)
    found = get_object_or_404(FacsimileUpload.objects.only("pk"), pk=upload, edition=edition)
    retried = facsimiles.retry(found.pk)
    if retried is None:
        return HttpResponse("This upload has no unfinished page to retry.", status=409,
                            content_type="text/plain; charset=utf-8")
    messages.success(request, f"The unfinished pages of {retried.source_name} are queued "
                              "again; progress shows below.")
    return redirect("edition:page_images", edition.slug)


@require_POST
def retry_ocr(request: HttpRequest, edition: str) -> HttpResponse:
    """Read again every page of the edition whose OCR failed (its worker stopped, or the
    image could not be had then). Reviewers and admins."""
    edition = get_object_or_404(Edition.objects.without_tei(), slug=edition)
    require_reviewer(request.user, edition)
    count = record.queue(PageImage.objects.filter(edition=edition,
                                                  ocr_status=PageImage.OCRStatus.FAILED))
    messages.success(request, f"{count} page{'s' if count != 1 else ''} queued to be read "
                              "again." if count else "No page's reading had failed.")
    return redirect("edition:page_images", edition.slug)


@login_not_required
@require_safe
def page_file(request: HttpRequest, edition: str, page: int, variant: str, folder: str,
              name: str) -> HttpResponse:
    """An uploaded page image (`display`, `full` or `thumbnail`), public like the reading
    view that shows it. A name that is not the page's current file is a 404 (an old scan's
    address dies with it)."""
    if variant not in VARIANTS or has_nul(folder) or has_nul(name):
        raise Http404("No such image")
    row = get_object_or_404(PageImage.objects.only("image", "display", "thumbnail"),
                            pk=page, edition__slug=edition)
    stored = getattr(row, VARIANTS[variant]).name
    if not stored or stored.split("/")[-2:] != [folder, name]:
        raise Http404("No such image")
    etag = '"%s"' % hashlib.sha256(stored.encode()).hexdigest()[:32]
    caching = {"public": True, "max_age": 31536000, "immutable": True}
    not_modified = get_conditional_response(request, etag=etag)
    if not_modified is not None:
        not_modified["ETag"] = etag
        patch_cache_control(not_modified, **caching)
        return not_modified
    try:
        handle = default_storage.open(stored, "rb")
    except FileNotFoundError:
        raise Http404("This image is no longer stored") from None
    response = FileResponse(handle, content_type=mimetypes.guess_type(name)[0]
                            or "application/octet-stream")
    response["ETag"] = etag
    patch_cache_control(response, **caching)
    return response


def _uploads(edition: Edition, user, table_page: int, since: datetime) -> dict:
    uploads = list(FacsimileUpload.objects.filter(edition=edition)[:UPLOADS_SHOWN])
    for upload in uploads:
        upload.percent = facsimiles.progress(upload)
        upload.retryable = facsimiles.can_retry(upload)
    busy = any(u.status in (FacsimileUpload.Status.QUEUED, FacsimileUpload.Status.RUNNING)
               for u in uploads)
    return {"uploads": uploads, "busy": busy, "table_page": table_page,
            "since": since.isoformat(),
            "can_retry": require_member(user, edition) in REVIEWERS}
