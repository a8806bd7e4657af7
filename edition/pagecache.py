"""Whole-page cache for anonymous readers of the reading view.

A page depends on its revision, its neighbours in the table of contents and the edition's
metadata: all of it changes only when the edition changes. Each edition has a *stamp* (its
`updated_at`, bumped by every import and every new revision); a cached page is keyed by that
stamp, so a change anywhere in the edition retires every page of it at once, on every host
sharing the cache. Serving a cached page costs two cache reads and no database query.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache

from .models import Edition

PAGE_TTL = 24 * 3600
# A stamp is read again from the database this often: a drop lost to an unreachable cache (a
# change committed while it was down) retires the pages it should have within this time.
STAMP_TTL = 5 * 60


def edition_stamp(slug: str) -> str | None:
    """The edition's current stamp, or None when there is no such edition."""
    stamp = cache.get(Edition.stamp_key(slug))
    if stamp is None:
        updated = Edition.objects.filter(slug=slug).values_list("updated_at", flat=True).first()
        if updated is None:
            return None
        stamp = updated.isoformat()
        cache.set(Edition.stamp_key(slug), stamp, STAMP_TTL)
    return stamp


@dataclass(frozen=True)
class CachedPage:
    content: bytes
    etag: str
    last_modified: str
    content_type: str


def page_key(request, slug: str, doc: str, stamp: str, version: int) -> str:
    # The page holds absolute links (the citation's permalink): they depend on scheme and host.
    origin = f"{request.scheme}://{request.get_host()}"
    return f"emend:page:{version}:{origin}:{slug}:{doc}:{stamp}"


def cacheable(request) -> bool:
    """Anonymous GETs without pending messages: the page is the same for all of them."""
    return (
        request.method == "GET"
        and not request.user.is_authenticated
        and "messages" not in request.COOKIES
        # `hl` (the words a search result marks) is read by static JS only: the same page.
        and not set(request.GET) - {"hl"}
    )


def get(key: str) -> CachedPage | None:
    return cache.get(key)


def put(key: str, page: CachedPage) -> None:
    cache.set(key, page, PAGE_TTL)
