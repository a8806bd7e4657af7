from django.urls import path, register_converter

from . import page_views, views
from .checks import views as checks
from .params import NumberConverter
from .exporting import views as exports
from .iiif import views as iiif


class DocumentIdConverter:
    regex = r"[A-Za-z_][\w.-]*?"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(DocumentIdConverter, "docid")
register_converter(NumberConverter, "num")  # integers that fit a column: issue 13

app_name = "edition"
urlpatterns = [
    path("", views.home, name="home"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("<slug:edition>/", views.toc, name="toc"),
    path("<slug:edition>/exports/", exports.exports_page, name="exports"),
    path("<slug:edition>/exports/status/", exports.export_status, name="export_status"),
    path("<slug:edition>/exports/<num:build>/<str:filename>", exports.download,
         name="export_build_file"),
    path("<slug:edition>/exports/<str:filename>", exports.download, name="export_file"),
    # IIIF Presentation 3 (edition/iiif/): the volume's and a unit's manifest, each canvas.
    path("<slug:edition>/iiif/manifest.json", iiif.edition_manifest, name="iiif_manifest"),
    path("<slug:edition>/iiif/canvas/<str:name>", iiif.canvas, name="iiif_canvas"),
    path("<slug:edition>/iiif/canvas/<str:name>/page", iiif.canvas, {"part": "page"},
         name="iiif_canvas_page"),
    path("<slug:edition>/iiif/canvas/<str:name>/image", iiif.canvas, {"part": "image"},
         name="iiif_canvas_image"),
    path("<slug:edition>/<docid:doc>/iiif/manifest.json", iiif.document_manifest,
         name="iiif_document_manifest"),
    path("<slug:edition>/<docid:doc>/iiif/range", iiif.range_, name="iiif_range"),
    # Page images (issue 11): the members' list, its uploads panel, uploaded files.
    path("<slug:edition>/pages/", page_views.page_images, name="page_images"),
    path("<slug:edition>/pages/uploads/", page_views.upload_status, name="page_uploads"),
    path("<slug:edition>/pages/uploads/<num:upload>/retry/", page_views.retry_upload,
         name="page_upload_retry"),
    path("<slug:edition>/pages/ocr/retry/", page_views.retry_ocr, name="page_ocr_retry"),
    path("<slug:edition>/pages/<num:page>/<str:variant>/<str:folder>/<str:name>",
         page_views.page_file, name="page_file"),
    path("<slug:edition>/suggestions/", checks.edition_suggestions, name="suggestions"),
    path("<slug:edition>/suggestions/checks/", checks.edition_checks, name="edition_checks"),
    path("<slug:edition>/<docid:doc>.xml", views.document_tei, name="document_tei"),
    path("<slug:edition>/<docid:doc>.txt", views.document_text, name="document_text"),
    path("<slug:edition>/<docid:doc>/", views.document_detail, name="document"),
    path("<slug:edition>/<docid:doc>/r/<num:number>/", views.revision_detail, name="revision"),
    path("<slug:edition>/<docid:doc>/suggestions/<num:pk>/dismiss/", views.dismiss_suggestion,
         name="dismiss_suggestion"),
]
