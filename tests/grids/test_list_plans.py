"""Every filter of the incident list is served by an index, for every kind of viewer.

Seeds 60,000 incidents over 20 communities in 4 towns (enough that a sequential scan is the
planner's honest choice wherever no index fits), VACUUM ANALYZEs, then runs each list request
in-process, EXPLAINs every statement it sent to grids_incident (the page, the bounded count,
the workbench and to-do counts) and fails on any Seq Scan of the incident table.
"""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from grids import selectors
from grids.filters import IncidentFilterSet
from grids.models import Grid, GridKind, Incident, IncidentFollower
from grids.pagination import encode, keyset_page
from qionglai.users.models import Role
from tests.factories import CommunityFactory, GrantFactory, TownFactory, UserFactory

from .conftest import ensure_reference_data, make_grid

ROWS = 60_000

SEED = """
WITH micro AS (
    SELECT (row_number() OVER (ORDER BY id)) - 1 AS n, id, community_id, path
    FROM grids_grid WHERE kind = 'micro'
), cat AS (
    SELECT (row_number() OVER (ORDER BY id)) - 1 AS n, id, department_id
    FROM grids_category WHERE parent_id IS NOT NULL
), draw AS (
    SELECT g, random() AS r1, random() AS r2, random() AS r3, random() AS r4
    FROM generate_series(1, %(rows)s) AS g
)
INSERT INTO grids_incident (
    token, reporter_id, channel, category_id, urgency, tier, status, description, address,
    community_id, micro_grid_id, path, mode, level, supervised, assigned_department_id,
    due_at, due_stage, result, satisfaction, evaluation_comment, reopen_count,
    extension_count, me_too_count, source_ref, created_at, updated_at
)
SELECT gen_random_uuid(),
    CASE WHEN d.g %% 500 = 0 THEN %(rita)s END,
    CASE WHEN r4 < 0.6 THEN 'online' WHEN r4 < 0.8 THEN 'offline' WHEN r4 < 0.95 THEN 'hotline'
         WHEN r4 < 0.98 THEN 'sensor' ELSE 'assigned' END,
    c.id,
    CASE WHEN r2 < 0.05 THEN 'red' WHEN r2 < 0.2 THEN 'orange' WHEN r2 < 0.5 THEN 'yellow'
         ELSE 'blue' END,
    CASE WHEN r1 < 0.01 THEN '' WHEN r3 < 0.5 THEN 'grid' WHEN r3 < 0.75 THEN 'community'
         WHEN r3 < 0.9 THEN 'town' ELSE 'department' END,
    CASE WHEN r1 < 0.01 THEN 'reported' WHEN r1 < 0.025 THEN 'accepted'
         WHEN r1 < 0.065 THEN 'in_progress' WHEN r1 < 0.08 THEN 'resolved'
         WHEN r1 < 0.09 THEN 'verified' WHEN r1 < 0.96 THEN 'closed' ELSE 'rejected' END,
    CASE WHEN d.g %% 97 = 0 THEN '楼道漏水 #' ELSE '计划测试事件 #' END || d.g, '',
    m.community_id, m.id, m.path, 'peace', 0, r1 < 0.09 AND r4 < 0.05,
    CASE WHEN r3 >= 0.9 AND r1 >= 0.01 THEN c.department_id END,
    CASE WHEN r1 < 0.09 THEN now() + (r4 - 0.25) * interval '4 days' END,
    CASE WHEN r1 < 0.09 THEN 'resolve' ELSE '' END, '', '', '', 0, 0, 0, '',
    now() - CASE WHEN r1 < 0.09 THEN r2 * interval '30 days' ELSE r2 * interval '700 days' END,
    now()
FROM draw d
JOIN micro m ON m.n = (d.g * 7919) %% %(micros)s
JOIN cat c ON c.n = ((d.g / 7) * 31 + d.g) %% %(cats)s
"""


def seq_scans(plan: dict) -> list[str]:
    found = []
    if plan.get("Node Type") == "Seq Scan" and plan.get("Relation Name") == "grids_incident":
        found.append(plan.get("Filter", "(no filter)"))
    for child in plan.get("Plans", []):
        found += seq_scans(child)
    return found


def cursor_plan(cursor) -> dict:
    raw = cursor.fetchone()[0]
    data = raw if isinstance(raw, list) else json.loads(raw)
    return data[0]["Plan"]


@pytest.fixture
def city(community_a, community_b, micro_a1, micro_b1):
    """4 towns × 5 communities, one general and one micro-grid each, with 60,000 incidents."""
    ensure_reference_data()
    towns = [community_a.town, community_b.town] + [TownFactory(code=f"{t:03d}") for t in (7, 8)]
    communities = [community_a, community_b]
    for t, town in enumerate(towns):
        for c in range(4 if t < 2 else 5):
            communities.append(CommunityFactory(town=town, code=f"x{t}{c}"))
    for community in communities[2:]:
        general = make_grid(community, kind=GridKind.GENERAL, code="g01")
        make_grid(community, kind=GridKind.MICRO, code="m01", parent=general)
    return communities


def seed(rita, *, rows: int = ROWS, random_seed: float = 0.17) -> None:
    """`rows` incidents over the micro-grids there are (SEED), the same ones for one seed."""
    ensure_reference_data()
    micros = Grid.objects.filter(kind=GridKind.MICRO).count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM grids_category WHERE parent_id IS NOT NULL")
        cats = cursor.fetchone()[0]
        cursor.execute("SELECT setseed(%s)", [random_seed])
        cursor.execute(SEED, {"rows": rows, "rita": rita.pk, "micros": micros, "cats": cats})


def index_scans(plan: dict) -> list[tuple[str, str]]:
    """(node type, index name) of every index scan in the plan, InitPlans included."""
    found = [(plan["Node Type"], plan["Index Name"])] if "Index Name" in plan else []
    for child in plan.get("Plans", []):
        found += index_scans(child)
    return found


@pytest.mark.django_db(transaction=True)
def test_no_filter_of_the_list_scans_the_incident_table(
    city, alice, carol, tina, victor, rita, hank, micro_a1, community_a, town_a
):
    seed(rita)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM grids_incident ORDER BY id LIMIT 40")
        followed = [row[0] for row in cursor.fetchall()]
    IncidentFollower.objects.bulk_create([IncidentFollower(incident_id=pk, user=rita) for pk in followed])
    # a grid worker of community A who lives (and reports) in community B: her own rows are the
    # reporter/follower branch beside her staff scope
    commuter = UserFactory(username="commuter")
    GrantFactory(user=commuter, role=Role.GRID_WORKER, path=micro_a1.path)
    GrantFactory(user=commuter, role=Role.RESIDENT, path=city[1].path)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE grids_incident")
        cursor.execute("VACUUM ANALYZE grids_incidentfollower")
        cursor.execute(
            "SELECT created_at, id FROM grids_incident ORDER BY created_at DESC, id DESC OFFSET 5000"
        )
        deep_at, deep_id = cursor.fetchone()

    class Row:
        created_at, pk = deep_at, deep_id

    deep = encode("o", Row)
    some = connection.cursor()
    some.execute("SELECT id FROM grids_incident WHERE status = 'in_progress' LIMIT 1")
    an_id = str(some.fetchone()[0])
    week_ago = (timezone.localdate() - timezone.timedelta(days=7)).isoformat()
    filters = [
        {},
        {"cursor": deep},
        {"place": community_a.path},
        {"place": town_a.path},
        {"place": micro_a1.path},
        {"status": ["reported"]},
        {"status": ["in_progress", "resolved"]},
        {"open": "1"},
        {"open": "1", "cursor": deep},
        {"category": "04"},
        {"category": "0401"},
        {"urgency": "red"},
        {"tier": "town"},
        {"department": "zjj"},
        {"channel": "sensor"},
        {"created_from": week_ago, "created_to": timezone.localdate().isoformat()},
        {"overdue": "1"},
        {"supervised": "1"},
        {"supervised": "1", "open": "1"},
        {"q": an_id},
        {"q": "楼道漏水"},
        {"mine": "1"},
    ]
    viewers = {"city": victor, "town": tina, "community": carol, "grid": alice, "resident": rita}
    viewers |= {"department": hank, "commuter": commuter}
    offenders, explained = [], 0
    now = timezone.now()
    for who, user in viewers.items():
        user = type(user).objects.get(pk=user.pk)
        with CaptureQueriesContext(connection) as ctx:
            selectors.workbench_counts(user=user, now=now)
            selectors.task_count_for(user=user)
        captured = [("workbench", q["sql"]) for q in ctx.captured_queries]
        for data in filters:
            data = dict(data)
            cursor = data.pop("cursor", None)
            params = _querydict(data)
            filterset = selectors.incident_filter(user=user, data=params)
            assert filterset.is_valid(), filterset.errors
            # the API reads some pages ids first (selectors.ids_first): explained as it sends them
            deferred = selectors.ids_first(user, params, filtered=IncidentFilterSet.applies_to(params))
            with CaptureQueriesContext(connection) as ctx:
                keyset_page(filterset.qs, cursor=cursor, size=20)  # the page's (ORM) statements
                # the API's: hand-built around the same WHERE (pagination.keyset_rows)
                selectors.incident_list_page(
                    queryset=filterset.qs, cursor=cursor, size=20, whole_table=False, deferred=deferred
                )
            captured += [(f"{data}{' deep' if cursor else ''}", q["sql"]) for q in ctx.captured_queries]
        # the API's unfiltered list, a community grant read by community_id (selectors._staff_q)
        for cursor in (None, deep):
            with CaptureQueriesContext(connection) as ctx:
                selectors.incident_list_page(
                    queryset=selectors.visible_for(user=user, by_community=True),
                    cursor=cursor,
                    size=20,
                    whole_table=selectors.sees_everything(user),
                    deferred=selectors.ids_first(user, _querydict({}), filtered=False),
                )
            captured += [(f"by community{' deep' if cursor else ''}", q["sql"]) for q in ctx.captured_queries]
        for label, sql in captured:
            if "grids_incident" not in sql:
                continue
            with connection.cursor() as c:
                c.execute("EXPLAIN (FORMAT JSON) " + sql)
                plan = cursor_plan(c)
            explained += 1
            for scan in seq_scans(plan):
                offenders.append(f"{who} {label}: Seq Scan on grids_incident, filter {scan}")
    # every viewer × filter gave its page and count statements (475 since the category
    # filter's API page and count are one statement, like the other filters')
    assert explained > 450
    assert offenders == [], "\n".join(offenders)


def _seeded_for(viewer, *, reporter):
    """The seeded, vacuumed and analysed table (the planner's choice meaningful, the visibility
    map set), and `viewer` read afresh (grants loaded as a request loads them)."""
    seed(reporter)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE grids_incident")
    return type(viewer).objects.get(pk=viewer.pk)


def _page_scans(user, params, *, deferred: bool = False) -> tuple[str, list[tuple[str, str]]]:
    """The API's page statement for `params` (page and bounded count, one statement) and the
    (node, index) pairs of its plan on the seeded, analysed table."""
    filterset = selectors.incident_filter(user=user, data=params)
    assert filterset.is_valid(), filterset.errors
    with CaptureQueriesContext(connection) as ctx:
        selectors.incident_list_page(
            queryset=filterset.qs, cursor=None, size=20, whole_table=False, deferred=deferred
        )
    (sql,) = [q["sql"] for q in ctx.captured_queries if "grids_incident" in q["sql"]]
    with connection.cursor() as c:
        c.execute("EXPLAIN (FORMAT JSON) " + sql)
        return sql, index_scans(cursor_plan(c))


@pytest.mark.django_db(transaction=True)
def test_a_towns_category_and_urgent_counts_read_only_their_own_entries(city, tina, rita):
    # the bounded count (「1000+」) of a town's category= and urgency=red|orange pages: an
    # equality and the town's path range of incident_category_path / incident_urgent_path,
    # index-only, instead of the town's whole range of incident_path_covering filtered
    user = _seeded_for(tina, reporter=rita)
    cases = {
        "urgency=red": ({"urgency": "red"}, "incident_urgent_path"),
        "urgency=orange": ({"urgency": "orange"}, "incident_urgent_path"),
        "category=04 (a parent: its children's ids)": ({"category": "04"}, "incident_category_path"),
        "category=0401": ({"category": "0401"}, "incident_category_path"),
    }
    missing = []
    for label, (data, index) in cases.items():
        sql, scans = _page_scans(user, _querydict(data))
        assert "COUNT(*)" in sql  # the page and its count are one statement
        if ("Index Only Scan", index) not in scans:
            missing.append(f"{label}: {scans}")
    assert missing == [], "\n".join(missing)


@pytest.mark.django_db(transaction=True)
def test_a_towns_category_page_reads_its_ids_from_the_covering_order_index(city, tina, rita):
    # ids first (selectors.ids_first): the walk in (created_at, id) order checks the town's
    # path and the category in incident_created_covering, index-only, instead of reading
    # every passed row from the heap (a town's category=02: ~3,700 rows for 21 at 1,000,000)
    user = _seeded_for(tina, reporter=rita)
    missing = []
    for data in ({"category": "04"}, {"category": "0401"}, {"category": "04", "place": town_path(user)}):
        params = _querydict(data)
        assert selectors.ids_first(user, params, filtered=IncidentFilterSet.applies_to(params)), data
        _sql, scans = _page_scans(user, params, deferred=True)
        if ("Index Only Scan", "incident_created_covering") not in scans:
            missing.append(f"{data}: {scans}")
    assert missing == [], "\n".join(missing)
    # a town's unfiltered list and filters with an index of their own keep the plain ordered scan
    assert not selectors.ids_first(user, _querydict({}), filtered=False)
    for data in ({"status": "reported"}, {"urgency": "red"}, {"category": "04", "status": "closed"}):
        assert not selectors.ids_first(user, _querydict(data), filtered=True), data


@pytest.mark.django_db(transaction=True)
def test_a_communitys_open_page_reads_its_ids_from_the_open_path_index_alone(city, carol, tina, rita):
    user = _seeded_for(carol, reporter=rita)
    params = _querydict({"open": "1"})
    assert selectors.ids_first(user, params, filtered=True)
    # a town walks its open rows in order (incident_open_created): plain
    assert not selectors.ids_first(type(tina).objects.get(pk=tina.pk), params, filtered=True)
    _sql, scans = _page_scans(user, params, deferred=True)
    # the page's ids and its count from the index alone, then 20 rows by primary key
    assert scans.count(("Index Only Scan", "incident_open_path")) == 2, scans
    assert ("Index Scan", "grids_incident_pkey") in scans, scans


def town_path(user) -> str:
    return user.grants.get().path


def _querydict(data: dict):
    from django.http import QueryDict

    q = QueryDict(mutable=True)
    for k, v in data.items():
        if isinstance(v, list):
            q.setlist(k, v)
        else:
            q[k] = v
    return q


@pytest.mark.django_db
def test_the_incident_table_is_vacuumed_after_one_percent_of_its_rows_change():
    # index-only scans (the bounded counts, the dashboard's community reads) stay index-only
    # only on all-visible pages: migration 0017 keeps the visibility map fresh on a big table
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'grids_incident'")
        (options,) = cursor.fetchone()
    assert sorted(options or []) == [
        "autovacuum_analyze_scale_factor=0.02",
        "autovacuum_vacuum_insert_scale_factor=0.01",
        "autovacuum_vacuum_scale_factor=0.01",
    ]


def _under(place: str):
    """The incidents under `place` (its own and its descendants', not a sibling's that only
    continues its path)."""
    return Incident.objects.filter(path__startswith=place + ".") | Incident.objects.filter(path=place)


def _index_nodes(plan: dict, index: str) -> list[dict]:
    found = [plan] if plan.get("Index Name") == index else []
    for child in plan.get("Plans", []):
        found += _index_nodes(child, index)
    return found


@pytest.mark.django_db(transaction=True)
def test_a_places_period_reads_only_its_own_entries_of_the_dashboard_index(city, tina, rita):
    # qionglai/dashboard/counted.py reads a grid's or a community's incidents of a period from
    # incident_path_dashboard, keyed (path, created_at) since migration 0018: each interval of
    # the periods is an index range of each of the place's paths, so the entries read are the
    # period's, not every entry the place ever had (the path range filtered on created_at)
    from datetime import timedelta

    from grids import sla
    from qionglai.dashboard import counted
    from qionglai.dashboard import selectors as dashboard

    _seeded_for(tina, reporter=rita)
    today = timezone.localdate()
    period = dashboard.Period("30d", today - timedelta(days=29), today)
    periods = [p.bounds() for p in (period, period.previous(), period.year_ago())]
    spans = counted.intervals(periods)
    assert len(spans) == 2  # the 30 days and their 环比 meet; the 同比 lies apart
    grid = Grid.objects.filter(kind=GridKind.GENERAL, community=city[2]).get()
    for place in (grid.path, city[2].path):
        sql, params = counted.totals_statement(place, periods, today, sla.all_exceptions(), counted.GROUPINGS)
        with connection.cursor() as c:
            c.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
            scans = _index_nodes(cursor_plan(c), "incident_path_dashboard")
        assert len(scans) == len(spans), place
        under = _under(place)
        in_spans = sum(under.filter(created_at__gte=lo, created_at__lt=hi).count() for lo, hi in spans)
        assert 0 < in_spans < under.count() / 4, place  # the seed spreads over two years
        for scan in scans:
            assert scan["Node Type"] == "Index Only Scan", place
            assert "created_at" in scan["Index Cond"], place
            assert scan.get("Rows Removed by Index Recheck", 0) == 0 and "Filter" not in scan, place
        # exactly the intervals' entries were read: none of the place's other periods
        assert sum(scan["Actual Rows"] for scan in scans) == in_spans, place


@pytest.mark.django_db(transaction=True)
def test_a_places_present_reads_only_its_open_rows(city, tina, rita):
    # qionglai/dashboard/present.py: a community's or grid's open incidents (by state, overdue,
    # late, the 红灯 and oldest lists) are an index-only range of the open rows' partial index,
    # which includes every column the present reads (migration 0020) — not a heap page per
    # open row, nor every entry the place ever had in incident_path_dashboard
    from qionglai.dashboard import present

    _seeded_for(tina, reporter=rita)
    grid = Grid.objects.filter(kind=GridKind.GENERAL, community=city[2]).get()
    for level, place in (("grid", grid.path), ("community", city[2].path)):
        sql, params = present.statement(level, place, timezone.now())
        with connection.cursor() as c:
            c.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
            plan = cursor_plan(c)
        (scan,) = _index_nodes(plan, "incident_open_path")
        assert scan["Node Type"] == "Index Only Scan" and scan["Heap Fetches"] == 0, place
        assert _index_nodes(plan, "incident_path_dashboard") == [], place
        under = _under(place)
        open_rows = under.filter(status__in=list(selectors.OPEN_STATES))
        assert scan["Actual Rows"] == open_rows.count() > 0, place
