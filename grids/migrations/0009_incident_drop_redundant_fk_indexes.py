"""Drops the single-column indexes Django made for three of the incident's foreign keys: an
index that leads with the same column serves the same lookups (incident_category_created_id,
incident_dept_status, incident_reporter), and every index is written again on each non-HOT
update of an incident. Only the indexes go: Django's AlterField would also drop and re-add
(and re-validate over the whole table) the foreign-key constraints, which stay as they are."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("grids", "0008_incident_client_idempotency_key"),
        ("projects", "0004_renewal_photo_random_names"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    sql=f'DROP INDEX IF EXISTS "{name}"',
                    reverse_sql=f'CREATE INDEX IF NOT EXISTS "{name}" ON "grids_incident" ("{column}")',
                )
                for name, column in [
                    ("grids_incident_assigned_department_id_5732eaec", "assigned_department_id"),
                    ("grids_incident_category_id_3adeedb4", "category_id"),
                    ("grids_incident_reporter_id_80fbdd5a", "reporter_id"),
                ]
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="incident",
                    name="assigned_department",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="incidents",
                        to="projects.department",
                        verbose_name="承办部门",
                    ),
                ),
                migrations.AlterField(
                    model_name="incident",
                    name="category",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="incidents",
                        to="grids.category",
                        verbose_name="类别",
                    ),
                ),
                migrations.AlterField(
                    model_name="incident",
                    name="reporter",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="reported_incidents",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="上报人",
                    ),
                ),
            ],
        ),
    ]
