"""A reporter's phone and exact position: for the incident's handlers and the community staff,
and every read is logged (design §3, issue #12 §4)."""

import pytest

from grids import services
from grids.models import Tier
from qionglai.core.models import AuditEvent
from qionglai.users.models import User
from tests.conftest import api_as

pytestmark = pytest.mark.django_db
URL = "/api/v1/incidents/"


@pytest.fixture
def reported(report, rita):
    User.objects.filter(pk=rita.pk).update(phone="13955556666")
    return report(
        actor=rita, address="洪川小区3栋2单元501室", lat="30.411123", lng="103.461789", micro_grid=None
    )


def test_community_staff_read_the_contact_and_the_read_is_logged(reported, carol, rita):
    answer = api_as(carol).get(f"{URL}{reported.pk}/reporter-contact/")
    assert answer.status_code == 200
    assert answer.json()["phone"] == "13955556666" and answer.json()["address"] == "洪川小区3栋2单元501室"
    event = AuditEvent.objects.get(action="personal_data.read")
    assert event.actor == carol and event.target_type == "users.user" and event.target_id == str(rita.pk)
    assert event.data["incident"] == reported.pk


def test_a_grid_worker_reads_it_only_once_handling_the_incident(reported, alice):
    assert api_as(alice).get(f"{URL}{reported.pk}/reporter-contact/").status_code == 403
    services.incident_accept(actor=alice, incident=reported, tier=Tier.GRID)
    assert api_as(alice).get(f"{URL}{reported.pk}/reporter-contact/").status_code == 200
    assert AuditEvent.objects.filter(action="personal_data.read", actor=alice).count() == 1


def test_others_never_read_it_and_the_incident_itself_carries_no_phone(reported, tina, dave, rita, carol):
    assert (
        api_as(tina).get(f"{URL}{reported.pk}/reporter-contact/").status_code == 403
    )  # town staff: not needed
    assert (
        api_as(dave).get(f"{URL}{reported.pk}/reporter-contact/").status_code == 404
    )  # cannot see it at all
    assert api_as(rita).get(f"{URL}{reported.pk}/reporter-contact/").status_code == 403
    assert "13955556666" not in api_as(carol).get(f"{URL}{reported.pk}/").content.decode()
    assert not AuditEvent.objects.filter(action="personal_data.read").exists()
