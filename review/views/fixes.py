"""Guided structural fixes: one page per common repair, with a preview and a Propose button.

The form's fields make the TEI (`review.fixes`, `edition.tei.guided`); "Preview" renders the
document as it would read after the fix and stores nothing; "Propose" calls `actions.propose`.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods

from edition.models import Document, Revision
from edition.params import positive_int
from edition.tei.render import render_html

from ..actions import ProposalError
from ..actions.propose import check_propose, do_propose
from ..fixes import REPAIR_TITLES, REPAIRS
from ..transform import apply_changes

TEMPLATE = "review/fix.html"


def _document(edition: str, doc: str) -> Document:
    try:
        return Document.objects.select_related("edition", "current_revision").defer(
            "edition__tei_skeleton", "edition__tei_header").get(
            edition__slug=edition, xml_id=doc)
    except Document.DoesNotExist:
        raise Http404("No such document") from None


def _base(document: Document, rev: str | None) -> Revision:
    head = document.current_revision
    if rev in (None, "", str(head.number)):
        return head
    number = positive_int(rev)
    if number is None:
        raise SuspiciousOperation(f"not a revision: {rev!r}")
    revision = document.revisions.filter(number=number).first()
    if revision is None:
        raise SuspiciousOperation(f"{document.xml_id} has no revision {rev}")
    return revision


@require_http_methods(["GET", "POST"])
def fix(request: HttpRequest, edition: str, doc: str, repair: str) -> HttpResponse:
    form_class = REPAIRS.get(repair)
    document = _document(edition, doc)
    check_propose(request.user, document)  # 404 to outsiders, 403 to a role that may not
    if form_class is None:
        raise Http404("No such repair")
    data = request.POST if request.method == "POST" else None
    base = _base(document, (data or request.GET).get("rev"))
    form = form_class(data, revision=base)
    ctx = {"document": document, "edition": document.edition, "base": base, "form": form,
           "repair": repair, "repairs": REPAIR_TITLES, "preview": "", "fragment": "", "error": ""}
    if data is None:
        return TemplateResponse(request, TEMPLATE, ctx)
    action = data.get("action")
    if action not in ("preview", "propose"):
        raise SuspiciousOperation(f"unknown action {action!r}")
    if not form.is_valid():
        return TemplateResponse(request, TEMPLATE, ctx, status=400)
    try:
        spec = form.change()
        applied = apply_changes(base.element, [spec])
    except ValueError as exc:  # FixError, GuidedError, TextChangeError, FragmentError
        ctx["error"] = _sentence(str(exc))
        return TemplateResponse(request, TEMPLATE, ctx, status=400)
    slug = document.edition.slug
    # render_html escapes every text node and attribute: safe by construction.
    ctx["preview"] = mark_safe(render_html(
        applied.element, doc_href=lambda xml_id: reverse("edition:document", args=[slug, xml_id])))
    ctx["fragment"] = spec.content
    if action == "preview":
        return TemplateResponse(request, TEMPLATE, ctx)
    rationale = form.cleaned_data["rationale"].strip()
    if not rationale:
        form.add_error("rationale", "Say why the document should change (the rationale is "
                                    "required to propose).")
        return TemplateResponse(request, TEMPLATE, ctx, status=400)
    try:
        proposal = do_propose(document, author=request.user, base_revision=base.number,
                              changes=[spec], rationale=rationale)
    except ProposalError as exc:
        ctx["error"] = _sentence(exc.message)
        return TemplateResponse(request, TEMPLATE, ctx, status=409 if exc.code == "stale"
                                else 400)
    messages.success(request, f"Proposal {proposal.pk} submitted: reviewers will see it in "
                              "their queue.")
    return redirect(proposal)


def _sentence(message: str) -> str:
    message = message.strip()
    return message[:1].upper() + message[1:] + ("" if message.endswith((".", "?", "!")) else ".")
