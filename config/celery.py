"""The Celery app. Broker and options come from Django settings (CELERY_* names)."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("emend")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _connections_as_a_request(task=None, **kwargs) -> None:
    """The database connections at a task's start and end as Django treats them at a web
    request's: closed when broken, left in a transaction or older than CONN_MAX_AGE, else kept
    and health-checked before their next use. CELERY_DB_REUSE_MAX (settings) stops Celery's
    fixup from closing them after every task. Not for a task run eagerly (inside the caller's
    request or test transaction, which this must not close)."""
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


@worker_init.connect
def _yield_to_readers(**kwargs) -> None:
    """Lower the worker's CPU priority by EMEND_WORKER_NICE before its pool starts (the pool's
    processes inherit it): what a worker does is never waited for by a reader, while a web
    process's page is, so where they share a host the scheduler should prefer the page. A
    niceness cannot be raised back without privileges; the setting only ever lowers it."""
    from django.conf import settings

    step = getattr(settings, "EMEND_WORKER_NICE", 0)
    if step > 0:
        os.nice(step)
