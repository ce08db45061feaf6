"""A grid's figures counted by PostgreSQL (qionglai/dashboard/counted.py) equal what
`indicators.accumulate` — the definition, which the rollups use — makes of the same rows:
working hours across weekends, holidays and 调休 workdays, the histogram's exact edges
(microseconds included), the grid's micro-grids, days and categories."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grids import sla
from grids.models import CalendarDay, DayKind, Escalation, Incident, Satisfaction, Status, Tier
from qionglai.dashboard import counted, fill, indicators, report, selectors

from .conftest import FRIDAY, NOW, at, make_incident

pytestmark = pytest.mark.django_db

WHOLE = selectors.Period("custom", FRIDAY - timedelta(days=10), FRIDAY + timedelta(days=10))


def rows(path: str, period: selectors.Period):
    lo, hi = period.bounds()
    scope = selectors.Scope(path=path, level="grid", name="", trail=())
    incidents = Incident.objects.filter(scope.q(), created_at__gte=lo, created_at__lt=hi)
    escalations = Escalation.objects.filter(scope.q("incident__path"), at__gte=lo, at__lt=hi)
    return incidents.values_list(*indicators.ROW_FIELDS), escalations.values_list(
        "at", "level", "incident__path", "incident__category_id"
    )


def by_accumulate(path: str, period: selectors.Period, key=lambda p, d, c: c) -> dict:
    incidents, escalations = rows(path, period)
    return indicators.accumulate(incidents, escalations, sla.all_exceptions(), key=key)


def assert_same_cell(got: dict, expected: dict) -> None:
    for column in indicators.COLUMNS:
        if column in indicators.FLOAT_COLUMNS:
            assert got[column] == pytest.approx(expected[column], abs=1e-9), column
        else:
            assert got[column] == expected[column], column


def assert_counted_equals_accumulate(path: str, period: selectors.Period) -> None:
    lo, hi = period.bounds()
    exceptions = sla.all_exceptions()
    got = counted.total(path, lo, hi, NOW.date(), exceptions)
    assert got is not None
    assert_same_cell(got, indicators.total_of(by_accumulate(path, period).values()))
    groups = counted.fine(path, lo, hi, NOW.date(), exceptions)
    for by, key in (
        ("path", lambda p, d, c: p),
        ("day", lambda p, d, c: d),
        ("category", lambda p, d, c: c),
    ):
        expected = {k: v for k, v in by_accumulate(path, period, key).items() if v["reported"]}
        assert set(groups[by]) == set(expected), by
        for k, counts in groups[by].items():
            assert counts == {c: expected[k][c] for c in counted.FINE}, (by, k)
    # a screen's three periods in one statement (each row summed into every period it is in):
    # the period, one overlapping its second half, and one after it with a gap between
    later = selectors.Period(
        "custom", period.end - timedelta(days=period.days // 2), period.end + timedelta(days=3)
    )
    apart = selectors.Period("custom", period.end + timedelta(days=5), period.end + timedelta(days=9))
    found = counted.screen(path, [p.bounds() for p in (period, later, apart)], NOW.date(), exceptions)
    assert found is not None
    cells, together = found
    for cell, p in zip(cells, (period, later, apart), strict=True):
        assert_same_cell(cell, indicators.total_of(by_accumulate(path, p).values()))
    assert together == groups


@pytest.fixture
def edges(dataset, community_a, category):
    """Incidents of grid g01 at the histogram's edges, with microseconds, across the holiday
    weekend (Friday 6th → Tuesday 10th; Monday 9th is 端午) and a 调休 Sunday (15th)."""
    CalendarDay.objects.create(date=date(2031, 6, 15), kind=DayKind.WORKDAY, name="调休上班")
    g = community_a.path + ".g01"
    us = timedelta(microseconds=123_456)
    start = at(6, 9) + us
    # Friday 09:00:00.123456 + 48 working hours = Wednesday 09:00:00.123456 (Friday's 15 h,
    # Tuesday's 24, Wednesday's 9): exactly on the ≤ 48 h edge
    make_incident(
        community_a, category, path=g, created_at=start, status=Status.CLOSED, tier=Tier.GRID,
        accepted_at=start + timedelta(hours=1), accepted_on_time=True,
        resolved_at=at(11, 9) + us, resolved_on_time=True, closed_at=at(11, 10),
        satisfaction=Satisfaction.SATISFIED,
    )  # fmt: skip
    # one microsecond past the edge: the next bucket
    make_incident(
        community_a, category, path=g + ".m01", created_at=start, status=Status.RESOLVED,
        accepted_at=start + timedelta(hours=2, microseconds=1), accepted_on_time=False,
        resolved_at=at(11, 9) + us + timedelta(microseconds=1), resolved_on_time=False,
        extension_count=1,
    )  # fmt: skip
    # Saturday report, accepted on the 调休 Sunday: only Sunday's hours count
    make_incident(
        community_a, category, path=g + ".m02", created_at=at(14, 10) + us, status=Status.IN_PROGRESS,
        accepted_at=at(15, 8) + us, accepted_on_time=True, dispatched_at=at(15, 9),
    )  # fmt: skip
    # accepted "before" it was reported (a clock skew): no hours, still accepted
    make_incident(
        community_a, category, path=g, created_at=at(2, 10), status=Status.ACCEPTED,
        accepted_at=at(2, 9), accepted_on_time=True, reopen_count=1,
    )  # fmt: skip
    # 120 working hours exactly: Monday 2nd 00:00 → Saturday 7th 00:00 (Mon–Fri, all working)
    make_incident(
        community_a, category, path=g + ".m01", created_at=at(2, 0), status=Status.CLOSED,
        accepted_at=at(2, 0, 30), accepted_on_time=True, resolved_at=at(7, 0),
        resolved_on_time=True, closed_at=at(7, 1), satisfaction=Satisfaction.DISSATISFIED,
    )  # fmt: skip
    # a path that continues the grid's without being under it
    make_incident(community_a, category, path=g + "0", created_at=at(6, 9), status=Status.REPORTED)
    inc = Incident.objects.filter(path=g).first()
    Escalation.objects.create(incident=inc, stage="accept", level=3, due_at=at(6, 11), at=at(6, 12))
    return g


def test_a_grids_counted_cells_equal_accumulate_at_the_edges(edges):
    assert_counted_equals_accumulate(edges, WHOLE)
    lo, hi = WHOLE.bounds()
    cell = counted.total(edges, lo, hi, NOW.date(), sla.all_exceptions())
    # worked by hand: 48 h exactly is ≤ 48 (bucket 5), a microsecond more is over (bucket 6);
    # the 120 h one is ≤ 120 (bucket 6); nothing over 120
    assert (cell["resolve_h5"], cell["resolve_h6"], cell["resolve_h7"]) == (1, 2, 0)
    assert cell["reported"] == 5 and cell["escalated_l3"] == 1 and cell["reopened"] == 1
    # accept hours: 1, 2 h + 1 µs, Sunday 00:00 → 08:00.123456 = 8 h + 123456 µs, 0, 0.5
    assert cell["accept_hours"] == pytest.approx(1 + 2 + 8 + 0.5 + (1 + 123_456) / 3.6e9)
    assert (cell["accept_h0"], cell["accept_h1"], cell["accept_h2"], cell["accept_h3"]) == (3, 0, 1, 0)
    assert cell["accept_h4"] == 1  # 8 h + 123456 µs: over the 8 h edge


def test_the_grid_screen_reads_the_counted_cells(edges):
    scope = selectors.Scope(path=edges, level="grid", name="第一网格", trail=())
    params = {"period": "custom", "start": str(WHOLE.start), "end": str(WHOLE.end)}
    screen = report.build(params=params, now=NOW, full=False, scope=scope, as_of=NOW)
    assert screen.figures["reported"].value == 5
    expected = indicators.figures(indicators.total_of(by_accumulate(edges, WHOLE).values()))
    assert {k: f.value for k, f in screen.figures.items() if k in indicators.COUNT_COLUMNS} == {
        k: f.value for k, f in expected.items() if k in indicators.COUNT_COLUMNS
    }
    assert screen.figures["resolve_median_hours"].value == expected["resolve_median_hours"].value
    assert {r.path for r in screen.ranking.below_minimum} == {edges, edges + ".m01", edges + ".m02"}


def test_a_moment_past_the_calendar_arrays_falls_back_to_accumulate(edges, community_a, category):
    make_incident(
        community_a, category, path=edges, created_at=at(6, 9), status=Status.RESOLVED,
        resolved_at=NOW + timedelta(days=counted.AHEAD_DAYS + 5), resolved_on_time=True,
    )  # fmt: skip
    lo, hi = WHOLE.bounds()
    assert counted.total(edges, lo, hi, NOW.date(), sla.all_exceptions()) is None
    scope = selectors.Scope(path=edges, level="grid", name="", trail=())
    assert_same_cell(selectors.total(scope, WHOLE), indicators.total_of(by_accumulate(edges, WHOLE).values()))


MOMENT = st.tuples(st.integers(0, 16), st.integers(0, 23), st.integers(0, 59), st.integers(0, 999_999))
DELAY = st.one_of(
    st.none(),
    st.sampled_from([0, 1, 2, 4, 8, 24, 48, 120]).map(lambda h: timedelta(hours=h)),
    st.tuples(st.integers(0, 200), st.integers(0, 3_599_999_999)).map(
        lambda t: timedelta(hours=t[0], microseconds=t[1])
    ),
)
INCIDENT = st.fixed_dictionaries(
    {
        "at": MOMENT,
        "accept": DELAY,
        "resolve": DELAY,
        "path": st.sampled_from(["", ".m01", ".m02"]),
        "status": st.sampled_from(list(Status.values)),
        "satisfaction": st.sampled_from(list(Satisfaction.values)),
        "self_evaluated": st.booleans(),
        "tier": st.sampled_from(["", *Tier.values]),
        "urgency": st.sampled_from(["red", "orange", "yellow", "blue"]),
        "channel": st.sampled_from(["online", "offline", "hotline"]),
        "on_time": st.sampled_from([None, True, False]),
        "reopen_count": st.integers(0, 1),
        "extension_count": st.integers(0, 2),
    }
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(incidents=st.lists(INCIDENT, min_size=1, max_size=12))
def test_any_grid_counted_by_postgresql_equals_accumulate(incidents, dataset, community_a, category):
    g = community_a.path + ".g07"
    Incident.objects.filter(path__startswith=g).delete()
    base = at(1, 0)
    for spec in incidents:
        day, hour, minute, micro = spec["at"]
        created = base + timedelta(days=day, hours=hour, minutes=minute, microseconds=micro)
        make_incident(
            community_a, category, path=g + spec["path"], created_at=created, status=spec["status"],
            tier=spec["tier"], urgency=spec["urgency"], channel=spec["channel"],
            accepted_at=created + spec["accept"] if spec["accept"] is not None else None,
            accepted_on_time=spec["on_time"],
            resolved_at=created + spec["resolve"] if spec["resolve"] is not None else None,
            resolved_on_time=spec["on_time"], satisfaction=spec["satisfaction"],
            self_evaluated=spec["self_evaluated"], reopen_count=spec["reopen_count"],
            extension_count=spec["extension_count"],
        )  # fmt: skip
    assert_counted_equals_accumulate(g, selectors.Period("custom", date(2031, 5, 31), date(2031, 6, 20)))


def test_a_grid_data_request_is_counted_in_pinned_queries(
    client, carol, edges, community_a, django_assert_num_queries
):
    from django.urls import reverse

    from grids.models import GridKind
    from tests.grids.conftest import make_grid

    general = make_grid(community_a, kind=GridKind.GENERAL, code="g01", name="第一网格")
    make_grid(community_a, kind=GridKind.MICRO, code="m01", parent=general, name="第一微网格")
    fill.fill()
    client.force_login(carol)
    url = reverse("dashboard:data") + f"?place={edges}&period=custom&start={WHOLE.start}&end={WHOLE.end}"
    # session, user, the second-factor device, grants (4); the names along the path (3: town,
    # community, grid; then cached); the holiday calendar (1); the period's, 环比's and 同比's
    # totals and the period's cells by place, day and category in one statement (1; two
    # before counted.screen);
    # open by state, overdue now, the incidents unresolved past their deadline, the overdue
    # list and the oldest open in one (1, present.py); ranking: rule (1), the micro-grids'
    # names (1); category names (1, then cached); the watermark (0: the stamp came with the request's first
    # cache read) = 13
    with django_assert_num_queries(13):
        body = client.get(url).json()
    assert body["place"]["level"] == "grid" and body["figures"][0]["value"] == 5
    expected = indicators.figures(indicators.total_of(by_accumulate(edges, WHOLE).values()))
    shown = {f["key"]: f["value"] for f in body["figures"]}
    assert shown["resolve_median_hours"] == expected["resolve_median_hours"].value
    assert shown["accept_mean_hours"] == expected["accept_mean_hours"].value
    with django_assert_num_queries(4):  # the same again: the stored answer
        assert client.get(url).json() == body
