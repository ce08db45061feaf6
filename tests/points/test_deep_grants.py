"""A holder's grant may sit below the community that keeps their account: a party member is
granted on their micro-grid, a resident on their compound, while every holder account sits on
the community (account_open). They must still spend, donate and claim from their own account
(found while building the demo: party members were refused their own orders and claims)."""

import pytest
from django.core.exceptions import PermissionDenied

from points import services
from points.models import HolderClass, Rule, RuleList
from qionglai.users.models import Role

from ..factories import GrantFactory, UserFactory
from .conftest import credit


@pytest.fixture
def grid_path(community_a):
    return f"{community_a.path}.g01.m01"


@pytest.fixture
def member(grid_path):
    user = UserFactory(username="pm_deep", real_name="深网格党员")
    GrantFactory(user=user, role=Role.PARTY_MEMBER, path=grid_path)
    return user


@pytest.fixture
def member_account(member, grid_path, community_a):
    account = services.account_open(user=member, holder_class=HolderClass.PARTY_MEMBER, path=grid_path)
    assert account.path == community_a.path  # the account sits above the grant
    credit(account, 100)
    return account


def test_a_party_member_granted_on_a_micro_grid_orders_from_their_own_account(member, member_account, offer):
    redemption = services.redemption_order(
        actor=member, offer=offer, account=member_account, idempotency_key="deep-1"
    )
    member_account.refresh_from_db()
    assert member_account.balance == 100 - offer.price
    assert redemption.account_id == member_account.pk


def test_a_resident_granted_on_a_compound_donates_to_the_pool(compound_a, community_a):
    user = UserFactory(username="res_compound", real_name="院落居民")
    GrantFactory(user=user, role=Role.RESIDENT, path=compound_a.path)
    account = services.account_open(user=user, holder_class=HolderClass.RESIDENT, path=compound_a.path)
    credit(account, 50)
    pool = services.pool_for(community_a.path)
    services.donation_make(actor=user, from_account=account, to_account=pool, amount=20, idempotency_key="d1")
    account.refresh_from_db()
    assert account.balance == 30


def test_a_party_member_granted_on_a_micro_grid_claims_for_themself(member, member_account):
    rule = next(
        r
        for r in Rule.objects.filter(list_kind=RuleList.POSITIVE, active=True, evidence_required=False)
        if r.applies_to(HolderClass.PARTY_MEMBER)
    )
    claim = services.claim_submit(actor=member, account=member_account, rule=rule, note="参加志愿服务")
    assert claim.account_id == member_account.pk


def test_the_grant_below_still_does_not_reach_someone_elses_account(member, community_a, offer):
    other = UserFactory(username="someone", real_name="他人")
    GrantFactory(user=other, role=Role.PARTY_MEMBER, path=community_a.path)
    theirs = services.account_open(user=other, holder_class=HolderClass.PARTY_MEMBER, path=community_a.path)
    credit(theirs, 100)
    with pytest.raises(PermissionDenied):
        services.redemption_order(actor=member, offer=offer, account=theirs, idempotency_key="deep-2")
