"""The dashboard's path index gets `created_at` as its second key: a place's incidents of a
period are an index range, not every incident the place ever had.

incident_path_dashboard (0012) was keyed on `path` alone, `created_at` among its included
columns, so a general grid's 30 days (with their 环比 and 同比) walked all of the grid's
~2,900 entries of two years, 68 index pages, to keep ~370; on a page PostgreSQL had to fetch
from the operating system that was ~20 ms of a 49 ms statement (docs/performance.md, dashboard
round 9). Keyed `(path text_pattern_ops, created_at)`, `path = ANY(the place's paths) AND
created_at >= lo AND created_at < hi` reads only the period's entries of each path
(qionglai/dashboard/counted.py). A prefix range on `path` alone — the open and late lists of
present.py, the incident list's scopes — still walks it as before: the same entries in the
same path order, each path's now by time.

Same columns, same size; built under a new name CONCURRENTLY, the old one dropped
CONCURRENTLY, the new one renamed (ALTER INDEX … RENAME takes a SHARE UPDATE EXCLUSIVE lock:
reports and transitions go on), so the dashboard never lacks it. Not declared on the model,
as 0012 (the index is the dashboard's). SQLite (the embedded default) has none of it.
"""

from django.db import migrations

INDEX = "incident_path_dashboard"
BUILDING = "incident_path_dashboard_new"
COLUMNS = """
    category_id, status, urgency, tier, channel, accepted_at, accepted_on_time,
    dispatched_at, resolved_at, resolved_on_time, verified_at, satisfaction, reopen_count,
    extension_count, self_evaluated, due_at, resolve_due, id
"""
BY_CREATED = f"(path text_pattern_ops, created_at) INCLUDE ({COLUMNS})"
BY_PATH = f"(path text_pattern_ops) INCLUDE (created_at, {COLUMNS})"  # 0012's


def _replace(schema_editor, keys: str) -> None:
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {BUILDING}")  # a build cut short
    schema_editor.execute(f"CREATE INDEX CONCURRENTLY {BUILDING} ON grids_incident {keys}")
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")
    schema_editor.execute(f"ALTER INDEX {BUILDING} RENAME TO {INDEX}")


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        _replace(schema_editor, BY_CREATED)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        _replace(schema_editor, BY_PATH)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("grids", "0017_incident_autovacuum")]

    operations = [migrations.RunPython(forwards, backwards)]
