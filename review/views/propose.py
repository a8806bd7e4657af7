"""Proposing changes from the reading view: an inline HTMX form, and the same form as a page.

The reading view's script (review/static/review/propose.js) sends code-point offsets on the text
layer of the revision it shows, with the quote and its context; without JavaScript the person
types the quote and the server places it (`anchoring.find_quote`). Either way the server has the
last word: the quote must be the text at the offsets, or be found exactly once near them, before
anything reaches `applying.create_proposal`. Changes can be queued and sent as one proposal; the
queue travels in hidden fields, so the form needs no server-side state between round trips.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, replace

from django.contrib import messages
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_http_methods
from django_htmx.http import trigger_client_event
from django_htmx.middleware import HtmxDetails

from edition.models import Document, Revision
from edition.tei import XML_ID, edits, textlayer
from edition.tei.parsing import TEIError

from .. import access
from ..anchoring import find_quote, selector
from ..applying import ChangeSpec, ProposalError, create_proposal
from ..transform import apply_changes
from ..models import Change

Kind = Change.Kind
TEMPLATE = "review/propose.html"
NEAR = 64  # code points: how far from the posted offsets a mismatched quote may be found
SHOWN = 40  # code points of context shown around a placed passage
KIND_CHOICES = [
    (Kind.TEXT, "Correct the text"),
    (Kind.NOTE_ADD, "Add a footnote here"),
    (Kind.STRUCTURE, "Fix the structure"),
    (Kind.NOTE_EDIT, "Edit a footnote"),
    (Kind.NOTE_REMOVE, "Remove a footnote"),
]
QUEUED_FIELDS = ("kind", "start", "end", "exact", "content", "note_id")
CONTENT_FIELD = {Kind.TEXT: "replacement", Kind.NOTE_ADD: "note_body",
                 Kind.STRUCTURE: "fragment", Kind.NOTE_EDIT: "note_edit_body"}


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


class FormError(Exception):
    """Something the person must fix; shown above the form (status 400)."""

    def __init__(self, message: str, matches: list[dict] | None = None) -> None:
        super().__init__(message)
        self.message, self.matches = message, matches or []


# ------------------------------------------------------------------------------------------
# Normalising what people type


def _clean(value: str) -> str:
    """NFC and one kind of line break: the text layer is NFC and never holds a CR."""
    return unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n"))


def _clean_typed(value: str) -> str:
    """A typed quote in layer form: a blank line separates blocks, other whitespace is a space.

    Quotes the script sends are layer text already and must stay exactly as they are: a
    prefix may end in a space, or begin with half of a block separator.
    """
    blocks = re.split(r"[ \t]*\n[ \t\n]*\n[ \t\n]*", _clean(value).strip(" \t\n"))
    return "\n\n".join(re.sub(r"[ \t\n]+", " ", block) for block in blocks)


def _clean_replacement(value: str) -> str:
    # A block of the layer has no line breaks or doubled spaces (paragraph splits are
    # structural fixes), so any whitespace run a person types means one space; a line break
    # at either end (Enter pressed after the text) means nothing.
    value = re.sub(r"^[ \t]*\n\s*|\s*\n[ \t]*$", "", _clean(value))
    return re.sub(r"[ \t\n]+", " ", value)


@dataclass
class Draft:
    """The change being edited; offsets refer to revision `rev` once placed."""

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
        return not (self.exact or self.start is not None or self.note_id or self.content)

    def spec(self) -> ChangeSpec:
        exact = None if self.kind in (Kind.NOTE_EDIT, Kind.NOTE_REMOVE) else self.exact
        return ChangeSpec(self.kind, self.start, self.end, self.content, exact=exact,
                          note_id=self.note_id)


def _int(value: str | None) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except ValueError:
        raise SuspiciousOperation(f"not an offset: {value!r}") from None
    if number < 0:
        raise SuspiciousOperation("negative offset")
    return number


def _draft(data, *, reset: bool = False) -> Draft:
    kind = data.get("kind") or Kind.TEXT
    if kind not in Kind.values:
        raise SuspiciousOperation(f"unknown kind {kind!r}")
    typed = {name: "" if reset else _clean(data.get(name, "")).strip()
             for name in CONTENT_FIELD.values()}
    typed["replacement"] = "" if reset else _clean_replacement(data.get("replacement", ""))
    start, end = _int(data.get("start")), _int(data.get("end"))
    quote = _clean if start is not None else _clean_typed
    draft = Draft(kind, start, end, quote(data.get("exact", "")), quote(data.get("prefix", "")),
                  quote(data.get("suffix", "")), typed.get(CONTENT_FIELD.get(kind), ""),
                  data.get("note_id", "").strip(),
                  "before" if data.get("placement") == "before" else "replace", typed)
    if (start is None) != (end is None) or (start is not None and start > end):
        raise SuspiciousOperation("incomplete or reversed offsets")
    return draft


def _queued(data) -> list[Draft]:
    """The queued changes from their hidden fields (forged ones fail later, in the core)."""
    drafts = []
    for raw in data.getlist("queued"):
        try:
            fields = json.loads(raw)
            draft = Draft(**{k: fields[k] for k in QUEUED_FIELDS})
        except (ValueError, TypeError, KeyError):
            raise SuspiciousOperation("malformed queued change") from None
        if not (draft.kind in Kind.values and type(draft.start) is int is type(draft.end)
                and 0 <= draft.start <= draft.end
                and all(isinstance(v, str) for v in (draft.exact, draft.content, draft.note_id))):
            raise SuspiciousOperation("malformed queued change")
        drafts.append(draft)
    return drafts


# ------------------------------------------------------------------------------------------
# Placing a selection or a typed quote on the text layer


def _notes(revision: Revision) -> list[dict]:
    notes = []
    for anchor in revision.layer.notes:
        note = anchor.element
        if note.get(XML_ID):
            source = note.get("type") == "source"
            notes.append({"id": note.get(XML_ID), "offset": anchor.offset,
                          "label": "Source note" if source else f"Note {note.get('n') or '?'}",
                          "words": textlayer.text_of(note)[:70]})
    return notes


def _blocks(revision: Revision) -> list[tuple[int, int]]:
    # The same top-level spans replace_blocks works with (edition/tei/edits.py).
    return [span for _, span in edits.child_spans(revision.element, revision.layer)
            if span[0] is not None]


def _place(revision: Revision, draft: Draft, choice: int | None = None) -> Draft:
    """The draft with offsets that hold on `revision`, or FormError saying what to fix."""
    text = revision.text
    if draft.kind in (Kind.NOTE_EDIT, Kind.NOTE_REMOVE):
        note = next((n for n in _notes(revision) if n["id"] == draft.note_id), None)
        if note is None:
            raise FormError("Choose the footnote to edit or remove.")
        return replace(draft, start=note["offset"], end=note["offset"], exact="")
    if draft.start is not None:
        start, end = draft.start, draft.end
        if end > len(text):
            raise FormError(f"The selection ({start}–{end}) lies outside the text of revision "
                            f"{revision.number}; reload the page and select again.")
        if text[start:end] != draft.exact or (not draft.exact and not _context_holds(
                text, start, draft)):
            start, end = _near(revision, draft)
    elif draft.exact:
        start = _typed(text, draft, choice)
        end = start + len(draft.exact)
    else:
        raise FormError("Select a passage in the document, or type it in “Passage”.")
    placed = replace(draft, start=start, end=end, **selector(text, start, end))
    if draft.kind == Kind.NOTE_ADD:  # a footnote follows the selection
        return replace(placed, start=end, **selector(text, end, end))
    if draft.kind == Kind.STRUCTURE:
        return _whole_blocks(revision, placed)
    return placed


def _context_holds(text: str, start: int, draft: Draft) -> bool:
    return text[:start].endswith(draft.prefix) and text[start:].startswith(draft.suffix)


def _near(revision: Revision, draft: Draft) -> tuple[int, int]:
    """A quote that is not at the posted offsets, found exactly once close to them.

    The script's offsets can drift where the page shows text the layer lacks (or the other
    way round); the quote is what the person saw, so it decides. A point is found by its context.
    """
    text, hint = revision.text, draft.start
    needle = draft.exact or draft.prefix + draft.suffix
    shift = 0 if draft.exact else len(draft.prefix)
    found = []
    i = text.find(needle, max(hint - NEAR - len(needle), 0))
    while needle and -1 < i <= hint + NEAR:
        found.append(i + shift)
        i = text.find(needle, i + 1)
    if len(found) == 1:
        return found[0], found[0] + len(draft.exact)
    reads = text[draft.start:draft.end]
    raise FormError(
        f"The passage “{draft.exact[:60]}” is not at {draft.start}–{draft.end} of revision "
        f"{revision.number} (the text there reads “{reads[:60]}”). Select it again, or reload "
        "the page if the document has changed.")


def _typed(text: str, draft: Draft, choice: int | None) -> int:
    """Where a typed quote stands; several equally good places → ask which one."""
    candidates = find_quote(text, draft.exact, draft.prefix, draft.suffix)
    if not candidates:
        raise FormError(f"“{draft.exact[:80]}” does not occur in the text. Copy it from the "
                        "page as it reads now.")
    if choice in candidates:
        return choice

    # Typed context loses its edge spaces (the person types "negotiations with"): compare
    # without them.
    prefix, suffix = draft.prefix.rstrip(" "), draft.suffix.lstrip(" ")

    def context(i: int) -> int:
        before = text[max(i - len(prefix) - 1, 0):i].rstrip(" ")
        j = i + len(draft.exact)
        after = text[j:j + len(suffix) + 1].lstrip(" ")
        return _common(before[::-1], prefix[::-1]) + _common(after, suffix)

    scores = {c: context(c) for c in candidates}
    best = [c for c in candidates if scores[c] == max(scores.values())]
    if len(best) == 1:
        return best[0]
    matches = [{"start": c, "before": text[max(c - SHOWN, 0):c],
                "exact": draft.exact, "after": text[c + len(draft.exact):][:SHOWN]}
               for c in best[:20]]
    raise FormError(f"“{draft.exact[:80]}” occurs {len(best)} times. Choose one, or add a few "
                    "words before or after it under “Context”.", matches)


def _common(a: str, b: str) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def _whole_blocks(revision: Revision, draft: Draft) -> Draft:
    """A structural fix covers whole top-level blocks, or is a point where one begins."""
    blocks, start, end = _blocks(revision), draft.start, draft.end
    if draft.placement == "before" or (start == end and any(a == start for a, _ in blocks)):
        holder = next(((a, b) for a, b in blocks if a <= start <= b), None)
        if holder is None:
            raise FormError("No block of the document holds this place.")
        span = (holder[0], holder[0])
        placement = "before"
    else:
        covered = [(a, b) for a, b in blocks if a <= start <= b or (a < end and b > start)]
        if not covered:
            raise FormError("The selection does not lie in a block of the document.")
        span = (covered[0][0], covered[-1][1])
        placement = "replace"
    return replace(draft, start=span[0], end=span[1], placement=placement,
                   **selector(revision.text, *span))


def _prefill(revision: Revision, draft: Draft, *, placing: bool) -> dict[str, str]:
    """Every kind's field, those left empty prefilled from a just-placed selection: switching
    kinds in the form then loses nothing."""
    fields = dict(draft.typed or {name: "" for name in CONTENT_FIELD.values()})
    if not placing or draft.start is None:
        return fields
    if draft.kind == Kind.TEXT and not fields["replacement"]:
        fields["replacement"] = draft.exact
    if not fields["fragment"]:
        try:
            blocks = _whole_blocks(revision, replace(
                draft, placement=draft.placement if draft.kind == Kind.STRUCTURE else "replace"))
            if blocks.placement == "replace":
                fields["fragment"] = edits.block_xml(revision.element, blocks.start, blocks.end)
        except (FormError, ValueError):
            pass  # nothing to prefill: the person writes the fragment
    if draft.note_id and not fields["note_edit_body"]:
        note = next((n for n in revision.element.iter("{*}note")
                     if n.get(XML_ID) == draft.note_id), None)
        if note is not None:
            fields["note_edit_body"] = edits.note_body_xml(note)
    return fields


def _check_applies(revision: Revision, drafts: list[Draft]) -> None:
    try:
        apply_changes(revision.element, [d.spec() for d in drafts])
    except (ValueError, TEIError) as exc:
        raise FormError(f"This change cannot be made: {exc}") from None


# ------------------------------------------------------------------------------------------
# The view


@require_http_methods(["GET", "POST"])
def propose(request: HtmxHttpRequest, edition: str, doc: str) -> HttpResponse:
    try:
        document = Document.objects.select_related("edition", "current_revision").get(
            edition__slug=edition, xml_id=doc)
    except Document.DoesNotExist:
        raise Http404("No such document") from None
    access.require_proposer(request.user, document.edition)
    head = document.current_revision
    data = request.POST if request.method == "POST" else request.GET
    base = _revision(document, head, data.get("rev"))
    action = data.get("action", "place" if request.method == "GET" else "")
    # reset: the script placed a new selection in an open form; what was typed for the old
    # one does not belong to it.
    draft, queued = _draft(data, reset=data.get("reset") == "1"), _queued(data)
    ctx = {"document": document, "edition": document.edition, "base": base, "head": head,
           "rationale": _clean(data.get("rationale", "")).strip(), "error": None}
    status, placing = 200, action == "place"
    try:
        if action.startswith("unqueue-"):
            index = _int(action.removeprefix("unqueue-"))
            queued = [q for i, q in enumerate(queued) if i != index]
        elif action == "place" and draft.is_empty:
            pass  # the blank form: the page without JavaScript, before anything is typed
        elif action == "place":
            draft = _place(base, _suggest_kind(draft, data, base), _int(data.get("choice")))
        elif action == "queue" and request.method == "POST":
            draft = _place(base, draft, _int(data.get("choice")))
            _check_applies(base, queued + [draft])
            queued, draft = queued + [draft], Draft(kind=draft.kind)
        elif action == "submit" and request.method == "POST":
            return _submit(request, document, base, queued, draft, ctx)
        else:
            raise SuspiciousOperation(f"unknown action {action!r}")
    except FormError as exc:
        status = 400
        ctx["error"], ctx["matches"] = exc.message, exc.matches
    ctx.update(_form_context(base, draft, queued, placing=placing and status == 200))
    return _render(request, ctx, status)


def _revision(document: Document, head: Revision, rev: str | None) -> Revision:
    number = _int(rev)
    if number is None or number == head.number:
        return head
    revision = document.revisions.filter(number=number).first()
    if revision is None:
        raise SuspiciousOperation(f"{document.xml_id} has no revision {number}")
    return revision


def _suggest_kind(draft: Draft, data, base: Revision) -> Draft:
    """The kind a selection suggests when the script leaves it open: a point where a block
    begins is where a missing block goes; any other point takes a footnote."""
    if data.get("kind") or draft.start is None or draft.start != draft.end:
        return draft
    at_block_start = any(a == draft.start for a, _ in _blocks(base))
    return replace(draft, kind=Kind.STRUCTURE if at_block_start else Kind.NOTE_ADD,
                   placement="before" if at_block_start else "replace")


def _submit(request, document: Document, base: Revision, queued: list[Draft], draft: Draft,
            ctx: dict) -> HttpResponse:
    changes = list(queued)
    try:
        if not draft.is_empty:
            changes.append(_place(base, draft, _int(request.POST.get("choice"))))
        if not changes:
            raise FormError("Select a passage, or type one, before submitting.")
        if not ctx["rationale"]:
            raise FormError("Say why the text should change (the rationale is required).")
        proposal = create_proposal(document, author=request.user, base_revision=base.number,
                                   changes=[c.spec() for c in changes],
                                   rationale=ctx["rationale"])
    except (FormError, ProposalError) as exc:
        stale = getattr(exc, "code", "") == "stale"
        ctx["error"], ctx["matches"] = exc.message, getattr(exc, "matches", [])
        if stale:  # a fresh form on the head revision: the page must be reloaded to select
            head = document.revisions.order_by("-number").first()  # approved meanwhile
            ctx.update(stale=True, base=head, head=head,
                       **_form_context(head, Draft(kind=draft.kind), [], placing=False))
            return _render(request, ctx, 409)
        ctx.update(_form_context(base, draft, queued, placing=False))
        return _render(request, ctx, 400)
    if request.htmx:
        response = TemplateResponse(request, f"{TEMPLATE}#propose-done",
                                    {**ctx, "proposal": proposal})
        return trigger_client_event(response, "proposalCreated",
                                    {"id": proposal.pk, "url": proposal.get_absolute_url()})
    messages.success(request, f"Proposal {proposal.pk} submitted: reviewers will see it in "
                              "their queue.")
    return redirect(proposal)


def _form_context(revision: Revision, draft: Draft, queued: list[Draft], *,
                  placing: bool) -> dict:
    text = revision.text
    shown = None
    if draft.start is not None and draft.end <= len(text):
        shown = {"before": text[max(draft.start - SHOWN, 0):draft.start],
                 "exact": text[draft.start:draft.end], "after": text[draft.end:][:SHOWN]}
    return {
        "draft": draft, "shown": shown, "fields": _prefill(revision, draft, placing=placing),
        "queued": [{"draft": q, "label": dict(KIND_CHOICES)[q.kind],
                    "json": json.dumps({k: getattr(q, k) for k in QUEUED_FIELDS},
                                       ensure_ascii=False)}
                   for q in queued],
        "kinds": KIND_CHOICES, "notes": _notes(revision),
    }


def _render(request, ctx: dict, status: int) -> TemplateResponse:
    template = TEMPLATE
    if request.htmx and not request.htmx.boosted:
        template += "#propose-form"
    return TemplateResponse(request, template, ctx, status=status)
