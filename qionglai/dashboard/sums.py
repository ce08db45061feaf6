"""Rollup rows summed for the city, a town or a community in one statement each.

A screen needs its period's, 环比's and 同比's totals (every column) and its trend (five
columns per day). Through the ORM that was three aggregates of ~50 `Sum()`s each — building
those expressions was a good part of a screen's Python time — and the trend summed all ~50
columns per day where it shows five. The beat's warm-up builds 120 such screens a minute, so
this is also the fill's lag.
"""

from __future__ import annotations

from datetime import date

from django.db import connections, router

from projects.models import Community, Town

from . import indicators
from .models import CityDayCategory, CommunityDay, TownDayCategory

TREND_COLUMNS = ("reported", "resolved", "reopened", "satisfied", "evaluated")


def _source(level: str) -> tuple[type, str]:
    """The rollup table of a scope level and the condition picking the scope's rows."""
    if level == "city":
        return CityDayCategory, "TRUE"
    # table names are our models' own; the path is a parameter
    if level == "town":
        return TownDayCategory, f"r.town_id = (SELECT id FROM {Town._meta.db_table} WHERE path = %(path)s)"  # noqa: S608
    return CommunityDay, f"r.community_id = (SELECT id FROM {Community._meta.db_table} WHERE path = %(path)s)"  # noqa: S608


def _value(column: str, value) -> float | int:
    if value is None:
        return 0.0 if column in indicators.FLOAT_COLUMNS else 0
    return float(value) if column in indicators.FLOAT_COLUMNS else int(value)


def totals(level: str, path: str, periods: list[tuple[date, date]]) -> list[dict]:
    """Every column summed over each (first day, last day) of `periods` — as the ORM's
    aggregate(Sum) of the same rows gives it."""
    model, where = _source(level)
    connection = connections[router.db_for_read(model)]
    # the periods as a UNION ALL of one-row selects (SQLite, the embedded default, has no
    # VALUES column aliases); PostgreSQL is told the parameters are dates, SQLite compares
    # them as the ISO text its date columns hold
    cast = "::date" if connection.vendor == "postgresql" else ""
    params: dict = {"path": path}
    selects = []
    for n, (start, end) in enumerate(periods):
        params[f"s{n}"], params[f"e{n}"] = start, end
        selects.append(f"SELECT {n} AS n, %(s{n})s{cast} AS lo, %(e{n})s{cast} AS hi")
    sql = (
        f"SELECT b.n, {', '.join(f'sum(r.{c})' for c in indicators.COLUMNS)} "  # noqa: S608 - our own
        f"FROM ({' UNION ALL '.join(selects)}) AS b "  # constants; values are parameters
        f"LEFT JOIN {model._meta.db_table} r ON r.day >= b.lo AND r.day <= b.hi AND {where} "
        "GROUP BY b.n ORDER BY b.n"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [{c: _value(c, v) for c, v in zip(indicators.COLUMNS, row[1:], strict=True)} for row in rows]


def trend_days(level: str, path: str, start: date, end: date) -> dict[date, dict]:
    """{day: TREND_COLUMNS summed} over the scope's rollup rows of start … end."""
    model, where = _source(level)
    sql = (
        f"SELECT r.day, {', '.join(f'sum(r.{c})' for c in TREND_COLUMNS)} "  # noqa: S608 - as above
        f"FROM {model._meta.db_table} r WHERE r.day >= %(start)s AND r.day <= %(end)s AND {where} "
        "GROUP BY r.day"
    )
    with connections[router.db_for_read(model)].cursor() as cursor:
        cursor.execute(sql, {"path": path, "start": start, "end": end})
        rows = cursor.fetchall()
    # SQLite's cursor hands the day back as its ISO text
    return {
        day if isinstance(day, date) else date.fromisoformat(day): {
            c: int(v or 0) for c, v in zip(TREND_COLUMNS, rest, strict=True)
        }
        for day, *rest in rows
    }
