"""A rebuild leaves the community × day and town × day × category rows in the order of their
keys (fill.cluster_by_place): a place's days together, not one heap page each."""

from __future__ import annotations

import pytest
from django.db import connection

from qionglai.dashboard import fill
from qionglai.dashboard.models import CommunityDay

pytestmark = pytest.mark.django_db


@pytest.mark.skipif(connection.vendor != "postgresql", reason="CLUSTER is PostgreSQL's")
def test_a_rebuild_lays_the_rollups_out_by_place_and_still_checks_clean(dataset):
    fill.fill()
    fill.rebuild()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indisclustered"
        )
        clustered = {name for (name,) in cursor.fetchall()}
        assert {"community_day_unique", "town_day_category_unique"} <= clustered
        # the heap's order is the key's: reading by ctid gives the rows sorted by (community, day)
        table = CommunityDay._meta.db_table
        cursor.execute(f"SELECT community_id, day FROM {table} ORDER BY ctid")  # noqa: S608 - our table
        rows = cursor.fetchall()
    assert rows == sorted(rows) and len(rows) > 1
    assert fill.check() == []
