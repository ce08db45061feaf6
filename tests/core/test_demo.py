"""The demo command is deterministic and idempotent: a second run changes no count."""

import io

import pytest
from django.apps import apps
from django.core.management import call_command

from projects.models import Community, Compound, CompoundKind, MicroFund, RenewalKind, RenewalProject, Town


def counts() -> dict[str, int]:
    return {
        m._meta.label: m.objects.count()
        for m in apps.get_models()
        if m._meta.app_label not in {"sessions", "axes"}
    }


# Not a transactional test: pytest-django runs these before any transactional test, whose
# flush would remove the reference data (categories, rules, templates) the data migrations seed.
@pytest.mark.django_db
def test_it_builds_the_qionglai_demo_and_a_second_run_changes_nothing():
    call_command("build_demo", "--no-progress", stdout=io.StringIO())
    first = counts()
    assert Town.objects.count() == 14
    assert Community.objects.count() == 189
    assert set(Community.objects.values_list("community_class__parent__parent__code", flat=True)) | set(
        Community.objects.values_list("community_class__parent__code", flat=True)
    ) >= {"urban", "rural", "industrial"}
    assert Compound.objects.filter(kind=CompoundKind.RURAL_SETTLEMENT).count() == 241
    assert Compound.objects.filter(kind=CompoundKind.OLD_COURTYARD, renovated=True).count() == 24
    smart = Compound.objects.filter(is_smart=True)
    assert smart.count() == 12
    assert len({c.path.split(".")[1] for c in smart}) == 6
    assert RenewalProject.objects.filter(kind=RenewalKind.COMMERCIAL_SCENE).count() == 6
    hongchuan = MicroFund.objects.get(community__name="洪川社区")
    assert hongchuan.entries.filter(kind="supermarket").count() == 12
    assert hongchuan.balance == sum(e.amount for e in hongchuan.entries.all())

    call_command("build_demo", "--no-progress", stdout=io.StringIO())
    assert counts() == first
