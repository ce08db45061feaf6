import json
from xml.etree import ElementTree

import pytest

from grids import services
from grids.models import Open311Client, Tier
from tests.factories import GrantFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.grids.open311_test_urls")]
BASE = "/open311/v2"


@pytest.fixture
def api_key(community_a):
    user = UserFactory(username="open311-app", real_name="随手拍应用")
    GrantFactory(user=user, role="resident", path=community_a.path)
    Open311Client.objects.create(name="随手拍", api_key="k-123", user=user)
    return "k-123"


def xml(response):
    assert response["Content-Type"].startswith("text/xml")
    return ElementTree.fromstring(response.content)  # noqa: S314 - our own response


def test_services_list_in_json_and_xml(client, micro_a1):
    services_json = client.get(f"{BASE}/services.json").json()
    codes = {s["service_code"] for s in services_json}
    assert "0401" in codes and "0101" not in codes  # disputes are about people: not published
    row = next(s for s in services_json if s["service_code"] == "0401")
    assert row == {
        "service_code": "0401",
        "service_name": "垃圾乱堆乱放",
        "description": "环境卫生 / 垃圾乱堆乱放",
        "metadata": False,
        "type": "realtime",
        "keywords": "环境卫生",
        "group": "环境卫生",
    }
    root = xml(client.get(f"{BASE}/services.xml"))
    assert root.tag == "services"
    assert "0401" in [s.findtext("service_code") for s in root.findall("service")]
    assert client.get(f"{BASE}/services/0401.json").json() == {"service_code": "0401", "attributes": []}
    assert client.get(f"{BASE}/services/9999.json").status_code == 404


def test_post_a_request_then_follow_it_until_closed_json(client, api_key, micro_a1, carol, alice):
    response = client.post(
        f"{BASE}/requests.json",
        {
            "api_key": api_key,
            "service_code": "0401",
            "lat": "30.4111",
            "long": "103.4611",
            "description": "河边垃圾成堆",
            "email": "x@example.com",
        },
    )
    assert response.status_code == 201, response.content
    (created,) = response.json()
    pk = int(created["service_request_id"])
    # not published before staff review it (design §12)
    assert client.get(f"{BASE}/requests/{pk}.json").status_code == 404

    from grids.models import Incident

    inc = Incident.objects.get(pk=pk)
    assert inc.micro_grid == micro_a1
    inc = services.incident_accept(actor=alice, incident=inc, tier=Tier.GRID)
    (row,) = client.get(f"{BASE}/requests/{pk}.json").json()
    assert row["status"] == "open" and row["status_notes"] == "处置中" and row["service_code"] == "0401"
    assert "reporter" not in json.dumps(row) and "x@example.com" not in json.dumps(row)
    (tok,) = client.get(f"{BASE}/tokens/{created['token']}.json").json()
    assert tok["service_request_id"] == str(pk)
    inc = services.incident_resolve(actor=alice, incident=inc, result="已清运")
    inc = services.incident_verify(actor=carol, incident=inc)
    services.incident_auto_close(incident_id=pk, now=inc.evaluate_due)
    (row,) = client.get(f"{BASE}/requests/{pk}.json").json()
    assert row["status"] == "closed" and row["status_notes"] == "已归档"
    listed = client.get(f"{BASE}/requests.json?status=closed&service_code=0401").json()
    assert [r["service_request_id"] for r in listed] == [str(pk)]


def test_post_and_read_back_in_xml(client, api_key, micro_a1, alice):
    response = client.post(
        f"{BASE}/requests.xml",
        {
            "api_key": api_key,
            "service_code": "0502",
            "lat": "30.4111",
            "long": "103.4611",
            "description": "路灯不亮",
        },
    )
    assert response.status_code == 201
    root = xml(response)
    pk = root.find("request").findtext("service_request_id")
    from grids.models import Incident

    services.incident_accept(actor=alice, incident=Incident.objects.get(pk=pk), tier=Tier.GRID)
    root = xml(client.get(f"{BASE}/requests/{pk}.xml"))
    assert root.tag == "service_requests"
    req = root.find("request")
    assert req.findtext("status") == "open" and req.findtext("service_name") == "路灯损坏"
    assert req.findtext("lat") == "30.411"  # rounded for an anonymous reader


def test_post_needs_a_valid_key_and_a_place(client, api_key, micro_a1):
    bad = client.post(
        f"{BASE}/requests.json", {"api_key": "nope", "service_code": "0401", "lat": "30.41", "long": "103.46"}
    )
    assert bad.status_code == 403 and bad.json()[0]["description"] == "invalid api_key"
    outside = client.post(
        f"{BASE}/requests.xml", {"api_key": api_key, "service_code": "0401", "lat": "31", "long": "104"}
    )
    assert outside.status_code == 400
    assert "不在任何微网格内" in xml(outside).find("error").findtext("description")
    assert (
        client.get(f"{BASE}/discovery.json").json()["endpoints"][0]["specification"]
        == "http://wiki.open311.org/GeoReport_v2"
    )
    assert xml(client.get(f"{BASE}/discovery.xml")).tag == "discovery"
