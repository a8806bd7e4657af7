"""One correction across an edition: creating a batch of 500 proposals from one search, and
approving it all.

    .venv/bin/python bench/batches.py [--documents 2000] [--matches 500] [--repeat 3]
                                      [--postgres | --no-postgres] [--json PATH]

A worker process creates a throwaway database (PostgreSQL `emend_bench_batches` when it
answers, else a temporary SQLite file), bulk-inserts an edition of `--documents` short FRUS
documents (one revision each, its text layer derived as `Revision.save` would; 50,000 take a
minute or two, where importing a volume that size takes half an hour), `--matches` of them
holding "Documents 139142 and 144146", and times, per repeat (a fresh edition each time):

- **find**: `review.batches.matches` (the search plus every occurrence in context);
- **create**: `resolve` (the form's tokens read back and checked) plus `create_batch` (one
  proposal per document through `do_propose`: lock, role, limits, the gate);
- **approve all**: `approve_batch` by a reviewer (one `do_approve` per proposal: apply, gate,
  new revision, rebase, export outbox).

Each with the wall time and the worker's CPU time (`process_time`): on a shared machine the
wall time grows with the load average, the CPU time much less.

Goal: create < 10 s for 500 proposals on PostgreSQL.
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
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402
    database_and_machine,
    DEFAULT_PG, django_environ, load, print_table,
    summary, test_database, verdict, write_json,
)

MARKER = "BENCH-RESULT "
TARGET_CREATE_S = 10
PHRASE, REPLACEMENT = "139142", "139–142"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--matches", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--postgres", action="store_true")
    group.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG))
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--worker", choices=["sqlite", "postgresql"], help=argparse.SUPPRESS)
    parser.add_argument("--test-db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.matches > args.documents:
        parser.error("--matches cannot exceed --documents")
    if args.worker:
        print(MARKER + json.dumps(worker(args)), flush=True)
        return 0

    pg, info = database_and_machine(parser, args)
    with tempfile.TemporaryDirectory(prefix="emend-bench-") as tmp:
        tmp = Path(tmp)
        if pg:
            vendor, url, test_db = "postgresql", args.pg_url, "emend_bench_batches"
        else:
            vendor, url = "sqlite", "sqlite:///" + str(tmp / "unused.sqlite3")
            test_db = str(tmp / "batches-test.sqlite3")
            print("PostgreSQL not reachable: measuring SQLite only")
        (tmp / "var" / "static").mkdir(parents=True, exist_ok=True)
        command = [sys.executable, __file__, "--worker", vendor, "--test-db", test_db,
                   "--documents", str(args.documents), "--matches", str(args.matches),
                   "--repeat", str(args.repeat)]
        started = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, env=django_environ(tmp / "var",
                                                                    DATABASE_URL=url),
                              check=True, stdout=subprocess.PIPE, text=True)
        line = next(x for x in done.stdout.splitlines() if x.startswith(MARKER))
        result = json.loads(line.removeprefix(MARKER))
        print(f"  {vendor}: done in {time.perf_counter() - started:.0f} s", flush=True)

    print()
    rows = []
    for name, label in (("find", "find the matches"), ("create", "create the batch"),
                        ("approve", "approve it all")):
        s = result[name]
        per = s["median"] / result["proposals"] * 1000
        cpu = result[f"{name}_cpu"]["median"]
        rows.append([label, s["n"], f"{s['median']:.2f}", f"{s['min']:.2f}", f"{s['max']:.2f}",
                     f"{per:.1f}", f"{cpu:.2f}",
                     verdict(s["median"], TARGET_CREATE_S) if name == "create" else ""])
    print(f"{result['vendor']}: {result['documents']:,} documents, {result['proposals']} "
          f"proposals per batch ({result['setup_s']:.0f} s to insert the edition); seconds")
    print("(cpu: this process's CPU seconds, median: the wall time less waiting for a CPU and "
          "for PostgreSQL, which runs in its own processes)")
    print_table(["operation", "n", "median", "min", "max", "ms each", "cpu", "target"], rows,
                "lrrrrrrl")
    print(f"load average: {info['load']} at the start, {load()} at the end")
    write_json(args.json, {"benchmark": "batches", "machine": info, "result": result})
    return 0


def worker(args) -> dict:
    with test_database(args.test_db) as connection:
        timings: dict[str, list[float]] = {key: [] for key in (
            "find", "create", "approve", "find_cpu", "create_cpu", "approve_cpu")}
        setup = []
        proposals = 0
        for run in range(args.repeat):
            started = time.perf_counter()
            edition, editor, reviewer = _edition(run, args.documents, args.matches)
            setup.append(time.perf_counter() - started)
            figures = _one_batch(edition, editor, reviewer)
            proposals = figures.pop("proposals")
            assert proposals == args.matches, (proposals, args.matches)
            for key, value in figures.items():
                timings[key].append(value)
        return {"vendor": connection.vendor, "documents": args.documents,
                "proposals": proposals, "setup_s": min(setup),
                **{key: summary(values) for key, values in timings.items()}}


def _document_tei(n: int, hit: bool) -> str:
    sentence = ("See Documents 139142 and 144146 for the exchange." if hit
                else "See the exchange of the previous week.")
    return (f'<div xmlns="http://www.tei-c.org/ns/1.0" type="document" xml:id="d{n}" n="{n}">'
            f"<head>{n}. Telegram From the Embassy in Paris to the Department of State</head>"
            f"<p>Paris, {n} May 1959. The Ambassador met the Foreign Minister this morning and "
            f"discussed the agenda of the conference at some length. {sentence}</p>"
            "<p>The Minister said that his government would consider the proposal and reply "
            "within the week; he asked that the text be kept confidential until then.</p>"
            "</div>")


def _edition(run: int, n_docs: int, n_hits: int):
    """An edition of `n_docs` documents, `n_hits` of them (evenly spread) with the phrase,
    bulk-inserted; and an editor and a reviewer."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from edition.models import Document, Edition, Membership, Revision
    from edition import search
    from edition.tei import textlayer
    from edition.tei.parsing import parse_document_div
    import hashlib

    User = get_user_model()
    edition = Edition.objects.create(slug=f"bench-batch-{run}", title="Bench", tei_header="<x/>",
                                     tei_skeleton="<x/>")
    editor = User.objects.create_user(f"editor-{run}")
    reviewer = User.objects.create_user(f"reviewer-{run}")
    Membership.objects.create(edition=edition, user=editor, role="editor")
    Membership.objects.create(edition=edition, user=reviewer, role="reviewer")
    step = n_docs / n_hits
    hits = {int(i * step) + 1 for i in range(n_hits)}
    # Two templates: the text layer of each is derived once and numbered by substitution.
    with transaction.atomic():
        for lo in range(1, n_docs + 1, 2000):
            numbers = range(lo, min(lo + 2000, n_docs + 1))
            documents = Document.objects.bulk_create([
                Document(edition=edition, xml_id=f"d{n}", number=n, title=f"Telegram {n}",
                         order=n) for n in numbers])
            revisions = []
            for document, n in zip(documents, numbers):
                tei = _document_tei(n, n in hits)
                text = textlayer.text_of(parse_document_div(tei))
                revisions.append(Revision(
                    document=document, number=1, tei=tei, text=text, summary="bench",
                    checksum=hashlib.sha256(tei.encode()).hexdigest(),
                    change={"kind": "import"}))
            Revision.objects.bulk_create(revisions)
            for document, revision in zip(documents, revisions):
                document.current_revision = revision
            Document.objects.bulk_update(documents, ["current_revision"])
        # Rows inserted in bulk bypass `add_revision`, which keeps the search index: index
        # them as an upgrade does (`documents_containing` narrows by that index).
        search.rebuild(Edition.objects.filter(pk=edition.pk))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return edition, editor, reviewer


def _one_batch(edition, editor, reviewer) -> dict:
    from review import batches

    started, cpu_started = time.perf_counter(), time.process_time()
    found = batches.matches(edition, PHRASE, REPLACEMENT)
    found_at, cpu_found = time.perf_counter(), time.process_time()
    chosen = batches.resolve(edition, [m.token for m in found], find=PHRASE,
                             replacement=REPLACEMENT)
    result = batches.create_batch(editor, edition, "Restore the en dashes", chosen,
                                  find=PHRASE, replacement=REPLACEMENT)
    created_at, cpu_created = time.perf_counter(), time.process_time()
    assert not result.refused, result.refused[:3]
    outcomes = batches.approve_batch(reviewer, result.batch)
    approved_at, cpu_approved = time.perf_counter(), time.process_time()
    failed = [o.message for o in outcomes if o.failed]
    assert not failed, failed[:3]
    return {"find": found_at - started, "create": created_at - found_at,
            "approve": approved_at - created_at,
            "find_cpu": cpu_found - cpu_started, "create_cpu": cpu_created - cpu_found,
            "approve_cpu": cpu_approved - cpu_created, "proposals": len(result.proposals)}


if __name__ == "__main__":
    raise SystemExit(main())
