"""Readers on the production shape: each public page against the same bytes as a static file.

    .venv/bin/python bench/readers.py [--code PATH] [--docs 400] [--rounds 3] [--json PATH]

Starts gunicorn (`-w 2`, the project's WSGI app, WhiteNoise for static files) on PostgreSQL and a
Redis cache, imports a synthetic volume (`bench/synth.py`), approves some corrections so the logs
have entries, and with `wrk -t2 -c16` measures, interleaved (page, static, page, static… for
`--rounds` rounds), each page against a static file of the same bytes served by the same
gunicorn: requests per second and p99. Then readers over every document of the volume, idle and
while 50 approvals run, and the approvals' latency idle and under that read load.

`--code PATH` runs another checkout's code (its manage.py, settings and apps) with this script;
`--before PATH` serves a second checkout beside it (its own database, the next port) and
measures both in the same rounds, page by page: before and after side by side in one run. The machine is shared: only ratios taken
side by side in one run mean anything; absolute figures move with the load average printed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(sys.executable).parent
MARKER = "BENCH-RESULT "
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/postgres"
DB_NAME = "emend_bench_readers"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--code", type=Path, default=ROOT, help="checkout whose code is served")
    parser.add_argument("--before", type=Path, metavar="PATH",
                        help="a second checkout served beside --code (its own database, port "
                             "+1), measured in the same rounds: before and after side by side")
    parser.add_argument("--docs", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per page")
    parser.add_argument("--seconds", type=float, default=4, help="wrk duration per measurement")
    parser.add_argument("--approval-rounds", type=int, default=3)
    parser.add_argument("--approvals", type=int, default=50)
    parser.add_argument("--approval-interval", type=float, default=0.2,
                        help="seconds between the starts of two approvals")
    parser.add_argument("--port", type=int, default=8774)
    parser.add_argument("--db", default=DB_NAME, help="database name (dropped and re-created)")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG))
    parser.add_argument("--cache", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/14",
                        help="Redis database of the Celery worker run during the approvals "
                             "(flushed); 'none': no worker, as before")
    parser.add_argument("--worker-nice", type=int, default=None,
                        help="run the Celery worker under `nice -n N` (EMEND_WORKER_NICE=0 "
                             "beside it, so code with that setting is niced by N alone); "
                             "default: as the code starts it (EMEND_WORKER_NICE's default)")
    parser.add_argument("--before-worker-nice", type=int, default=None,
                        help="the --before site's worker under `nice -n N` (default: as "
                             "--worker-nice): two niceness side by side in one run")
    parser.add_argument("--worker-concurrency", type=int, default=None,
                        help="the Celery worker's pool size (default: Celery's, one process "
                             "per CPU)")
    parser.add_argument("--before-worker-concurrency", type=int, default=None,
                        help="the --before site's (default: as --worker-concurrency)")
    parser.add_argument("--gunicorn-class", default="sync",
                        help="gunicorn worker class (sync, gthread)")
    parser.add_argument("--gunicorn-threads", type=int, default=1)
    parser.add_argument("--before-gunicorn-class", help="the --before site's (default: the "
                        "same): e.g. the same checkout served two ways, side by side")
    parser.add_argument("--before-gunicorn-threads", type=int)
    parser.add_argument("--pages", metavar="NAMES",
                        help="measure only these rows against their static twins, comma-"
                             f"separated among {', '.join(PAGE_ROWS)} (a signed-in row keeps "
                             "the anonymous page, its divisor); default: all")
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--worker", choices=["setup", "approve"], help=argparse.SUPPRESS)
    parser.add_argument("--arg", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        sys.path.insert(0, str(args.code.resolve()))  # that checkout's apps, not this one's
        import django

        django.setup()
        result = setup(args) if args.worker == "setup" else approve(args)
        print(MARKER + json.dumps(result), flush=True)
        return 0
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed (Debian: apt-get install wrk)")
    return run(args)


# ------------------------------------------------------------------------------------------
# The driver


# The gunicorn worker class and threads of each site (--gunicorn-class, --before-gunicorn-class).
GUNICORN: dict[str, tuple[str, int]] = {}


def run(args) -> int:
    GUNICORN["after"] = (args.gunicorn_class, args.gunicorn_threads)
    # A class of its own takes threads of its own (gunicorn's sync class with threads > 1 is
    # gthread).
    GUNICORN["before"] = (
        (args.before_gunicorn_class, args.before_gunicorn_threads or 1)
        if args.before_gunicorn_class else
        (args.gunicorn_class, args.before_gunicorn_threads or args.gunicorn_threads))
    sys.path.insert(0, str(ROOT))
    from bench.harness import load, machine, pg_version, print_machine

    pg = pg_version(args.pg_url)
    if pg is None:
        sys.exit(f"PostgreSQL is not reachable at {args.pg_url}")
    info = machine(pg)
    # (name, checkout, port, database): "before" first, so the rounds alternate the two.
    sites = [("after", args.code.resolve(), args.port, args.db)]
    if args.before:
        sites.insert(0, ("before", args.before.resolve(), args.port + 1, f"{args.db}_before"))
    info["code"] = {name: f"{code} ({_git(code, 'rev-parse', '--short', 'HEAD')})"
                    for name, code, _, _ in sites}
    print_machine(info)
    shapes = {name: GUNICORN[name] for name, *_ in sites}
    print(f"code: {info['code']}; gunicorn -w 2, (class, threads): {shapes}; broker "
          f"{args.broker}; wrk -t2 -c16, {args.seconds:g} s a run; cache {args.cache}")
    tmp = Path(tempfile.mkdtemp(prefix="emend-readers-"))
    servers: list[subprocess.Popen] = []
    try:
        _flush_redis(args.cache)  # the sites share it: every key names its database
        ready = {}
        for name, code, port, db in sites:
            ready[name] = _site(args, name, code, port, db, tmp / name, servers)
        rows = ready[sites[-1][0]]["rows"]
        # Every page of every site, then its static twin, for each round: side by side.
        results: dict[str, dict[str, list]] = {
            name: {label: [] for label, *_ in rows} for name, *_ in sites}
        for round_ in range(args.rounds):
            for label, *_ in rows:
                for name, *_ in sites:
                    site = ready[name]
                    _, path, headers, static, static_headers = next(
                        r for r in site["rows"] if r[0] == label)
                    page = _wrk(site["base"] + path, args.seconds, headers)
                    flat = _wrk(f"{site['base']}/static/bench/{static}", args.seconds,
                                static_headers)
                    results[name][label].append({"page": page, "static": flat})
            print(f"round {round_ + 1}/{args.rounds} done, load average {load()}", flush=True)

        if args.json:  # the runs first: whatever the tables below make of them
            Path(args.json).write_text(json.dumps({"machine": info, "pages": results}))
        print()
        if not args.rounds:  # --rounds 0: the readers during approvals only
            print("(--rounds 0: no page measured against its static twin)")
        else:
            _print_pages(args, info, sites, results, rows)
        print("bytes: " + ", ".join(f"{k} {v:,}" for k, v in ready[sites[-1][0]]["sizes"].items()))
        during, idle_approvals = {}, {}
        if args.approval_rounds:
            during, idle_approvals = _readers_during_approvals(
                args, [(name, ready[name]) for name, *_ in sites], tmp)
        print(f"load average: {info['load']} at the start, {load()} at the end")
        if args.json:
            Path(args.json).write_text(json.dumps({
                "benchmark": "readers", "machine": info, "pages": results,
                "sizes": {name: ready[name]["sizes"] for name in ready},
                "readers": during, "approvals_idle": idle_approvals}, indent=2))
        return 0
    finally:
        for server in servers:
            _stop(server)
        shutil.rmtree(tmp, ignore_errors=True)
        for _, _, _, db in sites:
            _drop_database(args.pg_url, db)
        _flush_redis(args.cache)


def _print_pages(args, info, sites, results, rows) -> None:
    print(f"Each page against the same bytes served as a static file by the same gunicorn "
          f"(WhiteNoise), interleaved; ratio = page req/s ÷ static req/s, median "
          f"(min–max) of {args.rounds} rounds")
    for name, *_ in sites:
        print(f"\n{name}: {info['code'][name]}")
        _print_table(["page", "req/s", "p99 ms", "static req/s", "ratio"],
                     _page_table(results[name], rows))
    if len(sites) > 1:
        print("\nratios side by side (median (min–max))")
        before, after = (_page_table(results[name], rows) for name, *_ in sites)
        _print_table(["page", "before", "after"],
                     [[b[0], b[-1], a[-1]] for b, a in zip(before, after)])


SIGNED_IN = ("signed-in reader (no role)", "signed-in editor")
# --pages: each row's short name, in the order of the rows (`_site`).
PAGE_ROWS = ("doc", "304", "contents", "edition-log", "document-log", "history", "diff",
             "exports", "api", "reader", "editor")


def _selected(args, rows: list) -> list:
    """The rows --pages names (all without it); a signed-in row brings the anonymous page's."""
    if not args.pages:
        return rows
    names = {n.strip() for n in args.pages.split(",") if n.strip()}
    unknown = names - set(PAGE_ROWS)
    if unknown:
        sys.exit(f"--pages: unknown {', '.join(sorted(unknown))} (known: {', '.join(PAGE_ROWS)})")
    if names & {"reader", "editor"}:
        names.add("doc")
    return [row for name, row in zip(PAGE_ROWS, rows) if name in names]


def _page_table(results: dict[str, list], rows) -> list[list[str]]:
    table = []
    for label, runs in results.items():
        # A static run that answered nothing (the slow page before it still held both
        # workers) measures nothing: left out rather than divided by.
        runs = [r for r in runs if r["static"]["rps"]] or runs[:1]
        ratios = [r["page"]["rps"] / (r["static"]["rps"] or float("nan")) for r in runs]
        table.append([label, _spread([r["page"]["rps"] for r in runs], "{:.0f}"),
                      _spread([r["page"]["p99"] for r in runs], "{:.1f}"),
                      _spread([r["static"]["rps"] for r in runs], "{:.0f}"),
                      _spread(ratios, "{:.3f}")])
    anon = [r["page"]["rps"] for r in results[rows[0][0]]]
    for label in (label for label in SIGNED_IN if label in results):
        ratios = [r["page"]["rps"] / a for r, a in zip(results[label], anon)]
        table.append([f"{label} ÷ anonymous", "", "", "", _spread(ratios, "{:.3f}")])
    return table


def _site(args, name: str, code: Path, port: int, db: str, tmp: Path,
          servers: list) -> dict:
    """One checkout set up and served: its database, volume, people and sessions, the pages'
    static twins; gunicorn left running (appended to `servers`)."""
    from bench.synth import synthetic_volume

    tmp.mkdir(parents=True)
    env = _env(args, code, tmp, db)
    _recreate_database(args.pg_url, db)
    volume = tmp / "volume.xml"
    volume.write_bytes(synthetic_volume(args.docs))
    t0 = time.perf_counter()
    _manage(code, env, "migrate", "--no-input", "-v0")
    _manage(code, env, "collectstatic", "--no-input", "-v0")
    _manage(code, env, "import_tei", str(volume), "--no-progress")
    pending = args.approvals * (args.approval_rounds + 1)
    state = _worker(args, code, env, "setup", json.dumps({"pending": pending}))
    print(f"{name}: set up in {time.perf_counter() - t0:.0f} s: {args.docs} documents, "
          f"{state['approved']} approved corrections, {pending} pending proposals")
    slug = state["slug"]
    base = f"http://127.0.0.1:{port}"

    # First start: read each page's bytes; the static copies must exist before WhiteNoise
    # starts (it lists its files once).
    server = _gunicorn(code, env, port, name)
    middle = f"d{args.docs // 2}"
    pages = {
        "doc": f"/{slug}/{middle}/",
        "contents": f"/{slug}/",
        "edition-log": f"/{slug}/corrections/",
        "document-log": f"/{slug}/d1/corrections/",
        "history": f"/{slug}/d1/history/",
        "diff": f"/{slug}/d1/diff/1/2/",
        "exports": f"/{slug}/exports/",
        "api": f"/api/editions/{slug}/documents/{middle}/",
    }
    static_dir = Path(env["STATIC_ROOT"]) / "bench"
    static_dir.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for page, path in pages.items():
        body, _ = _fetch(base + path)
        (static_dir / _static_name(page)).write_bytes(body)
        sizes[page] = len(body)
    _stop(server)
    server = _gunicorn(code, env, port, name)
    servers.append(server)
    _, headers = _fetch(base + pages["doc"])
    page_etag = headers["ETag"]
    _, headers = _fetch(base + "/static/bench/doc.html")
    static_etag = headers["ETag"]
    # Each signed-in reader sends what a browser holds after its first page: the session
    # cookie and the CSRF cookie that page set (without it, every page makes a new secret
    # and sets it).
    signed = {}
    for who in ("reader", "editor"):
        session = f"sessionid={state['sessions'][who]}"
        signed_in, headers = _fetch(base + pages["doc"], {"Cookie": session})
        assert b"Sign out" in signed_in or b"Signed in" in signed_in, "the session did not work"
        csrf = re.search(r"csrftoken=([A-Za-z0-9]+)", headers.get("Set-Cookie", ""))
        signed[who] = {"Cookie": f"{session}; csrftoken={csrf[1]}" if csrf else session}
    reader, editor = signed["reader"], signed["editor"]

    # (label, page path, its headers, static name, static headers)
    rows = [
        ("document page, cached, anonymous", pages["doc"], {}, "doc.html", {}),
        ("304 revalidation (static: its 304)", pages["doc"], {"If-None-Match": page_etag},
         "doc.html", {"If-None-Match": static_etag}),
        (f"contents, {args.docs} documents", pages["contents"], {}, "contents.html", {}),
        ("edition corrections log", pages["edition-log"], {}, "edition-log.html", {}),
        ("document corrections log", pages["document-log"], {}, "document-log.html", {}),
        ("history page (11 revisions)", pages["history"], {}, "history.html", {}),
        ("diff page", pages["diff"], {}, "diff.html", {}),
        (f"exports page ({args.docs} documents)", pages["exports"], {}, "exports.html", {}),
        ("API document JSON, anonymous", pages["api"], {}, "api.json", {}),
        (SIGNED_IN[0], pages["doc"], reader, "doc.html", {}),
        (SIGNED_IN[1], pages["doc"], editor, "doc.html", {}),
    ]
    rows = _selected(args, rows)
    for _, path, headers, _, _ in rows:  # warm: the cached pages are cached
        _fetch(base + path, headers)
    return {"env": env, "code": code, "base": base, "slug": slug, "state": state,
            "rows": rows, "sizes": sizes, "server": server, "db": db}


def _static_name(page: str) -> str:
    return f"{page}.json" if page == "api" else f"{page}.html"


def _readers_during_approvals(args, sites: list[tuple[str, dict]],
                              tmp: Path) -> tuple[dict, dict]:
    """Readers over every document, idle and while approvals run, each site in turn in every
    round. With a broker, each site's own Celery worker runs throughout (the production shape:
    what an approval queues — page warming, checks, page sync — runs beside the readers and
    its CPU counts); export builds go to a queue it does not consume (bench/exports.py
    measures them)."""
    from bench.harness import load

    print()
    during: dict[str, list] = {name: [] for name, _ in sites}
    idle_approvals: dict[str, dict] = {}
    for round_ in range(args.approval_rounds):
        for name, site in sites:
            code, env, base, slug, state = (site[k] for k in
                                            ("code", "env", "base", "slug", "state"))
            env = _broker_env(args, env)
            lua = tmp / f"documents-{name}.lua"
            lua.write_text(_LUA.replace("SLUG", slug).replace("N_DOCS", str(args.docs)))
            batches = [state["pending"][i * args.approvals:(i + 1) * args.approvals]
                       for i in range(args.approval_rounds + 1)]
            worker = _celery(args, code, env, tmp / f"celery-{name}.log", _nice(args, name),
                             _concurrency(args, name))
            try:
                if round_ == 0:  # latency without readers (the worker idle beside them)
                    before_cpu, backends = _cpu(site, worker), _Backends(site["db"])
                    approver = _approver(args, code, env, batches[0])
                    idle_approvals[name] = _collect(approver)
                    _drain(args)
                    idle_approvals[name]["cpu"] = _cpu_delta(
                        before_cpu, _cpu(site, worker, backends), idle_approvals[name])
                for n in range(1, args.docs + 1):  # every page cached again, one by one
                    _fetch(f"{base}/{slug}/d{n}/")
                seconds = args.approvals * args.approval_interval + 2
                cpu0, backends = _cpu(site, worker), _Backends(site["db"])
                idle = _wrk(base + "/", seconds, {}, script=lua)
                cpu1 = _cpu(site, worker, backends)
                backends = _Backends(site["db"])
                approver = _approver(args, code, env, batches[round_ + 1])
                loaded = _wrk(base + "/", seconds, {}, script=lua)
                approvals = _collect(approver)
                _drain(args)  # what the approvals queued, done before the next idle run
                idle["cpu"] = _cpu_delta(cpu0, cpu1, None)
                cpu2 = _cpu(site, worker, backends)
                loaded["cpu"] = _cpu_delta(cpu1, cpu2, approvals)
            finally:
                if worker is not None:
                    _stop(worker)
            during[name].append({"idle": idle, "during": loaded, "approvals": approvals})
        print(f"approval round {round_ + 1}/{args.approval_rounds} done, "
              f"load average {load()}", flush=True)
    worker_note = ("no Celery worker" if args.broker == "none" else
                   "each site's Celery worker running (page warming, checks)")
    print(f"Readers over all {args.docs} documents (wrk, a Lua script cycling through "
          f"them), idle and while {args.approvals} approvals run (one started every "
          f"{args.approval_interval:g} s), {worker_note}; median (min–max) of "
          f"{args.approval_rounds} rounds")
    for name, _ in sites:
        runs = during[name]
        print(f"\n{name}")
        table = [
            ["readers idle: req/s, p99 ms",
             _spread([d["idle"]["rps"] for d in runs], "{:.0f}"),
             _spread([d["idle"]["p99"] for d in runs], "{:.1f}")],
            ["readers during approvals: req/s, p99 ms",
             _spread([d["during"]["rps"] for d in runs], "{:.0f}"),
             _spread([d["during"]["p99"] for d in runs], "{:.1f}")],
            ["during ÷ idle: throughput, p99",
             _spread([d["during"]["rps"] / d["idle"]["rps"] for d in runs], "{:.2f}"),
             _spread([d["during"]["p99"] / d["idle"]["p99"] for d in runs], "{:.2f}")],
        ]
        _print_table(["", "throughput", "p99"], table)
        idle_ms = idle_approvals[name]["latencies_ms"]
        loaded_ms = [ms for d in runs for ms in d["approvals"]["latencies_ms"]]
        _print_cpu(args, idle_approvals[name]["cpu"], runs)
        print(f"approval latency, no read load: median {statistics.median(idle_ms):.0f} ms, "
              f"p95 {_p(idle_ms, 95):.0f}, max {max(idle_ms):.0f} (n={len(idle_ms)})")
        print(f"approval latency under read load: median {statistics.median(loaded_ms):.0f} "
              f"ms, p95 {_p(loaded_ms, 95):.0f}, max {max(loaded_ms):.0f} "
              f"(n={len(loaded_ms)}); ratio of medians "
              f"{statistics.median(loaded_ms) / statistics.median(idle_ms):.2f}")
    return during, idle_approvals


# --- Where an approval's CPU goes, across processes -----------------------------------------
# CPU seconds (user + system, from /proc through psutil) of each process an approval makes
# work, read before and after a run: the site's gunicorn workers, its Celery worker (prefork:
# the children do the tasks), the PostgreSQL backends of the site's database that live through
# the run, Redis (shared with the other sites and anything else on the machine: an upper
# bound), and the approving process, which reports its own (and its backend's) at the end.

def _tree_cpu(process: subprocess.Popen | None) -> float:
    import psutil

    if process is None or process.poll() is not None:
        return 0.0
    total = 0.0
    try:
        root = psutil.Process(process.pid)
        for p in [root, *root.children(recursive=True)]:
            try:
                t = p.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
            except psutil.Error:
                pass
    except psutil.Error:
        pass
    return total


class _Backends:
    """CPU of the PostgreSQL backends serving database `db`, sampled every 20 ms by a thread:
    a backend that exits between two reads of `_cpu` (Celery closes its connection after
    every task unless told otherwise) still counts, up to its last 20 ms."""

    def __init__(self, db: str):
        import threading

        self.db, self.seen, self.base, self.stop = db, {}, {}, threading.Event()
        self._sample(first=True)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _sample(self, first: bool = False) -> None:
        # Raw /proc reads, each pid's command line once: cheap enough every 20 ms.
        known = getattr(self, "known", None)
        if known is None:
            known = self.known = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            pid = int(entry)
            if pid not in known:
                try:
                    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
                except OSError:
                    continue
                if not cmdline.startswith(b"postgres:") and b"postgres" in cmdline:
                    continue  # a backend just forked, not yet titled: look again next time
                known[pid] = (cmdline.startswith(b"postgres:")
                              and f" {self.db} ".encode() in cmdline + b" ")
            if known.get(pid):
                cpu = _proc_cpu(pid)
                if cpu or pid not in self.seen:
                    self.seen[pid] = max(cpu, self.seen.get(pid, 0.0))
                if first:
                    self.base[pid] = self.seen[pid]

    def _run(self) -> None:
        while not self.stop.wait(0.02):
            self._sample()

    def total(self) -> float:
        """CPU seconds since the start; stops the thread."""
        self.stop.set()
        self.thread.join()
        self._sample()
        return sum(v - self.base.get(pid, 0.0) for pid, v in self.seen.items())


def _cpu(site: dict, worker: subprocess.Popen | None, backends: "_Backends | None" = None
         ) -> dict:
    import psutil

    redis_ = 0.0
    for p in psutil.process_iter(["name"]):
        try:
            if (p.info["name"] or "").startswith("redis-server"):
                t = p.cpu_times()
                redis_ += t.user + t.system
        except psutil.Error:
            pass
    return {"gunicorn": _tree_cpu(site["server"]), "celery": _tree_cpu(worker),
            "postgres": backends.total() if backends is not None else 0.0, "redis": redis_,
            "exited": _postmaster_children()}


def _postmaster_children() -> float:
    """CPU of the PostgreSQL backends that have exited (the postmaster reaps them): the short
    ones the sampler misses, such as one connection per Celery task. Every database's: other
    work on the machine counts too, so an upper bound."""
    import psutil

    for p in psutil.process_iter(["name", "ppid"]):
        try:
            if p.info["name"] == "postgres" and psutil.Process(p.info["ppid"]).name() != "postgres":
                t = p.cpu_times()
                return t.children_user + t.children_system
        except psutil.Error:
            pass
    return 0.0


def _cpu_delta(a: dict, b: dict, approvals: dict | None) -> dict:
    # Backends that lived through the run: their difference; ones born in it: all they used.
    postgres = b["postgres"]  # the sampler's total over the run (`_Backends`)
    out = {"gunicorn": b["gunicorn"] - a["gunicorn"], "celery": b["celery"] - a["celery"],
           "postgres": postgres,
           "postgres, exited backends (shared)": b["exited"] - a["exited"],
           "redis (shared)": b["redis"] - a["redis"]}
    if approvals is not None:
        out["approver"] = approvals.get("cpu_s", 0.0)  # its backend is in "postgres"
    return out


def _print_cpu(args, idle_cpu: dict, runs: list) -> None:
    """The CPU of one approval, by process: without readers (all of it is the approvals'), and
    with readers (during minus the idle run of the same length just before)."""
    n = args.approvals
    keys = list(idle_cpu)
    extra = {k: statistics.median(
        [d["during"]["cpu"].get(k, 0.0) - (0.0 if k.startswith("approver") else
                                           d["idle"]["cpu"].get(k, 0.0)) for d in runs])
        for k in keys}
    print("CPU ms per approval, by process (no readers: the approvals alone; with readers: "
          "CPU during minus CPU of the idle run of the same length, median of rounds)")
    rows = [[k, f"{idle_cpu[k] * 1000 / n:.1f}", f"{extra[k] * 1000 / n:.1f}"] for k in keys]
    rows.append(["total (shared rows excluded)",
                 f"{sum(v for k, v in idle_cpu.items() if 'shared' not in k) * 1000 / n:.1f}",
                 f"{sum(v for k, v in extra.items() if 'shared' not in k) * 1000 / n:.1f}"])
    rows.append(["total (all rows)", f"{sum(idle_cpu.values()) * 1000 / n:.1f}",
                 f"{sum(extra.values()) * 1000 / n:.1f}"])
    _print_table(["process", "no readers", "with readers"], rows)
    gun = [(d["idle"]["cpu"]["gunicorn"] / max(1, d["idle"]["rps"] * (
        args.approvals * args.approval_interval + 2)),
        d["during"]["cpu"]["gunicorn"] / max(1, d["during"]["rps"] * (
            args.approvals * args.approval_interval + 2))) for d in runs]
    print("gunicorn CPU ms per read: idle " + _spread([g[0] * 1000 for g in gun], "{:.2f}")
          + ", during approvals " + _spread([g[1] * 1000 for g in gun], "{:.2f}"))


def _broker_env(args, env: dict) -> dict:
    return env if args.broker == "none" else {**env, "CELERY_BROKER_URL": args.broker}


def _approver(args, code: Path, env: dict, ids: list[int]) -> subprocess.Popen:
    """The approving process, started and set up (Django, the gate's schema: a web process has
    them long before) before the clock starts: its start-up is not the approvals' cost."""
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--worker", "approve", "--code",
         str(code), "--arg", json.dumps({"ids": ids, "interval": args.approval_interval})],
        cwd=code, env=env, stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True)
    for line in process.stdout:
        if line.startswith(READY):
            break
    else:
        raise SystemExit("the approving process did not start")
    process.stdin.write("go\n")
    process.stdin.flush()
    return process


READY = "BENCH-READY"


def _nice(args, name: str) -> int | None:
    if name == "before" and args.before_worker_nice is not None:
        return args.before_worker_nice
    return args.worker_nice


def _concurrency(args, name: str) -> int | None:
    if name == "before" and args.before_worker_concurrency is not None:
        return args.before_worker_concurrency
    return args.worker_concurrency


def _celery(args, code: Path, env: dict, log: Path, nice: int | None = None,
            concurrency: int | None = None) -> subprocess.Popen | None:
    """The site's Celery worker on the broker (emptied first), as the README's deployment
    runs it (prefork, one process per CPU), once it is ready; None without a broker."""
    if args.broker == "none":
        return None
    import redis

    redis.Redis.from_url(args.broker).flushdb()
    log.unlink(missing_ok=True)
    if nice is not None:  # this niceness alone, whatever the code's own setting
        env = {**env, "EMEND_WORKER_NICE": "0"}
    process = subprocess.Popen(
        [*(["nice", "-n", str(nice)] if nice else []),
         str(VENV / "celery"), "-A", "config", "worker", "-l", "INFO", "-Q", "celery",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-f", str(log),
         *([f"--concurrency={concurrency}"] if concurrency else [])],
        cwd=code, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    for _ in range(300):
        if log.exists() and " ready." in log.read_text(errors="replace"):
            return process
        if process.poll() is not None:
            break
        time.sleep(0.1)
    _stop(process)
    raise SystemExit(f"the Celery worker did not start (see {log})")


def _drain(args, timeout: float = 120) -> None:
    """Wait until the worker has done everything queued on its queue (none left waiting,
    none taken and not yet acknowledged: tasks are acks_late)."""
    if args.broker == "none":
        return
    import redis

    client = redis.Redis.from_url(args.broker)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not client.llen("celery") and not client.hlen("unacked"):
            return
        time.sleep(0.1)
    print("warning: the worker's queue did not drain", flush=True)


_LUA = """
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "/SLUG/d" .. ((counter % N_DOCS) + 1) .. "/")
end
"""


def _env(args, code: Path, tmp: Path, db: str) -> dict[str, str]:
    env = dict(os.environ)
    head = args.pg_url.rpartition("/")[0]
    env.update({
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789abcdef",
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "SECURE_SSL_REDIRECT": "0", "SESSION_COOKIE_SECURE": "0", "CSRF_COOKIE_SECURE": "0",
        "DATABASE_URL": f"{head}/{db}",
        "CACHE_URL": args.cache,
        "CELERY_BROKER_URL": "memory://localhost/",  # no worker: exports are not measured
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "EMEND_VAR_DIR": str(tmp / "var"),
        "STATIC_ROOT": str(tmp / "static"),
        "EMEND_TEI_SCHEMA": str(code / "var" / "schemas" / "tei_all.rng"),
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(code),
    })
    if not Path(env["EMEND_TEI_SCHEMA"]).exists():
        env["EMEND_TEI_SCHEMA"] = str(ROOT / "var" / "schemas" / "tei_all.rng")
    return env


def _git(path: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(path), *args], capture_output=True,
                          text=True).stdout.strip()


def _recreate_database(url: str, db: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {db}")


def _drop_database(url: str, db: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


def _flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def _manage(code: Path, env: dict, *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=code, env=env, check=True,
                   stdout=subprocess.DEVNULL)


def _worker_process(args, code: Path, env: dict, kind: str, arg: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--worker", kind, "--code", str(code),
         "--arg", arg], cwd=code, env=env, stdout=subprocess.PIPE, text=True)


def _collect(process: subprocess.Popen) -> dict:
    out, _ = process.communicate()
    if process.returncode:
        raise SystemExit(f"worker failed ({process.returncode})")
    line = next(x for x in out.splitlines() if x.startswith(MARKER))
    return json.loads(line[len(MARKER):])


def _worker(args, code: Path, env: dict, kind: str, arg: str) -> dict:
    return _collect(_worker_process(args, code, env, kind, arg))


def _gunicorn(code: Path, env: dict, port: int, name: str) -> subprocess.Popen:
    worker_class, threads = GUNICORN[name]
    # Log level critical: not "worker was sent SIGTERM" at every stop (Django logs its own).
    process = subprocess.Popen(
        [str(VENV / "gunicorn"), "config.wsgi", "-w", "2", "-b", f"127.0.0.1:{port}",
         "--log-level", "critical", "-k", worker_class,
         "--threads", str(threads)],
        cwd=code, env=env, start_new_session=True)
    for _ in range(200):
        try:
            _fetch(f"http://127.0.0.1:{port}/")
            return process
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    _stop(process)
    raise SystemExit("gunicorn did not answer")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)  # its own session: the master and its workers
        process.wait(timeout=30)


def _fetch(url: str, headers: dict | None = None) -> tuple[bytes, dict]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        if error.code != 304:
            raise
        return b"", dict(error.headers)


def _wrk(url: str, seconds: float, headers: dict, script: Path | None = None) -> dict:
    command = ["wrk", "-t2", "-c16", f"-d{max(1, round(seconds))}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    if script:
        command += ["-s", str(script)]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    latency = {p: _ms(v) for p, v in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M)}
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "p50": latency.get("50"), "p99": latency.get("99"),
            "non_2xx_3xx": int(bad.group(1)) if bad else 0,
            "socket_errors": errors.group(1) if errors else None}


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def _p(values: list[float], q: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def _spread(values: list[float], fmt: str) -> str:
    return (f"{fmt.format(statistics.median(values))} "
            f"({fmt.format(min(values))}–{fmt.format(max(values))})")


def _print_table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    for cells in [headers, ["-" * w for w in widths], *rows]:
        print("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                        for i, (c, w) in enumerate(zip(cells, widths))).rstrip())


# ------------------------------------------------------------------------------------------
# Workers: run with the measured checkout's code


def _people(edition):
    from django.contrib.auth import get_user_model

    from edition.models import Membership

    User = get_user_model()
    people = {name: User.objects.create_user(name, password=f"pw-{name}-bench")
              for name in ("editor", "reviewer", "reader")}
    Membership.objects.create(edition=edition, user=people["editor"], role="editor")
    Membership.objects.create(edition=edition, user=people["reviewer"], role="reviewer")
    return people


def _propose(document, author, occurrence: int = 0):
    from review.actions.propose import ChangeSpec, do_propose

    document.refresh_from_db()
    revision = document.current_revision
    start = -1
    for _ in range(occurrence + 1):
        start = revision.text.index(" the ", start + 1)
    spec = ChangeSpec("text", start + 1, start + 4, "thé", exact="the")
    return do_propose(document, author=author, base_revision=revision.number, changes=[spec],
                      rationale="bench")


def setup(args) -> dict:
    """Users and their sessions; corrections approved (the logs' entries): 30 documents once,
    d1 ten times more; then pending proposals, one a document from the end of the volume."""
    from django.test import Client

    from edition.models import Document, Edition
    from review.actions.approve import do_approve

    pending_count = json.loads(args.arg)["pending"]
    edition = Edition.objects.get()
    people = _people(edition)
    documents = list(Document.objects.filter(edition=edition, div_type="document")
                     .order_by("order"))
    approved = 0
    for document in documents[:30] + [documents[0]] * 10:
        do_approve(_propose(document, people["editor"]), by=people["reviewer"])
        approved += 1
    pending = [_propose(d, people["editor"]).pk for d in documents[-pending_count:]]
    sessions = {}
    for name in ("reader", "editor"):
        client = Client()
        client.force_login(people[name])
        sessions[name] = client.cookies["sessionid"].value
    return {"slug": edition.slug, "approved": approved, "pending": pending,
            "sessions": sessions}


def approve(args) -> dict:
    """Approve the given proposals, one started every `interval` seconds (at once when the
    previous took longer), each timed."""
    from django.contrib.auth import get_user_model

    from review.actions.approve import do_approve
    from review.models import Proposal

    from edition.gate import check_candidate
    from edition.models import Document

    task = json.loads(args.arg)
    reviewer = get_user_model().objects.get(username="reviewer")
    # A web process has read the schema and compiled the FRUS grammar long before: so here,
    # untimed (the first check in a process takes over a second).
    document = Document.objects.with_current().get(proposals__pk=task["ids"][0])
    check_candidate(document.current_revision.tei, document,
                    number=document.current_revision.number + 1)
    # Export builds go to a queue the benchmark's worker leaves alone: a build of the volume
    # would measure the exports (bench/exports.py), not the readers.
    from config.celery import app

    app.conf.task_routes = {"edition.tasks.build_exports": {"queue": "bench-exports"}}
    print(READY, flush=True)
    sys.stdin.readline()  # the driver's go, once its readers run
    latencies = []
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    backend_cpu0 = _proc_cpu(backend)
    cpu0 = time.process_time()
    start = time.perf_counter()
    for n, pk in enumerate(task["ids"]):
        delay = start + n * task["interval"] - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        proposal = Proposal.objects.get(pk=pk)
        t0 = time.perf_counter()
        do_approve(proposal, by=reviewer)
        latencies.append((time.perf_counter() - t0) * 1000)
    return {"latencies_ms": latencies, "seconds": time.perf_counter() - start,
            "cpu_s": time.process_time() - cpu0,
            "backend_cpu_s": _proc_cpu(backend) - backend_cpu0}


def _proc_cpu(pid: int) -> float:
    """utime + stime of a process on this machine, in seconds (0 when it cannot be read)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    sys.exit(main())
