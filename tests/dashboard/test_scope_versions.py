"""A community's and a grid's answer is kept under its own version — the last stamp something
under it changed — so an unchanged one stays a hit across fills, and a change under grid A
reaches A, its community, its town and the city but not grid B (payload.version_of)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from grids.models import GridKind
from qionglai.dashboard import payload, tasks
from tests.grids.conftest import make_grid

from .conftest import NOW, TZ, make_incident

pytestmark = pytest.mark.django_db

URL = reverse("dashboard:data") + "?period={period}&place={place}"


@pytest.fixture
def two_grids(dataset):
    a = dataset["i1"].community
    grids = [make_grid(a, kind=GridKind.GENERAL, code=code) for code in ("g01", "g02")]
    for grid in grids:
        make_incident(a, dataset["i1"].category, path=grid.path, created_at=NOW - timedelta(days=2))
    return grids


def reported(client, place: str, period: str = "30d") -> tuple[int, str]:
    body = client.get(URL.format(period=period, place=place)).json()
    return body["figures"][0]["value"], body["as_of"]


def test_a_change_under_grid_a_reaches_a_its_community_town_and_city_but_not_grid_b(
    client, victor, dataset, two_grids, time_machine, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(payload, "REBUILD_AFTER", 3600)  # the roll has its own test below
    grid_a, grid_b = two_grids
    community = dataset["i1"].community
    places = {
        "grid A": grid_a.path,
        "grid B": grid_b.path,
        "community": community.path,
        "town": community.town.path,
        "city": "510183",
    }

    def fill_at(minutes: int) -> None:
        time_machine.move_to(NOW + timedelta(minutes=minutes), tick=False)
        tasks.dashboard_fill()  # the beat's fill with its warm-up

    # the first fill starts the record; the second rescans the overlap (the rows made at NOW)
    fill_at(0)
    fill_at(3)
    fill_at(6)
    client.force_login(victor)
    before = {name: reported(client, place) for name, place in places.items()}
    assert before["grid A"][0] == before["grid B"][0] == 1
    assert before["community"][0] == 6 + 2

    fill_at(9)  # nothing touched: every answer is its version's body under the new stamp
    # session, user, device, grants (4); the stamp, the version marks and names from the cache,
    # the body of the grid's version — no figure read, only 数据截至 moved
    with django_assert_num_queries(4):
        value, as_of = reported(client, grid_b.path)
    assert value == 1 and as_of > before["grid B"][1]

    time_machine.move_to(NOW + timedelta(minutes=11), tick=False)
    make_incident(community, dataset["i1"].category, path=grid_a.path, created_at=NOW - timedelta(hours=1))
    fill_at(12)
    assert payload.last_warm["watched"] == 2  # grid A's and the community's 30 days
    # each was asked for before, so the warm-up built it: the first request after the fill is a
    # hit (the auth's 4 queries) with the new incident in it
    after = {}
    for name in ("grid A", "community", "town", "city"):
        with django_assert_num_queries(4):
            after[name] = reported(client, places[name])
        assert after[name][0] == before[name][0] + 1, name
    with django_assert_num_queries(4):  # grid B: still its version's body
        value, as_of = reported(client, grid_b.path)
    assert value == 1 and as_of == after["grid A"][1]  # 数据截至 is the stamp's for everyone


def test_a_version_lasts_at_most_rebuild_after_and_a_broken_chain_restarts_it(
    client, victor, dataset, two_grids, time_machine, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(payload, "REBUILD_AFTER", 600)
    # no warm-up of watched scopes: a version's end shows as the next request building again
    monkeypatch.setattr(payload, "WARM_WATCHED_BUDGET", 0)
    grid_b = two_grids[1]

    def fill_at(minutes: int) -> None:
        time_machine.move_to(NOW + timedelta(minutes=minutes), tick=False)
        tasks.dashboard_fill()

    def queries_of_a_request() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert reported(client, grid_b.path)[0] == 1
        return len(queries.captured_queries)

    for minutes in (0, 3, 6):
        fill_at(minutes)
    client.force_login(victor)
    assert queries_of_a_request() > 4  # built
    fill_at(9)
    assert queries_of_a_request() == 4  # the version's body (session, user, device, grants)
    fill_at(12)  # 12 minutes since the record started at minute 0: it restarts
    assert queries_of_a_request() > 4
    fill_at(15)
    assert queries_of_a_request() == 4
    # the beat stopped until the published stamp expired: no chain of stamps, a new record
    cache.delete(payload.PUBLISHED_KEY)
    fill_at(18)
    assert queries_of_a_request() > 4
    fill_at(21)
    assert queries_of_a_request() == 4


def test_today_and_30_days_move_at_midnight(client, victor, dataset, two_grids, time_machine, monkeypatch):
    monkeypatch.setattr(payload, "REBUILD_AFTER", 3600)
    grid_a = two_grids[0]
    late = datetime(2031, 6, 12, 23, 50, tzinfo=TZ)
    time_machine.move_to(late, tick=False)
    make_incident(dataset["i1"].community, dataset["i1"].category, path=grid_a.path, created_at=late)
    client.force_login(victor)
    for minutes in (0, 3, 6):  # 23:52, 23:55, 23:58
        time_machine.move_to(late + timedelta(minutes=2 + minutes), tick=False)
        tasks.dashboard_fill()
    assert reported(client, grid_a.path, "today")[0] == 1
    thirty = client.get(URL.format(period="30d", place=grid_a.path)).json()
    time_machine.move_to(late + timedelta(minutes=11), tick=False)  # 00:01, nothing touched
    tasks.dashboard_fill()
    assert reported(client, grid_a.path, "today")[0] == 0  # a new day: not yesterday's body
    moved = client.get(URL.format(period="30d", place=grid_a.path)).json()
    assert moved["period"]["start"] > thirty["period"]["start"]


def test_past_the_warm_up_budget_a_changed_scope_is_built_on_its_first_ask(
    client, victor, dataset, two_grids, time_machine, monkeypatch
):
    monkeypatch.setattr(payload, "REBUILD_AFTER", 3600)
    monkeypatch.setattr(payload, "WARM_WATCHED_BUDGET", 0)
    grid_a = two_grids[0]
    for minutes in (0, 3):
        time_machine.move_to(NOW + timedelta(minutes=minutes), tick=False)
        tasks.dashboard_fill()
    client.force_login(victor)
    assert reported(client, grid_a.path)[0] == 1
    time_machine.move_to(NOW + timedelta(minutes=5), tick=False)
    make_incident(dataset["i1"].community, dataset["i1"].category, path=grid_a.path, created_at=NOW)
    time_machine.move_to(NOW + timedelta(minutes=6), tick=False)
    tasks.dashboard_fill()
    assert payload.last_warm["watched"] == 0 and payload.last_warm["left"] == 1
    with CaptureQueriesContext(connection) as queries:
        assert reported(client, grid_a.path)[0] == 2  # built on the ask, exactly right
    assert len(queries.captured_queries) > 4


def test_a_viewer_who_keeps_asking_stays_watched(
    client, victor, dataset, two_grids, time_machine, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(payload, "REBUILD_AFTER", 3600)
    monkeypatch.setattr(payload, "WATCH_FOR", 400)
    grid_a = two_grids[0]
    community, category = dataset["i1"].community, dataset["i1"].category
    client.force_login(victor)
    expected = 1
    # for longer than WATCH_FOR: something changes under the grid before every fill, and the
    # viewer asks after it (answered from what the warm-up built, and still renewing the watch)
    for minutes in range(0, 22, 3):
        time_machine.move_to(NOW + timedelta(minutes=minutes), tick=False)
        make_incident(community, category, path=grid_a.path, created_at=NOW)
        expected += 1
        time_machine.move_to(NOW + timedelta(minutes=minutes + 1), tick=False)
        tasks.dashboard_fill()
        if minutes:
            assert payload.last_warm["watched"] == 1, minutes
            with django_assert_num_queries(4):
                assert reported(client, grid_a.path)[0] == expected
        else:
            assert reported(client, grid_a.path)[0] == expected
