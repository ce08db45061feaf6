"""A request's identity from one cache read: the user, their active grants and confirmed
second-factor devices, and for a token its state (issues #9 and #10: per-request overhead).

Two kinds of entry, both in Django's cache (Redis in production):
  identity:user:<id>       → Identity (the session path: after the session, one read)
  identity:token:<digest>  → (ApiToken, Identity) (the token path: one read in all)

Correctness comes first:
- every change that can alter what an entry says (a user saved or deleted, a grant given,
  retired or deleted, a token saved or deleted, a device added, changed or removed) writes a short-lived *tombstone* over the user's entries
  after its transaction commits (model signals below, plus the `.update()` calls in
  second_factor.py, which call forget_user themselves). Readers cache a fresh load with
  `add`, which a tombstone refuses, so a request that read the database just before the commit
  cannot put the old state back after it;
- a token's expiry is compared with the clock on every request (`expires_at` is in the entry),
  never left to invalidation;
- TTL (60 s) is only a backstop;
- a cache that fails (Redis down) is read around: the database answers, as with the cache off.

`IDENTITY_CACHE` (settings) switches it; off, every request reads the database as before (the
test suite runs with it off so each app's pinned query counts describe its own queries).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)

TTL = 60  # seconds: a backstop only, invalidation is by signal
# far longer than a request's gap between its database read and its cache write (milliseconds),
# short because a user's entries are not cached while it lasts (e.g. just after a sign-in)
TOMBSTONE_TTL = 3
TOMBSTONE = "gone"
USER_KEY = "identity:user:{}"
TOKEN_KEY = "identity:token:{}"  # noqa: S105 - a cache key pattern, not a secret


def enabled() -> bool:
    return bool(getattr(settings, "IDENTITY_CACHE", False))


@dataclass
class Identity:
    user: object
    grants: list = field(default_factory=list)
    devices: dict = field(default_factory=dict)  # persistent_id → confirmed Device

    def attach(self):
        """The user with the grants and devices attached where access.py and the second
        factor look for them; returns the user."""
        user = self.user
        user._active_grants = self.grants
        user._identity_devices = self.devices
        return user


def _load_identity(user) -> Identity:
    """Three queries: grants, TOTP devices, static devices."""
    from django_otp import devices_for_user

    from .models import Grant

    grants = list(Grant.objects.filter(user_id=user.pk, retired_at__isnull=True).order_by("id"))
    devices = {d.persistent_id: d for d in devices_for_user(user, confirmed=True)}
    return Identity(user=user, grants=grants, devices=devices)


def _cache_get(key):
    try:
        return cache.get(key)
    except Exception:  # Redis down or unreadable: the database answers
        logger.warning("identity cache unreadable, reading the database", exc_info=True)
        return None


def _cache_add(key, value) -> None:
    try:
        cache.add(key, value, TTL)
    except Exception:
        logger.warning("identity cache unwritable", exc_info=True)


# --- reading -------------------------------------------------------------------------------


def user_identity(user_id) -> Identity | None:
    """The user (any is_active: the caller decides) with grants and devices, or None."""
    from .models import User

    key = USER_KEY.format(int(user_id))
    found = _cache_get(key)
    if isinstance(found, Identity):
        return found
    user = User._default_manager.filter(pk=user_id).first()
    if user is None:
        return None
    identity = _load_identity(user)
    if found is None:  # a tombstone: a change is committing or just committed, do not cache
        _cache_add(key, identity)
    return identity


def token_entry(digest: str, *, read=None):
    """(token, user) for a token digest, the user with grants and devices attached, or None
    when no such token exists. The caller checks revocation, expiry and is_active.
    `read(key, tombstone)`: reads the entry in a call of the caller's (the token's rates in
    the same round trip, throttle.entry_and_rates); LookupError from it: read it here."""
    from .models import ApiToken

    key = TOKEN_KEY.format(digest)
    try:
        found = _cache_get(key) if read is None else read(key, TOMBSTONE)
    except LookupError:  # not in the caller's call after all: the usual read
        found = _cache_get(key)
    if isinstance(found, tuple):
        token, identity = found
    else:
        token = ApiToken.objects.select_related("user").filter(digest=digest).first()
        if token is None:
            return None  # unknown digests are not cached: anyone can make up as many as they like
        identity = _load_identity(token.user)
        token._state.fields_cache.clear()
        if found is None:
            _cache_add(key, (token, identity))
    user = identity.attach()
    token.user = user
    return token, user


# --- invalidation --------------------------------------------------------------------------


def _tombstone(keys: list[str]) -> None:
    try:
        cache.set_many(dict.fromkeys(keys, TOMBSTONE), TOMBSTONE_TTL)
    except Exception:  # the TTL backstop bounds what a missed invalidation can serve
        logger.warning("identity cache invalidation failed", exc_info=True)


def forget_user(user_id) -> None:
    """The user's entries (their own and their live tokens') are gone for the next request in
    every process, once the current transaction commits."""
    if not enabled() or user_id is None:
        return

    def run():
        from django.utils import timezone

        from .models import ApiToken

        digests = ApiToken.objects.filter(
            user_id=user_id, revoked_at__isnull=True, expires_at__gt=timezone.now()
        ).values_list("digest", flat=True)
        _tombstone([USER_KEY.format(int(user_id)), *(TOKEN_KEY.format(d) for d in digests)])

    transaction.on_commit(run)


def forget_token(digest: str) -> None:
    if not enabled():
        return
    transaction.on_commit(lambda: _tombstone([TOKEN_KEY.format(digest)]))


def _user_changed(sender, instance, **kwargs):
    forget_user(instance.pk)


def _owned_changed(sender, instance, **kwargs):
    forget_user(getattr(instance, "user_id", None))


def _token_changed(sender, instance, created=False, **kwargs):
    if not created:  # a new token has no entry yet (unknown digests are never cached)
        forget_token(instance.digest)


def connect_signals() -> None:
    from django.db.models.signals import post_delete, post_save
    from django_otp import device_classes

    from .models import ApiToken, Grant, User

    for signal in (post_save, post_delete):
        signal.connect(_user_changed, sender=User, dispatch_uid=f"identity.user.{signal}")
        signal.connect(_owned_changed, sender=Grant, dispatch_uid=f"identity.grant.{signal}")
        signal.connect(_token_changed, sender=ApiToken, dispatch_uid=f"identity.token.{signal}")
        for model in device_classes():
            signal.connect(
                _owned_changed, sender=model, dispatch_uid=f"identity.device.{model._meta.label}.{signal}"
            )


# --- the session path ----------------------------------------------------------------------


def get_user(request):
    """django.contrib.auth.get_user with the user from the identity cache (for the model
    backends this project uses); the session hash is verified exactly as Django does."""
    from django.contrib import auth
    from django.contrib.auth.backends import ModelBackend
    from django.contrib.auth.models import AnonymousUser
    from django.utils.crypto import constant_time_compare

    if not enabled():
        return auth.get_user(request)
    try:
        user_id = auth._get_user_session_key(request)
        backend_path = request.session[auth.BACKEND_SESSION_KEY]
    except KeyError:
        return AnonymousUser()
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return AnonymousUser()
    backend = auth.load_backend(backend_path)
    if not isinstance(backend, ModelBackend) or type(backend).get_user is not ModelBackend.get_user:
        return auth.get_user(request)
    identity = user_identity(user_id)
    if identity is None or not backend.user_can_authenticate(identity.user):
        return AnonymousUser()
    user = identity.attach()
    session_hash = request.session.get(auth.HASH_SESSION_KEY)
    if session_hash and constant_time_compare(session_hash, user.get_session_auth_hash()):
        return user
    if session_hash and any(
        constant_time_compare(session_hash, fallback) for fallback in user.get_session_auth_fallback_hash()
    ):
        request.session.cycle_key()
        request.session[auth.HASH_SESSION_KEY] = user.get_session_auth_hash()
        return user
    request.session.flush()
    return AnonymousUser()
