"""PostgreSQL's one-statement order and verification (points/services/redemption_pg.py): what
they cost in round trips, pinned, and that they write exactly what the portable path writes."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from points import services
from points.management.commands.points_verify import verify
from points.models import Entry, Offer, Redemption, RedemptionStatus, Transaction
from points.services import redemption
from qionglai.core.errors import ApplicationError
from qionglai.core.models import AuditEvent, Notification
from qionglai.users import access

from .conftest import credit

pytestmark = pytest.mark.django_db


def _order(account, offer, key):
    return services.redemption_order(actor=account.user, offer=offer, account=account, idempotency_key=key)


def _warm(account, offer, mike):
    """The first order and settlement at a merchant open its hold and settlement accounts (the
    portable path does that); the actors' grants are then loaded once per user object, as once
    per request in the app."""
    credit(account, 1000)
    services.redemption_verify(actor=mike, code=_order(account, offer, "warm").code)
    access.active_grants(account.user)
    access.active_grants(mike)


def test_an_order_is_one_statement_between_begin_and_commit(
    rita_account, offer, mike, django_assert_num_queries
):
    _warm(rita_account, offer, mike)
    # SAVEPOINT here (BEGIN in the app), the prepared statement (it sets its own lock_timeout),
    # RELEASE (COMMIT): the portable path took 15 round trips for the same order
    with django_assert_num_queries(3):
        done = _order(rita_account, offer, "k")
    assert done.offer.title == offer.title and done.merchant.name == offer.merchant.name
    assert rita_account.balance == 1000 - 2 * offer.price  # the caller's object is kept truthful


def test_a_verification_is_the_merchant_lookup_and_one_statement(
    rita_account, offer, mike, django_assert_num_queries
):
    _warm(rita_account, offer, mike)
    code = _order(rita_account, offer, "k").code
    # the counter's merchants, SAVEPOINT, the statement (settle, entries, audit, the holder's
    # inbox row), RELEASE: the portable path took 14, four of them the notice after commit
    with django_assert_num_queries(4):
        done = services.redemption_verify(actor=mike, code=code)
    assert done.status == RedemptionStatus.SETTLED and done.merchant.name == offer.merchant.name


def test_a_retried_order_costs_one_more_lookup_and_moves_nothing(
    rita_account, offer, mike, django_assert_num_queries
):
    _warm(rita_account, offer, mike)
    first = _order(rita_account, offer, "k")
    # SAVEPOINT, the statement (collides on the key), ROLLBACK TO and RELEASE SAVEPOINT (one
    # ROLLBACK in the app), the lookup that returns the first order
    with django_assert_num_queries(5):
        again = _order(rita_account, offer, "k")
    assert again.pk == first.pk
    rita_account.refresh_from_db()
    assert rita_account.balance == 1000 - 2 * offer.price


def _rows(order: Redemption, settled: Redemption) -> dict:
    hold, close = (
        Transaction.objects.get(pk=order.hold_tx_id),
        Transaction.objects.get(pk=settled.close_tx_id),
    )
    r = Redemption.objects.get(pk=order.pk)
    return {
        "transactions": [
            (t.kind, t.memo.replace(str(r.pk), "#"), t.actor_id, t.on_behalf, t.path, t.reverses_id)
            for t in (hold, close)
        ],
        "keys": [close.idempotency_key == f"settle:{r.pk}", hold.idempotency_key == r.idempotency_key],
        "entries": [
            sorted(
                (
                    e.account_id,
                    e.amount,
                    e.score_delta,
                    e.balance_after is None,
                    e.kind,
                    e.created_at == t.created_at,
                )
                for e in Entry.objects.filter(transaction=t)
            )
            for t in (hold, close)
        ],
        "redemption": (
            r.offer_id,
            r.merchant_id,
            r.account_id,
            r.quantity,
            r.points,
            r.status,
            r.verified_by_id,
            r.path,
            r.expires_at - r.created_at,
            r.closed_at == close.created_at,
            len(r.code),
        ),
        "audit": sorted(
            (a.action, a.actor_id, a.target_type, a.path, a.summary, a.data)
            for a in AuditEvent.objects.filter(target_type="points.redemption", target_id=str(r.pk))
        ),
        "inbox": list(
            Notification.objects.filter(key=f"points.redemption:{r.pk}:settled").values_list(
                "user_id", "title"
            )
        ),
    }


def test_the_one_statement_paths_write_exactly_what_the_portable_path_writes(
    rita_account, offer, mike, monkeypatch, django_capture_on_commit_callbacks
):
    _warm(rita_account, offer, mike)
    written = {}
    for path in (True, False):
        monkeypatch.setattr(redemption, "SET_BASED", path)
        placed = _order(rita_account, offer, f"same-{path}")
        with django_capture_on_commit_callbacks(execute=True):
            settled = services.redemption_verify(actor=mike, code=placed.code)
        written[path] = _rows(placed, settled)
    assert written[True] == written[False]
    assert written[True]["inbox"] == [(rita_account.user_id, f"兑换已核销：{offer.merchant.name}")]
    assert verify() == []


def test_the_holder_with_an_address_is_mailed_once_after_the_settlement_commits(
    rita_account, offer, mike, redemption_path, django_capture_on_commit_callbacks
):
    rita_account.user.email = "rita@example.com"
    rita_account.user.save(update_fields=["email"])
    _warm(rita_account, offer, mike)
    code = _order(rita_account, offer, "k").code
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.redemption_verify(actor=mike, code=code)
    assert mail.outbox == []  # nothing leaves before the commit
    for callback in callbacks:
        callback()
    assert [m.to for m in mail.outbox] == [["rita@example.com"]]
    assert mail.outbox[0].subject == f"兑换已核销：{offer.merchant.name}"


def test_an_expired_order_is_refused_at_the_counter_and_refunded_by_the_sweep(
    rita_account, offer, mike, redemption_path
):
    _warm(rita_account, offer, mike)
    code = _order(rita_account, offer, "k").code
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        with pytest.raises(ApplicationError, match="超过核销期限"):
            services.redemption_verify(actor=mike, code=code)
        assert services.redemptions_expire_due() == 1
    rita_account.refresh_from_db()
    assert rita_account.balance == 1000 - offer.price
    assert verify() == []


def test_a_closed_offer_refuses_an_order_and_moves_nothing(rita_account, offer, mike, redemption_path):
    _warm(rita_account, offer, mike)
    offer.active = False
    offer.save(update_fields=["active"])
    with pytest.raises(ApplicationError, match="已下架"):
        _order(rita_account, offer, "k")
    rita_account.refresh_from_db()
    offer.refresh_from_db()
    assert rita_account.balance == 1000 - offer.price and offer.stock == 99
    assert verify() == []


def test_a_code_already_open_at_the_merchant_sends_the_order_down_the_portable_path(
    rita_account, offer, mike, monkeypatch
):
    from points.services import redemption_pg

    _warm(rita_account, offer, mike)
    first = _order(rita_account, offer, "a")

    class SameCode:
        @staticmethod
        def randbelow(_):
            return int(first.code)

    monkeypatch.setattr(redemption_pg, "secrets", SameCode)
    second = _order(rita_account, offer, "b")
    assert second.code != first.code
    assert Redemption.objects.filter(status="held", code=first.code).count() == 1
    rita_account.refresh_from_db()
    assert rita_account.balance == 1000 - 3 * offer.price
    assert verify() == []


# --- refusals: each path refuses with the same words and moves nothing -----------------------


def _snapshot(account, offer) -> tuple:
    account.refresh_from_db()
    offer.refresh_from_db()
    return (
        account.balance,
        offer.stock,
        Transaction.objects.count(),
        Entry.objects.count(),
        sorted(Redemption.objects.values_list("status", flat=True)),
        AuditEvent.objects.count(),
        Notification.objects.count(),
    )


def _nina(community_b, merchant_m2):
    from qionglai.users.models import Role

    from ..factories import GrantFactory, UserFactory

    nina = UserFactory(username="nina")
    GrantFactory(user=nina, role=Role.MERCHANT, path=community_b.path, unit=merchant_m2.code)
    return nina


def _refusal(name, account, offer, mike, request):
    """Sets the scene for one refusal; returns (the refused call, the exact message)."""
    from points.services.ledger import MSG_INSUFFICIENT, MSG_SUSPENDED
    from points.services.redemption import (
        MSG_CODE_CLOSED,
        MSG_CODE_UNKNOWN,
        MSG_CODE_USED,
        MSG_EXPIRED,
        MSG_LIMIT,
        MSG_OFFER_CLOSED,
        MSG_SOLD_OUT,
    )

    now = timezone.now()
    if name == "balance too low":
        account.refresh_from_db()
        Offer.objects.filter(pk=offer.pk).update(price=account.balance + 1)  # one point short
        offer.refresh_from_db()
        return lambda: _order(account, offer, "k"), MSG_INSUFFICIENT.format(
            balance=account.balance, needed=offer.price
        )
    if name == "sold out":
        Offer.objects.filter(pk=offer.pk).update(stock=0)
        return lambda: _order(account, offer, "k"), MSG_SOLD_OUT
    if name == "offer taken down":
        Offer.objects.filter(pk=offer.pk).update(active=False)
        return lambda: _order(account, offer, "k"), MSG_OFFER_CLOSED
    if name == "offer ended":
        Offer.objects.filter(pk=offer.pk).update(valid_until=now - timedelta(hours=1))
        return lambda: _order(account, offer, "k"), MSG_OFFER_CLOSED
    if name == "merchant closed":
        type(offer.merchant).objects.filter(pk=offer.merchant_id).update(active=False)
        return lambda: _order(account, offer, "k"), MSG_OFFER_CLOSED
    if name == "account suspended":
        from points.models import Account, AccountStatus

        until = now + timedelta(days=30)
        Account.objects.filter(pk=account.pk).update(status=AccountStatus.SUSPENDED, suspended_until=until)
        account.refresh_from_db()
        local = timezone.localtime(until)
        return lambda: _order(account, offer, "k"), MSG_SUSPENDED.format(until=f"{local:%Y-%m-%d}")
    if name == "per-person limit":
        Offer.objects.filter(pk=offer.pk).update(per_person_limit=1)  # the warm-up order used it
        offer.refresh_from_db()
        return lambda: _order(account, offer, "k"), MSG_LIMIT.format(limit=1, used=1)
    if name == "unknown code":
        return lambda: services.redemption_verify(actor=mike, code="000000"), MSG_CODE_UNKNOWN
    if name == "code already used":
        done = services.redemption_verify(actor=mike, code=_order(account, offer, "used").code)
        at = timezone.localtime(done.closed_at)
        return lambda: services.redemption_verify(actor=mike, code=done.code), MSG_CODE_USED.format(
            at=f"{at:%m-%d %H:%M}", shop=offer.merchant.name
        )
    if name == "code of a cancelled order":
        placed = _order(account, offer, "cancel")
        services.redemption_cancel(actor=account.user, redemption=placed)
        return lambda: services.redemption_verify(actor=mike, code=placed.code), MSG_CODE_CLOSED.format(
            status="已取消"
        )
    if name == "another shop's used code":
        nina = _nina(request.getfixturevalue("community_b"), request.getfixturevalue("merchant_m2"))
        done = services.redemption_verify(actor=mike, code=_order(account, offer, "used").code)
        return lambda: services.redemption_verify(actor=nina, code=done.code), MSG_CODE_UNKNOWN
    if name == "order past its deadline":
        placed = _order(account, offer, "late")
        Redemption.objects.filter(pk=placed.pk).update(expires_at=now - timedelta(minutes=1))
        return lambda: services.redemption_verify(actor=mike, code=placed.code), MSG_EXPIRED
    raise AssertionError(name)


REFUSALS = [
    "balance too low",
    "sold out",
    "offer taken down",
    "offer ended",
    "merchant closed",
    "account suspended",
    "per-person limit",
    "unknown code",
    "code already used",
    "code of a cancelled order",
    "another shop's used code",
    "order past its deadline",
]


@pytest.mark.parametrize("name", REFUSALS)
def test_both_paths_refuse_with_the_same_message_and_move_nothing(
    name, rita_account, offer, mike, redemption_path, request
):
    _warm(rita_account, offer, mike)
    call, message = _refusal(name, rita_account, offer, mike, request)
    before = _snapshot(rita_account, offer)
    with pytest.raises(ApplicationError) as refused:
        call()
    assert refused.value.message == message
    assert _snapshot(rita_account, offer) == before
    assert verify() == []


def test_an_offer_whose_end_date_changed_under_the_order_takes_the_portable_path(rita_account, offer, mike):
    """The one-statement order takes its deadline from the offer the caller read; if the end
    date moved since, the statement stops short and the portable path computes it afresh."""
    _warm(rita_account, offer, mike)
    stale = Offer.objects.get(pk=offer.pk)  # read before the end date is set
    ends = timezone.now() + timedelta(days=2)
    Offer.objects.filter(pk=offer.pk).update(valid_until=ends)
    placed = _order(rita_account, stale, "k")
    assert Redemption.objects.get(pk=placed.pk).expires_at == ends + timedelta(days=1)
    assert verify() == []
