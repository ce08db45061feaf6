"""An index for the dashboard's community and grid reads (design §8: "straight from indexes").

A grid's or a community's figures are aggregates over its incidents of a period
(qionglai/dashboard/counted.py, selectors.FINE_COUNTS): the path range of
`incident_path_covering` finds them, but that index carries only the list's filter columns, so
every row was a heap fetch — a general grid's ~2,900 incidents lie on ~2,800 heap pages, a
community's ~5,500 on as many. This one carries every column those aggregates, open/overdue now
and the late incidents read, so they are index-only scans. A separate index rather than a wider
`incident_path_covering`: the incident list's bounded counts keep reading the narrow one.

Not declared on the model (grids' models belong to the grids app; this index is the
dashboard's), so the migration state does not carry it: raw SQL, built CONCURRENTLY so a live
city's reports are not held while it builds.
"""

from django.db import migrations

INDEX = "incident_path_dashboard"
CREATE = f"""
CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON grids_incident (path text_pattern_ops) INCLUDE (
    created_at, category_id, status, urgency, tier, channel, accepted_at, accepted_on_time,
    dispatched_at, resolved_at, resolved_on_time, verified_at, satisfaction, reopen_count,
    extension_count, self_evaluated, due_at, resolve_due, id
)
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":  # the embedded SQLite default has no use for it
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("grids", "0011_incident_path_index_includes_id")]

    operations = [migrations.RunPython(create, drop)]
