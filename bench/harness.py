"""What both benchmarks share: the environment Django runs in, the machine, and the figures.

Benchmarks print their figures; nothing here asserts on timings.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
import platform
import statistics
import sqlite3
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/postgres"


@contextmanager
def test_database(name: str):
    """Django set up on a throwaway database `name` (a worker process measures in one of its
    own); yields the connection, and drops the database afterwards."""
    import django

    django.setup()
    from django.db import connection

    connection.settings_dict.setdefault("TEST", {})["NAME"] = name
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield connection
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def django_environ(var_dir: Path, **extra: str) -> dict[str, str]:
    """os.environ plus production-shaped settings that need no service and write only to var_dir.

    DEBUG stays off (cached template loader, no query log); the Celery broker is in memory so the
    import's on-commit `warm_rendering` message costs what enqueueing costs and renders nothing.
    """
    env = dict(os.environ)
    env.update({
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789abcdef",
        "DEBUG": "0",
        "SECURE_SSL_REDIRECT": "0",
        "STATIC_MANIFEST": "0",
        "ALLOWED_HOSTS": "testserver,localhost",
        "CACHE_URL": "locmem://",
        "CELERY_BROKER_URL": "memory://localhost/",
        "EMEND_VAR_DIR": str(var_dir),
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    })
    env.update(extra)
    return env


def pg_url(base: str, dbname: str) -> str:
    """`base` (a postgres:// URL) naming database `dbname` instead."""
    head, _, _ = base.rpartition("/")
    return f"{head}/{dbname}"


def pg_admin(url: str, *statements: str) -> None:
    """Run `statements` outside a transaction (CREATE / DROP DATABASE, VACUUM)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def pg_version(url: str) -> str | None:
    """The server's version, or None when it cannot be reached within two seconds."""
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=2) as conn:
            return conn.execute("SHOW server_version").fetchone()[0]
    except Exception:
        return None


def database_and_machine(parser, args) -> tuple[str | None, dict]:
    """The PostgreSQL server to measure (None: SQLite only, by `--no-postgres` or because it
    does not answer; `--postgres` makes that an error) and the machine, printed."""
    pg = None if args.no_postgres else pg_version(args.pg_url)
    if args.postgres and pg is None:
        parser.error(f"PostgreSQL is not reachable at {args.pg_url}")
    info = machine(pg)
    print_machine(info)
    return pg, info


def machine(pg: str | None = None) -> dict:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo").splitlines()
         if line.startswith("model name")),
        platform.processor() or "?",
    )
    mem_kb = next(
        (int(line.split()[1]) for line in _read("/proc/meminfo").splitlines()
         if line.startswith("MemTotal:")),
        0,
    )
    import django
    import lxml.etree

    affinity = getattr(os, "sched_getaffinity", None)
    return {
        "nproc": len(affinity(0)) if affinity else os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "lxml": ".".join(map(str, lxml.etree.LXML_VERSION)),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": pg,
        "load": load(),
    }


def load() -> str:
    """The 1-, 5- and 15-minute load averages: other work on the machine skews the figures."""
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def print_machine(info: dict) -> None:
    print(
        f"machine: {info['nproc']} CPU ({info['cpu']}), {info['memory_gb']} GB, "
        f"Linux {info['kernel']}, load average {info['load']}"
    )
    print(
        f"software: Python {info['python']}, Django {info['django']}, lxml {info['lxml']}, "
        f"SQLite {info['sqlite']}, PostgreSQL {info['postgresql'] or '(not measured)'}"
    )


def summary(values: list[float]) -> dict:
    """Median, p95, min, max and count of `values`."""
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return {
        "n": len(ordered),
        "median": statistics.median(ordered),
        "p95": p95,
        "min": ordered[0],
        "max": ordered[-1],
    }


def print_table(headers: list[str], rows: list[list[str]], align: str) -> None:
    """A plain-text table; `align` holds "l" or "r" per column."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            str(c).ljust(w) if a == "l" else str(c).rjust(w)
            for c, w, a in zip(cells, widths, align)
        ).rstrip()

    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))


def write_json(path: str | None, figures: dict) -> None:
    if path:
        Path(path).write_text(json.dumps(figures, indent=2) + "\n")
        print(f"figures written to {path}")


def verdict(value: float, target: float) -> str:
    return f"< {target:g}  {'ok' if value < target else 'MISSED'}"


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def process_usage() -> tuple[int, float]:
    """(peak RSS in KiB, CPU seconds) of this process. VmHWM is the process's own peak:
    ru_maxrss carries the parent's peak over fork and exec."""
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    try:
        with open("/proc/self/status") as status:
            peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        peak = r.ru_maxrss
    return peak, r.ru_utime + r.ru_stime
