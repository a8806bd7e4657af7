"""Full-text search (edition/search.py) on whichever database the run uses: `make test` runs
this module on PostgreSQL and again on SQLite (FTS5), so both backends answer the same."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edition import search
from edition.imports import import_tei
from edition.models import Document, SearchEntry
from tests.helpers import volume_tei

pytestmark = pytest.mark.django_db

TELEGRAM = """<div type="document" xml:id="d{n}" n="{n}"
  frus:doc-dateTime-min="{date}T09:00:00-05:00" frus:doc-dateTime-max="{date}T09:00:00-05:00">
  <head>{n}. Telegram From the Embassy in Tokyo</head><p>{body}</p></div>"""
FRONT = """<div type="section" xml:id="preface"><head>Preface</head>
  <p>This volume documents the negotiations of the period.</p></div>"""


def volume(tmp_path, slug: str, documents: list[tuple[int, str, str]], front: str = ""):
    body = "".join(TELEGRAM.format(n=n, date=date, body=text) for n, date, text in documents)
    path = tmp_path / f"{slug}.xml"
    path.write_text(volume_tei(body, slug=slug, front=front), encoding="utf-8")
    return import_tei(path).edition


@pytest.fixture
def vols(tmp_path):
    one = volume(tmp_path, "vol1", [
        (1, "1958-01-10", "The Ambassador will negotiate with the Prime Minister."),
        (2, "1958-06-01", "Negotiations negotiations negotiations on fisheries continue."
                          '<note n="1" xml:id="d2fn1">Kishi raised the fisheries question.</note>'),
        (3, "1959-03-15", "The treaty of cooperation was signed; no fisheries clause."),
        (4, "1960-01-19", "Markup like &lt;script&gt;alert(1)&lt;/script&gt; is text here: treaty."),
    ], front=FRONT)
    two = volume(tmp_path, "vol2", [(1, "1961-02-01", "Talks on the treaty resumed.")])
    return one, two


def ids(results) -> list[str]:
    return [f"{h.document.edition.slug}/{h.document.xml_id}{'#' + h.note_id if h.note_id else ''}"
            for h in results.hits]


def test_stemming_finds_other_forms(vols):
    found = ids(search.search("negotiations"))
    assert {"vol1/d1", "vol1/d2", "vol1/preface"} <= set(found)


def test_phrase_needs_the_words_together(vols):
    assert ids(search.search('"Prime Minister"')) == ["vol1/d1"]
    assert ids(search.search('"Minister Prime"')) == []


def test_exclusion_and_or(vols):
    assert set(ids(search.search("treaty -fisheries"))) == {"vol1/d4", "vol2/d1"}
    assert set(ids(search.search("Ambassador or Kishi"))) == {"vol1/d1", "vol1/d2#d2fn1"}


def test_footnotes_are_their_own_passages(vols):
    assert ids(search.search("Kishi")) == ["vol1/d2#d2fn1"]
    assert ids(search.search("Kishi", search.Filters(kind="document"))) == []


def test_filters_edition_kind_dates(vols):
    one, two = vols
    assert set(ids(search.search("treaty", search.Filters(editions=[two])))) == {"vol2/d1"}
    assert ids(search.search("negotiations", search.Filters(kind="front"))) == ["vol1/preface"]
    assert "vol1/preface" not in ids(search.search("negotiations",
                                                   search.Filters(kind="document")))
    dated = search.Filters(date_from=dt.date(1959, 1, 1), date_to=dt.date(1959, 12, 31))
    assert ids(search.search("treaty", dated)) == ["vol1/d3"]


def test_ranking_puts_the_denser_passage_first(vols):
    assert ids(search.search("negotiations", search.Filters(kind="document")))[0] == "vol1/d2"


def test_pagination(vols):
    first = search.search("treaty", page=1, per_page=2)
    second = search.search("treaty", page=2, per_page=2)
    assert first.count == second.count == 3 and first.pages == 2
    assert len(first.hits) == 2 and len(second.hits) == 1
    assert not set(ids(first)) & set(ids(second))
    assert search.search("treaty", page=3, per_page=2).hits == []


def test_snippet_escapes_the_text_and_marks_the_match(vols):
    # PostgreSQL's parser reads "<script>" as a tag and skips it: the word before is searched.
    [hit] = search.search("markup").hits
    assert "<script>" not in hit.snippet and "alert(1)" in hit.snippet
    if connection.vendor != "postgresql":  # ts_headline leaves tag-like text out altogether
        assert "&lt;script&gt;" in hit.snippet
    assert "<mark>Markup</mark>" in hit.snippet


def test_marked_never_lets_markup_through():
    raw = f"<b>x</b> {search.START}<i>{search.STOP} {search.START}open"
    assert search.marked(raw) == "&lt;b&gt;x&lt;/b&gt; <mark>&lt;i&gt;</mark> <mark>open</mark>"


def test_a_new_revision_replaces_the_old_text_in_the_same_transaction(vols):
    document = Document.objects.get(edition__slug="vol1", xml_id="d3")
    with transaction.atomic():
        tei = document.current_revision.tei.replace("cooperation", "friendship")
        document.add_revision(tei, by=None, summary="test")
        assert ids(search.search("friendship")) == ["vol1/d3"]
        assert ids(search.search("cooperation")) == []


def test_the_import_indexes_every_unit_and_note(vols):
    one, _ = vols
    entries = SearchEntry.objects.filter(document__edition=one)
    assert entries.count() == 6  # five units' running text, one footnote
    assert entries.get(note_id="d2fn1").text == "Kishi raised the fisheries question."


def test_rebuild_writes_the_same_entries(vols):
    before = sorted(SearchEntry.objects.values_list("document_id", "note_id", "text"))
    assert search.rebuild() == len(before)
    assert sorted(SearchEntry.objects.values_list("document_id", "note_id", "text")) == before
    assert ids(search.search('"Prime Minister"')) == ["vol1/d1"]


@pytest.mark.parametrize("raw", [
    "", "   ", '"', '"unbalanced', 'a" b "c', "NEAR(a b)", "a NEAR b", "*", "treaty*", "text:x",
    "-", "--x", "- -", "\x00", "treaty\x00", "or", "or or", "a or", "AND", "NOT x", "(", ")",
    "^x", "'", "\\", "%", "_", "🙂", "x" * 2000, "a " * 400, '"' * 100, "treaty:*", "!!",
    "'treaty' & 'x'", "$1", "\ufffd", "\u202e", "a\u0300", "-treaty", '-"prime minister"',
])
def test_junk_queries_explain_or_find_nothing_but_never_raise(vols, raw):
    try:
        results = search.search(raw)
    except search.QueryError as exc:
        assert str(exc)
    else:
        assert results.count >= 0


def test_only_exclusions_is_explained():
    with pytest.raises(search.QueryError, match="cannot only leave words out"):
        search.parse("-treaty")


def test_parse_keeps_engine_syntax_out():
    query = search.parse('col:treaty* NEAR("a b") -"x y" or z')
    assert query.fts5() == '("col" AND ("treaty") AND ("NEAR") AND ("a b" OR "z")) NOT "x y"' \
        or '"' not in "".join(w for g in query.groups for t in g for w in t.words)
    assert all(w.isalnum() for w in query.words)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from('"-* :()^~'),
               max_size=80))
def test_no_query_string_raises(vols, raw):
    try:
        search.search(raw)
    except search.QueryError:
        pass


def test_documents_containing_is_literal_and_case_sensitive(vols):
    one, two = vols
    found = lambda phrase: sorted(d.xml_id for d in search.documents_containing(one, phrase))  # noqa: E731
    assert found("Prime Minister") == ["d1"]
    assert found("prime minister") == []
    assert found("Prime\n   Minister") == ["d1"]  # whitespace collapses as the text layer does
    assert found("egotiat") == ["d1", "d2", "preface"]  # inside words too: every unit
    assert found("Egotiat") == []
    assert found("Negotiations n") == ["d2"]
    assert found("the treaty of cooperation was") == []
    assert found("The treaty of cooperation was") == ["d3"]
    assert found("Kishi") == []  # footnotes are not running text
    assert found("%") == [] and found("_") == [] and found("") == []
    assert found("treaty") == ["d3", "d4"]  # not vol2's


def test_documents_containing_with_stop_words_only(vols):
    one, _ = vols
    assert [d.xml_id for d in search.documents_containing(one, "will negotiate with the")] == [
        "d1"]
    assert [d.xml_id for d in search.documents_containing(one, "x the of y")] == []


def test_backend_is_the_databases_own():
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = "
                           "'edition_searchentry_search'")
            assert "gin" in cursor.fetchone()[0]
    else:
        with connection.cursor() as cursor:
            cursor.execute("SELECT sql FROM sqlite_master WHERE name = 'edition_searchentry_fts'")
            assert "porter" in cursor.fetchone()[0]


def test_counting_stops_at_the_cap(vols, monkeypatch):
    monkeypatch.setattr(search, "COUNT_CAP", 2)
    results = search.search("treaty", per_page=1)
    assert results.capped and results.pages == 2 and len(results.hits) == 1
    monkeypatch.setattr(search, "RANK_CAP", 1)
    assert len(search.search("treaty", per_page=3).hits) == 3  # a page is never cut short
