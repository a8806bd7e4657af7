"""IIIF Presentation 3 manifests of an edition and of one unit, made with iiif-prezi3, so that
Mirador or the Universal Viewer can open the volume's page images.

- The edition's manifest has a canvas per page with an image, in volume order; a unit's has
  the pages its current text stands on (`pages.spans`), its `start` the page it begins on.
  A canvas has the same id in both (`canvas_url`: the `pb`'s xml:id, else its facs id, else
  its place), so an annotation made on one is found on the other.
- The edition's manifest has a `structures` entry (a Range) per unit with page images, in
  volume order, so a viewer's contents list leads to each document: its own pages and the page
  it begins on, read from the page rows (`unit_pages`), not from the TEI: the unit's manifest
  (`pages.spans`) leaves that first page out when the unit's first `pb` stands at the very
  start of its text, which only the TEI tells.
- Canvases must have a width and height (IIIF requires them). A page whose image size is not
  recorded (a remote image named by the edition's pattern) gets the size most of the
  volume's known pages have, else FRUS's medium page (533 × 800), and says so in its
  metadata; its image has no size, so a viewer fits the image as it finds it to the canvas.
- Every address is absolute (`absolute`: the request's `build_absolute_uri`); what a manifest
  shows is summed up by `fingerprint`, which keys the cached JSON and the ETag.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import mimetypes
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from urllib.parse import quote

from django.db.models import Count, Max
from django.urls import reverse
from iiif_prezi3 import (Annotation, AnnotationBody, AnnotationPage, Canvas, CanvasRef,
                         Homepage, KeyValueString, Manifest, Range)

from .. import pages
from ..exporting.formats import FORMATS
from ..models import Document, Edition, ExportBuild, ExportFile, PageImage

CONTEXT = "http://iiif.io/api/presentation/3/context.json"
# What the Presentation API asks servers to answer with (section 6.1 of the 3.0 spec).
CONTENT_TYPE = f'application/ld+json;profile="{CONTEXT}"'
# FRUS's medium page images (history.state.gov), the size of a page no image told us of.
DEFAULT_SIZE = (533, 800)
# Bump when the manifests' shape changes: cached ones and ETags then change too.
VERSION = 1

Absolute = Callable[[str], str]


def canvas_name(page: PageImage) -> str:
    """The page's part of its canvas's address: stable while its `pb` keeps its id."""
    if page.pb_id:
        return page.pb_id
    if page.facs:
        return f"facs-{page.facs.lstrip('#')}"
    return f"seq-{page.sequence}"


def page_by_canvas_name(edition: Edition, name: str) -> PageImage | None:
    found = pages.pages(edition)
    page = found.filter(pb_id=name).first()
    if page is None and name.startswith("facs-"):
        page = found.filter(facs__in=[name[5:], "#" + name[5:]]).first()
    if page is None and name.startswith("seq-") and name[4:].isascii() and name[4:].isdigit():
        page = found.filter(sequence=int(name[4:])).first()
    return page


def canvas_url(page: PageImage, absolute: Absolute, edition: Edition) -> str:
    return _canvas_base(edition, absolute) + quote(canvas_name(page), safe="")


def _canvas_base(edition: Edition, absolute: Absolute) -> str:
    """The canvases' common address, up to their names: reversed once per manifest, not per
    page (a thousand `reverse` calls are a fifth of a volume's manifest)."""
    return absolute(reverse("edition:iiif_canvas", args=[edition.slug, "-"]))[:-1]


def range_url(document: Document, absolute: Absolute) -> str:
    return absolute(reverse("edition:iiif_range", args=[document.edition.slug,
                                                        document.xml_id]))


def edition_manifest_url(edition: Edition) -> str:
    return reverse("edition:iiif_manifest", args=[edition.slug])


def document_manifest_url(document: Document) -> str:
    return reverse("edition:iiif_document_manifest", args=[document.edition.slug,
                                                           document.xml_id])


# -- what a manifest shows ------------------------------------------------------------------

# The page fields a manifest reads: their values make its fingerprint.
_PAGE_FIELDS = ("pk", "sequence", "n", "pb_id", "facs", "source", "url", "full_url", "image",
                "display", "thumbnail", "width", "height", "mime_type", "document_id",
                "at_start")


def fingerprint(edition: Edition, origin: str, document: Document | None = None) -> str:
    """A digest of everything a manifest shows: the edition's metadata (its `updated_at`
    moves with every change to it), its pages' rows, the current export builds (the
    `rendering` links), its units' newest revision (the contents' labels) and, for a unit,
    its current revision (where its pages are). Three small queries; no TEI is read."""
    rows = list(pages.pages(edition).values_list(*_PAGE_FIELDS))
    builds = sorted(ExportBuild.objects.filter(edition=edition, current=True)
                    .values_list("group", "pk"))
    unit = (document.pk, document.current_revision_id, document.title, document.number) \
        if document is not None else None
    # The contents' labels: a unit's title can change with a revision, which does not touch
    # the edition; the newest revision moves with every one.
    units = edition.documents.aggregate(newest=Max("current_revision_id"), count=Count("pk"))
    data = [VERSION, origin, edition.pk, edition.updated_at.isoformat(), rows, builds, unit,
            units]
    return hashlib.sha256(json.dumps(data, default=str).encode()).hexdigest()


def with_images(found: Iterable[PageImage]) -> list[PageImage]:
    return [page for page in found if page.has_image]


def document_pages(document: Document) -> list[PageImage]:
    """The pages with an image that the unit's current text stands on, in order."""
    return with_images(span.page for span in pages.spans(document))


def edition_has_page_images(edition: Edition) -> bool:
    return pages.pages(edition).exclude(url="", image="", display="").exists()


def has_page_images(document: Document) -> bool:
    """Whether the unit's manifest has a canvas, without reading its TEI (the reading view
    asks): an image on one of its own pages or on the page in effect where it begins."""
    found = pages.pages(document.edition).exclude(url="", image="", display="")
    if found.filter(document=document).exists():
        return True
    first = pages.pages(document.edition).filter(document=document).first()
    if first is not None and first.at_start:
        return False  # it begins on its own first page, which has no image
    before = (pages.pages(document.edition).filter(unit_order__lt=document.order)
              .order_by("-sequence").first())
    return before is not None and before.has_image


def unit_pages(edition: Edition, found: list[PageImage]) -> dict[int, list[PageImage]]:
    """Unit pk → the pages of `found` (the edition's, in volume order) it stands on: the page
    in effect where it begins (the one before its first own page, else the last page begun
    before it; none when its first own pb stands at the very start of its text, as
    pages.spans has it) and its own. Units are those with a current revision, in volume
    order."""
    own: dict[int, list[PageImage]] = defaultdict(list)
    for page in found:
        if page.document_id is not None:
            own[page.document_id].append(page)
    place = {page.pk: index for index, page in enumerate(found)}
    unit_orders = [page.unit_order for page in found]  # non-decreasing along the volume
    result: dict[int, list[PageImage]] = {}
    for unit_pk, order in (edition.documents.filter(current_revision__isnull=False)
                           .order_by("order").values_list("pk", "order")):
        mine = own.get(unit_pk, [])
        if mine and mine[0].at_start:
            result[unit_pk] = mine
            continue
        before = place[mine[0].pk] - 1 if mine else bisect.bisect_left(unit_orders, order) - 1
        result[unit_pk] = ([found[before]] if before >= 0 else []) + mine
    return result


# -- building -------------------------------------------------------------------------------


def edition_manifest(edition: Edition, absolute: Absolute) -> dict:
    """The volume's manifest as JSON-LD (a dict); LookupError when no page has an image (a
    manifest must have a canvas)."""
    every = list(pages.pages(edition))
    found = with_images(every)
    if not found:
        raise LookupError("no page of this edition has an image")
    items = _canvases(edition, found, absolute)
    manifest = Manifest(
        id=absolute(edition_manifest_url(edition)),
        label={"en": [edition.title or edition.slug]},
        summary=_summary(edition, None),
        metadata=_metadata(edition),
        homepage=[Homepage(id=absolute(edition.get_absolute_url()), type="Text",
                           label={"en": [f"Read {edition.short_title}"]},
                           format="text/html")],
        rendering=_renderings(edition, None, absolute),
        items=items,
        structures=_ranges(edition, every, {p.pk: c.id for p, c in zip(found, items)},
                           absolute),
    )
    return _json_ld(manifest)


def document_manifest(document: Document, absolute: Absolute) -> dict:
    """One unit's manifest: the pages its current text stands on; `start` is the page it
    begins on. LookupError when none has an image."""
    edition = document.edition
    found = document_pages(document)
    if not found:
        raise LookupError(f"{document.label} has no page image")
    items = _canvases(edition, found, absolute)
    manifest = Manifest(
        id=absolute(document_manifest_url(document)),
        label={"en": [f"{edition.short_title}, {document}"]},
        summary=_summary(edition, document),
        metadata=_metadata(edition, document),
        homepage=[Homepage(id=absolute(document.get_absolute_url()), type="Text",
                           label={"en": [f"Read {document.label}"]}, format="text/html")],
        rendering=_renderings(edition, document, absolute),
        start={"id": items[0].id, "type": "Canvas"},
        partOf=[{"id": absolute(edition_manifest_url(edition)), "type": "Manifest",
                 "label": {"en": [edition.title or edition.slug]}}],
        seeAlso=[{"id": absolute(reverse("review:api:document_pages",
                                         args=[edition.slug, document.xml_id])),
                  "type": "Dataset", "label": {"en": ["The pages and their place in the text"]},
                  "format": "application/json"}],
        items=items,
    )
    return _json_ld(manifest)


def _ranges(edition: Edition, every: list[PageImage], canvases: dict[int, str],
            absolute: Absolute) -> list[Range] | None:
    units = {d.pk: d for d in edition.documents.only("pk", "xml_id", "number", "title",
                                                     "edition_id")}
    ranges = []
    for unit_pk, unit_pages_ in unit_pages(edition, every).items():
        refs = [CanvasRef(id=canvases[p.pk], type="Canvas") for p in unit_pages_
                if p.pk in canvases]
        if refs:
            unit = units[unit_pk]
            unit.edition = edition
            ranges.append(Range(id=range_url(unit, absolute), label={"none": [str(unit)]},
                                items=refs))
    return ranges or None


def range_json(document: Document, absolute: Absolute) -> dict:
    """A unit's Range of the edition's manifest on its own (what its id answers); LookupError
    when it has none."""
    edition = document.edition
    manifest = edition_manifest(edition, absolute)
    wanted = range_url(document, absolute)
    for found in manifest.get("structures", []):
        if found["id"] == wanted:
            return {"@context": CONTEXT, **found,
                    "partOf": [{"id": manifest["id"], "type": "Manifest"}]}
    raise LookupError(f"{document.label} has no page image")


def canvas_json(edition: Edition, page: PageImage, absolute: Absolute, part: str = "") -> dict:
    """One page's canvas on its own (what its id answers), or its annotation page
    (`part` "page") or painting annotation ("image"), each naming what it is part of."""
    canvas = _dump(_canvases(edition, [page], absolute)[0])
    found = {"": canvas, "page": canvas["items"][0],
             "image": canvas["items"][0]["items"][0]}[part]
    within = ({"id": absolute(edition_manifest_url(edition)), "type": "Manifest"} if not part
              else {"id": canvas["id"], "type": "Canvas"})
    return {"@context": CONTEXT, **found, "partOf": [within]}


def _json_ld(resource) -> dict:
    return {"@context": CONTEXT, **_dump(resource)}


def _dump(resource) -> dict:
    """iiif-prezi3's `json()` without its pass rewriting datetimes (a manifest has none; on a
    volume's thousand canvases the pass costs as much as the dump)."""
    return resource.model_dump(exclude_none=True, by_alias=True, mode="json")


def _summary(edition: Edition, document: Document | None) -> dict:
    what = f"{document} ({document.label}), in " if document is not None else ""
    return {"en": [f"Page images of {what}{edition.title or edition.slug}, in page order."]}


def _metadata(edition: Edition, document: Document | None = None) -> list[KeyValueString]:
    pairs = [("Title", edition.title), ("Series", edition.series_title),
             ("Volume", edition.volume_number), ("Editors", "; ".join(edition.editors or [])),
             ("Published", ", ".join(p for p in (edition.pub_place, edition.publisher,
                                                   edition.pub_date) if p)),
             ("Identifier", edition.slug)]
    if document is not None:
        pairs += [("Part", str(document)), ("Part identifier", document.xml_id)]
    return [KeyValueString(label={"en": [label]}, value={"none": [value]})
            for label, value in pairs if value]


def _renderings(edition: Edition, document: Document | None, absolute: Absolute) -> list:
    """The text of what the images show, as files: the current exports (and a unit's
    current TEI, which needs no build)."""
    files = (ExportFile.objects.filter(build__edition=edition, build__current=True,
                                       document=document)
             .values_list("format", flat=True).distinct())
    stem = document.xml_id if document is not None else edition.slug
    found = []
    if document is not None:
        found.append({"id": absolute(reverse("edition:document_tei",
                                             args=[edition.slug, document.xml_id])),
                      "type": "Text", "label": {"en": [f"TEI XML of {document.label}"]},
                      "format": "application/tei+xml"})
    for name in FORMATS:
        if name not in files:
            continue
        fmt = FORMATS[name]
        found.append({"id": absolute(reverse("edition:export_file",
                                             args=[edition.slug, f"{stem}.{fmt.extension}"])),
                      "type": "Text", "label": {"en": [f"{fmt.label} (exported file)"]},
                      "format": fmt.content_type.split(";")[0]})
    return found


def _assumed_size(edition: Edition) -> tuple[int, int]:
    """The size most of the volume's pages with a known size have; FRUS's medium page when
    none has one."""
    sizes = Counter(pages.pages(edition).filter(width__isnull=False, height__isnull=False)
                    .values_list("width", "height"))
    return sizes.most_common(1)[0][0] if sizes else DEFAULT_SIZE


def _format(url: str, recorded: str = "") -> str | None:
    """The image's media type: the one recorded (the display image's), else its name's."""
    if recorded and "/" in recorded:
        return recorded
    guessed, _ = mimetypes.guess_type(url.split("?")[0])
    return guessed if guessed and guessed.startswith("image/") else None


def _canvases(edition: Edition, found: list[PageImage], absolute: Absolute) -> list[Canvas]:
    assumed = None
    canvases = []
    base = _canvas_base(edition, absolute)
    for page in found:
        page.edition = edition  # image_urls reads it: spare a query per page
        urls = pages.image_urls(page)
        canvas_id = base + quote(canvas_name(page), safe="")
        display = absolute(urls["display"])
        known = bool(page.width and page.height)
        if known:
            width, height = page.width, page.height
        else:
            assumed = assumed or _assumed_size(edition)
            width, height = assumed
        body = {"id": display, "type": "Image", "format": _format(display, page.mime_type)}
        if known:
            body.update(width=width, height=height)
        extra = {}
        if not known:
            extra["metadata"] = [KeyValueString(
                label={"en": ["Image size"]},
                value={"en": [f"not recorded: the canvas assumes {width} × {height}"]})]
        if urls.get("thumbnail"):
            extra["thumbnail"] = [{"id": absolute(urls["thumbnail"]), "type": "Image",
                                   **_only_format(_format(urls["thumbnail"]))}]
        if urls.get("full") and urls["full"] != urls["display"]:
            extra["rendering"] = [{"id": absolute(urls["full"]), "type": "Image",
                                   "label": {"en": [f"{page.label}, full size"]},
                                   **_only_format(_format(urls["full"]))}]
        canvases.append(Canvas(
            id=canvas_id, label={"none": [page.label]}, width=width, height=height,
            items=[AnnotationPage(id=f"{canvas_id}/page", items=[Annotation(
                id=f"{canvas_id}/image", motivation="painting", target=canvas_id,
                body=AnnotationBody(**{k: v for k, v in body.items() if v is not None}))])],
            **extra))
    return canvases


def _only_format(value: str | None) -> dict:
    return {"format": value} if value else {}
