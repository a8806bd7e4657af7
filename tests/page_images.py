"""Page images for tests: the sample volume with its pages synced, and a scan "uploaded" onto a
page as h1's import_facsimile leaves it (image, display, thumbnail in storage; the display
image's size and type recorded)."""

from __future__ import annotations

import io

from django.core.files.base import ContentFile
from PIL import Image

from edition import pages
from edition.imports import import_tei
from edition.models import Edition, PageImage
from tests.helpers import EXCERPT

FRUS_PATTERN = "https://static.history.state.gov/frus/{volume}/medium/{facs}.png"


def png(size: tuple[int, int]) -> bytes:
    data = io.BytesIO()
    Image.new("L", size, 255).save(data, "PNG")
    return data.getvalue()


def synced_edition(*, pattern: str = FRUS_PATTERN) -> Edition:
    edition = import_tei(EXCERPT).edition
    edition.facsimile_url = pattern
    edition.save()
    pages.sync(edition)
    return edition


def upload(page: PageImage, size: tuple[int, int] = (1000, 1500)) -> PageImage:
    """Store a scan for `page` (MEDIA_ROOT should be a temporary folder)."""
    stem = page.facs or page.n
    page.image.save(f"{stem}.png", ContentFile(png((size[0] * 2, size[1] * 2))), save=False)
    page.display.save(f"{stem}-display.png", ContentFile(png(size)), save=False)
    page.thumbnail.save(f"{stem}-thumb.png", ContentFile(png((size[0] // 5, size[1] // 5))),
                        save=False)
    page.source, page.url, page.full_url = PageImage.Source.UPLOAD, "", ""
    page.width, page.height, page.mime_type = size[0], size[1], "image/png"
    page.save()
    return page
