"""Where the volume PDF's memory goes: the process's RSS after each stage of one build.

    .venv/bin/python -m bench.pdf_memory [--docs 100,200] [--whole]

For each size, a process of its own imports the synthetic volume into a temporary SQLite
database and builds the volume PDF with `edition.exporting.pdf.volume` (laid out in pieces,
pdfbook.py), printing its resident memory and the peak (VmHWM) after the import and after the
build, the build's time and the number of pages. With `--whole`, another process builds it
the way `pdf.volume_whole` does (one layout of the whole volume), stage by stage: the print
HTML of every unit (from the fragment cache), the HTML parsed by WeasyPrint, the layout
(`render`: every page's boxes), the PDF written (`write_pdf`).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import django_environ, machine, print_machine, print_table  # noqa: E402
from bench.synth import synthetic_volume  # noqa: E402

STAGES = r"""
import gc, io, json, sys, time
import django
django.setup()
from django.core.management import call_command
from django.db import connection
from edition.exporting import pdf, pdfhtml
from edition.exporting.sources import load_volume
from edition.models import Edition

def rss():
    with open("/proc/self/status") as status:
        fields = dict(line.split(":", 1) for line in status)
    return {k: int(fields[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM")}

call_command("migrate", verbosity=0)
call_command("import_tei", sys.argv[1], no_progress=True, stdout=io.StringIO())
gc.collect()
stages = [("imported", rss())]
vol = load_volume(Edition.objects.get())
if sys.argv[2] == "pieces":
    for entry in vol.reading:  # the print HTML cached, as for "whole" (outside the timing)
        if entry is not None:
            pdf._unit(vol, entry)
            entry.part.release()
    gc.collect()
    stages.append(("print HTML of every unit (cached)", rss()))
    started, cpu = time.perf_counter(), time.process_time()
    data = pdf.volume(vol)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    import pypdfium2
    pages = len(pypdfium2.PdfDocument(data))
    stages.append((f"volume PDF in pieces ({pages} pages, {len(data) / 1e6:.1f} MB, "
                   f"{seconds:.0f} s, CPU {cpu:.0f} s)", rss()))
    print(json.dumps({"stages": stages, "pages": pages}))
    sys.exit(0)
body = [pdf._title_page(vol)]
for entry in vol.reading:
    body.append(pdf._contents(vol) if entry is None else pdf._unit(vol, entry))
    if entry is not None:
        entry.part.release()
page = ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>t</title></head>'
        f'<body>\n{pdf._resolve_links(chr(10).join(body), vol)}\n</body></html>\n')
del body
stages.append((f"print HTML of every unit ({len(page) / 1e6:.1f} MB)", rss()))
fetcher = pdf.OfflineFetcher(timeout=1)
html = pdf.HTML(string=page, base_url="about:blank", url_fetcher=fetcher)
stages.append(("HTML parsed by WeasyPrint", rss()))
started, cpu = time.perf_counter(), time.process_time()
document = html.render(stylesheets=[pdf.CSS(string=pdf.STYLE, url_fetcher=fetcher)])
stages.append((f"laid out ({len(document.pages)} pages)", rss()))
data = document.write_pdf()
stages.append((f"PDF written ({len(data) / 1e6:.1f} MB, {time.perf_counter() - started:.0f} s, "
               f"CPU {time.process_time() - cpu:.0f} s)", rss()))
print(json.dumps({"stages": stages, "pages": len(document.pages)}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", default="100,200")
    parser.add_argument("--whole", action="store_true",
                        help="also build it in one layout, stage by stage (as before pdfbook)")
    args = parser.parse_args()
    print_machine(machine())
    for n in [int(x) for x in args.docs.split(",")]:
        with tempfile.TemporaryDirectory(prefix="emend-bench-pdf-") as tmp:
            tmp = Path(tmp)
            volume = tmp / "volume.xml"
            volume.write_bytes(synthetic_volume(n))
            for how in ["pieces", "whole"] if args.whole else ["pieces"]:
                db = tmp / f"bench-{how}.sqlite3"
                env = django_environ(tmp, DATABASE_URL=f"sqlite:///{db}")
                done = subprocess.run([sys.executable, "-c", STAGES, str(volume), how],
                                      cwd=ROOT, env=env, check=True, stdout=subprocess.PIPE,
                                      text=True)
                result = json.loads(done.stdout.strip().splitlines()[-1])
                print(f"\n{n} documents, {result['pages']} pages, {how}")
                print_table(["stage", "RSS MB", "peak MB"],
                            [[name, f"{m['VmRSS']:.0f}", f"{m['VmHWM']:.0f}"]
                             for name, m in result["stages"]], "lrr")
    return 0


if __name__ == "__main__":
    sys.exit(main())
