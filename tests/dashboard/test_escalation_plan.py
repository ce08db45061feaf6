"""A grid's escalations (counted.py's `esc`) are one range of escalation_path_at, not a probe
into grids_escalation for each of the grid's incidents.

Seeds 30,000 incidents over 12 general grids and an escalation for a quarter of them (each
with its incident's path, as the scan writes it), VACUUM ANALYZEs, and EXPLAINs the statement
a grid's screen sends (its 30 days, 环比 and 同比)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from grids import sla
from grids.models import GridKind
from qionglai.dashboard import counted, selectors
from tests.factories import CommunityFactory
from tests.grids.conftest import ensure_reference_data, make_grid
from tests.grids.test_list_plans import seed

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans")

ROWS = 30_000
ESCALATIONS = """
INSERT INTO grids_escalation (incident_id, path, stage, level, due_at, at)
SELECT i.id, i.path, 'resolve', 1 + i.id % 3, i.created_at, i.created_at + interval '1 day'
FROM grids_incident i WHERE i.id % 4 = 0
"""


def nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


@pytest.mark.django_db(transaction=True)
def test_a_grids_escalations_are_a_range_of_their_path_index(community_a, rita):
    ensure_reference_data()
    for n in range(12):
        community = community_a if n == 0 else CommunityFactory(town=community_a.town, code=f"e{n:02d}")
        general = make_grid(community, kind=GridKind.GENERAL, code="g01")
        make_grid(community, kind=GridKind.MICRO, code="m01", parent=general)
    seed(rita, rows=ROWS, random_seed=0.23)
    with connection.cursor() as cursor:
        cursor.execute(ESCALATIONS)
        assert cursor.rowcount > ROWS // 5
        cursor.execute("VACUUM ANALYZE grids_incident")
        cursor.execute("VACUUM ANALYZE grids_escalation")

    grid = f"{community_a.path}.g01"
    today = timezone.localdate()
    screen = selectors.Period("custom", today - timedelta(days=29), today)
    bounds = [p.bounds() for p in (screen, screen.previous(), screen.year_ago())]  # as the screen asks
    sql, params = counted.totals_statement(grid, bounds, today, sla.all_exceptions(), counted.GROUPINGS)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        raw = cursor.fetchone()[0]
    plan = (raw if isinstance(raw, list) else json.loads(raw))[0]["Plan"]
    (esc,) = [n for n in nodes(plan) if n.get("Subplan Name") == "CTE esc"]
    scans = [(n["Node Type"], n.get("Index Name"), n.get("Relation Name")) for n in nodes(esc)]
    assert scans[0][0] in ("Index Only Scan", "Index Scan"), scans
    assert scans[0][1] == "escalation_path_at", scans
    assert len(scans) == 1, scans  # no join, no probe per incident: the index alone
