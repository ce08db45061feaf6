"""Shared DRF pieces: pagination, the one exception handler, and permission glue."""

from __future__ import annotations

import math

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.utils import OperationalError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import ApplicationError, Busy

MSG_THROTTLED = "请求过于频繁，请 {wait} 秒后再试"


def id_or_404(value) -> int:
    """A primary key from the URL or a body: /claims/abc/ is absent (404), not a ValueError."""
    text = str(value)
    if not text.isdigit() or len(text) > 18:
        raise Http404
    return int(text)


class ContentNegotiation(DefaultContentNegotiation):
    """DRF's, with the answer it gives a client that states no preference (no Accept header,
    `*/*`, or exactly the first renderer's type; no `?format=`) taken without parsing media
    types: the first renderer and its media type. Anything else goes through DRF's own
    matching. A list request is a few milliseconds, and parsing the Accept header was ~2 % of
    it (docs/performance.md, incident list)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        if renderers and not format_suffix and self.settings.URL_FORMAT_OVERRIDE not in request.query_params:
            first = renderers[0]
            if request.META.get("HTTP_ACCEPT", "*/*") in ("*/*", first.media_type):
                return first, first.media_type
        return super().select_renderer(request, renderers, format_suffix)


class Pagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


def validation_fields(error: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return {
            ("non_field_errors" if key == "__all__" else key): [str(m) for e in errors for m in e.messages]
            for key, errors in error.error_dict.items()
        }
    return {"non_field_errors": [str(m) for m in error.messages]}


def _first_message(fields: dict[str, list[str]], default: str) -> str:
    for messages in fields.values():
        if isinstance(messages, list) and messages:
            first = messages[0]
            return str(first) if not isinstance(first, dict) else default
        if isinstance(messages, str):
            return messages
    return default


def _flatten(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        out = {}
        for key, value in detail.items():
            if isinstance(value, list):
                out[key] = [str(v) if not isinstance(v, dict) else v for v in value]
            elif isinstance(value, dict):
                out[key] = value
            else:
                out[key] = [str(value)]
        return out
    if isinstance(detail, list):
        return {"non_field_errors": [str(v) for v in detail]}
    return {"non_field_errors": [str(detail)]}


def exception_handler(exc, context):
    """Every error leaves the API as {"message": …, "fields": {…}} with the right status."""
    if isinstance(exc, DjangoValidationError):
        fields = validation_fields(exc)
        return Response(
            {"message": _first_message(fields, "提交的内容有误"), "fields": fields},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, Busy):
        return Response(
            {"message": exc.message, "fields": {}},
            status=status.HTTP_409_CONFLICT,
            headers={"Retry-After": "1"},
        )
    if isinstance(exc, ApplicationError):
        return Response({"message": exc.message, "fields": exc.fields}, status=exc.status_code)
    if isinstance(exc, OperationalError) and "lock" in str(exc).lower():
        return Response(
            {"message": Busy.MESSAGE, "fields": {}},
            status=status.HTTP_409_CONFLICT,
            headers={"Retry-After": "1"},
        )
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or "您没有权限执行此操作")
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound("未找到该记录")

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    from qionglai.users.authentication import TokenRejected

    if isinstance(exc, TokenRejected):
        # a presented token that fails is "authenticate again" (401), whichever
        # authenticator the view lists first (design §12)
        response.status_code = status.HTTP_401_UNAUTHORIZED
        response["WWW-Authenticate"] = "Token"
    if isinstance(exc, exceptions.Throttled):
        wait = max(1, math.ceil(exc.wait or 1))
        response["Retry-After"] = str(wait)
        response.data = {"message": MSG_THROTTLED.format(wait=wait), "fields": {}}
    elif isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        response.data = {"message": _first_message(fields, "提交的内容有误"), "fields": fields}
    else:
        detail = getattr(exc, "detail", str(exc))
        response.data = {"message": str(detail), "fields": {}}
    return response


class ActionPermission:
    """DRF permission: the user must hold some grant allowing `view.read_action` (lists and
    details) — the rows themselves are scoped in get_queryset, writes checked by services."""

    def has_permission(self, request, view) -> bool:
        from qionglai.users import access

        if not request.user or not request.user.is_authenticated:
            return False
        action = getattr(view, "read_action", None)
        return action is None or access.can_anywhere(request.user, action)

    def has_object_permission(self, request, view, obj) -> bool:
        return True
