from django.db import migrations


def seed(apps, schema_editor):
    from projects.reference import COMMUNITY_CLASSES, DEPARTMENTS, DUTIES, SCENES

    Scene = apps.get_model("projects", "Scene")
    CommunityClass = apps.get_model("projects", "CommunityClass")
    Department = apps.get_model("projects", "Department")
    DepartmentDuty = apps.get_model("projects", "DepartmentDuty")
    for order, (code, name) in enumerate(SCENES):
        Scene.objects.get_or_create(code=code, defaults={"name": name, "order": order})
    for order, (code, name, parent_code) in enumerate(COMMUNITY_CLASSES):
        parent = CommunityClass.objects.get(code=parent_code) if parent_code else None
        CommunityClass.objects.get_or_create(code=code, defaults={"name": name, "parent": parent, "order": order})
    for code, name in DEPARTMENTS:
        Department.objects.get_or_create(code=code, defaults={"name": name})
    for dept_code, matter, basis in DUTIES:
        DepartmentDuty.objects.get_or_create(
            department=Department.objects.get(code=dept_code), matter=matter, defaults={"legal_basis": basis}
        )


class Migration(migrations.Migration):
    dependencies = [("projects", "0002_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
