"""JSON exports: each unit's text layer, its block structure, and its footnotes and page
breaks as W3C Web Annotations (https://www.w3.org/TR/annotation-model/).

    {"edition": {slug, title, editors, …, url}, "built_at": ISO 8601, "sources": {id: rev},
     "documents": [{"id", "number", "title", "type", "matter", "parent", "revision",
                    "checksum", "url", "text",
                    "structure": [{"type", "subtype"?, "start", "end"}],
                    "footnotes": [{"id", "label", "source", "offset", "text"}],
                    "pages": [{"id", "n", "offset"}]}],
     "annotations": [Annotation, …]}

"documents" holds every unit in volume order, not only the numbered documents: front matter
sections, chapters (their heading and introduction), documents, back matter. `type` is the
div's type ("document", "section", "compilation", "chapter"…), `matter` "front", "body" or
"back", `parent` the id of the enclosing unit (null at the top), `number` null but for
numbered documents.

Offsets are code points (Python `str` indices) into the document's `text`, which is the
revision's text layer (edition/tei/textlayer.py): the same offsets the review API uses.
`structure` lists the layer's blocks (paragraphs, headings, list items…), each with the TEI
element it comes from; blocks are separated in `text` by a blank line ("\\n\\n").

An annotation's target is the revision's page on the public site with two selectors, a
TextQuoteSelector and a TextPositionSelector, that select the same characters of `text`. Notes
and page breaks sit *between* characters; since many consumers cannot place an empty quote, the
target is a word next to the point:
- a footnote targets the word its marker follows ("recognition." for "recognition.[1]"), as a
  reader sees the marker attached; the exact point is the footnote's `offset`;
- a page break targets the first word of the new page; the exact point is the page's `offset`.
A point with no word next to it in its block targets the nearest word on the other side.

The per-document part is cached per revision (`sources.fragment`), as JSON text, so the volume
is string joining. Two revisions with the same TEI share a cache entry, so nothing that depends
on the revision number goes into it: the revision's URL is a placeholder until assembly.
"""

from __future__ import annotations

from functools import lru_cache

import html
import json
import re
from collections.abc import Iterator
from datetime import timezone as dt_timezone

from ..tei import XML_ID, local_name, textlayer
from ..tei.notes import unique_id
from ..tei.selectors import selector
from ..models import Document
from . import html as html_export
from . import sources
from .sources import Part, Volume

VERSION = 2  # bump when the output changes: cached fragments and stored files are then rebuilt
FORMAT = "json"
ANNO_CONTEXT = "http://www.w3.org/ns/anno.jsonld"

# The revision's URL in a cached fragment. json.dumps writes U+001F as the escape \u001f, and a
# string whose value *starts* with it is the only way to get `"\u001f` in its output (a quote
# inside a string is always escaped), while XML cannot carry U+001F at all: every `"\u001f` in a
# fragment is ours.
_REVISION_URL = "\x1f"
_REVISION_URL_JSON = '"\\u001f'
# Between the pieces of a cached fragment; json.dumps never writes it unescaped.
_PIECES = "\x1e"
# An in-document link in a footnote's HTML (text is escaped, so `<` always starts a tag).
_LOCAL_HREF = re.compile(r'(<a\b[^<>]*? href=")#')
# Whitespace of the text layer: spaces, and the "\n\n" between blocks.
_SPACE = " \n"


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)


# -- one document -----------------------------------------------------------------------------

def document_fragment(part: Part) -> str:
    """The part's cached JSON pieces: its document members, then one piece per annotation."""
    # The fragment holds HTML articles too: a new HTML version makes it stale as well.
    return sources.fragment(FORMAT, f"{VERSION}.{html_export.VERSION}", part,
                            lambda: _build(part))


def _build(part: Part) -> str:
    layer = part.revision.layer
    # The stored text layer is derived from this very TEI, so the two agree; offsets are taken
    # from the layer, so its text is the one they index.
    text = layer.text
    anchors = {anchor.element: anchor.offset for anchor in layer.notes}
    footnotes, annotations = [], []
    collected = part.revision.footnotes  # the renderers' list
    notes_html = _notes_html(part, collected)
    for fn, note_text in zip(collected, part.revision.note_texts, strict=True):
        offset = anchors.get(fn.element)
        if offset is None:  # both skip notes in fw and teiHeader: never happens, but be safe
            continue
        footnotes.append({"id": fn.id, "label": fn.label, "source": fn.is_source,
                          "offset": offset, "text": note_text})
        bodies = [{"type": "TextualBody", "value": note_text, "format": "text/plain"}]
        if fn.id in notes_html:
            bodies.append({"type": "TextualBody", "value": notes_html[fn.id],
                           "format": "text/html"})
        annotations.append(_annotation(f"fn-{fn.id}", "commenting", bodies,
                                       text, *_word_before(text, offset)))
    pages = []
    taken = {f"fn-{fn.id}" for fn in collected}
    for index, anchor in enumerate(layer.page_breaks, 1):
        pb = anchor.element
        n = " ".join((pb.get("n") or "").split())
        # The id the reading page gives the marker, so the annotation id points at it.
        page_id = unique_id((pb.get(XML_ID) or "").strip()
                            or (f"pg_{n}".replace(" ", "_") if n else f"page-break-{index}"),
                            taken)
        pages.append({"id": page_id, "n": n or None, "offset": anchor.offset})
        label = f"Page {n}" if n else "Page break"
        annotations.append(_annotation(
            page_id, "identifying",
            [{"type": "TextualBody", "value": label, "format": "text/plain"}],
            text, *_word_after(text, anchor.offset)))
    members = _dumps({"text": text, "structure": _structure(layer), "footnotes": footnotes,
                      "pages": pages})
    return _PIECES.join([members[1:-1], *(_dumps(a) for a in annotations)])


def _annotation(local_id: str, motivation: str, bodies: list[dict], text: str, start: int,
                end: int) -> dict:
    return {
        "@context": ANNO_CONTEXT,
        "id": f"{_REVISION_URL}#{local_id}",
        "type": "Annotation",
        "motivation": motivation,
        "body": bodies[0] if len(bodies) == 1 else bodies,
        "target": {
            "source": _REVISION_URL,
            "selector": [
                {"type": "TextQuoteSelector", **selector(text, start, end)},
                {"type": "TextPositionSelector", "start": start, "end": end},
            ],
        },
    }


def _word_before(text: str, offset: int) -> tuple[int, int]:
    """The word a point follows (spaces between are skipped, never a block separator)."""
    end = offset
    while end > 0 and text[end - 1] == " ":
        end -= 1
    start = end
    while start > 0 and text[start - 1] not in _SPACE:
        start -= 1
    if start == end:  # at the start of a block
        return _word_after(text, offset, fallback=False)
    return start, end


def _word_after(text: str, offset: int, *, fallback: bool = True) -> tuple[int, int]:
    """The word starting at a point, or the first one after it in its block."""
    start = offset
    while start < len(text) and text[start] == " ":
        start += 1
    end = start
    while end < len(text) and text[end] not in _SPACE:
        end += 1
    if start == end:  # at the end of a block or of the text
        return _word_before(text, offset) if fallback else (offset, offset)
    return start, end


def _structure(layer: textlayer.TextLayer) -> list[dict]:
    """The layer's blocks with the TEI element each comes from (that of its first character)."""
    first_segment: dict[int, textlayer.Segment] = {}
    for segment in layer.segments:
        if segment.content:
            first_segment.setdefault(segment.start, segment)
    blocks = []
    for start, end in layer.block_spans():
        segment = first_segment.get(start)
        if segment is None or start == end:
            continue
        host = segment.element if segment.slot == "text" else segment.element.getparent()
        block = next((el for el in (host, *host.iterancestors())
                      if local_name(el) in textlayer.BLOCK_ELEMENTS), host)
        entry = {"type": local_name(block)}
        subtype = block.get("type")
        parent = block.getparent()
        if not subtype and parent is not None and local_name(block) in ("head", "item", "label"):
            subtype = parent.get("type")  # a list's heading and items: "subject", "participants"
        if subtype:
            entry["subtype"] = subtype
        entry.update(start=start, end=end)
        blocks.append(entry)
    return blocks


def _notes_html(part: Part, footnotes) -> dict[str, str]:
    """Each footnote's body as the reading site renders it, taken from the HTML export's
    (cached) article: no second renderer, and the same markup readers see. Links are made
    absolute: other documents and this document's anchors on the public site."""
    article = html_export.article(part)
    public = sources.public_volume(part.document.edition).doc_href  # public URLs only
    hrefs: dict[str, str] = {}

    def site(xml_id: str) -> str:
        # Reversed once per document linked to, not once per note linking to it.
        if xml_id not in hrefs:
            hrefs[xml_id] = public(xml_id)
        return hrefs[xml_id]

    own_page = site(part.xml_id)
    end_of_list = article.rfind("\n</ol>\n</section>")
    bodies: dict[str, str] = {}
    for i, fn in enumerate(footnotes):
        start = article.find(f'<li id="fn-{html.escape(fn.id)}" class="')
        if start < 0:
            continue
        start = article.index("</span> ", start) + len("</span> ")  # after the label
        end = end_of_list
        if i + 1 < len(footnotes):
            following = footnotes[i + 1].id
            end = article.find(f'\n<li id="fn-{html.escape(following)}" class="',
                               start)
        item = article[start:end].removesuffix("</li>")
        back = item.rfind(' <a class="fn-back"')
        if back >= 0:
            item = item[:back]
        item = html_export.resolve_links(item, site)
        bodies[fn.id] = _LOCAL_HREF.sub(lambda m: f"{m[1]}{own_page}#", item)
    return bodies


# -- files ------------------------------------------------------------------------------------

def _document_pieces(vol: Volume, part: Part, parents: dict[int, str], *,
                     notes: bool = True) -> tuple[str, list[str]]:
    """The document object and its annotations (unless `notes` is False: an empty list), as
    JSON text."""
    members, *annotations = document_fragment(part).split(_PIECES)
    url = vol.site_url(part)
    doc = part.document
    head = _dumps({"id": part.xml_id, "number": doc.number, "title": doc.title,
                   "type": doc.div_type, "matter": doc.matter,
                   "parent": parents.get(vol.enclosing(doc)),
                   "revision": part.revision.number, "checksum": part.revision.checksum,
                   "url": url})
    document = f"{head[:-1]}, {members}}}"
    if not notes:
        return document, []
    url_json = '"' + _dumps(url)[1:-1]
    return document, [a.replace(_REVISION_URL_JSON, url_json) for a in annotations]


def _annotations(vol: Volume, part: Part) -> list[str]:
    """The part's annotations, as JSON text (`_document_pieces` without the document)."""
    _, *annotations = document_fragment(part).split(_PIECES)
    url_json = '"' + _dumps(vol.site_url(part))[1:-1]
    return [a.replace(_REVISION_URL_JSON, url_json) for a in annotations]


def _file(vol: Volume, parts: list[Part]) -> bytes:
    return b"".join(_file_chunks(vol, parts))


def _file_chunks(vol: Volume, parts: list[Part]) -> Iterator[bytes]:
    """The file a document at a time: the documents, then (a second pass over the cached
    pieces) the annotations, so a volume's never lies whole in memory."""
    edition = vol.edition
    head = _dumps({
        "edition": {
            "slug": edition.slug, "title": edition.title, "series_title": edition.series_title,
            "subseries": edition.subseries, "volume_number": edition.volume_number,
            "volume_title": edition.volume_title, "editors": edition.editors,
            "publisher": edition.publisher, "pub_place": edition.pub_place,
            "pub_date": edition.pub_date, "url": vol.site_url(),
        },
        "built_at": vol.built_at.astimezone(dt_timezone.utc).isoformat(timespec="seconds"),
        "sources": {p.xml_id: p.revision.number for p in parts},
        "format": {"name": "emend-annotations", "version": VERSION},
    })
    parents = _parent_ids(vol.edition)
    # A single document's file keeps its annotations for the second pass; a volume's makes
    # each document's again there, so it never holds them all.
    single = len(parts) == 1
    kept: list[str] = []
    # One document and one annotation per line: large volumes stay greppable and diffable.
    yield f'{head[:-1]},\n"documents": [\n'.encode("utf-8")
    for i, part in enumerate(parts):
        document, kept = _document_pieces(vol, part, parents, notes=single)
        yield ((",\n" if i else "") + document).encode("utf-8")
    yield '\n],\n"annotations": [\n'.encode("utf-8")
    first = True
    for part in parts:
        for note in (kept if single else _annotations(vol, part)):
            yield (("" if first else ",\n") + note).encode("utf-8")
            first = False
    yield "\n]}\n".encode("utf-8")


def _parent_ids(edition) -> dict[int, str]:
    """pk → xml_id of the units a part may stand in (the containers: chapters, compilations,
    sections), read once per edition and set of units, not once per document file."""
    return _containers(edition.pk, edition.created_at, edition.contents_version)


@lru_cache(maxsize=8)
def _containers(pk: int, created_at, contents_version: int) -> dict[int, str]:
    # created_at: a database rebuilt (tests) may hand the same pk and version to another edition.
    return dict(Document.objects.filter(edition_id=pk).exclude(div_type="document")
                .values_list("pk", "xml_id"))


def volume(vol: Volume) -> bytes:
    return _file(vol, vol.parts)


def volume_chunks(vol: Volume) -> Iterator[bytes]:
    return _file_chunks(vol, vol.parts)


def document(vol: Volume, part: Part) -> bytes:
    return _file(vol, [part])
