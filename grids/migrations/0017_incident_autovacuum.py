"""grids_incident vacuumed after 1 % of its rows change, not PostgreSQL's default 20 %.

The list's bounded counts and the dashboard's community and grid reads are index-only scans;
they stay index-only only on heap pages the visibility map marks all-visible, and every update
of an incident (each transition) clears its page's mark until a vacuum sets it again. With the
default scale factors a million-incident table waits for 200,000 changed rows between vacuums;
at the benchmark's hour, 4,887 of its 42,845 pages were not all-visible and a community's
index-only scan still fetched ~550 heap pages (docs/performance.md, dashboard round 8). Measured
at a million incidents with 1 row in 100 updated (a third of the pages not all-visible) against
the same table vacuumed, alternated: a never-asked community's year 42.5–45.8 → 30.4–35.3 ms,
its 30 days 33.9–69.0 → 25.8–27.9 ms, a grid's 30 days 42.1–42.9 → 35.4–39.6 ms. At 1 %
(10,000 rows at a million) autovacuum comes every few minutes under 100 transitions a second,
and each run has little to do. Inserts count too (autovacuum_vacuum_insert_scale_factor), so
new reports' pages are marked as well; statistics are refreshed at 2 %.

PostgreSQL only (storage parameters); the embedded SQLite default has nothing to set.
"""

from django.db import migrations

TABLE = "grids_incident"
SETTINGS = {
    "autovacuum_vacuum_scale_factor": "0.01",
    "autovacuum_vacuum_insert_scale_factor": "0.01",
    "autovacuum_analyze_scale_factor": "0.02",
}


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        pairs = ", ".join(f"{name} = {value}" for name, value in SETTINGS.items())
        schema_editor.execute(f"ALTER TABLE {TABLE} SET ({pairs})")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} RESET ({', '.join(SETTINGS)})")


class Migration(migrations.Migration):
    dependencies = [("grids", "0016_list4_incident_created_covering")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
