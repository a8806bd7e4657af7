"""What the site header shows a signed-in person: the review queue only to people who review
in some edition. Lazy, so pages that never ask (and anonymous readers) make no query; the roles
come from the cache (`edition.roles.shown_roles`), so a signed-in page pays no query for it."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from edition.roles import reviews_somewhere as reviews


def header(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)

    def reviews_somewhere() -> bool:
        return bool(user and reviews(user))

    return {"reviews_somewhere": SimpleLazyObject(reviews_somewhere)}
