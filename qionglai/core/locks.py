"""Lock timeouts: one helper every transition uses (conventions: contention becomes
「系统繁忙，请稍后重试」, HTTP 409 with Retry-After, never a 500 and never a request that hangs).

A transition sets `lock_timeout` for its own transaction (SET LOCAL) before it first waits for
a row lock; PostgreSQL then gives up after that long with SQLSTATE 55P03 and the whole
transaction rolls back, which `busy_on_contention` turns into `Busy`. A deadlock (40P01) or a
serialization failure (40001) means the same to the client: try again shortly. Any other
database error (a dropped connection) is not contention and propagates as it is.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

from django.db import OperationalError, connection
from django.db.models import Model, QuerySet

from .errors import Busy

M = TypeVar("M", bound=Model)

LOCK_TIMEOUT = "3s"
# lock_not_available, deadlock_detected, serialization_failure
CONTENTION_STATES = {"55P03", "40P01", "40001"}


def is_contention(error: Exception) -> bool:
    cause = error.__cause__
    state = getattr(cause, "sqlstate", None) or getattr(getattr(cause, "diag", None), "sqlstate", None)
    return state in CONTENTION_STATES or "database is locked" in str(error).lower()


def set_lock_timeout(timeout: str | None = None) -> None:
    """SET LOCAL lock_timeout for the current transaction (PostgreSQL; SQLite has one writer
    and its own busy timeout). Call inside `transaction.atomic()`."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        # set_config(…, true) is SET LOCAL with a bound parameter
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [timeout or LOCK_TIMEOUT])


@contextmanager
def busy_on_contention() -> Iterator[None]:
    """Turns lock contention raised inside the block into `Busy`."""
    try:
        yield
    except OperationalError as error:
        if is_contention(error):
            raise Busy() from error
        raise


def lock_one(queryset: QuerySet[M], **lookup) -> M:
    """`queryset.select_for_update(…).get(**lookup)` under the lock timeout: the row, locked
    until the caller's transaction ends, or `Busy` when another transaction holds it too long.
    The queryset carries its own select_for_update options (of=, select_related)."""
    set_lock_timeout()
    with busy_on_contention():
        return queryset.get(**lookup)
