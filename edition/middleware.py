"""Addresses ignore the case of volume and unit ids: `/FRUS1944quebec/D1/` answers with a
permanent redirect to `/frus1944Quebec/d1/`, the spelling the volume itself uses.

Only a request that would otherwise be a 404 pays for the lookup: the views look ids up
exactly (and the cached reading page needs no query at all).
"""

from __future__ import annotations

from django.http import Http404, HttpResponsePermanentRedirect
from django.urls import NoReverseMatch, reverse

from .models import Document, Edition


class CanonicalCaseMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, Http404) or request.method not in ("GET", "HEAD"):
            return None
        match = request.resolver_match
        if match is None or "edition" not in match.kwargs:
            return None
        url = canonical_url(match)
        if url is None:
            return None
        query = request.META.get("QUERY_STRING")
        return HttpResponsePermanentRedirect(f"{url}?{query}" if query else url)


def canonical_url(match) -> str | None:
    """The address with ids spelt as stored, or None when nothing differs only by case."""
    kwargs = dict(match.kwargs)
    found = (Edition.objects.filter(slug__iexact=kwargs["edition"])
             .values_list("pk", "slug").first())
    if found is None:
        return None
    pk, slug = found
    changed = slug != kwargs["edition"]
    kwargs["edition"] = slug
    if "doc" in kwargs:
        ids = list(Document.objects.filter(edition_id=pk, xml_id__iexact=kwargs["doc"])
                   .values_list("xml_id", flat=True)[:2])
        if len(ids) == 1 and ids[0] != kwargs["doc"]:
            kwargs["doc"], changed = ids[0], True
    if not changed:
        return None
    try:
        return reverse(match.view_name, args=match.args, kwargs=kwargs)
    except NoReverseMatch:
        return None
