from django.db import migrations


def seed(apps, schema_editor):
    from projects.reference import ensure_reference_data

    ensure_reference_data(
        scene_model=apps.get_model("projects", "Scene"),
        class_model=apps.get_model("projects", "CommunityClass"),
        department_model=apps.get_model("projects", "Department"),
        duty_model=apps.get_model("projects", "DepartmentDuty"),
    )


class Migration(migrations.Migration):
    dependencies = [("projects", "0002_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
