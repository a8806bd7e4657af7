"""Background jobs of the edition app. Tasks are thin: the work lives in the domain modules."""

from __future__ import annotations

import logging
import math

from celery import shared_task
from django.db import transaction

log = logging.getLogger(__name__)


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def warm_rendering(revision_ids: list[int]) -> int:
    """Render new revisions into the shared cache so the first reader does not wait.

    An import sends tens of thousands of ids: they are read a chunk at a time, each revision
    with its document's id and slug only, and every revision of an edition shares one Edition
    (never its skeleton: a volume's can pass a megabyte, loaded once per revision it was 7 GB).
    """
    from .models import Edition, Revision
    from .rendering import local_editions, rendered_html

    editions: dict[int, Edition] = {}
    local = local_editions()  # once: links to other volumes depend on them
    count = 0
    for start in range(0, len(revision_ids), WARM_CHUNK):
        chunk = revision_ids[start:start + WARM_CHUNK]
        revisions = (Revision.objects.filter(pk__in=chunk).select_related("document")
                     .only("tei", "checksum", "document__xml_id", "document__edition_id")
                     .order_by())
        for revision in revisions.iterator(chunk_size=WARM_CHUNK):
            document = revision.document
            if document.edition_id not in editions:
                editions[document.edition_id] = Edition.objects.without_tei().get(
                    pk=document.edition_id)
            document.edition = editions[document.edition_id]
            rendered_html(revision, local=local)
            count += 1
    return count


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=3)
def warm_pages(revision_id: int) -> int:
    """The new revision's reading page rendered into the page cache, as a reader would get it
    (edition/warming.py), so no reader waits for it. Does nothing once the revision is no
    longer current."""
    from .warming import warm_pages as warm

    return warm(revision_id)


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def after_revision(document_id: int, revision_id: int) -> int:
    """What follows a new revision (`Document.add_revision`), in one message: sending one costs
    the approving request about 3 ms (0.6 ms of CPU, Redis broker). The reading page first (`warm_pages`: a
    reader may be waiting for it), then the checks (`run_checks`). Safe to run twice or late,
    as both are."""
    warm_pages(revision_id)
    return run_checks([document_id])


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def check_rendering(revision_ids: list[int]) -> int:
    """The gate's rendering of a volume's new revisions, after its import (edition/gate.py):
    pieces kept for the builds, failures recorded as "render" suggestions."""
    from .gate import check_rendering as check

    return check(revision_ids)


# Revisions read per query by warm_rendering: a bounded `IN (…)` and a bounded batch in memory.
WARM_CHUNK = 500


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def run_checks(document_ids: list[int]) -> int:
    """Re-run the checks (edition/checks/) on these documents' current revisions: after a new
    revision, or a run asked for by `run_checks`. Safe to run twice or late: each run
    replaces the open check suggestions with what the current text shows."""
    from .checks import run

    return run.run_documents(document_ids)


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def run_edition_checks(edition_id: int, xml_ids: list[str] | None = None) -> int:
    """The checks on every unit of an edition (an import: the persons list and the numbering
    may have changed under every document), or on the units named."""
    from .checks import run
    from .models import Edition

    return run.run_edition(Edition.objects.without_tei().get(pk=edition_id), xml_ids)


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def make_page_images(upload_id: int, start: int, stop: int) -> int:
    """An upload's pages [start, stop): their display images and thumbnails (see
    edition/facsimiles.py). Safe to run twice: finished pages are skipped."""
    from . import facsimiles

    return facsimiles.make(upload_id, start, stop)


@shared_task(acks_late=True)
def sync_pages(edition_id: int) -> int:
    """Make the edition's page rows follow its TEI (a revision added or removed a pb)."""
    from . import pages
    from .models import Edition

    edition = Edition.objects.filter(pk=edition_id).first()
    return len(pages.sync(edition)) if edition is not None else 0


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, autoretry_for=(Exception,),
             retry_backoff=5, retry_backoff_max=300, retry_jitter=True, max_retries=8)
def build_exports(self, edition_id: int, group: str = "text") -> str:
    """Rebuild the edition's exports if any request is pending (see exporting/builds.py).

    Safe to run twice or late: a message with nothing pending does nothing. A failure is
    retried with backoff; after the last retry the sweep tries again.
    """
    from .exporting import builds

    # Let a burst of approvals finish arriving, without sleeping in the worker: each approval
    # sends two of these messages, and a process asleep for up to MAX_WAIT seconds is one
    # that cannot warm the pages readers wait for. The message is sent again for the moment
    # the burst settles; the requests stay pending rows meanwhile, so a lost message loses
    # nothing (the sweep re-sends). Run eagerly (no worker: tests, a demo), a countdown would
    # not be honoured, so it builds at once.
    eager = self.request.is_eager
    if not eager:
        # Before reading what is pending: a request committed after this finds no message
        # scheduled and sends its own (`send_build_exports`).
        _forget_scheduled(edition_id, group)
    wait = builds.settle_in(edition_id, group)
    if wait > 0 and not eager:
        send_build_exports(edition_id, group, wait)
        return DEFERRED
    status = builds.run(edition_id, group, settle=not eager).status
    # What arrived during the builds and has not settled: built when it has, as above.
    wait = 0 if eager else builds.settle_in(edition_id, group)
    if wait > 0:
        send_build_exports(edition_id, group, wait)
    return status


def send_build_exports(edition_id: int, group: str, countdown: float) -> None:
    """Send `build_exports` for `countdown` seconds from now, unless one is already scheduled
    to run by then: a burst of 50 approvals sent 100 messages (one per group each), and each
    that arrived before the burst settled sent itself again.

    Safe: a message scheduled for T marks the cache until T, rounded up to a whole second
    (Redis keeps whole seconds: rounded down, a mark for less than one would not be kept at
    all), so a request that finds the mark committed before that message runs, and the
    message, which clears the mark as it starts, before reading what is pending, sees it; a
    mark outliving T only stands for a message that has not started yet. A lost mark (the
    cache cleared, or a cache per process) only sends a message more; a lost message is
    re-sent by the sweep, as before. Without a worker (tasks run at once, eagerly) nothing is
    scheduled, so nothing is skipped."""
    from django.conf import settings
    from django.core.cache import cache

    marked = False
    if countdown > 0 and not settings.CELERY_TASK_ALWAYS_EAGER:
        key = _scheduled_key(edition_id, group)
        try:
            marked = cache.add(key, 1, math.ceil(countdown))
            # Not added: a mark is there, or the cache is unreachable (Emend's cache answers
            # a failed `add` with False, never an error): only a mark read back is trusted.
            if not marked and cache.get(key) is not None:
                return  # the message scheduled will read this request
        except Exception:  # a cache that raises: send, as without it
            log.warning("export message not de-duplicated", exc_info=True)
    if not _send(build_exports, (edition_id, group),
                 {"countdown": countdown} if countdown else {}) and marked:
        # Not sent (the broker down): the next request must not count on it.
        _forget_scheduled(edition_id, group)


def _scheduled_key(edition_id: int, group: str) -> str:
    return f"exports:scheduled:{edition_id}:{group}"


def _forget_scheduled(edition_id: int, group: str) -> None:
    from django.core.cache import cache

    try:
        cache.delete(_scheduled_key(edition_id, group))
    except Exception:  # the cache down: its mark expires by itself when this message is due
        log.warning("export message mark not cleared", exc_info=True)


# What build_exports returns when it sent itself again for later instead of building.
DEFERRED = "deferred"


@shared_task(acks_late=True)
def sweep_exports() -> list[tuple[int, str]]:
    """Periodic (Celery beat): re-send export requests whose message was lost (the broker was
    down, a worker died), take over builds whose worker stopped, prune old builds."""
    from .exporting import builds

    needed = builds.editions_needing_a_build()
    for edition_id, group in needed:
        _send(build_exports, (edition_id, group), {})
    builds.prune()
    return needed


@shared_task(acks_late=True)
def sweep_stuck_jobs() -> dict[str, list[int]]:
    """Periodic (Celery beat): uploads' page images and pages' OCR whose worker died stay
    "queued" or "running" forever otherwise; those with no progress for
    EMEND_STUCK_JOB_SECONDS are failed with the reason, and the Page images page offers to
    retry them."""
    from . import facsimiles
    from .ocr import record

    return {"uploads": facsimiles.fail_stuck(), "pages": record.fail_stuck(),
            "render_checks": resend_render_checks()}


def resend_render_checks() -> list[int]:
    """Send again the render checks of imported revisions (models.PendingRenderCheck) whose
    message was lost or whose worker died: sent longer ago than
    EMEND_RENDER_CHECK_RESEND_SECONDS and still not done. Each is marked sent now, so a long
    queue that is still moving is re-sent at most once per that interval (a check run twice
    is harmless)."""
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from .models import PendingRenderCheck

    now = timezone.now()
    stale = PendingRenderCheck.objects.filter(
        sent_at__lt=now - timedelta(seconds=settings.EMEND_RENDER_CHECK_RESEND_SECONDS))
    ids = list(stale.order_by("revision_id").values_list("revision_id", flat=True))
    if ids:
        PendingRenderCheck.objects.filter(revision_id__in=ids).update(sent_at=now)
        for start in range(0, len(ids), 5000):
            _send(check_rendering, (ids[start:start + 5000],), {})
    return ids


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def ocr_page(page_id: int) -> int:
    """Read a page image with Tesseract and align it with the text (edition/ocr/record.py).
    Safe to run twice: a run replaces the page's words and its open OCR suggestions."""
    from .models import PageImage
    from .ocr import record

    page = PageImage.objects.filter(pk=page_id).select_related("edition").first()
    return len(record.read_page(page)) if page is not None else 0


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def align_pages(page_ids: list[int]) -> int:
    """Align pages already read with the text as it is now (after a new revision of a unit on
    them): never re-read."""
    from .models import PageImage
    from .ocr import record

    return sum(len(record.align_page(page)) for page in
               PageImage.objects.filter(pk__in=page_ids).select_related("edition"))


def enqueue_on_commit(task, *args, countdown: float | None = None) -> None:
    """Send `task` once the transaction commits; a broker outage is logged, never raised.

    Nothing enqueued here is essential: what it does is redone on demand, and export requests
    are rows the periodic sweep re-sends.
    """
    transaction.on_commit(lambda: _send(task, args, {"countdown": countdown} if countdown else {}))


def _send(task, args, options) -> bool:
    """Send the message; False (logged) if the broker would not take it."""
    try:
        task.apply_async(args=args, retry=False, **options)
    except Exception:  # the broker's many failure types: connection, timeout, auth
        log.warning("could not enqueue %s; it will be done later", task.name, exc_info=True)
        return False
    return True
