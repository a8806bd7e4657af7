"""`{% page_figure page %}`: a page image as every page shows it (the reading view's panel,
the proposing form, the proposal page, the suggestions): the image, the words or region
outlined on it, its label and a link to the full size. `edition/static/edition/pageviewer.js`
adds the zoom and pan; without it the figure is an image and a link."""

from __future__ import annotations

from django import template

from .. import pages
from ..models import PageImage

register = template.Library()


@register.inclusion_tag("edition/_page_figure.html")
def page_figure(page: PageImage, boxes=(), region=None, urls=None, caption: str = "",
                figure_id: str = "") -> dict:
    """`boxes`: [x, y, w, h] of words to highlight, `region`: an OCR suggestion's, both in
    the pixels of the image `page.width` × `page.height` describe (outlines need them: the
    overlay's viewBox is that image's size, so it scales with the image shown)."""
    sized = bool(page.width and page.height)
    return {
        "page": page,
        "urls": urls or pages.image_urls(page),
        "boxes": [[int(v) for v in box[:4]] for box in boxes or ()] if sized else [],
        "region": [int(v) for v in region[:4]] if sized and region else None,
        "caption": caption,
        "figure_id": figure_id,
    }


# Around a region shown cropped: enough for the line's neighbouring words and the lines above
# and below, in the image's pixels.
CROP_MARGIN_X, CROP_MARGIN_Y = 160, 50


@register.inclusion_tag("edition/_page_crop.html")
def page_crop(page: PageImage, region, label: str = "") -> dict:
    """The part of the page image around `region` [x, y, w, h], outlined: an SVG whose
    viewBox is that part (a crop without making an image, and no inline style)."""
    if not (page and page.has_image and page.width and page.height and region):
        return {"crop": None}
    x, y, w, h = (int(v) for v in region[:4])
    left, top = max(0, x - CROP_MARGIN_X), max(0, y - CROP_MARGIN_Y)
    right = min(page.width, x + w + CROP_MARGIN_X)
    bottom = min(page.height, y + h + CROP_MARGIN_Y)
    return {"crop": {"x": left, "y": top, "w": max(1, right - left), "h": max(1, bottom - top)},
            "region": [x, y, w, h], "page": page, "urls": pages.image_urls(page),
            "label": label or f"The words the OCR read on {page.label}, outlined"}
