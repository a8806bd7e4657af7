"""The export formats: file extension, content type and the module that writes each."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import import_module
from types import ModuleType


@dataclass(frozen=True)
class Format:
    name: str  # as in URLs and --format: tei, html, txt, json, epub, pdf
    label: str
    extension: str
    content_type: str
    module_name: str
    # "module.function" rendering one document's piece of the format from a `Part`: all of a
    # file that depends on the document's TEI, as the format caches it per revision (for the
    # PDF, the HTML its pages are laid out from: no WeasyPrint). The gate renders it.
    piece: str
    group: str = "text"  # formats of a group are built together (see ExportBuild)

    @property
    def module(self) -> ModuleType:
        """Imported on first use: WeasyPrint and EbookLib load only where PDF/EPUB are built."""
        return _module(self.module_name)

    def render_piece(self, part):
        """`piece` of one document, rendered (the gate, edition/gate.py)."""
        module, function = self.piece.rsplit(".", 1)
        return getattr(import_module(f"edition.exporting.{module}"), function)(part)

    def volume(self, vol) -> bytes:
        return self.module.volume(vol)

    def volume_chunks(self, vol) -> Iterable[bytes]:
        """The volume's file in pieces, for a build to write as they come: a module that can
        make it so has a `volume_chunks`; the others make it whole."""
        chunks = getattr(self.module, "volume_chunks", None)
        return chunks(vol) if chunks is not None else [self.module.volume(vol)]

    def document(self, vol, part) -> bytes:
        return self.module.document(vol, part)


@cache
def _module(name: str) -> ModuleType:
    # A build asks for its formats' modules a few times per document: `import_module` takes
    # the import machinery's lock each time, a dict lookup does not.
    return import_module(f"edition.exporting.{name}")


FORMATS: dict[str, Format] = {f.name: f for f in [
    Format("tei", "TEI XML", "xml", "application/tei+xml", "tei", "tei.standalone"),
    Format("html", "HTML", "html", "text/html; charset=utf-8", "html", "html.article"),
    Format("txt", "Plain text", "txt", "text/plain; charset=utf-8", "text",
           "text.document_text"),
    Format("json", "JSON (W3C Web Annotations)", "json", "application/json", "annotations",
           "annotations.document_fragment"),
    Format("epub", "EPUB 3", "epub", "application/epub+zip", "epub", "epub.chapter"),
    Format("pdf", "PDF", "pdf", "application/pdf", "pdf", "pdfhtml.article",
           group="print"),
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
