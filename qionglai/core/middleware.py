import http.client

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as _CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import JsonResponse
from django.shortcuts import render

from .errors import ApplicationError, Busy


class ApplicationErrorMiddleware:
    """A domain error that escapes a page becomes a readable 400/409 page, never a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, ApplicationError):
            response = render(
                request,
                "core/error.html",
                {"status": exception.status_code, "message": exception.message},
                status=exception.status_code,
            )
            if isinstance(exception, Busy):
                response["Retry-After"] = "1"
            return response
        return None


MSG_NUL = "请求中含有不允许的空字符（\\0），请检查后重新提交"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class RefuseNulBytesMiddleware:
    """A NUL character in a query string or form field is refused with a 400 before any view
    runs. PostgreSQL cannot store or even compare text containing it, so one that reached a
    filter or a service raised a database error (a 500). Django's form fields and DRF's
    serializers already refuse it; this covers every value read straight from GET or POST.
    JSON bodies are left to the serializers."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._has_nul(request.GET) or (
            request.method == "POST" and request.content_type in FORM_TYPES and self._has_nul(request.POST)
        ):
            if request.path.startswith(("/api/", "/open311/")):
                return JsonResponse({"message": MSG_NUL, "fields": {}}, status=400)
            return render(request, "core/error.html", {"status": 400, "message": MSG_NUL}, status=400)
        return self.get_response(request)

    @staticmethod
    def _has_nul(data) -> bool:
        return any("\x00" in key or any("\x00" in v for v in data.getlist(key)) for key in data)


# --- Content-Security-Policy, built once ---------------------------------------------------

_POLICIES: dict[bool, str] = {}  # report_only → the settings' policy, built on first use
_CSP_SETTINGS = {
    False: (HEADER, "_csp_exempt", "CONTENT_SECURITY_POLICY"),
    True: (HEADER_REPORT_ONLY, "_csp_exempt_ro", "CONTENT_SECURITY_POLICY_REPORT_ONLY"),
}


@receiver(setting_changed)
def _forget_policies(*, setting, **kwargs):
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _POLICIES.clear()


class CSPMiddleware(_CSPMiddleware):
    """django-csp's, except that the policy of a response that asks for nothing of its own (no
    nonce used, no @csp/@csp_update/@csp_replace) is the settings' policy built once per process,
    not rebuilt from the settings on every response (issue #10: ~4 % of an API request's CPU).
    The headers are django-csp's byte for byte (tests/core/test_csp.py compares them); a response
    with a nonce or a view's own directives is built by django-csp's build_policy as before."""

    def _policy(self, request, response, report_only: bool) -> str:
        parts = self.get_policy_parts(request=request, response=response, report_only=report_only)
        if parts.config is None and parts.update is None and parts.replace is None and parts.nonce is None:
            policy = _POLICIES.get(report_only)
            if policy is None:
                policy = _POLICIES[report_only] = build_policy(report_only=report_only)
            return policy
        return build_policy(
            config=parts.config,
            update=parts.update,
            replace=parts.replace,
            nonce=parts.nonce,
            report_only=report_only,
        )

    def process_response(self, request, response):
        # the same steps as django-csp 4.0's CSPMiddleware.process_response
        exempted = (http.client.INTERNAL_SERVER_ERROR, http.client.NOT_FOUND)
        if response.status_code in exempted and settings.DEBUG:
            return response
        for report_only, (header, exempt, setting) in _CSP_SETTINGS.items():
            policy = self._policy(request, response, report_only)
            if not policy or header in response or getattr(response, exempt, False) is not False:
                continue
            prefixes = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES", None) or ()
            if not request.path_info.startswith(tuple(prefixes)):
                response[header] = policy
        # as django-csp: a nonce asked for after the header is written is an error, not a gap
        if getattr(request, "_csp_nonce", None) is None:
            request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response
