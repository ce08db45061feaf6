"""＋1 我也遇到了 is a neighbour's voice: residents and party members may second an open
incident; staff and the 网格长, who handle incidents, are neither offered the button nor
allowed through the service (one rule, grids.me_too, read by both)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from grids import services
from qionglai.users.models import GridPost, Role

from ..factories import GrantFactory, UserFactory

pytestmark = pytest.mark.django_db

BUTTON = "我也遇到了"


def _page(user, incident) -> str:
    client = Client()
    client.force_login(user)
    return client.get(f"/grids/incidents/{incident.pk}/").content.decode()


def test_a_resident_may_second_an_open_incident(report, rita, carol):
    # residents second through the report form's duplicate hints (me_too_of), the same service
    inc = report(actor=carol)
    assert services.incident_me_too(actor=rita, incident=inc).me_too_count == 1


def test_staff_and_the_grid_lead_are_not_offered_me_too_and_the_service_refuses(
    report, rita, carol, community_a
):
    lead = UserFactory(username="lead")
    GrantFactory(user=lead, role=Role.GRID_WORKER, path=community_a.path, post=GridPost.LEAD)
    inc = report(actor=rita)
    for user in (carol, lead):
        assert BUTTON not in _page(user, inc), user.username
        with pytest.raises(PermissionDenied):
            services.incident_me_too(actor=user, incident=inc)
