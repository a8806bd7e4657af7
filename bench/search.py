"""Full-text search at scale on PostgreSQL: a synthetic volume of `--documents` (50,000), then
search p50/p95 for one word, a phrase and a filtered query against a sequential ILIKE scan of
the same stored text, and the index's cost per approval.

    .venv/bin/python -m bench.search [--documents 50000] [--runs 30] [--pg-url URL] [--json PATH]

A throwaway database `emend_bench_search` is created, migrated and dropped. The volume is
`synth.frus_volume` (documents of 2–4 KB with footnotes), imported without the gate (the
schema is pointed nowhere): the gate renders every unit and is not what is measured here.
Search times are `edition.search.search()` whole: the count, the ranked page of 20 and its
ts_headline snippets. The ILIKE scan is `count(*)` over the same rows with `text ILIKE
'%word%'` (what a search without the index would do). The approval's cost: `add_revision` with
and without `search.index`, and `search.index` alone, each in a rolled-back transaction.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402
    pg_admin,
    DEFAULT_PG, django_environ, machine, pg_url, pg_version, print_machine, print_table,
    summary, write_json,
)
from bench.synth import frus_volume  # noqa: E402

DBNAME = "emend_bench_search"
TARGET_SEARCH_MS = 100
TARGET_INDEX_MS = 10



def _timed(fn, runs: int) -> list[float]:
    fn()  # warm: plans and pages in memory, as a busy server has them
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=50000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG))
    parser.add_argument("--json")
    args = parser.parse_args()
    version = pg_version(args.pg_url)
    if version is None:
        print(f"PostgreSQL does not answer at {args.pg_url}: this benchmark needs it")
        return 1
    url = pg_url(args.pg_url, DBNAME)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path = tmp / "volume.xml"
        size = frus_volume(path, args.documents)
        os.environ.update(django_environ(
            tmp / "var", DATABASE_URL=url, EMEND_TEI_SCHEMA=str(tmp / "no-schema.rng"),
            EMEND_MAX_IMPORT_BYTES=str(max(path.stat().st_size + 1, 64 * 1024 * 1024))))
        pg_admin(args.pg_url, f"DROP DATABASE IF EXISTS {DBNAME}", f"CREATE DATABASE {DBNAME}")
        try:
            figures = _measure(path, args)
        finally:
            from django.db import connections
            connections.close_all()
            pg_admin(args.pg_url, f"DROP DATABASE IF EXISTS {DBNAME}")
    info = machine(version)
    figures["machine"] = info
    _report(figures, args, size, info)
    write_json(args.json, figures)
    return 0


def _measure(path: Path, args) -> dict:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from edition import search
    from edition.imports import import_tei
    from edition.models import Document, SearchEntry

    call_command("migrate", "--no-input", verbosity=0)
    start = time.perf_counter()
    edition = import_tei(path).edition
    imported = time.perf_counter() - start
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE edition_searchentry")
    entries = SearchEntry.objects.count()

    dated = search.Filters(editions=[edition], kind="document")
    from datetime import date
    dated.date_from, dated.date_to = date(1959, 3, 1), date(1959, 5, 31)
    queries = {
        "one word": ("delegations", None, "%delegations%"),
        "phrase": ('"public statement"', None, "%public statement%"),
        "filtered (word, volume, dates, kind)": ("delegations", dated, "%delegations%"),
    }
    figures: dict = {"documents": args.documents, "entries": entries,
                     "import_s": imported, "queries": {}}
    for name, (query, filters, pattern) in queries.items():
        count = search.search(query, filters).count

        def ilike(pattern=pattern):
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM edition_searchentry WHERE text ILIKE %s",
                               [pattern])
                return cursor.fetchone()[0]

        fts = summary(_timed(lambda q=query, f=filters: search.search(q, f), args.runs))
        scan = summary(_timed(ilike, max(5, args.runs // 3)))
        figures["queries"][name] = {"results": count, "search_ms": fts, "ilike_ms": scan,
                                    "ratio": scan["median"] / fts["median"]}

    documents = list(Document.objects.filter(div_type="document").order_by("?")[:args.runs])

    class Rollback(Exception):
        pass

    def approval(document, *, indexed: bool) -> float:
        original = search.index
        if not indexed:
            search.index = lambda *a, **k: None
        try:
            with transaction.atomic():
                document = Document.objects.with_current().get(pk=document.pk)
                tei = document.current_revision.tei.replace("delegations", "delegation", 1)
                start = time.perf_counter()
                document.add_revision(tei, by=None, summary="bench")
                took = (time.perf_counter() - start) * 1000
                raise Rollback
        except Rollback:
            return took
        finally:
            search.index = original

    def index_alone(document) -> float:
        try:
            with transaction.atomic():
                revision = Document.objects.with_current().get(pk=document.pk).current_revision
                revision.tei  # noqa: B018 — loaded before the clock starts
                revision.text  # noqa: B018
                revision.element  # noqa: B018
                start = time.perf_counter()
                search.index(document, revision)
                took = (time.perf_counter() - start) * 1000
                raise Rollback
        except Rollback:
            return took

    approval(documents[0], indexed=True)
    with_index = summary([approval(d, indexed=True) for d in documents])
    without = summary([approval(d, indexed=False) for d in documents])
    alone = summary([index_alone(d) for d in documents])
    figures["approval_ms"] = {"with_index": with_index, "without_index": without,
                              "index_alone": alone,
                              "added_median": with_index["median"] - without["median"]}
    return figures


def _report(figures: dict, args, size: int, info: dict) -> None:
    print_machine(info)
    print(f"\n{figures['documents']:,} documents ({size / 1e6:.0f} MB of TEI), "
          f"{figures['entries']:,} passages indexed; import {figures['import_s']:.0f} s "
          "(without the gate)\n")
    rows = []
    for name, q in figures["queries"].items():
        s, i = q["search_ms"], q["ilike_ms"]
        rows.append([name, f"{q['results']:,}", f"{s['median']:.1f}", f"{s['p95']:.1f}",
                     f"{s['min']:.1f}–{s['max']:.1f}", f"{i['median']:.0f}",
                     f"{q['ratio']:.0f}×", "ok" if s["p95"] < TARGET_SEARCH_MS else "OVER"])
    print_table(["query", "results", "p50 ms", "p95 ms", "range", "ILIKE p50 ms", "ILIKE/FTS",
                 f"p95 < {TARGET_SEARCH_MS} ms"], rows, "lrrrrrrl")
    a = figures["approval_ms"]
    print()
    print_table(["approval (add_revision)", "p50 ms", "p95 ms", "range"], [
        [name, f"{s['median']:.2f}", f"{s['p95']:.2f}", f"{s['min']:.2f}–{s['max']:.2f}"]
        for name, s in [("with the index update", a["with_index"]),
                        ("without it", a["without_index"]),
                        ("search.index alone", a["index_alone"])]], "lrrr")
    added = a["index_alone"]["median"]
    print(f"\nindex update per approval: {added:.2f} ms median (goal < {TARGET_INDEX_MS} ms: "
          f"{'ok' if added < TARGET_INDEX_MS else 'OVER'})")


if __name__ == "__main__":
    sys.exit(main())
