"""The list's staff scope is written as one index range per grant (filters.UnderPath) instead
of access.scope_q's `path = p OR path LIKE 'p.%'`: both must select the same rows."""

from __future__ import annotations

import uuid

import pytest
from django.db.models import Q

from grids import selectors
from grids.filters import UnderPath
from grids.models import Incident
from qionglai.users import access

pytestmark = pytest.mark.django_db

# neighbours that share a prefix without being below: 510183.00 is not above 510183.001
PATHS = [
    "510183",
    "510183.00",
    "510183.001",
    "510183.0010",
    "510183.001.c01",
    "510183.001.c01.g1.m01",
    "510183.001.c010",
    "510183.002",
    "510183.01",
    "510184.001",
]


def test_under_path_is_the_path_or_below_it_and_nothing_else(report):
    template = report()
    rows = []
    for path in PATHS:
        copy = Incident.objects.get(pk=template.pk)
        copy.pk, copy.token, copy.client_key, copy.path = None, uuid.uuid4(), None, path
        rows.append(copy)
    Incident.objects.bulk_create(rows)
    for p in PATHS:
        ranged = set(Incident.objects.filter(UnderPath(p)).values_list("path", flat=True))
        spelled = set(
            Incident.objects.filter(Q(path=p) | Q(path__startswith=p + ".")).values_list("path", flat=True)
        )
        assert ranged == spelled, p
        assert p in ranged


def test_the_lists_scope_selects_what_the_access_module_allows(report, micro_a2, alice, carol, tina, victor):
    report()
    report(micro_grid=micro_a2)
    for user in (alice, carol, tina, victor):
        user = type(user).objects.get(pk=user.pk)
        expected = access.scope(Incident.objects.all(), user, "grids.incident_view")
        q = selectors.visible_q(user)
        assert q is not None
        assert set(Incident.objects.filter(q).values_list("pk", flat=True)) == set(
            expected.values_list("pk", flat=True)
        ), user.username
