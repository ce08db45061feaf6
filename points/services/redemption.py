"""服务兑换: order (points held, stock taken) → verify at the counter (hold settles to the
merchant) → or cancel / expiry (points and stock return).

Lock order everywhere: the holder's account, then the offer row. The hold account is derived
(never locked), so orders at one merchant only contend on the offer's stock row, and only
for the last statements of the transaction.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models import F, Sum
from django.utils import timezone

from qionglai.core.audit import audit_record
from qionglai.core.errors import ApplicationError
from qionglai.core.notify import notify
from qionglai.users import access

from ..models import (
    Account,
    AccountKind,
    Merchant,
    Offer,
    Redemption,
    RedemptionStatus,
    TxKind,
)
from . import redemption_pg
from .ledger import (
    MSG_INSUFFICIENT,
    InsufficientPoints,
    Leg,
    lock,
    once,
    positive_points,
    post,
    require_spendable,
    system_account,
)

HOLD_DAYS = 7  # an order not collected within a week is refunded by the expiry sweep
EXPIRE_BATCH = 500

MSG_OFFER_CLOSED = "该兑换项目已下架或不在兑换期内"
MSG_SOLD_OUT = "库存不足，已被兑完"
MSG_LIMIT = "每人限兑 {limit} 份，您已兑换 {used} 份"
MSG_CODE_UNKNOWN = "核销码无效，或不是本店的订单"
MSG_CODE_USED = "该核销码已于 {at} 在 {shop} 核销"
MSG_CODE_CLOSED = "该核销码的订单{status}，不能核销"
MSG_CODE_FORMAT = "核销码为 6 位数字"
MSG_NOT_HELD = "该订单{status}，不能再操作"
MSG_EXPIRED = "该订单已超过核销期限，积分将自动退回"
MSG_NOT_MERCHANT = "您不是该商户的核销员"

# PostgreSQL runs an order and a verification as one statement each (redemption_pg); the ORM
# path below is the portable one (SQLite demo) and the fallback for every refusal. Tests turn
# this off to run the same cases through the portable path.
SET_BASED = True


def _set_based() -> bool:
    return SET_BASED and connection.vendor == "postgresql"


def _new_code(merchant_id: int) -> str:
    for _ in range(8):
        code = f"{secrets.randbelow(1_000_000):06d}"
        if not Redemption.objects.filter(
            merchant_id=merchant_id, code=code, status=RedemptionStatus.HELD
        ).exists():
            return code
    return f"{secrets.randbelow(1_000_000):06d}"  # the unique constraint has the last word


def order_expires_at(*, now, valid_until) -> datetime:
    """An order's collection deadline: a week, and never past the day after the offer ends
    (one rule for both paths: redemption_pg takes it as a parameter)."""
    expires = now + timedelta(days=HOLD_DAYS)
    if valid_until and valid_until > now:
        expires = min(expires, valid_until + timedelta(days=1))
    return expires


def redemption_order(
    *, actor, offer: Offer, account: Account, idempotency_key: str, quantity: int = 1
) -> Redemption:
    """Places an order. Pre: the account is the actor's and not suspended; the offer is open.
    Post: price × quantity moved from the account to the merchant's hold; stock lowered;
    a 6-digit code issued. The same key returns the first order, however often it is sent."""
    quantity = positive_points(quantity, "quantity")
    key = f"redeem:{actor.pk}:{(idempotency_key or '').strip()[:80]}"
    if not idempotency_key:
        raise ValidationError({"idempotency_key": "缺少幂等键"})

    def find():
        return Redemption.objects.filter(idempotency_key=key).first()

    require_spendable(account, actor)
    access.require(actor, "points.hold", account.path)
    offer_id = offer.pk
    if _set_based():
        now = timezone.now()
        try:
            # no lookup first: a retried key collides on the transaction's unique key, and
            # once() then returns the first order
            return once(
                find=find,
                look_first=False,
                timeout_set=True,
                work=lambda: redemption_pg.order(
                    actor=actor,
                    account=account,
                    offer_id=offer_id,
                    quantity=quantity,
                    key=key,
                    now=now,
                    valid_until=offer.valid_until,
                    expires=order_expires_at(now=now, valid_until=offer.valid_until),
                ),
            )
        except redemption_pg.NotInOneStatement:
            pass  # rolled back; the portable path re-checks and says why

    def work():
        # checked inside, after the idempotency lookup: a retry of a placed order returns it
        # even if the offer has since sold out or closed
        offer = Offer.objects.select_related("merchant").get(pk=offer_id)
        if not offer.is_open() or not offer.merchant.active:
            raise ApplicationError(MSG_OFFER_CLOSED)
        hold = system_account(kind=AccountKind.HOLD, merchant=offer.merchant)
        points = offer.price * quantity
        rows = lock([account])
        locked = rows[account.pk]
        if (again := find()) is not None:  # a concurrent twin committed while we waited for
            return again  # the lock: return its order, not "insufficient points"
        require_spendable(locked, actor)
        if locked.balance < points:
            raise InsufficientPoints(MSG_INSUFFICIENT.format(balance=locked.balance, needed=points))
        if offer.per_person_limit:
            used = (
                Redemption.objects.filter(
                    account__user_id=actor.pk,
                    offer=offer,
                    status__in=[RedemptionStatus.HELD, RedemptionStatus.SETTLED],
                ).aggregate(n=Sum("quantity"))["n"]
                or 0
            )
            if used + quantity > offer.per_person_limit:
                raise ApplicationError(MSG_LIMIT.format(limit=offer.per_person_limit, used=used))
        now = timezone.now()
        tx = post(
            kind=TxKind.REDEEM_HOLD,
            key=key,
            legs=[Leg(account, -points), Leg(hold, points)],
            path=account.path,
            actor=actor,
            memo=f"兑换 {offer.merchant.name}·{offer.title} × {quantity}",
            at=now,
            locked=rows,
        )
        # last, so the offer row (the only shared hot row) is locked for the shortest time
        if not Offer.objects.filter(pk=offer.pk, stock__gte=quantity).update(stock=F("stock") - quantity):
            raise ApplicationError(MSG_SOLD_OUT)
        expires = order_expires_at(now=now, valid_until=offer.valid_until)
        redemption = Redemption.objects.create(
            offer=offer,
            merchant=offer.merchant,
            account=account,
            quantity=quantity,
            points=points,
            code=_new_code(offer.merchant_id),
            idempotency_key=key,
            expires_at=expires,
            hold_tx=tx,
            created_at=now,
            path=offer.merchant.path,
        )
        audit_record(
            actor=actor,
            action="points.redeem.order",
            target=redemption,
            summary=f"{offer.title} × {quantity}，{points} 分",
        )
        return redemption

    return once(find=find, work=work)


def merchant_accounts(merchant: Merchant) -> tuple[Account, Account]:
    """The merchant's (hold, settlement) accounts in one query, opened on first use."""
    found = {
        a.kind: a
        for a in Account.objects.filter(
            merchant=merchant, kind__in=[AccountKind.HOLD, AccountKind.SETTLEMENT]
        )
    }
    for kind in (AccountKind.HOLD, AccountKind.SETTLEMENT):
        if kind not in found:
            found[kind] = system_account(kind=kind, merchant=merchant)
    return found[AccountKind.HOLD], found[AccountKind.SETTLEMENT]


def merchants_of(actor) -> list[Merchant]:
    """The merchants whose counter the actor operates (merchant grants, unit = merchant code,
    the grant covering the merchant's place)."""
    codes = access.units(actor, "merchant")
    if access.is_admin(actor):
        return []
    return [
        m
        for m in Merchant.objects.filter(code__in=codes, active=True)
        if access.can(actor, "points.merchant_verify", m.path)
    ]


def clean_code(code: str) -> str:
    code = (code or "").strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        raise ValidationError({"code": MSG_CODE_FORMAT})
    return code


def _refuse_code(*, merchants, code: str) -> ApplicationError:
    """Why a code opens nothing at this counter. Only the actor's own merchants are searched,
    so another shop's code reads exactly like a wrong one (nothing about it leaks)."""
    last = (
        Redemption.objects.select_related("merchant")
        .filter(merchant__in=merchants, code=code)
        .exclude(status=RedemptionStatus.HELD)
        .order_by("-closed_at", "-id")
        .first()
    )
    if last is None:
        return ApplicationError(MSG_CODE_UNKNOWN)
    if last.status == RedemptionStatus.SETTLED:
        at = timezone.localtime(last.closed_at)
        return ApplicationError(MSG_CODE_USED.format(at=f"{at:%m-%d %H:%M}", shop=last.merchant.name))
    return ApplicationError(MSG_CODE_CLOSED.format(status=last.get_status_display()))


def redemption_find_for_counter(*, actor, code: str) -> Redemption:
    """What the counter sees before handing over: the open order with this code at one of the
    actor's merchants. Another merchant's order is indistinguishable from a wrong code."""
    code = clean_code(code)
    merchants = merchants_of(actor)
    redemption = (
        Redemption.objects.select_related("offer", "merchant", "account", "account__user")
        .filter(merchant__in=merchants, code=code, status=RedemptionStatus.HELD)
        .first()
    )
    if redemption is None:
        raise _refuse_code(merchants=merchants, code=code)
    return redemption


def redemption_verify(*, actor, code: str) -> Redemption:
    """核销. Settles the held points to the merchant. Once only: the status moves held → settled
    under the row lock, so a double tap or two counters settle it once."""
    code = clean_code(code)
    merchants = merchants_of(actor)
    if not merchants:
        raise PermissionDenied(MSG_NOT_MERCHANT)
    if _set_based():
        try:
            return once(
                find=lambda: None,
                timeout_set=True,
                work=lambda: redemption_pg.verify(
                    actor=actor, merchant_ids=[m.pk for m in merchants], code=code, now=timezone.now()
                ),
            )
        except redemption_pg.NotInOneStatement:
            pass  # rolled back; the portable path says why (or opens the settlement account)

    def work():
        redemption = (
            Redemption.objects.select_for_update(of=("self",))
            .select_related("merchant", "account")
            .filter(merchant__in=merchants, code=code, status=RedemptionStatus.HELD)
            .first()
        )
        if redemption is None:
            raise _refuse_code(merchants=merchants, code=code)
        now = timezone.now()
        if redemption.expires_at <= now:
            raise ApplicationError(MSG_EXPIRED)
        hold, settlement = merchant_accounts(redemption.merchant)
        tx = post(
            kind=TxKind.REDEEM_SETTLE,
            key=f"settle:{redemption.pk}",
            legs=[Leg(hold, -redemption.points), Leg(settlement, redemption.points)],
            path=redemption.path,
            actor=actor,
            memo=f"核销订单 {redemption.pk}",
            at=now,
        )
        redemption.status, redemption.close_tx, redemption.verified_by, redemption.closed_at = (
            RedemptionStatus.SETTLED,
            tx,
            actor,
            now,
        )
        redemption.save(update_fields=["status", "close_tx", "verified_by", "closed_at"])
        audit_record(
            actor=actor,
            action="points.redeem.verify",
            target=redemption,
            summary=f"核销 {redemption.points} 分",
        )
        notify(
            user_ids=[redemption.account.user_id] if redemption.account.user_id else [],
            key=f"points.redemption:{redemption.pk}:settled",
            title=f"兑换已核销：{redemption.merchant.name}",
        )
        return redemption

    return once(find=lambda: None, work=work)


def _refund(redemption_id: int, *, actor, status: str, now) -> Redemption | None:
    """Returns points and stock of a held order, once (status conditional under the lock)."""
    redemption = (
        Redemption.objects.select_for_update(of=("self",))
        .select_related("account", "merchant", "offer")
        .filter(pk=redemption_id, status=RedemptionStatus.HELD)
        .first()
    )
    if redemption is None:
        return None
    account = redemption.account
    lock([account])
    tx = post(
        kind=TxKind.REDEEM_REFUND,
        key=f"refund:{redemption.pk}",
        legs=[
            Leg(system_account(kind=AccountKind.HOLD, merchant=redemption.merchant), -redemption.points),
            Leg(account, redemption.points),
        ],
        path=account.path,
        actor=actor,
        memo=f"{'取消' if status == RedemptionStatus.CANCELLED else '超期'}退回：{redemption.offer.title}",
        at=now,
    )
    Offer.objects.filter(pk=redemption.offer_id).update(stock=F("stock") + redemption.quantity)
    redemption.status, redemption.close_tx, redemption.closed_at = status, tx, now
    redemption.save(update_fields=["status", "close_tx", "closed_at"])
    audit_record(
        actor=actor,
        action=f"points.redeem.{status}",
        target=redemption,
        summary=f"退回 {redemption.points} 分",
    )
    return redemption


def redemption_cancel(*, actor, redemption: Redemption) -> Redemption:
    """The holder (or the merchant, or community staff) cancels an uncollected order."""
    allowed = (
        redemption.account.user_id == actor.pk
        or redemption.merchant in merchants_of(actor)
        or access.can(actor, "points.manage", redemption.path)
    )
    if not allowed:
        raise PermissionDenied(access.DENIED_MESSAGE)

    def work():
        done = _refund(redemption.pk, actor=actor, status=RedemptionStatus.CANCELLED, now=timezone.now())
        if done is None:
            current = Redemption.objects.get(pk=redemption.pk)
            raise ApplicationError(MSG_NOT_HELD.format(status=current.get_status_display()))
        return done

    return once(find=lambda: None, work=work)


def redemptions_expire_due(*, now=None) -> int:
    """Beat: refunds orders not collected before their deadline. Each is claimed under its row
    lock with a status check, so two sweeps refund it once."""
    now = now or timezone.now()
    ids = list(
        Redemption.objects.filter(status=RedemptionStatus.HELD, expires_at__lte=now)
        .order_by("expires_at")
        .values_list("pk", flat=True)[:EXPIRE_BATCH]
    )
    done = 0
    for pk in ids:
        if once(
            find=lambda: None,
            work=lambda pk=pk: _refund(pk, actor=None, status=RedemptionStatus.EXPIRED, now=now),
        ):
            done += 1
    return done
