from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from points import selectors, services
from points.management.commands.points_verify import verify
from points.models import Account, AccountKind, AccountStatus, Offer, RedemptionStatus, Transaction
from qionglai.core.errors import ApplicationError
from qionglai.users.models import Role

from ..factories import GrantFactory, UserFactory
from .conftest import credit, rule_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("redemption_path")]


def _order(account, offer, key="k1", **kw):
    return services.redemption_order(
        actor=account.user, offer=offer, account=account, idempotency_key=key, **kw
    )


def test_it_holds_points_on_order_and_settles_them_to_the_merchant_at_the_counter(rita_account, offer, mike):
    credit(rita_account, 100)
    redemption = _order(rita_account, offer)
    rita_account.refresh_from_db()
    offer.refresh_from_db()
    assert rita_account.balance == 70 and offer.stock == 99
    assert len(redemption.code) == 6 and redemption.code.isdigit()
    found = services.redemption_find_for_counter(actor=mike, code=redemption.code)
    assert found.pk == redemption.pk
    services.redemption_verify(actor=mike, code=redemption.code)
    redemption.refresh_from_db()
    assert redemption.status == RedemptionStatus.SETTLED and redemption.verified_by == mike
    settlement = Account.objects.get(kind=AccountKind.SETTLEMENT, merchant=offer.merchant)
    assert settlement.balance == 0 and selectors.derived_balance(settlement) == 30  # derived, never stored
    assert verify() == []
    with pytest.raises(ApplicationError):  # a second tap finds nothing open under that code
        services.redemption_verify(actor=mike, code=redemption.code)


def test_a_merchant_verifies_only_its_own_orders(rita_account, merchant_m2, community_b, offer):
    other_counter = UserFactory(username="nina")
    GrantFactory(user=other_counter, role=Role.MERCHANT, path=community_b.path, unit="m2")
    credit(rita_account, 100)
    redemption = _order(rita_account, offer)
    with pytest.raises(ApplicationError, match="不是本店"):
        services.redemption_verify(actor=other_counter, code=redemption.code)
    with pytest.raises(ApplicationError, match="不是本店"):
        services.redemption_find_for_counter(actor=other_counter, code=redemption.code)
    with pytest.raises(PermissionDenied):
        services.redemption_verify(actor=rita_account.user, code=redemption.code)


def test_cancel_refunds_points_and_stock_once(rita_account, offer):
    credit(rita_account, 100)
    redemption = _order(rita_account, offer)
    services.redemption_cancel(actor=rita_account.user, redemption=redemption)
    with pytest.raises(ApplicationError, match="已取消"):
        services.redemption_cancel(actor=rita_account.user, redemption=redemption)
    rita_account.refresh_from_db()
    offer.refresh_from_db()
    assert rita_account.balance == 100 and offer.stock == 100
    assert verify() == []


def test_uncollected_orders_expire_and_refund_once_even_if_the_sweep_runs_twice(rita_account, offer):
    credit(rita_account, 100)
    _order(rita_account, offer)
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        assert services.redemptions_expire_due() == 1
        assert services.redemptions_expire_due() == 0
    rita_account.refresh_from_db()
    assert rita_account.balance == 100
    assert Transaction.objects.filter(kind="redeem_refund").count() == 1


def test_the_same_key_returns_the_first_order(rita_account, offer):
    credit(rita_account, 100)
    first = _order(rita_account, offer, key="tap")
    second = _order(rita_account, offer, key="tap")
    assert first.pk == second.pk
    rita_account.refresh_from_db()
    assert rita_account.balance == 70


def test_it_refuses_more_than_the_balance_the_stock_or_the_per_person_limit(rita_account, offer, merchant_m1):
    credit(rita_account, 50)
    with pytest.raises(services.InsufficientPoints):
        _order(rita_account, offer, quantity=2)
    limited = Offer.objects.create(
        merchant=merchant_m1, title="理发一次", price=5, stock=1, per_person_limit=1, path=merchant_m1.path
    )
    _order(rita_account, limited, key="a")
    with pytest.raises(ApplicationError, match="限兑"):
        _order(rita_account, limited, key="b")
    Offer.objects.filter(pk=limited.pk).update(per_person_limit=0)
    with pytest.raises(ApplicationError, match="库存不足"):
        _order(rita_account, limited, key="c")
    rita_account.refresh_from_db()
    assert rita_account.balance == 45  # nothing moved for the refused orders


def test_only_the_holder_orders_from_an_account(rita_account, offer, carol):
    credit(rita_account, 100)
    with pytest.raises(PermissionDenied):
        services.redemption_order(actor=carol, offer=offer, account=rita_account, idempotency_key="x")


def test_a_sanction_blocks_redemption_and_ranking(rita_account, offer, carol, community_a):
    credit(rita_account, 300)
    services.sanction_apply(actor=carol, account=rita_account, rule=rule_of("X03"), reason="违建拒不整改")
    rita_account.refresh_from_db()
    assert rita_account.status == AccountStatus.SUSPENDED and rita_account.balance == 250
    with pytest.raises(ApplicationError, match="暂停兑换"):
        _order(rita_account, offer)
    year = timezone.localdate().year
    assert selectors.score_of(rita_account, year) == 0
    ranked, excluded = selectors.ranking(
        user=carol, holder_class="resident", path=community_a.path, year=year
    )
    assert ranked == []
    assert [e.account for e in excluded] == [rita_account] and "违法抢建" in excluded[0].reason
    with time_machine.travel(timezone.now() + timedelta(days=190)):
        _order(rita_account, offer)  # the 6-month suspension has passed


def test_spending_and_donating_never_lower_the_score(rita_account, offer, community_a, carol):
    credit(rita_account, 100)
    _order(rita_account, offer)
    services.donation_make(
        actor=rita_account.user,
        from_account=rita_account,
        to_account=services.pool_for(community_a.path),
        amount=20,
        idempotency_key="d1",
    )
    rita_account.refresh_from_db()
    assert rita_account.balance == 50
    assert selectors.score_of(rita_account) == 100


def test_pool_grants_are_made_by_community_staff_with_a_reason(rita_account, carol, dave, alice, community_a):
    credit(rita_account, 40)
    pool = services.pool_for(community_a.path)
    services.donation_make(
        actor=rita_account.user, from_account=rita_account, to_account=pool, amount=40, idempotency_key="d"
    )
    alice_account = services.account_open(user=alice, holder_class="resident", path=community_a.path)
    with pytest.raises(PermissionDenied):
        services.pool_grant(
            actor=dave, pool=pool, to_account=alice_account, amount=10, reason="x", idempotency_key="g"
        )
    services.pool_grant(
        actor=carol,
        pool=pool,
        to_account=alice_account,
        amount=10,
        reason="困难家庭帮扶",
        idempotency_key="g",
    )
    services.pool_grant(
        actor=carol,
        pool=pool,
        to_account=alice_account,
        amount=10,
        reason="困难家庭帮扶",
        idempotency_key="g",
    )
    pool.refresh_from_db()
    alice_account.refresh_from_db()
    assert pool.balance == 30 and alice_account.balance == 10


def test_rolling_expiry_lapses_old_points_once_per_period(rita_account, community_a):
    from points.models import ExpiryScheme

    ExpiryScheme.objects.create(name="洪川：滚动 12 个月", path=community_a.path, mode="rolling", months=12)
    credit(rita_account, 30)
    with time_machine.travel(timezone.now() + timedelta(days=200)):
        credit(rita_account, 20)
    with time_machine.travel(timezone.now() + timedelta(days=400)):
        assert services.expiry_run() == 1
        assert services.expiry_run() == 0
    rita_account.refresh_from_db()
    assert rita_account.balance == 20
    assert verify() == []


def test_a_reversal_mirrors_the_transaction_once(rita_account, victor):
    tx = credit(rita_account, 30)
    services.transaction_reverse(actor=victor, tx=tx, reason="重复录入")
    services.transaction_reverse(actor=victor, tx=tx, reason="重复录入")
    rita_account.refresh_from_db()
    assert rita_account.balance == 0
    assert selectors.score_of(rita_account) == 0
    assert verify() == []
