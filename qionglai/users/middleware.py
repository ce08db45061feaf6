from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.shortcuts import redirect

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
