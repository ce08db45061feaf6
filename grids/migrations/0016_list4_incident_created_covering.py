"""The list's (created_at, id) index carries path and category_id: a page read ids first
walks it index-only.

A town's `category=02` page walked incident_created_id and read every row it passed from
the heap to check the town's path and the category: ~3,700 rows for 21 (3.9 ms of a page at
1,000,000 incidents, 2.1–3.3 ms in quieter minutes). With path and category_id in the index
the page's ids come from the index alone (selectors.ids_first), then its 21 rows by primary
key: 0.9–1.3 ms.

It replaces incident_created_id (same keys, so every plan that walked that one can walk this
one): an insert still writes one index for the order, a wider one (38 → 64 MB at 1,000,000).
path and category_id are set at report time; a change of category (re-sorting at
acceptance) already writes a new index entry through incident_category_created_id.

On PostgreSQL the new index is built CONCURRENTLY before the old one is dropped CONCURRENTLY
(the list never lacks its order), like 0014 and 0015; the state operations keep the model's
declaration and `makemigrations --check` in step. Other databases (the embedded SQLite
default) run the ordinary operations.
"""

from django.db import migrations, models

TABLE = "grids_incident"
OLD = models.Index(fields=["created_at", "id"], name="incident_created_id")
NEW = models.Index(fields=["created_at", "id"], include=["path", "category"], name="incident_created_covering")
CREATE_NEW = (
    f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {NEW.name} ON {TABLE} (created_at, id) INCLUDE (path, category_id)"
)
CREATE_OLD = f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {OLD.name} ON {TABLE} (created_at, id)"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE_NEW)
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {OLD.name}")
        return
    incident = apps.get_model("grids", "Incident")
    schema_editor.add_index(incident, NEW)
    schema_editor.remove_index(incident, OLD)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE_OLD)
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {NEW.name}")
        return
    incident = apps.get_model("grids", "Incident")
    schema_editor.add_index(incident, OLD)
    schema_editor.remove_index(incident, NEW)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("grids", "0015_list3_incident_category_and_urgent_path")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(model_name="incident", name=OLD.name),
                migrations.AddIndex(model_name="incident", index=NEW),
            ],
            database_operations=[migrations.RunPython(forwards, backwards)],
        )
    ]
