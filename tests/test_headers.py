"""Security headers (issue 13): the Content-Security-Policy on every page, templates it can
hold (no inline script, handler or style), and `Cache-Control: private` on every page that
depends on the signed-in user. The browser side is tests/test_csp_browser.py."""

import re
import runpy
from unittest import mock
from pathlib import Path

import csp.middleware
import pytest
from csp.utils import build_policy
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils.cache import patch_cache_control

from edition.middleware import CSPMiddleware, PrivateWhenSignedInMiddleware
from review.actions.propose import do_propose
from tests.helpers import text_spec

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = ROOT / "config" / "settings.py"


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in policy.split(";"))}


def cache_control(response) -> set[str]:
    return {part.strip() for part in response.get("Cache-Control", "").split(",") if part.strip()}


@pytest.mark.django_db
def test_pages_carry_the_policy(client, sample_edition):
    for address in ("/", "/frus1958-60v18/", "/frus1958-60v18/d142/", "/accounts/login/"):
        policy = directives(client.get(address))
        assert policy == {
            "default-src": ["'self'"], "script-src": ["'self'"], "style-src": ["'self'"],
            "img-src": ["'self'", "data:"], "object-src": ["'none'"], "base-uri": ["'none'"],
            "form-action": ["'self'"], "frame-ancestors": ["'none'"],
        }, address


def test_image_origins_come_from_the_setting(monkeypatch, tmp_path):
    monkeypatch.setenv("EMEND_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("EMEND_CSP_IMG_SRC", "https://static.history.state.gov, https://x.org")
    policy = runpy.run_path(str(SETTINGS))["CONTENT_SECURITY_POLICY"]["DIRECTIVES"]
    assert policy["img-src"] == ["'self'", "data:", "https://static.history.state.gov",
                                 "https://x.org"]
    assert policy["script-src"] == ["'self'"]


# What the policy blocks, as it would appear in a template.
INLINE = {
    "inline script": re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I),
    "event handler": re.compile(r"\son[a-z]+\s*=", re.I),
    "hx-on": re.compile(r"\b(data-)?hx-on", re.I),
    "javascript: address": re.compile(r"javascript:", re.I),
    "style attribute": re.compile(r"\sstyle\s*=", re.I),
    "style element": re.compile(r"<style", re.I),
}


def test_templates_have_no_inline_script_or_style():
    found = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted((ROOT / "templates").rglob("*.html"))
        for name, pattern in INLINE.items()
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_the_template_check_can_fail():
    assert INLINE["inline script"].search('<script>alert(1)</script>')
    assert not INLINE["inline script"].search('<script src="/static/a.js" defer></script>')
    assert not INLINE["inline script"].search('<script type="application/json" id="x">')
    assert INLINE["event handler"].search('<button onclick="go()">')
    assert INLINE["style attribute"].search('<p style="color: red">')


@pytest.mark.django_db
def test_signed_in_pages_are_private(client, sample_edition, people):
    document = sample_edition.documents.get(xml_id="d142")
    proposal = do_propose(document, author=people.editor,
                          base_revision=document.current_revision.number,
                          changes=[text_spec(document.current_revision, "the Japanese Government",
                                             "the Government of Japan")],
                          rationale="Typo in the source")
    client.force_login(people.reviewer)
    for address in ("/review/", "/review/queue/", "/review/mine/",
                    f"/review/proposals/{proposal.pk}/", "/frus1958-60v18/d142/",
                    "/frus1958-60v18/d142/propose/", "/frus1958-60v18/", "/",
                    "/frus1958-60v18/exports/", "/frus1958-60v18/d142/history/"):
        response = client.get(address)
        assert response.status_code == 200, address
        assert "private" in cache_control(response), address
        assert "public" not in cache_control(response), address
        assert not {d for d in cache_control(response)
                    if d.startswith(("s-maxage", "stale-while"))}, address
        assert "Cookie" in response["Vary"], address


@pytest.mark.django_db
def test_anonymous_reading_page_stays_public(client, sample_edition):
    for _ in range(2):  # rendered, then from the page cache
        response = client.get("/frus1958-60v18/d142/")
        # Browsers revalidate every time; a shared cache may serve it briefly (settings).
        assert cache_control(response) == {
            "public", "max-age=0", "s-maxage=10", "stale-while-revalidate=30"}
        assert response["ETag"] and "Cookie" in response["Vary"]


@pytest.mark.django_db
@pytest.mark.parametrize("address", [
    "/frus1958-60v18/d142/", "/frus1958-60v18/d142/r/1/", "/frus1958-60v18/d142.xml",
    "/frus1958-60v18/corrections/", "/frus1958-60v18/d142/corrections/"])
def test_a_shared_cache_may_serve_anonymous_pages_as_long_as_settings_say(
        client, sample_edition, settings, address):
    settings.EMEND_SHARED_MAX_AGE, settings.EMEND_STALE_WHILE_REVALIDATE = 7, 11
    first = client.get(address)
    assert first.status_code == 200, address
    assert {"public", "max-age=0", "s-maxage=7", "stale-while-revalidate=11"} <= \
        cache_control(first), address
    # A 304 carries them too: a proxy that revalidated keeps the page for as long again.
    again = client.get(address, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and "s-maxage=7" in cache_control(again), address


def _view_saying_shared(request):
    response = HttpResponse("the same for everyone")
    patch_cache_control(response, public=True, max_age=0, s_maxage=10,
                        stale_while_revalidate=30)
    return response


@pytest.mark.django_db
def test_a_signed_in_response_loses_what_only_shared_caches_read(people):
    request = RequestFactory().get("/")
    request.user = people.editor
    response = PrivateWhenSignedInMiddleware(_view_saying_shared)(request)
    assert cache_control(response) == {"private", "max-age=0"}


def _view_saying_public(request):
    response = HttpResponse("the same for everyone")
    patch_cache_control(response, public=True, max_age=3600)
    return response


@pytest.mark.django_db
def test_a_view_cannot_make_a_signed_in_response_public(people):
    request = RequestFactory().get("/")
    request.user = people.editor
    response = PrivateWhenSignedInMiddleware(_view_saying_public)(request)
    assert cache_control(response) == {"private", "max-age=3600"}
    assert response["Vary"] == "Cookie"


def test_anonymous_responses_are_left_alone():
    from django.contrib.auth.models import AnonymousUser

    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    response = PrivateWhenSignedInMiddleware(_view_saying_public)(request)
    assert cache_control(response) == {"public", "max-age=3600"}
    assert not response.has_header("Vary")


def _through_csp(response, request=None):
    request = request or RequestFactory().get("/")
    middleware = CSPMiddleware(lambda r: response)
    middleware.process_request(request)
    return middleware.process_response(request, response)


def test_the_policy_built_once_is_django_csps_and_follows_the_settings(settings):
    """Emend's CSPMiddleware writes the same header django-csp would, from the settings in
    force: a changed policy is built again, not served from the first one."""
    expected = build_policy()
    assert _through_csp(HttpResponse("x"))["Content-Security-Policy"] == expected
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'none'"]}}
    assert _through_csp(HttpResponse("x"))["Content-Security-Policy"] == "default-src 'none'"


def test_what_a_response_or_request_asks_for_goes_through_django_csp():
    """A per-response policy (`@csp_update` and kin), a nonce, an exemption: django-csp's own
    handling, not the prebuilt header."""
    updated = HttpResponse("x")
    updated._csp_update = {"img-src": ["https://static.history.state.gov"]}
    assert "https://static.history.state.gov" in \
        _through_csp(updated)["Content-Security-Policy"]
    request = RequestFactory().get("/")
    middleware = CSPMiddleware(lambda r: HttpResponse("x"))
    middleware.process_request(request)
    str(request.csp_nonce)  # a template asked for one: django-csp writes the header
    stock = csp.middleware.CSPMiddleware.process_response
    with mock.patch.object(csp.middleware.CSPMiddleware, "process_response", autospec=True,
                           side_effect=stock) as called:
        middleware.process_response(request, HttpResponse("x"))
    assert called.call_count == 1
    exempt = HttpResponse("x")
    exempt._csp_exempt = True
    assert "Content-Security-Policy" not in _through_csp(exempt)
    request = RequestFactory().get("/")
    _through_csp(HttpResponse("x"), request)
    with pytest.raises(Exception, match="not available after the CSP header"):
        str(request.csp_nonce)
