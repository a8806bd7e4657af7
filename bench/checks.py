"""The checks' time per document (edition/checks/), on the synthetic volume (bench/synth.py).

    .venv/bin/python bench/checks.py [--docs 400] [--store] [--json PATH]

`pure`: every check over one document's running text and footnotes, as the worker runs them
(the TEI parsed from its string, the text layers built, every check), with the volume's persons
list (from the front-matter sample, 119 entries) and document numbers. `--store` also imports
the volume into a throwaway SQLite database and times `run_edition` (the checks plus replacing
the document's open suggestions, one transaction per document).
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
from bench.synth import FRONT_SAMPLE, sample_path, synthetic_volume  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=400, help="documents in the volume (400)")
    parser.add_argument("--store", action="store_true",
                        help="also time run_edition on an imported volume (SQLite)")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()
    var = Path(tempfile.mkdtemp(prefix="emend-bench-checks-"))
    os.environ.update(django_environ(var))
    import django

    django.setup()
    from lxml import etree

    from edition.checks import Volume, find
    from edition.registers import _read
    from edition.tei.parsing import parse_document_div, safe_parser

    volume_xml = synthetic_volume(args.docs)
    root = etree.fromstring(volume_xml, parser=safe_parser())
    front = etree.parse(str(sample_path().with_name(FRONT_SAMPLE)), parser=safe_parser())
    persons = {e.id: e.name for e in _read(front.getroot(), "persons")}
    divs = [d for d in root.iter("{*}div") if d.get("type") == "document"]
    numbers = frozenset(int(d.get("n")) for d in divs if (d.get("n") or "").isdigit())
    sources = [etree.tostring(d, encoding="unicode") for d in divs]
    volume = Volume(numbers, persons)
    times, findings = [], 0
    for tei in sources:
        started = time.perf_counter()
        found = find(parse_document_div(tei), volume)
        times.append((time.perf_counter() - started) * 1000)
        findings += len(found)
    figures = {"machine": machine(), "docs": len(sources),
               "kb_per_doc": round(sum(map(len, sources)) / len(sources) / 1024, 1),
               "pure_ms": summary(times), "findings": findings}
    print_machine(figures["machine"])
    rows = [["pure (parse + layers + checks)", *_cells(figures["pure_ms"])]]
    if args.store:
        figures["stored_ms"] = _stored(volume_xml, var)
        rows.append(["stored (run_edition, SQLite)", *_cells(figures["stored_ms"])])
    print(f"{len(sources)} documents of {figures['kb_per_doc']} KB on average; "
          f"{len(persons)} persons; {findings} findings in all (ids renumbered by synth: none "
          "is expected from the sample's text)")
    print_table(["per document", "median ms", "p95 ms", "min ms", "max ms"], rows, "lrrrr")
    write_json(args.json, figures)
    return 0


def _cells(s: dict) -> list[str]:
    return [f"{s['median']:.2f}", f"{s['p95']:.2f}", f"{s['min']:.2f}", f"{s['max']:.2f}"]


def _stored(volume_xml: bytes, var: Path) -> dict:
    """Median etc. of run_document per document, through run_edition's loop."""
    with test_database("emend_bench_checks"):
        from edition.checks import run
        from edition.imports import import_tei

        path = var / "volume.xml"
        path.write_bytes(volume_xml)
        edition = import_tei(path).edition
        times = []
        original = run.run_document

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                times.append((time.perf_counter() - started) * 1000)

        run.run_document = timed
        try:
            run.run_edition(edition)
        finally:
            run.run_document = original
        return summary(times)


if __name__ == "__main__":
    sys.exit(main())
