"""Import a synthetic 400-document FRUS volume into a fresh database: wall time and peak memory.

    .venv/bin/python bench/import_volume.py [--docs 400] [--repeat 3] [--postgres] [--json PATH]

Each run migrates a throwaway database (a temporary SQLite file; a PostgreSQL database created
and dropped here), then imports in a process of its own that runs `import_tei --no-progress`
through call_command and reports its own elapsed time and peak RSS (VmHWM), so neither the
migration nor this script's memory is counted.
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
    database_and_machine,
    DEFAULT_PG, django_environ, load, pg_url, print_table,
    summary, verdict, write_json,
)
from bench.synth import synthetic_volume  # noqa: E402

TARGET_SECONDS = 15
TARGET_MB = 400

# Runs in the import process: Django is set up first so only the import itself is timed; the
# peak RSS is the process's own (Django and the import), as `manage.py import_tei` would have.
IMPORT = r"""
import io, json, sys, time
import django
django.setup()
from django.core.management import call_command
from django.db import connection
from bench.harness import process_usage as usage
from edition.models import Document, Revision

baseline_kb, cpu0 = usage()
out = io.StringIO()
t0 = time.perf_counter()
call_command("import_tei", sys.argv[1], no_progress=True, stdout=out)
seconds = time.perf_counter() - t0
maxrss_kb, cpu1 = usage()
print(json.dumps({
    "seconds": seconds,
    "cpu_seconds": cpu1 - cpu0,
    "maxrss_kb": maxrss_kb,
    "baseline_kb": baseline_kb,
    "documents": Document.objects.filter(div_type="document").count(),  # compilations are units too
    "revisions": Revision.objects.count(),
    "vendor": connection.vendor,
    "output": out.getvalue().strip(),
}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=400, help="documents in the volume (400)")
    parser.add_argument("--repeat", type=int, default=3, help="imports per database (3)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--postgres", action="store_true",
                       help="require PostgreSQL (by default it is used when reachable)")
    group.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG),
                        help=f"a PostgreSQL URL with rights to create databases ({DEFAULT_PG})")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args()

    pg, info = database_and_machine(parser, args)

    with tempfile.TemporaryDirectory(prefix="emend-bench-") as tmp:
        tmp = Path(tmp)
        volume = tmp / "frus-synthetic.xml"
        volume.write_bytes(synthetic_volume(args.docs))
        size = volume.stat().st_size
        print(f"volume: {args.docs} documents, {size / 1e6:.2f} MB "
              f"({size / args.docs / 1000:.1f} KB per document)\n")

        databases = ["sqlite"] + (["postgresql"] if pg else [])
        if not pg and not args.no_postgres:
            print(f"PostgreSQL skipped: not reachable at {args.pg_url}\n")
        results = {}
        for vendor in databases:
            runs = []
            for i in range(args.repeat):
                run = _run(vendor, volume, tmp, args.pg_url, i)
                if run["documents"] != args.docs:
                    raise SystemExit(f"{vendor}: imported {run['documents']} documents, "
                                     f"expected {args.docs}: {run['output']}")
                runs.append(run)
                print(f"  {vendor} run {i + 1}: {run['seconds']:.2f} s, "
                      f"{run['maxrss_kb'] / 1024:.0f} MB peak RSS", flush=True)
            results[vendor] = {
                "seconds": summary([r["seconds"] for r in runs]),
                "cpu_seconds": summary([r["cpu_seconds"] for r in runs]),
                "process_seconds": summary([r["process_seconds"] for r in runs]),
                "peak_rss_mb": summary([r["maxrss_kb"] / 1024 for r in runs]),
                "baseline_rss_mb": statistics.median(r["baseline_kb"] / 1024 for r in runs),
                "database_mb": statistics.median(r["database_bytes"] / 1e6 for r in runs),
                "runs": runs,
            }

    print()
    rows = []
    for vendor, r in results.items():
        def row(label, figures, digits, target=None):
            spread = f"{figures['min']:.{digits}f}–{figures['max']:.{digits}f}"
            mark = verdict(figures["median"], target) if target else ""
            return [vendor, label, f"{figures['median']:.{digits}f}", spread, mark]

        rows += [
            row("import wall time, s", r["seconds"], 2, TARGET_SECONDS),
            row("  of which CPU in the process, s", r["cpu_seconds"], 2),
            row("  whole process (startup+setup), s", r["process_seconds"], 2),
            row("peak RSS, MB", r["peak_rss_mb"], 0, TARGET_MB),
            [vendor, "  RSS after django.setup(), MB", f"{r['baseline_rss_mb']:.0f}", "", ""],
            [vendor, "database size after import, MB", f"{r['database_mb']:.1f}", "", ""],
        ]
    print(f"import_tei of {args.docs} documents ({size / 1e6:.2f} MB), "
          f"{args.repeat} run(s) per database")
    print_table(["database", "figure", "median", "min–max", "target"], rows, "llrrl")
    print(f"load average: {info['load']} at the start, {load()} at the end")

    write_json(args.json, {
        "benchmark": "import_volume",
        "machine": info,
        "volume": {"documents": args.docs, "bytes": size},
        "repeat": args.repeat,
        "targets": {"seconds": TARGET_SECONDS, "peak_rss_mb": TARGET_MB},
        "results": results,
    })
    return 0


def _run(vendor: str, volume: Path, tmp: Path, base_pg: str, i: int) -> dict:
    """Migrate a fresh database, import `volume` into it in its own process, drop it."""
    if vendor == "sqlite":
        db_file = tmp / f"import-{i}.sqlite3"
        url = f"sqlite:///{db_file}"
    else:
        dbname = "emend_bench_import"  # fixed: a run that died leaves nothing the next keeps
        url = pg_url(base_pg, dbname)
        pg_admin(base_pg, f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)',
                  f'CREATE DATABASE "{dbname}"')
    env = django_environ(tmp / "var", DATABASE_URL=url)
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
                       cwd=ROOT, env=env, check=True)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", IMPORT, str(volume)], cwd=ROOT, env=env,
                              check=True, stdout=subprocess.PIPE, text=True)
        process_seconds = time.perf_counter() - started
        run = json.loads(done.stdout.strip().splitlines()[-1])
        run["process_seconds"] = process_seconds
        run["database_bytes"] = _database_bytes(vendor, db_file if vendor == "sqlite" else url)
        return run
    finally:
        if vendor == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db_file}{suffix}").unlink(missing_ok=True)
        else:
            pg_admin(base_pg, f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def _database_bytes(vendor: str, where) -> int:
    if vendor == "sqlite":
        return sum(p.stat().st_size for p in where.parent.glob(f"{where.name}*"))
    import psycopg

    with psycopg.connect(where) as conn:
        return conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]



if __name__ == "__main__":
    sys.exit(main())
