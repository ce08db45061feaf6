"""A community's incidents in the list's order: (community_id, created_at, id).

A community staff member's list was the community's path range of incident_path_covering: ~5,300
entries read (ids first) and a top-21 sort, 1.9 ms of PostgreSQL a page at 1,000,000 incidents.
The grant is now written as `community_id = …` (selectors._staff_q, the same rows: an
incident's path is its micro-grid's or its community's, both under the community's path), which
this index answers in order and stops after 21 entries; the bounded count reads 1,001 of them.

It replaces the foreign key's own single-column index (the same leading column serves the
PROTECT check and every `community_id =` lookup), so an insert still writes one index for it.
On PostgreSQL both are built and dropped CONCURRENTLY (a live city's reports are not held while
the index builds); the state operations keep the model's declaration and `makemigrations
--check` in step. Other databases (the embedded SQLite default) run the ordinary operations.
"""

import copy

from django.db import migrations, models

TABLE = "grids_incident"
INDEX = models.Index(fields=["community", "created_at", "id"], name="incident_community_created")
CREATE = f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX.name} ON {TABLE} (community_id, created_at, id)"


def _fk_index(schema_editor) -> str:
    # the name Django gave the foreign key's index when it created the column
    return schema_editor._create_index_name(TABLE, ["community_id"])


def _fields(apps):
    incident = apps.get_model("grids", "Incident")
    indexed = incident._meta.get_field("community")
    plain = copy.copy(indexed)  # a copy keeps the resolved target model; clone() would not
    plain.db_index = False
    return incident, indexed, plain


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {_fk_index(schema_editor)}")
        return
    incident, indexed, plain = _fields(apps)
    # SQLite rebuilds the table for the field, from the model without the new index: field first
    schema_editor.alter_field(incident, indexed, plain)
    schema_editor.add_index(incident, INDEX)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        name = _fk_index(schema_editor)
        schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {TABLE} (community_id)")
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX.name}")
        return
    incident, indexed, plain = _fields(apps)
    schema_editor.remove_index(incident, INDEX)
    schema_editor.alter_field(incident, plain, indexed)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("grids", "0013_list_indexes_cover_overdue_and_supervised_pages")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="incident",
                    name="community",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=models.deletion.PROTECT,
                        related_name="incidents",
                        to="projects.community",
                        verbose_name="社区",
                    ),
                ),
                migrations.AddIndex(model_name="incident", index=INDEX),
            ],
            database_operations=[migrations.RunPython(forwards, backwards)],
        )
    ]
