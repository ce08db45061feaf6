from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import middleware as auth_middleware
from django.shortcuts import redirect
from django.utils.functional import SimpleLazyObject
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp import middleware as otp_middleware

from .second_factor import Stage, stage

# Reachable before the second factor: signing in and out, the factor's own pages, and what
# the login page needs. The API decides in its authentication classes; Open311 is public.
OPEN_PREFIXES = (
    "/accounts/login/",
    "/accounts/logout/",
    "/accounts/otp/",
    "/i18n/",
    "/healthz",
    "/api/",
    "/open311/",
    "/" + settings.STATIC_URL.strip("/") + "/",
)


class SecondFactorMiddleware:
    """A staff session that has not passed the second factor reaches no page: it is sent to
    the code prompt (enrolled) or to enrolment (grace used up). After OTPMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and not request.path.startswith(OPEN_PREFIXES):
            where = stage(user)
            if where in (Stage.VERIFY, Stage.ENROL):
                target = "otp_verify" if where == Stage.VERIFY else "otp_enrol"
                from django.urls import reverse

                return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)


class AuthenticationMiddleware(auth_middleware.AuthenticationMiddleware):
    """Django's, with the user (and their grants and devices) from the identity cache when it
    is on (identity.get_user); the same checks as Django's get_user."""

    def process_request(self, request):
        super().process_request(request)
        from . import identity

        if identity.enabled():
            request.user = SimpleLazyObject(lambda: identity.get_user(request))


class OTPMiddleware(otp_middleware.OTPMiddleware):
    """django-otp's, with the session's device found among the confirmed devices the identity
    cache loaded with the user (no query); without them, django-otp's own lookup."""

    def _verify_user_sync(self, request, user):
        devices = getattr(user, "_identity_devices", None)
        if devices is None:
            return super()._verify_user_sync(request, user)
        self._init_user_fields(user)
        if user.is_authenticated:
            persistent_id = request.session.get(DEVICE_ID_SESSION_KEY)
            device = devices.get(self._normalize_persistent_id(persistent_id)) if persistent_id else None
            user.otp_device = self._finalize_device(request, user, device)
        return user
