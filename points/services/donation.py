"""积分捐赠: a holder gives points to another holder or to a community's pool; community staff
grant from the pool with a reason."""

from __future__ import annotations

from django.core import signing
from django.core.exceptions import ValidationError
from django.db.models import Case, Value, When

from qionglai.core.audit import audit_record
from qionglai.core.notify import notify
from qionglai.users import access

from ..models import Account, AccountKind, Donation, HolderClass, PoolGrant, TxKind
from .ledger import Leg, once, positive_points, post, require_spendable

MSG_SELF = "不能捐赠给自己的同一账户"
MSG_TARGET = "只能捐赠给个人、党组织积分账户或社区捐赠池"
MSG_GRANT_TARGET = "只能发放到个人或党组织积分账户"
MSG_REASON = "请填写发放理由"
MSG_NO_RECIPIENT = "找不到对方的积分账户：请核对手机号，或扫描对方「我的积分」页上的二维码"
DONATION_CODE_SALT = "points.donation-code"


def donation_code_for(account: Account) -> str:
    """What the holder's own page shows as a QR code to receive donations: a signed reference
    to the account, so nobody can walk account ids to find out who holds them."""
    return signing.dumps(account.pk, salt=DONATION_CODE_SALT, compress=True)


def donation_recipient(*, phone: str = "", code: str = "") -> Account:
    """The account a donation goes to, found by the person's phone number (their resident
    wallet first: a gift between neighbours lands where it can be spent) or by the code of
    their QR. Raises ValidationError with one message whatever is wrong, so the answer tells
    nothing about who exists."""
    from django.contrib.auth import get_user_model

    field = "to_code" if code else "to_phone"
    account = None
    if code:
        try:
            pk = signing.loads(code.strip(), salt=DONATION_CODE_SALT)
        except signing.BadSignature:
            pk = None
        if isinstance(pk, int):
            account = Account.objects.filter(kind=AccountKind.HOLDER, pk=pk, user__is_active=True).first()
    elif phone.strip().isdigit():
        user = get_user_model().objects.filter(phone=phone.strip(), is_active=True).first()
        if user is not None:
            account = (
                Account.objects.filter(kind=AccountKind.HOLDER, user=user)
                .order_by(
                    Case(When(holder_class=HolderClass.RESIDENT, then=Value(0)), default=Value(1)), "id"
                )
                .first()
            )
    if account is None:
        raise ValidationError({field: MSG_NO_RECIPIENT})
    return account


def recipient_label(account: Account) -> str:
    """How the donor is told where the points went: a pool by its name, a person by a masked
    name (孙*) and never their holder class (party membership is personal)."""
    from qionglai.users.privacy import mask_name

    if account.kind == AccountKind.POOL or account.user_id is None:
        return account.name
    return mask_name(account.user.real_name or account.user.username)


def donation_make(
    *, actor, from_account: Account, to_account: Account, amount, idempotency_key: str, note: str = ""
) -> Donation:
    """Moves `amount` from the actor's account to another holder or a pool. Donations never
    touch the score (only the balance)."""
    amount = positive_points(amount)
    require_spendable(from_account, actor)
    access.require(actor, "points.hold", from_account.path)
    if to_account.kind not in {AccountKind.HOLDER, AccountKind.POOL}:
        raise ValidationError({"to_account": MSG_TARGET})
    if to_account.pk == from_account.pk:
        raise ValidationError({"to_account": MSG_SELF})
    key = f"donate:{actor.pk}:{(idempotency_key or '').strip()[:80]}"

    def work():
        tx = post(
            kind=TxKind.DONATE,
            key=key,
            legs=[Leg(from_account, -amount), Leg(to_account, amount)],
            path=from_account.path,
            actor=actor,
            memo=f"捐赠给 {to_account.name}" + (f"：{note}" if note else ""),
        )
        donation = Donation.objects.create(
            from_account=from_account,
            to_account=to_account,
            amount=amount,
            note=(note or "")[:200],
            transaction=tx,
        )
        audit_record(
            actor=actor,
            action="points.donate",
            target=donation,
            path=from_account.path,
            summary=f"{amount} 分",
        )
        if to_account.user_id:
            notify(
                user_ids=[to_account.user_id],
                key=f"points.donation:{donation.pk}",
                title=f"{actor.display_name} 向您捐赠了 {amount} 积分",
                body=note or "",
            )
        return donation

    return once(find=lambda: Donation.objects.filter(transaction__idempotency_key=key).first(), work=work)


def pool_grant(
    *, actor, pool: Account, to_account: Account, amount, reason: str, idempotency_key: str
) -> PoolGrant:
    """Community staff pay points out of their community's pool to a holder, with a reason."""
    access.require(actor, "points.manage", pool.path)
    if pool.kind != AccountKind.POOL:
        raise ValidationError({"pool": "不是捐赠池账户"})
    if to_account.kind != AccountKind.HOLDER:
        raise ValidationError({"to_account": MSG_GRANT_TARGET})
    amount = positive_points(amount)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": MSG_REASON})
    key = f"poolgrant:{pool.pk}:{(idempotency_key or '').strip()[:80]}"

    def work():
        tx = post(
            kind=TxKind.POOL_GRANT,
            key=key,
            legs=[Leg(pool, -amount), Leg(to_account, amount)],
            path=pool.path,
            actor=actor,
            memo=f"捐赠池发放：{reason}",
        )
        grant = PoolGrant.objects.create(
            pool=pool,
            to_account=to_account,
            amount=amount,
            reason=reason[:300],
            granted_by=actor,
            transaction=tx,
        )
        audit_record(
            actor=actor, action="points.pool_grant", target=grant, path=pool.path, summary=reason[:200]
        )
        if to_account.user_id:
            notify(
                user_ids=[to_account.user_id],
                key=f"points.pool_grant:{grant.pk}",
                title=f"社区捐赠池向您发放了 {amount} 积分",
                body=reason,
            )
        return grant

    return once(find=lambda: PoolGrant.objects.filter(transaction__idempotency_key=key).first(), work=work)
