"""Page images for tests: a unit's pages printed with Pillow (its words, its line breaks, a
"[Page N]" line), stored as uploads, with the words' boxes as the OCR would give them."""

from __future__ import annotations

import io

from django.core.files.base import ContentFile
from PIL import Image, ImageDraw, ImageFont

from edition import pages
from edition.models import Document, PageImage

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
WIDTH, HEIGHT, MARGIN, SIZE = 900, 1300, 60, 22


def print_page(text: str, label: str) -> tuple[bytes, list[list]]:
    """A PNG of `text` set in lines under `label`, and its words as
    [[text, x, y, w, h, confidence, line], …] in the image's pixels."""
    font = ImageFont.truetype(FONT, SIZE)
    image = Image.new("L", (WIDTH, HEIGHT), 255)
    draw = ImageDraw.Draw(image)
    draw.text((WIDTH - MARGIN - draw.textlength(label, font=font), MARGIN), label, font=font,
              fill=0)
    words, x, y, line = [], MARGIN, MARGIN + 2 * SIZE, 0
    space = draw.textlength(" ", font=font)
    for word in text.split():
        width = draw.textlength(word, font=font)
        if x + width > WIDTH - MARGIN:
            x, y, line = MARGIN, y + int(SIZE * 1.5), line + 1
        if y > HEIGHT - MARGIN - SIZE:
            break  # the rest of the text would be on the next printed page
        draw.text((x, y), word, font=font, fill=0)
        left, top, right, bottom = draw.textbbox((x, y), word, font=font)
        words.append([word, int(left), int(top), int(right - left), int(bottom - top), 96.0, line])
        x += width + space
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue(), words


def attach(document: Document) -> list[PageImage]:
    """Print each page of `document`'s current text (pages.spans) and store it as the page's
    uploaded scan, with its OCR words. MEDIA_ROOT should be a test's own folder."""
    text = document.current_revision.text
    done = []
    for span in pages.spans(document):
        page = span.page
        png, words = print_page(text[span.start:span.end], page.label)
        page.image.save(f"{page.facs or page.n}.png", ContentFile(png), save=False)
        page.display.save(f"{page.facs or page.n}-display.png", ContentFile(png), save=False)
        page.source, page.width, page.height = PageImage.Source.UPLOAD, WIDTH, HEIGHT
        page.ocr_words, page.ocr_status = words, PageImage.OCRStatus.DONE
        page.save()
        done.append(page)
    pages.touch(document.edition)
    return done


def serve_media(page, media_root) -> None:
    """Answer the browser's requests for uploaded files from `media_root` (the live server
    serves static files, not uploads)."""
    from pathlib import Path
    from urllib.parse import unquote, urlparse

    def fulfil(route):
        path = Path(media_root) / unquote(urlparse(route.request.url).path).split("/media/", 1)[1]
        if path.is_file():
            route.fulfill(path=str(path))
        else:
            route.fulfill(status=404, body="not found")

    page.route("**/media/**", fulfil)
