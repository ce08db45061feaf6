"""A per-client-address limit on login POSTs (design §12; issue #12 §2). django-axes locks an
(account, address) pair after repeated wrong passwords; this caps how many accounts one
address may try at all, so password spraying across many accounts is slowed too. The API's
token endpoint has DRF's scoped "token" throttle; this is the HTML login page's equivalent,
keyed on the same client address (client.client_ip)."""

from __future__ import annotations

import logging
import time
import uuid

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.shortcuts import render
from rest_framework import throttling

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


# --- the API's rates in one Redis round trip (issues #9/#10: per-request overhead) ----------
#
# DRF's throttles each read and rewrite a pickled list of timestamps (two round trips per
# rate). These keep DRF's sliding window exactly — the same limits, the same Retry-After
# (`wait()` is DRF's formula over the same numbers) — as one sorted set per rate, and check
# every rate of the view in one Lua script: the first throttle of a request runs it for all
# of the view's throttles and the others read their answer from the request.
#
# Without Redis (the embedded default's local-memory cache) DRF's own code runs. A Redis that
# fails lets the request through (logged): a throttle is a brake, not a gate, and a 500 for
# every API call while Redis restarts would be worse.

WINDOW_SCRIPT = """
local now = tonumber(ARGV[1])
local out = {}
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[3 * i - 1])
  local duration = tonumber(ARGV[3 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - duration)
  local n = redis.call('ZCARD', key)
  if n >= limit then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    out[i] = {0, n, oldest[2] or ARGV[1]}
  else
    redis.call('ZADD', key, now, ARGV[3 * i + 1])
    redis.call('EXPIRE', key, duration)
    out[i] = {1, n, ARGV[1]}
  end
end
return out
"""
_RESULTS = "_rate_windows"
_script = None
logger = logging.getLogger(__name__)


def _backend(throttle):
    """The cache backend behind the throttle's cache (DRF's is the `cache` proxy)."""
    from django.core.cache import DEFAULT_CACHE_ALIAS, caches
    from django.utils.connection import ConnectionProxy

    backend = throttle.cache
    return caches[DEFAULT_CACHE_ALIAS] if isinstance(backend, ConnectionProxy) else backend


def _redis(throttle):
    from django.core.cache.backends.redis import RedisCache

    backend = _backend(throttle)
    if not isinstance(backend, RedisCache):
        return None
    return backend._cache.get_client(write=True)


def _run(client, keys, args):
    global _script
    if _script is None:  # the script's SHA, computed once; EVALSHA, loaded on first miss
        _script = client.register_script(WINDOW_SCRIPT)
    return _script(keys=keys, args=args, client=client)


def _check_all(request, view, client) -> dict:
    """Runs every rate of `view` that applies to this request in one script call; the answer per
    throttle class: (allowed, requests in the window before this one, oldest of them)."""
    mine = [t for t in view.get_throttles() if isinstance(t, OneRoundTrip)]
    keyed = [(t, t.window_key(request, view)) for t in mine]
    keyed = [(t, k) for t, k in keyed if k is not None]
    results: dict = {}
    if keyed:
        now = throttling.SimpleRateThrottle.timer()
        args = [repr(now)]
        for throttle, _ in keyed:
            args += [throttle.num_requests, throttle.duration, f"{now!r}:{uuid.uuid4().hex[:12]}"]
        backend = _backend(keyed[0][0])
        keys = [backend.make_and_validate_key("rate:" + key) for _, key in keyed]
        try:
            answers = _run(client, keys, args)
        except Exception:
            logger.warning("throttle store unreachable, request let through", exc_info=True)
            answers = [(1, 0, repr(now))] * len(keyed)
        for (throttle, _), (allowed, count, oldest) in zip(keyed, answers, strict=True):
            results[type(throttle)] = (bool(int(allowed)), int(count), float(oldest), now)
    setattr(request, _RESULTS, (view, results))
    return results


class OneRoundTrip:
    def window_key(self, request, view):
        if self.rate is None:
            return None
        return self.get_cache_key(request, view)

    def allow_request(self, request, view):
        done = getattr(request, _RESULTS, None)
        if done is not None and done[0] is view:  # the request's first throttle ran the script
            results = done[1]
        else:
            client = _redis(self)
            if client is None:
                return super().allow_request(request, view)
            results = _check_all(request, view, client)
        answer = results.get(type(self))
        if answer is None:
            return True
        allowed, self._count, self._oldest, self.now = answer
        return allowed

    def wait(self):
        if not hasattr(self, "_count"):
            return super().wait()
        # DRF's SimpleRateThrottle.wait() over the same window
        remaining = self.duration - (self.now - self._oldest) if self._count else self.duration
        available = self.num_requests - self._count + 1
        if available <= 0:
            return None
        return remaining / float(available)


class AnonRateThrottle(OneRoundTrip, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(OneRoundTrip, throttling.UserRateThrottle):
    pass


class ScopedRateThrottle(OneRoundTrip, throttling.ScopedRateThrottle):
    def window_key(self, request, view):
        # DRF's ScopedRateThrottle learns its scope and rate from the view
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return None
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().window_key(request, view)

    def allow_request(self, request, view):
        if _redis(self) is None:
            return super(OneRoundTrip, self).allow_request(request, view)
        self.window_key(request, view)  # this instance's own rate, for wait()
        return super().allow_request(request, view)
