"""Domain errors. Services raise these (or Django's ValidationError with field-keyed Chinese
messages); one DRF exception handler and the page helpers turn them into 400/403/409."""

from __future__ import annotations


class ApplicationError(Exception):
    """A refused operation: an illegal state move, a rule the request breaks."""

    status_code = 400

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class Busy(ApplicationError):
    """Lock contention: the client should retry shortly (HTTP 409 with Retry-After)."""

    status_code = 409
    MESSAGE = "系统繁忙，请稍后重试"

    def __init__(self, message: str = MESSAGE):
        super().__init__(message)
