"""Deadlines: the SLA policy that applies, and duration arithmetic in hours, calendar days or
working days (Monday–Friday, minus public holidays, plus adjusted working days 调休, from the
CalendarDay table)."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from .models import CalendarDay, Category, DayKind, DurationUnit, Grid, GridMode, SlaPolicy

log = logging.getLogger(__name__)
COVERAGE_AHEAD_DAYS = 60
COVERAGE_TTL = 300.0  # seconds a process trusts its reading of the covered range
MSG_CALENDAR_SHORT = (
    "节假日日历只录入到 {until}，未来 {days} 天内按工作日计算的时限将只按周一至周五计算。"
    "请录入 {year} 年的节假日与调休上班日：在后台「节假日与调休」中逐日添加，"
    "或待 chinesecalendar 收录国务院 {year} 年放假安排后升级该软件包，再运行 manage.py load_holidays --year {year}。"
)
MSG_CALENDAR_EMPTY = "节假日日历为空：按工作日计算的时限只按周一至周五计算。请运行 manage.py load_holidays。"
_coverage: list = [0.0, None]  # [expires (monotonic), last covered date]
_warned_years: set[int] = set()
# Set inside `remembered()`: the policies and the calendar as first read in the block.
_memo: dict | None = None

FALLBACK = {
    # used only if the policy table has lost its default rows
    "accept_amount": Decimal("8"),
    "accept_unit": DurationUnit.HOURS,
    "resolve_amount": Decimal("7"),
    "resolve_unit": DurationUnit.WORKDAYS,
    "verify_amount": Decimal("1"),
    "verify_unit": DurationUnit.WORKDAYS,
    "evaluation_amount": Decimal("3"),
    "evaluation_unit": DurationUnit.DAYS,
    "max_extensions": 1,
}


@contextmanager
def remembered() -> Iterator[None]:
    """Within the block, each policy lookup and the holiday calendar are read from the database
    once (per process) and then remembered: for a batch writer that changes neither, such as
    the demo build, which would otherwise read the same dozen policy rows and the same
    calendar days for every one of its thousands of deadlines. Outside it every call reads the
    tables, so an edit in the admin applies to the next deadline counted."""
    global _memo
    previous, _memo = _memo, {"policy": {}, "calendar": None, "war": None}
    try:
        yield
    finally:
        _memo = previous


def war_at(path: str) -> bool:
    """Is the place at `path`, or a grid above it, in 战时 mode (whose policies then apply)?
    Inside `remembered()` the paths in 战时 are read once (a handful of rows) and remembered
    until a mode switch (`forget_modes`), so a batch of reports asks nothing each."""
    parts = path.split(".")
    ancestors = [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
    if _memo is None:
        return Grid.objects.filter(path__in=ancestors, mode=GridMode.WAR).exists()
    if _memo["war"] is None:
        _memo["war"] = frozenset(Grid.objects.filter(mode=GridMode.WAR).values_list("path", flat=True))
    return not _memo["war"].isdisjoint(ancestors)


def forget_modes() -> None:
    """A grid's mode changed: inside `remembered()`, the next `war_at` reads the modes again."""
    if _memo is not None:
        _memo["war"] = None


def policy_for(*, category: Category | None, urgency: str, mode: str = GridMode.PEACE) -> SlaPolicy:
    """Most specific row first: the category, its parent, then the default for urgency × mode;
    a wartime lookup with no wartime row falls back to the peacetime one."""
    if _memo is not None:
        key = (urgency, mode, getattr(category, "pk", None), getattr(category, "parent_id", None))
        policy = _memo["policy"].get(key)
        if policy is None:
            policy = _memo["policy"][key] = _policy_for(category=category, urgency=urgency, mode=mode)
        return policy
    return _policy_for(category=category, urgency=urgency, mode=mode)


def _policy_for(*, category: Category | None, urgency: str, mode: str) -> SlaPolicy:
    category_ids = []
    if category is not None:
        category_ids = [category.pk] + ([category.parent_id] if category.parent_id else [])
    modes = [mode] if mode == GridMode.PEACE else [mode, GridMode.PEACE]
    candidates = list(
        SlaPolicy.objects.filter(urgency=urgency, mode__in=modes).filter(
            Q(category__isnull=True) | Q(category_id__in=category_ids)
        )
    )
    for m in modes:
        for cid in [*category_ids, None]:
            for p in candidates:
                if p.mode == m and p.category_id == cid:
                    return p
    return SlaPolicy(urgency=urgency, mode=mode, **FALLBACK)


def _exceptions(start: date, end: date) -> dict[date, str]:
    return dict(CalendarDay.objects.filter(date__gte=start, date__lte=end).values_list("date", "kind"))


def is_workday(day: date, exceptions: dict[date, str]) -> bool:
    kind = exceptions.get(day)
    if kind == DayKind.HOLIDAY:
        return False
    if kind == DayKind.WORKDAY:
        return True
    return day.weekday() < 5


def add_workdays(start: datetime, days: Decimal | float | int, exceptions: dict | None = None) -> datetime:
    """The same clock time `days` working days later (whole days; a fraction adds hours).
    `exceptions` (date → kind) may be passed in by bulk callers that loaded the calendar once."""
    local = timezone.localtime(start)
    whole = math.floor(days)
    fraction = Decimal(str(days)) - whole
    if exceptions is None and _memo is not None:
        exceptions = all_exceptions()
    if exceptions is None:
        # a holiday run is at most ~9 days: whole working days never span more than 3× + 21 days
        exceptions = _exceptions(local.date(), local.date() + timedelta(days=whole * 3 + 21))
    d = local.date()
    counted = 0
    while counted < whole:
        d += timedelta(days=1)
        if is_workday(d, exceptions):
            counted += 1
    if whole:
        _note_uncovered(d)
    result = timezone.make_aware(datetime.combine(d, local.time().replace(tzinfo=None)), local.tzinfo)
    return result + timedelta(hours=float(fraction) * 24)


def add_duration(start: datetime, amount: Decimal, unit: str, exceptions: dict | None = None) -> datetime:
    if unit == DurationUnit.WORKDAYS:
        return add_workdays(start, amount, exceptions)
    if unit == DurationUnit.DAYS:
        return start + timedelta(days=float(amount))
    return start + timedelta(hours=float(amount))


def deadline(policy: SlaPolicy, stage: str, start: datetime, exceptions: dict | None = None) -> datetime:
    prefix = {"accept": "accept", "resolve": "resolve", "verify": "verify", "evaluate": "evaluation"}[stage]
    return add_duration(
        start, getattr(policy, f"{prefix}_amount"), getattr(policy, f"{prefix}_unit"), exceptions
    )


def covered_until() -> date | None:
    """The last day the holiday calendar covers: 31 December of the last year that has its
    holidays entered (every year has 元旦 at least; gaps are the data check's business).
    Read once per COVERAGE_TTL per process; `forget_coverage()` after a load or an edit."""
    expires, value = _coverage
    if time.monotonic() < expires:
        return value
    years = sorted(
        {d.year for d in CalendarDay.objects.filter(kind=DayKind.HOLIDAY).dates("date", "year")}, reverse=True
    )
    value = date(years[0], 12, 31) if years else None
    _coverage[:] = [time.monotonic() + COVERAGE_TTL, value]
    return value


def forget_coverage() -> None:
    _coverage[:] = [0.0, None]
    _warned_years.clear()


def coverage_warning(today: date | None = None) -> str | None:
    """A warning when the calendar does not reach COVERAGE_AHEAD_DAYS past today, else None."""
    today = today or timezone.localdate()
    until = covered_until()
    if until is None:
        return MSG_CALENDAR_EMPTY
    if until < today + timedelta(days=COVERAGE_AHEAD_DAYS):
        return MSG_CALENDAR_SHORT.format(
            until=until.isoformat(), days=COVERAGE_AHEAD_DAYS, year=until.year + 1
        )
    return None


def _note_uncovered(day: date) -> None:
    """Logs once per year and process when a deadline is counted past the covered range."""
    until = covered_until()
    if (until is None or day > until) and day.year not in _warned_years:
        _warned_years.add(day.year)
        log.warning(
            "working-day deadline counted into %s, past the holiday calendar (covered until %s): "
            "weekdays only; run manage.py load_holidays",
            day.isoformat(),
            until,
        )


def all_exceptions() -> dict[date, str]:
    """The whole calendar (date → kind); read once inside `remembered()`. Callers only read it."""
    if _memo is not None:
        if _memo["calendar"] is None:
            _memo["calendar"] = dict(CalendarDay.objects.values_list("date", "kind"))
        return _memo["calendar"]
    return dict(CalendarDay.objects.values_list("date", "kind"))


def db_now() -> datetime:
    """The database clock: timers compare against it only (design §12), so app servers with
    drifting clocks agree on what is overdue. SQLite (the embedded default) runs in the one
    process, whose clock is the database's."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT now()")
            return cursor.fetchone()[0]
    return timezone.now()
