"""禁止清单: a sanction zeroes the year's score, suspends redemption for N months and excludes
the holder from 评先评优 for this year (or this and the next)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from qionglai.core.audit import audit_record
from qionglai.core.notify import notify
from qionglai.users import access

from ..models import (
    Account,
    AccountKind,
    AccountStatus,
    Claim,
    ClaimStatus,
    ExcludeScope,
    Rule,
    RuleList,
    Sanction,
)
from .periods import add_months, local_year

MSG_NOT_PROHIBITED = "只有禁止清单项目才能作出处理"


def sanction_create(*, account: Account, rule: Rule, reason: str, claim: Claim | None, actor) -> Sanction:
    """Writes the sanction and suspends the account. Pre: inside the caller's transaction,
    the account row locked (the deduction that goes with it locked it)."""
    now = timezone.now()
    year = local_year(now)
    until = add_months(now, rule.sanction_redeem_months) if rule.sanction_redeem_months else None
    sanction = Sanction.objects.create(
        account=account,
        rule=rule,
        claim=claim,
        reason=reason[:300],
        year=year,
        excluded_until_year=year + (1 if rule.sanction_exclude == ExcludeScope.NEXT_YEAR else 0),
        redeem_suspended_until=until,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        path=account.path,
    )
    if until is not None:
        current = Account.objects.select_for_update().get(pk=account.pk)
        if current.suspended_until is None or current.suspended_until < until:
            Account.objects.filter(pk=account.pk).update(
                status=AccountStatus.SUSPENDED, suspended_until=until
            )
            account.status, account.suspended_until = AccountStatus.SUSPENDED, until
    audit_record(
        actor=actor,
        action="points.sanction",
        target=account,
        summary=f"{rule.name}：{reason}"[:255],
        data={"sanction": sanction.pk, "until": until.isoformat() if until else None},
    )
    if account.user_id:
        notify(
            user_ids=[account.user_id],
            key=f"points.sanction:{sanction.pk}",
            title=f"您的积分账户因「{rule.name}」被处理",
            body=reason,
        )
    return sanction


@transaction.atomic
def sanction_apply(*, actor, account: Account, rule: Rule, reason: str) -> Sanction:
    """Community staff record a prohibited-list hit that needs no publicity (the facts are
    established elsewhere, e.g. by a court or the police): deduct, sanction, in one go."""
    from .claims import _make_effective

    access.require(actor, "points.manage", account.path)
    if rule.list_kind != RuleList.PROHIBITED:
        raise ValidationError({"rule": MSG_NOT_PROHIBITED})
    if account.kind != AccountKind.HOLDER:
        raise ValidationError({"account": "只能处理个人或党组织积分账户"})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "请填写处理事由"})
    now = timezone.now()
    claim = Claim.objects.create(
        account=account,
        rule=rule,
        points=rule.points,
        note=reason[:300],
        status=ClaimStatus.PUBLICITY,
        submitted_by=actor,
        reviewed_by=actor,
        reviewed_at=now,
        on_behalf=True,
        publicity_ends_at=now,
        path=account.path,
    )
    _make_effective(claim, now=now)
    return claim.sanction
