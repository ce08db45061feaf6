"""Query counts pinned per page and data endpoint; /healthz's fill lag; the read replica."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from qionglai.dashboard import fill, selectors
from qionglai.dashboard.routers import REPLICA, replica_reads

from .conftest import FRIDAY, NOW

FRIDAY_QS = "period=custom&start=2031-06-06&end=2031-06-06"


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connections["default"]) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.django_db
def test_the_query_counts_do_not_grow_with_the_data(client, victor, tina, dataset, django_assert_num_queries):
    fill.fill()
    client.force_login(victor)
    # The city data endpoint: session + user + the session's second-factor device (django-otp)
    # + grants (4); scope names (0: the city needs none);
    # this period's cells by category (1); the present — open by state, overdue now, the
    # incidents unresolved past their deadline (shared by the period, 环比, 同比 and the
    # ranking), the overdue list and the oldest open — one statement (1, present.py); the
    # period's, previous and year-ago totals, one statement (1); ranking: rule (1), towns'
    # cells (1), town names (1); the trend's days (1), category names (1, then cached) = 12.
    # The stamp the cache key needs (and the build's 数据截至) comes from the cache the fill
    # wrote the watermark to (0).
    with django_assert_num_queries(12):
        client.get(reverse("dashboard:data") + "?" + FRIDAY_QS)
    # Asked again before the next fill: session, user, device, grants (4), the whole body
    # from the cache.
    with django_assert_num_queries(4):
        client.get(reverse("dashboard:data") + "?" + FRIDAY_QS)
    # The page adds the headline row (9: grids, party organisations, groups, members, doctor
    # teams, merchants, closed incidents, ledger totals 2), grids (1), points (ledger 2 +
    # sanctions 1 + period redemptions 1), consultation (4), registry (2), the map's status (1)
    # and the nav's unread notices (1), and the build reads the watermark itself (1), less what
    # the data request cached: the category names, the towns' ranking rule and the towns'
    # names (−3) = 12 + 23 − 3 = 32; the breakdown tables (14): departments —
    # their rule, the holiday calendar, incidents, escalations, overdue-unresolved by department
    # (5; no department names when none was dispatched) — points by class and month (entries,
    # redemptions 2), top offers (1), merchants (settled, offers listed, merchants 3), shared
    # supermarkets (1), consultation steps (1), renewal projects (1) = 46 (48 before the rule
    # and the ranked places' names were cached: selectors.child_names, RankingRule.for_kind).
    with django_assert_num_queries(46):
        client.get(reverse("dashboard:page") + "?" + FRIDAY_QS)
    # More incidents do not add queries: the same page again after ten more incidents (less
    # the departments' ranking rule, which the first page cached: 45).
    from .conftest import at, make_incident

    for hour in range(10):
        make_incident(dataset["i1"].community, dataset["i1"].category, created_at=at(6, hour))
    fill.mark_dirty([FRIDAY])
    fill.fill()
    with django_assert_num_queries(45):
        client.get(reverse("dashboard:page") + "?" + FRIDAY_QS)
    client.force_login(tina)
    # A town: the city's 12, plus the town's name for the breadcrumb (1, then cached), less the
    # category names the city's request cached (−1) (its communities' ranking is one read of
    # the community × day rollup, as the city's towns are one read of the town rollup) = 12.
    assert count_queries(client, reverse("dashboard:data") + "?" + FRIDAY_QS) == 12


@pytest.mark.django_db
def test_the_beats_fill_warms_city_and_towns_so_the_first_request_is_a_hit(
    client, victor, tina, dataset, django_assert_num_queries, time_machine
):
    from qionglai.dashboard import tasks

    from .conftest import make_incident

    tasks.dashboard_fill()  # the beat's fill: days rewritten, then the payloads, then the watermark
    url = reverse("dashboard:data") + "?period=30d"
    client.force_login(victor)
    # session, user, device, grants (4); the watermark and the body from the cache: no figure
    # is computed
    with django_assert_num_queries(4):
        city = client.get(url).json()
    assert city["breadcrumb"] == [{"name": "邛崃市", "place": "510183"}]
    town = dataset["i1"].community.town
    # the city viewer drilled into a town: + the town's name (1, cached after); the breadcrumb
    # is the city viewer's (two steps) although the body was built for no one
    with django_assert_num_queries(5):
        as_city = client.get(url + "&place=" + town.path).json()
    assert [c["place"] for c in as_city["breadcrumb"]] == ["510183", town.path]
    client.force_login(tina)
    with django_assert_num_queries(4):
        as_town = client.get(url + "&place=" + town.path).json()
    assert [c["place"] for c in as_town["breadcrumb"]] == [town.path]
    assert {k: v for k, v in as_town.items() if k != "breadcrumb"} == {
        k: v for k, v in as_city.items() if k != "breadcrumb"
    }
    assert as_town["figures"][0] == {**as_town["figures"][0], "key": "reported", "value": 6}
    # a minute later the next fill moves the watermark, so the new incident shows (the old
    # watermark's body is never read again)
    time_machine.move_to(NOW + timedelta(minutes=1), tick=False)
    make_incident(dataset["i1"].community, dataset["i1"].category, created_at=NOW - timedelta(hours=1))
    # a fill has moved the watermark but its warm-up has not published yet: the published
    # bodies are still answered (a hit, as of their own stamp), never a half-built one
    fill.fill()
    with django_assert_num_queries(4):
        before = client.get(url + "&place=" + town.path).json()
    assert before["figures"][0]["value"] == 6 and before["as_of"] == as_town["as_of"]
    tasks.dashboard_fill()
    after = client.get(url + "&place=" + town.path).json()
    assert after["figures"][0]["value"] == 7 and after["as_of"] > as_town["as_of"]


@pytest.mark.django_db
def test_healthz_reports_the_fill_lag_and_503_past_five_minutes(client, dataset, time_machine):
    assert client.get("/healthz").json()["dashboard"]["status"] == "not_filled"
    fill.fill()
    body = client.get("/healthz").json()
    assert body["dashboard"] == {"status": "ok", "lag_seconds": 0}
    time_machine.move_to(NOW + timedelta(minutes=5, seconds=1), tick=False)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["dashboard"] == {"status": "down", "lag_seconds": 301}
    fill.fill()
    assert client.get("/healthz").json()["dashboard"]["status"] == "ok"


# A `replica` alias mirroring the test database, as DATABASE_REPLICA_URL adds one in production
# (TEST MIRROR: the test runner points it at the test database). Declared at collection, before
# the test databases are set up; the router uses it only where DASHBOARD_READ_REPLICA is on.
if REPLICA not in connections.settings:
    connections.settings[REPLICA] = {
        **connections.settings["default"],
        "TEST": {**connections.settings["default"].get("TEST", {}), "MIRROR": "default"},
    }


@pytest.fixture
def replica(settings):
    settings.DASHBOARD_READ_REPLICA = True
    return connections[REPLICA]


@pytest.mark.django_db(transaction=True, databases=["default", REPLICA])
def test_dashboard_reads_go_to_the_replica_and_give_the_same_figures(client, victor, dataset, replica):
    fill.fill()  # the fill writes to the primary
    scope = selectors.scope_for(user=victor, path=None)
    period = selectors.Period("custom", FRIDAY, FRIDAY)
    primary = selectors.figures(scope, period, now=NOW)
    with CaptureQueriesContext(replica) as on_replica, replica_reads():
        mirrored = selectors.figures(scope, period, now=NOW)
    assert {k: f.value for k, f in mirrored.items()} == {k: f.value for k, f in primary.items()}
    assert len(on_replica.captured_queries) == 4  # cells, open by state, overdue, unresolved late
    client.force_login(victor)
    with CaptureQueriesContext(replica) as page_reads:
        assert client.get(reverse("dashboard:data") + "?" + FRIDAY_QS).json()["figures"][0]["value"] == 9
    assert page_reads.captured_queries  # the data endpoint read from the replica
    assert not any(
        "dashboard_fillslot" in q["sql"] and "UPDATE" in q["sql"] for q in page_reads.captured_queries
    )
