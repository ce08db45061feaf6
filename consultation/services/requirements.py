"""What a step needs before it can be completed — one function, used by the advance service
(to refuse) and by the pages and API (to show the checklist)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from ..models import (
    Implementation,
    Invitee,
    MeetingStatus,
    Motion,
    MotionStatus,
    Option,
    Outcome,
    OutcomeStatus,
    PublicityWindow,
    RecordKind,
    Resolution,
    StepKind,
    TemplateStep,
    Topic,
)


@dataclass(frozen=True)
class Requirement:
    code: str
    label: str
    met: bool
    detail: str = ""


def _record(topic: Topic, step: TemplateStep, kind: str) -> Requirement:
    label = RecordKind(kind).label if kind in RecordKind.values else kind
    if kind == RecordKind.SIGN_IN:
        met = Invitee.objects.filter(meeting__topic=topic, signed_in_at__isnull=False).exists()
        return Requirement("record:sign_in", f"{label}：至少 1 人签到", met)
    if kind == RecordKind.MINUTES:
        met = topic.meetings.filter(status=MeetingStatus.CLOSED).exclude(minutes="").exists()
        return Requirement("record:minutes", f"{label}：会议已结束并填写纪要", met)
    if kind == RecordKind.VOTE_RECORD:
        met = topic.motions.filter(status=MotionStatus.CLOSED).exists()
        return Requirement("record:vote_record", f"{label}：表决已结束并计票", met)
    if kind == RecordKind.PUBLICITY_PHOTO:
        met = topic.attachments.filter(step=step, meeting__isnull=True).exists()
        return Requirement("record:publicity_photo", f"{label}：已上传张贴照片", met)
    return Requirement(f"record:{kind}", label, False, "未知的记录类型")


def _publicity(topic: Topic, step: TemplateStep) -> list[Requirement]:
    window = PublicityWindow.objects.filter(topic=topic, step=step).first()
    days = max(step.min_days, 1)
    out = [Requirement("publicity:opened", "已发布公示", window is not None)]
    if window is None:
        out.append(Requirement("publicity:closed", f"公示期满（不少于 {days} 天）", False))
    else:
        local_end = timezone.localtime(window.ends_at)
        out.append(
            Requirement(
                "publicity:closed",
                f"公示期满（不少于 {days} 天）",
                window.closed_at is not None,
                "" if window.closed_at else f"将于 {local_end:%Y-%m-%d %H:%M} 期满",
            )
        )
        pending = window.objections.filter(replied_at__isnull=True).count()
        out.append(
            Requirement(
                "publicity:objections",
                "公示期内的异议均已答复",
                pending == 0,
                f"还有 {pending} 条异议待答复" if pending else "",
            )
        )
    return out


def step_requirements(topic: Topic, step: TemplateStep | None = None) -> list[Requirement]:
    step = step or topic.current_step
    kind = step.kind
    out: list[Requirement] = []
    if kind == StepKind.PROPOSE:
        out.append(
            Requirement(
                "propose:content",
                "议题已写明内容与范围",
                bool(topic.title.strip() and topic.description.strip()),
            )
        )
    elif kind == StepKind.REVIEW:
        out.append(Requirement("review:decision", "社区党组织作出审议结论", False))
    elif kind == StepKind.NOTICE:
        out += _publicity(topic, step)
        out.append(
            Requirement(
                "notice:invited",
                "已安排小圆桌会议并邀请参会人员",
                Invitee.objects.filter(meeting__topic=topic).exists(),
            )
        )
    elif kind == StepKind.DELIBERATE:
        out.append(
            Requirement(
                "deliberate:held",
                "小圆桌会议已召开",
                topic.meetings.filter(status__in=[MeetingStatus.OPEN, MeetingStatus.CLOSED]).exists(),
            )
        )
        out.append(
            Requirement(
                "deliberate:options",
                "会上至少提出 1 个方案",
                Option.objects.filter(meeting__topic=topic).exists(),
            )
        )
    elif kind == StepKind.VOTE:
        last = (
            Motion.objects.filter(topic=topic, status=MotionStatus.CLOSED)
            .order_by("-closed_at", "-id")
            .first()
        )
        detail = ""
        if last is not None and not last.passed:
            detail = "最近一次表决未达到法定人数" if not last.quorum_met else "最近一次表决未获通过"
        out.append(Requirement("vote:passed", "表决获得通过", bool(last and last.passed), detail))
    elif kind == StepKind.RESOLUTION_NOTICE:
        out.append(
            Requirement("resolution:recorded", "已形成决议", Resolution.objects.filter(topic=topic).exists())
        )
        out += _publicity(topic, step)
    elif kind == StepKind.IMPLEMENT:
        impl = Implementation.objects.filter(topic=topic).first()
        out.append(Requirement("implement:plan", "已明确实施负责人、预算与期限", impl is not None))
        pending = Outcome.objects.filter(resolution__topic=topic, status=OutcomeStatus.PENDING).count()
        out.append(
            Requirement(
                "implement:outcomes",
                "决议事项均已落实",
                pending == 0,
                f"还有 {pending} 项待落实" if pending else "",
            )
        )
        out.append(
            Requirement(
                "implement:done",
                "实施进度达到 100%",
                bool(impl and impl.progress >= 100),
                f"当前 {impl.progress}%" if impl else "",
            )
        )
    elif kind == StepKind.SUPERVISE:
        out.append(
            Requirement(
                "supervise:checked",
                "居民监督员已记录监督检查",
                topic.supervision_checks.filter(at__gte=topic.step_started_at).exists(),
            )
        )
    elif kind == StepKind.EVALUATE:
        out.append(
            Requirement("evaluate:rated", "参与者已评议", topic.ratings.filter(round=topic.round).exists())
        )

    for record in step.required_records or []:
        out.append(_record(topic, step, record))
    if step.min_days and kind not in (StepKind.NOTICE, StepKind.RESOLUTION_NOTICE):
        until = topic.step_started_at + timedelta(days=step.min_days)
        out.append(
            Requirement(
                "min_days",
                f"本步骤至少进行 {step.min_days} 天",
                timezone.now() >= until,
                f"{timezone.localtime(until):%Y-%m-%d %H:%M} 后可完成",
            )
        )
    return out
