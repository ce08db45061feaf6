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
