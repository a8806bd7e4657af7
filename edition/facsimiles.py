"""Uploaded scans (issue 11): `import_facsimile`'s work, and the worker's.

`plan(edition, paths, first_page)` reads what was given and decides which page each image is
for, refusing the whole run — before anything is stored — when a file is unreadable, too large,
names no page or the same page as another, or a PDF has more pages than the volume has left:

- image files (`.png`, `.jpg`, `.tif`, `.webp`) are named by the page's `facs` id (`0308.png`)
  or its printed number (`278.png`); a name that is one page's `facs` and another's number, or
  the number of two pages, is ambiguous and refused;
- a PDF of the printed volume: its pages are matched in order to the volume's `pb`s, the first
  to the `pb` whose `@n` is `first_page` (default: the volume's first `pb`). Counting PDF pages
  instead would mean nothing to a person holding the book, and a number printed twice (two
  pages "1" in front matter and body) is refused by name.

`store(plan)` puts the given files into Django storage (the default storage: shared storage
serves every host) and records a `FacsimileUpload` listing its items; `make(upload, start,
stop)` — the worker, a chunk of items per task — makes each page's images (`image`: the scan,
or a PDF page rendered at `EMEND_FACSIMILE_PDF_DPI`; `display`: a PNG `EMEND_FACSIMILE_DISPLAY_
HEIGHT` pixels high, what readers see and OCR reads; `thumbnail`) and switches the page's row
to them in one transaction, deleting the files it replaced once that commits. A page is either
its old scan or its new one; the upload counts pages done and failed.
"""

from __future__ import annotations

import io
import math
import os
import uuid
from datetime import timedelta
from dataclasses import dataclass, field
from pathlib import Path

import pypdfium2 as pdfium
from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from PIL import Image, ImageChops, ImageOps, UnidentifiedImageError

from . import tasks
from .models import Edition, FacsimileItem, FacsimileUpload, PageImage
from .exporting.builds import request_export
from .pages import pages, touch

IMAGE_SUFFIXES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
                  ".tif": "image/tiff", ".tiff": "image/tiff", ".webp": "image/webp"}
# Items per worker task: enough to amortise opening a PDF, small enough that two workers share
# a 100-page volume evenly.
CHUNK = 4


class FacsimileError(Exception):
    """The run is refused: every problem found, one a line; nothing was stored."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class Plan:
    edition: Edition
    # (the file given, the page it is for, the PDF page index or None)
    entries: list[tuple[Path, PageImage, int | None]] = field(default_factory=list)
    pdf: Path | None = None


def plan(edition: Edition, paths: list[Path], first_page: str | None = None) -> Plan:
    """Which page each file (or PDF page) is for; `FacsimileError` naming every problem."""
    paths = [Path(p) for p in paths]
    problems: list[str] = []
    if not paths:
        raise FacsimileError(["no files given"])
    rows = list(pages(edition))
    if not rows:
        raise FacsimileError([f"{edition.slug} has no page breaks (pb) to attach images to"])
    pdfs = [p for p in paths if p.suffix.lower() == ".pdf"]
    for path in paths:
        if not path.is_file():
            problems.append(f"{path}: no such file")
        elif path.stat().st_size > settings.EMEND_FACSIMILE_MAX_BYTES:
            problems.append(f"{path}: {path.stat().st_size:,} bytes, over the limit of "
                            f"{settings.EMEND_FACSIMILE_MAX_BYTES:,} "
                            "(EMEND_FACSIMILE_MAX_BYTES)")
        elif path.suffix.lower() not in IMAGE_SUFFIXES and path.suffix.lower() != ".pdf":
            problems.append(f"{path}: not an image (.png, .jpg, .tif, .webp) or a PDF")
    if problems:
        raise FacsimileError(problems)
    if pdfs and (len(pdfs) > 1 or len(paths) > 1):
        raise FacsimileError(["give one PDF of the volume, or image files, not both"])
    if pdfs:
        return _plan_pdf(edition, rows, pdfs[0], first_page)
    if first_page is not None:
        raise FacsimileError(["--first-page is for a PDF; image files are matched by name"])
    return _plan_images(edition, rows, paths)


def _plan_pdf(edition: Edition, rows: list[PageImage], path: Path,
              first_page: str | None) -> Plan:
    try:
        document = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise FacsimileError([f"{path}: not a readable PDF ({exc})"]) from None
    try:
        count = len(document)
        # A page rendered too large would take the worker's memory: refused now, by number.
        scale = settings.EMEND_FACSIMILE_PDF_DPI / 72
        huge = [f"{path}: page {index + 1} is {width / 72:.0f} × {height / 72:.0f} in, "
                f"over EMEND_FACSIMILE_MAX_PIXELS at {settings.EMEND_FACSIMILE_PDF_DPI} dpi"
                for index, (width, height) in enumerate(
                    document.get_page_size(i) for i in range(count))
                if width * scale * height * scale > settings.EMEND_FACSIMILE_MAX_PIXELS]
    finally:
        document.close()
    if huge:
        raise FacsimileError(huge[:20])
    if count == 0:
        raise FacsimileError([f"{path}: the PDF has no pages"])
    start = 0
    if first_page is not None:
        matching = [i for i, row in enumerate(rows) if row.n == first_page]
        if not matching:
            raise FacsimileError([f"--first-page {first_page}: no page break has n="
                                  f"\"{first_page}\" in {edition.slug}"])
        if len(matching) > 1:
            raise FacsimileError([f"--first-page {first_page}: {len(matching)} page breaks "
                                  f"have n=\"{first_page}\" (pb {', '.join(rows[i].pb_id or rows[i].facs for i in matching)}); "
                                  "the volume numbers two pages alike, so a PDF cannot start "
                                  "at it unambiguously"])
        start = matching[0]
    left = len(rows) - start
    if count > left:
        where = f"from [Page {rows[start].n}] " if first_page is not None else ""
        raise FacsimileError([f"{path}: the PDF has {count} pages but the volume has {left} "
                              f"page breaks {where}on (give --first-page, or a shorter PDF)"])
    result = Plan(edition, pdf=path)
    result.entries = [(path, rows[start + i], i) for i in range(count)]
    return result


def _plan_images(edition: Edition, rows: list[PageImage], paths: list[Path]) -> Plan:
    by_facs: dict[str, list[PageImage]] = {}
    by_n: dict[str, list[PageImage]] = {}
    for row in rows:
        if row.facs:
            by_facs.setdefault(row.facs.lstrip("#"), []).append(row)
        if row.n:
            by_n.setdefault(row.n.casefold(), []).append(row)
    problems: list[str] = []
    result = Plan(edition)
    claimed: dict[int, Path] = {}
    for path in paths:
        stem = path.stem
        found = {r.pk: r for r in by_facs.get(stem, []) + by_n.get(stem.casefold(), [])}
        if not found:
            problems.append(f"{path.name}: names no page of {edition.slug} (neither a facs id "
                            "nor a page number)")
            continue
        if len(found) > 1:
            problems.append(f"{path.name}: ambiguous, it names "
                            + ", ".join(f"{r.label} (facs {r.facs or '—'})"
                                        for r in found.values()))
            continue
        row = next(iter(found.values()))
        if row.pk in claimed:
            problems.append(f"{path.name}: {row.label} is already given by "
                            f"{claimed[row.pk].name}")
            continue
        claimed[row.pk] = path
        problem = _check_image(path)
        if problem:
            problems.append(problem)
            continue
        result.entries.append((path, row, None))
    if problems:
        raise FacsimileError(problems)
    return result


def _check_image(path: Path) -> str:
    try:
        with Image.open(path) as image:
            width, height = image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError) as exc:
        return f"{path.name}: not a readable image ({exc})"
    if width * height > settings.EMEND_FACSIMILE_MAX_PIXELS:
        return (f"{path.name}: {width}×{height} pixels, over the limit of "
                f"{settings.EMEND_FACSIMILE_MAX_PIXELS:,} (EMEND_FACSIMILE_MAX_PIXELS)")
    return ""


def store(result: Plan, *, by=None) -> FacsimileUpload:
    """Put the files into storage and record the upload with its items, in one transaction:
    files stored before a failure are deleted again. The caller sends the work
    (`tasks.make_page_images`, or `make` in place)."""
    storage = default_storage
    folder = f"pages/{result.edition.slug}/{uuid.uuid4().hex[:12]}"
    stored: list[str] = []
    try:
        with transaction.atomic():
            names: dict[Path, str] = {}
            for path, _, _ in result.entries:
                if path not in names:
                    with path.open("rb") as handle:
                        names[path] = storage.save(f"{folder}/{_safe(path.name)}",
                                                   File(handle))
                    stored.append(names[path])
            upload = FacsimileUpload.objects.create(
                edition=result.edition, created_by=by,
                source_name=", ".join(p.name for p in dict.fromkeys(
                    path for path, _, _ in result.entries))[:500],
                total=len(result.entries))
            FacsimileItem.objects.bulk_create(
                [FacsimileItem(upload=upload, position=position, page=row.pk,
                               name=names[path], index=index, label=row.label[:100])
                 for position, (path, row, index) in enumerate(result.entries)],
                batch_size=500)
    except BaseException:
        for name in stored:
            storage.delete(name)
        raise
    return upload


def _safe(name: str) -> str:
    stem, suffix = os.path.splitext(name)
    keep = "".join(c if c.isalnum() or c in "-_." else "_" for c in stem)[:80] or "page"
    return keep + suffix.lower()


def chunks(upload: FacsimileUpload) -> list[tuple[int, int]]:
    """The [start, stop) ranges of items, one per worker task."""
    return [(start, min(start + CHUNK, upload.total))
            for start in range(0, upload.total, CHUNK)]


def make(upload_id: int, start: int, stop: int) -> int:
    """Make the pages of items [start, stop) of an upload (the worker). Safe to run twice:
    a finished item is skipped. Returns the number made now."""
    upload = FacsimileUpload.objects.get(pk=upload_id)
    now = timezone.now()
    FacsimileUpload.objects.filter(pk=upload_id, status=FacsimileUpload.Status.QUEUED).update(
        status=FacsimileUpload.Status.RUNNING, progressed_at=now)
    # A sign of life for the sweep (fail_stuck), whichever message of the upload this is.
    FacsimileUpload.objects.filter(pk=upload_id, status=FacsimileUpload.Status.RUNNING).update(
        progressed_at=now)
    items = list(FacsimileItem.objects.filter(upload_id=upload_id, position__gte=start,
                                              position__lt=stop).order_by("position"))
    made = 0
    pdf = None
    try:
        for item in items:
            offset = item.position
            if item.done:
                continue
            try:
                if item.index is not None and pdf is None:
                    pdf = pdfium.PdfDocument(_open_bytes(item.name))
                scan, mime = _source(item, pdf)
                _switch(upload, item, scan, mime)
                made += 1
                _finish_item(upload_id, offset, error="")
            except _PageFailure as exc:
                if item.index is None:
                    _forget(item.name)
                _finish_item(upload_id, offset, error=str(exc))
    finally:
        if pdf is not None:
            pdf.close()
    return made


class _PageFailure(Exception):
    pass


def _open_bytes(name: str) -> bytes:
    with default_storage.open(name, "rb") as handle:
        return handle.read()


def _source(item: FacsimileItem, pdf) -> tuple[Image.Image, str]:
    """The page's full image and the MIME type it is stored as."""
    try:
        if item.index is not None:
            page = pdf[item.index]
            try:
                image = page.render(scale=settings.EMEND_FACSIMILE_PDF_DPI / 72).to_pil()
            finally:
                page.close()
            return image, "image/png"
        with default_storage.open(item.name, "rb") as handle:
            image = Image.open(io.BytesIO(handle.read()))
            image.load()  # a truncated file fails here, not half-way through a resize
        return ImageOps.exif_transpose(image), IMAGE_SUFFIXES.get(
            Path(item.name).suffix.lower(), "")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError,
            pdfium.PdfiumError) as exc:
        raise _PageFailure(f"{item.label}: could not read the scan ({exc})") from None


def _png(image: Image.Image, *, fast: bool = False) -> bytes:
    """PNG bytes; `fast` for an image written once and rarely read (a PDF page's full
    image): zlib level 1 takes half the time for about a tenth more bytes."""
    buffer = io.BytesIO()
    if image.mode not in ("1", "L", "RGB", "RGBA", "LA", "P"):
        image = image.convert("RGB")
    image.save(buffer, "PNG", compress_level=1 if fast else 6)
    return buffer.getvalue()


def _grey_if_grey(image: Image.Image) -> Image.Image:
    """A colour image whose channels are equal (a printed page rendered or scanned in colour)
    as greyscale: a third of the pixels to resize and encode, the same picture."""
    if image.mode != "RGB":
        return image
    red, green, blue = image.split()
    if ImageChops.difference(red, green).getbbox() or ImageChops.difference(green, blue) \
            .getbbox():
        return image
    return red


def _scaled(image: Image.Image, height: int) -> Image.Image:
    if image.height <= height:
        return image.copy()
    width = max(1, round(image.width * height / image.height))
    if image.mode in ("1", "P"):
        image = image.convert("L" if image.mode == "1" else "RGB")
    return image.resize((width, height), Image.Resampling.LANCZOS)


def _switch(upload: FacsimileUpload, item: FacsimileItem, scan: Image.Image, mime: str) -> None:
    """Store the page's derivatives and point its row at them (old files deleted after
    commit). The row's OCR was read off the old image: it is cleared (its boxes are in the
    old image's pixels), and the page is read again."""
    storage = default_storage
    folder = os.path.dirname(item.name)
    stem = _safe(item.label.strip("[]").replace(" ", "-"))
    scan = _grey_if_grey(scan)
    display = _scaled(scan, settings.EMEND_FACSIMILE_DISPLAY_HEIGHT)
    thumbnail = _scaled(display, settings.EMEND_FACSIMILE_THUMBNAIL_HEIGHT)
    new: list[str] = []
    try:
        if item.index is not None:  # the rendered PDF page is the full image
            full = storage.save(f"{folder}/{stem}-full.png",
                                ContentFile(_png(scan, fast=True)))
            new.append(full)
        else:
            full = item.name
        new.append(storage.save(f"{folder}/{stem}-display.png", ContentFile(_png(display))))
        new.append(storage.save(f"{folder}/{stem}-thumb.png", ContentFile(_png(thumbnail))))
        with transaction.atomic():
            page = PageImage.objects.select_for_update().filter(pk=item.page).first()
            if page is None:
                raise _PageFailure(f"{item.label}: the page is no longer in the volume")
            old = [name for name in (page.image.name, page.display.name, page.thumbnail.name)
                   if name and name not in (full, *new)]
            page.image.name, page.display.name, page.thumbnail.name = full, new[-2], new[-1]
            page.source, page.upload = PageImage.Source.UPLOAD, upload
            page.width, page.height = display.size
            page.mime_type = "image/png"  # of the display image, which every address serves
            page.ocr_status, page.ocr_words, page.ocr_error = PageImage.OCRStatus.QUEUED, [], ""
            page.ocr_queued_at = timezone.now()
            page.ocr_engine, page.ocr_at, page.aligned = "", None, {}
            page.save()
            # The reading views show the new image: their pages stamp goes, after commit too.
            touch(upload.edition)
            transaction.on_commit(lambda: [storage.delete(name) for name in old])
            # The new image is read (edition/ocr/): its own message, so a slow OCR never
            # holds up the next page's images.
            tasks.enqueue_on_commit(tasks.ocr_page, page.pk)
    except BaseException:
        for name in new:
            storage.delete(name)
        raise


def _forget(name: str) -> None:
    """Delete a stored scan no row points at (its page failed)."""
    if not PageImage.objects.filter(image=name).exists():
        default_storage.delete(name)


def _finish_item(upload_id: int, offset: int, *, error: str) -> None:
    """Mark an item finished (once: a task run twice counts nothing twice); the upload is
    done when every item is, failed if any failed. A PDF is deleted once all its pages are
    made. Writes the one item and the upload's counters, whatever the upload's size."""
    with transaction.atomic():
        # The upload's row first: two workers finishing its last pages take turns here.
        upload = FacsimileUpload.objects.select_for_update().get(pk=upload_id)
        if not FacsimileItem.objects.filter(upload_id=upload_id, position=offset,
                                            done=False).update(
                done=True, error=error, finished_at=timezone.now()):
            return
        if error:
            upload.failed = F("failed") + 1
            upload.error = "\n".join(filter(None, [upload.error, error]))[-5000:]
        else:
            upload.done = F("done") + 1
        upload.progressed_at = timezone.now()
        upload.save(update_fields=["failed", "error", "done", "progressed_at"])
        upload.refresh_from_db(fields=["done", "failed"])
        if upload.done + upload.failed >= upload.total:
            upload.status = (FacsimileUpload.Status.FAILED if upload.failed
                             else FacsimileUpload.Status.DONE)
            upload.finished_at = timezone.now()
            upload.save(update_fields=["status", "finished_at"])
            pdfs = set(FacsimileItem.objects.filter(upload_id=upload_id, index__isnull=False)
                       .values_list("name", flat=True).distinct())
            transaction.on_commit(lambda: [default_storage.delete(n) for n in pdfs])
            # The volume TEI's <facsimile> lists the uploaded scans: build the exports again.
            request_export(upload.edition, f"Page images uploaded ({upload.source_name})")


def progress(upload: FacsimileUpload) -> int:
    """Percent of the upload's pages finished."""
    if not upload.total:
        return 100
    return math.floor(100 * (upload.done + upload.failed) / upload.total)


# -- uploads whose worker died ----------------------------------------------------------------


def unfinished(upload: FacsimileUpload) -> int:
    """Pages of the upload no worker finished (neither made nor failed)."""
    return max(0, upload.total - upload.done - upload.failed)


def fail_stuck(now=None) -> list[int]:
    """Uploads queued or running with no progress for EMEND_STUCK_JOB_SECONDS: failed, saying
    why and how many pages were not made (the periodic sweep). A late message of one still
    finishes its pages, and the upload ends done or failed by its pages as usual."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.EMEND_STUCK_JOB_SECONDS)
    failed = []
    for pk in FacsimileUpload.objects.filter(
            status__in=[FacsimileUpload.Status.QUEUED, FacsimileUpload.Status.RUNNING],
            progressed_at__lt=cutoff).values_list("pk", flat=True):
        with transaction.atomic():
            upload = FacsimileUpload.objects.select_for_update().filter(
                pk=pk, status__in=[FacsimileUpload.Status.QUEUED,
                                   FacsimileUpload.Status.RUNNING],
                progressed_at__lt=cutoff).first()
            if upload is None:  # progressed meanwhile
                continue
            left = unfinished(upload)
            hours = settings.EMEND_STUCK_JOB_SECONDS / 3600
            reason = (f"The worker stopped: no page was made for over {hours:g} hour"
                      f"{'s' if hours != 1 else ''} (it may have crashed, or its message was "
                      f"lost). {left} page{' was' if left == 1 else 's were'} not made; "
                      "retry to make them.")
            upload.status, upload.finished_at = FacsimileUpload.Status.FAILED, now
            upload.error = "\n".join(filter(None, [upload.error, reason]))[-5000:]
            upload.save(update_fields=["status", "finished_at", "error"])
        failed.append(pk)
    return failed


def can_retry(upload: FacsimileUpload) -> bool:
    return upload.status == FacsimileUpload.Status.FAILED and unfinished(upload) > 0


def retry(upload_id: int) -> FacsimileUpload | None:
    """Queue an upload's unfinished pages again (a failed upload: its worker stopped). Pages
    that failed on their own (an unreadable scan) are not retried: they would fail again.
    None when there is nothing to retry."""
    with transaction.atomic():
        upload = FacsimileUpload.objects.select_for_update().get(pk=upload_id)
        if not can_retry(upload):
            return None
        items = list(upload.items.only("position", "done", "error").order_by("position"))
        waiting = {item.position for item in items if not item.done}
        upload.status, upload.finished_at = FacsimileUpload.Status.QUEUED, None
        upload.progressed_at = timezone.now()
        # The pages' own errors stay; the sweep's reason goes with the failure it explained.
        upload.error = "\n".join(i.error for i in items if i.error)[-5000:]
        upload.save(update_fields=["status", "finished_at", "progressed_at", "error"])
        for start, stop in chunks(upload):
            if any(start <= position < stop for position in waiting):
                tasks.enqueue_on_commit(tasks.make_page_images, upload.pk, start, stop)
    return upload
