from django.conf import settings
from django.db import migrations


def seed(apps, schema_editor):
    from consultation.reference import DEFAULT_FAMILY, DEFAULT_NAME, DEFAULT_NOTE, DEFAULT_STEPS

    ProcedureTemplate = apps.get_model("consultation", "ProcedureTemplate")
    TemplateStep = apps.get_model("consultation", "TemplateStep")
    template, created = ProcedureTemplate.objects.get_or_create(
        family=DEFAULT_FAMILY,
        version=1,
        defaults={
            "name": DEFAULT_NAME,
            "note": DEFAULT_NOTE,
            "path": settings.CITY_PATH,
            "is_default": True,
            "is_current": True,
        },
    )
    if not created:
        return
    for order, code, kind, name, role, label, records, days, description in DEFAULT_STEPS:
        TemplateStep.objects.create(
            template=template,
            order=order,
            code=code,
            kind=kind,
            name=name,
            actor_role=role,
            actor_label=label,
            required_records=records,
            min_days=days,
            description=description,
        )


class Migration(migrations.Migration):
    dependencies = [("consultation", "0001_topics_meetings_votes_outcomes")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
