"""Where one approval's CPU goes, piece by piece, in one process (issue 14, items 1 and 5).

    .venv/bin/python bench/approval_cpu.py [--approvals 30] [--celery-close] [--profile DIR]
                                           [--code PATH] [--sql DIR]

A worker process (Django on a throwaway PostgreSQL database, `--pg-url`) imports the synthetic
volume (400 documents), caches every reading page, opens one proposal in each of the last
`--approvals` documents, then approves them one by one. What each approval queues is not sent
but run right after it in the same process, each piece timed on CPU (`time.process_time`):
`do_approve` (the gate, the revision, the rebase, the outbox), the worker's page warming
(`tasks.warm_pages`) and its checks (`tasks.run_checks`), `sync_pages` when queued; export
builds are counted, not run (bench/exports.py measures them). The PostgreSQL backend's CPU
(from /proc) is read around each piece, and the SQL statements each sends are counted. `--celery-close` closes the database
connection before each piece, as Celery's Django fixup did before every task without
`CELERY_DB_REUSE_MAX`: a new connection and backend each (that backend's CPU counted whole).
`--profile DIR` writes a cProfile (CPU time) of each piece there and prints the Python function
calls of each (a count no other load on the machine disturbs); `--sql DIR` the statements
of the last approval's pieces. `--code PATH` measures another checkout's code (its apps and
settings) with this script, for a before/after in one sitting. readers.py measures the same
approvals across processes, beside readers.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The checkout measured (`--code`) comes first: its apps, settings and bench helpers.
CODE = Path(sys.argv[sys.argv.index("--code") + 1]).resolve() if "--code" in sys.argv[:-1] \
    else ROOT
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(CODE))

from bench.harness import DEFAULT_PG, django_environ, pg_url, test_database  # noqa: E402

MARKER = "BENCH-RESULT "
PIECES = ("approve", "warm", "checks", "sync_pages")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--approvals", type=int, default=30)
    parser.add_argument("--docs", type=int, default=400)
    parser.add_argument("--celery-close", action="store_true")
    parser.add_argument("--profile", type=Path, metavar="DIR")
    parser.add_argument("--sql", type=Path, metavar="DIR")
    parser.add_argument("--code", type=Path, default=ROOT, help="checkout whose code is measured")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG))
    parser.add_argument("--db", default="emend_bench_approval_cpu")
    parser.add_argument("--json", type=Path, metavar="PATH")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(MARKER + json.dumps(worker(args)), flush=True)
        return 0
    with tempfile.TemporaryDirectory(prefix="emend-approval-cpu-") as tmp:
        env = django_environ(Path(tmp) / "var", DATABASE_URL=pg_url(args.pg_url, "postgres"),
                             EMEND_TEI_SCHEMA=str(ROOT / "var" / "schemas" / "tei_all.rng"),
                             PYTHONPATH=str(CODE))
        (Path(tmp) / "var" / "static").mkdir(parents=True)
        command = [sys.executable, __file__, "--worker", *sys.argv[1:]]
        done = subprocess.run(command, cwd=CODE, env=env, check=True, stdout=subprocess.PIPE,
                              text=True)
    result = json.loads(next(x for x in done.stdout.splitlines()
                             if x.startswith(MARKER))[len(MARKER):])
    n = result["approvals"]
    print(f"code: {CODE}")
    print(f"{n} approvals, {'a new connection per worker piece (Celery without CELERY_DB_REUSE_MAX)' if args.celery_close else 'connections kept'}; "
          f"tasks queued: {result['sent']}")
    print("CPU ms per approval: " + ", ".join(
        f"{k} {v * 1000 / n:.1f}" for k, v in result["cpu"].items()))
    print("PostgreSQL backend CPU ms per approval: " + ", ".join(
        f"{k} {v * 1000 / n:.1f}" for k, v in result["backend"].items()))
    print("SQL statements per approval: " + ", ".join(
        f"{k} {v / n:.1f}" for k, v in result["statements"].items()))
    if result["calls"]:  # the same on every run: a measure no other load disturbs
        print("Python function calls per approval: " + ", ".join(
            f"{k} {v / n:,.0f}" for k, v in result["calls"].items()))
    total = sum(result["cpu"].values()) + sum(result["backend"].values())
    print(f"total CPU ms per approval (processes and backend): {total * 1000 / n:.1f}")
    if args.json:
        args.json.write_text(json.dumps({**result, "code": str(CODE),
                                         "load": os.getloadavg()}, indent=1))
    return 0


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def worker(args) -> dict:
    with test_database(args.db):
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client

        from bench.readers import _people, _propose
        from bench.synth import synthetic_volume
        from edition import tasks
        from edition.gate import check_candidate
        from edition.models import Document, Edition
        from review.actions.approve import do_approve

        volume = Path(tempfile.mkdtemp()) / "volume.xml"
        volume.write_bytes(synthetic_volume(args.docs))
        call_command("import_tei", str(volume), no_progress=True)
        edition = Edition.objects.get()
        people = _people(edition)
        documents = list(Document.objects.filter(edition=edition, div_type="document")
                         .order_by("order"))
        pending = [_propose(d, people["editor"]) for d in documents[-(args.approvals + 1):]]
        client = Client()
        for document in documents:  # every page cached, its origin noted (for the warming)
            assert client.get(f"/{edition.slug}/{document.xml_id}/").status_code == 200
        # A web process has compiled the schema long before: not an approval's cost.
        first = Document.objects.with_current().get(pk=pending[0].document_id)
        check_candidate(first.current_revision.tei, first,
                        number=first.current_revision.number + 1)

        sent: list = []
        tasks._send = lambda task, task_args, options: sent.append((task, task_args))
        profiles = {}
        if args.profile:
            import cProfile

            profiles = {k: cProfile.Profile(time.process_time) for k in PIECES}
        cpu = dict.fromkeys(PIECES, 0.0)
        backend = dict.fromkeys(PIECES, 0.0)
        statements = dict.fromkeys(PIECES, 0)
        logged: dict[str, list[str]] = {k: [] for k in PIECES}
        counts: dict[str, int] = {}

        def backend_cpu() -> float:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                return _proc_cpu(cursor.fetchone()[0])

        def timed(piece, fn, *fn_args):
            worker_piece = piece != "approve"
            if worker_piece and args.celery_close:
                connection.close()
            before = 0.0 if worker_piece and args.celery_close else backend_cpu()
            del logged[piece][:]

            def count(execute, sql, params, many, context):
                statements[piece] += 1
                logged[piece].append(sql)
                return execute(sql, params, many, context)

            if piece in profiles:
                profiles[piece].enable()
            with connection.execute_wrapper(count):
                started = time.process_time()
                fn(*fn_args)
                cpu[piece] += time.process_time() - started
            if piece in profiles:
                profiles[piece].disable()
            backend[piece] += backend_cpu() - before

        for n, proposal in enumerate(pending):
            sent.clear()
            if n == 0:  # a warm-up: the first of each piece loads what a process keeps
                do_approve(proposal, by=people["reviewer"])
                for task, task_args in sent:
                    if task.name.endswith("after_revision"):
                        task(*task_args)
                continue
            timed("approve", lambda p=proposal: do_approve(p, by=people["reviewer"]))
            for task, task_args in list(sent):
                counts[task.name] = counts.get(task.name, 0) + 1
                if task.name.endswith("after_revision"):
                    timed("warm", tasks.warm_pages, task_args[1])
                    timed("checks", tasks.run_checks, [task_args[0]])
                elif task.name.endswith("sync_pages"):
                    timed("sync_pages", tasks.sync_pages, *task_args)
        calls = {}
        for piece, profile in profiles.items():
            args.profile.mkdir(parents=True, exist_ok=True)
            profile.dump_stats(str(args.profile / f"{piece}.pstats"))
            import pstats

            try:
                calls[piece] = pstats.Stats(str(args.profile / f"{piece}.pstats")).total_calls
            except TypeError:  # a piece that never ran (sync_pages, mostly) has no stats
                calls[piece] = 0
        if args.sql:
            args.sql.mkdir(parents=True, exist_ok=True)
            for piece, sqls in logged.items():
                (args.sql / f"{piece}.sql").write_text("".join(f"{x};\n" for x in sqls))
        return {"approvals": len(pending) - 1, "cpu": cpu, "backend": backend,
                "statements": statements, "calls": calls, "sent": counts}


if __name__ == "__main__":
    sys.exit(main())
