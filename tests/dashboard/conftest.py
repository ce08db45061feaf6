"""A small hand-built dataset for the dashboard's indicators (tests/dashboard/test_indicators.py
works every expected value out by hand from it).

Friday 2031-06-06 (Asia/Shanghai); Saturday and Sunday are a weekend, Monday 2031-06-09 is a
public holiday (端午), so Friday → Tuesday spans a holiday weekend. "Now" is Thursday 12:00.
Town A / community A (洪川社区) gets six incidents, town B / community B three.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from grids.models import (
    CalendarDay,
    Category,
    DayKind,
    Escalation,
    Incident,
    Satisfaction,
    Status,
    Tier,
)

TZ = ZoneInfo("Asia/Shanghai")
FRIDAY = date(2031, 6, 6)
HOLIDAY = date(2031, 6, 9)
NOW = datetime(2031, 6, 12, 12, 0, tzinfo=TZ)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in June 2031, Beijing time."""
    return datetime(2031, 6, day, hour, minute, tzinfo=TZ)


def make_incident(community, category, *, path=None, **fields) -> Incident:
    fields.setdefault("description", "手工构造的测试事件")
    fields.setdefault("urgency", "yellow")
    return Incident.objects.create(
        community=community, category=category, path=path or community.path, **fields
    )


@pytest.fixture
def category(db):
    from tests.grids.conftest import ensure_reference_data

    ensure_reference_data()  # a transactional test before this one may have flushed the seeds
    return Category.objects.get(code="0401")  # 环境卫生 / 垃圾乱堆乱放


@pytest.fixture
def dataset(community_a, community_b, category, time_machine):
    time_machine.move_to(NOW, tick=False)
    CalendarDay.objects.create(date=HOLIDAY, kind=DayKind.HOLIDAY, name="端午节")
    a, b, c = community_a, community_b, category
    i1 = make_incident(  # the model case: same day, on time, satisfied, grid tier
        a, c, created_at=at(6, 9), status=Status.CLOSED, tier=Tier.GRID, urgency="red",
        accepted_at=at(6, 9, 30), accepted_on_time=True, dispatched_at=at(6, 10),
        resolved_at=at(6, 15), resolved_on_time=True, verified_at=at(6, 16),
        closed_at=at(6, 17), satisfaction=Satisfaction.SATISFIED,
    )  # fmt: skip
    i2 = make_incident(  # accepted late, resolved late across the holiday weekend
        a, c, created_at=at(6, 10), status=Status.CLOSED, tier=Tier.COMMUNITY,
        accepted_at=at(6, 13), accepted_on_time=False, dispatched_at=at(6, 13),
        resolved_at=at(10, 10), resolved_on_time=False, verified_at=at(10, 12),
        closed_at=at(10, 13), satisfaction=Satisfaction.BASIC,
    )  # fmt: skip
    i3 = make_incident(  # an approved extension, resolved within it, never evaluated
        a, c, created_at=at(6, 11), status=Status.CLOSED, tier=Tier.COMMUNITY,
        accepted_at=at(6, 11, 30), accepted_on_time=True, dispatched_at=at(6, 12),
        resolved_at=at(11, 11), resolved_on_time=True, verified_at=at(11, 12),
        closed_at=at(11, 20), satisfaction=Satisfaction.NONE, extension_count=1,
    )  # fmt: skip
    i4 = make_incident(  # reopened once after 不满意, re-resolved on Tuesday, 不满意 again
        a, c, created_at=at(6, 12), status=Status.CLOSED, tier=Tier.COMMUNITY,
        accepted_at=at(6, 12, 10), accepted_on_time=True, dispatched_at=at(6, 12, 30),
        resolved_at=at(10, 12), resolved_on_time=True, verified_at=at(10, 14),
        closed_at=at(10, 15), satisfaction=Satisfaction.DISSATISFIED, reopen_count=1,
    )  # fmt: skip
    make_incident(a, c, created_at=at(6, 14), status=Status.REJECTED, closed_at=at(6, 14, 30))
    i6 = make_incident(  # still in progress, past its resolve deadline (Monday)
        a, c, created_at=at(6, 15), status=Status.IN_PROGRESS, tier=Tier.COMMUNITY,
        accepted_at=at(6, 15, 30), accepted_on_time=True, dispatched_at=at(6, 16),
        resolve_due=at(9, 15, 30), due_at=at(9, 15, 30), due_stage="resolve",
    )  # fmt: skip
    # town B: everything overdue, nothing evaluated (b1's 满意 is the handler rating her own
    # work — self_evaluated — which 满意率 leaves out)
    b1 = make_incident(
        b, c, created_at=at(6, 9), status=Status.CLOSED, tier=Tier.COMMUNITY,
        accepted_at=at(6, 14), accepted_on_time=False, dispatched_at=at(6, 14),
        resolved_at=at(11, 9), resolved_on_time=False, verified_at=at(11, 10),
        closed_at=at(11, 11), satisfaction=Satisfaction.SATISFIED, self_evaluated=True,
    )  # fmt: skip
    for hour in (10, 11):
        make_incident(
            b, c, created_at=at(6, hour), status=Status.IN_PROGRESS, tier=Tier.COMMUNITY,
            accepted_at=at(6, 16), accepted_on_time=False, dispatched_at=at(6, 16),
            resolve_due=at(10, 16), due_at=at(10, 16), due_stage="resolve",
        )  # fmt: skip
    # escalations are counted on the day they happen: Friday one, Monday (the holiday) one
    Escalation.objects.create(incident=i2, stage="accept", level=1, due_at=at(6, 12), at=at(6, 12, 1))
    Escalation.objects.create(incident=i6, stage="resolve", level=2, due_at=at(9, 15, 30), at=at(9, 15, 31))
    Escalation.objects.create(incident=b1, stage="accept", level=1, due_at=at(6, 13), at=at(6, 13, 1))
    return {"i1": i1, "i2": i2, "i3": i3, "i4": i4, "i6": i6, "b1": b1}
