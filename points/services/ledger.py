"""The double-entry core every points service posts through.

`post()` is the only code that writes entries or moves a stored balance. It must run inside
`transaction.atomic()`; `once()` wraps a service's work so that a retried or concurrent call
with the same idempotency key returns the first result instead of posting again, and so that
lock contention surfaces as `Busy` (HTTP 409), never a 500.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

from qionglai.core import locks
from qionglai.core.errors import ApplicationError, Busy
from qionglai.core.places import place_short

from ..models import DERIVED_KINDS, Account, AccountKind, Entry, HolderClass, Merchant, Transaction

T = TypeVar("T")

MSG_INSUFFICIENT = "积分余额不足：当前可用 {balance} 分，需要 {needed} 分"
MSG_UNBALANCED = "记账失败：分录合计必须为零"
MSG_AMOUNT_POSITIVE = "积分必须是大于 0 的整数"
MSG_SUSPENDED = "该账户因禁止清单处理暂停兑换与捐赠，至 {until} 恢复"
MSG_ACCOUNT_NOT_YOURS = "只能使用本人的积分账户"


class InsufficientPoints(ApplicationError):
    pass


@dataclass(frozen=True)
class Leg:
    account: Account
    amount: int
    score: int = 0


def community_path(path: str) -> str:
    """The community a path lies in (city.town.community), where issuance and pools live."""
    return ".".join(path.split(".")[:3])


def positive_points(value, field: str = "amount") -> int:
    """A whole, positive number of points from a form, JSON or code; else a field error."""
    from django.core.exceptions import ValidationError

    if isinstance(value, bool):
        raise ValidationError({field: MSG_AMOUNT_POSITIVE})
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip()
        if not text.isdigit():
            raise ValidationError({field: MSG_AMOUNT_POSITIVE})
        number = int(text)
    if number <= 0:
        raise ValidationError({field: MSG_AMOUNT_POSITIVE})
    return number


def one_statement(sql: str, params: dict) -> tuple | None:
    """PostgreSQL: runs one set-based statement and returns its first row. The statement sets
    its own lock timeout (`set_config('lock_timeout', …, true)`, i.e. SET LOCAL) before it
    first waits for a lock, which saves the separate SET LOCAL round trip."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def once(
    *, find: Callable[[], T | None], work: Callable[[], T], look_first: bool = True, timeout_set: bool = False
) -> T:
    """Runs `work` in one transaction unless `find` already sees its result.

    Two calls racing with the same key: the second blocks on the unique idempotency key until
    the first commits, then fails with IntegrityError and returns what the first wrote.
    `look_first=False` skips the lookup for work whose own statement collides on the key (the
    collision then finds the first result); `timeout_set=True` for work whose statement sets
    the lock timeout itself (`one_statement`).
    """
    if look_first:
        found = find()
        if found is not None:
            return found
    try:
        with transaction.atomic():
            if not timeout_set:
                locks.set_lock_timeout()
            return work()
    except IntegrityError:
        found = find()
        if found is not None:
            return found
        # another unique rule lost a race (e.g. an order code): the client may simply retry
        raise Busy() from None
    except OperationalError as error:
        if locks.is_contention(error):
            raise Busy() from None
        raise


def lock(accounts: Iterable[Account]) -> dict[int, Account]:
    """Locks stored-balance accounts in id order (the one order every service uses, so two
    transactions can never wait on each other). Derived accounts are never locked."""
    ids = sorted({a.pk for a in accounts if a.kind not in DERIVED_KINDS})
    if not ids:
        return {}
    return {a.pk: a for a in Account.objects.select_for_update().filter(pk__in=ids).order_by("pk")}


def post(
    *,
    kind: str,
    key: str,
    legs: list[Leg],
    path: str,
    actor=None,
    memo: str = "",
    on_behalf: bool = False,
    reverses: Transaction | None = None,
    at: datetime | None = None,
    locked: dict[int, Account] | None = None,
) -> Transaction:
    """Writes one balanced transaction. Pre: inside transaction.atomic(); amounts sum to zero.
    Post: every stored balance moved by its legs and never below zero; entries appended."""
    legs = [leg for leg in legs if leg.amount or leg.score]
    if sum(leg.amount for leg in legs) != 0 or not legs:
        raise ApplicationError(MSG_UNBALANCED)
    at = at or timezone.now()
    # The unique key goes in first: a concurrent duplicate waits here, not on the accounts.
    tx = Transaction.objects.create(
        kind=kind,
        idempotency_key=key,
        memo=memo[:300],
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        on_behalf=on_behalf,
        path=path,
        reverses=reverses,
        created_at=at,
    )
    # `locked`: rows the caller already holds FOR UPDATE (and read under the lock)
    wanted = [leg.account for leg in legs if not (locked and leg.account.pk in locked)]
    locked = {**(locked or {}), **lock(wanted)}
    balances = {pk: a.balance for pk, a in locked.items()}
    deltas: dict[int, int] = defaultdict(int)
    entries = []
    for leg in legs:
        after = None
        if leg.account.pk in balances:
            after = balances[leg.account.pk] + leg.amount
            if after < 0:
                raise InsufficientPoints(
                    MSG_INSUFFICIENT.format(balance=balances[leg.account.pk], needed=-leg.amount)
                )
            balances[leg.account.pk] = after
            deltas[leg.account.pk] += leg.amount
        entries.append(
            Entry(
                transaction=tx,
                account_id=leg.account.pk,
                amount=leg.amount,
                score_delta=leg.score,
                balance_after=after,
                kind=kind,
                created_at=at,
            )
        )
    for pk, delta in deltas.items():
        if delta:
            Account.objects.filter(pk=pk).update(balance=F("balance") + delta)
    for leg in legs:  # keep the caller's objects truthful for the rest of the request
        if leg.account.pk in balances:
            leg.account.balance = balances[leg.account.pk]
    Entry.objects.bulk_create(entries)
    return tx


# --- accounts ---------------------------------------------------------------------------


def system_account(*, kind: str, path: str = "", merchant: Merchant | None = None) -> Account:
    """The community's issuance or pool account, or the merchant's hold or settlement account;
    opened on first use (the unique constraints make a racing open harmless)."""
    labels = {
        AccountKind.ISSUANCE: "积分发放",
        AccountKind.POOL: "积分捐赠池",
        AccountKind.HOLD: "兑换冻结",
        AccountKind.SETTLEMENT: "兑换结算",
    }
    if merchant is not None:
        account, _ = Account.objects.get_or_create(
            kind=kind,
            merchant=merchant,
            defaults={"path": merchant.path, "name": f"{merchant.name}·{labels[kind]}"},
        )
        return account
    path = community_path(path)
    account, _ = Account.objects.get_or_create(
        # named after the community (洪川社区·积分捐赠池), never its path; looked up only on create
        kind=kind,
        path=path,
        defaults={"name": lambda: f"{place_short(path)}·{labels[kind]}"},
    )
    return account


# Set inside `remembered()`: each community's issuance account and each source's award rules,
# as first read in the block.
_memo: dict | None = None


@contextmanager
def remembered() -> Iterator[None]:
    """Within the block, a community's issuance account and the rules wired to an award source
    are read once (per process) and then remembered: for a batch writer that changes neither,
    the demo build, which awards thousands of verified incidents and meetings. An issuance
    account holds no balance (derived), so the remembered row is never stale; it is remembered
    only once it exists in a committed row it was read from (never one created in a
    transaction that might still roll back). Outside the block every call reads the tables."""
    global _memo
    previous, _memo = _memo, {"issuance": {}, "rules": {}}
    try:
        yield
    finally:
        _memo = previous


def issuance_for(path: str) -> Account:
    if _memo is None:
        return system_account(kind=AccountKind.ISSUANCE, path=path)
    key = community_path(path)
    account = _memo["issuance"].get(key)
    if account is None:
        account, created = Account.objects.get_or_create(
            kind=AccountKind.ISSUANCE,
            path=key,
            defaults={"name": lambda: f"{place_short(key)}·积分发放"},
        )
        if not created:
            _memo["issuance"][key] = account
    return account


def remembered_rules(source: str, read: Callable[[], list]) -> list:
    """`read()` (the active rules of an award source), remembered inside `remembered()`."""
    if _memo is None:
        return read()
    rules = _memo["rules"].get(source)
    if rules is None:
        rules = _memo["rules"][source] = read()
    return rules


def pool_for(path: str) -> Account:
    return system_account(kind=AccountKind.POOL, path=path)


def account_open(*, user, holder_class: str, path: str, unseen: bool = False) -> Account:
    """The person's account of `holder_class`, opened if missing (idempotent). `unseen=True`:
    the caller has just looked and found none, so the insert goes first (a racing open
    collides on the unique person and class, and the winner's account is read)."""
    if holder_class == HolderClass.ORG:
        raise ApplicationError("党组织账户请用 org_account_open 开立")
    whose = {"kind": AccountKind.HOLDER, "user": user, "holder_class": holder_class}
    defaults = {
        "path": community_path(path),
        "name": f"{user.display_name}（{HolderClass(holder_class).label}）",
    }
    if unseen:
        try:
            with transaction.atomic():
                return Account.objects.create(**whose, **defaults)
        except IntegrityError:
            pass
    account, _ = Account.objects.get_or_create(**whose, defaults=defaults)
    return account


def org_account_open(*, org_code: str, name: str, path: str) -> Account:
    account, _ = Account.objects.get_or_create(
        kind=AccountKind.HOLDER,
        holder_class=HolderClass.ORG,
        org_code=org_code,
        defaults={"path": community_path(path), "name": name},
    )
    return account


def require_spendable(account: Account, actor, now=None) -> None:
    """The holder may spend (redeem, donate) from this account right now."""
    if account.kind != AccountKind.HOLDER or account.user_id != getattr(actor, "pk", None):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied(MSG_ACCOUNT_NOT_YOURS)
    if account.redemption_suspended(now):
        until = timezone.localtime(account.suspended_until) if account.suspended_until else None
        raise ApplicationError(MSG_SUSPENDED.format(until=f"{until:%Y-%m-%d}" if until else "另行通知"))


MSG_PERSON_UNKNOWN = "找不到该居民：请输入其用户名或手机号"
MSG_PERSON_NO_CLASS = "该居民在您的辖区内没有「{cls}」身份"


def account_for_person(
    *, actor, ident: str, holder_class: str, action: str = "points.claim_record"
) -> Account:
    """Staff find (or open) the account of a person in their area by username or phone, or a
    party organisation's account by its code — for 代录, sanctions and pool grants."""
    from django.contrib.auth import get_user_model
    from django.core.exceptions import PermissionDenied, ValidationError
    from django.db.models import Q

    from qionglai.users import access

    from ..models import CLASS_ROLE

    ident = (ident or "").strip()
    if holder_class == HolderClass.ORG:
        account = Account.objects.filter(
            kind=AccountKind.HOLDER, holder_class=HolderClass.ORG, org_code=ident
        ).first()
        if account is None:
            raise ValidationError({"person": "找不到该党组织账户"})
        access.require(actor, action, account.path)
        return account
    user = get_user_model().objects.filter(Q(username=ident) | Q(phone=ident), is_active=True).first()
    if user is None or not ident:
        raise ValidationError({"person": MSG_PERSON_UNKNOWN})
    existing = Account.objects.filter(kind=AccountKind.HOLDER, user=user, holder_class=holder_class).first()
    if existing is not None:
        access.require(actor, action, existing.path)
        return existing
    role = CLASS_ROLE.get(holder_class)
    paths = [
        g.path for g in access.active_grants(user) if g.role == role and access.can(actor, action, g.path)
    ]
    if not paths:
        if any(g.role == role for g in access.active_grants(user)):
            raise PermissionDenied(access.DENIED_MESSAGE)
        raise ValidationError({"person": MSG_PERSON_NO_CLASS.format(cls=HolderClass(holder_class).label)})
    return account_open(user=user, holder_class=holder_class, path=paths[0])


def accounts_ensure_for(*, user) -> list[Account]:
    """Opens the person's account for every class their grants give them (idempotent), so a
    resident who signs in for the first time has a wallet to earn into."""
    from qionglai.users import access

    from ..models import CLASS_ROLE

    out = []
    for holder_class, role in CLASS_ROLE.items():
        grant = next((g for g in access.active_grants(user) if g.role == role), None)
        if grant is not None:
            out.append(account_open(user=user, holder_class=holder_class, path=grant.path))
    return out
