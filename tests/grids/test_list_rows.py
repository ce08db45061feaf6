"""The API list's rows are built without a serializer per row (grids/serializers.py
incident_list_rows, names from selectors.list_names): they must stay exactly what
IncidentSerializer gives, field for field, and follow renames."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.utils import timezone, translation
from rest_framework.renderers import JSONRenderer

from grids import selectors, services
from grids.models import Incident, Tier
from grids.serializers import LIST_COLUMNS, IncidentSerializer, incident_list_rows
from tests.conftest import api_as

pytestmark = pytest.mark.django_db
URL = "/api/v1/incidents/"


def _varied(report, carol, micro_a2, zjj_category):
    """Rows covering every kind of value a list row holds: no micro-grid, a department, an
    empty tier, a position, on-time flags, deadlines, a level above 0."""
    plain = report(lat=Decimal("30.410123"), lng=Decimal("103.460001"))
    elsewhere = report(micro_grid=micro_a2, urgency="red")
    dept = services.incident_accept(actor=carol, incident=report(category=zjj_category), tier=Tier.DEPARTMENT)
    dept = services.incident_dispatch(actor=carol, incident=dept)
    Incident.objects.filter(pk=elsewhere.pk).update(level=2, supervised=True)
    Incident.objects.filter(pk=plain.pk).update(micro_grid=None)
    return [plain.pk, elsewhere.pk, dept.pk]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_lean_rows_are_exactly_what_the_serializer_gives(report, carol, micro_a2, zjj_category, language):
    ids = _varied(report, carol, micro_a2, zjj_category)
    rows = list(Incident.objects.filter(pk__in=ids).order_by("-created_at", "-id").values(*LIST_COLUMNS))
    instances = list(
        Incident.objects.filter(pk__in=ids)
        .select_related(*selectors.LIST_JOINS)
        .order_by("-created_at", "-id")
    )
    with translation.override(language), timezone.override("Asia/Shanghai"):
        lean = incident_list_rows(rows, selectors.list_names(rows))
        full = IncidentSerializer(instances, many=True).data
    assert [list(r) for r in lean] == [list(r) for r in full]  # same fields, same order
    assert lean == [dict(r) for r in full]
    assert any(r["micro_grid"] is None for r in lean) and any(r["department"] for r in lean)


def test_the_api_rows_are_the_serializers(report, carol, micro_a2, zjj_category):
    ids = _varied(report, carol, micro_a2, zjj_category)
    body = api_as(carol).get(URL).json()
    instances = Incident.objects.select_related(*selectors.LIST_JOINS).order_by("-created_at", "-id")
    expected = json.loads(JSONRenderer().render(IncidentSerializer(instances, many=True).data))
    assert [r["id"] for r in body["results"]] == sorted(ids, reverse=True)
    assert body["results"] == expected


def test_a_renamed_grid_shows_its_new_name_on_the_next_page(report, carol, micro_a1):
    report()
    client = api_as(carol)
    assert client.get(URL).json()["results"][0]["micro_grid_name"] == micro_a1.name
    micro_a1.name = "新名字"
    micro_a1.save()
    assert client.get(URL).json()["results"][0]["micro_grid_name"] == "新名字"


def test_a_grid_the_names_have_not_seen_is_looked_up_at_once(report, carol, micro_a1, community_a):
    from grids.models import Grid, GridKind

    report()
    client = api_as(carol)
    client.get(URL)  # names loaded
    # made behind the signals' back (another process, a bulk insert): not yet in the maps
    [late] = Grid.objects.bulk_create(
        [
            Grid(
                community=community_a,
                parent=micro_a1.parent,
                kind=GridKind.MICRO,
                code="m09",
                name="后来的网格",
                path=f"{micro_a1.parent.path}.m09",
            )
        ]
    )
    Incident.objects.update(micro_grid=late)
    assert client.get(URL).json()["results"][0]["micro_grid_name"] == "后来的网格"
