"""Sign-in is rate limited per account and address."""

import pytest
from django.core.cache import cache
from django.test import override_settings

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear():
    cache.clear()
    yield
    cache.clear()


def attempt(client, username, password):
    return client.post("/accounts/login/", {"username": username, "password": password})


@override_settings(EMEND_SIGNIN_ATTEMPTS=3)
def test_repeated_failures_are_refused_then_right_password_too(client, people):
    for _ in range(3):
        assert attempt(client, "editor", "wrong").status_code == 200
    limited = attempt(client, "editor", "pw-editoreditor")
    assert limited.status_code == 429 and "Retry-After" in limited
    assert b"Too many sign-in attempts" in limited.content
    assert "_auth_user_id" not in client.session


@override_settings(EMEND_SIGNIN_ATTEMPTS=3)
def test_success_before_the_limit_signs_in(client, people):
    attempt(client, "editor", "wrong")
    response = attempt(client, "editor", "pw-editoreditor")
    assert response.status_code == 302
    assert client.session["_auth_user_id"]


def test_public_pages_set_no_cookie(client, sample_edition):
    response = client.get("/frus1958-60v18/d142/")
    assert "csrftoken" not in response.cookies
    assert b"x-csrftoken" not in response.content
