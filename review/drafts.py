"""A change being drafted in the proposing form: what people typed, normalised to the text
layer, and placed on the revision they selected in.

The reading view's script (review/static/review/propose.js) sends code-point offsets with the
quote and its context; without JavaScript the person types the quote. Either way the quote has
the last word: it must be the text at the offsets, or be placed by `place_quote` (near the
offsets, or anywhere for a typed quote) before anything reaches `actions.propose`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace

from lxml import etree

from edition.models import Revision
from edition.tei import edits, markup, metadata, tei
from edition.tei.parsing import TEIError
from edition.tei.selectors import Quote, QuoteAmbiguous, QuoteNotFound, place_quote, selector

from .actions import ProposalError, sentence
from .actions.propose import ChangeSpec, check_limits
from .models import Change, attributes_content
from .transform import apply_changes

Kind = Change.Kind
NEAR = 64  # code points: how far from the posted offsets a mismatched quote may be found
SHOWN = 40  # code points of context shown around a placed passage
# The form's field for each kind's content.
CONTENT_FIELD = {Kind.TEXT: "replacement", Kind.NOTE_ADD: "note_body",
                 Kind.STRUCTURE: "fragment", Kind.NOTE_EDIT: "note_edit_body"}
# A metadata change's form fields, one per attribute it may set.
METADATA_FIELDS = {"date_min": metadata.DATE_MIN, "date_max": metadata.DATE_MAX}
# A markup change's form fields: what to do, the element, and one field per attribute offered.
MARKUP_ATTRIBUTES = ("corresp", "ref", "target", "when", "rend", "type")
MARKUP_FIELDS = ("markup_operation", "markup_element", "attr_corresp_pick",
                 *(f"attr_{name}" for name in MARKUP_ATTRIBUTES))
TYPED_FIELDS = (*CONTENT_FIELD.values(), *METADATA_FIELDS, *MARKUP_FIELDS)


class DraftError(Exception):
    """Something the person must fix; `matches` are the places a quote was found."""

    def __init__(self, message: str, matches: list[dict] | None = None) -> None:
        super().__init__(message)
        self.message, self.matches = message, matches or []


# ------------------------------------------------------------------------------------------
# Normalising what people type


def clean(value: str) -> str:
    """NFC and one kind of line break: the text layer is NFC and never holds a CR."""
    return unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n"))


def clean_typed(value: str) -> str:
    """A typed quote in layer form: a blank line separates blocks, other whitespace is a space.

    Quotes the script sends are layer text already and must stay exactly as they are: a
    prefix may end in a space, or begin with half of a block separator.
    """
    blocks = re.split(r"[ \t]*\n[ \t\n]*\n[ \t\n]*", clean(value).strip(" \t\n"))
    return "\n\n".join(re.sub(r"[ \t\n]+", " ", block) for block in blocks)


def clean_replacement(value: str) -> str:
    # A block of the layer has no line breaks or doubled spaces (paragraph splits are
    # structural fixes), so any whitespace run a person types means one space; a line break
    # at either end (Enter pressed after the text) means nothing.
    value = re.sub(r"^[ \t]*\n\s*|\s*\n[ \t]*$", "", clean(value))
    return re.sub(r"[ \t\n]+", " ", value)


@dataclass
class Draft:
    """The change being edited; offsets refer to the form's revision once placed."""

    kind: str = Kind.TEXT
    start: int | None = None
    end: int | None = None
    exact: str = ""
    prefix: str = ""
    suffix: str = ""
    content: str = ""
    note_id: str = ""
    placement: str = "replace"  # structural fixes: replace the blocks, or insert "before"
    typed: dict[str, str] | None = None  # every kind's content field, kept across round trips

    @property
    def is_empty(self) -> bool:
        if self.kind == Kind.METADATA:
            return not (self.content or any((self.typed or {}).get(f) for f in METADATA_FIELDS))
        return not (self.exact or self.start is not None or self.note_id or self.content)

    def spec(self) -> ChangeSpec:
        exact = None if self.kind in Change.EXISTING_NOTE_KINDS else self.exact
        return ChangeSpec(self.kind, self.start, self.end, self.content, exact=exact,
                          note_id=self.note_id)


# ------------------------------------------------------------------------------------------
# Placing a selection or a typed quote on the text layer


def blocks(revision: Revision) -> list[tuple[int, int]]:
    # The same top-level spans replace_blocks works with (edition/tei/edits.py).
    return [span for _, span in edits.child_spans(revision.element, revision.layer)
            if span[0] is not None]


def place(revision: Revision, draft: Draft, choice: int | None = None) -> Draft:
    """The draft with offsets that hold on `revision`, or DraftError saying what to fix.
    `choice` is a place the person picked among several matches of a typed quote."""
    text = revision.text
    if draft.kind == Kind.METADATA:
        return replace(draft, start=0, end=0, exact="", prefix="", suffix="",
                       content=_metadata_content(revision, draft))
    if draft.kind in Change.EXISTING_NOTE_KINDS:
        note = revision.layer.note(draft.note_id) if draft.note_id else None
        if note is None:
            raise DraftError("Choose the footnote to edit or remove.")
        return replace(draft, start=note.offset, end=note.offset, exact="")
    if draft.start is not None:
        start, end = draft.start, draft.end
        if end > len(text):
            raise DraftError(f"The selection ({start}–{end}) lies outside the text of revision "
                             f"{revision.number}; reload the page and select again.")
        if text[start:end] != draft.exact or (not draft.exact and not _context_holds(
                text, start, draft)):
            start, end = _near(revision, draft)
    elif draft.exact:
        start = _typed(text, draft, choice)
        end = start + len(draft.exact)
    else:
        raise DraftError("Select a passage in the document, or type it in “Passage”.")
    placed = replace(draft, start=start, end=end, **selector(text, start, end))
    if draft.kind == Kind.MARKUP:
        return replace(placed, content=_markup_content(draft))
    if draft.kind == Kind.NOTE_ADD:  # a footnote follows the selection
        return replace(placed, start=end, **selector(text, end, end))
    if draft.kind == Kind.STRUCTURE:
        return whole_blocks(revision, placed)
    return placed


def _metadata_content(revision: Revision, draft: Draft) -> str:
    """The attributes typed that differ from the revision's, checked (metadata's rules)."""
    if draft.content and not draft.typed:  # a queued change: already placed
        return draft.content
    now = metadata.values_of(revision.element)
    typed = {attribute: (draft.typed or {}).get(field, "")
             for field, attribute in METADATA_FIELDS.items()}
    values = {name: value for name, value in typed.items() if now.get(name, "") != value}
    if not values:
        raise DraftError("The document already has these dates: change one, or choose "
                         "another kind of change.")
    try:
        metadata.check(typed)
    except metadata.MetadataError as exc:
        raise DraftError(sentence(str(exc))) from None
    return attributes_content(values)


def _markup_content(draft: Draft) -> str:
    """The markup chosen in the form, checked against the allow-list (edition.tei.markup)."""
    if draft.content and not draft.typed:  # a queued change: already placed
        return draft.content
    typed = draft.typed or {}
    attributes = {name: typed[f"attr_{name}"] for name in MARKUP_ATTRIBUTES
                  if typed.get(f"attr_{name}")}
    if typed.get("attr_corresp_pick"):  # picked from the volume's lists (no JavaScript)
        attributes["corresp"] = typed["attr_corresp_pick"]
    payload = markup.Markup(typed.get("markup_operation") or "wrap",
                            typed.get("markup_element", ""), attributes)
    try:
        return markup.check(payload).to_content()
    except markup.MarkupError as exc:
        raise DraftError(sentence(str(exc))) from None


def dates_from_dateline(revision: Revision, fragment: str) -> dict[str, str]:
    """The form's date fields from the dateline of the fragment being drafted, else of the
    document; DraftError when neither states a date."""
    sources = []
    if fragment.strip():
        try:
            _, elements = edits.parse_fragment_list(fragment, allowed=set(edits.ALLOWED))
        except ValueError as exc:
            raise DraftError(f"The TEI of the blocks does not parse: {exc}") from None
        wrapper = etree.Element(tei("div"))
        wrapper.extend(elements)
        sources.append(wrapper)
    sources.append(revision.element)
    for source in sources:
        dates = metadata.dateline_dates(source)
        if dates:
            return {field: dates[attribute] for field, attribute in METADATA_FIELDS.items()}
    raise DraftError("No dateline with a date was found, in the blocks or in the document: "
                     "write the dateline (with <date when=\"…\"> or from/to) first.")


def _context_holds(text: str, start: int, draft: Draft) -> bool:
    return text[:start].endswith(draft.prefix) and text[start:].startswith(draft.suffix)


def _near(revision: Revision, draft: Draft) -> tuple[int, int]:
    """A quote that is not at the posted offsets, placed close to them.

    The script's offsets can drift where the page shows text the layer lacks (or the other
    way round); the quote is what the person saw, so it decides. A point goes by its context.
    """
    quote = Quote(draft.exact, draft.prefix, draft.suffix)
    try:
        start = place_quote(revision.text, quote, hint=draft.start,
                            within=NEAR + len(draft.exact))
    except (QuoteNotFound, QuoteAmbiguous):
        reads = revision.text[draft.start:draft.end]
        raise DraftError(
            f"The passage “{draft.exact[:60]}” is not at {draft.start}–{draft.end} of revision "
            f"{revision.number} (the text there reads “{reads[:60]}”). Select it again, or "
            "reload the page if the document has changed.") from None
    return start, start + len(draft.exact)


def _typed(text: str, draft: Draft, choice: int | None) -> int:
    """Where a typed quote stands; several equally good places → ask which one."""
    if choice is not None and text.startswith(draft.exact, choice):
        return choice
    try:
        return place_quote(text, Quote(draft.exact, draft.prefix, draft.suffix))
    except QuoteNotFound:
        raise DraftError(f"“{draft.exact[:80]}” does not occur in the text. Copy it from the "
                         "page as it reads now.") from None
    except QuoteAmbiguous as exc:
        matches = [{"start": c, "before": text[max(c - SHOWN, 0):c],
                    "exact": draft.exact, "after": text[c + len(draft.exact):][:SHOWN]}
                   for c in exc.candidates[:20]]
        raise DraftError(f"“{draft.exact[:80]}” occurs {len(exc.candidates)} times. Choose "
                         "one, or add a few words before or after it under “Context”.",
                         matches) from None


def whole_blocks(revision: Revision, draft: Draft) -> Draft:
    """A structural fix covers whole top-level blocks, or is a point where one begins."""
    spans, start, end = blocks(revision), draft.start, draft.end
    if draft.placement == "before" or (start == end and any(a == start for a, _ in spans)):
        holder = next(((a, b) for a, b in spans if a <= start <= b), None)
        if holder is None:
            raise DraftError("No block of the document holds this place.")
        span = (holder[0], holder[0])
        placement = "before"
    else:
        covered = [(a, b) for a, b in spans if a <= start <= b or (a < end and b > start)]
        if not covered:
            raise DraftError("The selection does not lie in a block of the document.")
        span = (covered[0][0], covered[-1][1])
        placement = "replace"
    return replace(draft, start=span[0], end=span[1], placement=placement,
                   **selector(revision.text, *span))


def suggest_kind(draft: Draft, revision: Revision) -> Draft:
    """The kind a point suggests when the script leaves it open: a point where a block begins
    is where a missing block goes; any other point takes a footnote."""
    if draft.start is None or draft.start != draft.end:
        return draft
    at_block_start = any(a == draft.start for a, _ in blocks(revision))
    return replace(draft, kind=Kind.STRUCTURE if at_block_start else Kind.NOTE_ADD,
                   placement="before" if at_block_start else "replace")


def prefill(revision: Revision, draft: Draft, *, placing: bool) -> dict[str, str]:
    """Every kind's field, those left empty prefilled from a just-placed selection: switching
    kinds in the form then loses nothing."""
    fields = dict(draft.typed or {name: "" for name in TYPED_FIELDS})
    if not any(fields.get(name) for name in METADATA_FIELDS):  # the dates as they are now
        now = metadata.values_of(revision.element)
        fields.update({field: now.get(attribute, "")
                       for field, attribute in METADATA_FIELDS.items()})
    if not placing or draft.start is None:
        return fields
    if draft.kind == Kind.TEXT and not fields["replacement"]:
        fields["replacement"] = draft.exact
    if not fields["fragment"]:
        try:
            spans = whole_blocks(revision, replace(
                draft, placement=draft.placement if draft.kind == Kind.STRUCTURE else "replace"))
            if spans.placement == "replace":
                fields["fragment"] = edits.block_xml(revision.element, spans.start, spans.end,
                                                       revision.layer)
        except (DraftError, ValueError):
            pass  # nothing to prefill: the person writes the fragment
    if draft.note_id and not fields["note_edit_body"]:
        note = revision.layer.note(draft.note_id)
        if note is not None:
            fields["note_edit_body"] = edits.note_body_xml(note.element)
    return fields


def check_size(drafts: list[Draft]) -> None:
    """Refuse, before anything is placed or parsed, what the proposal would refuse for its
    size (`actions.propose.check_limits`)."""
    try:
        check_limits([d.spec() for d in drafts])
    except ProposalError as exc:
        raise DraftError(sentence(f"This cannot be proposed: {exc.message}")) from None


def check_applies(revision: Revision, drafts: list[Draft]) -> None:
    """Refuse, before queueing, a change the TEI cannot carry with the ones queued before."""
    try:
        apply_changes(revision.element, [d.spec() for d in drafts], text=revision.text)
    except (ValueError, TEIError) as exc:
        raise DraftError(f"This change cannot be made: {exc}") from None

