"""The signed-in person read from the cache (edition/auth.py): no query for them, and every
change to their row seen by the very next request."""

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from lxml import html

from edition.auth import CachedModelBackend, stamp_key, user_key

pytestmark = pytest.mark.django_db

D142 = "/frus1958-60v18/d142/"


def header(response) -> str:
    tree = html.fromstring(response.content)
    return " ".join(tree.xpath("string(//nav[@class='site-nav'])").split())


@pytest.fixture
def reader(client, sample_edition, people):
    client.force_login(people.stranger)
    assert "Signed in as stranger" in header(client.get(D142))  # caches row, roles, parts
    return people.stranger


def test_a_cached_reading_page_costs_no_query(client, reader):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(D142).status_code == 200
    assert [q["sql"] for q in queries] == []


def test_the_row_is_cached_and_dropped_by_a_save(client, reader):
    stamp, row = cache.get(user_key(reader.pk))
    assert row.username == "stranger" and stamp == cache.get(stamp_key(reader.pk))
    reader.first_name = "S"
    reader.save()
    assert cache.get(user_key(reader.pk)) is None


def test_a_new_username_shows_at_once(client, reader):
    reader.username = "renamed"
    reader.save()
    assert "Signed in as renamed" in header(client.get(D142))


def test_a_password_change_signs_the_session_out_at_once(client, reader):
    reader.set_password("another-password-entirely")
    reader.save()
    assert "Sign in" in header(client.get(D142))
    assert "stranger" not in client.get(D142).content.decode()


def test_a_deactivated_person_is_signed_out_at_once(client, reader):
    reader.is_active = False
    reader.save()
    assert "Sign in" in header(client.get(D142))


def test_a_deleted_person_is_signed_out_at_once(client, reader):
    reader.delete()
    assert "Sign in" in header(client.get(D142))


def test_another_persons_row_is_never_served(client, reader, people):
    # A key holding someone else's row (it cannot happen by the keys; the check is cheap).
    cache.set(user_key(reader.pk), (cache.get(stamp_key(reader.pk)),
                                     get_user_model().objects.get(pk=people.editor.pk)))
    assert "Signed in as stranger" in header(client.get(D142))


def test_a_row_read_before_a_change_is_not_put_back_after_its_drop(client, reader, monkeypatch):
    # A request misses the cache and reads the row; the person is deactivated and the drop
    # runs before that request stores what it read: the old row must not be served after.
    cache.delete(user_key(reader.pk))
    User = get_user_model()
    real_get = User._default_manager.get

    def read_then_change(*args, **kwargs):
        row = real_get(*args, **kwargs)
        changed = real_get(pk=reader.pk)
        changed.is_active = False
        changed.save()  # drops the row and the stamp (now and on commit)
        return row

    monkeypatch.setattr(User._default_manager, "get", read_then_change)
    assert CachedModelBackend().get_user(reader.pk).is_active  # what that request read
    monkeypatch.undo()
    assert "Sign in" in header(client.get(D142))


def test_roles_read_before_a_change_and_stored_after_its_drop_are_taken_back(db, monkeypatch):
    """A page reads a person's roles, their membership changes and drops the cached roles (on
    commit), then the page stores what it read: the second read takes it back."""
    from django.contrib.auth import get_user_model
    from django.core.cache import cache

    from edition import roles

    user = get_user_model().objects.create_user("reader", password="x")
    reads = iter([{1: "editor"}, {}])
    monkeypatch.setattr(roles, "_memberships", lambda person: next(reads))
    cache.delete(roles.roles_key(user.pk))
    assert roles.shown_roles(user) == {}
    assert cache.get(roles.roles_key(user.pk)) is None
