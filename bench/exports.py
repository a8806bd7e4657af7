"""Export builds on a synthetic 400-document volume: full build and incremental rebuild after
one approval, per format group, with the real build machinery (builds.run: per-document files,
the volume file, storage writes, the pointer switch).

    .venv/bin/python bench/exports.py [--docs 400] [--repeat 3] [--groups text,epub,approval,pdf]
                                      [--json PATH]

Groups: "text" is TEI + HTML + plain text + JSON together (target: full < 20 s, incremental
< 2 s and at least 10x faster than full); "epub" (full < 30 s); "pdf" (reported). Each full
build starts from an empty fragment store (a `rebuild_exports --rerender`); each incremental build follows
a new revision of one document, as an approval makes; "approval" is the app's quick group (the
four plus EPUB), what readers wait for after an approval. SQLite and the in-process cache: the
figures are the build's own work, not a database's.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402
    django_environ, machine, print_machine, print_table, summary, verdict, write_json,
)
from bench.synth import synthetic_volume  # noqa: E402

GROUPS = {"text": ["tei", "html", "txt", "json"], "epub": ["epub"], "pdf": ["pdf"],
          # What one approval really triggers first: the app's "text" build (EPUB included).
          "approval": ["tei", "html", "txt", "json", "epub"]}
TARGETS = {"text": (20, 2), "epub": (30, None), "pdf": (None, None), "approval": (None, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--groups", default="text,epub,approval,pdf")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args()
    groups = [g for g in args.groups.split(",") if g]

    with tempfile.TemporaryDirectory(prefix="emend-bench-exports-") as tmp:
        tmp = Path(tmp)
        os.environ.update(django_environ(
            tmp, DATABASE_URL=f"sqlite:///{tmp / 'bench.sqlite3'}", EXPORT_ROOT=str(tmp / "out"),
            CACHE_URL="locmem://"))
        import django

        django.setup()
        from django.core.cache import cache

        from edition.models import ExportFragment
        from django.core.management import call_command
        from django.db import transaction

        from edition.exporting import builds
        from edition.models import Document, Edition, ExportBuild

        info = machine()
        print_machine(info)
        call_command("migrate", verbosity=0)
        volume = tmp / "volume.xml"
        volume.write_bytes(synthetic_volume(args.docs))
        call_command("import_tei", str(volume), no_progress=True, stdout=open(os.devnull, "w"))
        edition = Edition.objects.get()
        from django.conf import settings

        documents = list(Document.objects.filter(edition=edition).order_by("order"))
        print(f"volume: {len(documents)} documents, {volume.stat().st_size / 1e6:.2f} MB\n")

        def build(full: bool) -> tuple[float, ExportBuild]:
            with transaction.atomic():
                builds.request_export(edition, "bench", full=full)
            t0 = time.perf_counter()
            outcome = builds.run(edition.pk)
            return time.perf_counter() - t0, outcome.builds[-1]

        figures: dict = {"machine": info, "docs": len(documents), "groups": {}}
        rows = []
        for group in groups:
            settings.EMEND_EXPORT_FORMATS = GROUPS[group]
            full_times, inc_times, sizes = [], [], {}
            for i in range(args.repeat):
                cache.clear()
                ExportFragment.objects.all().delete()  # every piece rendered again
                seconds, done = build(full=True)
                full_times.append(seconds)
                sizes = {f.format: f.size for f in done.files.filter(document=None)}
                print(f"  {group} full {i + 1}: {seconds:.2f} s "
                      f"({done.rendered} document files)", flush=True)
                # One approval: a new revision of one document, then the rebuild it triggers.
                document = documents[(i * 97) % len(documents)]
                document.refresh_from_db()
                with transaction.atomic():
                    document.add_revision(document.current_revision.tei.replace(
                        "</p>", " (corrected)</p>", 1), by=None, summary="bench")
                seconds, done = build(full=False)
                inc_times.append(seconds)
                print(f"  {group} incremental {i + 1}: {seconds:.3f} s "
                      f"({done.rendered} rendered, {done.reused} reused)", flush=True)
            full, inc = summary(full_times), summary(inc_times)
            figures["groups"][group] = {"formats": GROUPS[group], "full_seconds": full,
                                        "incremental_seconds": inc, "volume_bytes": sizes}
            full_target, inc_target = TARGETS[group]
            rows.append([group + " (" + "+".join(GROUPS[group]) + ")", "full",
                         f"{full['median']:.2f}", f"{full['min']:.2f}–{full['max']:.2f}", "",
                         verdict(full["median"], full_target) if full_target else "reported"])
            rows.append(["", "incremental", f"{inc['median']:.3f}",
                         f"{inc['min']:.3f}–{inc['max']:.3f}",
                         f"×{full['median'] / inc['median']:.0f}",
                         verdict(inc["median"], inc_target) if inc_target else "reported"])
        print()
        print_table(["formats", "build", "median s", "spread", "faster", "target"], rows,
                    "llrrrl")
        write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
