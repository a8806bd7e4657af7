"""Sign-in is limited per account (django-axes, hooks in review/signin.py): from one address after
AXES_FAILURE_LIMIT failures, from everywhere after EVERYWHERE times that; never per address."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import override_settings

from review.signin import EVERYWHERE

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("people")]

LIMIT = 3
WINDOW = timedelta(minutes=15)


@pytest.fixture(autouse=True)
def _limit(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.AXES_COOLOFF_TIME = WINDOW


def attempt(client, username, password=None, address="192.0.2.10", **headers):
    """A sign-in from `address`; the right password unless one is given."""
    return client.post("/accounts/login/", {
        "username": username, "password": password or f"pw-{username * 2}",
    }, REMOTE_ADDR=address, **headers)


def fail(client, username, times, **kwargs):
    return [attempt(client, username, "wrong", **kwargs).status_code for _ in range(times)]


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_failures_lock_the_account_then_the_right_password_too(client):
    assert fail(client, "editor", LIMIT) == [200] * (LIMIT - 1) + [429]
    limited = attempt(client, "editor")
    assert limited.status_code == 429
    assert limited["Retry-After"] == str(int(WINDOW.total_seconds()))
    assert b"Too many sign-in attempts" in limited.content and b"15 minutes" in limited.content
    assert not signed_in(client)


def test_success_before_the_limit_signs_in_and_clears_the_count(client):
    fail(client, "editor", LIMIT - 1)
    assert attempt(client, "editor").status_code == 302 and signed_in(client)
    client.logout()
    assert fail(client, "editor", LIMIT - 1) == [200] * (LIMIT - 1)
    assert attempt(client, "editor").status_code == 302


def test_lock_ends_after_the_window(client):
    fail(client, "editor", LIMIT)
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time - WINDOW)
    assert attempt(client, "editor").status_code == 302


def test_refused_tries_while_locked_do_not_prolong_the_lock(client):
    fail(client, "editor", LIMIT)
    locked_at = AccessAttempt.objects.get().attempt_time
    fail(client, "editor", 3)
    assert attempt(client, "editor").status_code == 429
    assert AccessAttempt.objects.get().attempt_time == locked_at


def test_the_admin_sign_in_shares_the_count(client, people):
    people.admin.is_staff = True
    people.admin.save()
    for _ in range(LIMIT):
        client.post("/admin/login/", {"username": "admin", "password": "wrong"},
                    REMOTE_ADDR="192.0.2.10")
    assert attempt(client, "admin").status_code == 429


def test_fullwidth_username_shares_the_lock_of_the_ascii_one(client):
    fail(client, "reviewer2", LIMIT - 1)
    assert attempt(client, "ｒｅｖｉｅｗｅｒ２", "wrong").status_code == 429
    # Django's form normalises it to reviewer2, whose password this is: still refused.
    assert attempt(client, "ｒｅｖｉｅｗｅｒ２", "pw-reviewer2reviewer2").status_code == 429
    assert attempt(client, "reviewer2").status_code == 429
    assert not signed_in(client)
    assert set(AccessAttempt.objects.values_list("username", flat=True)) == {"reviewer2"}


def test_usernames_are_case_sensitive_so_the_count_is_too(client):
    # ModelBackend looks usernames up exactly: EDITOR is no account, whatever the password...
    assert attempt(client, "EDITOR", "pw-editoreditor").status_code == 200
    assert not signed_in(client)
    # ...so failures on it are no attack on editor, and do not lock editor out.
    fail(client, "EDITOR", LIMIT)
    assert attempt(client, "editor").status_code == 302


def test_many_failures_from_one_address_do_not_refuse_other_accounts(client):
    """Behind a proxy every client has the proxy's address: failing on many accounts from it
    must not lock everyone out."""
    for name in ["editor", "editor2", "admin", "stranger"] + [f"nobody{i}" for i in range(10)]:
        fail(client, name, LIMIT)
    assert sum(AccessAttempt.objects.values_list("failures_since_start", flat=True)) > 20
    assert attempt(client, "reviewer").status_code == 302 and signed_in(client)


def test_an_account_locked_from_one_address_still_signs_in_from_another(client):
    fail(client, "editor", LIMIT, address="192.0.2.66")
    assert attempt(client, "editor", address="192.0.2.66").status_code == 429
    assert attempt(client, "editor", address="198.51.100.5").status_code == 302


def test_the_per_account_limit_holds_across_addresses(client):
    for i in range(EVERYWHERE * LIMIT // (LIMIT - 1)):
        fail(client, "editor", LIMIT - 1, address=f"192.0.2.{i + 1}")
    assert attempt(client, "editor", "wrong", address="198.51.100.5").status_code == 429
    assert attempt(client, "editor", address="198.51.100.6").status_code == 429
    assert not signed_in(client)
    assert attempt(client, "reviewer", address="198.51.100.6").status_code == 302


def test_forged_forwarded_for_is_ignored_without_trusted_proxies(client, settings):
    settings.EMEND_TRUSTED_PROXIES = 0
    for i in range(LIMIT):
        attempt(client, "editor", "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}")
    assert attempt(client, "editor", HTTP_X_FORWARDED_FOR="203.0.113.99").status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"192.0.2.10"}


def test_with_one_trusted_proxy_the_forwarded_client_address_counts(client, settings):
    settings.EMEND_TRUSTED_PROXIES = 1
    proxy = "10.0.0.2"
    for forged in range(LIMIT):  # the client's own X-Forwarded-For is kept, on the left
        attempt(client, "editor", "wrong", address=proxy,
                HTTP_X_FORWARDED_FOR=f"203.0.113.{forged}, 198.51.100.1")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"198.51.100.1"}
    assert attempt(client, "editor", address=proxy,
                   HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 429
    assert attempt(client, "editor", address=proxy,
                   HTTP_X_FORWARDED_FOR="198.51.100.1, 198.51.100.2").status_code == 302


@override_settings(CACHES={"default": {
    "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0",
}})
def test_signing_in_needs_no_cache(client):
    fail(client, "editor", LIMIT)
    assert attempt(client, "editor").status_code == 429
    assert attempt(client, "reviewer").status_code == 302 and signed_in(client)


def test_public_pages_set_no_cookie(client, sample_edition):
    response = client.get("/frus1958-60v18/d142/")
    assert "csrftoken" not in response.cookies
    assert b"x-csrftoken" not in response.content
