"""Proposing changes from the reading view: an inline HTMX form, and the same form as a page.

The form's state travels in the request: the change being drafted in its fields, the changes
queued before it in hidden fields (`queued`), so the form needs no server-side state between
round trips. Normalising and placing what was typed is `review.drafts`; storing the proposal is
`actions.propose`.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_http_methods
from django_htmx.http import trigger_client_event
from django_htmx.middleware import HtmxDetails

from edition.models import Document, Revision
from edition.params import positive_int
from edition import registers
from edition.tei import edits, markup

from ..actions import ProposalError, sentence
from ..actions.propose import check_propose, do_propose
from ..drafts import (CONTENT_FIELD, SHOWN, TYPED_FIELDS, Draft, DraftError, check_applies,
                      check_size, clean, clean_replacement, clean_typed, dates_from_dateline,
                      place, prefill, suggest_kind)
from ..models import Change
from ..page_images import selection_page
from ..presentation import footnotes

Kind = Change.Kind
TEMPLATE = "review/propose.html"
KIND_CHOICES = [
    (Kind.TEXT, "Correct the text"),
    (Kind.NOTE_ADD, "Add a footnote here"),
    (Kind.STRUCTURE, "Fix the structure"),
    (Kind.NOTE_EDIT, "Edit a footnote"),
    (Kind.NOTE_REMOVE, "Remove a footnote"),
    (Kind.METADATA, "Set the document's date"),
    (Kind.MARKUP, "Mark up the words"),
]
MARKUP_OPERATIONS = [("wrap", "wrap the words in"), ("change", "change the attributes of"),
                     ("unwrap", "remove")]
QUEUED_FIELDS = ("kind", "start", "end", "exact", "content", "note_id")


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


# ------------------------------------------------------------------------------------------
# Reading the form


def _int(value: str | None) -> int | None:
    if value in (None, ""):
        return None
    number = 0 if value == "0" else positive_int(value)
    if number is None:  # "²", "-1", " 1", a NUL, past the column…
        raise SuspiciousOperation(f"not an offset: {value[:20]!r}")
    return number


def _draft(data, *, reset: bool = False) -> Draft:
    kind = data.get("kind") or Kind.TEXT
    if kind not in Kind.values:
        raise SuspiciousOperation(f"unknown kind {kind!r}")
    typed = {name: "" if reset else clean(data.get(name, "")).strip() for name in TYPED_FIELDS}
    typed["replacement"] = "" if reset else clean_replacement(data.get("replacement", ""))
    start, end = _int(data.get("start")), _int(data.get("end"))
    quote = clean if start is not None else clean_typed
    draft = Draft(kind, start, end, quote(data.get("exact", "")), quote(data.get("prefix", "")),
                  quote(data.get("suffix", "")), typed.get(CONTENT_FIELD.get(kind), ""),
                  data.get("note_id", "").strip(),
                  "before" if data.get("placement") == "before" else "replace", typed)
    if (start is None) != (end is None) or (start is not None and start > end):
        raise SuspiciousOperation("incomplete or reversed offsets")
    return draft


def _queued(data) -> list[Draft]:
    """The queued changes from their hidden fields (forged ones fail later, in the action)."""
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


def _revision(document: Document, head: Revision, rev: str | None) -> Revision:
    number = _int(rev)
    if number is None or number == head.number:
        return head
    revision = document.revisions.filter(number=number).first()
    if revision is None:
        raise SuspiciousOperation(f"{document.xml_id} has no revision {number}")
    return revision


# ------------------------------------------------------------------------------------------
# The view


@require_http_methods(["GET", "POST"])
def propose(request: HtmxHttpRequest, edition: str, doc: str) -> HttpResponse:
    try:
        document = Document.objects.select_related("edition", "current_revision").defer(
            "edition__tei_skeleton", "edition__tei_header").get(
            edition__slug=edition, xml_id=doc)
    except Document.DoesNotExist:
        raise Http404("No such document") from None
    check_propose(request.user, document)
    head = document.current_revision
    data = request.POST if request.method == "POST" else request.GET
    base = _revision(document, head, data.get("rev"))
    action = data.get("action", "place" if request.method == "GET" else "")
    # reset: the script placed a new selection in an open form; what was typed for the old
    # one does not belong to it.
    draft, queued = _draft(data, reset=data.get("reset") == "1"), _queued(data)
    ctx = {"document": document, "edition": document.edition, "base": base, "head": head,
           "rationale": clean(data.get("rationale", "")).strip(), "error": None}
    status, placing = 200, action == "place"
    try:
        if not action.startswith("unqueue-"):  # taking a change out is always possible
            check_size(queued + ([] if draft.is_empty else [draft]))
        if action.startswith("unqueue-"):
            index = _int(action.removeprefix("unqueue-"))
            queued = [q for i, q in enumerate(queued) if i != index]
        elif action == "place" and draft.is_empty:
            pass  # the blank form: the page without JavaScript, before anything is typed
        elif action == "place":
            if not data.get("kind"):
                draft = suggest_kind(draft, base)
            draft = place(base, draft, _int(data.get("choice")))
        elif action == "queue" and request.method == "POST":
            draft = place(base, draft, _int(data.get("choice")))
            check_applies(base, queued + [draft])
            queued, draft = queued + [draft], Draft(kind=draft.kind)
        elif action == "dateline-date" and request.method == "POST":
            queued, draft = _dates_from_dateline(base, queued, draft)
        elif action == "submit" and request.method == "POST":
            return _submit(request, document, base, queued, draft, ctx)
        else:
            raise SuspiciousOperation(f"unknown action {action!r}")
    except DraftError as exc:
        status = 400
        ctx["error"], ctx["matches"] = exc.message, exc.matches
    ctx.update(_form_context(base, draft, queued, placing=placing and status == 200))
    return _render(request, ctx, status)


def _dates_from_dateline(base: Revision, queued: list[Draft],
                         draft: Draft) -> tuple[list[Draft], Draft]:
    """"Set the document date from this dateline": the structural fix being drafted is queued
    when it changes anything, and the form turns to a metadata change holding the dates of its
    dateline (or of the document's)."""
    fragment = (draft.typed or {}).get("fragment", "")
    dates = dates_from_dateline(base, fragment)
    if draft.kind == Kind.STRUCTURE and not draft.is_empty and fragment:
        placed = place(base, draft)
        unchanged = placed.placement == "replace" and edits.block_xml(
            base.element, placed.start, placed.end) == placed.content
        if not unchanged:
            check_applies(base, queued + [placed])
            queued = queued + [placed]
    typed = {**(draft.typed or {}), "fragment": "", **dates}
    return queued, Draft(kind=Kind.METADATA, typed=typed)


def _submit(request, document: Document, base: Revision, queued: list[Draft], draft: Draft,
            ctx: dict) -> HttpResponse:
    changes = list(queued)
    try:
        if not draft.is_empty:
            changes.append(place(base, draft, _int(request.POST.get("choice"))))
        if not changes:
            raise DraftError("Select a passage, or type one, before submitting.")
        if not ctx["rationale"]:
            raise DraftError("Say why the text should change (the rationale is required).")
        proposal = do_propose(document, author=request.user, base_revision=base.number,
                              changes=[c.spec() for c in changes], rationale=ctx["rationale"])
    except (DraftError, ProposalError) as exc:
        stale = getattr(exc, "code", "") == "stale"
        ctx["error"], ctx["matches"] = sentence(exc.message), getattr(exc, "matches", [])
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
    shown, page = None, None
    if draft.start is not None and draft.end <= len(text):
        shown = {"before": text[max(draft.start - SHOWN, 0):draft.start],
                 "exact": text[draft.start:draft.end], "after": text[draft.end:][:SHOWN]}
        # The printed page the selection begins on, its words outlined: placed again (so
        # shown again) whenever the selection moves.
        page = selection_page(revision.document, revision, draft.start, draft.end)
    return {
        "page": page,
        "draft": draft, "shown": shown, "fields": prefill(revision, draft, placing=placing),
        "queued": [{"draft": q, "label": dict(KIND_CHOICES)[q.kind],
                    "json": json.dumps({k: getattr(q, k) for k in QUEUED_FIELDS},
                                       ensure_ascii=False)}
                   for q in queued],
        "kinds": KIND_CHOICES, "notes": footnotes(revision),
        "markup_elements": markup.ELEMENTS, "markup_operations": MARKUP_OPERATIONS,
        "persons": registers.entries(revision.document.edition, "persons"),
        "terms": registers.entries(revision.document.edition, "terms"),
    }


def _render(request, ctx: dict, status: int) -> TemplateResponse:
    template = TEMPLATE
    if request.htmx and not request.htmx.boosted:
        template += "#propose-form"
    return TemplateResponse(request, template, ctx, status=status)
