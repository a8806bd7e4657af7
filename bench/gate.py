"""The gate's cost (edition/gate.py): TEI P5 validation and every renderer, alone and in an
approval.

    .venv/bin/python bench/gate.py [--runs 30] [--json PATH]

In a process of its own with a throwaway SQLite database (the gate makes no query; SQLite is
enough to time an approval around it), the sample excerpt imported, and d143 from its plain
text, it measures:
- the first check in a process: tei_all.rng read and the grammar for the FRUS elements compiled
  (`tei.schema`), once per process;
- `check_candidate` on d142, d143, d144 and on a long document (d142 with its paragraphs
  repeated to about 100 KB of TEI), split into the schema (with the frus: rules) and each
  format's piece of the document (the JSON's reuses the HTML's, as in the gate);
- approval latency (`do_approve` of a one-word text correction) on d142 and on the long
  document, with the gate and with it switched off, alternating, so the difference is the gate's.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402
    django_environ, load, machine, print_machine, print_table, summary, test_database, verdict,
    write_json,
)

MARKER = "BENCH-RESULT "
TARGET_MS = {"approve d142": 100}
LONG_BYTES = 100_000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="timed runs of each measurement")
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--test-db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(MARKER + json.dumps(worker(args)), flush=True)
        return 0

    info = machine()
    print_machine(info)
    with tempfile.TemporaryDirectory(prefix="emend-bench-") as tmp:
        tmp = Path(tmp)
        (tmp / "var" / "static").mkdir(parents=True)
        env = django_environ(tmp / "var", DATABASE_URL="sqlite:///" + str(tmp / "unused.sqlite3"))
        done = subprocess.run([sys.executable, __file__, "--worker", "--runs", str(args.runs),
                               "--test-db", str(tmp / "gate-test.sqlite3")],
                              cwd=ROOT, env=env, check=True, stdout=subprocess.PIPE, text=True)
    result = json.loads(next(x for x in done.stdout.splitlines() if x.startswith(MARKER))
                        .removeprefix(MARKER))

    print(f"\nfirst check in a process (tei_all.rng read, FRUS grammar compiled): "
          f"{result['first_ms']:.0f} ms")
    print("\nthe gate alone, ms per document (median; min–max over the runs)")
    rows = []
    for name, parts in result["gate"].items():
        for part, s in parts.items():
            rows.append([name if part == "total" else "", part, s["n"], f"{s['median']:.2f}",
                         f"{s['min']:.2f}–{s['max']:.2f}"])
    print_table(["document", "part", "n", "median", "min–max"], rows, "llrrr")
    print("\napproval latency, ms (do_approve of a one-word correction; the gate on and off, "
          "alternating)")
    rows = []
    for name, modes in result["approve"].items():
        for mode, s in modes.items():
            target = TARGET_MS.get(f"approve {name}") if mode == "gate" else None
            rows.append([name, mode, s["n"], f"{s['median']:.1f}", f"{s['p95']:.1f}",
                         f"{s['min']:.1f}–{s['max']:.1f}",
                         verdict(s["median"], target) if target else ""])
    print_table(["document", "", "n", "median", "p95", "min–max", "target"], rows, "llrrrrl")
    print(f"\nTEI sizes: {', '.join(f'{k} {v:,} B' for k, v in result['sizes'].items())}")
    print(f"load average: {info['load']} at the start, {load()} at the end")
    write_json(args.json, {"benchmark": "gate", "machine": info, "results": result})
    return 0


def worker(args) -> dict:
    with test_database(args.test_db):
        return _measure(args.runs)


def _measure(runs: int) -> dict:
    from django.conf import settings

    from edition.gate import check_candidate, renderers, tei_schema
    from edition.imports import create_document, import_tei, import_text
    from edition.tei.parsing import parse_document_div
    from edition.tei.schema import Schema, frus_problems

    samples = settings.EMEND_SAMPLES_DIR
    edition = import_tei(samples / "frus1958-60v18-excerpt.xml").edition
    import_text(samples / "frus1958-60v18-d143-plaintext.txt", edition=edition)
    d142 = edition.documents.get(xml_id="d142")
    create_document(edition, "d900", _long(d142.current_revision.tei),
                               {"number": 900, "title": "Long"}, order=900, by=None,
                               summary="bench")
    documents = {d.xml_id: d for d in edition.documents.select_related("edition",
                                                                        "current_revision")}
    documents["long"] = documents.pop("d900")

    # The import has loaded the process's schema already: a fresh one, as a new process's.
    started = time.perf_counter()
    Schema(Path(settings.EMEND_TEI_SCHEMA)).problem(parse_document_div(d142.current_revision.tei))
    first_ms = (time.perf_counter() - started) * 1000

    from edition.exporting import sources
    from edition.exporting.sources import Part

    gate, sizes = {}, {}
    for name, document in documents.items():
        tei = document.current_revision.tei
        sizes[name] = len(tei.encode())
        number = document.current_revision.number + 1
        times: dict[str, list[float]] = {"total": [], "schema": []}
        for _ in range(runs):
            times["total"].append(_ms(lambda: check_candidate(tei, document, number=number)))
            element = parse_document_div(tei)
            times["schema"].append(_ms(lambda: (frus_problems(element),
                                                tei_schema().problem(element))))
            part = Part.candidate(document, tei, number=number)
            with sources.scratch():  # as the gate renders: the JSON reuses the HTML article
                for label, render in renderers():
                    times.setdefault(label, []).append(_ms(lambda: render(part)))
        gate[name] = {k: summary(v) for k, v in times.items()}

    approve = {name: _approvals(documents[name], runs) for name in ("d142", "long")}
    return {"first_ms": first_ms, "gate": gate, "approve": approve, "sizes": sizes}


def _approvals(document, runs: int) -> dict:
    """Approvals of one-word corrections (each a word not corrected before, upper-cased, so no
    candidate repeats and no rendered piece is found in the cache), alternately with and without
    the gate; with it, the time spent in the gate is taken too."""
    import re
    from unittest import mock

    from django.contrib.auth import get_user_model

    from edition.models import Document, Membership
    from review.actions import approve as approving
    from review.actions.approve import do_approve
    from review.actions.propose import ChangeSpec, do_propose

    User = get_user_model()
    editor, _ = User.objects.get_or_create(username="bench-editor")
    reviewer, _ = User.objects.get_or_create(username="bench-reviewer")
    for user, role in ((editor, "editor"), (reviewer, "reviewer")):
        Membership.objects.get_or_create(edition=document.edition, user=user, role=role)
    times: dict[str, list[float]] = {"gate": [], "of which the gate": [], "no gate": []}
    real = approving.check_candidate

    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            times["of which the gate"].append((time.perf_counter() - started) * 1000)

    for i in range(2 * runs):
        mode = "gate" if i % 2 == 0 else "no gate"
        document = Document.objects.select_related("edition", "current_revision").get(
            pk=document.pk)
        head = document.current_revision
        start, end = re.search(r"\b[a-z]{5,}\b", head.text).span()
        word = head.text[start:end]
        proposal = do_propose(document, author=editor, base_revision=head.number,
                              changes=[ChangeSpec("text", start, end, word.upper(), exact=word)],
                              rationale="bench")
        gate = timed if mode == "gate" else (lambda *a, **k: None)
        with mock.patch.object(approving, "check_candidate", gate):
            times[mode].append(_ms(lambda: do_approve(proposal, by=reviewer)))
    return {mode: summary(values) for mode, values in times.items()}


def _long(tei: str) -> str:
    """d142 with its paragraphs repeated to LONG_BYTES, ids dropped from the copies."""
    from lxml import etree

    from edition.tei import XML_ID, tei as tei_name

    div = etree.fromstring(tei.encode())
    div.set(XML_ID, "d900")
    div.set("n", "900")
    paragraphs = div.findall(tei_name("p"))
    while len(etree.tostring(div)) < LONG_BYTES:
        for paragraph in paragraphs:
            copy = etree.fromstring(etree.tostring(paragraph))
            for element in copy.iter():
                element.attrib.pop(XML_ID, None)
            div.append(copy)
    return etree.tostring(div, encoding="unicode")


def _ms(call) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


if __name__ == "__main__":
    sys.exit(main())
