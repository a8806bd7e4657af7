"""Finding the documents whose current text contains a phrase.

This is the plain stand-in for h1's indexed search (issue 12, item 1): at merge, h1's
`edition.search.documents_containing`, narrowed by the full-text index, replaces it with the
same contract.
"""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Document, Edition


def documents_containing(edition: Edition, phrase: str) -> QuerySet[Document]:
    """The edition's documents whose current running text (`current_revision.text`, the text
    layer) contains `phrase` literally, case-sensitive, in volume order.

    Simple and correct rather than fast: the database narrows by a substring filter on the
    stored text layer, and each candidate is confirmed in Python, because SQLite's LIKE
    ignores ASCII case where the contract is case-sensitive. h1's indexed version replaces
    this function at merge.
    """
    if not phrase:
        return Document.objects.none()
    candidates = (Document.objects.filter(edition=edition,
                                          current_revision__text__contains=phrase)
                  .values_list("pk", "current_revision__text"))
    ids = [pk for pk, text in candidates.iterator(chunk_size=500) if phrase in text]
    return Document.objects.filter(pk__in=ids).order_by("order")
