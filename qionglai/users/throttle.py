"""A per-client-address limit on login POSTs (design §12; issue #12 §2). django-axes locks an
(account, address) pair after repeated wrong passwords; this caps how many accounts one
address may try at all, so password spraying across many accounts is slowed too. The API's
token endpoint has DRF's scoped "token" throttle; this is the HTML login page's equivalent,
keyed on the same client address (client.client_ip)."""

from __future__ import annotations

import logging
import time
import uuid
from types import SimpleNamespace

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

# one rate's sliding window: (allowed, requests in it before this one, the oldest of them);
# `at` is the time as the client sent it, returned as it came
_WINDOW_FUNCTION = """
local function window(key, limit, duration, now, at, member)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - duration)
  local n = redis.call('ZCARD', key)
  if n >= limit then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    return {0, n, oldest[2] or at}
  end
  redis.call('ZADD', key, now, member)
  redis.call('EXPIRE', key, duration)
  return {1, n, at}
end
"""
WINDOW_SCRIPT = (
    _WINDOW_FUNCTION
    + """
local now = tonumber(ARGV[1])
local out = {}
for i, key in ipairs(KEYS) do
  out[i] = window(key, tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i]), now, ARGV[1], ARGV[3 * i + 1])
end
return out
"""
)
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


def _windows(request, view):
    """(throttle, window key, script arguments) of every rate of `view` that applies to
    `request`, and the time they are counted at."""
    mine = [t for t in view.get_throttles() if isinstance(t, OneRoundTrip)]
    keyed = [(t, t.window_key(request, view)) for t in mine]
    now = throttling.SimpleRateThrottle.timer()
    return [
        (t, k, [t.num_requests, t.duration, f"{now!r}:{uuid.uuid4().hex[:12]}"])
        for t, k in keyed
        if k is not None
    ], now


def _answers(request, view, windows, now, answers) -> dict:
    results = {
        type(throttle): (bool(int(allowed)), int(count), float(oldest), now)
        for (throttle, _, _), (allowed, count, oldest) in zip(windows, answers, strict=True)
    }
    setattr(request, _RESULTS, (view, results))
    return results


def _check_all(request, view, client) -> dict:
    """Runs every rate of `view` that applies to this request in one script call; the answer per
    throttle class: (allowed, requests in the window before this one, oldest of them)."""
    windows, now = _windows(request, view)
    answers = []
    if windows:
        args = [repr(now)]
        for _, _, window_args in windows:
            args += window_args
        backend = _backend(windows[0][0])
        keys = [backend.make_and_validate_key("rate:" + key) for _, key, _ in windows]
        try:
            answers = _run(client, keys, args)
        except Exception:
            logger.warning("throttle store unreachable, request let through", exc_info=True)
            answers = [(1, 0, repr(now))] * len(windows)
    return _answers(request, view, windows, now, answers)


# --- a token's identity and its rates in the same round trip --------------------------------
#
# A token request read its identity (identity.token_entry: one GET) and then ran the rate
# script: two round trips. The rates are keyed by the user's id, which the entry holds; a
# process that has seen the token authenticate knows it already (a token's user never
# changes), so one script reads the entry and counts the rates together. It counts them only
# when there is an entry to read (not for a missing one or a tombstone, where the request
# reads the database and its rates run afterwards as before), so what is counted is what
# DRF would count, except that the count happens before the view's permission check: a
# request refused with 403 uses up one request of its rate (with DRF's order it would not).
ENTRY_AND_WINDOWS_SCRIPT = (
    _WINDOW_FUNCTION
    + """
local entry = redis.call('GET', KEYS[1])
if not entry or entry == ARGV[1] then
  return {entry}
end
local now = tonumber(ARGV[2])
local out = {entry}
for i = 2, #KEYS do
  local a = 3 * (i - 1)
  out[i] = window(KEYS[i], tonumber(ARGV[a]), tonumber(ARGV[a + 1]), now, ARGV[2], ARGV[a + 2])
end
return out
"""
)
_entry_script = None


class _AsUser:
    """What a throttle's get_cache_key reads of a request, for a user known only by id."""

    def __init__(self, user_id):
        self.user = SimpleNamespace(pk=user_id, is_authenticated=True)


def entry_and_rates(request, view, *, key: str, user_id: int, tombstone):
    """The cache entry at `key` (deserialized; None when there is none) read in the same
    script call that counts every rate of `view` for `user_id`, the answers kept on `request`
    for the throttles (OneRoundTrip.allow_request). Raises LookupError when it cannot be done
    in one call (no Redis, no rate applies, or the call failed): the caller reads the entry
    its usual way and the rates run later."""
    global _entry_script
    from django.core.cache import cache

    client = _redis(SimpleNamespace(cache=cache))
    if client is None or view is None:
        raise LookupError(key)
    windows, now = _windows(_AsUser(user_id), view)
    if not windows:
        raise LookupError(key)
    backend = _backend(windows[0][0])
    serializer = backend._cache._serializer
    keys = [backend.make_and_validate_key(key)]
    keys += [backend.make_and_validate_key("rate:" + k) for _, k, _ in windows]
    args = [serializer.dumps(tombstone), repr(now)]
    for _, _, window_args in windows:
        args += window_args
    try:
        if _entry_script is None:
            _entry_script = client.register_script(ENTRY_AND_WINDOWS_SCRIPT)
        entry, *answers = _entry_script(keys=keys, args=args, client=client)
    except Exception as error:
        logger.warning("identity and rates unreadable in one call", exc_info=True)
        raise LookupError(key) from error
    if entry is None:
        return None
    try:
        found = serializer.loads(entry)
    except Exception as error:  # unreadable: the usual read decides (and logs), rates run later
        raise LookupError(key) from error
    if answers:  # counted: the throttles read these instead of running the script again
        _answers(request, view, windows, now, answers)
    return found


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
