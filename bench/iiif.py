"""Server time of the IIIF manifests and the pages API on a synthetic volume: cold (cache
cleared before each request: the fingerprint, iiif-prezi3 building the manifest, JSON),
cached (the fingerprint's two queries and a cache read) and 304 (If-None-Match).

    .venv/bin/python bench/iiif.py [--docs 400] [--repeat 30] [--json PATH]

SQLite, LocMemCache, in process through the whole middleware stack (django.test.Client,
anonymous). Wall time and this process's CPU time: on a shared, loaded machine the CPU time
is the steadier of the two. Every page image is a remote one (the FRUS address pattern), as for a volume
without uploads: the manifests' largest case is the same with uploads.
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
    django_environ, machine, print_machine, print_table, summary, test_database, write_json,
)
from bench.synth import synthetic_volume  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=400, help="documents in the volume (400)")
    parser.add_argument("--repeat", type=int, default=30, help="requests of each kind (30)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update(django_environ(Path(tmp)))
        volume = Path(tmp) / "volume.xml"
        volume.write_bytes(synthetic_volume(args.docs))
        with test_database("emend_bench_iiif"):
            figures = measure(volume, args.repeat)
    print_machine(machine())
    rows = [[name, kind, f"{f['median']:.1f}", f"{f['min']:.1f}", f"{f['p95']:.1f}",
             f"{f['max']:.1f}", f"{cpu['median']:.1f}", f"{cpu['min']:.1f}",
             f"{cpu['max']:.1f}", str(f["n"])]
            for name, kinds in figures["requests"].items()
            for kind, f in kinds.items() if not kind.endswith(" cpu")
            for cpu in [kinds[kind + " cpu"]]]
    print(f"{figures['pages']} pages, {args.docs} documents; manifest of the volume: "
          f"{figures['bytes'] // 1024} KiB")
    print_table(["request", "kind", "wall median ms", "min", "p95", "max", "CPU median ms",
                 "min", "max", "n"], rows, "llrrrrrrrr")
    write_json(args.json, figures)
    return 0


def measure(volume: Path, repeat: int) -> dict:
    from django.core.cache import cache
    from django.test import Client

    from edition import pages
    from edition.imports import import_tei

    edition = import_tei(volume).edition
    edition.facsimile_url = "https://static.history.state.gov/frus/{volume}/medium/{facs}.png"
    edition.save()
    pages.sync(edition)
    middle = edition.documents.filter(number__isnull=False).order_by("order")[
        edition.documents.filter(number__isnull=False).count() // 2]
    addresses = {
        "volume manifest": f"/{edition.slug}/iiif/manifest.json",
        "document manifest": f"/{edition.slug}/{middle.xml_id}/iiif/manifest.json",
        "pages API": f"/api/editions/{edition.slug}/documents/{middle.xml_id}/pages/",
    }
    client = Client()
    figures: dict = {"pages": pages.pages(edition).count(), "requests": {}}
    for name, url in addresses.items():
        first = client.get(url)
        assert first.status_code == 200, (url, first.status_code)
        figures.setdefault("bytes", len(first.content))
        etag = first.get("ETag")
        kinds: dict[str, list[float]] = {}

        def record(kind: str, timed: tuple[float, float]) -> None:
            kinds.setdefault(kind, []).append(timed[0])
            kinds.setdefault(kind + " cpu", []).append(timed[1])

        for _ in range(repeat):
            cache.clear()
            record("cold", _time(client, url, 200))
            record("cached", _time(client, url, 200))
            if etag:
                record("304", _time(client, url, 304, HTTP_IF_NONE_MATCH=etag))
        figures["requests"][name] = {k: summary(v) for k, v in kinds.items() if v}
    return figures


def _time(client, url: str, status: int, **headers) -> tuple[float, float]:
    """(wall ms, CPU ms) of one request."""
    start, cpu = time.perf_counter(), time.process_time()
    response = client.get(url, **headers)
    elapsed = (time.perf_counter() - start) * 1000, (time.process_time() - cpu) * 1000
    assert response.status_code == status, (url, response.status_code)
    return elapsed


if __name__ == "__main__":
    raise SystemExit(main())
