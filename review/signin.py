"""The sign-in limit's hooks into django-axes (settings in config/settings.py, "Sign-in limits").

Failures are counted per account: from one address an account is refused after
AXES_FAILURE_LIMIT of them, from everywhere together after EVERYWHERE times that. Never per
address alone: behind a proxy every client shares one address, and failing on many accounts from
it would lock everyone out.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from axes.models import AccessAttempt
from ipware import get_client_ip

# Many addresses may each try the limit on one account; together they get this many times it.
EVERYWHERE = 4


def username(request: HttpRequest, credentials: dict | None) -> str | None:
    """The account an attempt is for, spelled as the user model looks it up: stripped and
    NFKC-normalised as the sign-in form does, so that `ｅｄｉｔｏｒ` counts against `editor`.
    Lookups are case-sensitive (ModelBackend), so the count is too."""
    field = get_user_model().USERNAME_FIELD
    raw = credentials.get(field) if credentials else request.POST.get(field)
    if not isinstance(raw, str):
        return None
    return get_user_model().normalize_username(raw.strip())


def client_address(request: HttpRequest) -> str | None:
    """The address EMEND_TRUSTED_PROXIES say the client is at: with none, the connection's;
    with N, the Nth entry of X-Forwarded-For from the right (each proxy appends the address it
    received from). Entries further left are the client's to forge and are never read."""
    proxies = settings.EMEND_TRUSTED_PROXIES
    if not proxies:
        return request.META.get("REMOTE_ADDR")
    # ipware counts the proxy addresses listed after the client's: the nearest proxy's own is
    # REMOTE_ADDR, never listed. Not strict, which would refuse a chain the client lengthened.
    # X-Forwarded-For alone, or ipware would prefer a public REMOTE_ADDR to a private client.
    address, _ = get_client_ip(request, proxy_count=proxies - 1, strict=False,
                               request_header_order=("HTTP_X_FORWARDED_FOR",))
    return address or request.META.get("REMOTE_ADDR")


class AttemptsPerAccount(AxesDatabaseHandler):
    """Axes' database handler (counts shared by every process, no cache needed), with the two
    limits above in place of one."""

    def get_failures(self, request, credentials: dict | None = None) -> int:
        limit = get_failure_limit(request, credentials)
        attempts = AccessAttempt.objects.filter(
            username=get_client_username(request, credentials),
            attempt_time__gte=get_cool_off_threshold(request),
        )
        from_here = _failures(attempts.filter(ip_address=request.axes_ip_address))
        if _failures(attempts) >= limit * EVERYWHERE:
            return max(from_here, limit)
        return from_here


def _failures(attempts) -> int:
    return attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0


def lockout_response(request: HttpRequest, original_response: HttpResponse | None = None,
                     credentials: dict | None = None) -> HttpResponse:
    """429 with the friendly page; Retry-After is the whole cool-off, an upper bound."""
    window = int(get_cool_off(request).total_seconds())
    response = render(request, "registration/login_limited.html",
                      {"minutes": max(round(window / 60), 1)}, status=429)
    response["Retry-After"] = str(window)
    return response
