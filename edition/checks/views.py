"""The edition's suggestions page (for members who may propose) and its checks switch (for
reviewers and admins). Proposing a suggestion in one click is review's (review/views/
suggestions.py); dismissing one is `edition.views.dismiss_suggestion`."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from .. import ocr, suggestions
from ..models import Edition, Suggestion
from ..params import has_nul
from ..roles import can_review, require_proposer, require_reviewer
from . import CHECKS

PAGE_SIZE = 25


def _edition(slug: str) -> Edition:
    return get_object_or_404(Edition.objects.without_tei(), slug=slug)


@require_safe
def edition_suggestions(request: HttpRequest, edition: str) -> HttpResponse:
    """Open suggestions of the edition, by document, with counts by check and a filter."""
    edition = _edition(edition)
    require_proposer(request.user, edition)
    labels = dict(Suggestion._meta.get_field("check_name").choices)
    chosen = request.GET.get("check", "")
    if chosen not in labels:
        chosen = ""  # an unknown filter shows everything rather than an empty page
    page_number = request.GET.get("page", "1")
    if has_nul(page_number):
        page_number = "1"
    rows = (Suggestion.objects.filter(document__edition=edition).open().enabled_in(edition)
            .select_related("document", "page").order_by("document__order", "pk"))
    if chosen:
        rows = rows.filter(check_name=chosen)
    page = Paginator(rows, PAGE_SIZE).get_page(page_number)
    for suggestion in page.object_list:  # an OCR suggestion's page image names the edition
        if suggestion.page is not None:
            suggestion.page.edition = edition
    counted = suggestions.counts(edition)
    disabled = set(edition.disabled_checks or [])
    context = {
        "edition": edition,
        "page": page,
        "offers": suggestions.edition_offers(edition, list(page.object_list)),
        "chosen": chosen,
        "chosen_label": labels.get(chosen, ""),
        # (name, label, open, fixing the running text: a batch can carry those)
        "by_check": [(name, labels[name], n, text)
                     for name, (n, text) in sorted(counted.items())],
        "total": sum(n for n, _ in counted.values()),
        "checks": [(c, c.name in disabled) for c in CHECKS],
        "can_configure": can_review(request.user, edition),
        "anchor": f"&check={chosen}" if chosen else "",
        # Where the OCR cross-check's suggestions would be: whether it can run here, and why not.
        "ocr": ocr.available(),
    }
    return TemplateResponse(request, "edition/suggestions.html", context)


@require_POST
def edition_checks(request: HttpRequest, edition: str) -> HttpResponse:
    """Turn checks on or off for the edition: the ticked ones stay on. Reviewers and admins.

    A check turned off records nothing from its next run and its open suggestions are hidden
    at once; turned on again, its suggestions come back with the next run (run_checks)."""
    edition = _edition(edition)
    require_reviewer(request.user, edition)
    known = {c.name for c in CHECKS}
    enabled = set(request.POST.getlist("enabled")) & known
    edition.disabled_checks = sorted(known - enabled)
    edition.save(update_fields=["disabled_checks"])
    messages.success(request, "Checks saved: " + (
        f"{len(edition.disabled_checks)} turned off." if edition.disabled_checks
        else "all are on."))
    return redirect(reverse("edition:suggestions", args=[edition.slug]) + "#checks")
