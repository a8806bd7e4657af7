"""Review at scale: approval latency with many pending proposals, and the review queue.

    .venv/bin/python bench/review.py [--postgres | --no-postgres] [--approvals 20] [--json PATH]

For each database (SQLite; PostgreSQL when reachable) a process of its own creates a throwaway
database and measures, in-process:
- approval latency (`proposal.approve`: lock, apply, new revision, rebase of every other pending
  proposal) on one document with 100, 1,000 and 10,000 pending proposals spread through it;
- the first page of `/review/queue/` for a reviewer, with 10,000 pending proposals across a
  400-document volume (server time through the whole middleware stack, and its SQL queries).
Pending proposals are bulk-inserted with valid anchors (exact, prefix, suffix on the head text):
creating 10,000 through the form would measure the setup, not the review.
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
from bench.synth import synthetic_volume  # noqa: E402

MARKER = "BENCH-RESULT "
SIZES = (100, 1000, 10000)
TARGETS_MS = {"approve@1000": 100, "queue": 100}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--approvals", type=int, default=20, help="approvals timed per size")
    parser.add_argument("--queue-requests", type=int, default=50)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--postgres", action="store_true")
    group.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG))
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--worker", choices=["sqlite", "postgresql"], help=argparse.SUPPRESS)
    parser.add_argument("--volume", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--test-db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(MARKER + json.dumps(worker(args)), flush=True)
        return 0

    pg, info = database_and_machine(parser, args)
    results = {}
    with tempfile.TemporaryDirectory(prefix="emend-bench-") as tmp:
        tmp = Path(tmp)
        volume = tmp / "frus-synthetic.xml"
        volume.write_bytes(synthetic_volume(400))
        databases = {"sqlite": ("sqlite:///" + str(tmp / "unused.sqlite3"),
                                str(tmp / "review-test.sqlite3"))}
        if pg:
            databases["postgresql"] = (args.pg_url, "emend_bench_review")
        for vendor, (url, test_db) in databases.items():
            command = [sys.executable, __file__, "--worker", vendor, "--volume", str(volume),
                       "--test-db", test_db, "--approvals", str(args.approvals),
                       "--queue-requests", str(args.queue_requests)]
            env = django_environ(tmp / "var", DATABASE_URL=url)
            (tmp / "var" / "static").mkdir(parents=True, exist_ok=True)
            started = time.perf_counter()
            done = subprocess.run(command, cwd=ROOT, env=env, check=True,
                                  stdout=subprocess.PIPE, text=True)
            line = next(x for x in done.stdout.splitlines() if x.startswith(MARKER))
            results[vendor] = json.loads(line.removeprefix(MARKER))
            print(f"  {vendor}: done in {time.perf_counter() - started:.0f} s", flush=True)

    print()
    rows = []
    for vendor, result in results.items():
        base = result["approve"][str(SIZES[0])]["median"]
        for size in SIZES:
            s = result["approve"][str(size)]
            target = verdict(s["median"], TARGETS_MS["approve@1000"]) if size == 1000 else ""
            rows.append([vendor, f"approve, {size:,} pending", s["n"], f"{s['median']:.1f}",
                         f"{s['p95']:.1f}", f"{s['max']:.1f}", f"×{s['median'] / base:.2f}",
                         result["approve_queries"][str(size)], target])
        q = result["queue"]
        rows.append([vendor, "queue page 1, 10,000 pending", q["n"], f"{q['median']:.1f}",
                     f"{q['p95']:.1f}", f"{q['max']:.1f}", "", result["queue_queries"],
                     verdict(q["median"], TARGETS_MS["queue"])])
    print("server time in ms (ratio: median against 100 pending; queries: SQL statements in one "
          "approval / one queue request)")
    print_table(["database", "operation", "n", "median", "p95", "max", "ratio", "queries",
                 "target"], rows, "llrrrrrrl")
    print(f"load average: {info['load']} at the start, {load()} at the end")
    write_json(args.json, {"benchmark": "review", "machine": info, "targets_ms": TARGETS_MS,
                           "results": results})
    return 0


def worker(args) -> dict:
    with test_database(args.test_db) as connection:
        return {"vendor": connection.vendor, **_approvals(args.approvals),
                **_queue(args.volume, args.queue_requests)}


def _people(edition):
    from django.contrib.auth import get_user_model

    from edition.models import Membership

    User = get_user_model()
    editor = User.objects.create_user(f"editor-{edition.slug}")
    reviewer = User.objects.create_user(f"reviewer-{edition.slug}")
    Membership.objects.create(edition=edition, user=editor, role="editor")
    Membership.objects.create(edition=edition, user=reviewer, role="reviewer")
    return editor, reviewer


def _pending(document, author, spans: list[tuple[int, int]]) -> list:
    """Bulk-insert one pending text proposal per span, anchored on the head revision."""
    from edition.tei.selectors import selector
    from review.models import Change, Event, Proposal

    head = document.current_revision
    proposals = Proposal.objects.bulk_create(
        [Proposal(document=document, author=author, revision=head, rationale="bench")
         for _ in spans], batch_size=2000)
    Change.objects.bulk_create(
        # One code point longer, so every approval shifts the proposals after it (the UPDATE).
        [Change(proposal=p, kind="text", start=s, end=e, content=_hyphenate(head.text[s:e]),
                **selector(head.text, s, e)) for p, (s, e) in zip(proposals, spans)],
        batch_size=2000)
    Event.objects.bulk_create([Event(proposal=p, actor=author, kind="created")
                               for p in proposals], batch_size=2000)
    return proposals


def _hyphenate(word: str) -> str:
    return f"{word[:4]}-{word[4:]}"


def _analyze() -> None:
    """Planner statistics after the bulk insert, as autovacuum keeps them in production;
    without them PostgreSQL plans for empty tables (a nested loop over every pending row)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def _words(text: str, limit: int) -> list[tuple[int, int]]:
    import re

    return [m.span() for m in re.finditer(r"[a-z]{5,}", text)][:limit]


def _approvals(n_timed: int) -> dict:
    """Approval latency on one long document with 100, 1,000 and 10,000 pending proposals."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from edition.imports import create_document
    from edition.models import Edition
    from review.actions.approve import do_approve
    from review.models import Proposal

    approve: dict[str, dict] = {}
    queries: dict[str, int] = {}
    for size in SIZES:
        edition = Edition.objects.create(slug=f"bench-{size}", title="Bench", tei_header="<x/>",
                                         tei_skeleton="<x/>")
        editor, reviewer = _people(edition)
        # Unique words, so every proposal's quote is unambiguous; enough of them for `size`.
        words_per_p, paragraphs = 60, max(size // 50, 4)
        body = "".join(
            "<p>" + " ".join(f"word{_letters(p * words_per_p + w)}" for w in range(words_per_p))
            + ".</p>" for p in range(paragraphs))
        tei = (f'<div xmlns="http://www.tei-c.org/ns/1.0" type="document" xml:id="d1" n="1">'
               f"<head>1. Bench</head>{body}</div>")
        document = create_document(edition, "d1", tei, {"number": 1, "title": "Bench"},
                                   order=1, by=None, summary="bench")
        spans = _words(document.current_revision.text, size + n_timed)
        assert len(spans) >= size + n_timed, (size, len(spans))
        proposals = _pending(document, editor, spans[: size + n_timed])
        _analyze()
        # Time approvals spread through the document (the rest stay pending around them).
        step = max((size + n_timed) // n_timed, 1)
        timed = proposals[::step][:n_timed]
        times = []
        for i, proposal in enumerate(timed):
            proposal = Proposal.objects.get(pk=proposal.pk)
            started = time.perf_counter()
            if i == 0:
                with CaptureQueriesContext(connection) as captured:
                    do_approve(proposal, by=reviewer)
                queries[str(size)] = len(captured)
            else:
                do_approve(proposal, by=reviewer)
            times.append((time.perf_counter() - started) * 1000)
        approve[str(size)] = summary(times)
        assert Proposal.objects.filter(document=document, status="conflicted").count() == 0
    return {"approve": approve, "approve_queries": queries}


def _letters(n: int) -> str:
    out = ""
    for _ in range(4):
        out = chr(ord("a") + n % 26) + out
        n //= 26
    return out


def _queue(volume: Path, n_requests: int) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from edition.imports import import_tei

    edition = import_tei(volume).edition
    editor, reviewer = _people(edition)
    for document in edition.documents.select_related("current_revision"):
        _pending(document, editor, _words(document.current_revision.text, 25))
    _analyze()
    client = Client()
    client.force_login(reviewer)
    for _ in range(5):
        assert client.get("/review/queue/").status_code == 200
    times = []
    for _ in range(n_requests):
        started = time.perf_counter()
        response = client.get("/review/queue/")
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as captured:
        client.get("/review/queue/")
    from review.models import Proposal

    return {"queue": summary(times), "queue_queries": len(captured),
            "queue_pending": Proposal.objects.pending().count()}


if __name__ == "__main__":
    sys.exit(main())
