"""Background jobs of the edition app. Tasks are thin: the work lives in the domain modules."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import transaction

log = logging.getLogger(__name__)


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def warm_rendering(revision_ids: list[int]) -> int:
    """Render new revisions into the shared cache so the first reader does not wait."""
    from .rendering import rendered_html
    from .models import Revision

    revisions = Revision.objects.filter(pk__in=revision_ids).select_related("document__edition")
    count = 0
    for revision in revisions.iterator():
        rendered_html(revision)
        count += 1
    return count


def enqueue_on_commit(task, *args) -> None:
    """Send `task` once the transaction commits; a broker outage is logged, never raised.

    Nothing enqueued here is essential: the work it does is redone on demand.
    """

    def send() -> None:
        try:
            task.apply_async(args=args, retry=False)
        except Exception:  # the broker's many failure types: connection, timeout, auth
            log.warning("could not enqueue %s; it will be done on demand", task.name,
                        exc_info=True)

    transaction.on_commit(send)
