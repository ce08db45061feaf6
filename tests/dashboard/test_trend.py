"""The trend chart's buckets by day, week (Monday first) and month, worked out by hand."""

from __future__ import annotations

from datetime import date

from qionglai.dashboard import report, selectors

# Sunday 1 June 2031 … Tuesday 10 June: the Sunday closes the week of Monday 26 May
PERIOD = selectors.Period("custom", date(2031, 6, 1), date(2031, 6, 10))
BY_DAY = {
    date(2031, 6, 1): {"reported": 3, "resolved": 2, "reopened": 1, "satisfied": 1, "evaluated": 2},
    date(2031, 6, 2): {"reported": 4, "resolved": 4, "reopened": 0, "satisfied": 3, "evaluated": 3},
    date(2031, 6, 9): {"reported": 1, "resolved": 0, "reopened": 0, "satisfied": 0, "evaluated": 0},
    date(2031, 5, 31): {
        "reported": 9,
        "resolved": 9,
        "reopened": 9,
        "satisfied": 9,
        "evaluated": 9,
    },  # outside
}


def test_it_sums_the_days_into_weeks_and_months():
    weeks = report.trend(BY_DAY, PERIOD, "week")
    assert [
        (w["label"], w["reported"], w["resolved"], w["reopened"], w["satisfaction_rate"]) for w in weeks
    ] == [
        ("05-26 周", 3, 2, 1, 50.0),
        ("06-02 周", 4, 4, 0, 100.0),
        ("06-09 周", 1, 0, 0, None),  # nothing evaluated: no rate, not 0 %
    ]
    (month,) = report.trend(BY_DAY, PERIOD, "month")
    assert (month["label"], month["reported"], month["satisfaction_rate"]) == ("2031-06", 8, 80.0)
    days = report.trend(BY_DAY, PERIOD, "day")
    assert len(days) == 10 and days[0]["label"] == "06-01" and days[0]["reported"] == 3
    assert [d["reported"] for d in days[2:8]] == [0] * 6  # empty days are shown, as zero
