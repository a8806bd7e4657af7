"""Server time of the public reading view GET /<edition>/<doc>/: cold, cached and revalidated.

    .venv/bin/python bench/reading_view.py [--docs 400] [--cache redis://127.0.0.1:6379/15]
                                           [--postgres | --no-postgres] [--json PATH]

For each database (SQLite; PostgreSQL when reachable) a process of its own creates a throwaway
database with Django's test-database machinery, imports a synthetic volume and times
django.test.Client GETs in-process, anonymous, through the whole middleware stack:
cold (cache cleared before each request), cached (rendered HTML in the cache) and 304
(If-None-Match with the page's ETag). The cache is LocMemCache, plus each --cache URL.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402
    database_and_machine,
    DEFAULT_PG, django_environ, load, print_table,
    summary, test_database, verdict, write_json,
)
from bench.synth import synthetic_volume  # noqa: E402

TARGETS_MS = {"cold": 50, "cached": 5, "304": 5}
MARKER = "BENCH-RESULT "


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=400, help="documents in the volume (400)")
    parser.add_argument("--cold", type=int, default=200, help="cold requests (200)")
    parser.add_argument("--cached", type=int, default=1000,
                        help="cached requests, and as many 304 revalidations (1000)")
    parser.add_argument("--cache", action="append", default=[], metavar="URL",
                        help="also measure with this Redis cache, e.g. redis://127.0.0.1:6379/15 "
                             "(the database is flushed before and after)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--postgres", action="store_true",
                       help="require PostgreSQL (by default it is used when reachable)")
    group.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG),
                        help=f"a PostgreSQL URL with rights to create databases ({DEFAULT_PG})")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    parser.add_argument("--worker", choices=["sqlite", "postgresql"], help=argparse.SUPPRESS)
    parser.add_argument("--volume", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--test-db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(MARKER + json.dumps(worker(args)), flush=True)
        return 0

    pg, info = database_and_machine(parser, args)
    caches = ["locmem://"]
    for url in args.cache:
        problem = _redis_problem(url)
        if problem:
            print(f"cache {url} skipped: {problem}")
        else:
            caches.append(url)

    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="emend-bench-") as tmp:
        tmp = Path(tmp)
        volume = tmp / "frus-synthetic.xml"
        volume.write_bytes(synthetic_volume(args.docs))
        print(f"volume: {args.docs} documents, {volume.stat().st_size / 1e6:.2f} MB")
        if not pg and not args.no_postgres:
            print(f"PostgreSQL skipped: not reachable at {args.pg_url}")
        print(flush=True)
        databases = {"sqlite": ("sqlite:///" + str(tmp / "unused.sqlite3"),
                                str(tmp / "reading-test.sqlite3"))}
        if pg:
            # A fixed name: a run that died leaves a database the next run clobbers.
            databases["postgresql"] = (args.pg_url, "emend_bench_read")
        for vendor, (url, test_db) in databases.items():
            command = [
                sys.executable, __file__, "--worker", vendor, "--volume", str(volume),
                "--test-db", test_db, "--docs", str(args.docs), "--cold", str(args.cold),
                "--cached", str(args.cached),
                *(f"--cache={c}" for c in caches[1:]),
            ]
            env = django_environ(tmp / "var", DATABASE_URL=url)
            (tmp / "var" / "static").mkdir(parents=True, exist_ok=True)  # WhiteNoise warns
            started = time.perf_counter()
            done = subprocess.run(command, cwd=ROOT, env=env, check=True,
                                  stdout=subprocess.PIPE, text=True)
            line = next(x for x in done.stdout.splitlines() if x.startswith(MARKER))
            results[vendor] = json.loads(line.removeprefix(MARKER))
            print(f"  {vendor}: done in {time.perf_counter() - started:.0f} s "
                  f"(import of {args.docs} documents: {results[vendor]['import_seconds']:.2f} s)",
                  flush=True)

    print()
    rows = []
    for vendor, result in results.items():
        for cache_url, cases in result["caches"].items():
            cache_name = cache_url.split("://")[0]
            for case, figures in cases.items():
                s = figures["ms"]
                sql = f"{figures['sql_ms']['median']:.2f}" if "sql_ms" in figures else ""
                rows.append([
                    vendor, cache_name, case, s["n"], f"{s['median']:.2f}", f"{s['p95']:.2f}",
                    f"{s['max']:.2f}", figures["queries"], sql,
                    verdict(s["median"], TARGETS_MS[case]),
                ])
        connect = result["connect_ms"]
        rows.append([vendor, "", "new DB connection", connect["n"], f"{connect['median']:.2f}",
                     f"{connect['p95']:.2f}", f"{connect['max']:.2f}", "", "", ""])
    print(f"GET /<edition>/<doc>/, anonymous, {args.docs}-document volume; server time in ms "
          "(target applies to the median)")
    print_table(
        ["database", "cache", "request", "n", "median", "p95", "max", "queries", "SQL ms",
         "target"],
        rows, "lllrrrrrrl",
    )
    page = next(iter(results.values()))["page_bytes"]
    print(
        f"cold: cache cleared before each request, a different document each time; cached: "
        f"rendered HTML in the cache (checked: no render); 304: If-None-Match with the page's "
        f"ETag. queries: SQL statements in one request; SQL ms: median time executing them "
        f"(a separate pass). Page: {page / 1000:.0f} KB. 'new DB connection' is not in the "
        f"request figures (the test client keeps its connection); SQLite (CONN_MAX_AGE=0) "
        f"pays it on every request in production."
    )
    print(f"load average: {info['load']} at the start, {load()} at the end")

    write_json(args.json, {
        "benchmark": "reading_view",
        "machine": info,
        "volume": {"documents": args.docs},
        "targets_ms": TARGETS_MS,
        "results": results,
    })
    return 0


def worker(args) -> dict:
    """In a process of its own (one database per process): build, import, measure, destroy."""
    with test_database(args.test_db) as connection:
        from edition.imports import import_tei

        started = time.perf_counter()
        edition = import_tei(args.volume).edition
        import_seconds = time.perf_counter() - started
        return {
            "vendor": connection.vendor,
            "import_seconds": import_seconds,
            **_measure_all(edition, ["locmem://", *args.cache], args.cold, args.cached),
        }


def _measure_all(edition, cache_urls: list[str], n_cold: int, n_cached: int) -> dict:
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client, override_settings
    from django.urls import reverse

    from config.settings import _cache

    urls = [reverse("edition:document", args=[edition.slug, xml_id])
            for xml_id in edition.documents.values_list("xml_id", flat=True)]
    results: dict[str, dict] = {}
    page_bytes: list[int] = []
    for cache_url in cache_urls:
        config = _cache(cache_url)
        if config["BACKEND"].endswith("LocMemCache"):
            # LocMemCache keeps 300 entries and then culls a third: a larger volume would miss.
            config["OPTIONS"] = {"MAX_ENTRIES": max(300, 4 * len(urls))}
        with override_settings(CACHES={"default": config}):
            cache.clear()
            client = Client()
            for url in urls[:20]:  # templates, URL resolver, connection, the first renders
                _get(client, url, 200)
            cases = {}

            cold = []
            for i in range(n_cold):
                url = urls[i % len(urls)]
                cache.clear()
                seconds, response = _timed(client, url, 200)
                cold.append(seconds)
                page_bytes.append(len(response.content))
            cache.clear()
            cases["cold"] = {"ms": summary(cold), "queries": _queries(client, urls[-1], 200)}

            etags = {}
            for url in urls:  # one warm-up request per document fills the cache
                etags[url] = _get(client, url, 200)["ETag"]
            with _counting_renders() as renders:
                cached = [_timed(client, urls[i % len(urls)], 200)[0] for i in range(n_cached)]
            if renders:
                raise SystemExit(f"{cache_url}: {len(renders)} of {n_cached} 'cached' requests "
                                 "rendered the document: the cache does not keep them")
            cases["cached"] = {
                "ms": summary(cached),
                "queries": _queries(client, urls[0], 200),
                "sql_ms": summary(_sql_ms(client, urls[: min(len(urls), 200)], 200)),
            }

            revalidated = []
            for i in range(n_cached):
                url = urls[i % len(urls)]
                revalidated.append(_timed(client, url, 304, HTTP_IF_NONE_MATCH=etags[url])[0])
            cases["304"] = {
                "ms": summary(revalidated),
                "queries": _queries(client, urls[0], 304, HTTP_IF_NONE_MATCH=etags[urls[0]]),
            }
            cases["cold"]["sql_ms"] = summary(_sql_ms(client, urls[:50], 200, clear=True))
            cache.clear()
            results[cache_url] = cases

    connect = []
    for _ in range(100):
        connection.close()
        started = time.perf_counter()
        connection.ensure_connection()
        connection.cursor().execute("SELECT 1").close()
        connect.append((time.perf_counter() - started) * 1000)
    return {
        "caches": results,
        "connect_ms": summary(connect),
        "page_bytes": sorted(page_bytes)[len(page_bytes) // 2],
    }


def _timed(client, url: str, status: int, **headers):
    started = time.perf_counter()
    response = client.get(url, **headers)
    elapsed_ms = (time.perf_counter() - started) * 1000
    _check(response, url, status)
    return elapsed_ms, response


def _get(client, url: str, status: int, **headers):
    response = client.get(url, **headers)
    _check(response, url, status)
    return response


def _queries(client, url: str, status: int, **headers) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        _get(client, url, status, **headers)
    return len(queries)


def _sql_ms(client, urls: list[str], status: int, clear: bool = False) -> list[float]:
    """Time spent executing SQL per request (a separate pass: the wrapper has a small cost)."""
    from django.core.cache import cache
    from django.db import connection

    spent = [0.0]

    def timing(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent[0] += time.perf_counter() - started

    per_request = []
    with connection.execute_wrapper(timing):
        for url in urls:
            if clear:
                cache.clear()
            spent[0] = 0.0
            _get(client, url, status)
            per_request.append(spent[0] * 1000)
    return per_request


@contextmanager
def _counting_renders():
    """Records each call of the HTML renderer while the block runs."""
    from edition import rendering

    calls, original = [], rendering.render_html

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    rendering.render_html = counting
    try:
        yield calls
    finally:
        rendering.render_html = original


def _check(response, url: str, status: int) -> None:
    if response.status_code != status:
        raise SystemExit(f"GET {url}: {response.status_code}, expected {status}")


def _redis_problem(url: str) -> str | None:
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return "only Redis URLs are measured besides locmem://"
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as exc:
        return f"not reachable ({exc})"
    return None


if __name__ == "__main__":
    sys.exit(main())
