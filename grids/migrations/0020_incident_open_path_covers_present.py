"""The open rows' path index carries what the dashboard's present of a place reads.

A community's or grid's present (open incidents by state, overdue now, the late ones, the 红灯
and oldest lists: qionglai/dashboard/present.py) found its open incidents in
incident_path_dashboard, whose entries for the place the screen's grouped count had just read.
Since 0018 that count reads only its period's entries, so the present walked every entry the
place ever had on its own — a community's ~5,500, ~100 index pages, for its ~500 open rows; for
a place no one had asked for, pages PostgreSQL fetched from the operating system. The partial
index on the open rows (incident_open_path) held their path, state and deadline but not their
urgency, category, resolve deadline, resolve time or extensions, and taking it meant a heap
page per open row. With those five included the present is an index-only range of the open
rows alone (the index grows from ~10 to ~15 MB at 1,000,000 incidents, 9 % of them open; its
keys, and so every plan of the incident list that walks it, are unchanged).

Built under a new name CONCURRENTLY, the old one dropped CONCURRENTLY, the new one renamed, as
0018 does; the state operations keep the model's declaration and `makemigrations --check` in
step. Other databases (the embedded SQLite default) run the ordinary operations.
"""

from django.db import migrations, models
from django.db.models import Q

OPEN = ["reported", "accepted", "in_progress", "resolved", "verified"]
NAME = "incident_open_path"
BUILDING = "incident_open_path_new"
FIELDS = ["path", "status", "due_at", "supervised"]
OPCLASSES = ["text_pattern_ops", "text_ops", "timestamptz_ops", "bool_ops"]
OLD_INCLUDE = ["created_at", "id"]
NEW_INCLUDE = [*OLD_INCLUDE, "urgency", "category", "resolve_due", "resolved_at", "extension_count"]


def _index(include):
    return models.Index(
        fields=FIELDS, opclasses=OPCLASSES, include=include, condition=Q(status__in=OPEN), name=NAME
    )


def _sql(include) -> str:
    columns = ", ".join("category_id" if c == "category" else c for c in include)
    statuses = ", ".join(f"'{s}'" for s in OPEN)
    return (
        f"CREATE INDEX CONCURRENTLY {BUILDING} ON grids_incident "
        "(path text_pattern_ops, status, due_at, supervised) "
        f"INCLUDE ({columns}) WHERE status IN ({statuses})"
    )


def _replace(apps, schema_editor, old, new):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {BUILDING}")  # a build cut short
        schema_editor.execute(_sql(new))
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {NAME}")
        schema_editor.execute(f"ALTER INDEX {BUILDING} RENAME TO {NAME}")
        return
    incident = apps.get_model("grids", "Incident")
    schema_editor.remove_index(incident, _index(old))
    schema_editor.add_index(incident, _index(new))


def forwards(apps, schema_editor):
    _replace(apps, schema_editor, OLD_INCLUDE, NEW_INCLUDE)


def backwards(apps, schema_editor):
    _replace(apps, schema_editor, NEW_INCLUDE, OLD_INCLUDE)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("grids", "0019_escalation_path")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(model_name="incident", name=NAME),
                migrations.AddIndex(model_name="incident", index=_index(NEW_INCLUDE)),
            ],
            database_operations=[migrations.RunPython(forwards, backwards)],
        )
    ]
