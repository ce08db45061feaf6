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
