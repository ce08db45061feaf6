"""Topics: propose, review (accept / merge / reject / turn into an incident), advance one
step at a time, end a topic whose vote failed, and close or reopen after evaluation."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from qionglai.core.audit import audit_record
from qionglai.core.errors import ApplicationError
from qionglai.core.notify import notify
from qionglai.users import access

from ..models import (
    EventKind,
    Motion,
    MotionStatus,
    ProcedureTemplate,
    StepKind,
    Topic,
    TopicScope,
    TopicSource,
    TopicStatus,
)
from .common import (
    MSG_EVALUATE_USE_DECISION,
    MSG_LAST_STEP,
    MSG_MERGE_TARGET,
    MSG_NO_RATINGS,
    MSG_NO_TEMPLATE,
    MSG_NOT_FAILED,
    MSG_OUT_OF_COMMUNITY,
    MSG_PROBLEM_NEEDS_STAFF,
    MSG_REASON_REQUIRED,
    MSG_REQUIREMENTS,
    MSG_REVIEW_USE_DECISION,
    MSG_STALE_STEP,
    lock_topic,
    notify_proposer,
    now,
    record_event,
    require_active,
    require_step,
    staff_ids,
    step_of_kind,
    topic_url,
)
from .requirements import step_requirements

REVIEW_DECISIONS = ("accept", "merge", "reject", "incident")


def template_for(community) -> ProcedureTemplate:
    """The community's own current template, else the current default (「默认模板」)."""
    template = (
        ProcedureTemplate.objects.filter(community=community, is_current=True).first()
        or ProcedureTemplate.objects.filter(is_default=True, is_current=True).first()
    )
    if template is None:
        raise ApplicationError(MSG_NO_TEMPLATE)
    return template


def topic_propose(
    *,
    actor,
    title: str,
    description: str,
    community=None,
    compound=None,
    micro_grid=None,
    source: str | None = None,
    problem=None,
    source_ref: str = "",
) -> Topic:
    """Collects a topic (step 1 提议). The scope is the narrowest place given: a micro-grid, a
    compound, or the community. Post: the topic sits at the first step of the community's
    current template version, which it keeps for its whole life. Without a `source`, a topic
    registered by staff who run the place is 工作人员提出 and anyone else's is 居民提议."""
    if problem is not None:
        compound = problem.compound
        source = TopicSource.PROBLEM
    if micro_grid is not None:
        if micro_grid.kind != "micro":
            raise ValidationError({"micro_grid": "请选择一个微网格"})
        community = community or micro_grid.community
        scope, path = TopicScope.MICRO_GRID, micro_grid.path
    elif compound is not None:
        community = community or compound.community
        scope, path = TopicScope.COMPOUND, compound.path
    elif community is not None:
        scope, path = TopicScope.COMMUNITY, community.path
    else:
        raise ValidationError({"scope": "请选择议题范围：社区、小区或微网格"})
    if compound is not None and compound.community_id != community.pk:
        raise ValidationError({"compound": MSG_OUT_OF_COMMUNITY.format(what="小区")})
    if micro_grid is not None and micro_grid.community_id != community.pk:
        raise ValidationError({"micro_grid": MSG_OUT_OF_COMMUNITY.format(what="微网格")})
    access.require(actor, "consultation.propose", path)
    if source is None:
        staff = access.can(actor, "consultation.manage", path)
        source = TopicSource.STAFF if staff else TopicSource.RESIDENT
    if problem is not None and not access.can(actor, "projects.edit", problem.path):
        raise ApplicationError(MSG_PROBLEM_NEEDS_STAFF)
    title, description = (title or "").strip(), (description or "").strip()
    errors = {}
    if not title:
        errors["title"] = "请填写议题"
    elif len(title) > 120:
        errors["title"] = "议题不超过 120 字"
    if not description:
        errors["description"] = "请说明议题的内容与诉求"
    if source not in TopicSource.values:
        errors["source"] = "无效的来源"
    if errors:
        raise ValidationError(errors)

    with transaction.atomic():
        template = template_for(community)
        first = template.steps.order_by("order").first()
        topic = Topic.objects.create(
            title=title,
            description=description,
            source=source,
            source_problem=problem,
            source_ref=source_ref[:64],
            scope=scope,
            community=community,
            compound=compound,
            micro_grid=micro_grid,
            micro_grid_path=micro_grid.path if micro_grid is not None else "",
            micro_grid_name=getattr(micro_grid, "name", "") if micro_grid is not None else "",
            path=path,
            proposer=actor,
            template=template,
            current_step=first,
            step_started_at=now(),
        )
        if problem is not None:
            from projects.services import problem_set_status

            problem_set_status(actor=actor, problem=problem, status="to_topic")
        record_event(topic=topic, actor=actor, kind=EventKind.PROPOSED, note=title)
        audit_record(actor=actor, action="topic.propose", target=topic, summary=title)
        notify(
            user_ids=[u for u in staff_ids(path) if u != actor.pk],
            key=f"consultation:{topic.pk}:proposed",
            title=f"新议题：{title}",
            body=f"{topic.place_name} · {topic.get_source_display()}",
            url=topic_url(topic),
        )
    return topic


def _move_to_next(topic: Topic, actor, note: str) -> Topic:
    current = topic.current_step
    nxt = topic.template.steps.filter(order__gt=current.order).order_by("order").first()
    if nxt is None:
        raise ApplicationError(MSG_LAST_STEP)
    topic.current_step = nxt
    topic.step_started_at = now()
    topic.save(update_fields=["current_step", "step_started_at"])
    record_event(topic=topic, actor=actor, kind=EventKind.ADVANCED, step=current, to_step=nxt, note=note)
    audit_record(
        actor=actor, action="topic.advance", target=topic, data={"from": current.code, "to": nxt.code}
    )
    notify_proposer(
        topic, key=f"step:{nxt.code}:{topic.round}", title=f"您的议题进入「{nxt.name}」", body=topic.title
    )
    return topic


def topic_advance(*, actor, topic: Topic, step_code: str | None = None, note: str = "") -> Topic:
    """Completes the current step and moves to the next one.

    Pre: actor runs consultation here; the topic is active; `step_code` (when given — pages and
    the API always give it) names the current step, so a stale or out-of-order request cannot
    complete another step; every requirement of the step holds. Post: the topic is at the next
    step in template order and an event records the move.
    """
    access.require(actor, "consultation.manage", topic.path)
    with transaction.atomic():
        topic = lock_topic(topic)
        require_active(topic)
        step = topic.current_step
        if step_code and step_code != step.code:
            requested = topic.template.steps.filter(code=step_code).values_list("name", flat=True).first()
            raise ApplicationError(MSG_STALE_STEP.format(current=step.name, requested=requested or step_code))
        if step.kind == StepKind.REVIEW:
            raise ApplicationError(MSG_REVIEW_USE_DECISION)
        if step.kind == StepKind.EVALUATE:
            raise ApplicationError(MSG_EVALUATE_USE_DECISION)
        unmet = [r for r in step_requirements(topic, step) if not r.met]
        if unmet:
            lines = [f"{r.label}{'（' + r.detail + '）' if r.detail else ''}" for r in unmet]
            raise ApplicationError(
                MSG_REQUIREMENTS.format(step=step.name, count=len(unmet), first=lines[0]),
                fields={"requirements": lines},
            )
        return _move_to_next(topic, actor, note)


def _report_incident(*, actor, topic: Topic, category, urgency: str, description: str):
    """Hands the matter to the grid line (consultation sits above grids: it may call down)."""
    from grids import services as grid_services

    return grid_services.incident_report(
        actor=actor,
        category=category,
        urgency=urgency,
        description=description,
        micro_grid=topic.micro_grid,
        community=topic.community,
        channel="online",
        source_ref=f"consultation.topic:{topic.pk}",
    )


def topic_review(
    *,
    actor,
    topic: Topic,
    decision: str,
    reason: str = "",
    merge_into: Topic | None = None,
    incident_category=None,
    incident_urgency: str = "yellow",
) -> Topic:
    """审议 by the community party organisation.

    accept → next step; reject (reason required, shown to the proposer) and merge (into another
    active topic of the same community) end the topic; incident hands it to the grid line as
    an incident report and ends it with the incident's reference.
    """
    access.require(actor, "consultation.manage", topic.path)
    if decision not in REVIEW_DECISIONS:
        raise ValidationError({"decision": "请选择审议结论"})
    reason = (reason or "").strip()
    if decision in ("reject", "merge", "incident") and not reason:
        raise ValidationError({"reason": MSG_REASON_REQUIRED})
    with transaction.atomic():
        topic = lock_topic(topic)
        step = require_step(topic, StepKind.REVIEW)
        if decision == "accept":
            record_event(topic=topic, actor=actor, kind=EventKind.ACCEPTED, note=reason)
            return _move_to_next(topic, actor, reason or "审议通过")
        if decision == "merge":
            if (
                merge_into is None
                or merge_into.pk == topic.pk
                or merge_into.community_id != topic.community_id
                or merge_into.status != TopicStatus.ACTIVE
            ):
                raise ValidationError({"merge_into": MSG_MERGE_TARGET})
            topic.status, topic.merged_into = TopicStatus.MERGED, merge_into
            kind, title = EventKind.MERGED, f"您的议题已并入「{merge_into.title}」"
        elif decision == "reject":
            topic.status = TopicStatus.REJECTED
            kind, title = EventKind.REJECTED, "您的议题未通过审议"
        else:
            incident = _report_incident(
                actor=actor,
                topic=topic,
                category=incident_category,
                urgency=incident_urgency,
                description=f"{topic.title}\n{topic.description}\n（由议题转办：{reason}）",
            )
            topic.status = TopicStatus.TO_INCIDENT
            topic.incident_ref = f"grids.incident:{incident.pk}"
            kind, title = EventKind.TO_INCIDENT, "您的议题已转为网格事件办理"
        topic.status_reason = reason[:500]
        topic.closed_at = now()
        topic.save(update_fields=["status", "merged_into", "status_reason", "closed_at", "incident_ref"])
        record_event(
            topic=topic,
            actor=actor,
            kind=kind,
            step=step,
            note=reason,
            data={"merged_into": merge_into.pk} if merge_into else {"incident": topic.incident_ref},
        )
        audit_record(actor=actor, action=f"topic.review.{decision}", target=topic, summary=reason)
        notify_proposer(topic, key=f"review:{decision}", title=title, body=reason)
        return topic


def topic_end_not_passed(*, actor, topic: Topic, reason: str = "") -> Topic:
    """Ends a topic whose latest vote failed (instead of voting again)."""
    access.require(actor, "consultation.manage", topic.path)
    with transaction.atomic():
        topic = lock_topic(topic)
        step = require_step(topic, StepKind.VOTE)
        last = (
            Motion.objects.filter(topic=topic, status=MotionStatus.CLOSED)
            .order_by("-closed_at", "-id")
            .first()
        )
        if last is None or last.passed:
            raise ApplicationError(MSG_NOT_FAILED)
        topic.status, topic.status_reason, topic.closed_at = TopicStatus.NOT_PASSED, reason[:500], now()
        topic.save(update_fields=["status", "status_reason", "closed_at"])
        record_event(topic=topic, actor=actor, kind=EventKind.NOT_PASSED, step=step, note=reason)
        audit_record(actor=actor, action="topic.not_passed", target=topic, summary=reason)
        notify_proposer(topic, key="not_passed", title="您的议题表决未通过", body=reason)
        return topic


def topic_evaluate(*, actor, topic: Topic, decision: str, note: str = "") -> Topic:
    """评议 conclusion: close (needs at least one rating this round) or reopen (back to 实施,
    a new rating round)."""
    access.require(actor, "consultation.manage", topic.path)
    if decision not in ("close", "reopen"):
        raise ValidationError({"decision": "请选择办结或重新实施"})
    with transaction.atomic():
        topic = lock_topic(topic)
        step = require_step(topic, StepKind.EVALUATE)
        if decision == "close":
            if not topic.ratings.filter(round=topic.round).exists():
                raise ApplicationError(MSG_NO_RATINGS)
            topic.status, topic.closed_at = TopicStatus.CLOSED, now()
            topic.save(update_fields=["status", "closed_at"])
            record_event(topic=topic, actor=actor, kind=EventKind.CLOSED, step=step, note=note)
            notify_proposer(topic, key=f"closed:{topic.round}", title="您的议题已办结", body=topic.title)
        else:
            if not note.strip():
                raise ValidationError({"note": "请说明重新实施的原因"})
            implement = step_of_kind(topic, StepKind.IMPLEMENT)
            topic.current_step, topic.step_started_at, topic.round = implement, now(), topic.round + 1
            topic.save(update_fields=["current_step", "step_started_at", "round"])
            record_event(
                topic=topic, actor=actor, kind=EventKind.REOPENED, step=step, to_step=implement, note=note
            )
        audit_record(actor=actor, action=f"topic.evaluate.{decision}", target=topic, summary=note)
        return topic
