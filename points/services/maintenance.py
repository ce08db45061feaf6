"""Expiry (per scheme, idempotent per account and period) and reversal of a mistaken
transaction (a reversing transaction, never an edit)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Q, Sum
from django.utils import timezone

from qionglai.core.audit import audit_record
from qionglai.core.errors import ApplicationError
from qionglai.users import access

from ..models import Account, AccountKind, Entry, ExpiryMode, ExpiryScheme, Transaction, TxKind
from .ledger import Leg, issuance_for, lock, once, post
from .periods import add_months, local_year, year_bounds

# Credits that count as fresh points for expiry. A refund returns old points (so ordering and
# cancelling cannot renew them); spending is assumed to use the oldest points first.
FRESH_KINDS = [TxKind.EARN, TxKind.DONATE, TxKind.POOL_GRANT, TxKind.ADJUST]
MSG_REVERSE_KIND = "兑换类交易请通过取消订单退回，不能直接冲正"
MSG_ALREADY_REVERSED = "该交易已冲正"


def scheme_for(path: str, schemes: list[ExpiryScheme]) -> ExpiryScheme | None:
    best = None
    for scheme in schemes:
        if (path == scheme.path or path.startswith(scheme.path + ".")) and (
            best is None or len(scheme.path) > len(best.path)
        ):
            best = scheme
    return best


def _window(scheme: ExpiryScheme, now) -> tuple[str, object]:
    """(period label, start of the fresh window) for a scheme at `now`."""
    if scheme.mode == ExpiryMode.YEAR_END:
        year = local_year(now)
        return str(year), year_bounds(year)[0]
    local = timezone.localtime(now)
    return f"{local:%Y-%m}", add_months(now, -scheme.months)


def expiry_key(account: Account, period: str) -> str:
    return f"expire:{account.pk}:{period}"


def account_expire(*, account: Account, scheme: ExpiryScheme, now=None) -> Transaction | None:
    """Lapses the part of the balance older than the scheme's window; once per period."""
    now = now or timezone.now()
    period, start = _window(scheme, now)
    key = expiry_key(account, period)

    def work():
        locked = lock([account])[account.pk]
        fresh = (
            Entry.objects.filter(
                account=account, amount__gt=0, kind__in=FRESH_KINDS, created_at__gte=start
            ).aggregate(total=Sum("amount"))["total"]
            or 0
        )
        lapse = locked.balance - fresh
        if lapse <= 0:
            return None
        tx = post(
            kind=TxKind.EXPIRE,
            key=key,
            legs=[Leg(account, -lapse), Leg(issuance_for(account.path), lapse)],
            path=account.path,
            memo=f"{scheme.name}：{period} 过期",
            at=now,
        )
        audit_record(
            actor=None, action="points.expire", target=account, data={"points": lapse, "period": period}
        )
        return tx

    return once(find=lambda: Transaction.objects.filter(idempotency_key=key).first(), work=work)


def expiry_run(*, now=None) -> int:
    """Beat: applies every scheme to the holder accounts it covers. Running it again in the
    same period finds the period's transactions and posts nothing."""
    now = now or timezone.now()
    schemes = list(ExpiryScheme.objects.exclude(mode=ExpiryMode.NEVER))
    if not schemes:
        return 0
    q = Q()
    for scheme in schemes:
        q |= Q(path=scheme.path) | Q(path__startswith=scheme.path + ".")
    all_schemes = list(ExpiryScheme.objects.all())
    done = 0
    for account in Account.objects.filter(q, kind=AccountKind.HOLDER, balance__gt=0).iterator():
        scheme = scheme_for(account.path, all_schemes)
        if scheme is None or scheme.mode == ExpiryMode.NEVER:
            continue
        if Transaction.objects.filter(idempotency_key=expiry_key(account, _window(scheme, now)[0])).exists():
            continue  # this period already ran for the account
        if account_expire(account=account, scheme=scheme, now=now) is not None:
            done += 1
    return done


def transaction_reverse(*, actor, tx: Transaction, reason: str) -> Transaction:
    """冲正: posts the mirror of `tx` (amounts and score negated). Refused for redemption
    transactions (cancel the order instead) and when a holder has already spent the points."""
    access.require(actor, "points.reverse", tx.path)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "请填写冲正理由"})
    if tx.kind in {TxKind.REDEEM_HOLD, TxKind.REDEEM_SETTLE, TxKind.REDEEM_REFUND}:
        raise ApplicationError(MSG_REVERSE_KIND)
    if tx.reverses_id is not None:
        raise ApplicationError("冲正交易不能再次冲正")
    key = f"reverse:{tx.pk}"

    def work():
        legs = [Leg(e.account, -e.amount, -e.score_delta) for e in tx.entries.select_related("account")]
        reversal = post(
            kind=TxKind.ADJUST,
            key=key,
            legs=legs,
            path=tx.path,
            actor=actor,
            memo=f"冲正 #{tx.pk}：{reason}",
            reverses=tx,
        )
        audit_record(actor=actor, action="points.reverse", target=tx, summary=reason[:200])
        return reversal

    return once(find=lambda: Transaction.objects.filter(idempotency_key=key).first(), work=work)
