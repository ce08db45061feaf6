"""The resident's history reads as sentences: what earned or spent the points said once, a
link to where it came from, the balance after each line; the claim form offers only the
rules for the classes the person holds."""

from __future__ import annotations

import re

import pytest

from points import services
from points.models import Claim, HolderClass
from qionglai.users.models import Role

from ..factories import GrantFactory
from .conftest import credit
from .test_pages import client_for

pytestmark = pytest.mark.django_db


def _history(client) -> str:
    text = client.get("/points/").content.decode()
    return text[text.index('data-testid="history"') :]


def test_a_system_award_names_its_rule_once_and_links_the_incident(rita, rita_account, community_a):
    services.award_event(
        source="incident_verified.reporter",
        user_id=rita.pk,
        community_path=community_a.path,
        event_key=f"incident:42:verified:reporter:{rita.pk}",
    )
    claim = Claim.objects.get(account=rita_account)
    history = _history(client_for(rita))
    assert history.count(claim.rule.name) == 1 and "系统记录" not in history
    assert 'href="/grids/incidents/42/"' in history


def test_an_order_reads_as_the_thing_bought_with_its_state_and_link_not_a_frozen_hold(
    rita_account, offer, mike
):
    credit(rita_account, 100)
    order = services.redemption_order(
        actor=rita_account.user, offer=offer, account=rita_account, idempotency_key="h1"
    )
    services.redemption_verify(actor=mike, code=order.code)
    history = _history(client_for(rita_account.user))
    assert "兑换冻结" not in history
    assert f"兑换：{offer.title} × 1（{offer.merchant.name}）" in history and "已核销" in history
    assert f'href="/points/orders/{order.pk}/"' in history
    # newest first: 100 - 30 after the order, 100 after the credit
    assert re.findall(r'data-testid="balance-after">余额 (\d+)<', history) == ["70", "100"]


def test_a_resident_never_sees_the_demo_marker(rita_account, rule):
    claim = services.claim_submit(
        actor=rita_account.user, account=rita_account, rule=rule, note="帮邻居搬家（示范数据）"
    )
    assert claim.note.endswith("（示范数据）")
    text = client_for(rita_account.user).get("/points/claims/").content.decode()
    assert "帮邻居搬家" in text and "示范数据" not in text


def test_a_resident_is_offered_no_party_only_rules(rita_account):
    text = client_for(rita_account.user).get("/points/claims/new/").content.decode()
    assert "邻里互助" in text
    assert "双报到" not in text and "主题党日" not in text


def test_a_party_member_is_offered_the_party_rules_too(rita, rita_account, community_a):
    GrantFactory(user=rita, role=Role.PARTY_MEMBER, path=community_a.path)
    services.account_open(user=rita, holder_class=HolderClass.PARTY_MEMBER, path=community_a.path)
    text = client_for(rita).get("/points/claims/new/").content.decode()
    assert "双报到" in text and "邻里互助" in text
    assert "主题党日" not in text  # a party organisation's rule, not a member's


def test_the_pool_is_named_after_its_community_not_its_path(carol, community_a):
    pool = services.pool_for(community_a.path)
    assert pool.name == f"{community_a.name}·积分捐赠池"
    text = client_for(carol).get("/points/staff/pool/").content.decode()
    assert f"{community_a.town.name} › {community_a.name} · 捐赠池余额" in text
    assert community_a.path not in text


def test_ordering_more_than_the_balance_covers_says_so_beside_the_quantity(rita_account, offer):
    credit(rita_account, 70)
    response = client_for(rita_account.user).post(
        f"/points/offers/{offer.pk}/", {"account": rita_account.pk, "quantity": 3, "idempotency_key": "q"}
    )
    form = response.context["form"]
    assert form.errors["quantity"] == ["可用积分 70 分，每份 30 分，最多可兑换 2 份"]
    assert not rita_account.redemptions.exists()


def test_donating_more_than_the_balance_says_so_beside_the_amount(rita_account):
    credit(rita_account, 5)
    response = client_for(rita_account.user).post(
        "/points/donate/",
        {"from_account": rita_account.pk, "target": "pool", "amount": 9, "idempotency_key": "d"},
    )
    assert response.context["form"].errors["amount"] == ["可用积分 5 分，捐赠不能超过余额"]


def test_an_empty_claim_is_refused_in_chinese_beside_each_field(rita_account):
    response = client_for(rita_account.user).post("/points/claims/new/", {"account": rita_account.pk})
    errors = response.context["form"].errors
    assert errors["note"] == ["请写明事由：做了什么、何时何地"]
    assert errors["rule"] == ["该字段是必填项。"]  # Django's own message, in zh-hans
    assert "novalidate" in response.content.decode()
