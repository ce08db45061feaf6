"""An escalation carries its incident's path, and a (path, at) index serves a place's escalations.

The dashboard counts a place's escalations (升级督办数 by level, on the day they happened): it
joined grids_escalation to grids_incident and filtered the incident's path — for a general
grid an index-only scan of its ~2,900 incidents and ~2,900 index probes into grids_escalation
to find the 111 escalations of a screen's 13 months (its 30 days, 环比 and 同比). An incident's
path is set when it is reported and never changes, so the escalation can carry it; with
(path text_pattern_ops, at) INCLUDE (level) the same count is one range of this index, index-
only. EXPLAIN (ANALYZE, BUFFERS) of counted.totals_statement for a general grid at 1,000,000
incidents and 66,562 escalations (a copy of the dashboard benchmark's database, warm): the
`esc` part 5,978 buffer hits and 5.7–7.4 ms → 5 buffers and 0.06–0.08 ms.

Steps (not atomic: the index is built CONCURRENTLY on PostgreSQL, so a live city's scans are
not held while it builds):
1. the column, added with '' for the rows already there; no default is kept, so an insert that
   does not name the path fails rather than writing '' (during a deploy the old code's scan
   batch rolls back and the next tick, on the new code, escalates the same rows);
2. the backfill, one UPDATE — 66,000 rows at the benchmark's 1,000,000 incidents, a second or
   so; no batches needed at that size (the notice sweep's stamp may wait for it, no more);
3. the index, CONCURRENTLY on PostgreSQL, then VACUUM ANALYZE: the backfill rewrote every row,
   and the count is index-only only on pages the visibility map marks all-visible.
The state operation keeps the model's declaration and `makemigrations --check` in step. Other
databases (the embedded SQLite default) run the ordinary operations.
"""

from django.db import migrations, models

TABLE = "grids_escalation"
INDEX = models.Index(
    fields=["path", "at"],
    opclasses=["text_pattern_ops", "timestamptz_ops"],
    include=["level"],
    name="escalation_path_at",
)
CREATE = f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX.name} ON {TABLE} (path text_pattern_ops, at) INCLUDE (level)"
BACKFILL_PG = f"UPDATE {TABLE} e SET path = i.path FROM grids_incident i WHERE i.id = e.incident_id"
BACKFILL = f"UPDATE {TABLE} SET path = (SELECT i.path FROM grids_incident i WHERE i.id = {TABLE}.incident_id)"


def backfill(apps, schema_editor):
    postgresql = schema_editor.connection.vendor == "postgresql"
    schema_editor.execute(BACKFILL_PG if postgresql else BACKFILL)


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)
        schema_editor.execute(f"VACUUM (ANALYZE) {TABLE}")
        return
    schema_editor.add_index(apps.get_model("grids", "Escalation"), INDEX)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX.name}")
        return
    schema_editor.remove_index(apps.get_model("grids", "Escalation"), INDEX)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("grids", "0018_incident_path_dashboard_by_created")]

    operations = [
        migrations.AddField(
            model_name="escalation",
            name="path",
            field=models.CharField(default="", editable=False, max_length=120, verbose_name="路径"),
            preserve_default=False,
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=False),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="escalation", index=INDEX)],
            database_operations=[migrations.RunPython(create_index, drop_index, elidable=False)],
        ),
    ]
