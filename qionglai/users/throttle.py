"""A per-client-address limit on login POSTs (design §12; issue #12 §2). django-axes locks an
(account, address) pair after repeated wrong passwords; this caps how many accounts one
address may try at all, so password spraying across many accounts is slowed too. The API's
token endpoint has DRF's scoped "token" throttle; this is the HTML login page's equivalent,
keyed on the same client address (client.client_ip)."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.shortcuts import render

from .client import client_ip

PERIODS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600}


def parse_rate(rate: str) -> tuple[int, int]:
    """ "20/min" → (20, 60)."""
    count, _, period = rate.partition("/")
    return int(count), PERIODS[period.strip().lower()]


def login_wait(request) -> int:
    """Counts this login attempt against its address; the seconds to wait when over the limit,
    else 0. A fixed window in the cache (atomic incr; Redis in production)."""
    limit, period = parse_rate(settings.LOGIN_PAGE_RATE)
    now = time.time()
    window = int(now // period)
    key = f"login-page:{client_ip(request) or 'unknown'}:{window}"
    cache.add(key, 0, timeout=period + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr: count this one as the first
        cache.set(key, 1, timeout=period + 1)
        count = 1
    if count <= limit:
        return 0
    return max(1, int((window + 1) * period - now + 0.999))


class LoginView(auth_views.LoginView):
    def post(self, request, *args, **kwargs):
        wait = login_wait(request)
        if wait:
            response = render(request, "registration/throttled.html", {"wait": wait}, status=429)
            response["Retry-After"] = str(wait)
            return response
        return super().post(request, *args, **kwargs)
