"""Shared pieces of the consultation services: messages, locking, history, notifications."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from qionglai.core.errors import ApplicationError
from qionglai.core.locks import lock_one
from qionglai.core.notify import notify
from qionglai.users import access
from qionglai.users.models import Role

from ..models import StepKind, TemplateStep, Topic, TopicEvent, TopicStatus

# Message texts are constants so tests (and the API's 400s) assert them exactly.
MSG_NOT_ACTIVE = "议题已「{status}」，不能再办理"
MSG_WRONG_STEP = "议题当前处于「{current}」步骤，此操作属于「{wanted}」步骤"
MSG_STALE_STEP = "议题当前处于「{current}」步骤，不能完成「{requested}」：步骤必须依次进行，不能跳过或调换"
MSG_REQUIREMENTS = "「{step}」还有 {count} 项要求未满足：{first}"
MSG_REVIEW_USE_DECISION = "「审议」步骤请作出审议结论：通过、合并、驳回或转为网格事件"
MSG_EVALUATE_USE_DECISION = "「评议」步骤请作出结论：办结或重新实施"
MSG_LAST_STEP = "已是最后一个步骤"
MSG_REASON_REQUIRED = "请填写理由，理由将告知提议人"
MSG_MERGE_TARGET = "请选择本社区另一个正在议事的议题"
MSG_SCOPE_REQUIRED = "请选择议题范围：社区、小区或微网格"
MSG_OUT_OF_COMMUNITY = "所选{what}不属于该社区"
MSG_PROBLEM_NEEDS_STAFF = "由小区问题清单转为议题须由社区工作人员办理"
MSG_NO_TEMPLATE = "尚未配置议事规则模板"
MSG_MEETING_STATE = "会议当前「{status}」，不能{what}"
MSG_MEETING_OPEN_EXISTS = "该议题已有一场未结束的小圆桌会议"
MSG_INVITEE_OUTSIDE = (
    "{name} 不是本社区的表决成员（本社区居民、党员、网格员、社区工作者），只能作为列席人员（无表决权）邀请"
)
MSG_ALREADY_INVITED = "{name} 已在本次会议的参会名单中"
MSG_NOT_PRESENT_SPEAKER = "{name} 尚未签到，不能发言"
MSG_MOTION_OPEN = "请先结束正在进行的表决"
MSG_NO_OPTIONS = "请至少提出一个方案"
MSG_VOTE_CLOSED = "表决已结束，不能再投票"
MSG_NOT_PRESENT = "只有已签到的参会人员才能投票"
MSG_ALREADY_VOTED = "您已经投过票了，每人每项表决只能投一票"
MSG_BAD_CHOICE = "请选择本项表决的一个选项"
MSG_VOTE_OUTSIDE = "您不属于本议题所在社区，不能参加表决"
MSG_NO_PROXY_WHEN_ANONYMOUS = "无记名表决不能代投：请本人投票"
MSG_NO_HANDS_WHEN_ANONYMOUS = "无记名表决不能举手表决"
MSG_HANDS_AFTER_BALLOTS = "已有 {n} 人投票，不能再改为举手表决"
MSG_HANDS_TOO_MANY = "举手人数合计 {total} 人，超过实到有表决权的 {present} 人"
MSG_PROXY_NOT_MEMBER = "{name} 是列席人员，没有表决权"
MSG_PROXY_NOT_PRESENT = "{name} 尚未签到，不能代投"
MSG_PROXY_ALREADY = "{name} 已经投过票了"
MSG_PUBLICITY_EXISTS = "本步骤已发布过公示"
MSG_PUBLICITY_CLOSED = "公示期已结束，不能再提出异议"
MSG_NEEDS_RESOLUTION = "请先形成决议，再发布决议公示"
MSG_NEEDS_PASSED_VOTE = "尚无通过的表决，不能形成决议"
MSG_RESOLUTION_LOCKED = "决议已公示，不能再修改"
MSG_NOT_SUPERVISOR = "只有本议题指定的居民监督员才能记录监督检查"
MSG_NOT_PARTICIPANT = "只有参加过本议题小圆桌会议的居民或提议人才能评议"
MSG_ALREADY_RATED = "您已评议过本轮实施效果"
MSG_NO_RATINGS = "还没有参与者评议，不能办结"
MSG_NO_IMPLEMENTATION = "请先明确实施负责人、预算与期限"
MSG_NOT_FAILED = "只有表决未通过时才能终止议题"
MSG_TEMPLATE_STEP_FIELD = "不能修改的字段：{fields}"
MSG_RECORD_KIND = "未知的记录类型：{kinds}"


def now():
    return timezone.now()


def lock_topic(topic: Topic | int) -> Topic:
    """The topic under a row lock; a lock held too long becomes 「系统繁忙」 (409)."""
    pk = topic.pk if isinstance(topic, Topic) else topic
    return lock_one(
        Topic.objects.select_for_update(of=("self",)).select_related(
            "current_step", "community", "template", "compound"
        ),
        pk=pk,
    )


def require_active(topic: Topic) -> None:
    if topic.status != TopicStatus.ACTIVE:
        raise ApplicationError(MSG_NOT_ACTIVE.format(status=topic.get_status_display()))


def require_step(topic: Topic, *kinds: str) -> TemplateStep:
    require_active(topic)
    step = topic.current_step
    if step.kind not in kinds:
        wanted = "、".join(
            s.name for s in topic.template.steps.filter(kind__in=kinds).order_by("order")
        ) or "、".join(StepKind(k).label for k in kinds)
        raise ApplicationError(MSG_WRONG_STEP.format(current=step.name, wanted=wanted))
    return step


def step_of_kind(topic: Topic, kind: str) -> TemplateStep | None:
    return topic.template.steps.filter(kind=kind).order_by("order").first()


def record_event(
    *, topic: Topic, actor, kind: str, note: str = "", data: dict | None = None, to_step=None, step=None
) -> TopicEvent:
    return TopicEvent.objects.create(
        topic=topic,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        kind=kind,
        step=step or topic.current_step,
        to_step=to_step,
        note=note[:500],
        data=data or {},
    )


def ancestors(path: str) -> list[str]:
    parts = path.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def staff_ids(path: str) -> list[int]:
    """Community and town staff whose grant covers `path` (they run the topic)."""
    return list(
        access.holder_grants(path, [Role.COMMUNITY_STAFF, Role.TOWN_STAFF])
        .values_list("user_id", flat=True)
        .distinct()
    )


def topic_url(topic: Topic) -> str:
    return reverse("consultation:topic-detail", args=[topic.pk])


def notify_proposer(topic: Topic, *, key: str, title: str, body: str = "") -> None:
    notify(
        user_ids=[topic.proposer_id],
        key=f"consultation:{topic.pk}:{key}",
        title=title,
        body=body,
        url=topic_url(topic),
    )


def field_error(field: str, message: str) -> ValidationError:
    return ValidationError({field: message})
