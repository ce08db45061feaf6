"""Every indicator of design §8 on the hand-built dataset of conftest.py; each expected value is
worked out by hand in the comment beside it."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from qionglai.dashboard import fill, indicators, selectors
from qionglai.dashboard.models import RankingRule, UnitKind

from .conftest import FRIDAY, NOW, at

pytestmark = pytest.mark.django_db


def friday():
    return selectors.Period("custom", FRIDAY, FRIDAY)


def scope(path: str, level: str) -> selectors.Scope:
    return selectors.Scope(path=path, level=level, name="", trail=())


def values(figs) -> dict:
    return {k: f.value for k, f in figs.items()}


def test_working_hours_skip_the_weekend_and_the_holiday(dataset):
    # Friday 10:00 → Tuesday 10:00: Friday 14 h + (Sat, Sun, Mon holiday: 0) + Tuesday 10 h
    assert indicators.working_hours(at(6, 10), at(10, 10), fill.sla.all_exceptions()) == 24.0


def test_an_adjusted_working_day_counts(dataset):
    from grids.models import CalendarDay, DayKind

    CalendarDay.objects.create(date=at(7, 0).date(), kind=DayKind.WORKDAY, name="调休上班")
    # Friday 12:00 → Saturday 12:00 with Saturday a 调休 working day: 12 h + 12 h
    assert indicators.working_hours(at(6, 12), at(7, 12), fill.sla.all_exceptions()) == 24.0


def test_town_a_figures_equal_the_hand_worked_values(dataset, town_a):
    fill.fill()
    figs = values(selectors.figures(scope(town_a.path, "town"), friday(), now=NOW))
    assert figs["reported"] == 6  # i1..i6
    assert figs["accepted"] == 5  # all but the rejected i5
    assert figs["rejected"] == 1
    assert figs["dispatched"] == 5
    assert figs["resolved"] == 4  # i1, i2, i3, i4 — the reopened i4 once
    assert figs["verified"] == 4
    assert figs["closed"] == 4  # the rejected one is not 归档
    assert figs["reopened"] == 1  # i4
    assert figs["escalated"] == 1  # i2's accept escalation on Friday; i6's was on Monday
    assert figs["escalated_l1"] == 1
    # 按期受理率: 4 on time of 5 accepted (i2 late)
    assert figs["accept_on_time_rate"] == 80.0
    # 应办结 = 4 resolved + 1 overdue unresolved (i6) = 5; minus 1 approved extension (i3) = 4;
    # on time among the non-extended resolved: i1, i4 (i2 late) = 2 → 50.0%
    assert figs["resolve_on_time_rate"] == 50.0
    assert figs["resolve_rate"] == 80.0  # 4 ÷ 5
    assert figs["rework_rate"] == 25.0  # 1 ÷ 4
    # evaluated: i1 满意, i2 基本满意, i4 不满意 (i3 未评价 is not counted) → 2 ÷ 3
    assert figs["satisfaction_rate"] == 66.7
    assert figs["evaluation_rate"] == 75.0  # 3 evaluated ÷ 4 closed
    assert figs["grid_tier_rate"] == 16.7  # i1 ÷ 6
    assert figs["same_day_rate"] == 16.7  # i1 only; i4's latest resolution is Tuesday
    # accept hours 0.5 + 3 + 0.5 + 1/6 + 0.5 = 4.667 over 5 → 0.9
    assert figs["accept_mean_hours"] == 0.9
    # resolve hours: i1 6, i2 24 (Fri 14 + Tue 10), i3 48 (Fri 13 + Tue 24 + Wed 11),
    # i4 24 (Fri 12 + Tue 12) = 102 over 4 → 25.5
    assert figs["resolve_mean_hours"] == 25.5
    # accept buckets: four ≤1 h, one ≤4 h; half of 5 = 2.5 falls in [0, 1]: 2.5/4 → 0.6
    assert figs["accept_median_hours"] == 0.6
    # resolve buckets: 6 → (4, 8], 24, 24 → (8, 24], 48 → (24, 48]; half = 2, one below:
    # 8 + 16 × (2 − 1) / 2 = 16.0
    assert figs["resolve_median_hours"] == 16.0


def test_town_b_is_all_overdue_and_nothing_evaluated(dataset, town_b):
    fill.fill()
    figs = values(selectors.figures(scope(town_b.path, "town"), friday(), now=NOW))
    assert figs["reported"] == 3
    assert figs["accept_on_time_rate"] == 0.0  # all three accepted late
    # 应办结 = 1 resolved (late) + 2 overdue unresolved = 3, none extended → 0 ÷ 3
    assert figs["resolve_on_time_rate"] == 0.0
    assert figs["resolve_rate"] == 33.3
    # nothing evaluated (b1's 满意 is self-evaluated): shown as —, never 0%
    assert figs["satisfaction_rate"] is None
    assert figs["evaluation_rate"] == 0.0  # 0 evaluated of 1 closed
    # b1: Friday 9:00 → Wednesday 9:00 = 15 + 0 + 0 + 0 + 24 + 9 = 48 working hours
    assert figs["resolve_mean_hours"] == 48.0


def test_the_city_is_the_sum_of_its_towns(dataset):
    fill.fill()
    figs = values(selectors.figures(scope("510183", "city"), friday(), now=NOW))
    assert figs["reported"] == 9
    assert figs["escalated_l1"] == 2  # i2 and b1, both Friday
    assert figs["accept_on_time_rate"] == 50.0  # 4 ÷ 8
    # 应办结 = 5 resolved + 3 overdue unresolved = 8, minus i3's extension = 7; on time 2
    assert figs["resolve_on_time_rate"] == 28.6
    assert figs["satisfaction_rate"] == 66.7  # town B adds no evaluations


def test_a_community_counted_directly_matches_its_town_from_the_rollups(dataset, town_a, community_a):
    fill.fill()
    direct = values(selectors.figures(scope(community_a.path, "community"), friday(), now=NOW))
    rolled = values(selectors.figures(scope(town_a.path, "town"), friday(), now=NOW))
    assert direct == rolled


def test_an_escalation_counts_on_the_day_it_happened(dataset, town_a):
    fill.fill()
    week = selectors.Period("custom", FRIDAY, NOW.date())
    figs = values(selectors.figures(scope(town_a.path, "town"), week, now=NOW))
    assert (figs["escalated_l1"], figs["escalated_l2"]) == (1, 1)  # Friday and the Monday holiday
    assert figs["overdue_now"] == 1  # i6


def test_a_unit_below_the_minimum_is_listed_apart_not_ranked(dataset, town_a, town_b):
    RankingRule.objects.create(unit_kind=UnitKind.TOWN, min_cases=5)
    fill.fill()
    result = selectors.ranking(scope("510183", "city"), friday(), now=NOW)
    assert [(r.name, r.rank) for r in result.ranked] == [("临邛街道", 1)]
    # 50.0 × 40 + 66.7 × 30 + 80.0 × 20 + (100 − 25.0) × 10 = 6351 → ÷ 100 = 63.5
    assert result.ranked[0].score == 63.5
    assert [r.name for r in result.below_minimum] == ["文君街道"]  # 3 cases < 5
    assert "不足 5 件" in result.basis


def test_by_default_twenty_cases_are_needed_to_be_ranked(dataset):
    fill.fill()
    result = selectors.ranking(scope("510183", "city"), friday(), now=NOW)
    assert result.ranked == []
    assert len(result.below_minimum) == 2


def test_the_rollups_agree_with_the_source_rows(dataset):
    fill.fill()
    assert fill.check() == []
    call_command("dashboard_check")


def test_every_figure_has_a_chinese_basis(dataset):
    figs = selectors.figures(scope("510183", "city"), friday(), now=NOW)
    assert all(f.basis and f.label for f in figs.values())
    assert "经批准延期" in figs["resolve_on_time_rate"].basis
