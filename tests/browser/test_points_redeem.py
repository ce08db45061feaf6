"""A resident orders an offer on a phone and shows the code; the merchant's counter verifies
it; both screens show the new balances."""

import pytest

from points import services
from points.models import HolderClass, Merchant, MerchantKind, Offer, TxKind
from points.services import Leg

from .conftest import login, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def shop(rita, mike, community_a):
    from django.db import transaction

    merchant = Merchant.objects.create(
        code="m1",
        name="洪川便民超市",
        kind=MerchantKind.SIGNED,
        path=community_a.path,
        address="洪川社区文昌路 8 号",
    )
    offer = Offer.objects.create(
        merchant=merchant, title="洗衣液一瓶", price=30, stock=20, path=community_a.path
    )
    Offer.objects.create(
        merchant=merchant, title="理发一次", price=50, stock=5, per_person_limit=1, path=community_a.path
    )
    account = services.account_open(user=rita, holder_class=HolderClass.RESIDENT, path=community_a.path)
    with transaction.atomic():
        services.post(
            kind=TxKind.EARN,
            key="browser-seed",
            legs=[Leg(services.issuance_for(community_a.path), -100), Leg(account, 100, 100)],
            path=community_a.path,
            memo="参加志愿服务：清理河道垃圾",
        )
    return offer


def test_a_resident_orders_shows_the_code_and_the_counter_verifies_it(new_page, shop, rita, mike):
    resident = new_page(phone=True)
    login(resident, "rita")
    resident.goto("/points/")
    assert resident.get_by_test_id("balance").inner_text() == "100"
    shot(resident, "points-resident-wallet-phone")
    resident.goto("/points/offers/")
    shot(resident, "points-offers-phone")
    resident.click("text=洗衣液一瓶")
    resident.get_by_test_id("order").click()
    code = resident.get_by_test_id("code").inner_text().strip()
    assert len(code) == 6 and code.isdigit()
    assert resident.get_by_test_id("balance").inner_text() == "70"
    shot(resident, "points-order-code-phone")

    counter = new_page(phone=True)
    login(counter, "mike")
    counter.goto("/points/counter/")
    shot(counter, "points-counter-empty-phone")
    counter.fill("input[name=code]", code)
    counter.get_by_test_id("lookup").click()
    assert "洗衣液一瓶 × 1" in counter.get_by_test_id("handover").inner_text()
    shot(counter, "points-counter-handover-phone")
    counter.get_by_test_id("confirm").click()
    assert "核销成功" in counter.locator(".messages").inner_text()
    assert counter.get_by_test_id("settled").inner_text() == "30"
    shot(counter, "points-counter-done-phone")

    # the resident's order page polls and turns to 已核销 by itself
    resident.get_by_test_id("order-status").filter(has_text="已核销").wait_for()
    assert resident.get_by_test_id("balance").inner_text() == "70"
    shot(resident, "points-order-settled-phone")
    resident.goto("/points/")
    assert "兑换" in resident.get_by_test_id("history").inner_text()
    assert resident.get_by_test_id("score").inner_text() == "100"  # spending never lowers the score
