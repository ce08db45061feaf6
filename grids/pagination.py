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

from django.core.exceptions import EmptyResultSet, FullResultSet, ValidationError
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


def encode(direction: str, row, at: tuple[int, int] | None = None) -> str:
    """The cursor for `row`: a model instance, a dict from `.values()` with created_at and id,
    or with `at` (the positions of created_at and id) a tuple."""
    if at is not None:
        at, pk = row[at[0]], row[at[1]]
    else:
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


def _window(cursor: str | None):
    direction, position = OLDER, None
    if cursor:
        direction, at, pk = decode(cursor)
        position = (at, pk)
    return direction, position


def _page(
    rows: list, *, direction: str, position, size: int, exact, estimated, count: bool, at=None
) -> KeysetPage:
    """The page of `rows` (at most size + 1, in the direction's order) with its cursors.
    `at`: rows are tuples, created_at and id at these positions."""
    more = len(rows) > size
    rows = rows[:size]
    if direction == NEWER:
        rows.reverse()
    older = newer = None
    if rows:
        if more or direction == NEWER:
            older = encode(OLDER, rows[-1], at)
        if position and (direction == OLDER or more):
            newer = encode(NEWER, rows[0], at)
    return KeysetPage(
        rows=rows,
        older=older,
        newer=newer,
        count=exact,
        count_display=count_display(exact, estimated) if count else "",
    )


def empty_page(*, size: int, count: bool = True) -> KeysetPage:
    """The page of a list that can hold no row (nothing visible): no statement at all."""
    return _page([], direction=OLDER, position=None, size=size, exact=0, estimated=None, count=count)


def keyset_page(
    queryset: QuerySet, *, cursor: str | None, size: int, count: bool = True, whole_table: bool = False
) -> KeysetPage:
    """One page of `queryset` (newest first). `whole_table`: the caller knows the list is the
    entire table, unfiltered, so the planner estimate stands in for the count."""
    direction, position = _window(cursor)
    key = Tuple(F("created_at"), F("id"))
    if direction == OLDER:
        qs = queryset.order_by("-created_at", "-id")
        if position:
            qs = qs.filter(TupleLessThan(key, position))
    else:
        qs = queryset.filter(TupleGreaterThan(key, position)).order_by("created_at", "id")
    rows = list(qs[: size + 1])
    exact, estimated = None, None
    if count:
        if whole_table:
            estimated = estimate(queryset.model._meta.db_table)
        if estimated is None:
            n = bounded_count(queryset)
            exact = n if n <= COUNT_BOUND else None
    return _page(
        rows, direction=direction, position=position, size=size, exact=exact, estimated=estimated, count=count
    )


def compiled_where(queryset: QuerySet) -> tuple[str, list] | None:
    """The queryset's WHERE clause exactly as the ORM compiles it ("" when it selects every
    row), or None when the query is not a plain filter of its one table (a join, an
    annotation, DISTINCT, extra(), or not PostgreSQL): then only the ORM may run it.
    Compiling the WHERE alone costs a tenth of compiling the whole page query. Raises
    EmptyResultSet for a queryset that can hold no row (`.none()`)."""
    query = queryset.query
    if (
        connection.vendor != "postgresql"
        # a filter on a foreign key's own column (`community_id = …`) sets up the join and
        # trims it again, leaving the alias unused (refcount 0): only aliases in use count
        or sum(1 for alias in query.alias_map if query.alias_refcount.get(alias)) > 1
        or query.annotations
        or query.distinct
        or query.extra
        or query.combinator
        or query.low_mark
        or query.high_mark is not None
    ):
        return None
    compiler = query.get_compiler(connection=connection)
    try:
        sql, params = compiler.compile(query.where)
    except FullResultSet:
        return "", []
    return sql, list(params)


@dataclass(frozen=True)
class _Skeleton:
    """The quoted names a keyset statement over one table and column list is built from."""

    table: str
    created: str
    pk: str
    select: str


_skeletons: dict[tuple, _Skeleton] = {}


def _skeleton(model, columns: tuple[str, ...]) -> _Skeleton:
    # quoted once per process: rebuilding them per request (28 quote_name calls through the
    # `connection` proxy) was a third of this function's CPU
    key = (model, columns)
    found = _skeletons.get(key)
    if found is None:
        meta, quote = model._meta, connection.ops.quote_name
        table = quote(meta.db_table)
        found = _skeletons[key] = _Skeleton(
            table=table,
            created=f"{table}.{quote(meta.get_field('created_at').column)}",
            pk=f"{table}.{quote(meta.pk.column)}",
            select=", ".join(f"{table}.{quote(meta.get_field(c).column)}" for c in columns),
        )
    return found


def keyset_rows(
    queryset: QuerySet,
    *,
    columns: tuple[str, ...],
    cursor: str | None,
    size: int,
    count: bool = True,
    whole_table: bool = False,
    deferred: bool = False,
) -> KeysetPage:
    """keyset_page() for the API's list: the same page, cursors and count, but read by SQL
    built here around the ORM's own WHERE clause (compiled_where) and returned as dicts of
    `columns` (field names), with no model instances, no values() machinery and no query
    compiled per page beyond its WHERE: together they were two thirds of the list's own CPU.
    Falls back to keyset_page(queryset.values(*columns)) when the WHERE cannot be used alone.
    See keyset_rows_where() for `deferred`."""
    try:
        where = compiled_where(queryset)
    except EmptyResultSet:  # queryset.none(): nothing to read, nothing to count
        return empty_page(size=size, count=count)
    if where is None:
        return keyset_page(
            queryset.values(*columns), cursor=cursor, size=size, count=count, whole_table=whole_table
        )
    return keyset_rows_where(
        queryset.model,
        where,
        columns=columns,
        cursor=cursor,
        size=size,
        count=count,
        whole_table=whole_table,
        deferred=deferred,
    )


def keyset_rows_where(
    model,
    where: tuple[str, list],
    *,
    columns: tuple[str, ...],
    cursor: str | None,
    size: int,
    count: bool = True,
    whole_table: bool = False,
    deferred: bool = False,
    tuples: bool = False,
) -> KeysetPage:
    """keyset_rows() from a WHERE already compiled (compiled_where's `(sql, params)`).
    `tuples`: the rows as fetched, tuples of `columns` (which hold created_at and id), not dicts.

    The page and its count are **one statement**: the bounded count (or, for the whole table,
    the planner's estimate) is an uncorrelated scalar subquery in the page's select list,
    which PostgreSQL runs once (an InitPlan) — one round trip, one parse and plan fewer than
    two statements. An empty page carries no row to hold it: without a cursor that count is
    0; past a cursor it is asked for on its own (a page past the end is rare).

    `deferred`: the page's ids first, from an index alone, then its rows by primary key
    (`id = ANY(ARRAY(SELECT id … LIMIT n))`). For a narrow scope the planner otherwise reads
    every row of it from the heap before its top-n sort (it estimates one row for a
    community's path range, really 5,744: 22 ms a page, 4 ms deferred, docs/performance.md);
    for a wide one (a town) the ordered scan that stops after n rows is cheaper, so the
    caller decides.
    The page and count are what keyset_page() sends: same conditions, order, LIMIT and
    bounded count (tests/grids/test_list_plans.py EXPLAINs these)."""
    direction, position = _window(cursor)
    sk = _skeleton(model, columns)
    condition, params = where
    conditions, page_params = ([f"({condition})"] if condition else []), list(params)
    if position:
        conditions.append(f"({sk.created}, {sk.pk}) {'<' if direction == OLDER else '>'} (%s, %s)")
        page_params += [position[0], position[1]]
    order = "DESC" if direction == OLDER else "ASC"
    where_sql = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    # identifiers come from the model's meta and the WHERE from the ORM; values are parameters
    ordering = f"ORDER BY {sk.created} {order}, {sk.pk} {order} LIMIT {int(size) + 1}"
    count_sql, count_params = "", []
    if count and whole_table:
        count_sql, count_params = (
            "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
            [model._meta.db_table],
        )
    elif count:
        count_sql = (
            f"SELECT COUNT(*) FROM (SELECT FROM {sk.table}"  # noqa: S608 - as above
            + (f" WHERE {condition}" if condition else "")
            + f" LIMIT {COUNT_BOUND + 1}) subquery"
        )
        count_params = list(params)
    counted = f", ({count_sql})" if count_sql else ""
    if deferred:
        ids = f"SELECT {sk.pk} FROM {sk.table}{where_sql} {ordering}"  # noqa: S608
        sql = f"SELECT {sk.select}{counted} FROM {sk.table} WHERE {sk.pk} = ANY(ARRAY({ids})) {ordering}"  # noqa: S608
    else:
        sql = f"SELECT {sk.select}{counted} FROM {sk.table}{where_sql} {ordering}"  # noqa: S608
    width = len(columns)
    with connection.cursor() as db:
        db.execute(sql, count_params + page_params)
        fetched = db.fetchall()
        n = fetched[0][width] if fetched and count_sql else None
        if count_sql and not fetched:
            if position or whole_table:
                db.execute(count_sql, count_params)
                n = db.fetchone()[0]
            else:
                n = 0  # no cursor, no row: the filter holds nothing
    at = None
    if tuples:
        rows = [row[:width] for row in fetched] if count_sql else fetched
        at = (columns.index("created_at"), columns.index("id"))
    else:
        rows = [dict(zip(columns, row[:width], strict=True)) for row in fetched]
    exact = estimated = None
    if count_sql and whole_table:
        estimated = max(int(n or 0), 0)
    elif count_sql:
        exact = n if n <= COUNT_BOUND else None
    return _page(
        rows,
        direction=direction,
        position=position,
        size=size,
        exact=exact,
        estimated=estimated,
        count=count,
        at=at,
    )
