"""Whole-page cache for anonymous readers of the reading view, invalidated per document.

A unit's page shows its own current revision, what it shows of other units (the neighbours'
numbers and titles, a chapter's list of its children with their dates) and the edition's
metadata and links. Two *stamps* stand for all of it:

- the **edition stamp** (`Edition.stamp_key`, from `Edition.updated_at`): moved by `touch()`,
  which imports (numbers, titles, order, `contents_version`), the admin's metadata edits and
  anything else that changes every page call. An approval does not touch the edition.
- the **unit stamp** (`Document.stamp_key`): its current revision, and for a unit with children
  the newest of their current revisions (their dates are in its list). `Document.add_revision`
  drops the unit's stamp, and its parent's when the row's dates changed: an approval in d201
  retires d201's page (and its chapter's, if the date moved), never d200's.

A page is stored twice under keys without stamps: the *head* (its stamps, ETag,
Last-Modified, content type) and the *page* (the same with its body). A read asks for both
stamps and one of the two in a single round trip (`get_many`): a conditional GET asks for the
head only, so a 304 never fetches the body. An entry whose stamps are not the current ones is a
miss. Stamps missing from the cache are read from the database in one query and cached for
`STAMP_TTL`, which bounds how long a drop lost to an unreachable cache can leave a page stale.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Max

from .models import Document, Edition

PAGE_TTL = 24 * 3600
# A stamp is read again from the database this often: a drop lost to an unreachable cache (a
# change committed while it was down) retires the pages it should have within this time.
STAMP_TTL = 5 * 60


@dataclass(frozen=True)
class Stamps:
    edition: str
    unit: str

    def __str__(self) -> str:
        return f"{self.edition}/{self.unit}"


@dataclass(frozen=True)
class CachedHead:
    stamps: Stamps
    etag: str
    last_modified: str
    content_type: str


@dataclass(frozen=True)
class CachedPage:
    head: CachedHead
    content: bytes

    # The fields a caller reads, as before the split.
    @property
    def etag(self) -> str:
        return self.head.etag


def _origin(request) -> str:
    # The page holds absolute links (the citation's permalink): they depend on scheme and host.
    return f"{request.scheme}://{request.get_host()}"


def head_key(request, slug: str, doc: str, version: int) -> str:
    return f"emend:phead:{version}:{_origin(request)}:{slug}:{doc}"


def page_key(request, slug: str, doc: str, version: int) -> str:
    return f"emend:page:{version}:{_origin(request)}:{slug}:{doc}"


def cacheable(request) -> bool:
    """Anonymous GETs without pending messages: the page is the same for all of them."""
    return (
        request.method == "GET"
        and not request.user.is_authenticated
        and "messages" not in request.COOKIES
        and not request.GET
    )


def conditional(request) -> bool:
    """The client holds a copy: it will most likely be answered 304, so fetch the head only."""
    return "HTTP_IF_NONE_MATCH" in request.META or "HTTP_IF_MODIFIED_SINCE" in request.META


def stamps_from_database(slug: str, doc: str) -> Stamps | None:
    """Both stamps in one query, or None when there is no such unit."""
    row = (Document.objects.filter(edition__slug=slug, xml_id=doc)
           .annotate(newest_child=Max("children__current_revision_id"))
           .values_list("edition__updated_at", "current_revision_id", "newest_child").first())
    if row is None:
        return None
    updated, current, newest_child = row
    return Stamps(updated.isoformat(),
                  f"{current}" if newest_child is None else f"{current}+{newest_child}")


def lookup(request, slug: str, doc: str, version: int) -> tuple[Stamps | None, object | None]:
    """(the unit's current stamps, its cached head or page if it is current), in one cache
    round trip when the stamps are cached; (None, None) when there is no such unit."""
    ekey, ukey = Edition.stamp_key(slug), Document.stamp_key(slug, doc)
    entry_key = (head_key if conditional(request) else page_key)(request, slug, doc, version)
    found = cache.get_many([ekey, ukey, entry_key])
    if ekey in found and ukey in found:
        stamps = Stamps(found[ekey], found[ukey])
    else:
        stamps = stamps_from_database(slug, doc)
        if stamps is None:
            return None, None
        cache.set_many({ekey: stamps.edition, ukey: stamps.unit}, STAMP_TTL)
    entry = found.get(entry_key)
    head = entry.head if isinstance(entry, CachedPage) else entry
    if not isinstance(head, CachedHead) or head.stamps != stamps:
        entry = None
    return stamps, entry


def stamps(slug: str, doc: str) -> Stamps | None:
    """The unit's current stamps (for a page that is not cached whole: its ETag)."""
    ekey, ukey = Edition.stamp_key(slug), Document.stamp_key(slug, doc)
    found = cache.get_many([ekey, ukey])
    if ekey in found and ukey in found:
        return Stamps(found[ekey], found[ukey])
    current = stamps_from_database(slug, doc)
    if current is not None:
        cache.set_many({ekey: current.edition, ukey: current.unit}, STAMP_TTL)
    return current


def get_page(request, slug: str, doc: str, version: int, stamps: Stamps) -> CachedPage | None:
    """The whole page, after a head answered a conditional GET that did not match."""
    entry = cache.get(page_key(request, slug, doc, version))
    return entry if isinstance(entry, CachedPage) and entry.head.stamps == stamps else None


def put(request, slug: str, doc: str, version: int, page: CachedPage) -> None:
    cache.set_many({head_key(request, slug, doc, version): page.head,
                    page_key(request, slug, doc, version): page}, PAGE_TTL)
