"""The export formats: file extension, content type and the module that writes each."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from types import ModuleType


@dataclass(frozen=True)
class Format:
    name: str  # as in URLs and --format: tei, html, txt, json, epub, pdf
    label: str
    extension: str
    content_type: str
    module_name: str
    group: str = "text"  # formats of a group are built together (see ExportBuild)

    @property
    def module(self) -> ModuleType:
        """Imported on first use: WeasyPrint and EbookLib load only where PDF/EPUB are built."""
        return import_module(f"edition.exporting.{self.module_name}")

    def volume(self, vol) -> bytes:
        return self.module.volume(vol)

    def document(self, vol, part) -> bytes:
        return self.module.document(vol, part)


FORMATS: dict[str, Format] = {f.name: f for f in [
    Format("tei", "TEI XML", "xml", "application/tei+xml", "tei"),
    Format("html", "HTML", "html", "text/html; charset=utf-8", "html"),
    Format("txt", "Plain text", "txt", "text/plain; charset=utf-8", "text"),
    Format("json", "JSON (W3C Web Annotations)", "json", "application/json", "annotations"),
    Format("epub", "EPUB 3", "epub", "application/epub+zip", "epub"),
    Format("pdf", "PDF", "pdf", "application/pdf", "pdf", group="print"),
]}
GROUPS = {"text": "TEI, HTML, plain text, JSON and EPUB", "print": "PDF"}


def enabled(group: str | None = None) -> list[Format]:
    """The formats builds write (EMEND_EXPORT_FORMATS; all by default), of `group` if given."""
    from django.conf import settings

    names = settings.EMEND_EXPORT_FORMATS or list(FORMATS)
    return [f for name, f in FORMATS.items()
            if name in names and (group is None or f.group == group)]


def enabled_groups() -> list[str]:
    return [g for g in GROUPS if enabled(g)]
