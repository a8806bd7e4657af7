"""Approval, import and export against their floors, each ratio measured in one run; and the
peak RSS of the process building the volume PDF.

    .venv/bin/python -m bench.floors [--parts approval,import,export,pdf] [--docs 400]
                                     [--pending 1000] [--approvals 15] [--repeat 3]
                                     [--cache redis://127.0.0.1:6379/15] [--db-suffix _x]
                                     [--before PATH [--pairs N]] [--json PATH]

PostgreSQL only (`--pg-url`, or BENCH_PG_URL): the floors are PostgreSQL's. Each part runs in a
process of its own on a throwaway database and alternates the real path and its floor, so both
see the same machine load:

- approval: `do_approve` of a one-word correction on a document with `--pending` other open
  proposals, against one psycopg transaction on a twin document (same size, same pending
  proposals) making the same writes — the row locks, both events, the revision row with the
  new TEI and text layer the real approval made, the document's pointer, the proposal's status,
  one UPDATE shifting the changes after the correction, the search entries, the export request
  — plus parsing the new TEI and one RelaxNG validation of it (the grammar the gate uses);
- import: `import_tei` of the synthetic volume into an empty database and an empty cache (a
  new volume's fragments are nowhere yet; a volume's rendering check is the worker's, after
  the import's commit, so not timed here), against parsing the same
  file with lxml, serialising every unit's `div`, and COPYing the rows the import wrote
  (documents, revisions, search entries) into tables made LIKE them (indexes included);
- export: a full build of the "text" group (TEI, HTML, plain text, JSON; every file written
  again) after the import and the worker's rendering check (`gate.check_rendering`, run here),
  from the pieces they stored, and a cold one (the renderer's
  version bumped: every piece rendered), each against parsing every current revision's TEI and
  serialising it, once per format;
- pdf: a full build of the "print" group in a process of its own, its peak RSS (VmHWM).

`--before PATH` measures another checkout's code (its `edition`, its migrations) with this
script's workers, alternating with this checkout part by part, `--pairs` times: before and
after side by side on the same machine load.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The checkout whose code a worker measures (`--before`): this one unless told.
CODE = Path(os.environ.get("BENCH_CODE", ROOT))
sys.path.insert(0, str(ROOT))
if CODE != ROOT:
    sys.path.insert(0, str(CODE))

from bench.harness import (  # noqa: E402
    pg_admin,
    DEFAULT_PG, django_environ, load, machine, pg_url, pg_version, print_machine,
    print_table, summary, write_json,
)
from bench.synth import synthetic_volume  # noqa: E402

MARKER = "BENCH-RESULT "
PARTS = ("approval", "import", "export", "pdf")
GOALS = {"approval": 5, "import": 3, "export": 5}
PDF_GOAL_MB = 500


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", default=",".join(PARTS))
    parser.add_argument("--docs", type=int, default=400)
    parser.add_argument("--pending", type=int, default=1000)
    parser.add_argument("--approvals", type=int, default=15)
    parser.add_argument("--repeat", type=int, default=3, help="imports and builds (3)")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG))
    parser.add_argument("--cache", default="locmem://", help="CACHE_URL of the workers")
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--db-suffix", default="",
                        help="appended to the throwaway databases' names (runs side by side)")
    parser.add_argument("--before", type=Path, metavar="PATH",
                        help="another checkout, measured alternately with this one")
    parser.add_argument("--pairs", type=int, default=1,
                        help="with --before: how many times each side runs each part (1)")
    parser.add_argument("--worker", choices=PARTS, help=argparse.SUPPRESS)
    parser.add_argument("--volume", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(MARKER + json.dumps(WORKERS[args.worker](args)), flush=True)
        return 0

    pg = pg_version(args.pg_url)
    if pg is None:
        parser.error(f"PostgreSQL is not reachable at {args.pg_url}")
    info = machine(pg)
    print_machine(info)
    sides = ([("before", args.before.resolve()), ("after", ROOT)] * args.pairs
             if args.before else [("", ROOT)])
    runs: dict[str, list[dict]] = {}  # "side part" → the worker's results, one per pair
    with tempfile.TemporaryDirectory(prefix="emend-bench-floors-") as tmp:
        tmp = Path(tmp)
        volume = tmp / "frus-synthetic.xml"
        volume.write_bytes(synthetic_volume(args.docs))
        for part in [p for p in args.parts.split(",") if p]:
            for side, code in sides:
                # The suffix last, with `--before` too: a session's databases end with it.
                dbname = f"emend_bench_floors_{part}{'_' + side if side else ''}{args.db_suffix}"
                runs.setdefault(f"{side} {part}".strip(), []).append(
                    _run_part(args, part, code, dbname, tmp, volume, side))

    results = {name: _merge(each) for name, each in runs.items()}
    print()
    rows = []
    for part, r in results.items():
        if part.split()[-1] == "pdf":
            rows.append(["pdf build, peak RSS (MB)", "", "", f"{r['peak_rss_mb']:.0f}",
                         f"< {PDF_GOAL_MB}", f"{r['seconds']:.1f} s, {r['pdf_mb']:.1f} MB PDF"])
            continue
        part = part.split()[-1]
        unit = "ms" if part == "approval" else "s"
        labels = {"export": "export, pieces stored", "export_cold": "export, cold"}
        for name, each in ([(part, r)] if part != "export"
                           else [("export", r), ("export_cold", r["cold"])]):
            real, floor, ratio = each["real"], each["floor"], each["ratio"]
            side = r.get("side", "")
            rows.append([f"{side + ': ' if side else ''}{labels.get(name, part)} ({unit})",
                         f"{real['median']:.3g} ({real['min']:.3g}–{real['max']:.3g})",
                         f"{floor['median']:.3g} ({floor['min']:.3g}–{floor['max']:.3g})",
                         f"{ratio['median']:.2f} ({ratio['min']:.2f}–{ratio['max']:.2f})",
                         f"≤ {GOALS[part]}",
                         "met" if ratio["median"] <= GOALS[part] else "MISSED"])
    print("median (min–max); ratio: each run ÷ the floor measured beside it")
    print_table(["figure", "real", "floor", "ratio", "goal", ""], rows, "lrrrll")
    cpu = []
    for name, r in results.items():
        for label, each in [(name, r), (f"{name}, cold", r.get("cold", {}))]:
            if "cpu_ratio" in each:
                c = each["cpu_ratio"]
                cpu.append([label, f"{c['median']:.2f} ({c['min']:.2f}–{c['max']:.2f})"])
    if cpu:
        print("\nthe same in this process's CPU time (user + system; not the database's)")
        print_table(["figure", "CPU ratio"], cpu, "lr")
    print(f"load average: {info['load']} at the start, {load()} at the end")
    write_json(args.json, {"benchmark": "floors", "machine": info, "results": results})
    return 0


def _run_part(args, part: str, code: Path, dbname: str, tmp: Path, volume: Path,
              side: str) -> dict:
    """One part in a worker process of its own on a throwaway database, with `code`'s
    `edition` and migrations (this script's worker)."""
    pg_admin(args.pg_url, f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)',
             f'CREATE DATABASE "{dbname}"')
    env = django_environ(tmp / "var", DATABASE_URL=pg_url(args.pg_url, dbname),
                         CACHE_URL=args.cache, EXPORT_ROOT=str(tmp / "out" / part / side))
    env.update(BENCH_CODE=str(code), PYTHONPATH=os.pathsep.join(
        filter(None, [str(code), str(ROOT), os.environ.get("PYTHONPATH")])))
    (tmp / "var" / "static").mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
                       cwd=code, env=env, check=True)
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--worker", part, "--volume",
             str(volume), "--pending", str(args.pending), "--approvals",
             str(args.approvals), "--repeat", str(args.repeat)],
            cwd=code, env=env, check=True, stdout=subprocess.PIPE, text=True)
        line = next(x for x in done.stdout.splitlines() if x.startswith(MARKER))
        result = json.loads(line.removeprefix(MARKER))
        print(f"  {side + ' ' if side else ''}{part}: done in "
              f"{time.perf_counter() - started:.0f} s (load {load()})", flush=True)
        if side:
            result["side"] = side
        return result
    finally:
        pg_admin(args.pg_url, f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def _merge(runs: list[dict]) -> dict:
    """One side's results of a part over its pairs: every run's figures pooled."""
    if len(runs) == 1:
        return runs[0]
    merged = {**runs[0], "pairs": runs}
    if "raw" in runs[0]:
        merged.update(_from_raw([r["raw"] for r in runs]))
        if "cold" in runs[0]:
            merged["cold"] = _from_raw([r["cold"]["raw"] for r in runs])
    return merged


def _from_raw(raws: list[dict]) -> dict:
    pooled = {key: [v for raw in raws for v in raw[key]] for key in raws[0]}
    return _ratios(pooled["real"], pooled["floor"], pooled.get("real_cpu"),
                   pooled.get("floor_cpu"))


def _ratios(real: list[float], floor: list[float], real_cpu: list[float] | None = None,
            floor_cpu: list[float] | None = None) -> dict:
    result = {"real": summary(real), "floor": summary(floor),
              "ratio": summary([r / f for r, f in zip(real, floor)]),
              "ratio_of_medians": statistics.median(real) / statistics.median(floor),
              "raw": {"real": real, "floor": floor}}
    if real_cpu and floor_cpu:
        result["cpu_ratio"] = summary([r / f for r, f in zip(real_cpu, floor_cpu)])
        result["raw"].update(real_cpu=real_cpu, floor_cpu=floor_cpu)
    return result


# ------------------------------------------------------------------------------------------
# Approval


def approval(args) -> dict:
    import django

    django.setup()
    from django.db import connection

    from bench.review import _analyze, _pending, _people, _words
    from edition.models import Edition
    from review.actions.approve import do_approve
    from review.models import Proposal

    edition = Edition.objects.create(slug="bench", title="Bench", tei_header="<x/>",
                                     tei_skeleton="<x/>")
    editor, reviewer = _people(edition)
    n = args.pending + args.approvals
    real_doc, twin_doc = (_long_document(edition, xml_id, n) for xml_id in ("d1", "d2"))
    spans = _words(real_doc.current_revision.text, n)
    assert len(spans) == n, (len(spans), n)
    real_props = _pending(real_doc, editor, spans)
    twin_props = _pending(twin_doc, editor, spans)
    _analyze()
    step = n // args.approvals
    chosen = list(range(0, n, step))[: args.approvals]
    _warm(do_approve, real_doc, editor, reviewer)
    connection.ensure_connection()
    raw = connection.connection  # the psycopg connection Django holds, used directly
    real, floor = [], []
    for i in chosen:
        proposal = Proposal.objects.get(pk=real_props[i].pk)
        started = time.perf_counter()
        revision = do_approve(proposal, by=reviewer)
        real.append((time.perf_counter() - started) * 1000)
        assert revision is not None
        started = time.perf_counter()
        _floor_approval(raw, twin_doc, twin_props[i], revision, reviewer)
        floor.append((time.perf_counter() - started) * 1000)
    assert not Proposal.objects.filter(status="conflicted").exists()
    return {"pending": args.pending, **_ratios(real, floor)}


def _long_document(edition, xml_id: str, n: int):
    from bench.review import _letters
    from edition.imports import create_document

    words_per_p, paragraphs = 60, max(n // 50, 4)
    body = "".join(
        "<p>" + " ".join(f"word{_letters(p * words_per_p + w)}" for w in range(words_per_p))
        + ".</p>" for p in range(paragraphs))
    tei = (f'<div xmlns="http://www.tei-c.org/ns/1.0" type="document" xml:id="{xml_id}" '
           f'n="{xml_id[1:]}"><head>{xml_id[1:]}. Bench</head>{body}</div>')
    return create_document(edition, xml_id, tei, {"number": int(xml_id[1:]), "title": "Bench"},
                           order=int(xml_id[1:]), by=None, summary="bench")


def _warm(do_approve, document, editor, reviewer) -> None:
    """One approval on a third document first: the grammar compiled, the code paths warm, as a
    web process has them."""
    from bench.review import _pending, _words

    warm = _long_document(document.edition, "d3", 10)
    (proposal,) = _pending(warm, editor, _words(warm.current_revision.text, 1))
    do_approve(proposal, by=reviewer)


def _floor_approval(raw, document, proposal, revision, reviewer) -> None:
    """The writes of the approval that made `revision`, on the twin `document`, in one psycopg
    transaction; and the new TEI parsed and validated against the gate's RelaxNG grammar."""
    from edition.gate import tei_schema
    from edition.models import Document, ExportRequest, Revision, SearchEntry
    from edition.tei.parsing import parse_document_div
    from review.models import Change, Event, Proposal

    tei_schema().problem(parse_document_div(revision.tei))
    step = revision.record.steps[0]
    entries = list(SearchEntry.objects.filter(document=revision.document_id)
                   .values_list("note_id", "text"))
    t = {m: m._meta.db_table for m in (Document, Revision, Proposal, Change, Event,
                                       ExportRequest, SearchEntry)}
    with raw.transaction(), raw.cursor() as cur:
        cur.execute(f"SELECT id FROM {t[Document]} WHERE id = %s FOR UPDATE", [document.pk])
        cur.execute(f"SELECT id FROM {t[Proposal]} WHERE id = %s FOR UPDATE", [proposal.pk])
        event = (f"INSERT INTO {t[Event]} (proposal_id, actor_id, kind, body, created_at) "
                 "VALUES (%s, %s, %s, %s, now())")
        cur.execute(event, [proposal.pk, reviewer.pk, "approved", ""])
        cur.execute(f"SELECT id, number FROM {t[Revision]} WHERE id = "
                    f"(SELECT current_revision_id FROM {t[Document]} WHERE id = %s)",
                    [document.pk])
        parent, number = cur.fetchone()
        cur.execute(
            f"INSERT INTO {t[Revision]} (document_id, number, parent_id, tei, text, checksum, "
            "author_id, created_at, summary, change) VALUES (%s, %s, %s, %s, %s, %s, %s, now(), "
            "%s, %s) RETURNING id",
            [document.pk, number + 1, parent, revision.tei, revision.text, revision.checksum,
             revision.author_id, revision.summary, json.dumps(revision.change)])
        (new,) = cur.fetchone()
        cur.execute(f"UPDATE {t[Document]} SET current_revision_id = %s WHERE id = %s",
                    [new, document.pk])
        cur.execute(f"UPDATE {t[Proposal]} SET status = 'approved', applied_revision_id = %s, "
                    "decided_at = now(), updated_at = now() WHERE id = %s", [new, proposal.pk])
        cur.execute(event, [proposal.pk, None, "applied", f"Revision {number + 1}"])
        cur.execute(f'UPDATE {t[Change]} SET start = start + %s, "end" = "end" + %s '
                    f"WHERE start > %s AND proposal_id IN (SELECT id FROM {t[Proposal]} "
                    "WHERE document_id = %s AND status = 'pending')",
                    [step.delta, step.delta, step.end, document.pk])
        cur.execute(f"DELETE FROM {t[SearchEntry]} WHERE document_id = %s", [document.pk])
        cur.executemany(f"INSERT INTO {t[SearchEntry]} (document_id, note_id, text) "
                        "VALUES (%s, %s, %s)", [(document.pk, n, x) for n, x in entries])
        cur.execute(f'INSERT INTO {t[ExportRequest]} (edition_id, "group", reason, "full", '
                    "created_at) VALUES (%s, 'text', %s, false, now())",
                    [document.edition_id, "bench"])


# ------------------------------------------------------------------------------------------
# Import


def import_(args) -> dict:
    import django

    django.setup()
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection

    from edition.models import Document, Edition, Revision, SearchEntry

    # The model's columns: the generated tsvector of the search entries is the database's work.
    tables = {m._meta.db_table: [f.column for f in m._meta.concrete_fields]
              for m in (Document, Revision, SearchEntry)}
    real, floor = [], []
    for _ in range(args.repeat):
        # The gate keeps what it renders in the export cache: a run after the first would find
        # every unit's pieces there (same TEI, same keys), which a new volume never does.
        cache.clear()
        started = time.perf_counter()
        call_command("import_tei", str(args.volume), no_progress=True, stdout=io.StringIO())
        real.append(time.perf_counter() - started)
        floor.append(_floor_import(connection, args.volume, tables))
        # The next run imports into an empty database again.
        with connection.cursor() as cur:
            cur.execute("TRUNCATE " + ", ".join(
                t for t in connection.introspection.django_table_names(only_existing=True)
                if not t.startswith(("auth_", "django_", "edition_instance"))) + " CASCADE")
        assert not Edition.objects.exists()
    return _ratios(real, floor)


def _floor_import(connection, volume: Path, tables: dict[str, list[str]]) -> float:
    """Parse the file, serialise every unit, and COPY the rows the import wrote into tables
    LIKE them. Reading the rows back is not timed: they stand for what the floor would have
    computed for free."""
    from lxml import etree

    quote = connection.ops.quote_name
    rows = {}
    with connection.cursor() as cur:
        for table, columns in tables.items():
            cur.execute(f"SELECT {', '.join(map(quote, columns))} FROM {table}")
            rows[table] = cur.fetchall()
    for table in tables:
        rows[table] = [tuple(json.dumps(v) if isinstance(v, (dict, list)) else v for v in r)
                       for r in rows[table]]
    started = time.perf_counter()
    tree = etree.parse(str(volume))
    for div in tree.iter("{http://www.tei-c.org/ns/1.0}div"):
        if div.get("{http://www.w3.org/XML/1998/namespace}id"):
            etree.tostring(div, encoding="unicode")
    raw = connection.connection
    with raw.transaction(), raw.cursor() as cur:
        for table, columns in tables.items():
            cur.execute(f"CREATE TEMP TABLE floor_{table} (LIKE {table} INCLUDING ALL) "
                        "ON COMMIT DROP")
            with cur.copy(f"COPY floor_{table} ({', '.join(map(quote, columns))}) "
                          "FROM STDIN") as copy:
                for row in rows[table]:
                    copy.write_row(row)
    return time.perf_counter() - started


# ------------------------------------------------------------------------------------------
# Export


def export(args) -> dict:
    """Each round: a full build after the import (the gate stored every piece: the build
    assembles them), the floor, and a cold build (the renderer's version bumped, as a release
    changing the output does: every piece rendered and stored again), each build writing
    every file (`full`: nothing of the previous build reused)."""
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import transaction
    from lxml import etree

    from edition.exporting import builds, sources
    from edition.models import Edition, Revision
    from edition.tei.parsing import parse_document_div

    try:
        from edition.gate import check_rendering
    except ImportError:  # a checkout (--before) whose import's gate rendered every unit itself
        check_rendering = None

    call_command("import_tei", str(args.volume), no_progress=True, stdout=io.StringIO())
    edition = Edition.objects.get()
    # What the worker does after a volume's import (the in-memory broker runs nothing): the
    # gate's rendering, every piece kept for the build.
    if check_rendering is not None:
        check_rendering(list(Revision.objects.filter(current_of__edition=edition)
                             .values_list("pk", flat=True)))
    formats = ["tei", "html", "txt", "json"]
    settings.EMEND_EXPORT_FORMATS = formats
    version = sources.RENDER_VERSION

    # Wall time (the figure), and this process's CPU time beside it: on a shared machine the
    # CPU time moves less with the load (the database's work is not in it).
    cpu: dict[str, list[float]] = {"stored": [], "floor": [], "cold": []}

    def build(kind: str) -> float:
        with transaction.atomic():
            builds.request_export(edition, "bench", full=True)
        started, cpu_started = time.perf_counter(), time.process_time()
        builds.run(edition.pk)
        cpu[kind].append(time.process_time() - cpu_started)
        return time.perf_counter() - started

    stored, floor, cold = [], [], []
    for i in range(args.repeat):
        stored.append(build("stored"))
        started, cpu_started = time.perf_counter(), time.process_time()
        teis = list(Revision.objects.filter(current_of__edition=edition)
                    .values_list("tei", flat=True))
        for _fmt in formats:
            for tei in teis:
                etree.tostring(parse_document_div(tei), encoding="unicode")
        floor.append(time.perf_counter() - started)
        cpu["floor"].append(time.process_time() - cpu_started)
        sources.RENDER_VERSION = f"{version}.bench{i}"  # no stored piece has this key
        cold.append(build("cold"))
    return {**_ratios(stored, floor, cpu["stored"], cpu["floor"]),
            "cold": _ratios(cold, floor, cpu["cold"], cpu["floor"])}


# ------------------------------------------------------------------------------------------
# PDF


PDF = r"""
import io, json, sys, time
import django
django.setup()
from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from bench.harness import process_usage
from edition.exporting import builds
from edition.models import Edition, ExportFile

call_command("import_tei", sys.argv[1], no_progress=True, stdout=io.StringIO())
edition = Edition.objects.get()
settings.EMEND_EXPORT_FORMATS = ["pdf"]
with transaction.atomic():
    builds.request_export(edition, "bench", full=True)
before, _ = process_usage()
t0 = time.perf_counter()
builds.run(edition.pk, "print")
seconds = time.perf_counter() - t0
peak, _ = process_usage()
pdf = ExportFile.objects.filter(format="pdf", document=None).latest("pk")
print(json.dumps({"seconds": seconds, "peak_rss_mb": peak / 1024,
                  "before_build_mb": before / 1024, "pdf_mb": pdf.size / 1e6}))
"""


def pdf(args) -> dict:
    done = subprocess.run([sys.executable, "-c", PDF, str(args.volume)], cwd=CODE,
                          check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


WORKERS = {"approval": approval, "import": import_, "export": export, "pdf": pdf}



if __name__ == "__main__":
    sys.exit(main())
