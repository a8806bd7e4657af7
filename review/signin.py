"""Sign-in with a limit on failed attempts, per account and per address.

Counting in the shared cache works across web processes and hosts; a limit per address alone
would let one address try many accounts, per account alone would let anyone lock an account out
for everyone — so both count, and the lock lasts only the window.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.http import HttpResponse
from django.template.response import TemplateResponse


def _keys(request) -> list[str]:
    address = request.META.get("REMOTE_ADDR", "")
    username = (request.POST.get("username") or "").strip().lower()
    digest = hashlib.sha256(f"{address}|{username}".encode()).hexdigest()[:24]
    return [f"emend:signin:addr:{address}", f"emend:signin:pair:{digest}"]


def _limits() -> tuple[int, int]:
    return settings.EMEND_SIGNIN_ATTEMPTS, settings.EMEND_SIGNIN_WINDOW


class SignInView(auth_views.LoginView):
    def post(self, request, *args, **kwargs) -> HttpResponse:
        attempts, window = _limits()
        address_key, pair_key = _keys(request)
        counts = cache.get_many([address_key, pair_key])
        if counts.get(pair_key, 0) >= attempts or counts.get(address_key, 0) >= attempts * 4:
            response = TemplateResponse(
                request, "registration/login_limited.html",
                {"minutes": max(window // 60, 1)}, status=429,
            )
            response["Retry-After"] = str(window)
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        _, window = _limits()
        for key in _keys(self.request):
            if cache.add(key, 1, window) is False:
                try:
                    cache.incr(key)
                except ValueError:  # expired between add and incr
                    cache.set(key, 1, window)
        return super().form_invalid(form)

    def form_valid(self, form):
        cache.delete(_keys(self.request)[1])
        return super().form_valid(form)
