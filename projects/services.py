"""Every change to the registry. Each function is keyword-only, checks the actor's grant
through `qionglai.users.access`, runs in one transaction and writes its audit row."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F

from qionglai.core.audit import audit_record
from qionglai.core.errors import ApplicationError
from qionglai.core.images import clean_image
from qionglai.users import access

from .models import (
    RENEWAL_NEXT,
    Community,
    CommunityPlan,
    Compound,
    CompoundProblem,
    ContributionBasis,
    FundEntry,
    FundEntryKind,
    MicroFund,
    ProblemStatus,
    RenewalEvent,
    RenewalPhoto,
    RenewalProject,
    RenewalStatus,
    Scene,
    SharedSupermarket,
    SupermarketMonth,
    Town,
)

CODE_RE = re.compile(r"^[0-9a-z]+$")
CENT = Decimal("0.01")

MSG_CODE = "编码只能由小写字母和数字组成"
MSG_AMOUNT_POSITIVE = "金额必须大于 0"
MSG_FUND_INSUFFICIENT = "微基金余额不足（当前余额 {balance} 元）"
MSG_GRANT_NEEDS_APPROVAL = "资助支出必须注明审批依据（如议事决议编号）"
MSG_MONTH_RECORDED = "{month:%Y年%m月} 的经营数据已登记，不能重复登记"
MSG_RENEWAL_FINAL = "项目已完成评估，不能再推进"
MSG_PROBLEM_FINAL = "该问题已办结，不能再修改状态"
MSG_NEGATIVE_REVENUE = "营业收入不能为负数"

INFLOW_KINDS = {FundEntryKind.SUPERMARKET, FundEntryKind.DONATION, FundEntryKind.TRANSFER}
MSG_APPROVAL_UNKNOWN = "审批依据无效：资助只能依据已通过的议事决议"

# Grants rest on an approval that a higher app vouches for. consultation registers a checker
# for "consultation.resolution:<id>" at start-up (projects cannot import it: apps depend
# downwards). A reference whose prefix nobody vouches for is refused.
APPROVAL_CHECKS: dict[str, Callable[[str, MicroFund, Decimal], str | None]] = {}


def register_approval_check(prefix: str, check: Callable[[str, MicroFund, Decimal], str | None]) -> None:
    """`check(reference, fund, amount)` returns None when the approval holds, else a message."""
    APPROVAL_CHECKS[prefix] = check


def _check_approval(reference: str, fund: MicroFund, amount: Decimal) -> None:
    prefix = reference.split(":", 1)[0]
    check = APPROVAL_CHECKS.get(prefix)
    if check is None:
        raise ValidationError({"approval_ref": MSG_APPROVAL_UNKNOWN})
    problem = check(reference, fund, amount)
    if problem:
        raise ValidationError({"approval_ref": problem})


def _check_code(code: str) -> str:
    code = (code or "").strip().lower()
    if not CODE_RE.match(code):
        raise ValidationError({"code": MSG_CODE})
    return code


def _full_clean(instance, exclude=None) -> None:
    # Model validation gives field-keyed messages in the active language (zh-hans).
    instance.full_clean(exclude=exclude)


# --- places ----------------------------------------------------------------------------


@transaction.atomic
def town_create(*, actor, code: str, name: str, kind: str = "town") -> Town:
    """Creates a town under the city. Pre: actor may edit city-level places."""
    access.require(actor, "projects.edit_city", settings.CITY_PATH)
    code = _check_code(code)
    town = Town(code=code, name=(name or "").strip(), kind=kind, path=f"{settings.CITY_PATH}.{code}")
    _full_clean(town)
    town.save()
    audit_record(actor=actor, action="town.create", target=town, summary=town.name)
    return town


@transaction.atomic
def town_update(*, actor, town: Town, name: str, kind: str) -> Town:
    access.require(actor, "projects.edit_city", town.path)
    town = Town.objects.select_for_update().get(pk=town.pk)
    before = {"name": town.name, "kind": town.kind}
    town.name, town.kind = (name or "").strip(), kind
    _full_clean(town)
    town.save()
    audit_record(actor=actor, action="town.update", target=town, data={"before": before})
    return town


@transaction.atomic
def community_create(*, actor, town: Town, code: str, name: str, **fields) -> Community:
    access.require(actor, "projects.edit_town", town.path)
    code = _check_code(code)
    community = Community(
        town=town, code=code, name=(name or "").strip(), path=f"{town.path}.{code}", **fields
    )
    _full_clean(community)
    community.save()
    MicroFund.objects.get_or_create(
        community=community, defaults={"name": f"{community.name}微基金", "path": community.path}
    )
    audit_record(actor=actor, action="community.create", target=community, summary=community.name)
    return community


COMMUNITY_EDITABLE = {
    "name",
    "kind",
    "community_class",
    "is_demonstration",
    "is_future_park",
    "households",
    "population",
}


@transaction.atomic
def community_update(*, actor, community: Community, **changes) -> Community:
    access.require(actor, "projects.edit", community.path)
    unknown = set(changes) - COMMUNITY_EDITABLE
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "该字段不能修改"))
    community = Community.objects.select_for_update().get(pk=community.pk)
    before = {k: str(getattr(community, k)) for k in changes}
    for key, value in changes.items():
        setattr(community, key, value)
    _full_clean(community)
    community.save()
    audit_record(
        actor=actor,
        action="community.update",
        target=community,
        data={"before": before, "after": {k: str(v) for k, v in changes.items()}},
    )
    return community


@transaction.atomic
def compound_create(*, actor, community: Community, code: str, name: str, **fields) -> Compound:
    access.require(actor, "projects.edit", community.path)
    code = _check_code(code)
    compound = Compound(
        community=community,
        code=code,
        name=(name or "").strip(),
        path=f"{community.path}.{code}",
        **fields,
    )
    _full_clean(compound)
    compound.save()
    audit_record(actor=actor, action="compound.create", target=compound, summary=compound.name)
    return compound


COMPOUND_EDITABLE = {
    "name",
    "kind",
    "governance_mode",
    "property_company",
    "households",
    "renovated",
    "is_smart",
    "smart_devices",
}


@transaction.atomic
def compound_update(*, actor, compound: Compound, **changes) -> Compound:
    access.require(actor, "projects.edit", compound.path)
    unknown = set(changes) - COMPOUND_EDITABLE
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "该字段不能修改"))
    compound = Compound.objects.select_for_update().get(pk=compound.pk)
    before = {k: str(getattr(compound, k)) for k in changes}
    for key, value in changes.items():
        setattr(compound, key, value)
    _full_clean(compound)
    compound.save()
    audit_record(actor=actor, action="compound.update", target=compound, data={"before": before})
    return compound


@transaction.atomic
def plan_save(
    *,
    actor,
    community: Community,
    year: int,
    goals: str,
    measures: str = "",
    scene_codes: list[str] = (),
    phase: str = "steady",
) -> CommunityPlan:
    """Creates or replaces the community's 一社一策 for `year`."""
    access.require(actor, "projects.edit", community.path)
    scenes = list(Scene.objects.filter(code__in=list(scene_codes)))
    if len(scenes) != len(set(scene_codes)):
        raise ValidationError({"scenes": "包含不存在的场景"})
    plan = CommunityPlan.objects.select_for_update().filter(
        community=community, year=year
    ).first() or CommunityPlan(community=community, year=year, path=community.path)
    plan.goals, plan.measures, plan.phase = goals, measures, phase
    _full_clean(plan)
    plan.save()
    plan.scenes.set(scenes)
    audit_record(actor=actor, action="plan.save", target=plan, summary=f"{year}")
    return plan


# --- 小区问题清单 ------------------------------------------------------------------------


@transaction.atomic
def problem_raise(
    *, actor, compound: Compound, title: str, description: str = "", source: str = "resident"
) -> CompoundProblem:
    access.require(actor, "projects.problem_raise", compound.path)
    problem = CompoundProblem(
        compound=compound,
        title=(title or "").strip(),
        description=description,
        source=source,
        raised_by=actor,
        path=compound.path,
    )
    _full_clean(problem, exclude=["raised_by"])
    problem.save()
    audit_record(actor=actor, action="problem.raise", target=problem, summary=problem.title)
    return problem


FINAL_PROBLEM_STATES = {ProblemStatus.RESOLVED, ProblemStatus.CLOSED, ProblemStatus.TO_INCIDENT}


@transaction.atomic
def problem_set_status(
    *, actor, problem: CompoundProblem, status: str, resolution: str = "", owner_department=None
) -> CompoundProblem:
    """Moves a 小区问题清单 item. Consultation and grids call it when a topic or incident
    takes the problem over (status to_topic / to_incident) or a resolution closes it."""
    access.require(actor, "projects.edit", problem.path)
    problem = CompoundProblem.objects.select_for_update().get(pk=problem.pk)
    if problem.status in FINAL_PROBLEM_STATES:
        raise ApplicationError(MSG_PROBLEM_FINAL)
    if status not in ProblemStatus.values:
        raise ValidationError({"status": "无效的状态"})
    before = problem.status
    problem.status = status
    if resolution:
        problem.resolution = resolution
    if owner_department is not None:
        problem.owner_department = owner_department
    problem.save()
    audit_record(actor=actor, action="problem.status", target=problem, data={"from": before, "to": status})
    return problem


# --- renewal projects --------------------------------------------------------------------


@transaction.atomic
def renewal_create(
    *,
    actor,
    community: Community,
    name: str,
    kind: str,
    compound: Compound | None = None,
    scene: Scene | None = None,
    site: str = "",
    budget: Decimal = Decimal("0"),
    funding_sources: str = "",
    source_ref: str = "",
) -> RenewalProject:
    access.require(actor, "projects.edit", community.path)
    if compound is not None and compound.community_id != community.pk:
        raise ValidationError({"compound": "该小区不属于此社区"})
    project = RenewalProject(
        community=community,
        compound=compound,
        name=(name or "").strip(),
        kind=kind,
        scene=scene,
        site=site,
        budget=budget,
        funding_sources=funding_sources,
        source_ref=source_ref,
        path=compound.path if compound else community.path,
    )
    _full_clean(project)
    project.save()
    RenewalEvent.objects.create(
        project=project, actor=actor, from_status="", to_status=project.status, note="创建项目"
    )
    audit_record(actor=actor, action="renewal.create", target=project, summary=project.name)
    return project


@transaction.atomic
def renewal_advance(*, actor, project: RenewalProject, note: str = "") -> RenewalProject:
    """规划 → 立项 → 实施 → 完工 → 评估, one step at a time."""
    access.require(actor, "projects.edit", project.path)
    project = RenewalProject.objects.select_for_update().get(pk=project.pk)
    nxt = RENEWAL_NEXT.get(RenewalStatus(project.status))
    if nxt is None:
        raise ApplicationError(MSG_RENEWAL_FINAL)
    before = project.status
    project.status = nxt
    project.save(update_fields=["status", "updated_at"])
    RenewalEvent.objects.create(
        project=project, actor=actor, from_status=before, to_status=nxt, note=note[:300]
    )
    audit_record(actor=actor, action="renewal.advance", target=project, data={"from": before, "to": nxt})
    return project


@transaction.atomic
def renewal_add_photo(*, actor, project: RenewalProject, upload, caption: str = "") -> RenewalPhoto:
    access.require(actor, "projects.edit", project.path)
    cleaned = clean_image(upload, field="image")
    photo = RenewalPhoto(project=project, caption=caption[:150], uploaded_by=actor)
    photo.image.save(cleaned.content.name, cleaned.content, save=False)
    photo.thumbnail.save(cleaned.thumbnail.name, cleaned.thumbnail, save=False)
    photo.save()
    audit_record(actor=actor, action="renewal.photo", target=project, data={"photo": photo.pk})
    return photo


# --- micro-fund -------------------------------------------------------------------------


def _money(amount) -> Decimal:
    try:
        value = Decimal(str(amount)).quantize(CENT, rounding=ROUND_HALF_UP)
    except Exception:
        raise ValidationError({"amount": "请输入有效金额"}) from None
    if value <= 0:
        raise ValidationError({"amount": MSG_AMOUNT_POSITIVE})
    return value


def _existing(idempotency_key: str) -> FundEntry | None:
    return FundEntry.objects.filter(idempotency_key=idempotency_key).first()


def _post(
    *,
    fund: MicroFund,
    kind: str,
    delta: Decimal,
    idempotency_key: str,
    actor,
    note: str,
    approval_ref: str = "",
) -> FundEntry:
    """Moves the balance with one conditional UPDATE (a grant succeeds only while the balance
    covers it, so two concurrent grants cannot both spend the same yuan) and writes the entry
    in the same transaction."""
    updated = MicroFund.objects.filter(pk=fund.pk, balance__gte=-delta if delta < 0 else 0).update(
        balance=F("balance") + delta
    )
    if not updated:
        current = MicroFund.objects.only("balance").get(pk=fund.pk).balance
        raise ValidationError({"amount": MSG_FUND_INSUFFICIENT.format(balance=current)})
    balance_after = MicroFund.objects.only("balance").get(pk=fund.pk).balance
    return FundEntry.objects.create(
        fund=fund,
        kind=kind,
        amount=delta,
        balance_after=balance_after,
        approval_ref=approval_ref,
        idempotency_key=idempotency_key,
        note=note[:300],
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )


def fund_inflow(
    *, actor, fund: MicroFund, kind: str, amount, idempotency_key: str, note: str = ""
) -> FundEntry:
    """Credits the fund. Running it again with the same key returns the first entry."""
    access.require(actor, "projects.fund_manage", fund.path)
    if kind not in INFLOW_KINDS:
        raise ValidationError({"kind": "无效的入账类型"})
    value = _money(amount)
    if existing := _existing(idempotency_key):
        return existing
    try:
        with transaction.atomic():
            entry = _post(
                fund=fund,
                kind=kind,
                delta=value,
                idempotency_key=idempotency_key,
                actor=actor,
                note=note,
            )
            audit_record(
                actor=actor,
                action="fund.inflow",
                target=fund,
                data={"amount": str(value), "kind": kind},
            )
    except IntegrityError:
        if existing := _existing(idempotency_key):  # a concurrent retry won the race
            return existing
        raise
    return entry


def fund_grant(
    *, actor, fund: MicroFund, amount, approval_ref: str, idempotency_key: str, note: str = ""
) -> FundEntry:
    """Pays a grant out of the fund: never below zero, once per key, and only with an approval
    reference (consultation passes its resolution's reference)."""
    access.require(actor, "projects.fund_manage", fund.path)
    value = _money(amount)
    if not (approval_ref or "").strip():
        raise ValidationError({"approval_ref": MSG_GRANT_NEEDS_APPROVAL})
    if existing := _existing(idempotency_key):
        return existing
    _check_approval(approval_ref.strip(), fund, value)
    try:
        with transaction.atomic():
            entry = _post(
                fund=fund,
                kind=FundEntryKind.GRANT,
                delta=-value,
                idempotency_key=idempotency_key,
                actor=actor,
                note=note,
                approval_ref=approval_ref.strip(),
            )
            audit_record(
                actor=actor,
                action="fund.grant",
                target=fund,
                data={"amount": str(value), "approval_ref": approval_ref},
            )
    except IntegrityError:
        if existing := _existing(idempotency_key):
            return existing
        raise
    return entry


# --- shared supermarket -----------------------------------------------------------------


def contribution_for(*, supermarket: SharedSupermarket, revenue: Decimal, net_profit: Decimal) -> Decimal:
    base = revenue if supermarket.contribution_basis == ContributionBasis.REVENUE else net_profit
    if base <= 0:
        return Decimal("0.00")
    return (base * supermarket.contribution_rate).quantize(CENT, rounding=ROUND_HALF_UP)


def supermarket_record_month(
    *, actor, supermarket: SharedSupermarket, month: date, revenue, net_profit
) -> SupermarketMonth:
    """Records one month's figures and posts the micro-fund contribution exactly once.

    A second call for the same month is refused (MSG_MONTH_RECORDED); the fund entry's
    idempotency key makes a retried post a no-op even if it raced past that check.
    """
    access.require(actor, "projects.fund_manage", supermarket.path)
    month = month.replace(day=1)
    try:
        revenue = Decimal(str(revenue)).quantize(CENT)
        net_profit = Decimal(str(net_profit)).quantize(CENT)
    except Exception:
        raise ValidationError({"revenue": "请输入有效金额"}) from None
    if revenue < 0:
        raise ValidationError({"revenue": MSG_NEGATIVE_REVENUE})
    if SupermarketMonth.objects.filter(supermarket=supermarket, month=month).exists():
        raise ApplicationError(MSG_MONTH_RECORDED.format(month=month))
    contribution = contribution_for(supermarket=supermarket, revenue=revenue, net_profit=net_profit)
    try:
        with transaction.atomic():
            record = SupermarketMonth.objects.create(
                supermarket=supermarket,
                month=month,
                revenue=revenue,
                net_profit=net_profit,
                contribution=contribution,
                recorded_by=actor,
            )
            if contribution > 0:
                fund = MicroFund.objects.get(community_id=supermarket.community_id)
                record.fund_entry = _post(
                    fund=fund,
                    kind=FundEntryKind.SUPERMARKET,
                    delta=contribution,
                    idempotency_key=f"supermarket:{supermarket.pk}:{month:%Y-%m}",
                    actor=actor,
                    note=f"{supermarket.name} {month:%Y年%m月} 收益提取（{supermarket.get_contribution_basis_display()} × {supermarket.contribution_rate * 100:.1f}%）",
                )
                record.save(update_fields=["fund_entry"])
            audit_record(
                actor=actor,
                action="supermarket.month",
                target=supermarket,
                data={
                    "month": f"{month:%Y-%m}",
                    "revenue": str(revenue),
                    "net_profit": str(net_profit),
                    "contribution": str(contribution),
                },
            )
    except IntegrityError:
        raise ApplicationError(MSG_MONTH_RECORDED.format(month=month)) from None
    return record
