"""A browser test leaves no database session open (CI's teardown warned "There is 1 other
session using the database" and could not drop the test database).

Inside Playwright's sync API an asyncio loop runs in the test's thread, so Django's connection
handler (asgiref's Local, thread-critical) hands the test code a context-local connection, not
the thread's: pytest-django closes the thread's, never that one. `chromium_page` closes it."""

import pytest
from django.db import connection, connections

from edition.models import Edition
from tests.browser import chromium_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def backends() -> set[int]:
    """The database's sessions (on PostgreSQL), this one's included."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        return {pid for (pid,) in cursor.fetchall()}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="sessions are PostgreSQL's")
def test_no_session_outlives_the_browser():
    before = backends()
    outer = connections["default"]
    with chromium_page():
        inner = connections["default"]
        Edition.objects.exists()  # the test's code queries while the browser is open
        used = inner.connection.info.backend_pid if inner.connection else None
    assert inner is not outer  # why this test exists: another connection inside the block
    assert used is not None
    assert backends() <= before, "a connection made inside the browser block is still open"
