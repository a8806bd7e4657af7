"""A FRUS document scraped as plain text from a rendered page, turned into a TEI document `div`.

Such text is lossy (markers glued to words, lists emptied, page breaks left inline). Only what the
layout makes certain is recovered; everything else is kept verbatim and named in `report`, because
repairing content is the editors' job, done through proposals and reviews.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from lxml import etree

from . import FRUS_NS, TEI_NS, XML_ID, findings, tei
from .parsing import TEIError

HEADING = re.compile(r"(\d+)\.(?:\s+(.*))?")
ENTRY = re.compile(r"(\s*)(\d+)\.\s+(\S.*)")
BULLET = re.compile(r"\s*[•*-]\s+(.*)")
LIST_LABEL = re.compile(r"(SUBJECT|PARTICIPANTS):?")
PAGE_LINE = re.compile(r"\[Page ([^\]\s]+)\]")
PAGE = re.compile(r"(\s*)\[Page ([^\]\s]+)\](\s*)")
# A marker is glued to a letter or closing punctuation; a number after a space ("Lot 64") is text.
MARKER = re.compile(r"(?<=[^\W\d_]|[.,;:!?)\]’”\"'])(\d+)(?=\s|$)")
# Characters XML 1.0 cannot hold at all; lxml would refuse the whole document for one of them.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


@dataclass
class TextImport:
    tei: str
    number: int
    xml_id: str
    title: str
    report: list[str]
    # What the text lost and the layout cannot tell: fixes for the editors to propose.
    findings: list[findings.Finding] = field(default_factory=list)


@dataclass
class _Page:
    n: str


@dataclass
class _Entry:
    number: int
    text: str
    line: str
    tokens: list = field(default_factory=list)


@dataclass(eq=False)
class _Mark:
    n: int
    raw: str
    in_head: bool
    context: str
    entry: _Entry | None = None
    source: bool = False


Token = str | _Page | _Mark


def parse_plaintext(text: str, *, number: int | None = None) -> TextImport:
    """Build the document `div` from plain text; raises TEIError if the text is not a document."""
    return _Importer(text, number).run()


class _Importer:
    def __init__(self, text: str, number: int | None) -> None:
        self.text = text
        self.number_arg = number
        self.report: list[str] = []
        self.marks: list[_Mark] = []
        self.next_mark: int | None = None  # None: the first marker may be 0 (source) or 1
        self.page_ids: set[str] = set()

    def run(self) -> TextImport:
        if self.number_arg is not None and self.number_arg < 1:
            raise TEIError(f"a document number is a positive integer, not {self.number_arg}")
        lines = self._normalised_lines()
        nonempty = [line for line in lines if line.strip()]
        if not nonempty:
            raise TEIError("the text is empty: a document needs at least a heading line")
        heading, body = nonempty[0].strip(), nonempty[1:]
        if any(pattern.fullmatch(heading) for pattern in (PAGE_LINE, LIST_LABEL, BULLET)):
            raise TEIError(
                f"no heading: the first line should read like '143. Title', not {heading!r}"
            )
        number, head_prefix, title_text = self._heading(heading)
        xml_id = f"d{number}"

        body, entries = self._footnote_list(body)
        head_tokens = self._tokens(title_text, marks=True, in_head=True)
        title = "".join(t for t in head_tokens if isinstance(t, str)).strip()
        self.report.insert(0, f"Heading: document {number}, {title!r}")
        if not title:
            self.report.append("Heading has no title")
        blocks = self._blocks(body)
        for entry in entries:
            entry.tokens = self._tokens(entry.text, marks=False)
        self._infer_unmarked_source(head_tokens, entries)
        leftover = self._match(entries)

        div = etree.Element(tei("div"), nsmap={None: TEI_NS, "frus": FRUS_NS})
        div.set("type", "document")
        div.set(XML_ID, xml_id)
        div.set("n", str(number))
        div.set("subtype", "historical-document")
        head = etree.SubElement(div, tei("head"))
        self._fill(head, [head_prefix, *head_tokens], xml_id)
        for block in blocks:
            self._build_block(div, block, xml_id)
        for entry in leftover:
            tokens = self._tokens(entry.line, marks=False)
            self._fill(etree.SubElement(div, tei("p")), tokens, xml_id)
        paragraphs = sum(1 for b in blocks if b[0] == "p") + len(leftover)
        self.report.append(f"{paragraphs} paragraph{'s' * (paragraphs != 1)}")
        found = findings.find(div)
        self.report += [finding.report_line for finding in found]
        serialized = etree.tostring(div, encoding="unicode")
        return TextImport(serialized, number, xml_id, title, self.report, found)

    def _normalised_lines(self) -> list[str]:
        text = self.text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
        text = unicodedata.normalize("NFC", text)
        text, dropped = NOT_XML.subn("", text)
        if dropped:
            self.report.append(f"Removed {dropped} control character(s) that XML cannot hold")
        return [line.rstrip() for line in text.split("\n")]

    def _heading(self, heading: str) -> tuple[int, str, str]:
        """The document number, the "143. " prefix kept in the head, and the title text."""
        match = HEADING.fullmatch(heading)
        if match is None:
            if self.number_arg is None:
                raise TEIError(
                    f"the heading {heading!r} has no document number (expected '143. Title'); "
                    "give the number explicitly"
                )
            self.report.append(f"Heading has no number: '{self.number_arg}. ' prefixed")
            return self.number_arg, f"{self.number_arg}. ", heading
        stated = int(match.group(1))
        title_text = match.group(2) or ""
        prefix = heading[: len(heading) - len(title_text)] if title_text else heading
        if self.number_arg is not None and self.number_arg != stated:
            self.report.append(
                f"Heading says document {stated} but {self.number_arg} was given: using "
                f"{self.number_arg}, heading text kept as it is"
            )
            return self.number_arg, prefix, title_text
        return stated, prefix, title_text

    def _footnote_list(self, body: list[str]) -> tuple[list[str], list[_Entry]]:
        """Split off the trailing run of consecutively numbered, equally indented "N. x" lines."""
        start = len(body)
        while start > 0 and (match := ENTRY.fullmatch(body[start - 1])):
            if start < len(body):
                later = ENTRY.fullmatch(body[start])
                if int(match.group(2)) + 1 != int(later.group(2)) or bool(match.group(1)) != bool(
                    later.group(1)
                ):
                    break
            start -= 1
        entries = []
        for line in body[start:]:
            match = ENTRY.fullmatch(line)
            entries.append(_Entry(int(match.group(2)), match.group(3), line.strip()))
        if len(entries) == 1:
            self.report.append(f"Footnote list of 1 entry (numbered {entries[0].number})")
        elif entries:
            self.report.append(
                f"Footnote list of {len(entries)} entries "
                f"(numbered {entries[0].number}–{entries[-1].number})"
            )
        return body[:start], entries

    def _blocks(self, body: list[str]) -> list[tuple]:
        blocks: list[tuple] = []
        for raw in body:
            line = raw.strip()
            if (page := PAGE_LINE.fullmatch(line)) is not None:
                blocks.append(("pb", _Page(page.group(1))))
            elif (label := LIST_LABEL.fullmatch(line)) is not None:
                blocks.append(("list", label.group(1).lower(), line, []))
            elif (bullet := BULLET.fullmatch(line)) and blocks and blocks[-1][0] == "list":
                blocks[-1][3].append(self._tokens(bullet.group(1).strip(), marks=True))
            else:
                blocks.append(("p", self._tokens(line, marks=True)))
        for block in blocks:
            if block[0] == "list" and not block[3]:
                self.report.append(f"{block[2]} list has no entries (kept as an empty item)")
            elif block[0] == "list":
                items = len(block[3])
                self.report.append(f"{block[2]} list with {items} item{'s' * (items != 1)}")
        return blocks

    def _tokens(self, text: str, *, marks: bool, in_head: bool = False) -> list[Token]:
        """Split text at inline page breaks and (when `marks`) at in-sequence footnote markers."""
        tokens: list[Token] = []
        pos = 0
        split = (lambda part: self._marked(part, in_head)) if marks else (lambda part: [part])
        for page in PAGE.finditer(text):
            tokens += split(text[pos : page.start()])
            spaced = page.group(1) or page.group(3)
            if spaced and page.start() > 0 and page.end() < len(text):
                tokens.append(" ")
            tokens.append(_Page(page.group(2)))
            pos = page.end()
        tokens += split(text[pos:])
        return tokens

    def _marked(self, text: str, in_head: bool) -> list[Token]:
        tokens: list[Token] = []
        pos = 0
        for match in MARKER.finditer(text):
            n = int(match.group(1))
            if n != self.next_mark and not (self.next_mark is None and n in (0, 1)):
                continue
            before = text[pos : match.start()]
            context = " ".join(text[: match.start()].split()[-3:])
            mark = _Mark(n, match.group(1), in_head, context)
            tokens += [before, mark]
            self.marks.append(mark)
            self.next_mark = n + 1
            pos = match.end()
        tokens.append(text[pos:])
        return tokens

    def _infer_unmarked_source(self, head_tokens: list[Token], entries: list[_Entry]) -> None:
        # Scrapers often drop the heading's marker; a leading "Source:" entry still belongs there.
        if any(m.in_head for m in self.marks) or not entries:
            return
        if not entries[0].text.startswith("Source:") or (self.marks and self.marks[0].n == 0):
            return
        mark = _Mark(0, "", True, "")
        head_tokens.append(mark)
        self.marks.insert(0, mark)
        self.report.append("Source note had no marker in the heading: placed at the heading's end")

    def _match(self, entries: list[_Entry]) -> list[_Entry]:
        """Pair markers and list entries in order; returns the entries left without a marker."""
        pairs = list(zip(self.marks, entries))
        if any(m.n != e.number for m, e in pairs if m.raw):
            self.report.append(
                f"Footnote list numbered from {entries[0].number}, markers from "
                f"{self.marks[0].n}: matched in order"
            )
        for mark, entry in pairs:
            mark.entry = entry
            mark.source = mark.in_head and entry.text.startswith("Source:")
            if mark.source and mark.raw:
                self.report.append("Source note matched to the marker after the heading")
            elif mark.in_head:
                self.report.append(f"Footnote {mark.n} is in the heading but is not a source note")
            else:
                self.report.append(
                    f"Footnote {mark.n} matched to the marker after {mark.context!r}"
                )
        for mark in self.marks[len(entries) :]:
            self.report.append(
                f"Marker {mark.raw} after {mark.context!r} has no footnote list entry "
                "(kept as text)"
            )
        for entry in entries[len(self.marks) :]:
            self.report.append(
                f"Footnote list entry {entry.number} has no marker in the text "
                "(kept as a paragraph at the end)"
            )
        return entries[len(self.marks) :]

    def _build_block(self, div: etree._Element, block: tuple, xml_id: str) -> None:
        if block[0] == "pb":
            self._fill(div, [block[1]], xml_id)
        elif block[0] == "list":
            lst = etree.SubElement(div, tei("list"), type=block[1])
            etree.SubElement(lst, tei("head")).text = block[2]
            for tokens in block[3] or [[]]:
                self._fill(etree.SubElement(lst, tei("item")), tokens, xml_id)
        else:
            self._fill(etree.SubElement(div, tei("p")), block[1], xml_id)

    def _fill(self, parent: etree._Element, tokens: list[Token], xml_id: str) -> None:
        """Append tokens to `parent`: text, `pb`s, and `note`s where matched markers stand."""
        last: etree._Element | None = None

        def add_text(text: str) -> None:
            if not text:
                return
            if last is None:
                parent.text = (parent.text or "") + text
            else:
                last.tail = (last.tail or "") + text

        for token in tokens:
            if isinstance(token, str):
                add_text(token)
            elif isinstance(token, _Page):
                last = etree.SubElement(parent, tei("pb"), n=token.n)
                if token.n in self.page_ids:
                    self.report.append(f"Page break {token.n} appears twice (second has no xml:id)")
                else:
                    last.set(XML_ID, f"pg_{token.n}")
                    self.page_ids.add(token.n)
                    self.report.append(f"Page break {token.n} recognised")
            elif token.entry is None:
                add_text(token.raw)
            else:
                last = etree.SubElement(parent, tei("note"), n=str(token.n))
                last.set(XML_ID, f"{xml_id}fn{token.n}")
                if token.source:
                    last.set("type", "source")
                self._fill(last, token.entry.tokens, xml_id)
