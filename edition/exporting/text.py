"""Plain-text exports: UTF-8, one paragraph per line, in the layout of `render_plaintext`.

That layout corrects the one of the sample plain-text file (shared/samples/…-plaintext.txt):
note markers are bracketed and glued to their word (`Conversation[Source]`, not
`Conversation0`), a page break stands on its own line as `[Page 278]` instead of inside the
sentence, the notes are listed as `  [label] text`, and the file ends with a newline.

The volume is a title block (the volume's `<titlePage>`, else the header's title, editors and
imprint), then every unit in volume order (front matter, chapters and their documents, back
matter), each after a blank line and a rule, then a colophon naming the revision each unit was
built from. A single unit's file has the same title block and colophon around one unit.

Each document's text is cached per revision (`sources.fragment`): the volume is string joining.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timezone as dt_timezone

from ..tei.plaintext import render_plaintext
from . import sources
from .sources import Part, Volume
from .titlepage import title_page, to_text

VERSION = 2  # bump when the output changes: cached fragments and stored files are then rebuilt
FORMAT = "txt"
RULE = "=" * 72
# Between the title block, the documents and the colophon. Every piece ends with "\n", so this
# leaves a blank line, the rule, and a blank line.
SEPARATOR = f"\n{RULE}\n\n"


def document_text(part: Part) -> str:
    """`render_plaintext` of the part's revision (ends with one newline)."""
    return sources.fragment(FORMAT, VERSION, part,
                            lambda: render_plaintext(part.revision.element,
                                                     footnotes=part.revision.footnotes))


def volume(vol: Volume) -> bytes:
    return b"".join(volume_chunks(vol))


def volume_chunks(vol: Volume) -> Iterator[bytes]:
    """The volume's text a unit at a time, for a build to write as it comes. A chapter is a
    unit of its own: its heading (and introduction) stands above its units."""
    yield _title_block(vol).encode("utf-8")
    for part in vol.parts:
        yield (SEPARATOR + document_text(part)).encode("utf-8")
    yield (SEPARATOR + _colophon(vol)).encode("utf-8")


def document(vol: Volume, part: Part) -> bytes:
    return SEPARATOR.join([_title_block(vol), document_text(part),
                           _colophon(vol, part)]).encode("utf-8")


def _title_block(vol: Volume) -> str:
    edition = vol.edition
    blocks = title_page(edition)
    if blocks:
        return to_text(blocks)
    lines = [edition.title or edition.slug]
    if edition.editors:
        names = edition.editors
        joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        lines.append(f"Edited by {joined}")
    where = ": ".join(p for p in [edition.pub_place, edition.publisher_short] if p)
    imprint = ", ".join(p for p in [where, edition.pub_date] if p)
    if imprint:
        lines.append(imprint)
    return "\n".join(lines) + "\n"


def _colophon(vol: Volume, part: Part | None = None) -> str:
    when = f"{vol.built_at.astimezone(dt_timezone.utc):%Y-%m-%d %H:%M} UTC"
    if part is None:
        revisions = ", ".join(f"{xml_id} r{number}" for xml_id, number in vol.sources().items())
        lines = [f"Built from revisions {revisions} (document and revision number), on {when}."]
    else:
        lines = [f"Built from revision {part.revision.number} of {part.label} ({part.xml_id}), "
                 f"on {when}.",
                 f"This revision: {vol.site_url(part)}"]
    lines.append(f"The current text, its history and other formats: {vol.site_url()}")
    return "\n".join(lines) + "\n"
