"""The (edition, date_min, date_max) index on a synthetic volume on PostgreSQL: the plan of
search's date-range filter (edition/search.py Filters) and its time with the index and without
it, side by side.

    .venv/bin/python -m bench.date_index [--documents 1000] [--runs 30] [--pg-url URL]

A throwaway database `emend_bench_dates` is created, migrated, loaded with `synth.frus_volume`
(dated documents spread over three years, imported without the gate) and dropped. Each run
times the filter's query (the ids of an edition's entries dated in a span: what the
full-text query is then restricted to), for a few spans, once with the index and once inside a transaction
that dropped it (rolled back), alternately, so both see the same machine load. Reported: the
plan with the index (its scans), and the ratio without/with (median, min–max over runs).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import DEFAULT_PG, django_environ, pg_admin, pg_url, pg_version  # noqa: E402
from bench.synth import frus_volume  # noqa: E402

DBNAME = "emend_bench_dates"
INDEX = "document_edition_dates"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG))
    args = parser.parse_args()
    if pg_version(args.pg_url) is None:
        print(f"PostgreSQL does not answer at {args.pg_url}: this benchmark needs it")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path = tmp / "volume.xml"
        frus_volume(path, args.documents)
        os.environ.update(django_environ(
            tmp / "var", DATABASE_URL=pg_url(args.pg_url, DBNAME),
            EMEND_TEI_SCHEMA=str(tmp / "no-schema.rng"),
            EMEND_MAX_IMPORT_BYTES=str(max(path.stat().st_size + 1, 64 * 1024 * 1024))))
        pg_admin(args.pg_url, f"DROP DATABASE IF EXISTS {DBNAME}", f"CREATE DATABASE {DBNAME}")
        try:
            _measure(path, args)
        finally:
            from django.db import connections
            connections.close_all()
            pg_admin(args.pg_url, f"DROP DATABASE IF EXISTS {DBNAME}")
    return 0


def _measure(path: Path, args) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from edition.imports import import_tei
    from edition.models import SearchEntry
    from edition.search import Filters

    call_command("migrate", "--no-input", verbosity=0)
    edition = import_tei(path).edition
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE edition_document")
        cursor.execute("VACUUM ANALYZE edition_searchentry")
    print(f"{args.documents} documents, {SearchEntry.objects.count()} search entries")
    for name, since, until in RANGES:
        filters = Filters(editions=[edition], date_from=since, date_to=until)
        sql, params = filters.apply(SearchEntry.objects.all()).values("id").query.sql_with_params()
        _compare(name, sql, params, args.runs, connection, transaction)


# Ranges as readers ask: a quarter mid-volume, a week, and everything up to a month after the
# volume's start (a "to" date alone).
RANGES = [("quarter mid-volume", date(1959, 3, 1), date(1959, 5, 31)),
          ("one week", date(1959, 3, 1), date(1959, 3, 7)),
          ("up to 1958-01-31", None, date(1958, 1, 31))]


def _compare(name, sql, params, runs, connection, transaction) -> None:
    class Rollback(Exception):
        pass

    def run(*, drop: bool) -> tuple[float, str, int]:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                if drop:
                    cursor.execute(f"DROP INDEX {INDEX}")
                cursor.execute("EXPLAIN " + sql, params)
                plan = "\n".join(row[0] for row in cursor.fetchall())
                start = time.perf_counter()
                cursor.execute(sql, params)
                rows = len(cursor.fetchall())
                took = (time.perf_counter() - start) * 1000
                raise Rollback(took, plan, rows)
        except Rollback as done:
            return done.args

    run(drop=False), run(drop=True)  # warm
    ratios, with_ms, without_ms = [], [], []
    for _ in range(runs):
        a, plan, rows = run(drop=False)
        b, _, _ = run(drop=True)
        with_ms.append(a)
        without_ms.append(b)
        ratios.append(b / a)
    used = INDEX in plan
    print(f"\n{name}: {rows} entries kept; index used: {used}")
    print("\n".join("    " + line for line in plan.splitlines()
                    if "Scan" in line or "Filter" in line or "Cond" in line))
    print(f"    with the index median {statistics.median(with_ms):.2f} ms, without "
          f"{statistics.median(without_ms):.2f} ms; without/with median "
          f"{statistics.median(ratios):.2f}× (min {min(ratios):.2f}×, max {max(ratios):.2f}×, "
          f"{runs} runs side by side)")

if __name__ == "__main__":
    sys.exit(main())
