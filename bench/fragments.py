"""Structural fixes at size: proposing, showing and approving a fragment of 1k … 16k blocks.

    .venv/bin/python bench/fragments.py [--sizes 1000,2000,4000,8000,16000] [--repeat 3]
                                        [--json PATH]

Through the real path, in one process on a throwaway SQLite database (the work measured is
parsing, validating and applying TEI, not the database's):
- insert: a small document (a head with its source note, ten paragraphs with footnotes) and a
  structural fix replacing its second paragraph with N blocks (`<p>` with inline markup, a
  footnote every 20 blocks, a page break every 100, a list every 50), about 55 bytes a block;
- replace: the document that approval made (N + 9 blocks) and a structural fix replacing all
  of it with the same N blocks, one word changed in each (the "restore a document" case).
For each: `propose` (`actions.propose.do_propose`: validate, apply), `page` (what the proposal
page computes: `presentation.describe` of the change and `rendered_result`, the document as it
would read), `queue row` (`presentation.short_diff`) and `approve` (`actions.approve.do_approve`:
apply, new revision, rebase). Median and min–max of the wall time over `--repeat` runs, each
on a fresh document, and the median CPU time (other load on the machine moves it less); "×2" is
the CPU median against the size before it: 2 is linear, 4 quadratic.
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
    django_environ, load, machine, print_machine, print_table, summary, write_json,
)

SIZES = (1000, 2000, 4000, 8000, 16000)
OPERATIONS = ("propose", "page", "queue row", "approve")
TEI = "http://www.tei-c.org/ns/1.0"


def document_tei(xml_id: str) -> str:
    paragraphs = "".join(
        f'<p>Paragraph {i} of the memorandum, with <persName corresp="#p_KN{i}">Kishi</persName>'
        f' and a note.<note n="{i}" xml:id="{xml_id}fn{i}">Footnote {i}.</note></p>\n'
        for i in range(1, 11))
    return (f'<div xmlns="{TEI}" type="document" xml:id="{xml_id}" n="1">\n'
            f'<head>1. Memorandum of a Conversation<note type="source" xml:id="{xml_id}fn0">'
            f"Source: bench.</note></head>\n{paragraphs}</div>")


def fragment(n: int, word: str = "said") -> str:
    """N top-level blocks, about 55 bytes each, as the tests' builder writes them."""
    from tests.helpers import many_blocks  # after Django is set up: it imports the app

    return many_blocks(n, word)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]

    with tempfile.TemporaryDirectory(prefix="emend-bench-fragments-") as tmp:
        tmp = Path(tmp)
        (tmp / "static").mkdir()
        os.environ.update(django_environ(tmp, DATABASE_URL=f"sqlite:///{tmp / 'bench.sqlite3'}",
                                         EXPORT_ROOT=str(tmp / "out")))
        import django

        django.setup()
        from django.core.management import call_command

        info = machine()
        print_machine(info)
        call_command("migrate", verbosity=0)
        results = run(sizes, args.repeat)
    print()
    for scenario in ("insert", "replace"):
        rows = []
        for op in OPERATIONS:
            previous = None
            for n in sizes:
                s = results[scenario][op][str(n)]
                cpu = s["cpu"]["median"]
                ratio = f"×{cpu / previous:.2f}" if previous else ""
                previous = cpu
                rows.append([op if n == sizes[0] else "", f"{n:,}", f"{s['median']:.3f}",
                             f"{s['min']:.3f}–{s['max']:.3f}", f"{cpu:.3f}", ratio])
        print(f"{scenario}: seconds ({args.repeat} runs; ×2: CPU median against the size before)")
        print_table(["operation", "blocks", "median", "spread", "CPU", "×2"], rows, "lrrrrr")
        print()
    print("fragment bytes: " + ", ".join(f"{n:,}: {results['bytes'][str(n)]:,}" for n in sizes))
    print(f"load average: {info['load']} at the start, {load()} at the end")
    write_json(args.json, {"benchmark": "fragments", "machine": info, "results": results})
    return 0


def run(sizes: list[int], repeat: int) -> dict:
    from django.contrib.auth import get_user_model

    from edition.imports import create_document
    from edition.models import Edition, Membership
    from review.actions.approve import do_approve
    from review.actions.propose import ChangeSpec, do_propose
    from review.presentation import describe, rendered_result, short_diff

    edition, created = Edition.objects.get_or_create(
        slug="bench", defaults={"title": "Bench", "tei_header": "<x/>", "tei_skeleton": "<x/>"})
    User = get_user_model()
    editor, _ = User.objects.get_or_create(username="editor")
    reviewer, _ = User.objects.get_or_create(username="reviewer")
    if created:
        Membership.objects.create(edition=edition, user=editor, role="editor")
        Membership.objects.create(edition=edition, user=reviewer, role="reviewer")

    times = {s: {op: {str(n): [] for n in sizes} for op in OPERATIONS}
             for s in ("insert", "replace")}
    cpu = {s: {op: {str(n): [] for n in sizes} for op in OPERATIONS} for s in times}
    order = edition.documents.count()

    def timed(scenario: str, op: str, n: int, call):
        started, started_cpu = time.perf_counter(), time.process_time()
        value = call()
        times[scenario][op][str(n)].append(time.perf_counter() - started)
        cpu[scenario][op][str(n)].append(time.process_time() - started_cpu)
        return value

    def cycle(scenario: str, n: int, document, start: int, end: int, content: str) -> None:
        head = document.current_revision
        spec = ChangeSpec("structure", start, end, content, exact=head.text[start:end])
        proposal = timed(scenario, "propose", n, lambda: do_propose(
            document, author=editor, base_revision=head.number, changes=[spec],
            rationale="bench"))
        changes = list(proposal.changes.all())

        def page():
            [describe(c, proposal.anchor_revision) for c in changes]
            html, error = rendered_result(proposal, changes)
            assert html and not error, error

        timed(scenario, "page", n, page)
        timed(scenario, "queue row", n, lambda: [short_diff(c, head.text) for c in changes])
        revision = timed(scenario, "approve", n, lambda: do_approve(proposal, by=reviewer))
        assert revision is not None

    for n in sizes:
        for run_number in range(repeat):
            order += 1
            xml_id = f"d{order}"
            document = create_document(edition, xml_id, document_tei(xml_id),
                                       {"number": order, "title": "Bench"}, order=order,
                                       by=None, summary="bench")
            head = document.current_revision
            second = head.text.index("Paragraph 2 ")
            cycle("insert", n, document, second, head.text.index("\n\n", second),
                  fragment(n))
            document.refresh_from_db()
            head = document.current_revision
            first = head.text.index("\n\n") + 2  # after the head
            cycle("replace", n, document, first, len(head.text), fragment(n, "stated"))
            print(f"  {n:,} blocks, run {run_number + 1}: "
                  + ", ".join(f"{s} {op} {times[s][op][str(n)][-1]:.2f} s"
                              for s in times for op in ("propose", "approve")), flush=True)
    return {"bytes": {str(n): len(fragment(n).encode()) for n in sizes},
            **{s: {op: {k: {**summary(v), "cpu": summary(cpu[s][op][k])}
                        for k, v in by_n.items()} for op, by_n in ops.items()}
               for s, ops in times.items()}}


if __name__ == "__main__":
    sys.exit(main())
