"""Every registry endpoint × role: who may read, who may write, who gets 403 or 404."""

import pytest

from projects.models import Community, Compound, Town

from ..conftest import api_as

pytestmark = pytest.mark.django_db

LISTS = [
    "/api/v1/towns/",
    "/api/v1/communities/",
    "/api/v1/compounds/",
    "/api/v1/plans/",
    "/api/v1/problems/",
    "/api/v1/renewal-projects/",
]
FUND_LISTS = ["/api/v1/funds/", "/api/v1/supermarkets/"]


@pytest.fixture
def places(compound_a, compound_b):
    return compound_a, compound_b


@pytest.mark.parametrize("url", LISTS + FUND_LISTS)
def test_it_refuses_anonymous_callers(api, places, url):
    assert api.get(url).status_code in (401, 403)


@pytest.mark.parametrize("url", LISTS[:3] + LISTS[5:])
def test_it_refuses_residents_the_registry(rita, places, url):
    response = api_as(rita).get(url)
    assert response.status_code == 403
    assert response.json()["message"]


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("carol", {"洪川一号院"}),
        ("tina", {"洪川一号院"}),
        ("alice", {"洪川一号院"}),
        ("dave", {"南街一号院"}),
        ("victor", {"洪川一号院", "南街一号院"}),
    ],
)
def test_it_lists_only_the_compounds_in_the_callers_scope(request, places, who, expected):
    user = request.getfixturevalue(who)
    response = api_as(user).get("/api/v1/compounds/")
    assert response.status_code == 200
    assert {row["name"] for row in response.json()["results"]} == expected


def test_it_answers_404_for_a_record_outside_the_scope(dave, places):
    compound_a, _ = places
    assert api_as(dave).get(f"/api/v1/compounds/{compound_a.pk}/").status_code == 404
    assert api_as(dave).get(f"/api/v1/communities/{compound_a.community_id}/").status_code == 404


def test_it_lets_community_staff_edit_their_community_but_not_a_neighbours(carol, dave, places):
    compound_a, compound_b = places
    ok = api_as(carol).patch(
        f"/api/v1/communities/{compound_a.community_id}/", {"households": 1234}, format="json"
    )
    assert ok.status_code == 200, ok.json()
    assert Community.objects.get(pk=compound_a.community_id).households == 1234
    assert (
        api_as(carol)
        .patch(f"/api/v1/communities/{compound_b.community_id}/", {"households": 1}, format="json")
        .status_code
        == 404
    )


def test_it_refuses_a_grid_worker_who_may_read_but_not_edit(alice, places):
    compound_a, _ = places
    response = api_as(alice).patch(f"/api/v1/compounds/{compound_a.pk}/", {"households": 5}, format="json")
    assert response.status_code == 403
    assert Compound.objects.get(pk=compound_a.pk).households == 200


def test_it_lets_only_city_staff_create_a_town(victor, tina, places):
    assert (
        api_as(tina).post("/api/v1/towns/", {"code": "099", "name": "新镇"}, format="json").status_code == 403
    )
    response = api_as(victor).post(
        "/api/v1/towns/", {"code": "099", "name": "新镇", "kind": "town"}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert Town.objects.get(code="099").path == "510183.099"


def test_it_lets_town_staff_create_a_community_only_in_their_town(tina, town_a, town_b, places):
    ok = api_as(tina).post(
        "/api/v1/communities/", {"town": town_a.pk, "code": "n01", "name": "新建社区"}, format="json"
    )
    assert ok.status_code == 201, ok.json()
    assert ok.json()["path"] == f"{town_a.path}.n01"
    refused = api_as(tina).post(
        "/api/v1/communities/", {"town": town_b.pk, "code": "n02", "name": "越权社区"}, format="json"
    )
    assert refused.status_code == 403
    assert not Community.objects.filter(code="n02").exists()


def test_it_answers_bad_input_with_400_and_chinese_field_messages(carol, places):
    compound_a, _ = places
    response = api_as(carol).post(
        "/api/v1/compounds/",
        {"community": compound_a.community_id, "code": "坏 编码", "name": "x", "kind": "commercial"},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["fields"]["code"] == ["编码只能由小写字母和数字组成"]
    assert not Compound.objects.filter(name="x").exists()


def test_it_lets_a_resident_raise_a_problem_in_their_compound_only(rita, places):
    compound_a, compound_b = places
    ok = api_as(rita).post(
        "/api/v1/problems/", {"compound": compound_a.pk, "title": "楼道灯坏了"}, format="json"
    )
    assert ok.status_code == 201, ok.json()
    refused = api_as(rita).post(
        "/api/v1/problems/", {"compound": compound_b.pk, "title": "别人的小区"}, format="json"
    )
    assert refused.status_code == 403


def test_it_keeps_fund_ledgers_from_grid_workers_and_other_communities(alice, carol, dave, places):
    compound_a, _ = places
    assert api_as(alice).get("/api/v1/funds/").status_code == 403
    fund_id = compound_a.community.fund.pk
    assert api_as(carol).get(f"/api/v1/funds/{fund_id}/entries/").status_code == 200
    assert api_as(dave).get(f"/api/v1/funds/{fund_id}/entries/").status_code == 404


def test_it_lists_communities_with_a_fixed_number_of_queries(victor, town_a, django_assert_num_queries):
    from ..factories import CommunityFactory

    for i in range(15):
        CommunityFactory(town=town_a, code=f"q{i:02d}")
    client = api_as(victor)
    # session-less token/force auth: 1 grants, 1 count, 1 page (town and class joined)
    with django_assert_num_queries(3):
        response = client.get("/api/v1/communities/?page_size=50")
    assert response.json()["count"] == 15
