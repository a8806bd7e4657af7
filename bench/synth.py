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


# -- whole volumes of tens of thousands of documents --------------------------------------------

FRONT_SAMPLE = "frus1958-60v18-with-front-matter.xml"
_KINDS = ["Telegram From the Embassy in Japan to the Department of State",
          "Memorandum of Conversation",
          "Letter From the Secretary of State to the Ambassador in Korea (Dowling)",
          "Memorandum From the Assistant Secretary of State for Far Eastern Affairs "
          "(Parsons) to the Secretary of State",
          "Telegram From the Department of State to the Embassy in Korea"]
_PLACES = ["Washington", "Tokyo", "Seoul", "Taipei", "Bangkok"]
_PARAGRAPHS = [
    "Prime Minister <persName corresp=\"#p_KN1\">Kishi</persName> mentioned that among the "
    "areas the Japanese desired further cooperation with the United States are such scientific "
    "fields as outer space, the exchange of meteorological information, and the study of "
    "typhoons and hurricanes.",
    "Secretary <persName corresp=\"#p_HCAJ1\">Herter</persName> said that the United States "
    "was prepared to cooperate as closely as possible with Japan in all scientific fields. He "
    "expressed his sympathy for the loss of life and damage resulting from the recent typhoon.",
    "The Ambassador observed that the question of the security treaty would come before the "
    "Diet in the spring, and that the Government expected a difficult debate; he hoped the "
    "Department would take no step that might be read in Tokyo as pressure.",
    "In reply to a question, the Minister said that his Government had not yet decided whether "
    "to raise the matter at the <gloss target=\"#t_UN1\">UN</gloss>, and that it would consult "
    "the United States before doing so.",
    "It was agreed that the two delegations would meet again after the holidays to review the "
    "draft, and that in the meantime neither side would make any public statement on the "
    "substance of the talks.",
]


def _frus_document(number: int, page: list[int]) -> str:
    """One FRUS-like document of 2–4 KB: a head with its source note, a dateline, paragraphs,
    a footnote or two and now and then a page break."""
    day = number % 28 + 1
    month = number // 28 % 12 + 1
    year = 1958 + number // 336 % 3
    stamp = f"{year}-{month:02d}-{day:02d}T{9 + number % 8:02d}:00:00-05:00"
    place = _PLACES[number % len(_PLACES)]
    notes = 1 + number % 3
    paragraphs = []
    for k in range(3 + number % 5):
        text = _PARAGRAPHS[(number + k) % len(_PARAGRAPHS)]
        if k < notes:
            text += (f'<note n="{k + 1}" xml:id="d{number}fn{k + 1}">Documents on the subject '
                     f"are in Department of State, Central File 794.{56301 + k}.</note>")
        if k == 2 and number % 4 == 0:
            page[0] += 1
            text = f'<pb n="{page[0]}" xml:id="pg_{page[0]}" facs="{page[0] + 30:04d}"/>' + text
        paragraphs.append(f"<p>{text}</p>")
    return (
        f'<div type="document" xml:id="d{number}" n="{number}" subtype="historical-document" '
        f'frus:doc-dateTime-min="{stamp}" frus:doc-dateTime-max="{stamp}">\n'
        f"<head>{number}. {_KINDS[number % len(_KINDS)]}<note n=\"0\" xml:id=\"d{number}fn0\" "
        f'type="source">Source: Department of State, Central Files, 611.94/{number}. '
        f"Confidential. Drafted by <persName corresp=\"#p_SRL2\">Sneider</persName>.</note>"
        f"</head>\n<opener><dateline rendition=\"#right\"><placeName>{place}</placeName>, "
        f'<date when="{stamp}" calendar="gregorian">{month}/{day}/{year}</date></dateline>'
        f"</opener>\n" + "\n".join(paragraphs) + "\n</div>\n")


def frus_volume(path: Path, n_docs: int, *, per_chapter: int = 250,
                chapters_per_compilation: int = 10, sample: Path | None = None) -> int:
    """Write a whole FRUS-like volume to `path`: the sample's header and front matter (preface,
    sources, abbreviations, persons), then `n_docs` documents of 2–4 KB in chapters of
    `per_chapter` inside compilations. Streamed: 50,000 documents make ~160 MB. Returns its
    size in bytes."""
    source = (sample or sample_path()).with_name(FRONT_SAMPLE).read_text()
    head, _, _ = source.partition("<body>")
    page = [1000]
    with path.open("w", encoding="utf-8") as out:
        out.write(head + "<body>\n")
        number = 0
        chapter = 0
        while number < n_docs:
            compilation = chapter // chapters_per_compilation + 1
            if chapter % chapters_per_compilation == 0:
                if chapter:
                    out.write("</div>\n")
                out.write(f'<div type="compilation" xml:id="comp{compilation}">'
                          f"<head>{COMPILATIONS[(compilation - 1) % len(COMPILATIONS)]} "
                          f"({compilation})</head>\n<p>Editorial note on the compilation.</p>\n")
            chapter += 1
            out.write(f'<div type="chapter" xml:id="ch{chapter}"><head>Chapter {chapter}: '
                      f"Relations, part {chapter}</head>\n")
            for _ in range(min(per_chapter, n_docs - number)):
                number += 1
                if number % 3 == 0:
                    page[0] += 1
                    out.write(f'<pb n="{page[0]}" xml:id="pg_{page[0]}" '
                              f'facs="{page[0] + 30:04d}"/>\n')
                out.write(_frus_document(number, page))
            out.write("</div>\n")
        out.write("</div>\n</body>\n</text>\n</TEI>\n")
    return path.stat().st_size
