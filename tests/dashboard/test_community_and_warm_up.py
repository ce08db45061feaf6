"""A community's figures come from its community × day rows and one grouped count, and equal a
direct count; the beat's warm-up rebuilds only the towns something touched."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from grids.models import Status, Tier
from qionglai.dashboard import fill, indicators, payload, selectors

from .conftest import FRIDAY, NOW, at, make_incident

pytestmark = pytest.mark.django_db


def direct(scope, period, by):
    depth = scope.path.count(".") + 2
    key = {
        "category": lambda p, d, c: c,
        "day": lambda p, d, c: d,
        "child": lambda p, d, c: ".".join(p.split(".")[:depth]),
    }[by]
    return selectors._direct(scope, period, key=key)


def test_a_communitys_figures_from_its_rollups_equal_the_direct_count(victor, dataset):
    a = dataset["i1"].community
    # two incidents under grids of the community, one reopened, one extended and late
    make_incident(
        a, dataset["i1"].category, path=a.path + ".g01", created_at=at(6, 8), status=Status.CLOSED,
        tier=Tier.GRID, accepted_at=at(6, 8, 5), accepted_on_time=True, resolved_at=at(6, 9),
        resolved_on_time=True, closed_at=at(6, 10), satisfaction="basic", reopen_count=1,
    )  # fmt: skip
    make_incident(
        a, dataset["i1"].category, path=a.path + ".g02.m01", created_at=at(7, 8),
        status=Status.IN_PROGRESS, accepted_at=at(7, 9), accepted_on_time=False, extension_count=1,
        resolve_due=at(9, 9), due_at=at(9, 9), due_stage="resolve",
    )  # fmt: skip
    fill.fill()
    scope = selectors.scope_for(user=victor, path=a.path)
    assert scope.level == "community"
    for period in (
        selectors.Period("custom", FRIDAY, FRIDAY),
        selectors.Period("custom", FRIDAY - timedelta(days=3), FRIDAY + timedelta(days=6)),
    ):
        expected = indicators.total_of(direct(scope, period, "category").values())
        assert selectors.total(scope, period) == expected
        assert expected["reported"] > 0 and expected["reopened"] == 2  # i4 and the grid's
        days = selectors.cells_by(scope, period, "day")
        assert days == direct(scope, period, "day")
        for by in ("category", "child"):
            shown, counted = selectors.cells_by(scope, period, by, {}), direct(scope, period, by)
            assert set(shown) == {k for k, cell in counted.items() if cell["reported"]}
            for k, cell in shown.items():
                assert {c: cell[c] for c in selectors.FINE_COUNTS} == {
                    c: counted[k][c] for c in selectors.FINE_COUNTS
                }
    children = selectors.cells_by(scope, selectors.Period("custom", FRIDAY, FRIDAY), "child", {})
    # the community's own incidents and its two grids' (a micro-grid's under its grid)
    assert {k: v["reported"] for k, v in children.items()} == {a.path: 6, a.path + ".g01": 1}


def test_a_community_data_request_reads_rollups_and_pinned_queries(
    client, victor, dataset, django_assert_num_queries
):
    fill.fill()
    client.force_login(victor)
    a = dataset["i1"].community
    url = reverse("dashboard:data") + f"?place={a.path}&period=custom&start=2031-06-06&end=2031-06-06"
    # session, user, the second-factor device, grants (4); the names along the path (2: the
    # town and the community, then cached); this period's categories and grids, one grouped
    # count (1); the period's, 环比's and 同比's totals from the community × day rows, one
    # statement (1); open by state, overdue now, the incidents unresolved past their deadline,
    # the overdue list and the oldest open, one statement (1, present.py); ranking: rule (1),
    # the ranked units' names (1: here only the community's own incidents, no grid's); the
    # days' rows (1), category names (1, then cached); the watermark for 数据截至 (0: the stamp came with
    # the request's first cache read) = 13
    with django_assert_num_queries(13):
        body = client.get(url).json()
    assert body["figures"][0]["value"] == 6 and body["place"]["level"] == "community"
    with django_assert_num_queries(4):  # the same again: the stored answer
        assert client.get(url).json() == body


def test_the_warm_up_rebuilds_only_touched_towns_and_carries_the_rest(
    client, victor, tina, dataset, time_machine, monkeypatch
):
    built: list[int] = []

    def fill_at(minutes: int) -> int:
        time_machine.move_to(NOW + timedelta(minutes=minutes), tick=False)
        fill.fill(warm=lambda as_of: built.append(payload.warm(as_of)))
        return built[-1]

    monkeypatch.setattr(payload, "REBUILD_AFTER", 3600)  # its own part is at the end
    towns = 1 + len({i.community.town_id for i in dataset.values()})
    everything, one_town = len(payload.WARM_PERIODS) * towns, 2 * len(payload.WARM_PERIODS)
    assert fill_at(0) == everything  # nothing published before
    # the fill rescans OVERLAP (2 minutes) before its last stamp for late commits: the
    # dataset's incidents (made at NOW) count as touched once more
    assert fill_at(3) == everything
    url = reverse("dashboard:data") + "?period=30d&place="
    town_a, town_b = dataset["i1"].community.town, dataset["b1"].community.town
    client.force_login(victor)
    b_before = client.get(url + town_b.path).json()
    assert fill_at(6) == 0  # nothing touched: every body carried over to the new stamp
    b_after = client.get(url + town_b.path).json()
    assert b_after["as_of"] > b_before["as_of"]  # 数据截至 moved, nothing else
    assert {k: v for k, v in b_after.items() if k != "as_of"} == {
        k: v for k, v in b_before.items() if k != "as_of"
    }

    # an incident in town A: town A and the city are built (twice: the overlap), town B carried
    time_machine.move_to(NOW + timedelta(minutes=9), tick=False)
    make_incident(dataset["i1"].community, dataset["i1"].category, created_at=NOW - timedelta(hours=1))
    assert fill_at(9) == one_town
    assert client.get(url + town_a.path).json()["figures"][0]["value"] == 7
    assert client.get(url + town_b.path).json()["as_of"] > b_after["as_of"]
    client.force_login(tina)  # a town viewer's breadcrumb is answered from the warm-up too
    assert [c["place"] for c in client.get(url + town_a.path).json()["breadcrumb"]] == [town_a.path]
    assert fill_at(12) == one_town
    assert fill_at(15) == 0

    # a deadline passing is a change no row records: an open incident of town B falls due
    time_machine.move_to(NOW + timedelta(minutes=18), tick=False)
    make_incident(
        dataset["b1"].community, dataset["b1"].category, created_at=NOW, status=Status.IN_PROGRESS,
        accepted_at=NOW, resolve_due=NOW + timedelta(minutes=22), due_at=NOW + timedelta(minutes=22),
        due_stage="resolve",
    )  # fmt: skip
    assert fill_at(18) == one_town and fill_at(21) == one_town  # made, then the overlap
    client.force_login(victor)
    overdue = client.get(url + town_b.path).json()["figures"][2]
    assert fill_at(24) == one_town  # the deadline (minute 22) passed: town B and the city
    now_overdue = client.get(url + town_b.path).json()["figures"][2]
    assert overdue["key"] == "overdue_now" and now_overdue["value"] == overdue["value"] + 1
    assert fill_at(27) == 0

    # whatever nothing records (a renamed place, an edited ranking rule) is at most
    # REBUILD_AFTER old: past it, everything is built again
    monkeypatch.setattr(payload, "REBUILD_AFTER", 300)
    assert fill_at(34) == everything
    assert not fill.check()
