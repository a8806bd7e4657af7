"""/search/: the reader's search, and for members of an edition the same page with pending
proposals and the "open proposals" filter (review/search.py). Public, without JavaScript."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.views.decorators.http import require_safe

from edition import search
from edition.params import has_nul
from edition.roles import can_propose, member_editions

from .. import search as member_search


@login_not_required
@require_safe
def search_page(request: HttpRequest) -> HttpResponse:
    form = member_search.form_for(request.user, request.GET)
    context = {"form": form, "results": None, "error": "", "proposals": None}
    status = 200
    if has_nul(*request.GET.keys(), *(v for _, values in request.GET.lists() for v in values)):
        context["error"] = "The address holds a character a search cannot take."
        return TemplateResponse(request, "review/search.html", context, status=400)
    if request.GET:
        if not form.is_valid():
            context["error"] = "Correct the search below."
            status = 400
        elif not form.cleaned_data["q"]:
            context["error"] = "Type a word or a phrase (in quotes) to search for."
        else:
            filters = member_search.filters(form, request.user)
            try:
                results = search.search(form.cleaned_data["q"], filters,
                                        page=form.cleaned_data.get("page") or 1)
            except search.QueryError as exc:
                context["error"] = str(exc)
            else:
                context["results"] = results
                context["rows"] = [(hit, search.passage_url(hit, results.query))
                                   for hit in results.hits]
                params = request.GET.copy()
                params.pop("page", None)
                context["query_string"] = params.urlencode()
                if results.count:
                    context["replace_in"] = _replace_in(request.user, form)
                if form.cleaned_data.get("proposals"):
                    context["proposals"] = member_search.pending_proposals(
                        request.user, results.query, filters)
    return TemplateResponse(request, "review/search.html", context, status=status)


def _replace_in(user, form) -> list:
    """The editions where the user may turn these results into one batch of proposals
    (review/batches.py): the volume searched, or each of theirs when the search spans all."""
    if not user.is_authenticated:
        return []
    chosen = form.cleaned_data.get("edition")
    editions = [chosen] if chosen else list(member_editions(user).order_by("slug"))
    return [edition for edition in editions if can_propose(user, edition)]
