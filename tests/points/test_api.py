import pytest
from rest_framework.test import APIClient

from points import services
from points.models import Offer, Rule

from ..conftest import api_as
from ..factories import GrantFactory, UserFactory
from .conftest import credit

pytestmark = pytest.mark.django_db

API = "/api/v1/points"


def test_a_resident_sees_only_their_own_accounts(rita_account, community_a):
    other = UserFactory(username="olga")
    GrantFactory(user=other, role="resident", path=community_a.path)
    other_account = services.account_open(user=other, holder_class="resident", path=community_a.path)
    client = api_as(rita_account.user)
    ids = [a["id"] for a in client.get(f"{API}/accounts/").json()["results"]]
    assert ids == [rita_account.pk]
    assert client.get(f"{API}/accounts/{other_account.pk}/").status_code == 404
    assert client.get(f"{API}/accounts/{other_account.pk}/entries/").status_code == 404


def test_community_staff_see_the_accounts_of_their_community_only(carol, dave, rita_account):
    assert rita_account.pk in [a["id"] for a in api_as(carol).get(f"{API}/accounts/").json()["results"]]
    assert rita_account.pk not in [a["id"] for a in api_as(dave).get(f"{API}/accounts/").json()["results"]]


def _fresh(user):
    """A client for a freshly loaded user: nothing cached from earlier requests."""
    return api_as(type(user).objects.get(pk=user.pk))


def test_account_list_shows_balance_and_score_with_a_pinned_query_count(
    rita_account, community_a, django_assert_num_queries
):
    credit(rita_account, 12)
    # grants (access scope) + count + page + scores: entries + scores: sanctions
    client = _fresh(rita_account.user)
    with django_assert_num_queries(5):
        body = client.get(f"{API}/accounts/").json()
    assert body["results"][0]["balance"] == 12 and body["results"][0]["score"] == 12
    for cls in ("party_member", "worker"):
        credit(services.account_open(user=rita_account.user, holder_class=cls, path=community_a.path), 5)
    client = _fresh(rita_account.user)
    with django_assert_num_queries(5):  # the same five for three accounts: no query per account
        assert len(client.get(f"{API}/accounts/").json()["results"]) == 3


def test_offer_list_costs_the_same_for_1_and_20_offers(
    rita_account, merchant_m1, offer, django_assert_num_queries
):
    # the holder's community (to sort near offers first) + count + page with merchants joined
    client = _fresh(rita_account.user)
    with django_assert_num_queries(3):
        client.get(f"{API}/offers/")
    Offer.objects.bulk_create(
        Offer(merchant=merchant_m1, title=f"商品{i}", price=5 + i, stock=3, path=merchant_m1.path)
        for i in range(19)
    )
    client = _fresh(rita_account.user)
    with django_assert_num_queries(3):
        assert client.get(f"{API}/offers/").json()["count"] == 20


def test_ordering_through_the_api_is_idempotent_by_header(rita_account, offer):
    credit(rita_account, 100)
    client = api_as(rita_account.user)
    first = client.post(
        f"{API}/offers/{offer.pk}/order/", {"quantity": 1}, format="json", HTTP_IDEMPOTENCY_KEY="abc"
    )
    second = client.post(
        f"{API}/offers/{offer.pk}/order/", {"quantity": 1}, format="json", HTTP_IDEMPOTENCY_KEY="abc"
    )
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"] and len(first.json()["code"]) == 6
    assert client.get(f"{API}/accounts/{rita_account.pk}/").json()["balance"] == 70


def test_bad_input_and_refusals_are_400_with_message_and_fields(rita_account, offer):
    credit(rita_account, 10)
    client = api_as(rita_account.user)
    bad = client.post(f"{API}/offers/{offer.pk}/order/", {"quantity": 0}, format="json")
    assert bad.status_code == 400 and "quantity" in bad.json()["fields"] and bad.json()["message"]
    poor = client.post(f"{API}/offers/{offer.pk}/order/", {"quantity": 1}, format="json")
    assert poor.status_code == 400 and poor.json()["message"].startswith("积分余额不足")
    odd = client.post(f"{API}/counter/verify/", {"code": "12"}, format="json")
    assert odd.status_code == 403


def test_the_counter_verifies_only_its_own_orders(rita_account, offer, mike, community_b, merchant_m2):
    credit(rita_account, 100)
    code = api_as(rita_account.user).post(f"{API}/offers/{offer.pk}/order/", {}, format="json").json()["code"]
    nina = UserFactory(username="nina")
    GrantFactory(user=nina, role="merchant", path=community_b.path, unit="m2")
    assert api_as(nina).post(f"{API}/counter/lookup/", {"code": code}, format="json").status_code == 400
    assert (
        api_as(rita_account.user).post(f"{API}/counter/verify/", {"code": code}, format="json").status_code
        == 403
    )
    looked = api_as(mike).post(f"{API}/counter/lookup/", {"code": code}, format="json")
    assert (
        looked.status_code == 200
        and looked.json()["offer_title"] == offer.title
        and "code" not in looked.json()
    )
    assert (
        api_as(mike).post(f"{API}/counter/verify/", {"code": code}, format="json").json()["status"]
        == "settled"
    )
    listed = api_as(mike).get(f"{API}/redemptions/?as=merchant").json()["results"]
    assert [r["status"] for r in listed] == ["settled"] and "code" not in listed[0]
    assert api_as(nina).get(f"{API}/redemptions/?as=merchant").json()["count"] == 0
    assert api_as(rita_account.user).get(f"{API}/redemptions/?as=merchant").status_code == 403


def test_donating_to_the_community_pool(rita_account, community_a):
    credit(rita_account, 30)
    response = api_as(rita_account.user).post(
        f"{API}/donations/",
        {"from_account": rita_account.pk, "to_pool": community_a.path, "amount": 10, "idempotency_key": "d1"},
        format="json",
    )
    assert response.status_code == 201 and response.json()["balance"] == 20
    both = api_as(rita_account.user).post(
        f"{API}/donations/",
        {"from_account": rita_account.pk, "amount": 1, "idempotency_key": "d2"},
        format="json",
    )
    assert both.status_code == 400 and "to_phone" in both.json()["fields"]


def test_claims_flow_through_the_api_with_scope(rita_account, carol, dave):
    rule = Rule.objects.get(code="P11")
    created = api_as(rita_account.user).post(
        f"{API}/claims/", {"account": rita_account.pk, "rule": rule.pk, "note": "调解邻里纠纷"}, format="json"
    )
    assert created.status_code == 201
    pk = created.json()["id"]
    assert (
        api_as(dave).post(f"{API}/claims/{pk}/review/", {"approve": True}, format="json").status_code == 404
    )
    reviewed = api_as(carol).post(f"{API}/claims/{pk}/review/", {"approve": True}, format="json")
    assert reviewed.json()["status"] == "publicity"
    assert api_as(dave).get(f"{API}/claims/").json()["count"] == 0


@pytest.mark.parametrize(
    ("who", "method", "url", "expected"),
    [
        ("anon", "get", "/accounts/", 403),
        ("anon", "get", "/offers/", 403),
        ("rita", "get", "/accounts/", 200),
        ("rita", "get", "/offers/", 200),
        ("rita", "get", "/rules/", 200),
        ("rita", "get", "/claims/", 200),
        ("rita", "get", "/redemptions/", 200),
        ("rita", "get", "/ranking/", 403),
        ("rita", "post", "/counter/lookup/", 403),
        ("mike", "get", "/ranking/", 403),
        ("mike", "post", "/counter/lookup/", 400),
        ("mike", "get", "/redemptions/?as=merchant", 200),
        ("carol", "get", "/ranking/", 200),
        ("carol", "post", "/counter/lookup/", 403),
        ("victor", "get", "/ranking/", 200),
        ("alice", "get", "/ranking/", 403),
    ],
)
def test_role_by_endpoint(who, method, url, expected, request, rita, mike, carol, victor, alice, merchant_m1):
    client = APIClient() if who == "anon" else api_as(request.getfixturevalue(who))
    response = getattr(client, method)(
        f"{API}{url}", {"code": "000000"} if method == "post" else None, format="json"
    )
    assert response.status_code == expected, response.content


def test_the_ranking_excludes_sanctioned_holders_and_says_why(carol, rita_account, community_a):
    credit(rita_account, 80)
    services.sanction_apply(
        actor=carol, account=rita_account, rule=Rule.objects.get(code="X01"), reason="刑事处罚"
    )
    body = api_as(carol).get(f"{API}/ranking/?holder_class=resident&path={community_a.path}").json()
    assert body["results"] == [] and "违法犯罪" in body["excluded"][0]["reason"]


def test_a_counter_operator_lists_adds_and_restocks_only_its_own_offers(
    mike, merchant_m1, merchant_m2, offer, rita
):
    other = Offer.objects.create(
        merchant=merchant_m2, title="他店商品", price=5, stock=1, path=merchant_m2.path
    )
    client = api_as(mike)
    listed = client.get(f"{API}/merchant-offers/").json()["results"]
    assert [o["id"] for o in listed] == [offer.pk]
    created = client.post(
        f"{API}/merchant-offers/",
        {"merchant": merchant_m1.pk, "title": "酱油一瓶", "price": 12, "stock": 40},
        format="json",
    )
    assert created.status_code == 201 and created.json()["stock"] == 40
    assert (
        client.post(
            f"{API}/merchant-offers/",
            {"merchant": merchant_m2.pk, "title": "x", "price": 1, "stock": 1},
            format="json",
        ).status_code
        == 403
    )
    assert (
        client.post(f"{API}/merchant-offers/{offer.pk}/restock/", {"change": -101}, format="json").status_code
        == 400
    )
    assert (
        client.post(f"{API}/merchant-offers/{offer.pk}/restock/", {"change": 5}, format="json").json()[
            "stock"
        ]
        == 105
    )
    assert (
        client.post(f"{API}/merchant-offers/{other.pk}/restock/", {"change": 5}, format="json").status_code
        == 404
    )
    assert api_as(rita).get(f"{API}/merchant-offers/").status_code == 403


def test_numbers_beyond_the_columns_are_a_400_not_a_500(mike, merchant_m1, offer):
    """Issue #12 §5: an integer past the 32-bit stock and price columns reached the database
    as a DataError (500). Serializers and the service bound them; the offer is unchanged."""
    from points.services import merchants

    client = api_as(mike)
    for body in (
        {"merchant": merchant_m1.pk, "title": "x", "price": 10**12, "stock": 1},
        {"merchant": merchant_m1.pk, "title": "x", "price": 1, "stock": 2**40},
        {"merchant": merchant_m1.pk, "title": "x", "price": 1, "stock": 1, "per_person_limit": 2**33},
    ):
        response = client.post(f"{API}/merchant-offers/", body, format="json")
        assert response.status_code == 400, body
        assert set(response.json()["fields"]) & {"price", "stock", "per_person_limit"}
    for change in (2**31, -(2**31), 10**12):
        response = client.post(
            f"{API}/merchant-offers/{offer.pk}/restock/", {"change": change}, format="json"
        )
        assert response.status_code == 400, change
    # within the field's range, but the sum would pass the ceiling: the service refuses it
    response = client.post(
        f"{API}/merchant-offers/{offer.pk}/restock/", {"change": merchants.MAX_STOCK}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["fields"]["change"] == [merchants.MSG_STOCK_TOO_BIG]
    offer.refresh_from_db()
    assert offer.stock == 100
    assert not Offer.objects.filter(title="x").exists()
