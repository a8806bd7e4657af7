"""Search for members: what edition/search.py finds, plus pending proposals (their replacement
text and rationale) and the filter "documents with open proposals". Here because it reads
review's models, which the edition never imports. Anonymous callers never reach any of it.
"""

from __future__ import annotations

from django import forms
from django.db.models import Q, QuerySet

from edition import search
from edition.models import Document
from edition.roles import member_editions

from .models import Proposal

MAX_PROPOSALS = 20


class MemberSearchForm(search.SearchForm):
    proposals = forms.BooleanField(label="Also search pending proposals", required=False)
    open_only = forms.BooleanField(label="Only documents with open proposals", required=False)


def form_for(user, data) -> search.SearchForm:
    """The member's form (with the proposal options) for members of an edition, else the
    reader's: an anonymous request never sees a proposal field."""
    if is_member(user):
        return MemberSearchForm(data)
    return search.SearchForm(data)


def is_member(user) -> bool:
    return user.is_authenticated and member_editions(user).exists()


def filters(form: search.SearchForm, user) -> search.Filters:
    found = form.filters()
    if isinstance(form, MemberSearchForm) and form.cleaned_data.get("open_only"):
        found.documents = documents_with_open_proposals(user)
    return found


def documents_with_open_proposals(user) -> QuerySet[Document]:
    return Document.objects.filter(
        pk__in=Proposal.objects.open().visible_to(user).values("document_id"))


def pending_proposals(user, query: search.Query, filters: search.Filters) -> list[Proposal]:
    """Open proposals of the user's editions whose rationale or a change's new text holds every
    group of the query (one of a group's terms), and none of its excluded terms. Proposals
    are few (hundreds, not the millions of words of the text): a plain case-insensitive
    containment test, no index."""
    proposals = Proposal.objects.open().visible_to(user)
    if filters.editions:
        proposals = proposals.filter(document__edition__in=filters.editions)
    if filters.documents is not None:
        proposals = proposals.filter(document__in=filters.documents)

    def holds(term: search.Term) -> Q:
        phrase = " ".join(term.words)
        return Q(rationale__icontains=phrase) | Q(changes__content__icontains=phrase)

    for group in query.groups:
        either = Q()
        for term in group:
            either |= holds(term)
        proposals = proposals.filter(either)
    for term in query.excluded:
        proposals = proposals.exclude(holds(term))
    return list(proposals.select_related("document__edition", "author")
                .defer("document__edition__tei_skeleton", "document__edition__tei_header")
                .distinct().order_by("-created_at")[:MAX_PROPOSALS])
