"""A whole FRUS-like volume of tens of thousands of documents: import, contents pages, the
pre-rendering worker and a full export build of the "text" group, with peak memory.

    .venv/bin/python -m bench.volumes [--documents 50000] [--database postgres|sqlite]
                                      [--toc-runs 7] [--cache redis://127.0.0.1:6379/15]
                                      [--json PATH]

The volume (`synth.frus_volume`: the sample's header and front matter, documents of 2–4 KB in
chapters of 250 inside compilations) is written to a temporary file; a throwaway database
(`emend_bench_volumes` on PostgreSQL, a temporary file on SQLite) is created, migrated and
dropped. Each phase runs in a process of its own and reports its own peak RSS (VmHWM, not
ru_maxrss, which carries the parent's peak across fork and exec):

- import: `import_tei` of the file (the gate renders every unit too), and the seconds per
  1,000 documents at checkpoints (timed through the importer's progress callback);
- contents: `GET /<edition>/` (first page), `?page=<middle>`, and a chapter's page through the
  test client and the whole middleware stack; the cache is cleared before every request;
- pre-rendering: `tasks.warm_rendering` of every current revision, as the import enqueues it;
- export: `builds.run` of the "text" group (TEI, HTML, plain text, JSON, EPUB), full (every
  fragment re-rendered), files written to a temporary directory.

The cache is Redis (`--cache`, database 15, flushed before and after) as in production, so a
worker's memory is its own, not a cache's; `--cache locmem://` when Redis is not there.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402
    pg_admin,
    DEFAULT_PG, django_environ, load, machine, pg_url, pg_version, print_machine, print_table,
    summary, write_json,
    process_usage,
)
from bench.synth import frus_volume  # noqa: E402

DBNAME = "emend_bench_volumes"
TARGET_TOC_MS = 300
TARGET_RSS_MB = 500


# -- the phases, each in its own process ---------------------------------------------------------

def phase_import(path: str) -> dict:
    from django.core.management import call_command  # noqa: F401 (Django is set up)
    from edition.imports import import_tei
    from edition.models import Document

    total = Path(path).stat().st_size
    marks: list[tuple[float, float]] = []  # (fraction of the file read, seconds)
    t0 = time.perf_counter()
    done = [0]

    def progress(n: int) -> None:
        done[0] += n
        marks.append((done[0] / total, time.perf_counter() - t0))

    baseline, cpu0 = process_usage()
    t0 = time.perf_counter()
    result = import_tei(path, on_progress=progress)
    seconds = time.perf_counter() - t0
    peak, cpu1 = process_usage()
    return {"seconds": seconds, "cpu_seconds": cpu1 - cpu0, "peak_kb": peak,
            "baseline_kb": baseline, "created": len(result.created),
            "documents": Document.objects.filter(div_type="document").count(),
            "units": Document.objects.count(), "marks": _thin(marks)}


def _thin(marks: list[tuple[float, float]], keep: int = 200) -> list[tuple[float, float]]:
    step = max(1, len(marks) // keep)
    return marks[::step] + marks[-1:]


def phase_toc(slug: str, runs: int) -> dict:
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from edition import contents
    from edition.models import Document, Edition

    edition = Edition.objects.get(slug=slug)
    body = Document.objects.filter(edition=edition, matter="body").count()
    pages = -(-body // contents.PAGE_SIZE)
    chapter = (Document.objects.filter(edition=edition, div_type="chapter")
               .order_by("order").values_list("xml_id", flat=True))
    chapter = chapter[len(chapter) // 2] if chapter else None
    client = Client()
    targets = {"contents, first page": f"/{slug}/",
               f"contents, page {pages // 2 + 1} of {pages}": f"/{slug}/?page={pages // 2 + 1}"}
    if chapter:
        targets[f"chapter page ({chapter})"] = f"/{slug}/{chapter}/"
    client.get(f"/{slug}/d1/")  # the first request pays for imports and templates
    figures = {}
    for label, url in targets.items():
        times = []
        for _ in range(runs):
            cache.clear()
            t0 = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        cache.clear()
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        figures[label] = {"ms": times, "queries": len(queries), "bytes": len(response.content),
                          "sql_ms": sum(float(q["time"]) for q in queries.captured_queries) * 1000}
    peak, _ = process_usage()
    return {"pages": figures, "peak_kb": peak}


def phase_warm(slug: str) -> dict:
    from edition import tasks
    from edition.models import Document

    ids = list(Document.objects.filter(edition__slug=slug)
               .values_list("current_revision_id", flat=True))
    baseline, cpu0 = process_usage()
    t0 = time.perf_counter()
    count = tasks.warm_rendering(ids)
    seconds = time.perf_counter() - t0
    peak, cpu1 = process_usage()
    return {"seconds": seconds, "cpu_seconds": cpu1 - cpu0, "peak_kb": peak,
            "baseline_kb": baseline, "rendered": count}


def phase_export(slug: str) -> dict:
    from django.db import transaction

    from edition.exporting import builds
    from edition.models import Edition, ExportRequest

    edition = Edition.objects.defer("tei_skeleton", "tei_header").get(slug=slug)
    ExportRequest.objects.filter(edition=edition).delete()  # the import's, already sent
    with transaction.atomic():
        builds.request_export(edition, "bench", full=True)
    baseline, cpu0 = process_usage()
    t0 = time.perf_counter()
    outcome = builds.run(edition.pk, "text")
    seconds = time.perf_counter() - t0
    peak, cpu1 = process_usage()
    build = outcome.builds[-1]
    sizes = {f.format: f.size for f in build.files.filter(document=None)}
    return {"seconds": seconds, "cpu_seconds": cpu1 - cpu0, "peak_kb": peak,
            "baseline_kb": baseline, "status": str(outcome.status),
            "rendered": build.rendered, "volume_bytes": sizes}


PHASES = {"import": phase_import, "toc": phase_toc, "warm": phase_warm, "export": phase_export}


def _phase_main(argv: list[str]) -> None:
    import django

    django.setup()
    name, *args = argv
    runner = PHASES[name]
    if name == "toc":
        args = [args[0], int(args[1])]
    print(json.dumps(runner(*args)))


# -- the driver ----------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=50_000)
    parser.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG))
    parser.add_argument("--cache", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--toc-runs", type=int, default=7, help="cold requests per page (7)")
    parser.add_argument("--phases", default="import,toc,warm,export")
    parser.add_argument("--no-gate", action="store_true",
                        help="import without the gate (no TEI schema: each unit is stored "
                             "with a warning, unchecked and unrendered), to reach a large "
                             "volume quickly; the later phases are the same")
    parser.add_argument("--keep-database", action="store_true",
                        help=f"leave {DBNAME} (PostgreSQL) in place afterwards, to look into")
    parser.add_argument("--reuse-database", action="store_true",
                        help="measure on the database a --keep-database run left (skip import)")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args()
    if args.reuse_database:
        args.keep_database = True
    phases = args.phases.split(",")

    pg = pg_version(args.pg_url) if args.database == "postgres" else None
    if args.database == "postgres" and pg is None:
        parser.error(f"PostgreSQL is not reachable at {args.pg_url}")
    info = machine(pg)
    print_machine(info)

    with tempfile.TemporaryDirectory(prefix="emend-bench-volumes-") as tmp:
        tmp = Path(tmp)
        volume = tmp / "volume.xml"
        t0 = time.perf_counter()
        size = frus_volume(volume, args.documents)
        print(f"volume: {args.documents:,} documents, {size / 1e6:.1f} MB "
              f"({size / args.documents / 1000:.1f} KB per document, written in "
              f"{time.perf_counter() - t0:.1f} s)", flush=True)
        if args.database == "sqlite":
            url = f"sqlite:///{tmp / 'bench.sqlite3'}"
        else:
            url = pg_url(args.pg_url, DBNAME)
        if args.database == "postgres" and not args.reuse_database:
            pg_admin(args.pg_url, f'DROP DATABASE IF EXISTS "{DBNAME}" WITH (FORCE)',
                      f'CREATE DATABASE "{DBNAME}"')
        env = django_environ(tmp / "var", DATABASE_URL=url, CACHE_URL=args.cache,
                             EXPORT_ROOT=str(tmp / "exports"),
                             EMEND_EXPORT_FORMATS="tei,html,txt,json,epub",
                             # 50,000 documents pass the default limit (64 MiB) of an import.
                             EMEND_MAX_IMPORT_BYTES=str(max(size + 1, 64 * 1024 * 1024)),
                             **({"EMEND_TEI_SCHEMA": str(tmp / "no-schema.rng")}
                                if args.no_gate else {}))
        _flush(args.cache)
        try:
            if not args.reuse_database:
                subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
                               cwd=ROOT, env=env, check=True)
            results = _measure(phases, volume, env, args)
        finally:
            _flush(args.cache)
            if args.database == "postgres" and not args.keep_database:
                pg_admin(args.pg_url, f'DROP DATABASE IF EXISTS "{DBNAME}" WITH (FORCE)')

    _report(results, args, size, info)
    write_json(args.json, {"benchmark": "volumes", "machine": info, "documents": args.documents,
                           "bytes": size, "database": args.database, "results": results})
    return 0


def _measure(phases: list[str], volume: Path, env: dict, args) -> dict:
    def run(*argv: str) -> dict:
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "bench.volumes", "--phase", *argv],
                              cwd=ROOT, env=env, check=True, stdout=subprocess.PIPE, text=True)
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        figures["process_seconds"] = time.perf_counter() - started
        return figures

    results: dict = {}
    slug = "frus1958-60v18"
    if "import" in phases:
        results["import"] = r = run("import", str(volume))
        print(f"  import: {r['seconds']:.1f} s, {r['peak_kb'] / 1024:.0f} MB peak RSS, "
              f"{r['units']:,} units", flush=True)
        if args.database == "postgres":
            # What autovacuum does shortly after a large import: statistics for the planner,
            # the visibility map for index-only counts. Timed, not hidden.
            t0 = time.perf_counter()
            pg_admin(env["DATABASE_URL"], "VACUUM ANALYZE")
            results["vacuum_seconds"] = time.perf_counter() - t0
            print(f"  VACUUM ANALYZE: {results['vacuum_seconds']:.1f} s", flush=True)
    if "toc" in phases:
        results["toc"] = r = run("toc", slug, str(args.toc_runs))
        for label, page in r["pages"].items():
            print(f"  {label}: median {statistics.median(page['ms']):.0f} ms, "
                  f"{page['queries']} queries", flush=True)
    if "warm" in phases:
        results["warm"] = r = run("warm", slug)
        print(f"  pre-rendering: {r['seconds']:.1f} s, {r['peak_kb'] / 1024:.0f} MB peak RSS",
              flush=True)
    if "export" in phases:
        results["export"] = r = run("export", slug)
        print(f"  export (text group): {r['seconds']:.1f} s, {r['peak_kb'] / 1024:.0f} MB peak "
              f"RSS", flush=True)
    return results


def _rates(marks: list[tuple[float, float]], n_docs: int) -> list[tuple[int, float]]:
    """Seconds per 1,000 documents around checkpoints, from (fraction read, seconds) marks:
    the file is nearly all documents, so the fraction read counts them closely enough."""
    rows = []
    checkpoints = [c for c in (1_000, 5_000, 10_000, 20_000, 35_000, 50_000, 100_000)
                   if c <= n_docs]
    previous = (0, 0.0)
    for checkpoint in checkpoints:
        at = next((s for f, s in marks if f * n_docs >= checkpoint), marks[-1][1])
        span = checkpoint - previous[0]
        rows.append((checkpoint, (at - previous[1]) / span * 1000))
        previous = (checkpoint, at)
    return rows


def _report(results: dict, args, size: int, info: dict) -> None:
    print()
    rows = []
    if "import" in results:
        r = results["import"]
        rows.append(["import (import_tei)", f"{r['seconds']:.1f} s", "",
                     f"{r['peak_kb'] / 1024:.0f}", f"{r['cpu_seconds']:.1f} s CPU"])
        for checkpoint, rate in _rates(r["marks"], args.documents):
            rows.append([f"  s per 1k documents up to {checkpoint:,}", f"{rate:.2f}", "", "",
                         ""])
    if "toc" in results:
        for label, page in results["toc"]["pages"].items():
            s = summary(page["ms"])
            mark = "ok" if s["median"] < TARGET_TOC_MS else "MISSED"
            rows.append([f"{label}, cold", f"{s['median']:.0f} ms",
                         f"{s['min']:.0f}–{s['max']:.0f}", "",
                         f"{page['queries']} queries ({page['sql_ms']:.0f} ms), "
                         f"{page['bytes'] / 1000:.0f} KB; "
                         f"< {TARGET_TOC_MS} {mark}"])
    for key, label in (("warm", "pre-rendering (warm_rendering)"),
                       ("export", "export build, text group, full")):
        if key in results:
            r = results[key]
            mark = "ok" if r["peak_kb"] / 1024 < TARGET_RSS_MB else "MISSED"
            rows.append([label, f"{r['seconds']:.1f} s", "", f"{r['peak_kb'] / 1024:.0f}",
                         f"{r['cpu_seconds']:.1f} s CPU; RSS < {TARGET_RSS_MB} MB {mark}"])
            if key == "export":
                rows.append(["  volume files, MB", " ".join(
                    f"{fmt} {size / 1e6:.0f}" for fmt, size in r["volume_bytes"].items()),
                    "", "", ""])
    print(f"{args.documents:,} documents ({size / 1e6:.0f} MB of TEI), {args.database}, "
          f"cache {args.cache}" + (", imported without the gate" if args.no_gate else ""))
    print_table(["figure", "median / total", "min–max", "peak RSS MB", "note"], rows, "lrrrl")
    print(f"load average: {info['load']} at the start, {load()} at the end")


def _flush(cache_url: str) -> None:
    if cache_url.startswith("redis://"):
        import redis

        redis.Redis.from_url(cache_url).flushdb()



if __name__ == "__main__":
    if sys.argv[1:2] == ["--phase"]:
        _phase_main(sys.argv[2:])
    else:
        sys.exit(main())
