"""Proposing a suggestion's fix in one click (POST), from the edition's suggestions page or the
reading view; back to the page it came from with a message linking the new proposal."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from edition.suggestions import offer_of
from edition.views import document_or_404

from ..actions import ProposalError
from ..actions.propose import check_propose
from ..suggested import do_propose_suggestion


@require_POST
def propose_suggestion(request: HttpRequest, edition: str, doc: str, pk: int) -> HttpResponse:
    document = document_or_404(edition, doc)
    check_propose(request.user, document)  # 404 to outsiders, 403 to a role too small
    suggestion = get_object_or_404(document.suggestions.open(), pk=pk)
    suggestion.document = document
    back = request.POST.get("next", "")
    if not (back and url_has_allowed_host_and_scheme(
            back, allowed_hosts={request.get_host()}, require_https=request.is_secure())):
        back = f"{document.get_absolute_url()}#suggestions"
    offer = offer_of(suggestion)
    if offer is None:
        messages.error(request, "That suggestion no longer applies to the current text: "
                                "nothing was proposed.")
        return redirect(back)
    try:
        proposal = do_propose_suggestion(offer, author=request.user)
    except ProposalError as exc:
        messages.error(request, f"Nothing was proposed: {exc}")
        return redirect(back)
    messages.success(request, format_html(
        'Proposed: <a href="{}">proposal {}</a> on {} ({}).', proposal.get_absolute_url(),
        proposal.pk, document.label, suggestion.check_label))
    return redirect(back)
