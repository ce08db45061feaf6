"""Helpers for browser pages that call services: the same errors the API returns become
form errors and messages in Chinese."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator

from .errors import ApplicationError


def call_service(form: forms.Form | None, fn: Callable[..., Any], /, **kwargs) -> tuple[bool, Any]:
    """Run a service; on a domain error put its messages on the form and return (False, None)."""
    try:
        return True, fn(**kwargs)
    except ValidationError as error:
        if form is None:
            raise
        if hasattr(error, "error_dict"):
            for name, errors in error.error_dict.items():
                target = name if name in form.fields else None
                for e in errors:
                    for message in e.messages:
                        form.add_error(target, message)
        else:
            for message in error.messages:
                form.add_error(None, message)
    except ApplicationError as error:
        if form is None:
            raise
        form.add_error(None, error.message)
        for name, messages in error.fields.items():
            for message in messages:
                form.add_error(name if name in form.fields else None, message)
    return False, None


def paginate(request, queryset, per_page: int = 20):
    paginator = Paginator(queryset, per_page)
    return paginator.get_page(request.GET.get("page"))


def posted_id(value) -> int | None:
    """An id from a form or query string. Anything that is not a positive 64-bit integer
    becomes None, so `get_object_or_404(..., pk=posted_id(x))` answers 404 — never the
    database error (a 500) that a raw "abc" or "1; DROP" would cause."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**63 else None
