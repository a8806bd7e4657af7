"""What an export is built from: an edition and its units' current revisions, in volume order
(front matter, chapters and their documents, back matter), and the volume's outline."""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property, lru_cache
from typing import NamedTuple

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone

from lxml import etree

from ..models import Document, Edition, ExportFragment, Revision
from ..rendering import RENDER_VERSION

log = logging.getLogger(__name__)
# Within `refreshing`: the keys re-rendered so far, so a fragment is rendered once per build
# however many files take it (a document's file, then the volume's).
_refresh: ContextVar[set[str] | None] = ContextVar("refresh", default=None)
_scratch: ContextVar[dict[str, str] | None] = ContextVar("scratch", default=None)
_store: ContextVar[_Store | None] = ContextVar("store", default=None)


@contextmanager
def refreshing(refresh: bool = True) -> Iterator[None]:
    """Within it, `fragment` re-renders what it has not rendered in it yet instead of reading
    the store (a check that rendering is deterministic; builds trust the store's keys)."""
    token = _refresh.set(set() if refresh else None)
    try:
        yield
    finally:
        _refresh.reset(token)


@contextmanager
def scratch() -> Iterator[None]:
    """Within it, `fragment` keeps what it renders in a dict of its own and neither reads nor
    writes the store: the gate renders revisions that may never exist."""
    token = _scratch.set({})
    try:
        yield
    finally:
        _scratch.reset(token)


@contextmanager
def storing(parts: list[Part] | None = None, *, apart: bool = False) -> Iterator[None]:
    """Within it, `fragment` reads the store a window of `parts` at a time (one query for the
    pieces of a format of the next WINDOW parts, not one per piece) and writes what it renders
    in batches, the last when it ends. A build runs in one; so does an import, whose gate
    stores every unit's pieces. Nested: the outer one serves.

    `apart` (a build): outside a transaction, on PostgreSQL, each batch is written on a thread
    of its own with its own connection while the build goes on (the database's work on its
    own processor, not added to the build's time); every write is over when it ends. Inside
    a transaction (an approval, an import, a test) the writes are the transaction's own."""
    if _store.get() is not None:
        yield
        return
    store = _Store(parts or [], apart=apart)
    token = _store.set(store)
    try:
        yield
        store.flush()
    finally:
        store.wait()  # whatever happened: no write outlives the build that rendered it
        _store.reset(token)


@dataclass(frozen=True)
class Part:
    """One unit of a build (a document, a front matter section, a chapter, an appendix) at the
    revision it is built from."""

    document: Document
    revision: Revision

    def release(self) -> None:
        """Forget the revision's parsed tree and text layer (a build keeps tens of thousands
        of parts: their TEI strings are small, their trees are not)."""
        self.revision.release()

    @property
    def xml_id(self) -> str:
        return self.document.xml_id

    @property
    def label(self) -> str:
        """"Document 142", or the title of a unit without a number ("Preface", "Japan")."""
        return self.document.label

    @property
    def heading(self) -> str:
        """"142. Memorandum of Conversation", "Preface": what contents and bookmarks show."""
        return str(self.document)

    @property
    def is_printed_contents(self) -> bool:
        """The printed volume's own contents (`subtype="table-of-contents"`): its entries point
        at pages of the printed book, so the files for reading put their own contents, with
        links and page numbers, in its place."""
        return (self.document.matter == Document.Matter.FRONT
                and self.revision.element.get("subtype") == "table-of-contents")

    @property
    def is_heading_only(self) -> bool:
        """A chapter whose own revision is its heading alone (no introduction)."""
        return all(etree.QName(child).localname == "head"
                   for child in self.revision.element if isinstance(child.tag, str))

    @classmethod
    def candidate(cls, document: Document, tei: str, *, number: int,
                  element: etree._Element | None = None, like: Revision | None = None) -> Part:
        """A revision not stored (yet): what an approval or a proposal would make. `element`:
        `tei` parsed already; `like`: a revision of the same TEI whose derived values (tree,
        text layer, footnotes) it takes."""
        revision = Revision(document=document, number=number, tei=tei,
                            checksum=hashlib.sha256(tei.encode("utf-8")).hexdigest())
        if element is not None:
            revision.element = element  # the cached_property's slot
        if like is not None:
            revision.reuse(like)
        return cls(document, revision)


@dataclass(frozen=True)
class Entry:
    """A part in the volume's outline: `depth` is how many of the volume's units enclose it."""

    part: Part
    depth: int
    encloses: bool = False  # the next entry is one of its units: it heads a chapter

    @property
    def classes(self) -> str:
        """HTML classes for its article: its depth, its kind (`unit-compilation`), its matter."""
        kind = _NOT_CLASS.sub("", self.part.document.div_type) or "unit"
        return f"depth-{self.depth} unit-{kind} matter-{self.part.document.matter}"


_NOT_CLASS = re.compile(r"[^\w-]")


@dataclass
class Volume:
    """An edition and the parts a build holds: all units, or one for a single unit's export."""

    edition: Edition
    parts: list[Part]
    built_at: datetime = field(default_factory=timezone.now)
    whole: bool = True  # the whole volume, or a single document's export
    # The site's addresses reversed so far, by document (and revision): every file of a build
    # links to the site, and a build's single-document volumes share their volume's.
    urls: dict[tuple, str] = field(default_factory=dict)
    # The units a build leaves out of it (builds.py: a renderer failed on them). Their units
    # stay in it, under the nearest enclosing unit it holds (`enclosing`), and what pointed
    # at them points at their pages on the site (`doc_href`; the TEI: `tei.volume_chunks`).
    left_out: tuple[Part, ...] = ()

    @cached_property
    def xml_ids(self) -> frozenset[str]:
        return frozenset(p.xml_id for p in self.parts)

    @cached_property
    def _left_out_parents(self) -> dict[int, int | None]:
        return {p.document.pk: p.document.parent_id for p in self.left_out}

    def enclosing(self, document: Document) -> int | None:
        """The pk of the unit enclosing `document` in this volume: its parent, or, when the
        build left that out, the nearest unit around it the volume holds."""
        parent = document.parent_id
        skipped = self._left_out_parents
        seen = 0
        while parent in skipped and seen <= len(skipped):  # `seen`: a cycle cannot hang it
            parent, seen = skipped[parent], seen + 1
        return parent

    def doc_href(self, xml_id: str) -> str:
        """Where a `ref` to another document points: inside the file when it is there, else
        the document's page on the public site (EMEND_SITE_URL)."""
        if self.whole and xml_id in self.xml_ids:
            return f"#{xml_id}"
        url = self.urls.get((xml_id,))
        if url is None:
            url = self.urls[(xml_id,)] = settings.EMEND_SITE_URL + site_path(
                "edition:document", self.edition.slug, xml_id)
        return url

    def site_url(self, part: Part | None = None) -> str:
        key = () if part is None else (part.xml_id, part.revision.number)
        url = self.urls.get(key)
        if url is None:
            if part is None:
                url = settings.EMEND_SITE_URL + self.edition.get_absolute_url()
            else:
                url = settings.EMEND_SITE_URL + site_path(
                    "edition:revision", self.edition.slug, part.xml_id, part.revision.number)
            self.urls[key] = url
        return url

    @cached_property
    def outline(self) -> list[Entry]:
        """The parts in volume order, each at the depth of its enclosing units: a part nests
        under the last open part that is its parent, so the outline always follows the
        volume's order (a unit whose parent is not open stands at the top level)."""
        depths: list[int] = []
        open_units: list[int] = []  # the pks of the parts enclosing the current position
        for part in self.parts:
            parent = self.enclosing(part.document)
            while open_units and open_units[-1] != parent:
                open_units.pop()
            depths.append(len(open_units))
            open_units.append(part.document.pk)
        return [Entry(part, depth, encloses=index + 1 < len(depths)
                      and depths[index + 1] > depth)
                for index, (part, depth) in enumerate(zip(self.parts, depths, strict=True))]

    @cached_property
    def reading(self) -> list[Entry | None]:
        """The outline as the files for reading (HTML, EPUB, PDF) set it: None where their own
        contents go, in place of the printed contents (`Part.is_printed_contents`, left out),
        or first when the volume has none."""
        entries: list[Entry | None] = [
            None if entry.part.is_printed_contents else entry for entry in self.outline]
        if None not in entries:
            return [None, *entries]
        first = entries.index(None)
        return [e for i, e in enumerate(entries) if e is not None or i == first]

    def sources(self) -> dict[str, int]:
        """Document id → revision number: what a download names as its source."""
        return {p.xml_id: p.revision.number for p in self.parts}

    def sources_line(self) -> str:
        """"d142 revision 2, d143 revision 1": the revisions a file was built from, for the
        file itself to name (a reader citing a download offline needs them)."""
        return ", ".join(f"{p.xml_id} revision {p.revision.number}" for p in self.parts)


# The public site's addresses of documents, shared by every `public_volume` of the same site,
# edition, script prefix and URLconf (what `site_path` depends on).
_public_urls: dict[tuple, dict[tuple, str]] = {}


def public_volume(edition: Edition) -> Volume:
    """A volume holding no part, whose links all go to the public site: what a piece linking
    to other documents outside any file resolves them with (the JSON notes). Its addresses are
    kept across calls: a build's pieces link to the same few hundred documents, and reversing
    one (the script prefix and URLconf read each time) cost more than the piece's own work."""
    key = (settings.EMEND_SITE_URL, edition.slug, get_script_prefix(),
           get_urlconf() or settings.ROOT_URLCONF)
    urls = _public_urls.get(key)
    if urls is None or len(urls) > 100_000:  # bounded: a worker lives long
        if len(_public_urls) >= 16:
            _public_urls.clear()
        urls = _public_urls[key] = {}
    return Volume(edition, [], whole=False, urls=urls)


# An id `reverse` writes as it is into a path: ASCII word characters, dots and hyphens are
# never percent-encoded, and the `docid` converter accepts them (it starts with a letter or _).
_PLAIN_DOC_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
# Stand-ins `site_path` reverses once and splits around: a docid and a number no edition has.
_ID_SLOT, _NUMBER_SLOT = "emendDocSlot", 987654321


def site_path(view: str, slug: str, xml_id: str, number: int | None = None) -> str:
    """`reverse(view, args=[slug, xml_id(, number)])` ("edition:document", "edition:revision"),
    the same string, without resolving the pattern again for every unit of a build: a
    400-unit build asked for some 1,200 of them (a quarter of a millisecond each). The path is
    reversed once per edition with stand-ins and the unit's id and number put in their place,
    when they are ones `reverse` would write unchanged; anything else goes to `reverse`."""
    if _PLAIN_DOC_ID.fullmatch(xml_id) and (
            number is None or (type(number) is int and 0 <= number <= 999_999_999)):
        template = _path_template(view, slug, number is not None, get_script_prefix(),
                                  get_urlconf() or settings.ROOT_URLCONF)
        if template is not None:
            before, between, after = template
            if number is None:
                return f"{before}{xml_id}{between}"
            return f"{before}{xml_id}{between}{number}{after}"
    args = [slug, xml_id] if number is None else [slug, xml_id, number]
    return reverse(view, args=args)


@lru_cache(maxsize=64)
def _path_template(view: str, slug: str, numbered: bool, prefix: str,
                   urlconf) -> tuple[str, str, str] | None:
    """The pieces of the reversed path around the stand-ins; None when a stand-in does not
    appear exactly once (a slug holding it, another shape of URL): `reverse` each time then.
    Keyed by the script prefix and the URLconf `reverse` would read."""
    path = reverse(view, args=[slug, _ID_SLOT, _NUMBER_SLOT] if numbered else [slug, _ID_SLOT],
                   urlconf=urlconf)
    if path.count(_ID_SLOT) != 1:
        return None
    before, rest = path.split(_ID_SLOT)
    if not numbered:
        return before, rest, ""
    if rest.count(str(_NUMBER_SLOT)) != 1:
        return None
    between, after = rest.split(str(_NUMBER_SLOT))
    return before, between, after


def nested_list(entries: list[Entry], item: Callable[[Entry], str]) -> str:
    """The outline as nested `<ol>`s: `item(entry)` is the inside of each `<li>`, and the
    entries a unit encloses are a list inside its item. A list opens one level at a time, so
    the HTML stays well formed whatever depths the entries skip (a unit left out)."""
    if not entries:
        return ""
    base = entries[0].depth
    lines = ["<ol>"]
    level = 0  # lists open inside the outermost one
    for index, entry in enumerate(entries):
        wanted = max(0, min(entry.depth - base, level + 1)) if index else 0
        if index:
            if wanted > level:
                lines.append("<ol>")
            else:
                lines.append("</li>" + "</ol></li>" * (level - wanted))
        level = wanted
        lines.append(f"<li>{item(entry)}")
    lines.append("</li>" + "</ol></li>" * level + "</ol>")
    return "\n".join(lines)


def load_volume(edition: Edition, *, documents: list[Document] | None = None) -> Volume:
    """The edition's units (or `documents`) at their current revisions, in volume order.

    One query, streamed: every part shares `edition` (whose skeleton is read once, if at all)
    and holds its revision's TEI, not its text layer or change record (no format reads them).
    """
    queryset = (Document.objects.filter(edition=edition, current_revision__isnull=False)
                .select_related("current_revision")
                .defer("current_revision__text", "current_revision__change",
                       "current_revision__summary")
                .order_by("order"))
    if documents is not None:
        queryset = queryset.filter(pk__in=[d.pk for d in documents])
    parts = []
    for doc in queryset.iterator(chunk_size=2000):
        doc.edition = edition  # spare a query per document in the renderers
        doc.current_revision.document = doc
        parts.append(Part(doc, doc.current_revision))
    return Volume(edition, parts, whole=documents is None)


@contextmanager
def keeping() -> Iterator[None]:
    """The gate's hand-off for a revision about to be stored (an approval, an import): every
    piece rendered (rendering is the check) and kept in the store, written when it ends (or
    with the batch of the import around it), so the build that follows assembles them."""
    with storing(), refreshing():
        yield


def fragment(fmt: str, version: int | str, part: Part, build: Callable[[], str]) -> str:
    """A part's piece of a format, kept in the fragment store (`ExportFragment`) under a key
    of everything it depends on: an incremental rebuild re-renders only the documents whose
    revision changed, and a full one re-renders nothing the gate or an earlier build rendered.
    A fragment is the same in a volume and in a single document's file: every format leaves
    links to other documents as tokens and resolves them when it assembles the file."""
    store = _store.get()
    key = fragment_key(fmt, version, part, store.paths if store is not None else None)
    local = _scratch.get()
    if local is not None:
        if key not in local:
            local[key] = build()
        return local[key]
    refreshed = _refresh.get()
    stale = refreshed is not None and key not in refreshed
    value = None
    if not stale:
        value = store.get(key, fmt, version, part) if store is not None else _read(key)
    if value is None:
        value = build()
        row = _Row(key, part.document.edition_id, part.revision.checksum, fmt,
                   _escape(value))
        if store is not None:
            store.put(key, value, row)
        else:
            one = _Store([])
            one.put(key, value, row)
            one.flush()
        if refreshed is not None:
            refreshed.add(key)
    return value


def fragment_key(fmt: str, version: int | str, part: Part, paths: str | None = None) -> str:
    """What a piece depends on, hashed: the format and its version, the renderer's version
    (most formats start from the reading site's HTML renderer), the site's address and the
    shape of its paths (in links of most pieces), the edition, the unit's id, number and title (the EPUB and PDF pieces
    carry its heading; no piece reads another unit: links to them stay tokens), and the
    revision's checksum (its TEI)."""
    document = part.document
    return hashlib.sha256("\x1f".join([
        fmt, str(version), str(RENDER_VERSION), settings.EMEND_SITE_URL,
        _url_shape(get_script_prefix()) if paths is None else paths,
        document.edition.slug, document.xml_id, str(document.number), document.title,
        part.revision.checksum]).encode()).hexdigest()


@lru_cache(maxsize=8)
def _url_shape(prefix: str) -> str:
    """The site's addresses of a document and a revision as this code reverses them (the JSON
    pieces hold them): a release that moves them makes other keys, not stale pieces."""
    return (reverse("edition:document", args=["e", "d"]) + " "
            + reverse("edition:revision", args=["e", "d", 1]))


class _Row(NamedTuple):
    """An `ExportFragment` row to write: a build renders thousands, and a model instance costs
    ten times a tuple to make (the non-PostgreSQL path makes them, for `bulk_create`)."""

    key: str
    edition_id: int
    checksum: str
    format: str
    text: str


class _Store:
    """A build's (or an import's) window on the fragment store: what it read or rendered,
    up to MEMO_CHARS characters, and what it rendered and has not written yet."""

    WINDOW = 200  # parts whose pieces of a format one query reads
    MEMO_CHARS = 64_000_000  # then forgotten: a 50,000-unit volume's pieces do not fit
    BATCH_CHARS = 8_000_000  # rendered pieces written together, at most

    def __init__(self, parts: list[Part], *, apart: bool = False) -> None:
        self.parts = parts
        self.apart = apart
        self.writer: threading.Thread | None = None  # the batch being written apart
        self.position = {p.xml_id: i for i, p in enumerate(parts)}
        self.memo: dict[str, str | None] = {}  # None: known not to be stored
        self.memo_chars = 0
        self.pending: list[_Row] = []
        self.pending_chars = 0
        # `_url_shape` of the script prefix it starts under, read once (a context variable).
        self.paths = _url_shape(get_script_prefix())

    def get(self, key: str, fmt: str, version: int | str, part: Part) -> str | None:
        if key in self.memo:
            return self.memo[key]
        # The part and the next ones of the volume: the build asks for them in this order.
        start = self.position.get(part.xml_id)
        window = [part]
        if start is not None and self.parts[start].revision.checksum == part.revision.checksum:
            window = self.parts[start:start + self.WINDOW]
        keys = {key} | {fragment_key(fmt, version, p, self.paths) for p in window}
        keys.difference_update(self.memo)
        found = dict(ExportFragment.objects.filter(key__in=keys).values_list("key", "text"))
        value = None  # not read back from the memo: remembering the window may empty it
        for k in keys:
            text = found.get(k)
            piece = None if text is None else _unescape(text)
            self._remember(k, piece)
            if k == key:
                value = piece
        return value

    def put(self, key: str, value: str, row: _Row) -> None:
        self._remember(key, value)
        self.pending.append(row)
        self.pending_chars += len(value)
        if self.pending_chars >= self.BATCH_CHARS:
            self.flush()

    def flush(self) -> None:
        """Write what was rendered. The store only spares rendering: a write that fails (a
        deadlock with a concurrent writer, say) is logged and the pieces left out, never the
        approval, import or build around it failed; its savepoint keeps that transaction."""
        if not self.pending:
            return
        rows, self.pending, self.pending_chars = self.pending, [], 0
        self.wait()  # one batch at a time, in order
        if (self.apart and connection.vendor == "postgresql"
                and not connection.in_atomic_block):
            self.writer = threading.Thread(target=_write_apart, args=(rows,), daemon=True,
                                           name="export-fragments")
            self.writer.start()
            return
        _write_logged(rows)

    def wait(self) -> None:
        """Until the batch being written apart is written (or given up)."""
        if self.writer is not None:
            self.writer.join()
            self.writer = None

    def _remember(self, key: str, value: str | None) -> None:
        if self.memo_chars >= self.MEMO_CHARS:
            self.flush()  # what it rendered is read back from the store once forgotten here
            self.wait()
            self.memo.clear()
            self.memo_chars = 0
        self.memo[key] = value
        self.memo_chars += len(value) if value else 0


def _write_logged(rows: list[_Row]) -> None:
    try:
        with transaction.atomic():
            _write(rows)
    except DatabaseError:
        log.warning("%d rendered pieces not stored", len(rows), exc_info=True)


def _write_apart(rows: list[_Row]) -> None:
    """`_write_logged` on a thread of the build's: Django gives the thread a connection of its
    own, closed when done. Nobody waits for its answer, so any failure is logged, not raised."""
    try:
        _write_logged(rows)
    except Exception:
        log.warning("%d rendered pieces not stored", len(rows), exc_info=True)
    finally:
        connection.close()


def _read(key: str) -> str | None:
    text = ExportFragment.objects.filter(key=key).values_list("text", flat=True).first()
    return None if text is None else _unescape(text)


def _write(rows: list[_Row]) -> None:
    """Insert the rows; a key stored meanwhile (another build, a concurrent approval) is the
    same text, so a conflict is nothing to update. On PostgreSQL one prepared INSERT per row,
    its values bound by the server and the rows sent in one pipeline (psycopg's
    `executemany`): Django's cursor binds on the client, and quoting the 12 MB of pieces of a
    400-document volume into the statements' text, then the server parsing them back, took
    half as long again, twice the CPU (bench/README.md, "The cold export, where its time
    goes")."""
    if connection.vendor != "postgresql":
        ExportFragment.objects.bulk_create([ExportFragment(**row._asdict()) for row in rows],
                                           ignore_conflicts=True, batch_size=100)
        return
    import psycopg  # the PostgreSQL backend's driver: present whenever the vendor is

    table = connection.ops.quote_name(ExportFragment._meta.db_table)
    # In key order: concurrent writers of the same keys wait for each other, never deadlock.
    rows = sorted(rows, key=lambda row: row.key)
    connection.ensure_connection()
    # Django's errors (DatabaseError, which `flush` catches), as its own cursors raise them.
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.executemany(
            f"INSERT INTO {table} (key, edition_id, checksum, format, text, created_at) "
            "VALUES (%s, %s, %s, %s, %s, now()) ON CONFLICT (key) DO NOTHING", rows)


# PostgreSQL's text cannot hold U+0000, which the HTML pieces use as their link tokens (XML
# cannot carry it, so it is never text). Stored as U+0001 U+0003, and U+0001 (which XML 1.0
# cannot carry either, but a piece must come back whatever it holds) as U+0001 U+0002.
def _escape(text: str) -> str:
    if "\x00" not in text and "\x01" not in text:
        return text
    return text.replace("\x01", "\x01\x02").replace("\x00", "\x01\x03")


def _unescape(text: str) -> str:
    if "\x01" not in text:
        return text
    return text.replace("\x01\x03", "\x00").replace("\x01\x02", "\x01")
