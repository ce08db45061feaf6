"""The resolution and what it causes (renewal project, micro-fund grant, closing a compound
problem, an incident), then 实施, 监督 and 评议."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from qionglai.core.audit import audit_record
from qionglai.core.errors import ApplicationError
from qionglai.users import access

from .. import signals
from ..models import (
    EventKind,
    Implementation,
    Invitee,
    Motion,
    MotionStatus,
    Outcome,
    OutcomeKind,
    OutcomeStatus,
    ProgressReport,
    PublicityWindow,
    Rating,
    Resolution,
    StepKind,
    SupervisionCheck,
    Topic,
    TopicStatus,
)
from .common import (
    MSG_ALREADY_RATED,
    MSG_NEEDS_PASSED_VOTE,
    MSG_NO_IMPLEMENTATION,
    MSG_NOT_PARTICIPANT,
    MSG_NOT_SUPERVISOR,
    MSG_RESOLUTION_LOCKED,
    lock_topic,
    now,
    record_event,
    require_step,
)

MSG_GRANT_NO_RESOLUTION = "审批依据无效：找不到该议事决议"
MSG_GRANT_OTHER_FUND = "审批依据无效：该决议不属于本社区微基金"
MSG_GRANT_NOT_PASSED = "审批依据无效：该决议的表决未获通过"
MSG_GRANT_NOT_PUBLISHED = "审批依据无效：决议公示期尚未结束"
MSG_GRANT_AMOUNT = "审批依据无效：决议申请的资助金额为 {amount} 元，与本次支出不符"
MSG_OUTCOME_STEP = "决议事项须在「实施」步骤落实"
DEFAULT_INCIDENT_CATEGORY = "1201"  # 其他 / 其他事项, when the resolution names no category


def _money(value, field: str) -> Decimal:
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise ValidationError({field: "请输入有效金额"}) from None
    if amount <= 0:
        raise ValidationError({field: "金额必须大于 0"})
    return amount


def check_grant_approval(reference: str, fund, amount: Decimal) -> str | None:
    """projects asks this before any micro-fund grant "consultation.resolution:<id>": the
    resolution must belong to the fund's community, rest on a passed vote, have finished its
    publicity, and have asked for exactly this amount."""
    try:
        pk = int(reference.split(":", 1)[1])
    except (IndexError, ValueError):
        return MSG_GRANT_NO_RESOLUTION
    resolution = Resolution.objects.select_related("topic", "motion").filter(pk=pk).first()
    if resolution is None:
        return MSG_GRANT_NO_RESOLUTION
    if resolution.topic.community_id != fund.community_id:
        return MSG_GRANT_OTHER_FUND
    if not resolution.motion.passed:
        return MSG_GRANT_NOT_PASSED
    if not PublicityWindow.objects.filter(
        topic=resolution.topic, step__kind=StepKind.RESOLUTION_NOTICE, closed_at__isnull=False
    ).exists():
        return MSG_GRANT_NOT_PUBLISHED
    requested = (
        resolution.outcomes.filter(kind=OutcomeKind.FUND_GRANT).values_list("amount", flat=True).first()
    )
    if requested is None or Decimal(requested) != Decimal(amount):
        return MSG_GRANT_AMOUNT.format(amount=requested or 0)
    return None


def _clean_outcomes(topic: Topic, outcomes: list[dict]) -> list[Outcome]:
    from projects.models import CompoundProblem, RenewalKind

    rows, grants = [], 0
    for i, spec in enumerate(outcomes):
        kind = spec.get("kind")
        title = (spec.get("title") or "").strip()
        key = f"outcomes.{i}"
        if kind not in OutcomeKind.values:
            raise ValidationError({key: "请选择决议事项类型"})
        row = Outcome(kind=kind, title=title or OutcomeKind(kind).label)
        if kind == OutcomeKind.FUND_GRANT:
            grants += 1
            row.amount = _money(spec.get("amount"), key)
        elif kind == OutcomeKind.RENEWAL:
            if not title:
                raise ValidationError({key: "请填写更新项目名称"})
            row.renewal_kind = spec.get("renewal_kind") or RenewalKind.MICRO_RENEWAL
            if row.renewal_kind not in RenewalKind.values:
                raise ValidationError({key: "无效的项目类型"})
            if spec.get("amount") not in (None, ""):
                row.amount = _money(spec["amount"], key)
        elif kind == OutcomeKind.CLOSE_PROBLEM:
            problem = spec.get("problem")
            if isinstance(problem, int):
                problem = CompoundProblem.objects.filter(pk=problem).first()
            if problem is None or problem.compound.community_id != topic.community_id:
                raise ValidationError({key: "请选择本社区小区问题清单中的问题"})
            row.problem = problem
        elif kind == OutcomeKind.INCIDENT:
            from grids.models import Category

            # checked now: once the resolution is published it cannot change, so a category
            # the grid line would refuse would leave the outcome (and the topic) stuck in 实施
            code = str(spec.get("incident_category") or DEFAULT_INCIDENT_CATEGORY)[:32]
            if not Category.objects.filter(code=code, active=True).exists():
                raise ValidationError({key: f"事件类别「{code}」不存在或已停用，请选择有效的事件类别"})
            row.incident_category = code
        rows.append(row)
    if grants > 1:
        raise ValidationError({"outcomes": "一项决议只能申请一笔微基金资助"})
    return rows


def resolution_record(*, actor, topic: Topic, text: str, outcomes: list[dict] = ()) -> Resolution:
    """Writes the resolution (during 决议公示, before its notice is published) on the latest
    passed motion; re-recording replaces text and outcomes until the notice goes out."""
    access.require(actor, "consultation.manage", topic.path)
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "请填写决议内容"})
    with transaction.atomic():
        topic = lock_topic(topic)
        step = require_step(topic, StepKind.RESOLUTION_NOTICE)
        if PublicityWindow.objects.filter(topic=topic, step=step).exists():
            raise ApplicationError(MSG_RESOLUTION_LOCKED)
        motion = (
            Motion.objects.filter(topic=topic, status=MotionStatus.CLOSED, passed=True)
            .order_by("-closed_at")
            .first()
        )
        if motion is None:
            raise ApplicationError(MSG_NEEDS_PASSED_VOTE)
        rows = _clean_outcomes(topic, list(outcomes))
        resolution = Resolution.objects.filter(topic=topic).first()
        if resolution is None:
            resolution = Resolution.objects.create(topic=topic, motion=motion, text=text, created_by=actor)
        else:
            resolution.text, resolution.motion = text, motion
            resolution.save(update_fields=["text", "motion"])
            resolution.outcomes.all().delete()  # nothing executed yet: the notice is not out
        for row in rows:
            row.resolution = resolution
        Outcome.objects.bulk_create(rows)
        record_event(topic=topic, actor=actor, kind=EventKind.RESOLUTION, note=text[:200])
        audit_record(
            actor=actor,
            action="resolution.record",
            target=resolution,
            path=topic.path,
            data={"outcomes": [(r.kind, str(r.amount or "")) for r in rows]},
        )
    return resolution


def outcome_execute(*, actor, outcome: Outcome, note: str = "") -> Outcome:
    """Carries out one resolution item, once. A grant goes through projects.fund_grant with the
    resolution as its approval and the outcome as its idempotency key, so a retry never pays
    twice and an empty fund refuses (the balance never goes below zero)."""
    from projects import services as project_services

    topic = outcome.resolution.topic
    access.require(actor, "consultation.manage", topic.path)
    with transaction.atomic():
        topic = lock_topic(topic)
        if topic.status != TopicStatus.ACTIVE or topic.current_step.kind != StepKind.IMPLEMENT:
            raise ApplicationError(MSG_OUTCOME_STEP)
        outcome = Outcome.objects.select_for_update().select_related("resolution").get(pk=outcome.pk)
        if outcome.status == OutcomeStatus.DONE:
            return outcome
        resolution = outcome.resolution
        if outcome.kind == OutcomeKind.FUND_GRANT:
            entry = project_services.fund_grant(
                actor=actor,
                fund=topic.community.fund,
                amount=outcome.amount,
                approval_ref=resolution.approval_ref,
                idempotency_key=f"consultation.outcome:{outcome.pk}",
                note=f"议事决议资助：{topic.title}"[:300],
            )
            outcome.result_ref = f"projects.fundentry:{entry.pk}"
        elif outcome.kind == OutcomeKind.RENEWAL:
            project = project_services.renewal_create(
                actor=actor,
                community=topic.community,
                compound=topic.compound,
                name=outcome.title,
                kind=outcome.renewal_kind,
                budget=outcome.amount or Decimal("0"),
                funding_sources="议事决议",
                source_ref=resolution.approval_ref,
            )
            outcome.result_ref = f"projects.renewalproject:{project.pk}"
        elif outcome.kind == OutcomeKind.CLOSE_PROBLEM:
            project_services.problem_set_status(
                actor=actor,
                problem=outcome.problem,
                status="resolved",
                resolution=note or resolution.text[:500],
            )
            outcome.result_ref = f"projects.compoundproblem:{outcome.problem_id}"
        else:
            from .topics import _report_incident

            incident = _report_incident(
                actor=actor,
                topic=topic,
                category=outcome.incident_category or DEFAULT_INCIDENT_CATEGORY,
                urgency="blue",
                description=f"{outcome.title}\n（议事决议转办：{topic.title}）",
            )
            outcome.result_ref = f"grids.incident:{incident.pk}"
        outcome.status, outcome.executed_by, outcome.executed_at = OutcomeStatus.DONE, actor, now()
        outcome.save(update_fields=["status", "result_ref", "executed_by", "executed_at"])
        record_event(
            topic=topic,
            actor=actor,
            kind=EventKind.OUTCOME,
            note=f"{outcome.get_kind_display()}：{outcome.title}",
            data={"outcome": outcome.pk, "result": outcome.result_ref},
        )
        audit_record(
            actor=actor, action="outcome.execute", target=outcome, path=topic.path, summary=outcome.result_ref
        )
    return outcome


def implementation_set(
    *, actor, topic: Topic, owner: str, budget, deadline: date, supervisor=None
) -> Implementation:
    access.require(actor, "consultation.manage", topic.path)
    owner = (owner or "").strip()
    errors = {}
    if not owner:
        errors["owner"] = "请填写实施负责人"
    try:
        budget = Decimal(str(budget)).quantize(Decimal("0.01"))
        if budget < 0:
            errors["budget"] = "预算不能为负数"
    except (InvalidOperation, ValueError):
        errors["budget"] = "请输入有效金额"
    if not isinstance(deadline, date):
        errors["deadline"] = "请填写完成期限"
    elif deadline < timezone.localdate():
        errors["deadline"] = "完成期限不能早于今天"
    if supervisor is not None and not access.can(supervisor, "consultation.supervise", topic.path):
        errors["supervisor"] = "居民监督员须为本社区居民或党员"
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        topic = lock_topic(topic)
        require_step(topic, StepKind.IMPLEMENT)
        impl, _created = Implementation.objects.update_or_create(
            topic=topic,
            defaults={"owner": owner[:100], "budget": budget, "deadline": deadline, "supervisor": supervisor},
        )
        record_event(
            topic=topic,
            actor=actor,
            kind=EventKind.IMPLEMENTATION,
            note=f"负责人 {owner}，预算 {budget} 元，期限 {deadline:%Y-%m-%d}",
        )
        audit_record(actor=actor, action="implementation.set", target=impl, path=topic.path)
    return impl


def implementation_progress(*, actor, topic: Topic, progress: int, note: str = "") -> Implementation:
    access.require(actor, "consultation.manage", topic.path)
    try:
        progress = int(progress)
    except (TypeError, ValueError):
        raise ValidationError({"progress": "请输入 0 到 100 的整数"}) from None
    if not 0 <= progress <= 100:
        raise ValidationError({"progress": "请输入 0 到 100 的整数"})
    with transaction.atomic():
        topic = lock_topic(topic)
        require_step(topic, StepKind.IMPLEMENT)
        impl = Implementation.objects.select_for_update().filter(topic=topic).first()
        if impl is None:
            raise ApplicationError(MSG_NO_IMPLEMENTATION)
        impl.progress = progress
        impl.save(update_fields=["progress", "updated_at"])
        ProgressReport.objects.create(
            implementation=impl, progress=progress, note=note[:500], reported_by=actor
        )
        record_event(
            topic=topic, actor=actor, kind=EventKind.IMPLEMENTATION, note=f"进度 {progress}% {note}"[:500]
        )
        audit_record(
            actor=actor, action="implementation.progress", target=impl, path=topic.path, summary=str(progress)
        )
    return impl


def supervision_record(*, actor, topic: Topic, note: str, satisfactory: bool = True) -> SupervisionCheck:
    """The resident supervisor's check (during 实施 or 监督)."""
    access.require(actor, "consultation.supervise", topic.path)
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": "请填写检查情况"})
    with transaction.atomic():
        topic = lock_topic(topic)
        require_step(topic, StepKind.IMPLEMENT, StepKind.SUPERVISE)
        impl = Implementation.objects.filter(topic=topic).first()
        if impl is None or impl.supervisor_id != actor.pk:
            raise ApplicationError(MSG_NOT_SUPERVISOR)
        check = SupervisionCheck.objects.create(
            topic=topic, supervisor=actor, note=note, satisfactory=satisfactory
        )
        record_event(topic=topic, actor=actor, kind=EventKind.SUPERVISION, note=note[:200])
        audit_record(actor=actor, action="supervision.record", target=check, path=topic.path)
        signals.supervision_recorded.send(
            sender=SupervisionCheck,
            topic_id=topic.pk,
            user_id=actor.pk,
            community_path=topic.community.path,
            event_key=f"consultation:supervised:{topic.pk}:{actor.pk}",
        )
    return check


def is_participant(user, topic: Topic) -> bool:
    return (
        topic.proposer_id == user.pk
        or Invitee.objects.filter(Q(meeting__topic=topic), user=user, signed_in_at__isnull=False).exists()
    )


def rating_submit(*, actor, topic: Topic, score: int, comment: str = "") -> Rating:
    access.require(actor, "consultation.rate", topic.path)
    try:
        score = int(score)
    except (TypeError, ValueError):
        raise ValidationError({"score": "请选择 1 到 5 分"}) from None
    if not 1 <= score <= 5:
        raise ValidationError({"score": "请选择 1 到 5 分"})
    with transaction.atomic():
        topic = lock_topic(topic)
        require_step(topic, StepKind.EVALUATE)
        if not is_participant(actor, topic):
            raise ApplicationError(MSG_NOT_PARTICIPANT)
        if Rating.objects.filter(topic=topic, round=topic.round, rater=actor).exists():
            raise ApplicationError(MSG_ALREADY_RATED)
        try:
            with transaction.atomic():
                rating = Rating.objects.create(
                    topic=topic, round=topic.round, rater=actor, score=score, comment=(comment or "")[:500]
                )
        except IntegrityError:
            raise ApplicationError(MSG_ALREADY_RATED) from None
        record_event(topic=topic, actor=actor, kind=EventKind.RATED, note=f"{score} 分")
        audit_record(actor=actor, action="topic.rate", target=topic, path=topic.path, summary=str(score))
    return rating
