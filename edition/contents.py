"""The contents of a volume as FRUS prints them: front matter, then the chapters with their
documents (number, title, date, place), then the back matter.

Bounded at any size: the body is read a page of units at a time in volume order (the
`(edition, order)` index), and only the containers (compilations, chapters: a few hundred at
most) are read whole, for the headings. Rows are plain tuples with their address and date
already written out: a contents page of hundreds of rows spends its time in the template
otherwise (a `reverse` and a `date` filter per row).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.paginator import Paginator
from django.db.models import Count
from django.urls import reverse

from .models import Document, Edition

# Units of the body on one page of the contents. A volume of up to this many is one page.
PAGE_SIZE = 500
# Children of a chapter listed on one page of the chapter's own reading view.
CHILDREN_PAGE_SIZE = 500

_FIELDS = ("xml_id", "number", "title", "date_min", "date_max", "order", "div_type",
           "parent_id", "place", "matter")


@dataclass(frozen=True)
class Row:
    href: str
    number: int | None
    title: str
    date: str  # "January 19, 1960", "" when undated
    iso: str
    place: str
    label: str  # the link's accessible name: "Document 142: Memorandum of Conversation"

    @classmethod
    def of(cls, unit: Document, prefix: str) -> Row:
        date = unit.date_min
        label = f"Document {unit.number}: {unit.title}" if unit.number else unit.title
        return cls(f"{prefix}{unit.xml_id}/", unit.number, unit.title,
                   written_date(date) if date else "", date.isoformat() if date else "",
                   unit.place, label)


@dataclass
class Section:
    """A heading (a chapter, or the volume's parts) and the rows under it."""

    heading: str = ""
    href: str = ""
    level: int = 3
    continued: bool = False
    rows: list[Row] = field(default_factory=list)
    count: int = 0  # documents in the whole chapter, for the list of chapters


@dataclass
class Contents:
    front: list[Row]
    body: list[Section]
    back: list[Section]
    chapters: list[Section]  # every top-level chapter, for the jump list of a paged volume
    page: object  # django Page of the body
    document_count: int


def written_date(value) -> str:
    """'January 19, 1960' without the template's date filter (and without a leading zero)."""
    return f"{value:%B} {value.day}, {value.year}"


def contents(edition: Edition, page_number: object = 1) -> Contents:
    """Five queries at any size: the containers, the documents counted by parent (one pass
    over the volume, no join), the front matter, a page of the body, the back matter."""
    prefix = reverse("edition:toc", args=[edition.slug])
    # order_by everywhere: Document's default ordering (edition, order) joins the editions.
    units = edition.documents.only(*_FIELDS, "edition_id").order_by("order")
    containers = {u.pk: u for u in units.exclude(div_type="document")}
    depth = _depths(containers)
    counted = _documents_by_parent(edition)

    front = [Row.of(u, prefix) for u in units.filter(matter=Document.Matter.FRONT)
             if u.parent_id is None or u.parent_id not in containers]
    body_count = (sum(n for (_, matter), n in counted.items() if matter == Document.Matter.BODY)
                  + sum(1 for c in containers.values() if c.matter == Document.Matter.BODY))
    paginator = _Counted(units.filter(matter=Document.Matter.BODY), PAGE_SIZE,
                         count=body_count)
    page = paginator.get_page(page_number)
    body = _sections(list(page.object_list), containers, depth, prefix)
    back = _sections(list(units.filter(matter=Document.Matter.BACK)), containers, depth,
                     prefix)
    chapters = []
    if paginator.num_pages > 1:
        counts = _child_counts(counted, containers)
        chapters = [Section(c.title, f"{prefix}{c.xml_id}/", count=counts.get(c.pk, 0))
                    for c in containers.values()
                    if c.matter == Document.Matter.BODY and c.parent_id is None]
    return Contents(front, body, back, chapters, page, sum(counted.values()))


class _Counted(Paginator):
    """A paginator told its count: the contents know it from the counts they read anyway."""

    def __init__(self, object_list, per_page, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self.__dict__["count"] = count  # Paginator.count is a cached_property


def children(unit: Document, page_number: object = 1):
    """The units a chapter holds, a page at a time: (rows, page)."""
    prefix = reverse("edition:toc", args=[unit.edition.slug])
    queryset = unit.children.only(*_FIELDS, "edition_id").order_by("order")
    page = Paginator(queryset, CHILDREN_PAGE_SIZE).get_page(page_number)
    return [Row.of(u, prefix) for u in page.object_list], page


def _depths(containers: dict[int, Document]) -> dict[int, int]:
    depth: dict[int, int] = {}

    def of(pk: int | None) -> int:
        if pk is None or pk not in containers:
            return 0
        if pk not in depth:
            depth[pk] = 0  # a cycle cannot happen (parents come first), but never loop
            depth[pk] = of(containers[pk].parent_id) + 1
        return depth[pk]

    for pk in containers:
        of(pk)
    return depth


def _sections(units: list[Document], containers: dict[int, Document], depth: dict[int, int],
              prefix: str) -> list[Section]:
    """Rows under headings: a container opens a section; a page that begins inside a
    chapter repeats its heading, marked as continued."""
    sections: list[Section] = []
    for unit in units:
        if unit.pk in containers:
            sections.append(Section(unit.title, f"{prefix}{unit.xml_id}/",
                                    level=min(2 + depth[unit.pk], 6)))
            continue
        if not sections:
            parent = containers.get(unit.parent_id)
            sections.append(Section(parent.title, f"{prefix}{parent.xml_id}/",
                                    level=min(2 + depth[parent.pk], 6), continued=True)
                            if parent else Section())
        sections[-1].rows.append(Row.of(unit, prefix))
    return sections


def _documents_by_parent(edition: Edition) -> dict[tuple[int | None, str], int]:
    """(parent, matter) → how many documents: one pass over the volume's rows."""
    return {(parent, matter): n for parent, matter, n in (
        Document.objects.filter(edition=edition, div_type="document").order_by()
        .values_list("parent_id", "matter").annotate(n=Count("pk"))
        .values_list("parent_id", "matter", "n"))}


def _child_counts(counted: dict[tuple[int | None, str], int],
                  containers: dict[int, Document]) -> dict[int, int]:
    """Documents under each top-level chapter, however deep."""
    totals: dict[int, int] = {}
    for (pk, _), n in counted.items():
        if pk is None:
            continue
        top = pk
        while top in containers and containers[top].parent_id:
            top = containers[top].parent_id
        totals[top] = totals.get(top, 0) + n
    return totals
