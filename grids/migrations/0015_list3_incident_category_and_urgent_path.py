"""A town's bounded counts of `category=` and `urgency=red|orange` pages, index-only.

The list's count (「1000+」) of a town's category= page read the town's range of
incident_path_covering and dropped ~8,700 entries to find 1,001 of the category; urgency=red
dropped ~18,600. With the filter column first and the path second, the same count is one
equality (or `= ANY` of a category and its children) and the town's range, stopping after
1,001 entries (1,000,000 incidents: 3.6 → 0.4 ms and 5.7 → 0.4 ms of count, docs/performance.md).

The urgency index is partial, red and orange only: yellow and blue (80 % of incidents) find
their 1,001 within a few thousand path entries anyway, so only the inserts that the index
serves pay for it. Both are small (B-tree deduplication: 16 MB and 1.7 MB at 1,000,000).

On PostgreSQL they are built CONCURRENTLY (a live city's reports are not held while they
build), like 0014; the state operations keep the model's declaration and `makemigrations
--check` in step. Other databases (the embedded SQLite default) run the ordinary operations.
"""

from django.db import migrations, models

TABLE = "grids_incident"
CATEGORY = models.Index(
    fields=["category", "path"], name="incident_category_path", opclasses=["int8_ops", "text_pattern_ops"]
)
URGENT = models.Index(
    condition=models.Q(urgency__in=["red", "orange"]),
    fields=["urgency", "path"],
    name="incident_urgent_path",
    opclasses=["text_ops", "text_pattern_ops"],
)
CREATE = (
    f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {CATEGORY.name} ON {TABLE} (category_id, path text_pattern_ops)",
    f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {URGENT.name} ON {TABLE} (urgency, path text_pattern_ops)"
    " WHERE urgency IN ('red', 'orange')",
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in CREATE:
            schema_editor.execute(sql)
        return
    incident = apps.get_model("grids", "Incident")
    for index in (CATEGORY, URGENT):
        schema_editor.add_index(incident, index)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for index in (URGENT, CATEGORY):
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {index.name}")
        return
    incident = apps.get_model("grids", "Incident")
    for index in (URGENT, CATEGORY):
        schema_editor.remove_index(incident, index)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("grids", "0014_list2_incident_community_created")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(model_name="incident", index=CATEGORY),
                migrations.AddIndex(model_name="incident", index=URGENT),
            ],
            database_operations=[migrations.RunPython(forwards, backwards)],
        )
    ]
