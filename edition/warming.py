"""Reading pages rendered into the page cache by the worker after an approval.

An approval retires its document's cached page (edition/pagecache.py): without this, the next
reader of that document renders it cold (30–60 ms of a web worker, in the p99 of every reader
behind it). `Document.add_revision` queues `tasks.after_revision` (which warms, then runs the
checks) once the revision commits, and the worker asks the site for the page exactly as an
anonymous reader would — the whole Django stack
(middleware, view, `pagecache.serve`) through `django.test.Client`, once for each origin pages
were served under (`pagecache.origins`: pages hold absolute links, so each origin has its own
copy). The page stored is therefore the one a reader would have rendered, byte for byte, and
keyed by the stamps it was read under: if another approval lands meanwhile, its stamp drop
makes this copy a miss like any other.

Nothing depends on it: with no worker, or the broker down, the first reader renders the page
as before. A task for a revision that is no longer current does nothing (the newer revision's
own task warms the page).
"""

from __future__ import annotations

import functools
import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.test import Client
from django.urls import reverse

from . import pagecache
from .models import Document

log = logging.getLogger(__name__)


def warm_pages(revision_id: int) -> int:
    """The reading page of the document whose current revision is `revision_id`, requested
    once per known origin (each stores it in the page cache when it is not there). Returns
    the number of pages requested."""
    # One unit at most is current at a revision: ordered by its key, not the Meta ordering's
    # join and sort.
    row = (Document.objects.filter(current_revision_id=revision_id).order_by("pk")
           .values_list("edition__slug", "xml_id").first())
    if row is None:  # superseded (or gone): the newer revision's task warms its page
        return 0
    path = _document_path(*row)
    count = 0
    for origin in pagecache.origins():
        if _request(origin, path):
            count += 1
    return count


def _document_path(slug: str, xml_id: str) -> str:
    return reverse("edition:document", args=[slug, xml_id])


@functools.cache
def _client() -> Client:
    # One per process: a client loads the middleware chain once.
    return Client(raise_request_exception=False)


def _request(origin: str, path: str) -> bool:
    """GET `path` as an anonymous reader at `origin` (scheme://host[:port]) would; True when the
    site answered 200."""
    parts = urlsplit(origin)
    secure = parts.scheme == "https"
    extra = {"HTTP_HOST": parts.netloc}
    proxy = settings.SECURE_PROXY_SSL_HEADER
    if proxy:  # behind a proxy the scheme is read from its header: say what the proxy would
        header, value = proxy
        extra[header] = value if secure else "http"
    # No exception raised into the task: a page that fails renders (and fails) for the reader
    # as it would have without warming; the worker only logs it.
    client = _client()
    client.cookies.clear()  # every request as a first visit: no cookie a page may have set
    try:
        response = client.get(path, secure=secure, **extra)
    except Exception:  # the client itself (never the view: see raise_request_exception)
        log.warning("could not warm %s%s", origin, path, exc_info=True)
        return False
    if response.status_code != 200:
        log.info("warming %s%s answered %s", origin, path, response.status_code)
        return False
    return True
