import pytest
from django.urls import reverse

from grids import services
from grids.models import Tier

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("who", "name", "status"),
    [
        ("alice", "grids:home", 200),
        ("alice", "grids:report", 200),
        ("alice", "grids:tasks", 200),
        ("alice", "grids:incident-list", 200),
        ("carol", "grids:extensions", 200),
        ("alice", "grids:extensions", 403),
        ("rita", "grids:report", 200),
        ("rita", "grids:mine", 200),
        ("rita", "grids:incident-list", 403),
        ("rita", "grids:home", 302),
        ("hank", "grids:incident-list", 200),
        ("hank", "grids:report", 403),
        ("victor", "grids:grid-list", 200),
    ],
)
def test_pages_answer_by_role(client, request, who, name, status, micro_a1):
    client.force_login(request.getfixturevalue(who))
    assert client.get(reverse(name)).status_code == status


def test_an_incident_page_is_404_outside_the_scope(client, report, bob, alice):
    inc = report()
    client.force_login(bob)
    assert client.get(reverse("grids:incident-detail", args=[inc.pk])).status_code == 404
    client.force_login(alice)
    page = client.get(reverse("grids:incident-detail", args=[inc.pk]))
    assert page.status_code == 200 and "受理" in page.content.decode()


def test_the_report_page_files_an_incident(client, rita, micro_a1):
    client.force_login(rita)
    response = client.post(
        reverse("grids:report"),
        {
            "category": "0401",
            "urgency": "blue",
            "description": "楼下垃圾桶满溢",
            "micro_grid": micro_a1.pk,
            "channel": "online",
        },
    )
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert "楼下垃圾桶满溢" in page.content.decode()


def test_the_report_page_shows_service_errors_on_the_form(client, rita, micro_a1):
    client.force_login(rita)
    response = client.post(
        reverse("grids:report"),
        {
            "category": "0401",
            "urgency": "blue",
            "description": "x",
            "channel": "online",
            "lat": "31",
            "lng": "104",
        },
    )
    assert response.status_code == 200
    assert "该位置不在任何微网格内" in response.content.decode()


def test_actions_on_the_detail_page(client, report, carol, alice):
    inc = report()
    client.force_login(carol)
    url = reverse("grids:incident-detail", args=[inc.pk])
    assert (
        client.post(
            url, {"action": "accept", "tier": "community", "urgency": "yellow", "category": "0401"}
        ).status_code
        == 302
    )
    assert client.post(url, {"action": "dispatch", "tier": "grid"}).status_code == 302
    client.force_login(alice)
    assert client.post(url, {"action": "resolve", "result": "已清运"}).status_code == 302
    inc.refresh_from_db()
    assert inc.status == "resolved"
    # an illegal move shows the service's message instead of failing
    client.force_login(carol)
    response = client.post(url, {"action": "dispatch", "tier": "grid"})
    assert response.status_code == 200 and "不能执行「派单」" in response.content.decode()


def test_the_incident_page_costs_the_same_queries_for_one_event_and_for_many(
    client, report, carol, alice, django_assert_num_queries
):
    inc = report()
    client.force_login(carol)
    url = reverse("grids:incident-detail", args=[inc.pk])
    client.get(url)  # warm the session
    # session, user, the session's second-factor device (django-otp), grants, the incident with
    # its joins, departments (dispatch form), categories (accept form), photos, the nav's unread
    # count, events with their actors, extensions (staff get no me-too button: no follow check)
    with django_assert_num_queries(11):
        assert client.get(url).status_code == 200
    inc = services.incident_accept(actor=carol, incident=inc, tier=Tier.COMMUNITY)
    inc = services.incident_dispatch(actor=carol, incident=inc, tier=Tier.COMMUNITY)
    services.incident_return(actor=carol, incident=inc, reason="不归社区")
    with django_assert_num_queries(11):
        assert client.get(url).status_code == 200


def test_mode_switch_and_roster_from_the_grid_page(client, carol, general_a, rita, alice):
    client.force_login(carol)
    url = reverse("grids:grid-detail", args=[general_a.pk])
    assert client.post(url, {"mode": "war", "reason": "暴雨预警"}).status_code == 302
    general_a.refresh_from_db()
    assert general_a.mode == "war"
    assert (
        client.post(
            url, {"roster": "1", "username": "rita", "post": "reserve", "reserve_kind": "volunteer"}
        ).status_code
        == 302
    )
    assert general_a.roster.filter(user=rita).exists()
    client.force_login(alice)
    response = client.post(url, {"mode": "peace", "reason": "解除"})
    assert response.status_code == 403 and "您没有权限" in response.content.decode()


def test_extension_approval_page(client, report, alice, carol):
    inc = services.incident_accept(actor=alice, incident=report(), tier=Tier.GRID)
    services.incident_request_extension(actor=alice, incident=inc, hours=8, reason="等配件")
    client.force_login(carol)
    assert "等配件" in client.get(reverse("grids:extensions")).content.decode()
    ext = inc.extensions.get()
    assert (
        client.post(reverse("grids:extensions"), {"extension": ext.pk, "decision": "approve"}).status_code
        == 302
    )
    ext.refresh_from_db()
    assert ext.status == "approved"


def test_a_junk_extension_id_is_a_404_not_a_500(client, carol):
    client.force_login(carol)
    for junk in ("abc", "1; DROP TABLE", "99999999999999999999", ""):
        response = client.post(reverse("grids:extensions"), {"extension": junk, "decision": "approve"})
        assert response.status_code == 404, junk
