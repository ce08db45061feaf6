"""Real threads against PostgreSQL: the ledger's promises under contention."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from points import services
from points.management.commands.points_verify import verify
from points.models import Account, Offer, Redemption, Transaction
from qionglai.core.errors import ApplicationError, Busy

from ..factories import GrantFactory, UserFactory
from .conftest import credit

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("redemption_path")]


def run_together(n: int, fn) -> list[tuple[str, object]]:
    """Starts n threads that call fn(i) at the same instant; returns ("ok", result) or
    ("err", exception) per thread."""
    barrier = threading.Barrier(n)
    results: list[tuple[str, object]] = [("err", None)] * n

    def worker(i: int) -> None:
        try:
            barrier.wait()
            results[i] = ("ok", fn(i))
        except Exception as error:
            results[i] = ("err", error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_50_simultaneous_orders_against_a_balance_that_covers_10_let_exactly_10_through(rita_account, offer):
    credit(rita_account, 10 * offer.price)
    user = rita_account.user
    results = run_together(
        50,
        lambda i: services.redemption_order(
            actor=user, offer=offer, account=rita_account, idempotency_key=f"k{i}"
        ),
    )
    ok = [r for kind, r in results if kind == "ok"]
    errors = [r for kind, r in results if kind == "err"]
    assert len(ok) == 10
    assert all(isinstance(e, services.InsufficientPoints | Busy) for e in errors), errors
    rita_account.refresh_from_db()
    assert rita_account.balance == 0
    assert Offer.objects.get(pk=offer.pk).stock == 90
    assert verify() == []


def test_the_same_idempotency_key_sent_20_times_at_once_makes_one_transaction(rita_account, offer):
    credit(rita_account, 1000)
    user = rita_account.user
    results = run_together(
        20,
        lambda i: services.redemption_order(
            actor=user, offer=offer, account=rita_account, idempotency_key="tap"
        ),
    )
    assert all(kind == "ok" for kind, _ in results), results
    assert len({r.pk for _, r in results}) == 1
    assert Redemption.objects.count() == 1
    assert Transaction.objects.filter(kind="redeem_hold").count() == 1
    assert Account.objects.get(pk=rita_account.pk).balance == 1000 - offer.price
    assert verify() == []


def test_the_last_item_of_stock_ordered_by_two_people_at_once_goes_to_one(community_a, merchant_m1):
    offer = Offer.objects.create(
        merchant=merchant_m1, title="最后一袋米", price=10, stock=1, path=merchant_m1.path
    )
    accounts = []
    for name in ("p1", "p2"):
        user = UserFactory(username=name)
        GrantFactory(user=user, role="resident", path=community_a.path)
        account = services.account_open(user=user, holder_class="resident", path=community_a.path)
        credit(account, 50)
        accounts.append(account)
    results = run_together(
        2,
        lambda i: services.redemption_order(
            actor=accounts[i].user, offer=offer, account=accounts[i], idempotency_key="last"
        ),
    )
    kinds = sorted(kind for kind, _ in results)
    assert kinds == ["err", "ok"]
    error = next(r for kind, r in results if kind == "err")
    assert isinstance(error, ApplicationError) and "库存不足" in error.message
    assert Offer.objects.get(pk=offer.pk).stock == 0
    assert sorted(
        Account.objects.filter(pk__in=[a.pk for a in accounts]).values_list("balance", flat=True)
    ) == [40, 50]
    assert verify() == []


def test_two_counters_verifying_the_same_code_settle_it_once(rita_account, offer, mike):
    credit(rita_account, 100)
    redemption = services.redemption_order(
        actor=rita_account.user, offer=offer, account=rita_account, idempotency_key="v"
    )
    results = run_together(2, lambda i: services.redemption_verify(actor=mike, code=redemption.code))
    assert sorted(kind for kind, _ in results) == ["err", "ok"]
    assert Transaction.objects.filter(kind="redeem_settle").count() == 1
    assert verify() == []


def test_a_retried_order_returns_the_first_even_when_the_balance_covered_only_one(rita_account, offer):
    credit(rita_account, offer.price)
    user = rita_account.user
    results = run_together(
        10,
        lambda i: services.redemption_order(
            actor=user, offer=offer, account=rita_account, idempotency_key="once"
        ),
    )
    assert all(kind == "ok" for kind, _ in results), results
    assert len({r.pk for _, r in results}) == 1
    assert verify() == []


def test_an_order_waiting_on_a_locked_account_gives_up_as_busy_after_the_lock_timeout(
    rita_account, offer, monkeypatch
):
    from django.db import transaction

    from qionglai.core import locks

    monkeypatch.setattr(locks, "LOCK_TIMEOUT", "200ms")
    credit(rita_account, 100)
    user = rita_account.user
    # the first order opens the merchant's hold account; the second is the one under test
    services.redemption_order(actor=user, offer=offer, account=rita_account, idempotency_key="first")
    locked, release = threading.Event(), threading.Event()

    def hold_the_account() -> None:
        try:
            with transaction.atomic():
                Account.objects.select_for_update().get(pk=rita_account.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_account)
    holder.start()
    try:
        assert locked.wait(10)
        with pytest.raises(Busy):
            services.redemption_order(
                actor=user, offer=offer, account=rita_account, idempotency_key="blocked"
            )
    finally:
        release.set()
        holder.join()
    assert not Redemption.objects.filter(idempotency_key__endswith=":blocked").exists()
    assert Account.objects.get(pk=rita_account.pk).balance == 100 - offer.price
    assert verify() == []
