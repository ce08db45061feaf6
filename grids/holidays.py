"""The holiday calendar (节假日与调休) from the `chinesecalendar` package, which follows the
State Council's yearly notice (国务院办公厅关于节假日安排的通知, published each November).

The city reruns `manage.py load_holidays` once the package has the next year (upgrade it,
then run the command); rows stay editable in the admin, and a row the city changed is kept
unless `--replace` is given. `calendar_problems()` is the data check the command prints and
the tests run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db import transaction

from .models import CalendarDay, DayKind

# chinesecalendar names its days in English; the calendar shows them in Chinese
NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利纪念日",
}
MSG_YEAR_UNKNOWN = (
    "chinesecalendar {version} 没有 {year} 年的节假日数据（只有 {first}–{last} 年）：请先升级该软件包"
)


@dataclass
class LoadResult:
    created: int = 0
    updated: int = 0
    kept: int = 0
    years: list[int] = field(default_factory=list)


def package_days() -> dict[date, tuple[str, str]]:
    """date → (kind, Chinese name) for every holiday and adjusted working day the package knows."""
    from chinese_calendar import constants

    days = {d: (DayKind.HOLIDAY, NAMES.get(n, n)) for d, n in constants.holidays.items()}
    days.update({d: (DayKind.WORKDAY, f"{NAMES.get(n, n)}调休") for d, n in constants.workdays.items()})
    return days


def package_years() -> tuple[int, int]:
    from chinese_calendar import constants

    years = {d.year for d in constants.holidays}
    return min(years), max(years)


def load(*, years: list[int], replace: bool = False) -> LoadResult:
    """Writes the package's days for `years` into CalendarDay. A day already in the table with
    another kind or name is the city's edit and is kept, unless `replace`."""
    import chinese_calendar

    first, last = package_years()
    for year in years:
        if not first <= year <= last:
            raise ValueError(
                MSG_YEAR_UNKNOWN.format(
                    version=chinese_calendar.__version__, year=year, first=first, last=last
                )
            )
    wanted = {d: v for d, v in package_days().items() if d.year in years}
    result = LoadResult(years=sorted(years))
    with transaction.atomic():
        existing = {c.date: c for c in CalendarDay.objects.select_for_update().filter(date__in=wanted)}
        new = []
        for day, (kind, name) in sorted(wanted.items()):
            row = existing.get(day)
            if row is None:
                new.append(CalendarDay(date=day, kind=kind, name=name))
            elif (row.kind, row.name) == (kind, name):
                continue
            elif replace:
                row.kind, row.name = kind, name
                row.save(update_fields=["kind", "name"])
                result.updated += 1
            else:
                result.kept += 1
        CalendarDay.objects.bulk_create(new)
        result.created = len(new)
    from . import sla

    sla.forget_coverage()
    return result


def calendar_problems() -> list[str]:
    """The data check: each covered year has its seven statutory holidays' worth of days off,
    an adjusted working day (调休) falls on a weekend (on a weekday it would change nothing),
    and the years covered have no gap."""
    problems = []
    rows = list(CalendarDay.objects.order_by("date"))
    by_year: dict[int, list[CalendarDay]] = {}
    for row in rows:
        by_year.setdefault(row.date.year, []).append(row)
        if row.kind == DayKind.WORKDAY and row.date.weekday() < 5:
            problems.append(f"{row.date} 标为调休上班，但当天本来就是工作日")
    for year, days in sorted(by_year.items()):
        off = sum(d.kind == DayKind.HOLIDAY for d in days)
        if not 20 <= off <= 40:
            problems.append(f"{year} 年只有 {off} 天节假日（通常 26–33 天），数据可能不完整")
    years = sorted(by_year)
    if years:
        problems += [
            f"{y} 年没有节假日数据（前后年份都有）" for y in range(years[0], years[-1]) if y not in by_year
        ]
    # against the package, for the years both know: a day whose kind differs, or one missing
    first, last = package_years()
    table = {row.date: row.kind for row in rows}
    for day, (kind, name) in sorted(package_days().items()):
        if day.year not in by_year or not first <= day.year <= last:
            continue
        if day not in table:
            problems.append(f"{day} {name}（{DayKind(kind).label}）未录入")
        elif table[day] != kind:
            problems.append(
                f"{day} 录为{DayKind(table[day]).label}，国务院安排为{DayKind(kind).label}（{name}）"
            )
    return problems
