"""A grid's figures counted by PostgreSQL (design §8: community and grid figures "straight from
indexes"), the same rules as `indicators.accumulate_incident`, written as aggregates.

A grid has no rollup, and passing its incidents through `accumulate` in Python cost ~28 µs each
(a general grid's year, 环比 and 同比: ~2,800 rows, 200–500 ms at a million incidents). Here one
statement sums every cell column over the place's index ranges for all the periods, and groups
the period's counts by place, day and category (GROUPING SETS) for the ranking, the trend and
the category split — a few hundred rows back instead of thousands.

Working time: `indicators.working_micros` walks the days between two moments. Here each moment
becomes W(t), the working microseconds from a base day up to t (a prefix sum over the
calendar, passed as two arrays: working µs before each day, and whether the day is a working
day), so a duration is W(end) − W(start), exactly the integer `working_micros` returns; the
histogram's edges compare those integers. That needs the city's days to be a fixed offset from
UTC (Asia/Shanghai has had no daylight saving since 1991): `calendar_arrays` checks it for the
days in question and answers None otherwise, and a moment outside the arrays' days is counted
as `lost` — either way the caller falls back to `accumulate`, the definition.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import date, datetime, timedelta

from django.db import connections, router

from grids import sla
from grids.models import Escalation, Incident, Satisfaction, Status, Tier

from . import indicators

DAY_US = 86_400_000_000
# how far past today a resolve or accept moment may lie and still be counted here (the arrays'
# length); a later one (a clock gone wrong) sends the scope to the Python pass
AHEAD_DAYS = 31


@functools.lru_cache(maxsize=64)
def _arrays(base: date, last: date, calendar: tuple) -> tuple[int, str, str] | None:
    exceptions = dict(calendar)
    offset = indicators.day_bounds(base)[0].utcoffset()
    prefix, work, total = [], [], 0
    day = base
    while day <= last:
        lo, hi = indicators.day_bounds(day)
        if lo.utcoffset() != offset or hi - lo != timedelta(days=1):
            return None  # not a fixed offset over these days: W(t) is not day arithmetic
        working = sla.is_workday(day, exceptions)
        prefix.append(total)
        work.append(working)
        total += DAY_US if working else 0
        day += timedelta(days=1)
    # as array literals: psycopg inspects every element of a list it adapts (~2 ms for these)
    return (
        offset // indicators.MICROSECOND,
        "{" + ",".join(map(str, prefix)) + "}",
        "{" + ",".join("t" if w else "f" for w in work) + "}",
    )


def calendar_arrays(base: date, last: date, exceptions: Mapping[date, str]):
    """(offset µs, working µs before each day from `base`, is each a working day) for the days
    base … last, or None where the city's days are not a fixed offset from UTC."""
    return _arrays(base, last, tuple(sorted(exceptions.items())))


def _local_us(column: str) -> str:
    # microseconds since the epoch, local: exact (extract(epoch) is numeric)
    return f"(extract(epoch FROM i.{column}) * 1000000)::bigint + %(off)s::bigint"


def _w(x: str) -> str:
    """W(x) for a local-µs column x: working µs before its day + its own part of the day (NULL
    for a day the arrays do not hold)."""
    index = f"(t.{x} / {DAY_US} - cal.base + 1)::int"
    return f"cal.prefix[{index}] + CASE WHEN cal.work[{index}] THEN mod(t.{x}, {DAY_US}) ELSE 0 END"


ACCEPTED = "t.accepted_at IS NOT NULL"
RESOLVED = "t.resolved_at IS NOT NULL"
EVALUATED = (
    "t.status = %(closed)s AND NOT t.self_evaluated AND t.satisfaction IN (%(sat)s, %(basic)s, %(dissat)s)"
)
# indicators.accumulate_incident's rule for each count column, as a filter
RULES: dict[str, str] = {
    "reported": "t.c IS NOT NULL",  # (a period with no incident joins one NULL row)
    "accepted": ACCEPTED,
    "accepted_on_time": f"{ACCEPTED} AND t.accepted_on_time IS TRUE",
    "rejected": "t.status = %(rejected)s",
    "dispatched": "t.dispatched_at IS NOT NULL",
    "resolved": RESOLVED,
    "resolved_on_time": f"{RESOLVED} AND t.extension_count = 0 AND t.resolved_on_time IS TRUE",
    "resolved_extended": f"{RESOLVED} AND t.extension_count <> 0",
    "verified": "t.verified_at IS NOT NULL",
    "closed": "t.status = %(closed)s",
    "evaluated": EVALUATED,
    "satisfied": f"{EVALUATED} AND t.satisfaction <> %(dissat)s",
    "reopened": "t.reopen_count > 0",
    "grid_tier": "t.tier = %(grid)s",
    "same_day": f"{RESOLVED} AND t.r / {DAY_US} = t.c / {DAY_US}",
}
# what the ranking, the trend and the category split read (selectors.FINE_COUNTS' columns)
FINE = (
    "reported",
    "resolved",
    "resolved_extended",
    "resolved_on_time",
    "accepted",
    "accepted_on_time",
    "evaluated",
    "satisfied",
    "reopened",
)


def _bucket_rules(prefix: str, hours: str, when: str) -> dict[str, str]:
    out = {}
    edges = [e * indicators.MICROS_PER_HOUR for e in indicators.HIST_EDGES]
    for i in range(indicators.HIST_BUCKETS):
        lo = f" AND {hours} > {edges[i - 1]}" if i else ""
        hi = f" AND {hours} <= {edges[i]}" if i < len(edges) else ""
        out[f"{prefix}_h{i}"] = f"{when}{lo}{hi}"
    return out


def _total_columns() -> list[tuple[str, str]]:
    """(column, aggregate) for every incident column of a cell, in indicators.COLUMNS' order."""
    rules = {
        **RULES,
        **_bucket_rules("accept", "t.ah", ACCEPTED),
        **_bucket_rules("resolve", "t.rh", RESOLVED),
    }
    for dim, values in indicators.SPLITS.items():
        for value in values:
            rules[f"{dim}_{value}"] = f"t.{dim} = '{value}'"  # TextChoices values: our own constants
    out = []
    for column in indicators.COLUMNS:
        if column == "accept_hours":
            out.append((column, f"coalesce(sum(t.ah) FILTER (WHERE {ACCEPTED}), 0)"))
        elif column == "resolve_hours":
            out.append((column, f"coalesce(sum(t.rh) FILTER (WHERE {RESOLVED}), 0)"))
        elif column in rules:
            out.append((column, f"count(*) FILTER (WHERE {rules[column]})"))
    return out


TOTAL_COLUMNS = _total_columns()
# moments a duration needed but the arrays do not cover: > 0 sends the caller to accumulate
LOST = f"count(*) FILTER (WHERE ({ACCEPTED} AND t.ah IS NULL) OR ({RESOLVED} AND t.rh IS NULL))"

# The place's incidents of a period are read from incident_path_dashboard, keyed (path,
# created_at) (grids migration 0018), as `path = ANY(its paths) AND created_at in [lo, hi)`: an
# index range per path, only the period's entries, where the path prefix range alone walked
# every entry the place ever had (a general grid's two years to count 30 days). Its paths are
# the distinct incident paths under it, found in the same index one descent per path (`under`:
# the next path after the last, a general grid has ~10, a community ~60) — so the set is exact
# whatever grids exist, and the prefix rule is applied to it (a path that continues p with a
# character below "/" is in the range but not under p).
PATHS_CTE = f"""
under (path) AS (
  (SELECT i.path FROM {Incident._meta.db_table} i
   WHERE i.path ~>=~ %(path)s AND i.path ~<~ %(path_end)s ORDER BY i.path USING ~<~ LIMIT 1)
  UNION ALL
  SELECT (SELECT i.path FROM {Incident._meta.db_table} i
          WHERE i.path ~>~ u.path AND i.path ~<~ %(path_end)s ORDER BY i.path USING ~<~ LIMIT 1)
  FROM under u WHERE u.path IS NOT NULL
),
paths (a) AS (SELECT array_agg(path) FROM under WHERE path = %(path)s OR path LIKE %(under)s)
"""  # noqa: S608 - our own constants; every value is a parameter


def _in_period(n: int) -> str:
    """The place's incidents reported in the n-th interval (%(ilo<n>)s, %(ihi<n>)s)."""
    return f"i.path = ANY((SELECT a FROM paths)::text[]) AND i.created_at >= %(ilo{n})s AND i.created_at < %(ihi{n})s"  # noqa: S608 - n is ours


def intervals(periods: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """The periods' union as disjoint [lo, hi) intervals, in order (a year's 环比 and 同比
    overlap by eleven months: one interval; 30 days' 同比 lies apart: two)."""
    out: list[list[datetime]] = []
    for lo, hi in sorted(periods):
        if out and lo <= out[-1][1]:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return [(lo, hi) for lo, hi in out]


# OFFSET 0 keeps each subquery a subquery: flattened, every reference to c, a, r, ah and rh
# (two dozen filters) would evaluate its whole expression again. {scans}: one SELECT per
# interval (_in_period), UNION ALL — disjoint, so each incident once.
ROW_SELECT = f"""
  SELECT {", ".join(f"i.{f}" for f in indicators.ROW_FIELDS)},
    {_local_us("created_at")} AS c, {_local_us("accepted_at")} AS a, {_local_us("resolved_at")} AS r
  FROM {Incident._meta.db_table} i
  WHERE {{where}}
"""  # noqa: S608 - our own constants; every value is a parameter
ROWS = f"""
SELECT t.*,
  CASE WHEN t.a > t.c THEN ({_w("a")}) - ({_w("c")}) ELSE 0 END AS ah,
  CASE WHEN t.r > t.c THEN ({_w("r")}) - ({_w("c")}) ELSE 0 END AS rh
FROM ({{scans}}
  OFFSET 0
) t
CROSS JOIN (SELECT %(prefix)s::bigint[] AS prefix, %(work)s::boolean[] AS work, %(base)s::bigint AS base) cal
OFFSET 0
"""  # noqa: S608 - our own constants; every value is a parameter


def _scans(n: int) -> str:
    return "\n  UNION ALL".join(ROW_SELECT.replace("{where}", _in_period(k)) for k in range(n))


# Several periods (a screen's, its 环比 and 同比) in one statement: the incidents of all of them
# read once (each disjoint interval of their union, `intervals`). Each row gets a mask of the
# periods it falls in and the cells are summed per mask (part 0: a handful of rows; the
# caller adds each mask's into its periods). Joining the rows to the periods instead summed every row once per period it
# is in: the 环比 and 同比 of a year overlap by eleven months, ~40 % more rows through the ~70
# filtered aggregates (a general grid's year 12.8 → 10.4 ms at a million incidents). Part 1:
# each period's escalations. Part 2, when asked: the screen's period grouped by place, day and
# category (what fine() returns) from the same rows, not read and converted a second time.
TOTALS_SQL = f"""
WITH RECURSIVE {PATHS_CTE},
t AS MATERIALIZED ({ROWS}),
esc AS MATERIALIZED (
  SELECT e.at, e.level FROM {Escalation._meta.db_table} e
  WHERE e.path ~>=~ %(path)s AND e.path ~<~ %(path_end)s AND (e.path = %(path)s OR e.path LIKE %(under)s)
    AND e.at >= %(lo)s AND e.at < %(hi)s
),
b (n, lo, hi) AS (VALUES {{periods}})
SELECT 0, t.mask, NULL::text, NULL::bigint, NULL::bigint, {", ".join(agg for _c, agg in TOTAL_COLUMNS)}, {LOST},
  NULL::bigint[]
FROM (SELECT t.*, {{mask}} AS mask FROM t OFFSET 0) t
GROUP BY t.mask
UNION ALL
SELECT 1, b.n, NULL, NULL, NULL, {", ".join("NULL" for _c in TOTAL_COLUMNS)}, NULL,
  (SELECT array[count(*) FILTER (WHERE esc.level = 1), count(*) FILTER (WHERE esc.level = 2),
                count(*) FILTER (WHERE esc.level = 3), count(*) FILTER (WHERE esc.level = 4)]
   FROM esc WHERE esc.at >= b.lo AND esc.at < b.hi)
FROM b
{{fine}}
"""  # noqa: S608 - our own constants; every value is a parameter

GROUPINGS = ("path", "day", "category")
_GROUP_BY = {"path": "t.path", "day": f"t.c / {DAY_US}", "category": "t.category_id"}
# fine(): the FINE columns' rules over the incidents' own columns (no working time: no calendar
# arrays, and the local day computed only when the days are grouped) — a community's year
# read all of its ~5,300 index entries before migration 0018 (now the year's alone, about
# half), and the moments of each were three numeric conversions
FINE_SQL = f"""
WITH RECURSIVE {PATHS_CTE}
SELECT GROUPING({{grouping}}), {{columns}},
  {", ".join(f"count(*) FILTER (WHERE {RULES[c]})" for c in FINE)}
FROM (
  SELECT {", ".join(f"i.{f}" for f in indicators.ROW_FIELDS)}{{day}}
  FROM {Incident._meta.db_table} i
  WHERE {_in_period(0)}
  OFFSET 0
) t
GROUP BY GROUPING SETS ({{sets}})
"""  # noqa: S608 - our own constants; every value is a parameter
# the same groupings as part 2 of TOTALS_SQL, from its rows of the screen's period; every
# FINE count in its TOTAL_COLUMNS position
_POSITIONS = {column: n for n, (column, _agg) in enumerate(TOTAL_COLUMNS)}
assert all(c in _POSITIONS for c in FINE)  # noqa: S101 - a definition error, at import
FINE_PART = f"""
UNION ALL
SELECT 2, GROUPING({{grouping}}), {{columns}},
  {", ".join(f"count(*) FILTER (WHERE {RULES[c]})" if c in FINE else "NULL" for c, _agg in TOTAL_COLUMNS)},
  NULL, NULL
FROM t WHERE t.created_at >= %(fine_lo)s AND t.created_at < %(fine_hi)s
GROUP BY GROUPING SETS ({{sets}})
"""  # noqa: S608 - our own constants; every value is a parameter


def _grouped(sql: str, sets: tuple[str, ...]) -> str:
    columns = [_GROUP_BY[g] if g in sets else "NULL" for g in GROUPINGS]
    columns[0] += "::text" if columns[0] == "NULL" else ""
    columns[1:] = [f"{c}::bigint" if c == "NULL" else c for c in columns[1:]]
    return (
        sql.replace("{grouping}", ", ".join(_GROUP_BY[g] for g in sets))
        .replace("{columns}", ", ".join(columns))
        .replace("{sets}", ", ".join(f"({_GROUP_BY[g]})" for g in sets))
    )


def _fine_sql(sets: tuple[str, ...]) -> str:
    # "reported" (t.c IS NOT NULL, for the totals' periods with no incident) is every row here
    day = f",\n    {_local_us('created_at')} AS c" if "day" in sets else ",\n    0 AS c"
    return _grouped(FINE_SQL, sets).replace("{day}", day)


def _params(path: str, lo: datetime, hi: datetime, today: date, exceptions) -> dict | None:
    if connections[router.db_for_read(Incident)].vendor != "postgresql":
        # arrays, GROUPING SETS and casts are PostgreSQL's: the embedded default (SQLite, the
        # demo's few thousand incidents) counts with accumulate, the definition
        return None
    base = indicators.local_day(lo)
    arrays = calendar_arrays(base, today + timedelta(days=AHEAD_DAYS), exceptions)
    if arrays is None:
        return None
    off, prefix, work = arrays
    return {
        "path": path,
        "path_end": path + "/",  # "/" follows "." in byte order: the range of path and path.*
        "under": path.replace("_", "\\_").replace("%", "\\%") + ".%",
        "lo": lo,
        "hi": hi,
        "off": off,
        "base": base.toordinal() - date(1970, 1, 1).toordinal(),
        "prefix": prefix,
        "work": work,
        "rejected": Status.REJECTED.value,
        "closed": Status.CLOSED.value,
        "sat": Satisfaction.SATISFIED.value,
        "basic": Satisfaction.BASIC.value,
        "dissat": Satisfaction.DISSATISFIED.value,
        "grid": Tier.GRID.value,
    }


def _cursor():
    return connections[router.db_for_read(Incident)].cursor()


def totals_statement(
    path: str,
    periods: list[tuple[datetime, datetime]],
    today: date,
    exceptions,
    fine_sets: tuple[str, ...] | None = None,
):
    """(sql, params) of totals(), or None (see there)."""
    lo, hi = min(p[0] for p in periods), max(p[1] for p in periods)
    params = _params(path, lo, hi, today, exceptions)
    if params is None:
        return None
    spans = intervals(periods)
    for n, (i_lo, i_hi) in enumerate(spans):
        params[f"ilo{n}"], params[f"ihi{n}"] = i_lo, i_hi
    values, masks = [], []
    for n, (p_lo, p_hi) in enumerate(periods):
        params[f"lo{n}"], params[f"hi{n}"] = p_lo, p_hi
        values.append(f"({n}, %(lo{n})s::timestamptz, %(hi{n})s::timestamptz)")
        masks.append(
            f"(CASE WHEN t.created_at >= %(lo{n})s AND t.created_at < %(hi{n})s THEN {1 << n} ELSE 0 END)"
        )
    fine_part = ""
    if fine_sets is not None:
        params["fine_lo"], params["fine_hi"] = periods[0]
        fine_part = _grouped(FINE_PART, fine_sets)
    sql = (
        TOTALS_SQL.replace("{scans}", _scans(len(spans)))
        .replace("{periods}", ", ".join(values))
        .replace("{mask}", " + ".join(masks))
    )
    return sql.replace("{fine}", fine_part), params


def totals(
    path: str,
    periods: list[tuple[datetime, datetime]],
    today: date,
    exceptions,
    fine_sets: tuple[str, ...] | None = None,
) -> list[dict] | None:
    """For each [lo, hi) of `periods`: every column of the incidents under `path` reported in
    it, summed (one cell); None where this cannot count them exactly (the module docstring).
    With `fine_sets`, see screen()."""
    found = screen(path, periods, today, exceptions, fine_sets)
    return found[0] if found is not None else None


def screen(
    path: str,
    periods: list[tuple[datetime, datetime]],
    today: date,
    exceptions,
    fine_sets: tuple[str, ...] | None = GROUPINGS,
) -> tuple[list[dict], dict | None] | None:
    """(totals(path, periods), fine(path, *periods[0], fine_sets) or None without fine_sets) in
    one statement; None where the totals cannot be counted exactly here."""
    statement = totals_statement(path, periods, today, exceptions, fine_sets)
    if statement is None:
        return None
    with _cursor() as cursor:
        cursor.execute(*statement)
        found = cursor.fetchall()
    sums = [[0] * len(TOTAL_COLUMNS) for _p in periods]
    escalated: list[list[int]] = [[0] * 4 for _p in periods]
    grouped = []
    for part, key, p, day, category, *values, lost, escalations in found:
        if part == 0:
            if not key:
                continue  # between the periods (in their union's bounds, in none of them)
            if lost:
                return None
            for n, cell in enumerate(sums):
                if key & (1 << n):
                    for i, value in enumerate(values):
                        cell[i] += value
        elif part == 1:
            escalated[key] = escalations
        else:
            grouped.append((key, p, day, category, *(values[_POSITIONS[c]] for c in FINE)))
    out = []
    for values, levels in zip(sums, escalated, strict=True):
        cell = indicators.empty_cell()
        for (column, _agg), value in zip(TOTAL_COLUMNS, values, strict=True):
            hours = column in indicators.FLOAT_COLUMNS
            cell[column] = int(value) / indicators.MICROS_PER_HOUR if hours else value
        for level, n in enumerate(levels, 1):
            cell[f"escalated_l{level}"] = n
        out.append(cell)
    return out, (_fine_groups(grouped, fine_sets) if fine_sets is not None else None)


def total(path: str, lo: datetime, hi: datetime, today: date, exceptions) -> dict | None:
    cells = totals(path, [(lo, hi)], today, exceptions)
    return cells[0] if cells is not None else None


EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def fine(path: str, lo: datetime, hi: datetime, today: date, exceptions, sets=GROUPINGS) -> dict | None:
    """{"path": {incident path: counts}, "day": {local day: counts}, "category": {id: counts}},
    counts being FINE's columns, for the incidents under `path` reported in [lo, hi); None where
    the city's days are not a fixed offset (the day would not be day arithmetic)."""
    params = _params(path, lo, hi, today, exceptions)
    if params is None:
        return None
    params["ilo0"], params["ihi0"] = lo, hi
    with _cursor() as cursor:
        cursor.execute(_fine_sql(sets), params)
        return _fine_groups(cursor.fetchall(), sets)


def _fine_groups(rows, sets: tuple[str, ...]) -> dict:
    out: dict[str, dict] = {"path": {}, "day": {}, "category": {}}
    # GROUPING(): a bit per argument, set where the row is not grouped by it
    full = (1 << len(sets)) - 1
    which = {full ^ (1 << (len(sets) - 1 - i)): g for i, g in enumerate(sets)}
    for grouping, p, day, category, *counts in rows:
        cell = dict(zip(FINE, counts, strict=True))
        kind = which[grouping]
        if kind == "path":
            out["path"][p] = cell
        elif kind == "day":
            out["day"][date.fromordinal(EPOCH_ORDINAL + day)] = cell
        else:
            out["category"][category] = cell
    return out
