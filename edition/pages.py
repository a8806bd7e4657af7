"""Page images (issue 11): one `PageImage` row per `pb` of a volume, in volume order, and where
each page falls in a unit's text.

The rows follow the TEI: `sync(edition)` walks the skeleton in document order, entering each
unit's current revision where its placeholder stands, and keeps one row per `pb` it meets. A row
is matched to its `pb` by `facs`, else `xml:id`, else `n`, so an uploaded scan and its OCR stay
with their page when a revision adds or removes another `pb`. Where each image comes from:

- the TEI's own `<facsimile>`: a `<surface>` whose `@start` points at the `pb` (`#pg_278`) or
  whose `xml:id` the `pb`'s `@facs` names (`#surf_0308` or `surf_0308`), with its `<graphic>`'s
  `url`, `width`, `height` and `mimeType` (a second `<graphic>` is the full-size one);
- else the edition's `facsimile_url` pattern ({volume}, {facs}, {n});
- an uploaded scan (`edition.facsimiles`) wins over both; `sync` never touches its files.

`spans(revision)` places a unit's pages on its text layer: the page in effect where the unit
begins (the last `pb` before it in the volume) and each `pb` in its text, as `PageSpan`s with
`start`/`end` offsets — what the reading view follows, what a proposal's change falls on, and
the transcription an OCR reading is aligned with.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import time
from dataclasses import dataclass
from typing import Iterator
from urllib.parse import urlsplit

from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from lxml import etree

from .imports import CONTENT_PLACEHOLDER, PLACEHOLDER
from .models import Document, Edition, PageImage, Revision
from .tei import XML_ID, local_name, textlayer
from .tei.parsing import safe_parser
from .tei.render import page_anchor

_PB_TAG = re.compile(r"<(?:[\w.-]+:)?pb\b[^>]*>")
_DIMENSION = re.compile(r"^\s*(\d+)(?:\.\d+)?\s*(?:px)?\s*$")


@dataclass(frozen=True)
class Break:
    """A `pb` met walking the volume: its attributes and the unit whose TEI holds it."""

    n: str
    pb_id: str
    facs: str
    document_id: int | None
    unit_order: int  # the order of the unit holding it, or of the last unit begun before it
    at_start: bool = False  # at offset 0 of its unit's text: the unit begins on this page

    @property
    def key(self) -> tuple[str, str]:
        return _key(self.facs, self.pb_id, self.n)


@dataclass(frozen=True)
class Surface:
    url: str
    full_url: str
    width: int | None
    height: int | None
    mime_type: str


@dataclass(frozen=True)
class PageSpan:
    """A page's share of one unit's text layer: `layer.text[start:end]`."""

    page: PageImage
    start: int
    end: int


def _key(facs: str, pb_id: str, n: str) -> tuple[str, str]:
    if facs:
        return ("facs", facs.lstrip("#"))
    if pb_id:
        return ("id", pb_id)
    return ("n", n)


def breaks(edition: Edition) -> list[Break]:
    """Every `pb` of the volume in reading order: the skeleton's and those in each unit's
    current revision, where its placeholder stands (units without a place come last, as the
    volume export puts them)."""
    units = {d.xml_id: d for d in edition.documents.select_related("current_revision")
             .order_by("order")}
    found: list[Break] = []
    last_order = -1
    placed: set[str] = set()

    def unit(xml_id: str) -> None:
        nonlocal last_order
        document = units.get(xml_id)
        if document is None or document.current_revision is None:
            return
        placed.add(xml_id)
        last_order = document.order
        first = first_break_at_start(document.current_revision)
        for pb in document.current_revision.element.iter("{*}pb"):
            found.append(_break(pb, document.pk, document.order, at_start=pb is first))

    skeleton = etree.fromstring(edition.tei_skeleton.encode("utf-8"), parser=safe_parser()) \
        if edition.tei_skeleton else None
    if skeleton is not None:
        text = skeleton.find("{*}text")
        for node in (text if text is not None else skeleton).iter():
            if isinstance(node, etree._ProcessingInstruction):
                if node.target in (PLACEHOLDER, CONTENT_PLACEHOLDER):
                    unit((node.text or "").strip())
            elif local_name(node) == "pb":
                found.append(_break(node, None, last_order))
    for xml_id, document in units.items():
        if xml_id not in placed:
            unit(xml_id)
    return found


def _break(pb: etree._Element, document_id: int | None, unit_order: int, *,
           at_start: bool = False) -> Break:
    return Break(n=(pb.get("n") or "").strip(), pb_id=pb.get(XML_ID) or "",
                 facs=(pb.get("facs") or "").strip(), document_id=document_id,
                 unit_order=unit_order, at_start=at_start)


def first_break_at_start(revision: Revision) -> etree._Element | None:
    """The revision's first `pb` when it stands at offset 0 of its text layer (no text before
    it: the unit begins on that page), else None. No parse when the TEI has no `pb`."""
    if not _PB_TAG.search(revision.tei):
        return None
    if "layer" in revision.__dict__:  # built already: read it
        found = revision.layer.page_breaks
        return found[0].element if found and found[0].offset == 0 else None
    # Not the whole layer for this (an approval asks it of the parent, whose layer it does
    # not otherwise build): only the start of the tree.
    return textlayer.first_break_at_start(revision.element)


def begins_on_own_page_moved(old: Revision, new: Revision) -> bool:
    """Whether two revisions of a unit differ in beginning on their own first `pb`: text put
    before it or taken away moves no `pb` tag, yet the pages the unit stands on change."""
    return (first_break_at_start(old) is None) != (first_break_at_start(new) is None)


def surfaces(edition: Edition) -> dict[tuple[str, str], Surface]:
    """The `<facsimile>`'s surfaces, by the key of the `pb` each belongs to (its `facs`
    naming the surface, or the surface's `start` naming the `pb`)."""
    if "facsimile" not in edition.tei_skeleton:
        return {}
    root = etree.fromstring(edition.tei_skeleton.encode("utf-8"), parser=safe_parser())
    found: dict[tuple[str, str], Surface] = {}
    for surface in root.iter("{*}surface"):
        graphics = [g for g in surface.iter("{*}graphic") if g.get("url")]
        if not graphics:
            continue
        first = graphics[0]
        found_surface = Surface(
            url=first.get("url", ""), full_url=graphics[1].get("url", "") if len(graphics) > 1
            else "", width=_pixels(first.get("width")), height=_pixels(first.get("height")),
            mime_type=first.get("mimeType", ""))
        if surface.get(XML_ID):
            found[("facs", surface.get(XML_ID))] = found_surface
        start = (surface.get("start") or "").lstrip("#")
        if start:
            found[("id", start)] = found_surface
    return found


def _pixels(value: str | None) -> int | None:
    match = _DIMENSION.match(value or "")
    return int(match.group(1)) if match else None


def pattern_url(pattern: str, edition: Edition, item: Break | PageImage) -> str:
    if not pattern:
        return ""
    try:
        return pattern.format(volume=edition.slug, facs=item.facs.lstrip("#"), n=item.n)
    except (KeyError, IndexError, ValueError, AttributeError):  # the admin refuses these
        return ""


def page_breaks_moved(old_tei: str, new_tei: str) -> bool:
    """Whether two revisions of a unit differ in their `pb`s (added, removed, renumbered,
    reordered): then `sync` must run. A scan of the strings, no parse: cheap on every
    approval. Text moving around an unchanged pb changes no row."""
    return _PB_TAG.findall(old_tei) != _PB_TAG.findall(new_tei)


def sync(edition: Edition) -> list[PageImage]:
    """Make the edition's `PageImage` rows follow its TEI: one per `pb`, in volume order.
    Rows of `pb`s no longer in the volume are deleted unless they hold an upload (kept, with
    no sequence among the others', so that a `pb` put back finds its scan again)."""
    # What the database holds now: a caller's copy may predate an import that moved the
    # skeleton (import_text saves its own copy of the edition).
    edition.refresh_from_db(fields=["tei_skeleton", "facsimile_url", "facsimile_full_url"])
    found = breaks(edition)
    by_surface = surfaces(edition)
    with transaction.atomic():
        # Two syncs of one edition wait for each other (each would add the same new rows).
        # FOR NO KEY UPDATE, not FOR UPDATE: an approval meanwhile inserts rows referencing
        # the edition (its export request), whose foreign key check takes FOR KEY SHARE on
        # this row, which FOR UPDATE would make wait for the whole sync (in the worker, at
        # the lowest CPU priority: EMEND_WORKER_NICE).
        Edition.objects.select_for_update(no_key=True).filter(pk=edition.pk).values_list(
            "pk").first()
        # Without the OCR's words: a page's reading is never touched here, and a volume's
        # would be megabytes read and written back for nothing.
        existing = {_key(p.facs, p.pb_id, p.n): p
                    for p in PageImage.objects.select_for_update().filter(edition=edition)
                    .defer("ocr_words", "aligned")}
        # Each unit's panel as it is, before the loop below moves the rows: the panels that
        # differ afterwards are the pages retired (`touch`).
        units = list(edition.documents.order_by().values_list("pk", "xml_id", "order"))
        panels = _panels([_panel_row(p) for p in existing.values() if p.sequence < _PARKED],
                         units)
        # Move the rows in use out of the way of the unique sequence first (distinct values
        # below those of parked rows, which are _PARKED + pk).
        PageImage.objects.filter(edition=edition, sequence__lt=_PARKED).update(
            sequence=F("sequence") + _PARKED // 2)
        kept: list[PageImage] = []
        for sequence, item in enumerate(found):
            page = existing.pop(item.key, None) or PageImage(edition=edition, ocr_words=[],
                                                             aligned={})
            page.sequence = sequence
            page.n, page.pb_id, page.facs = item.n, item.pb_id, item.facs
            page.document_id, page.unit_order = item.document_id, item.unit_order
            page.at_start = item.at_start
            if not page.image:
                surface = by_surface.get(item.key) or by_surface.get(("id", item.pb_id))
                if surface is not None:
                    if surface.width and surface.height:
                        page.width, page.height = surface.width, surface.height
                    elif page.url != surface.url:
                        page.width = page.height = None  # another image: its size unknown
                    # (else the size the OCR measured of this same image stays)
                    page.source, page.url, page.full_url = PageImage.Source.TEI, surface.url, \
                        surface.full_url
                    page.mime_type = surface.mime_type
                elif edition.facsimile_url and item.facs:
                    page.source = PageImage.Source.PATTERN
                    page.url = pattern_url(edition.facsimile_url, edition, item)
                    page.full_url = pattern_url(edition.facsimile_full_url, edition, item)
                else:
                    page.source, page.url, page.full_url = "", "", ""
            kept.append(page)
        # A statement per batch of rows, not one per page.
        PageImage.objects.bulk_update([p for p in kept if p.pk], _SYNCED, batch_size=500)
        PageImage.objects.bulk_create([p for p in kept if not p.pk], batch_size=500)
        gone = list(existing.values())
        for page in gone:
            page.sequence, page.document_id = _PARKED + page.pk, None
        PageImage.objects.bulk_update([p for p in gone if p.image], ["sequence", "document"],
                                      batch_size=500)
        PageImage.objects.filter(pk__in=[p.pk for p in gone if not p.image]).delete()
        now = _panels([_panel_row(p) for p in kept], units)
        touch(edition, [xml_id for xml_id, digest in now.items() if panels.get(xml_id) != digest])
    forget_origins(edition.slug)
    return kept


# What `sync` writes of a page: where its pb is and where its image comes from.
_SYNCED = ["sequence", "n", "pb_id", "facs", "document", "unit_order", "at_start", "source",
           "url", "full_url", "width", "height", "mime_type"]

# Rows whose `pb` left the volume (kept for their upload) have _PARKED + pk as sequence.
_PARKED = 1_000_000_000


def pages(edition: Edition) -> Iterator[PageImage]:
    """The edition's pages in volume order (not those parked), each with its edition (without
    the TEI) for `image_urls`."""
    return (PageImage.objects.filter(edition=edition, sequence__lt=_PARKED)
            .select_related("edition").defer("edition__tei_skeleton", "edition__tei_header")
            .order_by("sequence"))


def spans(document: Document, revision: Revision | None = None) -> list[PageSpan]:
    """The pages `revision` (default: the current one) of `document` falls on, each with the
    stretch of its text layer on that page. The first is the page in effect where the unit
    begins, unless its own first `pb` stands at the very start."""
    revision = revision or document.current_revision
    layer = revision.layer
    own = list(PageImage.objects.filter(document=document, sequence__lt=_PARKED)
               .order_by("sequence"))
    by_key = {_key(p.facs, p.pb_id, p.n): p for p in own}
    anchors = [(a.offset, by_key.get(_key((a.element.get("facs") or "").strip(),
                                          a.element.get(XML_ID) or "",
                                          (a.element.get("n") or "").strip())))
               for a in layer.page_breaks]
    anchors = [(offset, page) for offset, page in anchors if page is not None]
    if not anchors or anchors[0][0] > 0:
        before = (PageImage.objects.filter(edition_id=document.edition_id,
                                           unit_order__lt=document.order,
                                           sequence__lt=_PARKED)
                  .order_by("-sequence").first())
        if own:
            # A pb in the skeleton between the previous unit and this one counts too.
            before = (PageImage.objects.filter(edition_id=document.edition_id,
                                               sequence__lt=own[0].sequence)
                      .order_by("-sequence").first()) or before
        if before is not None:
            anchors.insert(0, (0, before))
    result = []
    for index, (offset, page) in enumerate(anchors):
        end = anchors[index + 1][0] if index + 1 < len(anchors) else len(layer.text)
        result.append(PageSpan(page, offset, end))
    return result


def page_at(document: Document, offset: int, revision: Revision | None = None) -> PageImage | None:
    """The page the character at `offset` of the unit's text stands on."""
    found = None
    for span in spans(document, revision):
        if span.start <= offset:
            found = span.page
    return found


def image_urls(page: PageImage) -> dict[str, str]:
    """The addresses the browser loads a page's image from: `display` (reading, and the image
    OCR boxes are in), `full` (full size) and `thumbnail`. An upload's are paths of
    `edition:page_file` (served from storage, so any host serves them); a remote image's are
    its own, the TEI's or the pattern's (no thumbnail of its own: the display image); all ""
    when the page has none. Reads `page.edition` (`pages()` loads it)."""
    if page.display or page.image:
        def url(variant: str, file) -> str:
            # The stored name's folder is the upload's own: a new scan is a new address.
            folder, name = posixpath.split(file.name)
            return reverse("edition:page_file", args=[page.edition.slug, page.pk, variant,
                                                      posixpath.basename(folder), name])
        display = url("display", page.display or page.image)
        return {"display": display,
                "full": url("full", page.image) if page.image else display,
                "thumbnail": url("thumbnail", page.thumbnail) if page.thumbnail else display}
    return {"display": page.url, "full": page.full_url or page.url, "thumbnail": page.url}


def stamp_key(slug: str) -> str:
    """Cache key of the stamp of the edition's page images (the reading view shows them)."""
    return f"emend:pagestamp:{slug}"


def stamp_value(slug: str) -> str:
    """What the reading view shows of the edition's pages, hashed: which page each `pb` is,
    where it stands and where its image comes from. Read from the database when the cache has
    no stamp."""
    rows = (PageImage.objects.filter(edition__slug=slug, sequence__lt=_PARKED)
            .order_by("sequence").values_list("pk", "sequence", "document_id", "unit_order",
                                              "n", "pb_id", "facs", "url", "full_url",
                                              "image", "display", "thumbnail", "width",
                                              "height"))
    return hashlib.sha256(repr(list(rows)).encode()).hexdigest()[:16]


def touch(edition: Edition, units: list[str] | None = None) -> None:
    """The edition's page images changed: drop the edition's pages stamp (the exports page's)
    and the reading views' panel stamps, so that no page cached with the old images is served
    again: those of `units` (xml:ids: a sync, which knows whose panel it changed), or every
    unit's (None: an upload)."""
    slug = edition.slug
    keys = [stamp_key(slug)]
    keys += [panels_key(slug)] if units is None else [unit_panel_key(slug, x) for x in units]
    Document.retire(keys)


# Each unit's page-images panel has a stamp of its own (`unit_panel_key`, beside the edition's
# `panels_key`, which an upload drops): an approval that adds, removes or renumbers a `pb`
# makes the worker sync the rows, and that sync retires the reading pages of the units whose
# panel it changed (the unit itself, the one after it whose first page it is) — not all of
# them, each of which every reader would then render cold.
def panels_key(slug: str) -> str:
    return f"emend:pagepanels:{slug}"


def unit_panel_key(slug: str, xml_id: str) -> str:
    return f"emend:pagepanel:{slug}:{xml_id}"


def panels_value(slug: str) -> str:
    """The edition's panels stamp from the database: what an upload changes (the rows' own
    images), never what a sync does, so that it does not move when the stamp is read again
    after a sync (`STAMP_TTL`) and retire every page after all."""
    rows = (PageImage.objects.filter(edition__slug=slug).exclude(image="", display="")
            .order_by("pk").values_list("pk", "source", "image", "display", "thumbnail",
                                        "width", "height"))
    return hashlib.sha256(repr(list(rows)).encode()).hexdigest()[:16]


# What a panel shows of a row, and more: a superset is safe (a change it sees that the panel
# does not show only retires a page for nothing).
_PANEL_FIELDS = ("pk", "sequence", "document_id", "unit_order", "at_start", "n", "pb_id",
                 "facs", "source", "url", "full_url", "image", "display", "thumbnail", "width",
                 "height", "mime_type")


def unit_panel_value(slug: str, xml_id: str) -> str:
    """A unit's panel stamp from the database: a digest of the rows `spans` reads for it (its
    own, and those that may be the page in effect where it begins)."""
    unit = (Document.objects.filter(edition__slug=slug, xml_id=xml_id)
            .values_list("pk", "order", "edition_id").first())
    if unit is None:
        return "-"  # no such unit: its page is a 404 (the unit's own stamp says so)
    pk, order, edition_id = unit
    live = PageImage.objects.filter(edition_id=edition_id, sequence__lt=_PARKED)
    own = list(live.filter(document_id=pk).order_by("sequence").values_list(*_PANEL_FIELDS))
    before_first = (live.filter(sequence__lt=own[0][1]).order_by("-sequence")
                    .values_list(*_PANEL_FIELDS).first()) if own else None
    before_unit = (live.filter(unit_order__lt=order).order_by("-sequence")
                   .values_list(*_PANEL_FIELDS).first())
    return _panel_digest(before_first, before_unit, own)


def _panel_digest(before_first, before_unit, own: list) -> str:
    # The two rows `spans` may take as the page in effect where the unit begins: the last
    # before its own first row, and the last of the units before it. Without their sequence
    # (the second field), which orders them but is not shown: a page put in one unit moves
    # the sequence of every page after it, and must not retire those pages.
    picked = [row and row[:1] + row[2:] for row in (before_first, before_unit, *own)]
    return hashlib.sha256(repr(picked).encode()).hexdigest()[:16]


def _panel_row(page: PageImage) -> tuple:
    return tuple(_plain(getattr(page, f)) for f in _PANEL_FIELDS)


def _plain(value):
    """A field's value as the database gives it back, so that a row read and the same row as
    `sync` sets it in memory compare equal: a file's name, a choice's string."""
    if hasattr(value, "field"):  # a FieldFile
        return value.name or ""
    return str(value) if isinstance(value, str) else value


def _panels(rows: list[tuple], units: list[tuple[int, str, int]]) -> dict[str, str]:
    """Every unit's panel digest as `unit_panel_value` makes it from the database, from the
    edition's live rows (`_panel_row`) in memory: `units` are (pk, xml_id, order)."""
    return {xml_id: _panel_digest(*picked) for xml_id, picked in _picked(rows, units).items()}


def units_showing(page: PageImage) -> list[str]:
    """The xml:ids of the units whose panel shows `page` (its own, and those it is the page in
    effect at the start of: the units after it up to the next `pb`, several short documents
    on one printed page): whose pages to retire when only this row changed (its size, read
    by the OCR)."""
    live = PageImage.objects.filter(edition_id=page.edition_id, sequence__lt=_PARKED)
    rows = list(live.values_list(*_PANEL_FIELDS))
    units = list(Document.objects.filter(edition_id=page.edition_id).order_by()
                 .values_list("pk", "xml_id", "order"))
    return [xml_id for xml_id, (before_first, before_unit, own) in _picked(rows, units).items()
            if page.pk in {row[0] for row in (before_first, before_unit, *own) if row}]


def _picked(rows: list[tuple], units: list[tuple[int, str, int]]) -> dict[str, tuple]:
    """Each unit's (before_first, before_unit, own rows), as `unit_panel_value` reads them."""
    rows = sorted(rows, key=lambda row: row[1])  # by sequence
    position = {id(row): index for index, row in enumerate(rows)}
    own: dict[int, list[tuple]] = {}
    for row in rows:
        own.setdefault(row[2], []).append(row)
    by_unit_order = sorted(rows, key=lambda row: row[3])
    picked, before_unit, taken = {}, None, 0
    for pk, xml_id, order in sorted(units, key=lambda unit: unit[2]):
        while taken < len(by_unit_order) and by_unit_order[taken][3] < order:
            row = by_unit_order[taken]
            if before_unit is None or row[1] > before_unit[1]:
                before_unit = row
            taken += 1
        mine = own.get(pk, [])
        first = position[id(mine[0])] if mine else 0
        picked[xml_id] = (rows[first - 1] if first > 0 else None, before_unit, mine)
    return picked


@dataclass(frozen=True)
class Shown:
    """A page as the reading and reviewing pages show it: its span of the unit's text, its
    image's addresses and the id of its "[Page N]" marker in the rendered unit ("" for the
    page in effect where the unit begins, which has no marker of its own there)."""

    page: PageImage
    start: int
    end: int
    urls: dict
    anchor: str


def shown(document: Document, revision: Revision | None = None) -> list[Shown]:
    """The unit's pages that have an image, in order; [] when none has (no panel then).

    Cheap where it matters: one query when no page of the unit can have an image (the text
    layer is not read); otherwise the spans are kept in the cache per revision, under the
    unit's panel stamp they were computed with, so a signed-in reader's page does not derive the
    text layer each time."""
    revision = revision or document.current_revision
    imaged = (Q(url__gt="") | Q(image__gt="") | Q(display__gt=""))
    if not (PageImage.objects.filter(edition_id=document.edition_id, sequence__lt=_PARKED)
            .filter(Q(document=document) | Q(unit_order__lt=document.order)).filter(imaged)
            .exists()):
        return []
    panel = unit_panel_key(document.edition.slug, document.xml_id)
    key = f"emend:pagespans:{revision.pk}"
    found = cache.get_many([panel, key])
    stamp, kept = found.get(panel), found.get(key)
    if stamp is not None and kept is not None and kept[0] == stamp:
        rows = PageImage.objects.in_bulk([pk for pk, _, _ in kept[1]])
        placed = [PageSpan(rows[pk], start, end) for pk, start, end in kept[1] if pk in rows]
    else:
        placed = spans(document, revision)
        if stamp is not None:
            cache.set(key, (stamp, [(s.page.pk, s.start, s.end) for s in placed]), PAGE_SPANS_TTL)
    found_pages = []
    for span in placed:
        page = span.page
        if not page.has_image:
            continue
        page.edition = document.edition  # the image's address names it: spare a query each
        own = page.document_id == document.pk
        found_pages.append(Shown(page, span.start, span.end, image_urls(page),
                                 page_anchor(page.pb_id, page.n) if own else ""))
    return found_pages


# A revision's spans change only with the pages stamp, which the kept copy is checked against.
PAGE_SPANS_TTL = 24 * 3600


def remote_hosts(edition: Edition) -> list[str]:
    """The origins (`https://host[:port]`) the edition's remote page images come from: its
    address patterns' and those of the TEI's <facsimile> (read from the rows `sync` keeps),
    for the reading pages' Content-Security-Policy."""
    addresses = [_example(pattern, edition.slug)
                 for pattern in (edition.facsimile_url, edition.facsimile_full_url)]
    addresses += PageImage.objects.filter(edition=edition, source=PageImage.Source.TEI) \
        .values_list("url", flat=True).distinct()
    addresses += PageImage.objects.filter(edition=edition, source=PageImage.Source.TEI) \
        .exclude(full_url="").values_list("full_url", flat=True).distinct()
    found = []
    for address in addresses:
        origin = _origin(address)
        if origin and origin not in found:
            found.append(origin)
    return found


def _example(pattern: str, slug: str) -> str:
    try:
        return pattern.format(volume=slug, facs="0001", n="1")
    except (KeyError, IndexError, ValueError, AttributeError):  # the admin refuses these; an old row may not
        return ""


_HOST = re.compile(r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?")
_IPV6 = re.compile(r"[0-9a-f:.]+")


def _origin(address: str) -> str:
    """`scheme://host[:port]` of an http(s) address, or "" — nothing else: the origin goes
    into the Content-Security-Policy header, where a ";" or a space would start a directive."""
    parts = urlsplit(address or "")
    try:
        port = parts.port  # ValueError for a port that is not one
    except ValueError:
        return ""
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        return ""
    if _IPV6.fullmatch(host) and ":" in host:
        host = f"[{host}]"
    elif not _HOST.fullmatch(host):
        return ""
    return f"{parts.scheme}://{host}{f':{port}' if port is not None else ''}"


# Each process remembers an edition's image origins for this long: the reading view asks on
# every response and must not query for it (a cached page costs no query). `sync` and the
# admin forget them at once in their own process; other processes follow within this time.
ORIGINS_TTL = 60.0
_origins: dict[str, tuple[float, tuple[str, ...]]] = {}


def image_origins(slug: str) -> tuple[str, ...]:
    """`remote_hosts` of the edition with this slug, remembered for `ORIGINS_TTL` seconds;
    () for no such edition (not remembered: any address could fill the memory)."""
    now = time.monotonic()
    found = _origins.get(slug)
    if found is not None and found[0] > now:
        return found[1]
    edition = Edition.objects.without_tei().filter(slug=slug).first()
    if edition is None:
        return ()
    origins = tuple(remote_hosts(edition))
    _origins[slug] = (now + ORIGINS_TTL, origins)
    return origins


def image_origins_until(slug: str) -> float:
    """Until when (`time.monotonic()`) `image_origins(slug)` gives what it gives now without
    reading the database again; infinity when it has not read it."""
    found = _origins.get(slug)
    return float("inf") if found is None else found[0]


def forget_origins(slug: str | None = None) -> None:
    if slug is None:
        _origins.clear()
    else:
        _origins.pop(slug, None)


def allow_images(response, slug: str):
    """Let `response` (a page outside the edition's reading addresses that shows its page
    images, such as the reviewer's proposal page) load the edition's remote images: its
    img-src gets `image_origins(slug)` (edition.middleware.CSPMiddleware). Returns it."""
    response.image_origins = image_origins(slug)
    return response
