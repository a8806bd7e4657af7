"""Reading a page image: Tesseract through pytesseract's `image_to_data` (words, their boxes,
confidences and line ids), and the image's bytes from where they are — storage for an upload,
the network for a remote image, only from the hosts the edition allows."""

from __future__ import annotations

import functools
import io
import os
import shutil
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings

from ..models import PageImage

# What Tesseract is told: English, its default page segmentation (a printed page of prose
# with a running head and footnotes), and word-level output.
LANGUAGE = "eng"


class OCRError(Exception):
    """The page could not be read; the message is what `PageImage.ocr_error` says."""


@functools.cache
def _probe() -> tuple[bool, str]:
    try:
        import pytesseract
    except ImportError:  # pragma: no cover - a declared dependency
        return False, "OCR is not installed (the pytesseract package is missing)"
    if shutil.which(pytesseract.pytesseract.tesseract_cmd) is None:
        return False, "OCR is not installed (Tesseract was not found)"
    try:
        version = pytesseract.get_tesseract_version()
        languages = pytesseract.get_languages(config="")
    except (pytesseract.TesseractError, OSError) as exc:
        return False, f"OCR is not installed (Tesseract does not run: {exc})"
    if LANGUAGE not in languages:
        return False, "OCR is not installed (Tesseract has no English data)"
    return True, f"Tesseract {version}"


def available() -> tuple[bool, str]:
    """(True, "Tesseract 5.3.0") when pages can be read; else (False, why), a sentence the
    site shows where OCR would appear."""
    return _probe()


def engine_name() -> str:
    return _probe()[1]


def read(data: bytes) -> tuple[list[list], int, int]:
    """The words Tesseract reads in an image: ([[text, x, y, w, h, confidence, line], …] in
    reading order, width, height). `line` numbers the image's text lines from 0."""
    import pytesseract
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise OCRError(f"the image cannot be read: {exc}") from exc
    # One thread per page: the worker reads several pages at once, and on a busy machine
    # Tesseract's OpenMP threads make a page several times slower, not faster (bench/ocr.py).
    os.environ.setdefault("OMP_THREAD_LIMIT", str(settings.EMEND_OCR_THREADS))
    if image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
    try:
        data = pytesseract.image_to_data(image, lang=LANGUAGE,
                                         output_type=pytesseract.Output.DICT)
    except (pytesseract.TesseractError, OSError) as exc:
        raise OCRError(f"Tesseract failed: {exc}") from exc
    words, lines = [], {}
    for i, text in enumerate(data["text"]):
        text = (text or "").strip()
        if not text or int(data["level"][i]) != 5:
            continue
        line = lines.setdefault((data["page_num"][i], data["block_num"][i], data["par_num"][i],
                                 data["line_num"][i]), len(lines))
        words.append([text, int(data["left"][i]), int(data["top"][i]), int(data["width"][i]),
                      int(data["height"][i]), round(float(data["conf"][i]), 1), line])
    return words, image.width, image.height


def image_bytes(page: PageImage) -> bytes:
    """The bytes of the page's image: the upload's display derivative (else the upload) from
    storage, or the remote image, fetched only from the edition's `facsimile_hosts`. Raises
    OCRError saying why not."""
    stored = page.display or page.image
    if stored:
        try:
            with stored.open("rb") as handle:
                return handle.read(settings.EMEND_OCR_MAX_IMAGE_BYTES + 1)[
                    :settings.EMEND_OCR_MAX_IMAGE_BYTES]
        except OSError as exc:
            raise OCRError(f"the stored image cannot be opened: {exc}") from exc
    if not page.url:
        raise OCRError("the page has no image")
    return fetch(page.url, page.edition.facsimile_hosts or [])


def fetch(url: str, hosts: list[str]) -> bytes:
    """GET a remote page image: https (http only where EMEND_OCR_ALLOW_HTTP is set, for
    tests), a host in `hosts` (each redirect too), an image content type, at most
    EMEND_OCR_MAX_IMAGE_BYTES, within EMEND_OCR_FETCH_TIMEOUT seconds."""
    _allowed(url, hosts)
    opener = urllib.request.build_opener(_Redirects(hosts))
    request = urllib.request.Request(url, headers={"User-Agent": "Emend OCR cross-check"})
    limit = settings.EMEND_OCR_MAX_IMAGE_BYTES
    try:
        with opener.open(request, timeout=settings.EMEND_OCR_FETCH_TIMEOUT) as response:
            kind = response.headers.get_content_type()
            if not kind.startswith("image/"):
                raise OCRError(f"{url} is not an image (it is {kind})")
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > limit:
                raise OCRError(f"{url} is larger than {limit} bytes")
            data = response.read(limit + 1)
    except OCRError:
        raise
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise OCRError(f"{url} could not be fetched: {getattr(exc, 'reason', exc)}") from exc
    if len(data) > limit:
        raise OCRError(f"{url} is larger than {limit} bytes")
    return data


def _allowed(url: str, hosts: list[str]) -> None:
    parts = urlsplit(url)
    schemes = ("https", "http") if settings.EMEND_OCR_ALLOW_HTTP else ("https",)
    if parts.scheme not in schemes:
        raise OCRError(f"{url} is not an https address: the server fetches page images "
                       "over https only")
    host = (parts.hostname or "").lower()
    if host not in {h.strip().lower() for h in hosts}:
        raise OCRError(f"the server may not fetch from {host or url}: add it to the "
                       "edition's facsimile hosts to read its images")


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to an allowed host (an allowed host must not become a way
    to reach any other)."""

    def __init__(self, hosts: list[str]) -> None:
        self.hosts = hosts

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        _allowed(newurl, self.hosts)
        return super().redirect_request(req, fp, code, msg, headers, newurl)
