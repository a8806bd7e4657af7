"""The OCR cross-check (issue 11) on printed pages of the real sample text.

    .venv/bin/python bench/ocr.py [--seeds 1] [--min-words 60] [--json PATH]

Every page of the front-matter sample (frus1958-60v18-with-front-matter.xml) with at least
`--min-words` words of text is printed by tests/ocr_pages.py at 300 dpi with five known
differences from the transcription (a misspelt word, a lost dash, a dropped word, a wrong digit,
an added word, where the page has a word for each), stored as an upload, and then, in
alternating order per page:

- `tesseract`: pytesseract's `image_to_data` on the same image, nothing else;
- `cross-check`: `edition.ocr.record.read_page` — the image from storage, Tesseract, the
  words parsed, aligned with the page's transcription, the suggestions recorded.

Figures: recall of the injected differences (goal ≥ 0.9), suggestions covering none of them per
page (goal ≤ 0.5), both at the recorded threshold and for a sweep of thresholds; the time ratio
cross-check / tesseract per page (goal ≤ 1.2) and the alignment alone. `--seeds N` prints each
page N times with different differences.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402
    django_environ, machine, print_machine, print_table, summary, test_database, write_json,
)

SAMPLE = "frus1958-60v18-with-front-matter.xml"
SWEEP = (0, 30, 50, 60, 70, 80, 90)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=1, help="prints of each page (1)")
    parser.add_argument("--min-words", type=int, default=60,
                        help="pages with fewer words are left out (60)")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()
    var = Path(tempfile.mkdtemp(prefix="emend-bench-ocr-"))
    os.environ.update(django_environ(var, MEDIA_ROOT=str(var / "media")))
    import django

    django.setup()
    with test_database("emend_bench_ocr"):
        figures = _measure(args)
    print_machine(figures["machine"])
    _report(figures)
    write_json(args.json, figures)
    return 0


def _measure(args) -> dict:
    import io

    import pytesseract
    from django.conf import settings
    from django.core.files.base import ContentFile
    from PIL import Image

    from edition import pages
    from edition.imports import import_tei
    from edition.models import PageImage
    from edition.ocr import align, available, engine, record
    from tests.ocr_pages import render, score

    ok, reason = available()
    if not ok:
        raise SystemExit(reason)
    edition = import_tei(settings.EMEND_SAMPLES_DIR / SAMPLE).edition
    pages.sync(edition)
    rows, by_kind, missed, sweep = [], Counter(), Counter(), {t: [0, 0, 0] for t in SWEEP}
    tess_s, full_s, ratio, align_ms = [], [], [], []
    threshold = settings.EMEND_OCR_MIN_CONFIDENCE
    prints = 0
    for seed in range(1, args.seeds + 1):
        for page in pages.pages(edition):
            known = align.transcription(page)
            if len(known.words) < args.min_words:
                continue
            printed = render(page, seed=seed)
            page.image.save(f"{page.facs}-{seed}.png", ContentFile(printed.png), save=False)
            page.source = PageImage.Source.UPLOAD
            page.save()
            prints += 1

            def alone():
                with Image.open(io.BytesIO(printed.png)) as image:
                    pytesseract.image_to_data(image, lang=engine.LANGUAGE,
                                              output_type=pytesseract.Output.DICT)

            def cross_check():
                record.read_page(PageImage.objects.select_related("edition").get(pk=page.pk))

            timed = {}
            order = [("tesseract", alone), ("full", cross_check)]
            for name, run in order if prints % 2 else order[::-1]:
                started = time.perf_counter()
                run()
                timed[name] = time.perf_counter() - started
            page.refresh_from_db()
            started = time.perf_counter()
            alignment = align.align(page)
            found = record.findings(alignment, page, threshold=0)
            align_ms.append((time.perf_counter() - started) * 1000)
            tess_s.append(timed["tesseract"])
            full_s.append(timed["full"])
            ratio.append(timed["full"] / timed["tesseract"])
            for t in SWEEP:
                kept = [f for f in found if f.confidence >= t]
                hit, false = score(printed.injected, kept)
                sweep[t][0] += len(hit)
                sweep[t][1] += len(printed.injected)
                sweep[t][2] += len(false)
            kept = [f for f in found if f.confidence >= threshold]
            hit, false = score(printed.injected, kept)
            for item in printed.injected:
                by_kind[item.kind] += 1
                if item not in hit:
                    missed[item.kind] += 1
            rows.append({"page": page.n, "seed": seed, "words": len(known.words),
                         "injected": len(printed.injected), "found": len(hit),
                         "false": [f"{f.exact!r}→{f.replacement!r} ({f.confidence:.0f})"
                                   for f in false],
                         "missed": [f"{i.kind}: {i.word.text!r}→{i.printed!r}"
                                    for i in printed.injected if i not in hit],
                         "tesseract_s": round(timed["tesseract"], 2),
                         "full_s": round(timed["full"], 2)})
    injected = sum(by_kind.values())
    return {
        "machine": machine(), "pages": prints, "threshold": threshold,
        "omp_thread_limit": os.environ.get("OMP_THREAD_LIMIT", ""),
        "recall": (injected - sum(missed.values())) / injected,
        "false_per_page": sum(len(r["false"]) for r in rows) / prints,
        "by_kind": {k: [by_kind[k] - missed[k], by_kind[k]] for k in sorted(by_kind)},
        "sweep": {t: {"recall": h / n, "false_per_page": f / prints}
                  for t, (h, n, f) in sweep.items()},
        "tesseract_s": summary(tess_s), "cross_check_s": summary(full_s),
        "ratio": summary(ratio), "align_ms": summary(align_ms), "rows": rows,
    }


def _report(figures: dict) -> None:
    print(f"{figures['pages']} printed pages; recorded threshold {figures['threshold']}; "
          f"OMP_THREAD_LIMIT={figures['omp_thread_limit'] or '(unset)'}")
    print(f"recall {figures['recall']:.3f} (goal ≥ 0.9); false suggestions per page "
          f"{figures['false_per_page']:.2f} (goal ≤ 0.5)")
    print("by kind: " + ", ".join(f"{k} {a}/{b}" for k, (a, b) in figures["by_kind"].items()))
    print_table(["threshold", "recall", "false / page"],
                [[str(t), f"{v['recall']:.3f}", f"{v['false_per_page']:.2f}"]
                 for t, v in figures["sweep"].items()], "rrr")
    print()
    rows = []
    for name, key, unit in (("tesseract alone", "tesseract_s", "s"),
                            ("cross-check (read_page)", "cross_check_s", "s"),
                            ("ratio cross-check / tesseract", "ratio", "×"),
                            ("alignment + findings", "align_ms", "ms")):
        s = figures[key]
        rows.append([name, *(f"{s[k]:.2f}" for k in ("median", "p95", "min", "max")), unit])
    print_table(["per page", "median", "p95", "min", "max", ""], rows, "lrrrrl")
    print()
    for row in figures["rows"]:
        if row["false"] or row["missed"]:
            print(f"[Page {row['page']}] seed {row['seed']}: missed {row['missed']}; "
                  f"false {row['false']}")


if __name__ == "__main__":
    sys.exit(main())
