"""申报 → 审核 → 公示 → 生效 (design §6), objections, and awards from other apps' events."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, Sum
from django.utils import timezone

from qionglai.core.audit import audit_record
from qionglai.core.errors import ApplicationError
from qionglai.core.images import clean_image
from qionglai.core.notify import notify
from qionglai.users import access

from ..models import (
    CLASS_ROLE,
    Account,
    AccountKind,
    CapPeriod,
    Claim,
    ClaimStatus,
    HolderClass,
    Objection,
    ObjectionStatus,
    Rule,
    RuleList,
    TxKind,
)
from .ledger import Leg, account_open, issuance_for, lock, once, positive_points, post, remembered_rules
from .periods import month_bounds, year_bounds

MSG_RULE_INACTIVE = "该规则已停用"
MSG_RULE_CLASS = "该规则不适用于「{cls}」账户"
MSG_EVIDENCE = "该项目需要上传佐证照片"
MSG_OWN_POSITIVE_ONLY = "居民只能为自己申报正面清单项目；负面、禁止清单由社区工作人员登记"
MSG_NOT_SUBMITTED = "该申报已审核，不能重复审核"
MSG_OWN_REVIEW = "不能审核本人账户的申报"
MSG_NOT_IN_PUBLICITY = "只能对公示期内的申报提出异议"
MSG_OBJECTION_CLOSED = "该异议已处理"
MSG_REASON = "请填写理由"
MSG_NOTE = "请填写申报事由"

CLAIM_CLOSE_BATCH = 500


def _claim_points(rule: Rule, quantity: int) -> int:
    return rule.points * quantity


@transaction.atomic
def claim_submit(
    *, actor, account: Account, rule: Rule, note: str, quantity: int = 1, evidence=None
) -> Claim:
    """申报. The holder claims a positive-list item for themself; community staff record any
    list for anyone in their community (代录, shown as such). Post: status 待审核."""
    quantity = positive_points(quantity, "quantity")
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": MSG_NOTE})
    if account.kind != AccountKind.HOLDER:
        raise ValidationError({"account": "只能为个人或党组织积分账户申报"})
    own = account.user_id is not None and account.user_id == actor.pk
    staff = access.can(actor, "points.claim_record", account.path)
    if not staff:
        if not (own and access.can(actor, "points.claim_own", account.path)):
            raise PermissionDenied(access.DENIED_MESSAGE)
        if rule.list_kind != RuleList.POSITIVE:
            raise PermissionDenied(MSG_OWN_POSITIVE_ONLY)
    if not rule.active:
        raise ValidationError({"rule": MSG_RULE_INACTIVE})
    if not rule.applies_to(account.holder_class):
        raise ValidationError({"rule": MSG_RULE_CLASS.format(cls=account.get_holder_class_display())})
    if rule.evidence_required and not evidence:
        raise ValidationError({"evidence": MSG_EVIDENCE})
    claim = Claim(
        account=account,
        rule=rule,
        quantity=quantity,
        points=_claim_points(rule, quantity),
        note=note[:300],
        submitted_by=actor,
        on_behalf=not own,
        path=account.path,
    )
    if evidence:
        cleaned = clean_image(evidence, field="evidence")
        claim.evidence.save(cleaned.content.name, cleaned.content, save=False)
    claim.save()
    audit_record(
        actor=actor,
        action="points.claim.submit",
        target=claim,
        summary=f"{'代录' if claim.on_behalf else '申报'} {rule.name} {claim.points} 分",
        data={"account": account.pk, "rule": rule.code, "on_behalf": claim.on_behalf},
    )
    return claim


@transaction.atomic
def claim_review(*, actor, claim: Claim, approve: bool, note: str = "") -> Claim:
    """审核. Approve → 公示 for the rule's window (or 生效 at once when the window is 0 days);
    reject → 未通过. Pre: status 待审核; actor holds the rule's approver role over the place."""
    access.require(actor, f"points.review.{claim.rule.approver_role}", claim.path)
    claim = Claim.objects.select_for_update(of=("self",)).select_related("rule", "account").get(pk=claim.pk)
    if claim.status != ClaimStatus.SUBMITTED:
        raise ApplicationError(MSG_NOT_SUBMITTED)
    if claim.account.user_id == actor.pk:
        raise ApplicationError(MSG_OWN_REVIEW)
    now = timezone.now()
    claim.reviewed_by, claim.reviewed_at, claim.review_note = actor, now, (note or "")[:300]
    if not approve:
        claim.status = ClaimStatus.REJECTED
        claim.save()
    else:
        claim.status = ClaimStatus.PUBLICITY
        claim.publicity_ends_at = now + timedelta(days=claim.rule.publicity_days)
        claim.save()
        if claim.rule.publicity_days == 0:
            _make_effective(claim, now=now)
    audit_record(
        actor=actor,
        action="points.claim.review",
        target=claim,
        summary=f"{'通过' if approve else '不通过'}：{claim.rule.name}",
        data={"approve": approve, "note": note},
    )
    if claim.account.user_id:
        notify(
            user_ids=[claim.account.user_id],
            key=f"points.claim:{claim.pk}:review",
            title=f"积分申报「{claim.rule.name}」{'审核通过，进入公示' if approve else '未通过审核'}",
            body=note or "",
        )
    return claim


@transaction.atomic
def claim_object(*, actor, claim: Claim, reason: str) -> Objection:
    """异议. Anyone in the community may object while the claim is in publicity; the claim
    stops (异议处理中) until staff resolve the objection."""
    access.require(actor, "points.object", claim.path)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": MSG_REASON})
    claim = Claim.objects.select_for_update().get(pk=claim.pk)
    if claim.status != ClaimStatus.PUBLICITY or (
        claim.publicity_ends_at and claim.publicity_ends_at <= timezone.now()
    ):
        raise ApplicationError(MSG_NOT_IN_PUBLICITY)
    objection = Objection.objects.create(claim=claim, raised_by=actor, reason=reason[:300])
    claim.status = ClaimStatus.OBJECTED
    claim.save(update_fields=["status"])
    audit_record(actor=actor, action="points.claim.object", target=claim, summary=reason[:100])
    return objection


@transaction.atomic
def objection_resolve(*, actor, objection: Objection, uphold: bool, note: str) -> Objection:
    """Upheld → the claim is revoked; dismissed → back to publicity (the sweep closes it when
    its window has passed)."""
    objection = Objection.objects.select_for_update(of=("self",)).select_related("claim").get(pk=objection.pk)
    claim = Claim.objects.select_for_update().get(pk=objection.claim_id)
    access.require(actor, "points.manage", claim.path)
    if objection.status != ObjectionStatus.OPEN:
        raise ApplicationError(MSG_OBJECTION_CLOSED)
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": MSG_REASON})
    objection.status = ObjectionStatus.UPHELD if uphold else ObjectionStatus.DISMISSED
    objection.resolved_by, objection.resolved_at, objection.resolution = actor, timezone.now(), note[:300]
    objection.save()
    claim.status = ClaimStatus.REVOKED if uphold else ClaimStatus.PUBLICITY
    claim.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action="points.objection.resolve",
        target=claim,
        summary=f"异议{'成立' if uphold else '不成立'}",
        data={"objection": objection.pk, "note": note},
    )
    return objection


def _cap_room(claim: Claim, now) -> int | None:
    rule = claim.rule
    if rule.cap is None:
        return None
    start, end = month_bounds(now) if rule.cap_period == CapPeriod.MONTH else year_bounds(now.year)
    used = (
        Claim.objects.filter(
            account_id=claim.account_id,
            rule_id=rule.pk,
            status=ClaimStatus.EFFECTIVE,
            effective_at__gte=start,
            effective_at__lt=end,
        ).aggregate(total=Sum("points_awarded"))["total"]
        or 0
    )
    return max(0, rule.cap - used)


def _make_effective(claim: Claim, *, now) -> Claim:
    """生效: post the ledger transaction for a claim whose row the caller has locked.

    Positive → earn (capped per period); negative → deduct from balance (not below zero) and
    the full points from the score; prohibited → deduct like negative and sanction."""
    rule = claim.rule
    account = claim.account
    issuance = issuance_for(claim.path)
    key = f"claim:{claim.pk}"
    memo = f"{rule.name}：{claim.note}"[:300]
    tx = None
    if rule.list_kind == RuleList.POSITIVE:
        room = _cap_room(claim, now)
        award = claim.points if room is None else min(claim.points, room)
        if award:
            tx = post(
                kind=TxKind.EARN,
                key=key,
                legs=[Leg(issuance, -award), Leg(account, award, award)],
                path=claim.path,
                actor=claim.submitted_by,
                memo=memo,
                on_behalf=claim.on_behalf,
                at=now,
            )
        claim.points_awarded = award
    else:
        locked = lock([account]).get(account.pk, account)
        take = min(claim.points, locked.balance)
        tx = post(
            kind=TxKind.DEDUCT,
            key=key,
            legs=[Leg(account, -take, -claim.points), Leg(issuance, take)],
            path=claim.path,
            actor=claim.submitted_by,
            memo=memo,
            on_behalf=claim.on_behalf,
            at=now,
        )
        claim.points_awarded = -claim.points
        if rule.list_kind == RuleList.PROHIBITED:
            from .sanctions import sanction_create

            sanction_create(
                account=account, rule=rule, reason=claim.note, claim=claim, actor=claim.reviewed_by
            )
    claim.status = ClaimStatus.EFFECTIVE
    claim.effective_at = now
    claim.transaction = tx
    claim.save(update_fields=["status", "effective_at", "transaction", "points_awarded"])
    audit_record(
        actor=None,
        action="points.claim.effective",
        target=claim,
        summary=f"{rule.name} {claim.points_awarded:+d} 分",
        data={"transaction": tx.pk if tx else None},
    )
    if account.user_id:
        notify(
            user_ids=[account.user_id],
            key=f"points.claim:{claim.pk}:effective",
            title=f"积分「{rule.name}」已生效：{claim.points_awarded:+d} 分",
        )
    return claim


def claim_close(*, claim_id: int, now=None) -> bool:
    """Closes one publicity window that has ended. Returns False when there is nothing to do
    (already closed, objected, not due, or another worker holds it) — safe to run twice."""
    now = now or timezone.now()

    def work():
        claim = (
            Claim.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("rule", "account", "submitted_by", "reviewed_by")
            .filter(pk=claim_id, status=ClaimStatus.PUBLICITY, publicity_ends_at__lte=now)
            .first()
        )
        if claim is None:
            return False
        _make_effective(claim, now=now)
        return True

    return once(find=lambda: None, work=work)


def claims_close_due(*, now=None) -> int:
    """Beat: closes every publicity window that has ended (design §6 timers)."""
    now = now or timezone.now()
    ids = list(
        Claim.objects.filter(status=ClaimStatus.PUBLICITY, publicity_ends_at__lte=now)
        .order_by("publicity_ends_at")
        .values_list("pk", flat=True)[:CLAIM_CLOSE_BATCH]
    )
    return sum(1 for pk in ids if claim_close(claim_id=pk, now=now))


# --- awards from other apps' domain events -------------------------------------------------


def _class_for(user, rule: Rule) -> str | None:
    """The holder class this award lands in: the first of the rule's classes the person holds
    a grant for; failing that 居民, which everyone living here is."""
    for cls in rule.classes or [HolderClass.RESIDENT]:
        role = CLASS_ROLE.get(cls)
        if role and access.has_role(user, role):
            return cls
    if HolderClass.RESIDENT in (rule.classes or [HolderClass.RESIDENT]):
        return HolderClass.RESIDENT
    return None


def award_event(*, source: str, user_id: int, community_path: str, event_key: str) -> list[Claim]:
    """Awards every active rule wired to `source` (e.g. "consultation.attended") to the person,
    once per event and rule: the claim's unique source_key and the ledger's idempotency key
    both refuse a second award, so a retried or duplicated task changes nothing."""
    user = access.active_user(user_id)  # with their grants, which `_class_for` asks about
    if user is None:
        return []
    out = []
    rules = remembered_rules(
        source,
        lambda: list(Rule.objects.filter(source_event=source, active=True, list_kind=RuleList.POSITIVE)),
    )
    for rule in rules:
        holder_class = _class_for(user, rule)
        if holder_class is None:
            continue
        source_key = f"{event_key}:{rule.code}"
        # the account and whether this award was made, in one read: a first delivery then goes
        # straight to its insert (a racing duplicate collides on source_key and finds the
        # winner's claim in `once`), a repeated one reads its claim — as many reads as before
        account = (
            Account.objects.filter(kind=AccountKind.HOLDER, user=user, holder_class=holder_class)
            .annotate(awarded=Exists(Claim.objects.filter(source_key=source_key)))
            .first()
        )
        if account is None:  # opened with its first award (a claim under another class collides)
            account = account_open(user=user, holder_class=holder_class, path=community_path, unseen=True)
            account.awarded = False
        if account.awarded:
            out.append(Claim.objects.get(source_key=source_key))
            continue

        def work(rule=rule, account=account, source_key=source_key):
            now = timezone.now()
            claim = Claim.objects.create(
                account=account,
                rule=rule,
                quantity=1,
                points=rule.points,
                note=f"系统记录：{rule.name}",
                status=ClaimStatus.PUBLICITY,
                publicity_ends_at=now if rule.auto_effective else now + timedelta(days=rule.publicity_days),
                source_key=source_key,
                path=account.path,
            )
            audit_record(actor=None, action="points.claim.event", target=claim, data={"event": source_key})
            if rule.auto_effective or rule.publicity_days == 0:
                _make_effective(claim, now=now)
            return claim

        out.append(
            once(
                find=lambda k=source_key: Claim.objects.filter(source_key=k).first(),
                work=work,
                look_first=False,
            )
        )
    return out
