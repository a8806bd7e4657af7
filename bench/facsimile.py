"""A PDF of the printed volume through import_facsimile, to every page viewable and read by OCR,
with real Celery worker processes on Redis and PostgreSQL (issue 11).

    .venv/bin/python bench/facsimile.py [--pages 100] [--repeat 3] [--workers 2]
                                        [--pg-url postgres://…/postgres] [--redis redis://…/11]
                                        [--json PATH]

A synthetic FRUS volume (bench/synth.py) with more page breaks than `--pages` is imported; each
of `--pages` pages from [Page 1001] on is printed from its real transcription at 300 dpi by
tests/ocr_pages.py (h2's printer: running head, footnotes, a few injected differences) and the
pages are bound into one PDF (Pillow). Then `--repeat` times: `manage.py import_facsimile SLUG
volume.pdf --first-page 1001` runs as a separate process (it checks the PDF and stores it), one
`celery -A config worker -c WORKERS` renders the pages (pypdfium2, 200 dpi), makes the display
images and thumbnails (Pillow) and, as each page commits, reads it (`ocr_page`: Tesseract and
the alignment). Timed from the command's start to: the upload done (every page viewable), and
every page's OCR finished. Each repeat replaces the previous scans, as a second run would.

The database is `emend_h1` on the server of `--pg-url` (dropped and made again), the broker
and cache `--redis` (flushed: give it a database of its own, and run no tests on it meanwhile).
Prints median, min and max.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402
    DEFAULT_PG, django_environ, machine, pg_url, print_machine, print_table, summary,
    write_json,
)
from bench.synth import frus_volume  # noqa: E402

DATABASE = "emend_h1"
FIRST_PAGE = "1001"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=100, help="pages in the PDF (100)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of import_facsimile (3)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (2)")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG))
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()

    var = Path(tempfile.mkdtemp(prefix="emend-bench-facsimile-"))
    env = django_environ(var, DATABASE_URL=pg_url(args.pg_url, DATABASE),
                         CELERY_BROKER_URL=args.redis, CACHE_URL=args.redis,
                         MEDIA_ROOT=str(var / "media"),
                         EMEND_OCR_PAGES_CACHE=os.environ.get("EMEND_OCR_PAGES_CACHE",
                                                              str(var / "ocr")))
    os.environ.update(env)
    _reset_database(args.pg_url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    info = machine(_pg_version(args.pg_url))
    print_machine(info)

    print(f"volume: {args.pages} pages wanted from [Page {FIRST_PAGE}] …", flush=True)
    slug, pdf = _volume_and_pdf(var, args.pages)
    print(f"PDF: {pdf.stat().st_size / 1e6:.1f} MB, {args.pages} pages", flush=True)
    # The import's own messages (rendering, checks, exports) would be the worker's first work:
    # dropped, so the figures are the scans' alone.
    _flush(args.redis)

    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-c", str(args.workers),
         "--loglevel", "WARNING", "--without-gossip", "--without-mingle",
         "--without-heartbeat"], cwd=ROOT, env=env, start_new_session=True)
    try:
        _wait_for_worker()
        runs = [_run(slug, pdf, env) for _ in range(args.repeat)]
    finally:
        worker.terminate()  # a warm shutdown: its pool finishes and exits
        try:
            worker.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
    viewable = summary([r["viewable"] for r in runs])
    read = summary([r["ocr"] for r in runs])
    command = summary([r["command"] for r in runs])
    print()
    print_table(
        ["from the command's start to", "median s", "min s", "max s", "per page s (median)"],
        [["the command done (PDF checked, stored)", f"{command['median']:.2f}",
          f"{command['min']:.2f}", f"{command['max']:.2f}", ""],
         ["every page viewable", f"{viewable['median']:.1f}", f"{viewable['min']:.1f}",
          f"{viewable['max']:.1f}", f"{viewable['median'] / args.pages:.3f}"],
         ["every page viewable and OCRed", f"{read['median']:.1f}", f"{read['min']:.1f}",
          f"{read['max']:.1f}", f"{read['median'] / args.pages:.3f}"]], "lrrrr")
    statuses = runs[-1]["ocr_statuses"]
    print(f"\nOCR statuses of the last run: {statuses}; "
          f"{runs[-1]['suggestions']} OCR suggestions recorded")
    write_json(args.json, {"machine": info, "pages": args.pages, "workers": args.workers,
                           "runs": runs, "viewable": viewable, "ocr": read,
                           "command": command})
    return 0


def _volume_and_pdf(var: Path, count: int) -> tuple[str, Path]:
    from PIL import Image

    from edition import pages
    from edition.imports import import_tei
    from tests import ocr_pages

    source = var / "volume.xml"
    frus_volume(source, 180)  # 135 page breaks, [Page 1001] to [Page 1105] in the body
    edition = import_tei(source).edition
    pages.sync(edition)  # what the worker does after an import
    rows = list(pages.pages(edition))
    start = [r.n for r in rows].index(FIRST_PAGE)
    wanted = rows[start:start + count]
    if len(wanted) < count:
        raise SystemExit(f"the volume has only {len(wanted)} pages from {FIRST_PAGE}")
    images = []
    for row in wanted:
        printed = ocr_pages.render(row)
        images.append(Image.open(__import__("io").BytesIO(printed.png)).convert("L"))
    pdf = var / "volume.pdf"
    images[0].save(pdf, save_all=True, append_images=images[1:], resolution=ocr_pages.DPI)
    return edition.slug, pdf


def _run(slug: str, pdf: Path, env: dict) -> dict:
    from edition.models import FacsimileUpload, PageImage, Suggestion

    before = set(FacsimileUpload.objects.values_list("pk", flat=True))
    started = time.perf_counter()
    subprocess.run([sys.executable, "manage.py", "import_facsimile", slug, str(pdf),
                    "--first-page", FIRST_PAGE], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    command = time.perf_counter() - started
    upload = FacsimileUpload.objects.exclude(pk__in=before).get()
    page_ids = list(upload.items.order_by("position").values_list("page", flat=True))
    viewable = None
    while True:
        upload.refresh_from_db(fields=["status", "done", "failed"])
        now = time.perf_counter() - started
        if viewable is None and upload.status in ("done", "failed"):
            viewable = now
        if viewable is not None and not PageImage.objects.filter(
                pk__in=page_ids, ocr_status__in=["", "queued"]).exists():
            break
        if now > 3600:
            raise SystemExit("not finished after an hour")
        time.sleep(0.1)
    read = time.perf_counter() - started
    statuses = {}
    for status in PageImage.objects.filter(pk__in=page_ids).values_list("ocr_status",
                                                                         flat=True):
        statuses[status] = statuses.get(status, 0) + 1
    result = {"command": command, "viewable": viewable, "ocr": read,
              "done": upload.done, "failed": upload.failed, "ocr_statuses": statuses,
              "suggestions": Suggestion.objects.filter(page_id__in=page_ids).open().count()}
    print(f"run: command {command:.2f} s, viewable {viewable:.1f} s, OCRed {read:.1f} s "
          f"({upload.done} made, {upload.failed} failed; OCR {statuses})", flush=True)
    return result


def _wait_for_worker() -> None:
    from config.celery import app

    for _ in range(120):
        if app.control.ping(timeout=1.0):
            return
    raise SystemExit("the worker did not start")


def _reset_database(base: str) -> None:
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DATABASE}")


def _pg_version(base: str) -> str | None:
    from bench.harness import pg_version

    return pg_version(base)


def _flush(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


if __name__ == "__main__":
    sys.exit(main())
