from __future__ import annotations

from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django_otp import user_has_device
from django_otp.admin import OTPAdminSite

from . import access


class AdminSite(OTPAdminSite):
    """Admin access is decided by access.py (an admin grant or a superuser), and needs a
    session verified with the second factor (design §12). Signing in happens on the site's
    own login page, which walks through the code prompt."""

    site_header = "邛崃善治 管理后台"
    site_title = "邛崃善治"
    index_title = "台账、规则与策略"

    def has_permission(self, request) -> bool:
        user = request.user
        return bool(
            user.is_active
            and access.is_admin(user)
            and getattr(user, "is_verified", None) is not None
            and user.is_verified()
        )

    def register(self, model_or_iterable, admin_class=None, **options):
        from django.contrib.admin import ModelAdmin

        from .admin_base import AuditedAdminMixin

        admin_class = admin_class or ModelAdmin
        if not issubclass(admin_class, AuditedAdminMixin):
            admin_class = type(
                admin_class.__name__, (AuditedAdminMixin, admin_class), {"__module__": admin_class.__module__}
            )
        return super().register(model_or_iterable, admin_class, **options)

    def login(self, request, extra_context=None):
        query = urlencode({"next": request.GET.get("next") or reverse("admin:index")})
        user = request.user
        if not user.is_authenticated:
            return redirect(f"{reverse('login')}?{query}")
        if not access.is_admin(user):
            raise PermissionDenied(access.DENIED_MESSAGE)
        # an admin signed in with the password only: the code prompt, or enrolment first
        step = "otp_verify" if user_has_device(user) else "otp_enrol"
        return redirect(f"{reverse(step)}?{query}")
