"""Open311 publishes only reviewed reports, with personal numbers masked and coordinates
rounded for anonymous readers (design §12, issue #12 §4)."""

import json

import pytest

from grids import services
from grids.models import Open311Client, Tier
from tests.factories import GrantFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.grids.open311_test_urls")]
BASE = "/open311/v2"
PLANTED = "楼下垃圾没人管，联系我13912345678，身份证51018319900101123X，住3栋2单元501室"


@pytest.fixture
def planted(report, alice):
    incident = report(
        description=PLANTED, address="洪川小区3栋2单元501室 13912345678", lat="30.411123", lng="103.461789"
    )
    return incident


def test_an_unreviewed_report_is_not_published(client, planted):
    assert client.get(f"{BASE}/requests/{planted.pk}.json").status_code == 404
    assert client.get(f"{BASE}/requests.json").json() == []


def test_a_rejected_report_is_not_published(client, planted, carol):
    services.incident_reject(actor=carol, incident=planted, reason="重复上报")
    assert client.get(f"{BASE}/requests/{planted.pk}.json").status_code == 404


def test_an_accepted_report_is_published_with_numbers_masked_and_coordinates_rounded(client, planted, alice):
    services.incident_accept(actor=alice, incident=planted, tier=Tier.GRID)
    (row,) = client.get(f"{BASE}/requests/{planted.pk}.json").json()
    text = json.dumps(row, ensure_ascii=False)
    for secret in ("13912345678", "51018319900101123X", "501室", "19900101"):
        assert secret not in text
    assert "139****5678" in row["description"]
    assert row["lat"] == "30.411" and row["long"] == "103.462"
    (listed,) = client.get(f"{BASE}/requests.json").json()
    assert "13912345678" not in json.dumps(listed, ensure_ascii=False)


def test_a_key_whose_user_may_view_the_place_sees_exact_coordinates(client, planted, alice, community_a):
    staff_app = UserFactory(username="dashboard-app")
    GrantFactory(user=staff_app, role="community_staff", path=community_a.path)
    Open311Client.objects.create(name="社区大屏", api_key="k-staff", user=staff_app)
    resident_app = UserFactory(username="resident-app")
    GrantFactory(user=resident_app, role="resident", path=community_a.path)
    Open311Client.objects.create(name="随手拍", api_key="k-resident", user=resident_app)
    services.incident_accept(actor=alice, incident=planted, tier=Tier.GRID)
    (exact,) = client.get(f"{BASE}/requests/{planted.pk}.json?api_key=k-staff").json()
    assert exact["lat"] == "30.411123"
    (rounded,) = client.get(f"{BASE}/requests/{planted.pk}.json?api_key=k-resident").json()
    assert rounded["lat"] == "30.411"
