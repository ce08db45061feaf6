"""Who is asking: the client address behind the configured reverse proxies, and the account a
login attempt is for. Used by django-axes and by DRF's throttles, so both key on the same thing."""

from __future__ import annotations

from django.conf import settings


def client_ip(request) -> str | None:
    """The address `PROXY_COUNT` hops back in X-Forwarded-For (REMOTE_ADDR without proxies).

    The same rule as DRF's NUM_PROXIES: each trusted proxy appends the address it received the
    request from, so entries left of that are whatever the client wrote and are never trusted.
    (django-ipware's proxy_count counts proxies *listed in* the header instead: with one proxy
    appending the client, `proxy_count=1` returned a client-written entry; hence this function.)
    """
    meta = getattr(request, "META", {})
    remote = meta.get("REMOTE_ADDR")
    hops = settings.PROXY_COUNT
    forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
    if hops and forwarded:
        addresses = [a.strip() for a in forwarded.split(",") if a.strip()]
        if addresses:
            return addresses[-min(hops, len(addresses))]
    return remote


def lockout_account(request, credentials) -> str:
    """The account a login attempt is for, however it was named (username or phone), so the
    failures of both count together: one lockout counter per account and address."""
    from .models import User

    submitted = ""
    if credentials:
        submitted = credentials.get(settings.AXES_USERNAME_FORM_FIELD, "") or ""
    if not submitted and request is not None:
        data = getattr(request, "data", None) or getattr(request, "POST", {})
        submitted = data.get(settings.AXES_USERNAME_FORM_FIELD, "") or ""
    submitted = str(submitted)[:150]
    if not submitted:
        return submitted
    user = User.objects.filter(username=submitted).only("username").first()
    if user is None and submitted.isdigit():
        user = User.objects.filter(phone=submitted).only("username").first()
    return user.username if user is not None else submitted
