"""A synthetic FRUS volume built from the sample excerpt, for the benchmarks.

The sample holds two documents (d142, d144); a real volume holds hundreds of about 10 KB each.
`synthetic_volume` clones them alternately under fresh numbers, pads each with its own
paragraphs, and renumbers every xml:id so the importer (which refuses duplicates) accepts it.
"""

from __future__ import annotations

import copy
import os
import re
import sys
from collections import Counter
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = "frus1958-60v18-excerpt.xml"

TEI_NS = "http://www.tei-c.org/ns/1.0"
XML_ID = "{http://www.w3.org/XML/1998/namespace}id"
COMPILATIONS = ["Japan", "Korea", "China", "Southeast Asia", "Regional Affairs"]
TARGET_DOC_BYTES = 10_000


def _tei(name: str) -> str:
    return f"{{{TEI_NS}}}{name}"


def sample_path() -> Path:
    """The excerpt in settings.EMEND_SAMPLES_DIR, found the way settings.py finds it."""
    default = ROOT.parent / "shared" / "samples"
    return Path(os.environ.get("EMEND_SAMPLES_DIR", str(default))) / SAMPLE


def synthetic_volume(n_docs: int = 400, *, sample: Path | None = None) -> bytes:
    """The sample's TEI header, then documents d1..dN (~10 KB each) in a few compilations."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    source = etree.parse(str(sample or sample_path()), parser).getroot()
    templates = [
        source.find(f".//{_tei('div')}[@{XML_ID}='{xml_id}']") for xml_id in ("d142", "d144")
    ]
    templates = [_padded(t) for t in templates]

    root = etree.Element(source.tag, nsmap=source.nsmap)
    root.attrib.update(source.attrib)
    root.text = "\n"
    header = copy.deepcopy(source.find(_tei("teiHeader")))
    header.tail = "\n"
    root.append(header)
    text = etree.SubElement(root, _tei("text"))
    body = etree.SubElement(text, _tei("body"))
    text.text, body.text, text.tail, body.tail = "\n", "\n", "\n", "\n"

    per_part = -(-n_docs // len(COMPILATIONS))  # ceiling
    compilation = None
    for number in range(1, n_docs + 1):
        if (number - 1) % per_part == 0:
            k = (number - 1) // per_part
            compilation = etree.SubElement(
                body, _tei("div"), {"type": "compilation", XML_ID: f"comp{k + 1}"}
            )
            head = etree.SubElement(compilation, _tei("head"))
            head.text = COMPILATIONS[k % len(COMPILATIONS)]
            head.tail = "\n"
            compilation.tail = "\n"
        elif number > 1:
            # As in the sample: a page break between two documents opens the later one's page.
            etree.SubElement(compilation, _tei("pb")).tail = "\n"
        compilation.append(_document(templates[(number - 1) % 2], number))

    _renumber_pages(root)
    ids = Counter(e.get(XML_ID) for e in root.iter() if e.get(XML_ID) is not None)
    duplicates = [xml_id for xml_id, count in ids.items() if count > 1]
    assert not duplicates, f"duplicate xml:ids in the synthetic volume: {sorted(duplicates)[:5]}"
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _padded(template: etree._Element) -> etree._Element:
    """A copy of the document with its paragraphs repeated until it is about 10 KB."""
    doc = copy.deepcopy(template)
    paragraphs = doc.findall(_tei("p"))
    i = 0
    while len(etree.tostring(doc)) < TARGET_DOC_BYTES:
        clone = copy.deepcopy(paragraphs[i % len(paragraphs)])
        last = doc[-1]
        clone.tail, last.tail = last.tail, paragraphs[0].tail  # keep the indentation
        doc.append(clone)
        i += 1
    return doc


def _document(template: etree._Element, number: int) -> etree._Element:
    doc = copy.deepcopy(template)
    doc.set(XML_ID, f"d{number}")
    doc.set("n", str(number))
    head = doc.find(_tei("head"))
    head.text = re.sub(r"^\s*\d+\.", f"{number}.", head.text or "")
    for k, note in enumerate(e for e in doc.iter(_tei("note")) if e.get(XML_ID)):
        note.set(XML_ID, f"d{number}fn{k}")
        note.set("n", str(k))
    doc.tail = "\n"
    return doc


def _renumber_pages(root: etree._Element) -> None:
    """Page breaks numbered in document order, unique across the volume: pg_1, pg_2, …"""
    for page, pb in enumerate(root.iter(_tei("pb")), start=1):
        pb.set("n", str(page))
        pb.set(XML_ID, f"pg_{page}")
        pb.set("facs", f"{page + 30:04d}")


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    data = synthetic_volume(n)
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else None
    if out:
        out.write_bytes(data)
    print(f"synthetic volume: {n} documents, {len(data):,} bytes "
          f"({len(data) / n:,.0f} per document)" + (f" -> {out}" if out else ""))
