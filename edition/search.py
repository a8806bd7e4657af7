"""Full-text search over the current text of every unit: one interface, two backends.

PostgreSQL: a generated `tsvector` column on `edition_searchentry` with a GIN index, queried with
`websearch_to_tsquery('english', …)`, ranked by `ts_rank_cd`, snippets by `ts_headline` on the
rows of the page shown only. SQLite (the embedded default): an FTS5 table with the porter
tokenizer kept by triggers, `bm25` and `snippet`. Both read the same parsed query (`parse`), so
the web syntax (`"exact phrase"`, `-exclude`, `or`) means the same on both and no user input
reaches either engine's own syntax: only words of letters and digits do.

The index (`SearchEntry`) is rewritten by `index()` in the transaction that adds a revision
(`Document.add_revision`, the importers' `create_document`), so a search never finds text that
is no longer there.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time
from urllib.parse import urlencode

from django import forms
from django.db import connection
from django.db.models import Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import StrIndex
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .models import Document, Edition, SearchEntry
from .tei import textlayer
from .tei.notes import collect_footnotes
from .tei.parsing import parse_document_div

MAX_QUERY_LENGTH = 500
PER_PAGE = 20
# Past 1,000 results nobody reads on: count no further ("more than 1,000") and refuse later
# pages. At 50,000 documents counting 10,000 matches and ranking 2,000 took 200 ms (bench/).
MAX_PAGE = 50
COUNT_CAP = PER_PAGE * MAX_PAGE
RANK_CAP = 500  # PostgreSQL ranks the first 500 matches (see _postgres.ranked)
KINDS = {"document": "Documents", "front": "Front matter", "note": "Footnotes"}
# Snippet marks: control characters XML forbids, so no TEI text can hold them.
START, STOP = "\x02", "\x03"
_WORD = re.compile(r"[^\W_]+")
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(-?)([^\s"]+)')
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_XML_SPACE = re.compile(r"[ \t\r\n]+")


class QueryError(ValueError):
    """A query that cannot be searched; the message says why, for the reader."""


@dataclass(frozen=True)
class Term:
    """A word, or a phrase of several (words only: punctuation never reaches an engine)."""

    words: tuple[str, ...]

    def websearch(self) -> str:
        # Always quoted: a lone word "or" must stay a word.
        return '"' + " ".join(self.words) + '"'

    fts5 = websearch  # FTS5 strings are double-quoted too, and words hold no quote


@dataclass(frozen=True)
class Query:
    """Every group must match (a group: terms joined by `or`); no excluded term may."""

    groups: tuple[tuple[Term, ...], ...]
    excluded: tuple[Term, ...] = ()

    @property
    def words(self) -> list[str]:
        """The words to mark in the reading view."""
        return list(dict.fromkeys(w for g in self.groups for t in g for w in t.words))

    def websearch(self) -> str:
        parts = [" or ".join(t.websearch() for t in group) for group in self.groups]
        return " ".join(parts + ["-" + t.websearch() for t in self.excluded])

    def fts5(self) -> str:
        expression = " AND ".join(
            "(" + " OR ".join(t.fts5() for t in group) + ")" for group in self.groups)
        for term in self.excluded:  # FTS5's NOT is binary: (a NOT b) NOT c
            expression = f"({expression}) NOT {term.fts5()}"
        return expression


def parse(raw: str) -> Query:
    """The reader's query in web syntax; QueryError with the reason when there is nothing to
    search for. Never raises anything else, whatever the input."""
    text = _CONTROL.sub(" ", raw or "")
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(f"A search may be at most {MAX_QUERY_LENGTH} characters long; this "
                         f"one has {len(text)}.")
    text = unicodedata.normalize("NFC", text)
    groups: list[list[Term]] = []
    excluded: list[Term] = []
    join_next = False
    for match in _TOKEN.finditer(text):
        phrase = match.group(2) is not None
        negated = bool(match.group(1) if phrase else match.group(3))
        body = match.group(2) if phrase else match.group(4)
        if not phrase and not negated and body.lower() == "or":
            join_next = bool(groups)
            continue
        words = tuple(_WORD.findall(body))
        if not words:
            continue
        if negated:
            excluded.append(Term(words))
        elif join_next:
            groups[-1].append(Term(words))
        else:
            groups.append([Term(words)])
        join_next = False
    if not groups:
        if excluded:
            raise QueryError("Add a word to look for: a search cannot only leave words out.")
        raise QueryError("Type a word or a phrase (in quotes) to search for.")
    return Query(tuple(tuple(g) for g in groups), tuple(excluded))


# ------------------------------------------------------------------------------------------
# The index


def passages(tei: str, text: str) -> list[tuple[str, str]]:
    """A revision's searchable passages, (note id, text): its running text (note id "") and
    each footnote's own text layer. Footnotes nested in another are part of neither."""
    return [("", text), *_notes(parse_document_div(tei))]


def _notes(element) -> list[tuple[str, str]]:
    found = ((fn.id, textlayer.text_of(fn.element)) for fn in collect_footnotes(element))
    return [(note_id, text) for note_id, text in found if text]


def entries(document: Document, revision) -> list[SearchEntry]:
    # The revision was parsed when it was saved: its element is at hand, and the notes' text
    # layers it keeps serve the JSON export too.
    notes = [(fn.id, text) for fn, text in zip(revision.footnotes, revision.note_texts,
                                                strict=True) if text]
    return [SearchEntry(document=document, note_id=note_id, text=text)
            for note_id, text in [("", revision.text), *notes]]


def index(document: Document, revision, *, new: bool = False) -> None:
    """Make the document's entries those of `revision` (its new current one), in the caller's
    transaction. `new`: the document has no entries yet (an import), so nothing to delete."""
    if not new:
        SearchEntry.objects.filter(document=document).delete()
    SearchEntry.objects.bulk_create(entries(document, revision))


def rebuild(editions: QuerySet[Edition] | None = None, *, batch: int = 500) -> int:
    """Index every unit of `editions` (all of them by default) again; returns the entries
    written. For databases from before the index, and after a restore."""
    documents = Document.objects.filter(current_revision__isnull=False)
    if editions is not None:
        documents = documents.filter(edition__in=editions)
    SearchEntry.objects.filter(document__in=documents).delete()
    written = 0
    rows: list[SearchEntry] = []
    for pk, tei, text in documents.values_list(
            "pk", "current_revision__tei", "current_revision__text").iterator(chunk_size=batch):
        rows += [SearchEntry(document_id=pk, note_id=n, text=t) for n, t in passages(tei, text)]
        if len(rows) >= batch:
            written += len(SearchEntry.objects.bulk_create(rows))
            rows = []
    return written + len(SearchEntry.objects.bulk_create(rows))


# ------------------------------------------------------------------------------------------
# Searching


@dataclass
class Filters:
    editions: list[Edition] = field(default_factory=list)
    date_from: date | None = None
    date_to: date | None = None
    kind: str = ""  # "", or a key of KINDS
    documents: QuerySet | None = None  # only these (e.g. those with open proposals)

    def apply(self, entries: QuerySet[SearchEntry]) -> QuerySet[SearchEntry]:
        if self.editions:
            entries = entries.filter(document__edition__in=self.editions)
        # A document's date is a span: it is in the range when the two overlap.
        if self.date_from:
            entries = entries.filter(document__date_max__gte=_moment(self.date_from, time.min))
        if self.date_to:
            entries = entries.filter(document__date_min__lte=_moment(self.date_to, time.max))
        running = Q(note_id="")
        front = Q(document__matter=Document.Matter.FRONT)
        if self.kind == "document":
            entries = entries.filter(running & ~front)
        elif self.kind == "front":
            entries = entries.filter(running & front)
        elif self.kind == "note":
            entries = entries.exclude(running)
        if self.documents is not None:
            entries = entries.filter(document__in=self.documents)
        return entries


def _moment(day: date, at: time) -> datetime:
    return timezone.make_aware(datetime.combine(day, at), timezone.get_current_timezone())


@dataclass
class Hit:
    entry_id: int
    document: Document
    note_id: str
    snippet: SafeString
    rank: float

    @property
    def kind(self) -> str:
        if self.note_id:
            return "note"
        return "front" if self.document.matter == Document.Matter.FRONT else "document"


@dataclass
class Results:
    query: Query
    hits: list[Hit]
    count: int
    page: int
    per_page: int

    cap = f"{COUNT_CAP:,}"

    @property
    def capped(self) -> bool:
        """More matches than were counted (COUNT_CAP): say "more than"."""
        return self.count > COUNT_CAP

    @property
    def pages(self) -> int:
        return max(1, math.ceil(min(self.count, COUNT_CAP) / self.per_page))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def first(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.hits else 0

    @property
    def last(self) -> int:
        return self.first + len(self.hits) - 1 if self.hits else 0


def search(raw: str, filters: Filters | None = None, *, page: int = 1,
           per_page: int = PER_PAGE) -> Results:
    """Ranked matches of `raw` (web syntax) among the entries `filters` keep. Raises QueryError
    for a query with nothing to search for, or a page past MAX_PAGE."""
    query = parse(raw)
    if not 1 <= page <= MAX_PAGE:
        raise QueryError(f"Results are shown up to page {MAX_PAGE}: narrow the search.")
    kept = (filters or Filters()).apply(SearchEntry.objects.all())
    sql, params = kept.values("id").query.sql_with_params()
    backend = _postgres if connection.vendor == "postgresql" else _sqlite
    count, ranked = backend.ranked(query, sql, params, per_page, (page - 1) * per_page)
    snippets = backend.snippets(query, [pk for pk, _ in ranked])
    found = SearchEntry.objects.select_related("document__edition").defer(
        "text", "document__edition__tei_skeleton", "document__edition__tei_header",
    ).in_bulk([pk for pk, _ in ranked])
    hits = [Hit(pk, found[pk].document, found[pk].note_id, marked(snippets.get(pk, "")), rank)
            for pk, rank in ranked if pk in found]
    return Results(query, hits, count, page, per_page)


def marked(raw: str) -> SafeString:
    """A snippet from the engine, escaped, with its START…STOP spans as <mark>: the only markup
    in it is ours."""
    out, inside = [], False
    for piece in re.split(f"([{START}{STOP}])", raw):
        if piece == START:
            if not inside:
                out.append("<mark>")
            inside = True
        elif piece == STOP:
            if inside:
                out.append("</mark>")
            inside = False
        else:
            out.append(escape(piece))
    if inside:
        out.append("</mark>")
    return mark_safe("".join(out))  # noqa: S308 — every piece of text went through escape()


class _postgres:
    QUERY = "websearch_to_tsquery('english', %s)"

    @classmethod
    def ranked(cls, query: Query, kept: str, params, limit: int, offset: int):
        ws = query.websearch()
        matching = (f"FROM edition_searchentry e WHERE e.search @@ {cls.QUERY} "
                    f"AND e.id IN ({kept})")
        with connection.cursor() as cursor:
            # Counting stops past COUNT_CAP: a common word matches most of a 50,000-document
            # volume, and nobody pages past the cap anyway.
            cursor.execute(f"SELECT count(*) FROM (SELECT 1 {matching} LIMIT %s) s",
                           [ws, *params, COUNT_CAP + 1])
            count = cursor.fetchone()[0]
            if not count or offset >= count:
                return count, []
            # Ranked among the first RANK_CAP matches only: ts_rank_cd reads every candidate's
            # tsvector, which for tens of thousands of rows takes most of a second.
            cursor.execute(
                f"SELECT id, ts_rank_cd(search, {cls.QUERY}) AS rank FROM "
                f"(SELECT e.id, e.search {matching} LIMIT %s) c "
                "ORDER BY rank DESC, id LIMIT %s OFFSET %s",
                [ws, ws, *params, max(RANK_CAP, offset + limit), limit, offset])
            return count, [(pk, float(rank)) for pk, rank in cursor.fetchall()]

    @classmethod
    def snippets(cls, query: Query, ids: list[int]) -> dict[int, str]:
        if not ids:
            return {}
        options = (f"StartSel={START}, StopSel={STOP}, MaxWords=40, MinWords=15, "
                   "MaxFragments=2, FragmentDelimiter=\" … \"")
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, ts_headline('english', text, {cls.QUERY}, %s) "
                "FROM edition_searchentry WHERE id = ANY(%s)",
                [query.websearch(), options, ids])
            return dict(cursor.fetchall())


class _sqlite:
    @classmethod
    def ranked(cls, query: Query, kept: str, params, limit: int, offset: int):
        match = ("FROM edition_searchentry_fts f WHERE edition_searchentry_fts MATCH %s "
                 f"AND f.rowid IN ({kept})")
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM (SELECT 1 {match} LIMIT %s)",
                           [query.fts5(), *params, COUNT_CAP + 1])
            count = cursor.fetchone()[0]
            if not count or offset >= count:
                return count, []
            cursor.execute(
                f"SELECT f.rowid, bm25(edition_searchentry_fts) AS rank {match} "
                "ORDER BY rank, f.rowid LIMIT %s OFFSET %s",
                [query.fts5(), *params, limit, offset])
            # bm25: lower is better; shown as higher-is-better like PostgreSQL's rank.
            return count, [(pk, -float(rank)) for pk, rank in cursor.fetchall()]

    @classmethod
    def snippets(cls, query: Query, ids: list[int]) -> dict[int, str]:
        if not ids:
            return {}
        marks = ", ".join("%s" for _ in ids)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT rowid, snippet(edition_searchentry_fts, 0, %s, %s, ' … ', 40) "
                "FROM edition_searchentry_fts WHERE edition_searchentry_fts MATCH %s "
                f"AND rowid IN ({marks})",
                [START, STOP, query.fts5(), *ids])
            return dict(cursor.fetchall())


# ------------------------------------------------------------------------------------------
# Literal matching (the batch replacement, review/batches.py)


def normalize_phrase(phrase: str) -> str:
    """As the text layer holds text: NFC, XML whitespace runs collapsed to one space."""
    return unicodedata.normalize("NFC", _XML_SPACE.sub(" ", phrase or ""))


def documents_containing(edition: Edition, phrase: str) -> QuerySet[Document]:
    """The edition's documents whose current running text contains `phrase` literally (case
    and all), after the text layer's normalisation. The index narrows first: a word of letters
    with a space on both sides inside the phrase is a whole token of any text holding the
    phrase, so such a text matches it; the literal test then runs on those rows only."""
    phrase = normalize_phrase(phrase)
    if not phrase or "\x00" in phrase:
        return Document.objects.none()
    entries = SearchEntry.objects.filter(document__edition=edition, note_id="")
    whole = [chunk for chunk in phrase.split(" ")[1:-1] if chunk.isalpha()]
    postgres = connection.vendor == "postgresql"
    if whole:
        query = Query(tuple((Term((word,)),) for word in whole))
        if postgres:  # a phrase of stop words only makes an empty tsquery, which matches nothing
            narrow = RawSQL("SELECT id FROM edition_searchentry WHERE "
                            "numnode(websearch_to_tsquery('english', %s)) = 0 OR "
                            "search @@ websearch_to_tsquery('english', %s)", [query.websearch()] * 2)
        else:
            narrow = RawSQL("SELECT rowid FROM edition_searchentry_fts "
                            "WHERE edition_searchentry_fts MATCH %s", [query.fts5()])
        entries = entries.filter(pk__in=narrow)
    # strpos/instr: case-sensitive and without LIKE's wildcards (SQLite's LIKE ignores case).
    entries = entries.annotate(at=StrIndex("text", Value(phrase))).filter(at__gt=0)
    return Document.objects.filter(pk__in=entries.values("document_id"))


# ------------------------------------------------------------------------------------------
# The request's parameters (the page and the API read the same)


class SearchForm(forms.Form):
    """`q` and the filters from a query string. Junk (a NUL, a date that is none, an unknown
    edition) is a form error, never an exception."""

    q = forms.CharField(label="Search for", required=False, max_length=MAX_QUERY_LENGTH)
    edition = forms.ModelChoiceField(
        queryset=Edition.objects.without_tei(), to_field_name="slug", required=False,
        empty_label="All volumes", label="Volume")
    date_from = forms.DateField(label="Dated from", required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="to", required=False,
                              widget=forms.DateInput(attrs={"type": "date"}))
    kind = forms.ChoiceField(label="In", required=False,
                             choices=[("", "Everything"), *KINDS.items()])
    page = forms.IntegerField(required=False, min_value=1, max_value=MAX_PAGE,
                              widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end of the range comes before its start.")
        return data

    def filters(self) -> Filters:
        data = self.cleaned_data
        return Filters(editions=[data["edition"]] if data.get("edition") else [],
                       date_from=data.get("date_from"), date_to=data.get("date_to"),
                       kind=data.get("kind") or "")


def highlight_words(hit: Hit, query: Query) -> list[str]:
    """What the reading view marks for a hit: the words the engine marked in its snippet (the
    forms the text has: "negotiations" for "negotiate"), else the query's words."""
    marked_words = re.findall(r"<mark>(.*?)</mark>", str(hit.snippet))
    words = [w for m in marked_words for w in _WORD.findall(html.unescape(m))]
    return list(dict.fromkeys(words)) or query.words


def passage_url(hit: Hit, query: Query) -> str:
    """The reading view of the hit's document, with the words to mark (static JS reads `hl`;
    the anonymous page cache ignores it) and the footnote's anchor for a footnote."""
    url = hit.document.get_absolute_url()
    url += "?" + urlencode({"hl": " ".join(highlight_words(hit, query)[:10])})
    return url + (f"#fn-{hit.note_id}" if hit.note_id else "")
