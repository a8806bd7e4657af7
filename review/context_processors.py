"""What the site header shows a signed-in person: the review queue only to people who review
in some edition. Lazy, so pages that never ask (and anonymous readers) make no query."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from edition.roles import reviewed_editions


def header(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)

    def reviews_somewhere() -> bool:
        return bool(user and user.is_authenticated and reviewed_editions(user).exists())

    return {"reviews_somewhere": SimpleLazyObject(reviews_somewhere)}
