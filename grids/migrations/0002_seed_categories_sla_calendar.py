from decimal import Decimal

from django.db import migrations


def seed(apps, schema_editor):
    from grids.reference import CATEGORIES, SLA_DEFAULTS, calendar_days

    Category = apps.get_model("grids", "Category")
    Department = apps.get_model("projects", "Department")
    SlaPolicy = apps.get_model("grids", "SlaPolicy")
    CalendarDay = apps.get_model("grids", "CalendarDay")
    departments = {d.code: d for d in Department.objects.all()}
    for i, (code, name, dept, children) in enumerate(CATEGORIES):
        parent, _ = Category.objects.get_or_create(
            code=code, defaults={"name": name, "department": departments.get(dept), "order": i}
        )
        for j, (sub_code, sub_name, sub_dept) in enumerate(children):
            Category.objects.get_or_create(
                code=sub_code,
                defaults={
                    "name": sub_name,
                    "parent": parent,
                    "department": departments.get(sub_dept or dept),
                    "order": j,
                },
            )
    for urgency, mode, accept, resolve, verify, evaluation, max_ext in SLA_DEFAULTS:
        SlaPolicy.objects.get_or_create(
            category=None,
            urgency=urgency,
            mode=mode,
            defaults={
                "accept_amount": Decimal(accept[0]),
                "accept_unit": accept[1],
                "resolve_amount": Decimal(resolve[0]),
                "resolve_unit": resolve[1],
                "verify_amount": Decimal(verify[0]),
                "verify_unit": verify[1],
                "evaluation_amount": Decimal(evaluation[0]),
                "evaluation_unit": evaluation[1],
                "max_extensions": max_ext,
            },
        )
    for day, kind, name in calendar_days():
        CalendarDay.objects.get_or_create(date=day, defaults={"kind": kind, "name": name})


class Migration(migrations.Migration):
    dependencies = [
        ("grids", "0001_grid_tree_incidents_sla"),
        ("projects", "0003_seed_reference_data"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
