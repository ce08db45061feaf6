"""Write actions of the registry API, role by role: allowed, 403 (may read, may not act) or
404 (outside the caller's scope, so the record's existence is not revealed)."""

import pytest

from projects import services
from projects.models import SharedSupermarket

from ..conftest import api_as

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(carol, community_a):
    return services.renewal_create(actor=carol, community=community_a, name="口袋公园", kind="micro_renewal")


@pytest.fixture
def problem(rita, compound_a):
    return services.problem_raise(actor=rita, compound=compound_a, title="楼道灯坏了")


@pytest.fixture
def market(community_a):
    return SharedSupermarket.objects.create(community=community_a, name="洪川共享超市", path=community_a.path)


@pytest.mark.parametrize(
    ("who", "status"),
    [("carol", 200), ("tina", 200), ("alice", 403), ("victor", 403), ("dave", 404), ("rita", 403)],
)
def test_advancing_a_renewal_project(request, project, who, status):
    response = api_as(request.getfixturevalue(who)).post(
        f"/api/v1/renewal-projects/{project.pk}/advance/", {"note": "批复"}
    )
    assert response.status_code == status, response.json()
    project.refresh_from_db()
    assert project.status == ("approved" if status == 200 else "planned")


@pytest.mark.parametrize(
    ("who", "status"),
    [("carol", 201), ("tina", 403), ("victor", 403), ("dave", 404), ("alice", 403)],
)
def test_recording_a_fund_inflow(request, community_a, who, status):
    body = {"kind": "donation", "amount": "100.00", "idempotency_key": f"k-{who}"}
    response = api_as(request.getfixturevalue(who)).post(
        f"/api/v1/funds/{community_a.fund.pk}/inflow/", body, format="json"
    )
    assert response.status_code == status, response.json()
    community_a.fund.refresh_from_db()
    assert str(community_a.fund.balance) == ("100.00" if status == 201 else "0.00")


@pytest.mark.parametrize(("who", "status"), [("carol", 201), ("tina", 403), ("dave", 404), ("alice", 403)])
def test_recording_a_supermarket_month(request, market, who, status):
    body = {"month": "2026-06-01", "revenue": "10000", "net_profit": "1200"}
    response = api_as(request.getfixturevalue(who)).post(
        f"/api/v1/supermarkets/{market.pk}/months/", body, format="json"
    )
    assert response.status_code == status, response.json()
    assert market.months.count() == (1 if status == 201 else 0)


def test_recording_the_same_supermarket_month_twice_is_a_400_not_a_second_posting(carol, market):
    body = {"month": "2026-06-01", "revenue": "10000", "net_profit": "1200"}
    assert (
        api_as(carol).post(f"/api/v1/supermarkets/{market.pk}/months/", body, format="json").status_code
        == 201
    )
    again = api_as(carol).post(f"/api/v1/supermarkets/{market.pk}/months/", body, format="json")
    assert again.status_code == 400
    assert again.json()["message"] == "2026年06月 的经营数据已登记，不能重复登记"
    assert market.community.fund.entries.count() == 1


@pytest.mark.parametrize(
    ("who", "status"), [("carol", 200), ("tina", 200), ("rita", 403), ("alice", 403), ("dave", 404)]
)
def test_changing_a_problems_status(request, problem, who, status):
    response = api_as(request.getfixturevalue(who)).post(
        f"/api/v1/problems/{problem.pk}/status/", {"status": "in_progress"}, format="json"
    )
    assert response.status_code == status, response.json()
    problem.refresh_from_db()
    assert problem.status == ("in_progress" if status == 200 else "open")


def test_a_bad_status_is_a_400_with_the_field_named(carol, problem):
    response = api_as(carol).post(
        f"/api/v1/problems/{problem.pk}/status/", {"status": "vanished"}, format="json"
    )
    assert response.status_code == 400
    assert "status" in response.json()["fields"]
