from django.conf import settings
from django.db import migrations


def seed(apps, schema_editor):
    from consultation.reference import seed_default_template

    seed_default_template(
        apps.get_model("consultation", "ProcedureTemplate"),
        apps.get_model("consultation", "TemplateStep"),
        settings.CITY_PATH,
    )


class Migration(migrations.Migration):
    dependencies = [("consultation", "0001_topics_meetings_votes_outcomes")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
