"""Calendar periods in the city's time zone (scores, caps, expiry, sanctions)."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone


def local_year(at: datetime | None = None) -> int:
    return timezone.localtime(at or timezone.now()).year


def year_bounds(year: int) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    return datetime(year, 1, 1, tzinfo=tz), datetime(year + 1, 1, 1, tzinfo=tz)


def month_bounds(at: datetime) -> tuple[datetime, datetime]:
    local = timezone.localtime(at)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start, end


def add_months(at: datetime, months: int) -> datetime:
    """Same day-of-month `months` later (clamped to the month's last day)."""
    local = timezone.localtime(at)
    index = local.month - 1 + months
    year, month = local.year + index // 12, index % 12 + 1
    for day in (local.day, 30, 29, 28):
        try:
            return local.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise ValueError(at)
