"""The worker's database connections across tasks (config/celery.py, CELERY_DB_REUSE_MAX).

Celery's Django fixup used to close every connection before and after each task: each
approval's task then opened a new PostgreSQL connection (a backend forked and set up). Now a
connection is kept between tasks under a web request's rules: closed when too old, broken or
left in a transaction; never inside a task run eagerly (the caller's transaction)."""

import time

import pytest
from celery.fixups.django import DjangoWorkerFixup
from celery.signals import task_postrun, task_prerun
from django.conf import settings
from django.db import connection, transaction

from config.celery import app
from edition.tasks import run_checks

pytestmark = pytest.mark.django_db(transaction=True)


# Django never closes an in-memory SQLite database (the tests' default): closing is seen on a
# real one (PostgreSQL, as in production).
def _closes() -> None:
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("an in-memory SQLite database is never closed")


def _boundary(signal, task=run_checks) -> None:
    # What the worker's tracer sends around a task it runs (not eagerly).
    signal.send(sender=task, task=task, task_id="t", args=(), kwargs={})


@pytest.fixture
def persistent():
    """The connection open and kept like CONN_MAX_AGE=None (SQLite forces 0 in settings)."""
    connection.ensure_connection()
    saved = connection.close_at
    connection.close_at = None
    yield connection
    connection.close_at = saved


def test_the_fixup_no_longer_closes_after_every_task(persistent):
    assert settings.CELERY_DB_REUSE_MAX > 0
    fixup = DjangoWorkerFixup(app)
    assert fixup.db_reuse_max == settings.CELERY_DB_REUSE_MAX
    fixup.on_task_prerun(sender=run_checks)
    fixup.on_task_postrun(sender=run_checks)
    assert connection.connection is not None


def test_a_usable_connection_is_kept_across_tasks(persistent):
    raw = connection.connection
    _boundary(task_prerun)
    _boundary(task_postrun)
    assert connection.connection is raw
    # ... and checked before its next use, as at a web request's start.
    assert connection.health_check_done is False or not connection.health_check_enabled


def test_an_old_connection_is_closed_at_the_task_boundary(persistent):
    _closes()
    connection.close_at = time.monotonic() - 1  # CONN_MAX_AGE passed
    _boundary(task_postrun)
    assert connection.connection is None


def test_a_connection_left_in_a_transaction_is_closed(persistent):
    _closes()
    connection.set_autocommit(False)  # a task that forgot to end its transaction
    try:
        _boundary(task_postrun)
        assert connection.connection is None
    finally:
        connection.set_autocommit(True)


def test_an_eager_task_leaves_the_callers_transaction_alone(persistent):
    with transaction.atomic():
        raw = connection.connection
        run_checks.push_request(is_eager=True)
        try:
            _boundary(task_prerun)
            _boundary(task_postrun)
        finally:
            run_checks.pop_request()
        assert connection.connection is raw
        assert connection.in_atomic_block


@pytest.mark.django_db
def test_the_checks_task_leaves_the_volume_skeleton_unread(sample_edition):
    # A whole volume's skeleton passes a megabyte: the task after every approval reads the
    # edition's numbers and registers through their own queries, never the skeleton.
    from django.test.utils import CaptureQueriesContext

    from edition.models import Document
    from tests.edition.test_register_popups import add_registers

    add_registers(sample_edition)  # (without them, the registers come from the skeleton)
    d142 = Document.objects.get(edition=sample_edition, xml_id="d142")
    with CaptureQueriesContext(connection) as captured:
        run_checks([d142.pk])
    statements = [q["sql"] for q in captured.captured_queries]
    assert any("edition_edition" in sql for sql in statements)  # the edition is read...
    assert not any("tei_skeleton" in sql or "tei_header" in sql for sql in statements)
