"""Keyset pages for the incident list: newest first on (created_at, id), with older/newer
cursors and a bounded count.

The position is compared in row-value form, `(created_at, id) < (t, i)`, which PostgreSQL
serves as an index condition on (created_at, id) (and on every (x, created_at, id) index); the
expanded `a < t OR (a = t AND b < i)` is not. A page 5,000 rows in costs what the first costs.
Counting stops at COUNT_BOUND (「1000+」): an exact COUNT(*) over a town's 50,000 incidents
is what made the old list slow. Unfiltered city-wide lists show the planner's estimate.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import F, IntegerField, QuerySet, Value
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan

COUNT_BOUND = 1000
MSG_CURSOR = "无效的分页位置，请从第一页重新打开"
OLDER, NEWER = "o", "n"


@dataclass
class KeysetPage:
    rows: list
    older: str | None
    newer: str | None
    count: int | None  # exact up to COUNT_BOUND, else None
    count_display: str

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


def encode(direction: str, row) -> str:
    """The cursor for `row`: a model instance, or a dict from `.values()` with created_at and id."""
    at, pk = (row["created_at"], row["id"]) if isinstance(row, dict) else (row.created_at, row.pk)
    raw = json.dumps([direction, at.isoformat(), pk], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(cursor: str) -> tuple[str, datetime, int]:
    """Raises ValidationError({"cursor": …}) for anything that is not a cursor we made."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        direction, at, pk = json.loads(raw)
        at = datetime.fromisoformat(at)
        if direction not in (OLDER, NEWER) or at.tzinfo is None or not 0 < int(pk) < 2**63:
            raise ValueError(cursor)
        return direction, at, int(pk)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
        raise ValidationError({"cursor": MSG_CURSOR}) from None


def estimate(table: str) -> int | None:
    """The planner's row estimate for a whole table (PostgreSQL keeps it current via ANALYZE)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [table])
        row = cursor.fetchone()
    return max(int(row[0]), 0) if row else None


def bounded_count(queryset: QuerySet) -> int:
    """COUNT(*) over at most COUNT_BOUND + 1 rows: a subquery with LIMIT. Unordered on purpose:
    forced into the (created_at, id) order a town's count fetched 18,000 scattered heap pages
    (410–450 ms at 1,000,000 rows, see docs/performance.md). On PostgreSQL the subquery
    selects no column at all, so any index holding the filter's columns answers it alone (an
    index-only scan that stops after COUNT_BOUND + 1 entries: a town's scope is one range of
    the path index, grids.filters.UnderPath)."""
    limited = queryset.order_by()
    if connection.vendor == "postgresql":
        limited = limited.annotate(_one=Value(1, IntegerField())).values("_one")
    else:
        limited = limited.values("pk")
    return limited[: COUNT_BOUND + 1].count()


def count_display(count: int | None, estimated: int | None = None) -> str:
    if estimated is not None:
        return f"约 {estimated:,}"
    return f"{COUNT_BOUND}+" if count is None else str(count)


def keyset_page(
    queryset: QuerySet, *, cursor: str | None, size: int, count: bool = True, whole_table: bool = False
) -> KeysetPage:
    """One page of `queryset` (newest first). `whole_table`: the caller knows the list is the
    entire table, unfiltered, so the planner estimate stands in for the count."""
    direction, position = OLDER, None
    if cursor:
        direction, at, pk = decode(cursor)
        position = (at, pk)
    key = Tuple(F("created_at"), F("id"))
    if direction == OLDER:
        qs = queryset.order_by("-created_at", "-id")
        if position:
            qs = qs.filter(TupleLessThan(key, position))
    else:
        qs = queryset.filter(TupleGreaterThan(key, position)).order_by("created_at", "id")
    rows = list(qs[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if direction == NEWER:
        rows.reverse()
    older = newer = None
    if rows:
        if more or direction == NEWER:
            older = encode(OLDER, rows[-1])
        if position and (direction == OLDER or more):
            newer = encode(NEWER, rows[0])
    exact, estimated = None, None
    if count:
        if whole_table:
            estimated = estimate(queryset.model._meta.db_table)
        if estimated is None:
            n = bounded_count(queryset)
            exact = n if n <= COUNT_BOUND else None
    return KeysetPage(
        rows=rows,
        older=older,
        newer=newer,
        count=exact,
        count_display=count_display(exact, estimated) if count else "",
    )
