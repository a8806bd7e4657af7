"""The exports page, downloads and the live status panel.

Downloads are public and streamed from the export storage with an ETag (the file's SHA-256,
which never changes under a name) so a reader's cache or a proxy revalidates cheaply. Files of
earlier builds stay at their own address (`/<edition>/exports/<build>/<file>`) until pruned,
so a cited download keeps working after the next approval.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils.cache import get_conditional_response, patch_cache_control
from django.views.decorators.http import require_safe


from .. import pagecache, pages
from ..iiif import manifests
from ..models import Edition, ExportBuild, ExportFile
from ..params import has_nul
from ..roles import can_review, require_reviewer
from ..views import cache_headers, conditional
from . import builds
from . import formats
from .formats import FORMATS

BY_EXTENSION = {f.extension: f for f in FORMATS.values()}


@login_not_required
@require_safe
def exports_page(request: HttpRequest, edition: str) -> HttpResponse:
    """From the cache for anonymous readers until a build becomes current or the edition
    changes (edition/pagecache.py); reviewers' pages carry the live status, rendered."""
    slug = edition

    def render(stamps):
        edition = get_object_or_404(Edition, slug=slug)
        if stamps is not None:
            etag, not_modified = conditional(request, "exports", stamps, last_modified=None,
                                             version=EXPORTS_PAGE_VERSION)
            if not_modified is not None:
                not_modified["ETag"] = etag
                return cache_headers(request, not_modified)
        current = builds.current_builds(edition)
        rows = {f.format: f for f in ExportFile.objects.filter(
            build__in=current.values(), document=None).select_related("build")}
        files = [(fmt, rows[fmt.name]) for fmt in formats.enabled() if fmt.name in rows]
        text = current.get("text")
        documents = list(edition.documents.only("xml_id", "number", "title", "order",
                                                "edition_id"))
        for document in documents:
            document.export_revision = text.sources.get(document.xml_id) if text else None
            # A format's file of the document is linked only if its group's build holds it: a
            # build that left the unit out (builds.py) has none of its files.
            document.export_formats = [
                (fmt, fmt.group not in current
                 or document.xml_id in current[fmt.group].sources) for fmt in formats.enabled()]
            document.left_out = any(not held for _, held in document.export_formats)
        for group, build in current.items():
            build.group_label = formats.GROUPS.get(group, group)
        reviewer = can_review(request.user, edition)
        response = TemplateResponse(request, "edition/exports.html", {
            "edition": edition, "files": files, "documents": documents,
            "formats": formats.enabled(), "builds": [current[g] for g in formats.GROUPS
                                                     if g in current],
            "last_updated": max((b.finished_at for b in current.values()), default=None),
            "show_status": reviewer, **(_status(edition) if reviewer else {}),
            "iiif_manifest": manifests.edition_manifest_url(edition)
            if manifests.edition_has_page_images(edition) else "",
        })
        if stamps is None:  # a signed-in person's page (a reviewer's has the live status)
            return response
        response["ETag"] = etag
        return cache_headers(request, response)

    if not pagecache.cacheable(request):
        return render(None)
    # The page links the IIIF manifest when the edition has page images: their stamp too.
    return pagecache.serve(request, f"exports:{slug}", EXPORTS_PAGE_VERSION,
                           [pagecache.edition_stamp(slug), pagecache.exports_stamp(slug),
                            pagecache.Stamp(pages.stamp_key(slug),
                                            lambda: pages.stamp_value(slug))],
                           render, lambda response: cache_headers(request, response))


# Part of the exports page's ETag and cache key: bump it when exports.html changes.
EXPORTS_PAGE_VERSION = 2


@require_safe
def export_status(request: HttpRequest, edition: str) -> HttpResponse:
    """The reviewers' HTMX panel: it asks to be polled again only while work is waiting."""
    edition = get_object_or_404(Edition, slug=edition)
    require_reviewer(request.user, edition)
    response = TemplateResponse(request, "edition/_export_status.html",
                                {"edition": edition, **_status(edition)})
    patch_cache_control(response, no_store=True)
    return response


@login_not_required
@require_safe
def download(request: HttpRequest, edition: str, filename: str,
             build: int | None = None) -> HttpResponse:
    """`<slug>.<ext>` is the volume, `<document id>.<ext>` a document; of the current build,
    or of build `build` while it is kept."""
    edition = get_object_or_404(Edition, slug=edition)
    stem, _, extension = filename.rpartition(".")
    fmt = BY_EXTENSION.get(extension)
    if fmt is None or has_nul(stem):
        raise Http404("No such export")
    files = ExportFile.objects.filter(build__edition=edition, format=fmt.name,
                                      build__status=ExportBuild.Status.COMPLETE)
    files = files.filter(build_id=build) if build is not None else files.filter(
        build__current=True)
    if stem == edition.slug:
        row = files.filter(document=None).select_related("build").first()
    else:
        row = files.filter(document__xml_id=stem).select_related("document").first()
    if row is None:
        raise Http404("No such export")
    etag = f'"{row.sha256}"'
    # The current address changes content when a build lands; a build's own never does.
    caching = ({"public": True, "max_age": 31536000, "immutable": True} if build is not None
               else {"public": True, "no_cache": True})
    not_modified = get_conditional_response(request, etag=etag)
    if not_modified is not None:
        not_modified["ETag"] = etag
        patch_cache_control(not_modified, **caching)
        return not_modified
    try:
        handle = builds.storage().open(row.name, "rb")
    except FileNotFoundError:
        raise Http404("This export was pruned") from None
    response = FileResponse(handle, as_attachment=True, filename=f"{stem}.{fmt.extension}",
                            content_type=fmt.content_type)
    response["Content-Length"] = str(row.size)
    response["ETag"] = etag
    response["X-Emend-Build"] = str(row.build_id)
    if row.document_id is not None:  # a volume's list would outgrow proxies' header buffers
        response["X-Emend-Sources"] = f"{row.document.xml_id} r{row.revision}"
    response["X-Emend-SHA256"] = row.sha256
    patch_cache_control(response, **caching)
    return response


def _status(edition: Edition) -> dict:
    states = builds.states(edition)
    return {"states": states, "busy": any(s.busy for s in states)}
