"""The incident closed loop (design §4): report → accept → dispatch → resolve → verify →
evaluate/auto-close, with reject, return/reassign, extensions, reopen-once and "me too".

Every function: keyword-only, checks the actor through the access module, runs in one
transaction holding the incident's row lock, refuses illegal moves with a domain error,
writes an IncidentEvent + audit row, and notifies after commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from projects.models import Community, Department
from qionglai.core.errors import ApplicationError
from qionglai.users import access
from qionglai.users.models import Grant, Role

from .. import sla
from ..models import (
    Category,
    Channel,
    EventKind,
    ExtensionRequest,
    ExtensionStatus,
    Grid,
    GridKind,
    GridMode,
    Incident,
    IncidentFollower,
    Level,
    PartyMember,
    PhotoKind,
    Satisfaction,
    Stage,
    Status,
    Tier,
    Urgency,
)
from ..signals import incident_verified
from ._common import (
    MSG_GRID_WORKER_TIER,
    MSG_NOT_REPORTER,
    ancestors,
    handler_ids,
    lock,
    record,
    refuse,
    require_handler,
    roster_ids,
    staff_ids,
    tell,
)
from .photos import photos_inspect, photos_quarantine

MSG_DESCRIPTION = "请填写事件描述"
MSG_CATEGORY = "请选择有效的事件类别"
MSG_URGENCY = "请选择紧急程度（红/橙/黄/蓝）"
MSG_CHANNEL = "无效的来源渠道"
MSG_LATLNG = "经纬度无效"
MSG_OUTSIDE = "该位置不在任何微网格内，请选择事件所在的微网格"
MSG_NO_PLACE = "请提供事件位置或选择所在微网格"
MSG_NOT_MICRO = "请选择一个微网格"
MSG_TIER = "请选择处置层级"
MSG_DEPARTMENT = "派至市级部门时须选择承办部门"
MSG_REASON = "请填写理由"
MSG_RESULT = "请填写处置结果"
MSG_EXTENSION_LIMIT = "该事件已达最多延期次数（{n} 次）"
MSG_EXTENSION_PENDING = "该事件已有待审批的延期申请"
MSG_EXTENSION_DECIDED = "该延期申请已处理"
MSG_SATISFACTION = "请选择满意、基本满意或不满意"
MSG_ME_TOO_OWN = "这是您自己上报的事件"
MSG_ME_TOO_CLOSED = "该事件已办结，不能附议"


def _category(value) -> Category:
    """A Category, its pk (int) or its code (str)."""
    if isinstance(value, Category):
        category = value
    else:
        lookup = {"pk": value} if isinstance(value, int) else {"code": str(value or "")}
        category = Category.objects.select_related("parent", "department").filter(**lookup).first()
    if category is None or not category.active:
        raise ValidationError({"category": MSG_CATEGORY})
    return category


def _coord(value, low: float, high: float) -> Decimal:
    try:
        number = Decimal(str(value)).quantize(Decimal("0.000001"))
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationError({"location": MSG_LATLNG}) from None
    if not (low <= number <= high) or not number.is_finite():
        raise ValidationError({"location": MSG_LATLNG})
    return number


def _war(path: str) -> bool:
    return Grid.objects.filter(path__in=ancestors(path), mode=GridMode.WAR).exists()


def incident_report(
    *,
    actor,
    category,
    urgency: str,
    description: str,
    lat=None,
    lng=None,
    micro_grid: Grid | None = None,
    channel: str = Channel.ONLINE,
    photos: Sequence = (),
    source_ref: str = "",
    community: Community | None = None,
    address: str = "",
) -> Incident:
    """Records a new incident (status REPORTED, accept deadline armed).

    Pre: actor may report at the incident's place. The micro-grid is the one given, else the
    one whose current boundary contains (lat, lng); with neither, `community` places it.
    Post: the incident, its REPORT event and its photos (PROCESSING, originals in quarantine)
    exist; after commit a task re-encodes the photos and another tells the grid and community
    staff. A photo failing the cheap checks refuses the whole report and stores nothing.
    """
    from ..selectors import locate_micro_grid

    category = _category(category)
    description = (description or "").strip()
    errors = {}
    if not description:
        errors["description"] = MSG_DESCRIPTION
    if urgency not in Urgency.values:
        errors["urgency"] = MSG_URGENCY
    if channel not in Channel.values:
        errors["channel"] = MSG_CHANNEL
    if errors:
        raise ValidationError(errors)
    inspected = photos_inspect(photos)
    gps_used = False
    if (lat is None) != (lng is None):
        raise ValidationError({"location": MSG_LATLNG})
    if lat is None and inspected:
        gps = next((c.gps for c in inspected if c.gps), None)
        if gps:  # the photo's EXIF position, read before it was stripped, offered as the location
            lat, lng = gps
            gps_used = True
    if lat is not None:
        lat, lng = _coord(lat, -90, 90), _coord(lng, -180, 180)
    boundary = None
    if micro_grid is not None:
        if micro_grid.kind != GridKind.MICRO:
            raise ValidationError({"micro_grid": MSG_NOT_MICRO})
    elif lat is not None:
        found = locate_micro_grid(lat=float(lat), lng=float(lng))
        if found is not None:
            micro_grid, boundary = found.grid, found
    if micro_grid is not None:
        community_id, path = micro_grid.community_id, micro_grid.path
    elif community is not None:
        community_id, path = community.pk, community.path
    elif lat is not None:
        raise ValidationError({"location": MSG_OUTSIDE})
    else:
        raise ValidationError({"location": MSG_NO_PLACE})
    access.require(actor, "grids.report", path)

    now = timezone.now()
    mode = GridMode.WAR if _war(path) else GridMode.PEACE
    policy = sla.policy_for(category=category, urgency=urgency, mode=mode)
    accept_due = sla.deadline(policy, Stage.ACCEPT, now)
    with transaction.atomic():
        incident = Incident.objects.create(
            reporter=actor if getattr(actor, "is_authenticated", False) else None,
            channel=channel,
            category=category,
            urgency=urgency,
            description=description[:4000],
            address=(address or "")[:200],
            lat=lat,
            lng=lng,
            community_id=community_id,
            micro_grid=micro_grid,
            boundary=boundary,
            path=path,
            mode=mode,
            level=Level.MICRO if micro_grid is not None else Level.COMMUNITY,
            accept_due=accept_due,
            due_at=accept_due,
            due_stage=Stage.ACCEPT,
            source_ref=source_ref[:64],
            created_at=now,
        )
        # hand back what the caller shows, without re-reading it
        place = micro_grid.community if micro_grid and Grid.community.is_cached(micro_grid) else community
        if place is not None and place.pk == community_id:
            incident.community = place
        event = record(
            incident,
            kind=EventKind.REPORT,
            actor=actor,
            to_status=Status.REPORTED,
            note=description[:200],
            data={"channel": channel, "gps_from_photo": gps_used, "source_ref": source_ref},
            at=now,
        )
        photos_quarantine(
            incident=incident, inspected=inspected, kind=PhotoKind.BEFORE, actor=actor, event=event
        )
        pk = incident.pk
        # who to tell is worked out by the task, off the request path
        transaction.on_commit(lambda: _send_reported(pk), robust=True)
    return incident


def _send_reported(incident_id: int) -> None:
    from ..tasks import notify_reported

    notify_reported.delay(incident_id)


def incident_report_notify(*, incident_id: int) -> int:
    """After a report commits: the micro-grid's roster and the community staff are told, once
    per user (the notification key makes a repeated task harmless). Returns how many users."""
    incident = Incident.objects.select_related("category").filter(pk=incident_id).first()
    if incident is None:
        return 0
    recipients = set(roster_ids([incident.micro_grid_id]) + staff_ids(incident.path, Role.COMMUNITY_STAFF))
    tell(
        incident,
        recipients,
        key="reported",
        title=f"新上报事件：{incident.category.name}（{incident.get_urgency_display()}）",
    )
    return len(recipients)


def _arm(incident: Incident, stage: str, start, policy=None) -> None:
    policy = policy or sla.policy_for(
        category=incident.category, urgency=incident.urgency, mode=incident.mode
    )
    due = sla.deadline(policy, stage, start)
    setattr(
        incident, {"resolve": "resolve_due", "verify": "verify_due", "evaluate": "evaluate_due"}[stage], due
    )
    incident.due_at, incident.due_stage = due, stage


def incident_accept(
    *,
    actor,
    incident: Incident,
    tier: str,
    category=None,
    urgency: str | None = None,
    note: str = "",
) -> Incident:
    """三分 triage: REPORTED → ACCEPTED with category, urgency and tier. A grid worker may
    accept only as 网格自办, which also hands it to them (→ IN_PROGRESS, 当日销号 possible)."""
    access.require(actor, "grids.accept", incident.path)
    if tier not in Tier.values:
        raise ValidationError({"tier": MSG_TIER})
    if tier != Tier.GRID and not access.can(actor, "grids.dispatch", incident.path):
        raise PermissionDenied(MSG_GRID_WORKER_TIER)
    if urgency is not None and urgency not in Urgency.values:
        raise ValidationError({"urgency": MSG_URGENCY})
    new_category = _category(category) if category is not None else None
    with transaction.atomic():
        inc = lock(incident)
        if inc.status != Status.REPORTED:
            raise refuse(inc, "受理")
        now = timezone.now()
        if new_category is not None:
            inc.category = new_category
        if urgency:
            inc.urgency = urgency
        inc.tier = tier
        inc.status = Status.ACCEPTED
        inc.accepted_at = now
        inc.accepted_on_time = now <= inc.accept_due if inc.accept_due else None
        _arm(inc, Stage.RESOLVE, now)
        record(
            inc,
            kind=EventKind.ACCEPT,
            actor=actor,
            from_status=Status.REPORTED,
            to_status=Status.ACCEPTED,
            note=note,
            on_time=inc.accepted_on_time,
            data={"tier": tier, "category": inc.category.code, "urgency": inc.urgency},
            at=now,
        )
        if (
            tier == Tier.GRID
            and access.has_role(actor, Role.GRID_WORKER)
            and not access.can(actor, "grids.dispatch", inc.path)
        ):
            inc.assignee = actor
            inc.status = Status.IN_PROGRESS
            inc.dispatched_at = now
            record(
                inc,
                kind=EventKind.DISPATCH,
                actor=actor,
                from_status=Status.ACCEPTED,
                to_status=Status.IN_PROGRESS,
                note="网格自办",
                data={"tier": tier, "assignee": actor.pk},
                at=now,
            )
        inc.save()
        if inc.reporter_id and inc.reporter_id != getattr(actor, "pk", None):
            tell(
                inc,
                [inc.reporter_id],
                key="accepted",
                title=f"您上报的事件已受理（{inc.get_tier_display()}）",
            )
    return inc


def incident_reject(*, actor, incident: Incident, reason: str) -> Incident:
    """REPORTED → REJECTED (final), with the reason told to the reporter."""
    access.require(actor, "grids.reject", incident.path)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": MSG_REASON})
    with transaction.atomic():
        inc = lock(incident)
        if inc.status != Status.REPORTED:
            raise refuse(inc, "不予受理")
        now = timezone.now()
        inc.status = Status.REJECTED
        inc.closed_at = now
        inc.due_at, inc.due_stage = None, ""
        inc.save()
        record(
            inc,
            kind=EventKind.REJECT,
            actor=actor,
            from_status=Status.REPORTED,
            to_status=Status.REJECTED,
            note=reason,
            at=now,
        )
        tell(inc, [inc.reporter_id], key="rejected", title="您上报的事件不予受理", body=reason)
    return inc


def incident_dispatch(
    *,
    actor,
    incident: Incident,
    tier: str | None = None,
    department: Department | None = None,
    assignee=None,
    note: str = "",
) -> Incident:
    """ACCEPTED → IN_PROGRESS, or a reassignment while IN_PROGRESS: to a tier and, for 市级部门,
    a department (default: the category's responsible department)."""
    access.require(actor, "grids.dispatch", incident.path)
    if tier is not None and tier not in Tier.values:
        raise ValidationError({"tier": MSG_TIER})
    with transaction.atomic():
        inc = lock(incident)
        if inc.status not in (Status.ACCEPTED, Status.IN_PROGRESS):
            raise refuse(inc, "派单")
        now = timezone.now()
        before = inc.status
        inc.tier = tier or inc.tier or Tier.COMMUNITY
        if inc.tier == Tier.DEPARTMENT:
            department = department or inc.category.department
            if department is None:
                raise ValidationError({"department": MSG_DEPARTMENT})
            inc.assigned_department = department
        else:
            inc.assigned_department = None
        inc.assignee = assignee
        inc.status = Status.IN_PROGRESS
        inc.dispatched_at = now
        if inc.tier == Tier.DEPARTMENT and inc.level < Level.CITY:
            pass  # the level is the escalation ladder's, not the handler's: dispatch leaves it
        inc.save()
        record(
            inc,
            kind=EventKind.DISPATCH,
            actor=actor,
            from_status=before,
            to_status=Status.IN_PROGRESS,
            note=note,
            data={
                "tier": inc.tier,
                "department": department.code if inc.tier == Tier.DEPARTMENT else "",
                "assignee": getattr(assignee, "pk", None),
                "reassign": before == Status.IN_PROGRESS,
            },
            at=now,
        )
        tell(
            inc,
            handler_ids(inc),
            key=f"dispatched:{inc.events.count()}",
            title=f"新派单：{inc.category.name}（{inc.get_urgency_display()}），请在时限内办结",
        )
    return inc


def incident_return(*, actor, incident: Incident, reason: str) -> Incident:
    """The handler sends it back (not theirs to handle): IN_PROGRESS → ACCEPTED for reassignment."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": MSG_REASON})
    with transaction.atomic():
        inc = lock(incident)
        require_handler(actor, inc)
        if inc.status != Status.IN_PROGRESS:
            raise refuse(inc, "退回")
        now = timezone.now()
        inc.status = Status.ACCEPTED
        previous = {"tier": inc.tier, "department": getattr(inc.assigned_department, "code", "")}
        inc.assigned_department = None
        inc.assignee = None
        inc.save()
        record(
            inc,
            kind=EventKind.RETURN,
            actor=actor,
            from_status=Status.IN_PROGRESS,
            to_status=Status.ACCEPTED,
            note=reason,
            data=previous,
            at=now,
        )
        tell(
            inc,
            staff_ids(inc.path, Role.COMMUNITY_STAFF),
            key=f"returned:{inc.events.count()}",
            title=f"事件被退回，请重新派单：{inc.category.name}",
            body=reason,
        )
    return inc


def incident_request_extension(*, actor, incident: Incident, hours: int, reason: str) -> ExtensionRequest:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": MSG_REASON})
    try:
        hours = int(hours)
    except (TypeError, ValueError):
        raise ValidationError({"hours": "请填写延期小时数"}) from None
    if not 1 <= hours <= 24 * 30:
        raise ValidationError({"hours": "延期时长须在 1 至 720 小时之间"})
    with transaction.atomic():
        inc = lock(incident)
        require_handler(actor, inc)
        if inc.status != Status.IN_PROGRESS:
            raise refuse(inc, "申请延期")
        policy = sla.policy_for(category=inc.category, urgency=inc.urgency, mode=inc.mode)
        if inc.extension_count >= policy.max_extensions:
            raise ApplicationError(MSG_EXTENSION_LIMIT.format(n=policy.max_extensions))
        if inc.extensions.filter(status=ExtensionStatus.PENDING).exists():
            raise ApplicationError(MSG_EXTENSION_PENDING)
        try:
            with transaction.atomic():
                ext = ExtensionRequest.objects.create(
                    incident=inc, requested_by=actor, reason=reason, hours=hours
                )
        except IntegrityError:
            raise ApplicationError(MSG_EXTENSION_PENDING) from None
        record(
            inc,
            kind=EventKind.EXTENSION_REQUEST,
            actor=actor,
            note=reason,
            data={"hours": hours, "request": ext.pk},
        )
        tell(
            inc,
            staff_ids(inc.path, Role.COMMUNITY_STAFF, Role.TOWN_STAFF),
            key=f"extension:{ext.pk}",
            title=f"延期申请待审批：{inc.category.name} 延期 {hours} 小时",
            body=reason,
        )
    return ext


def incident_decide_extension(
    *, actor, extension: ExtensionRequest, approve: bool, note: str = ""
) -> ExtensionRequest:
    """Approve (the resolve deadline and the running timer move by the hours asked) or deny."""
    incident = extension.incident
    access.require(actor, "grids.approve_extension", incident.path)
    with transaction.atomic():
        inc = lock(incident)
        ext = ExtensionRequest.objects.select_for_update().get(pk=extension.pk)
        if ext.status != ExtensionStatus.PENDING:
            raise ApplicationError(MSG_EXTENSION_DECIDED)
        now = timezone.now()
        ext.status = ExtensionStatus.APPROVED if approve else ExtensionStatus.DENIED
        ext.decided_by, ext.decided_at = actor, now
        ext.save()
        if approve:
            delta = timedelta(hours=ext.hours)
            inc.extension_count = F("extension_count") + 1
            if inc.resolve_due:
                inc.resolve_due += delta
            if inc.due_stage == Stage.RESOLVE and inc.due_at:
                inc.due_at += delta
            inc.save()
            inc.refresh_from_db(fields=["extension_count"])
        record(
            inc,
            kind=EventKind.EXTENSION_DECISION,
            actor=actor,
            note=note,
            data={"request": ext.pk, "approved": approve, "hours": ext.hours},
            at=now,
        )
        tell(
            inc,
            [ext.requested_by_id],
            key=f"extension:{ext.pk}:decided",
            title=f"延期申请{'已批准' if approve else '未批准'}：{inc.category.name}",
            body=note,
        )
    return ext


def incident_resolve(*, actor, incident: Incident, result: str, photos: Sequence = ()) -> Incident:
    """IN_PROGRESS → RESOLVED with the result and after-photos; the on-time flag is fixed now."""
    result = (result or "").strip()
    if not result:
        raise ValidationError({"result": MSG_RESULT})
    inspected = photos_inspect(photos)
    with transaction.atomic():
        inc = lock(incident)
        require_handler(actor, inc)
        if inc.status != Status.IN_PROGRESS:
            raise refuse(inc, "办结")
        now = timezone.now()
        inc.status = Status.RESOLVED
        inc.result = result[:4000]
        inc.resolved_at = now
        inc.resolved_on_time = now <= inc.resolve_due if inc.resolve_due else None
        _arm(inc, Stage.VERIFY, now)
        inc.save()
        inc.handlers.add(actor)
        event = record(
            inc,
            kind=EventKind.RESOLVE,
            actor=actor,
            from_status=Status.IN_PROGRESS,
            to_status=Status.RESOLVED,
            note=result[:500],
            on_time=inc.resolved_on_time,
            at=now,
        )
        photos_quarantine(incident=inc, inspected=inspected, kind=PhotoKind.AFTER, actor=actor, event=event)
        verifiers = roster_ids([inc.micro_grid_id]) + staff_ids(inc.path, Role.COMMUNITY_STAFF)
        tell(inc, verifiers, key=f"resolved:{event.pk}", title=f"事件已办结，请核查：{inc.category.name}")
    return inc


def _party_member_ids(inc: Incident) -> list[int]:
    user_ids = list(inc.handlers.values_list("id", flat=True))
    members = set(
        PartyMember.objects.filter(user_id__in=user_ids, retired_at__isnull=True).values_list(
            "user_id", flat=True
        )
    )
    members |= set(
        Grant.objects.filter(
            user_id__in=user_ids, role=Role.PARTY_MEMBER, retired_at__isnull=True
        ).values_list("user_id", flat=True)
    )
    return sorted(members)


def incident_verify(*, actor, incident: Incident, passed: bool = True, note: str = "") -> Incident:
    """RESOLVED → VERIFIED (evaluation window opens; `incident_verified` is sent inside this
    transaction) or, when the check fails, back to IN_PROGRESS with the timer re-armed."""
    access.require(actor, "grids.verify", incident.path)
    if not passed and not (note or "").strip():
        raise ValidationError({"note": "核查未通过时请说明原因"})
    with transaction.atomic():
        inc = lock(incident)
        if inc.status != Status.RESOLVED:
            raise refuse(inc, "核查")
        now = timezone.now()
        if passed:
            inc.status = Status.VERIFIED
            inc.verified_at = now
            inc.verified_on_time = now <= inc.verify_due if inc.verify_due else None
            _arm(inc, Stage.EVALUATE, now)
            inc.save()
            event = record(
                inc,
                kind=EventKind.VERIFY,
                actor=actor,
                from_status=Status.RESOLVED,
                to_status=Status.VERIFIED,
                note=note,
                on_time=inc.verified_on_time,
                at=now,
            )
            incident_verified.send(
                sender=Incident,
                incident_id=inc.pk,
                reporter_id=inc.reporter_id,
                party_member_ids=_party_member_ids(inc),
                community_path=inc.community.path,
                event_key=f"incident:{inc.pk}:verified",
            )
            tell(
                inc,
                [inc.reporter_id, *inc.followers.values_list("user_id", flat=True)],
                key=f"verified:{event.pk}",
                title=f"您反映的事件已办结核查，请评价：{inc.category.name}",
                body=inc.result[:200],
            )
        else:
            inc.status = Status.IN_PROGRESS
            _arm(inc, Stage.RESOLVE, now)
            inc.resolve_due = inc.resolve_due  # re-armed: the original on-time flag already stands
            inc.save()
            event = record(
                inc,
                kind=EventKind.VERIFY_FAIL,
                actor=actor,
                from_status=Status.RESOLVED,
                to_status=Status.IN_PROGRESS,
                note=note,
                at=now,
            )
            tell(
                inc,
                handler_ids(inc),
                key=f"verify_fail:{event.pk}",
                title=f"核查未通过，请重新处置：{inc.category.name}",
                body=note,
            )
    return inc


def incident_evaluate(*, actor, incident: Incident, satisfaction: str, comment: str = "") -> Incident:
    """The reporter rates the outcome: VERIFIED → CLOSED. 不满意 reopens it once (→ IN_PROGRESS);
    a second 不满意 closes it and hands it to a supervisor (督办, town staff and the party line)."""
    if satisfaction not in (Satisfaction.SATISFIED, Satisfaction.BASIC, Satisfaction.DISSATISFIED):
        raise ValidationError({"satisfaction": MSG_SATISFACTION})
    with transaction.atomic():
        inc = lock(incident)
        if not access.is_admin(actor) and inc.reporter_id != getattr(actor, "pk", None):
            raise PermissionDenied(MSG_NOT_REPORTER)
        if inc.status != Status.VERIFIED:
            raise refuse(inc, "评价")
        now = timezone.now()
        comment = (comment or "").strip()[:300]
        if satisfaction == Satisfaction.DISSATISFIED and inc.reopen_count == 0:
            inc.reopen_count = 1
            inc.status = Status.IN_PROGRESS
            inc.satisfaction = ""
            inc.evaluation_comment = comment
            _arm(inc, Stage.RESOLVE, now)
            inc.save()
            record(
                inc,
                kind=EventKind.EVALUATE,
                actor=actor,
                from_status=Status.VERIFIED,
                to_status=Status.VERIFIED,
                note=comment,
                data={"satisfaction": satisfaction},
                at=now,
            )
            event = record(
                inc,
                kind=EventKind.REOPEN,
                actor=actor,
                from_status=Status.VERIFIED,
                to_status=Status.IN_PROGRESS,
                note="居民不满意，重新办理",
                at=now,
            )
            tell(
                inc,
                handler_ids(inc),
                key=f"reopened:{event.pk}",
                title=f"居民不满意，事件重办：{inc.category.name}",
                body=comment,
            )
            return inc
        inc.status = Status.CLOSED
        inc.satisfaction = satisfaction
        inc.evaluation_comment = comment
        inc.closed_at = now
        inc.due_at, inc.due_stage = None, ""
        supervise = satisfaction == Satisfaction.DISSATISFIED
        if supervise:
            inc.supervised = True
        inc.save()
        record(
            inc,
            kind=EventKind.EVALUATE,
            actor=actor,
            from_status=Status.VERIFIED,
            to_status=Status.CLOSED,
            note=comment,
            data={"satisfaction": satisfaction},
            at=now,
        )
        if supervise:
            from .escalation import party_line_ids

            event = record(
                inc,
                kind=EventKind.SUPERVISE,
                actor=actor,
                note="重办后仍不满意，转督办",
                at=now,
            )
            tell(
                inc,
                staff_ids(inc.path, Role.TOWN_STAFF) + party_line_ids(inc),
                key=f"supervise:{event.pk}",
                title=f"重办后居民仍不满意，请督办：{inc.category.name}",
                body=comment,
            )
    return inc


def incident_auto_close(*, incident_id: int, now=None) -> bool:
    """VERIFIED past its evaluation window → CLOSED as 未评价. Re-checks under the lock, so a
    second run (or a late evaluation winning the race) is harmless. Returns whether it closed."""
    with transaction.atomic():
        inc = lock(incident_id)
        now = now or sla.db_now()
        if inc.status != Status.VERIFIED or not inc.evaluate_due or inc.evaluate_due > now:
            return False
        inc.status = Status.CLOSED
        inc.satisfaction = Satisfaction.NONE
        inc.closed_at = now
        inc.due_at, inc.due_stage = None, ""
        inc.save()
        record(
            inc,
            kind=EventKind.AUTO_CLOSE,
            actor=None,
            from_status=Status.VERIFIED,
            to_status=Status.CLOSED,
            note="评价期满未评价，自动归档",
            at=now,
        )
    return True


def incident_me_too(*, actor, incident: Incident, note: str = "") -> Incident:
    """ "Me too": the actor follows an open incident and its counter rises (once per person)."""
    access.require(actor, "grids.report", incident.path)
    with transaction.atomic():
        inc = lock(incident)
        if inc.status not in (Status.REPORTED, Status.ACCEPTED, Status.IN_PROGRESS):
            raise ApplicationError(MSG_ME_TOO_CLOSED)
        if inc.reporter_id == actor.pk:
            raise ApplicationError(MSG_ME_TOO_OWN)
        _, created = IncidentFollower.objects.get_or_create(
            incident=inc, user=actor, defaults={"note": (note or "")[:300]}
        )
        if created:
            Incident.objects.filter(pk=inc.pk).update(me_too_count=F("me_too_count") + 1)
            record(inc, kind=EventKind.ME_TOO, actor=actor, note=(note or "")[:300])
        inc.refresh_from_db()
    return inc
