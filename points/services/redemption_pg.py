"""PostgreSQL: an order and a verification each as one set-based statement (design §11: 250
completed redemptions a second on two cores, where the ORM path spends ~15 round trips each).

Each statement either does the whole job or changes nothing it keeps: every write is chained
to the conditional UPDATE before it, and when the chain stops short the caller rolls the
transaction back and takes the portable path in `redemption.py`, which re-checks everything
under its locks and gives the precise refusal. So these statements carry only the happy path;
the ledger's guards (deferred balance trigger, CHECK balance >= 0, unique keys, append-only
triggers) hold for them exactly as for `post()`.

Data-modifying CTEs share one snapshot and see each other only through RETURNING; a chained
UPDATE that waits for a row lock re-checks its WHERE on the committed row (READ COMMITTED), so
the conditional balance and stock moves cannot overdraw under concurrency.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction

from qionglai.core import locks
from qionglai.core.models import AuditEvent, Notification

from ..models import (
    Account,
    AccountKind,
    AccountStatus,
    Entry,
    Merchant,
    Offer,
    Redemption,
    RedemptionStatus,
    Transaction,
    TxKind,
)
from . import ledger

log = logging.getLogger(__name__)


class NotInOneStatement(Exception):
    """The set-based statement stopped short (refusal, first order or settlement at a merchant,
    per-person limit, a twin that won): roll back and take the portable path."""


def _cols(model, alias: str, prefix: str = "") -> str:
    return ", ".join(f'{alias}."{f.column}" AS "{prefix}{f.column}"' for f in model._meta.concrete_fields)


def _build(model, row: tuple, start: int):
    fields = model._meta.concrete_fields
    values = row[start : start + len(fields)]
    return model.from_db("default", [f.attname for f in fields], values), start + len(fields)


# Every name below comes from the models' _meta (tables and column lists); every status, kind
# and label is a bound parameter from the models' choices (KINDS), so a renamed table or value
# cannot leave this path writing what the ORM path no longer writes.
# S608: the f-strings interpolate only those _meta names; values are bound
T = {
    "account": Account._meta.db_table,
    "offer": Offer._meta.db_table,
    "merchant": Merchant._meta.db_table,
    "transaction": Transaction._meta.db_table,
    "entry": Entry._meta.db_table,
    "redemption": Redemption._meta.db_table,
    "audit": AuditEvent._meta.db_table,
    "notification": Notification._meta.db_table,
    "user": get_user_model()._meta.db_table,
}
KINDS = {
    "k_holder": AccountKind.HOLDER.value,
    "k_hold": AccountKind.HOLD.value,
    "k_settlement": AccountKind.SETTLEMENT.value,
    "suspended": AccountStatus.SUSPENDED.value,
    "tx_hold": TxKind.REDEEM_HOLD.value,
    "tx_settle": TxKind.REDEEM_SETTLE.value,
    "held": RedemptionStatus.HELD.value,
    "settled": RedemptionStatus.SETTLED.value,
    "target_type": Redemption._meta.label_lower,  # as audit_record(target=...) writes it
    "tx_table": T["transaction"],
}
ORDER_SQL = f"""
WITH cfg AS (  -- SET LOCAL inside the statement, read by the first UPDATE before it locks
  SELECT set_config('lock_timeout', %(lock_timeout)s, true)
),
o AS (
  SELECT {_cols(Offer, "off")}, {_cols(Merchant, "m", "m_")},
         off.price * %(q)s::int AS points,
         (SELECT h.id FROM {T["account"]} h WHERE h.merchant_id = off.merchant_id AND h.kind = %(k_hold)s) AS hold_id,
         (off.active AND m.active
          AND (off.valid_from IS NULL OR off.valid_from <= %(now)s)
          AND (off.valid_until IS NULL OR %(now)s < off.valid_until)
          -- the expiry was computed in Python from this end date: a changed one stops here
          AND off.valid_until IS NOT DISTINCT FROM %(valid_until)s) AS is_open
  FROM {T["offer"]} off JOIN {T["merchant"]} m ON m.id = off.merchant_id
  WHERE off.id = %(offer)s
),
a AS (  -- the balance moves only if it covers the price: the one guard against overdraft
  UPDATE {T["account"]} acc SET balance = acc.balance - o.points
  FROM o
  WHERE acc.id = %(account)s AND acc.kind = %(k_holder)s AND acc.user_id = %(actor)s
    AND acc.balance >= o.points
    AND NOT (acc.status = %(suspended)s AND (acc.suspended_until IS NULL OR acc.suspended_until > %(now)s))
    AND o.is_open AND o.per_person_limit = 0 AND o.hold_id IS NOT NULL
    AND EXISTS (SELECT FROM cfg)
  RETURNING acc.id, acc.balance, acc.path
),
s AS (  -- after the account, as in the portable path: the shared offer row is locked last
  UPDATE {T["offer"]} SET stock = stock - %(q)s::int
  WHERE id = %(offer)s AND stock >= %(q)s::int AND EXISTS (SELECT 1 FROM a)
  RETURNING id
),
t AS (
  INSERT INTO {T["transaction"]} (kind, idempotency_key, memo, actor_id, on_behalf, path, reverses_id, created_at)
  SELECT %(tx_hold)s, %(key)s, left('兑换 ' || o.m_name || '·' || o.title || ' × ' || %(q)s::int, 300),
         %(actor)s, false, a.path, NULL, %(now)s
  FROM o, a WHERE EXISTS (SELECT 1 FROM s)
  RETURNING id
),
e AS (
  INSERT INTO {T["entry"]} (transaction_id, account_id, amount, score_delta, balance_after, kind, created_at)
  SELECT t.id, leg.account_id, leg.amount, 0, leg.balance_after, %(tx_hold)s, %(now)s
  FROM t, o, a,
       LATERAL (VALUES (a.id, -o.points, a.balance), (o.hold_id, o.points, NULL::bigint))
         AS leg(account_id, amount, balance_after)
),
r AS (
  INSERT INTO {T["redemption"]} (offer_id, merchant_id, account_id, quantity, points, code, status,
                                 idempotency_key, expires_at, hold_tx_id, close_tx_id, verified_by_id,
                                 closed_at, created_at, path)
  SELECT o.id, o.merchant_id, a.id, %(q)s::int, o.points,
         %(code)s, %(held)s, %(key)s, %(expires)s,
         t.id, NULL, NULL, NULL, %(now)s, o.m_path
  FROM t, o, a
  -- a code already open at this merchant (one order in a million per open order) inserts
  -- nothing, so the statement comes back empty and the portable path picks another code. No
  -- conflict target: naming the partial index would restate its predicate; the only other
  -- unique keys (the idempotency key, hold_tx) already collided on the transaction above
  ON CONFLICT DO NOTHING
  RETURNING id, code, expires_at, hold_tx_id
),
au AS (
  INSERT INTO {T["audit"]} (at, actor_id, action, target_type, target_id, path, summary, data)
  SELECT %(now)s, %(actor)s, %(audit_action)s, %(target_type)s, r.id::text, o.m_path,
         left(o.title || ' × ' || %(q)s::int || '，' || o.points || ' 分', 255), '{{}}'::jsonb
  FROM r, o
)
SELECT r.id, r.code, r.expires_at, r.hold_tx_id, a.balance, o.points, o.*
FROM r, a, o
"""  # noqa: S608


def order(
    *,
    actor,
    account: Account,
    offer_id: int,
    quantity: int,
    key: str,
    now: datetime,
    valid_until: datetime | None,
    expires: datetime,
) -> Redemption:
    """One statement: balance → hold, stock taken, transaction + entries + order + audit row.
    `expires` is the caller's deadline, computed from `valid_until` (the offer's end date the
    caller read); the statement stops short if the offer's end date is no longer that.
    Pre: inside transaction.atomic(). Raises NotInOneStatement when it did not complete."""
    row = ledger.one_statement(
        ORDER_SQL,
        {
            **KINDS,
            "audit_action": "points.redeem.order",
            "valid_until": valid_until,
            "lock_timeout": locks.LOCK_TIMEOUT,
            "q": quantity,
            "now": now,
            "offer": offer_id,
            "account": account.pk,
            "actor": actor.pk,
            "key": key,
            "code": f"{secrets.randbelow(1_000_000):06d}",
            "expires": expires,
        },
    )
    if row is None:
        raise NotInOneStatement
    pk, code, expires_at, hold_tx_id, balance, points = row[:6]
    offer, at = _build(Offer, row, 6)
    offer.merchant, _ = _build(Merchant, row, at)
    account.balance = balance  # keep the caller's object truthful, as post() does
    return Redemption(
        pk=pk,
        offer=offer,
        merchant=offer.merchant,
        account=account,
        quantity=quantity,
        points=points,
        code=code,
        idempotency_key=key,
        expires_at=expires_at,
        hold_tx_id=hold_tx_id,
        created_at=now,
        path=offer.merchant.path,
    )


VERIFY_SQL = f"""
WITH cfg AS (  -- as in ORDER_SQL
  SELECT set_config('lock_timeout', %(lock_timeout)s, true)
),
r AS (  -- held → settled, once: a second counter's UPDATE re-checks status and finds none
  UPDATE {T["redemption"]} red
  SET status = %(settled)s, verified_by_id = %(actor)s, closed_at = %(now)s,
      close_tx_id = nextval(pg_get_serial_sequence(%(tx_table)s, 'id'))
  WHERE red.id = (
      SELECT id FROM {T["redemption"]}
      WHERE merchant_id = ANY(%(merchants)s::bigint[]) AND code = %(code)s AND status = %(held)s
      ORDER BY created_at DESC, id DESC LIMIT 1
    )
    AND red.status = %(held)s AND red.expires_at > %(now)s AND EXISTS (SELECT FROM cfg)
    AND (SELECT count(*) FROM {T["account"]} x
         WHERE x.merchant_id = red.merchant_id AND x.kind IN (%(k_hold)s, %(k_settlement)s)) = 2
  RETURNING {_cols(Redemption, "red")}
),
acc AS (
  SELECT r.*,
    (SELECT x.id FROM {T["account"]} x WHERE x.merchant_id = r.merchant_id AND x.kind = %(k_hold)s) AS hold_id,
    (SELECT x.id FROM {T["account"]} x WHERE x.merchant_id = r.merchant_id AND x.kind = %(k_settlement)s) AS settle_id
  FROM r
),
t AS (
  INSERT INTO {T["transaction"]} (id, kind, idempotency_key, memo, actor_id, on_behalf, path, reverses_id, created_at)
  SELECT r.close_tx_id, %(tx_settle)s, 'settle:' || r.id, '核销订单 ' || r.id, %(actor)s, false, r.path,
         NULL, %(now)s
  FROM r
),
e AS (
  INSERT INTO {T["entry"]} (transaction_id, account_id, amount, score_delta, balance_after, kind, created_at)
  SELECT acc.close_tx_id, leg.account_id, leg.amount, 0, NULL, %(tx_settle)s, %(now)s
  FROM acc, LATERAL (VALUES (acc.hold_id, -acc.points), (acc.settle_id, acc.points)) AS leg(account_id, amount)
),
au AS (
  INSERT INTO {T["audit"]} (at, actor_id, action, target_type, target_id, path, summary, data)
  SELECT %(now)s, %(actor)s, %(audit_action)s, %(target_type)s, r.id::text, r.path,
         '核销 ' || r.points || ' 分', '{{}}'::jsonb
  FROM r
),
holder AS (
  SELECT u.id, u.email FROM r
  JOIN {T["account"]} a ON a.id = r.account_id
  JOIN {T["user"]} u ON u.id = a.user_id AND u.is_active
),
n AS (  -- the inbox row commits with the settlement; (user, key) unique keeps it once
  INSERT INTO {T["notification"]} (user_id, key, title, body, url, created_at, read_at)
  SELECT holder.id, 'points.redemption:' || r.id || ':settled', left('兑换已核销：' || m.name, 200), '', '',
         %(now)s, NULL
  FROM r JOIN {T["merchant"]} m ON m.id = r.merchant_id, holder
  ON CONFLICT (user_id, key) DO NOTHING
  RETURNING id
)
SELECT (SELECT email FROM holder), (SELECT count(*) FROM n), r.*, {_cols(Merchant, "m", "m_")}
FROM r JOIN {T["merchant"]} m ON m.id = r.merchant_id
"""  # noqa: S608


def verify(*, actor, merchant_ids: list[int], code: str, now: datetime) -> Redemption:
    """One statement: held → settled, transaction + entries + audit row + the holder's inbox
    row. Pre: inside transaction.atomic(). Raises NotInOneStatement when nothing was settled."""
    row = ledger.one_statement(
        VERIFY_SQL,
        {
            **KINDS,
            "audit_action": "points.redeem.verify",
            "lock_timeout": locks.LOCK_TIMEOUT,
            "actor": actor.pk,
            "now": now,
            "merchants": merchant_ids,
            "code": code,
        },
    )
    if row is None:
        raise NotInOneStatement
    email, delivered = row[:2]
    redemption, at = _build(Redemption, row, 2)
    redemption.merchant, _ = _build(Merchant, row, at)
    if email and delivered:
        title = f"兑换已核销：{redemption.merchant.name}"
        transaction.on_commit(lambda: _mail(email, title, redemption.pk))
    return redemption


def _mail(email: str, title: str, redemption_id: int) -> None:
    # the statement wrote the inbox row itself; the mail leaves the request through a task
    from qionglai.core.tasks import send_one_mail

    try:
        send_one_mail.delay(email, title)
    except Exception:
        log.warning("mail for redemption %s not queued", redemption_id, exc_info=True)
