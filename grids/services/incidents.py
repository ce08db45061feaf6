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
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from projects.models import Community, Department
from qionglai.core.errors import ApplicationError
from qionglai.users import access
from qionglai.users.models import Role

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
from ..transitions import MOVES
from ._common import (
    MSG_GRID_WORKER_TIER,
    compiled,
    handler_ids,
    lock,
    record,
    roster_and_staff_ids,
    staff_ids,
    tell,
    transition,
)
from .photos import photos_inspect, photos_quarantine

MSG_DESCRIPTION = "请填写事件描述"
MSG_CATEGORY = "请选择有效的事件类别"
MSG_URGENCY = "请选择紧急程度（红/橙/黄/蓝）"
MSG_CHANNEL = "无效的来源渠道"
MSG_CHANNEL_STAFF = "只有工作人员可以登记 12345、上级交办、线下等来源渠道"
MSG_LATLNG = "经纬度无效"
MSG_OUTSIDE = "该位置不在任何微网格内，请选择事件所在的微网格"
MSG_NO_PLACE = "请提供事件位置或选择所在微网格"
MSG_OUTSIDE_GRANT = "该位置属于{community}「{grid}」，不在您可上报的范围内：请从下方选择您负责的微网格"
MSG_KEY_TAKEN = "提交编号已被使用，请刷新页面后重新提交"
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
MSG_VERIFY_NOTE = "核查未通过时请说明原因"
STAGE_DUE_FIELD = {Stage.RESOLVE: "resolve_due", Stage.VERIFY: "verify_due", Stage.EVALUATE: "evaluate_due"}


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
    idempotency_key: str = "",
) -> Incident:
    """Records a new incident (status REPORTED, accept deadline armed).

    With an `idempotency_key` (the report page's outbox sends one per draft), a repeat of a
    report already recorded returns that incident, marked `replayed`, and writes nothing.

    Pre: actor may report at the incident's place. The micro-grid is the one given, else the
    one whose current boundary contains (lat, lng); with neither, `community` places it.
    Post: the incident, its REPORT event and its photos (PROCESSING, originals in quarantine)
    exist, and so do the notices owed to the micro-grid's roster and the community staff
    (the outbox); after commit one task re-encodes the photos and another delivers the
    notices. A photo failing the cheap checks refuses the whole report and stores nothing.
    """
    from ..selectors import locate_micro_grid

    key = (idempotency_key or "").strip()[:64]
    if key:
        earlier = _replay(actor, key)
        if earlier is not None:
            return earlier
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
    if boundary is not None and not access.can(actor, "grids.report", path):
        # located by the position into a grid the reporter may not report into: say where it
        # is and let them choose one of their own (the draft and its photos are kept)
        raise ValidationError(
            {
                "micro_grid": MSG_OUTSIDE_GRANT.format(
                    community=micro_grid.community.name, grid=micro_grid.name
                )
            }
        )
    access.require(actor, "grids.report", path)
    if channel != Channel.ONLINE and not access.can(actor, "grids.report_channel", path):
        raise ValidationError({"channel": MSG_CHANNEL_STAFF})

    now = timezone.now()
    mode = GridMode.WAR if sla.war_at(path) else GridMode.PEACE
    policy = sla.policy_for(category=category, urgency=urgency, mode=mode)
    accept_due = sla.deadline(policy, Stage.ACCEPT, now)
    try:
        with transaction.atomic():
            incident = Incident.objects.create(
                client_key=key or None,
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
            # the notices are owed in this transaction (the outbox), so a lost Celery message
            # or a killed worker cannot lose them: the delivery task queued after commit, or
            # else the beat sweep, turns them into inbox rows, once per (user, key)
            _owe_reported(incident)
    except IntegrityError:
        # the same key sent twice at once: the second waited on the first's unique key
        earlier = _replay(actor, key) if key else None
        if earlier is None:
            raise
        return earlier
    return incident


def _replay(actor, key: str) -> Incident | None:
    earlier = (
        Incident.objects.select_related("category", "community", "micro_grid").filter(client_key=key).first()
    )
    if earlier is None:
        return None
    if earlier.reporter_id != getattr(actor, "pk", None):
        raise ApplicationError(MSG_KEY_TAKEN)
    earlier.replayed = True
    return earlier


def _reported_title(incident: Incident) -> str:
    return f"新上报事件：{incident.category.name}（{incident.get_urgency_display()}）"


def _owe_reported(incident: Incident) -> None:
    """Inside the report's transaction: the micro-grid's roster and the community staff are
    owed the notice (one read, one INSERT when anyone is to be told)."""
    recipients = roster_and_staff_ids([incident.micro_grid_id], incident.path, Role.COMMUNITY_STAFF)
    tell(incident, recipients, key="reported", title=_reported_title(incident))


def incident_report_notify(*, incident_id: int) -> int:
    """Drains `grids.tasks.notify_reported` messages queued by the release before the report
    owed its notices itself: owes them if that report never did (a report of this release
    always has), then delivers them. Idempotent on (user, key). Returns inbox rows delivered."""
    from qionglai.core.models import OwedNotice
    from qionglai.core.notify import deliver_owed

    key = f"incident:{incident_id}:reported"
    if not OwedNotice.objects.filter(key=key).exists():
        incident = Incident.objects.select_related("category").filter(pk=incident_id).first()
        if incident is None:
            return 0
        with transaction.atomic():
            _owe_reported(incident)
    return deliver_owed(keys=[key])


def _arm(incident: Incident, stage: str, start, policy=None) -> None:
    policy = policy or sla.policy_for(
        category=incident.category, urgency=incident.urgency, mode=incident.mode
    )
    due = sla.deadline(policy, stage, start)
    setattr(incident, STAGE_DUE_FIELD[stage], due)
    incident.due_at, incident.due_stage = due, stage


def _disarm(incident: Incident) -> None:
    incident.due_at, incident.due_stage = None, ""


def _require(actor, incident: Incident, action: str) -> None:
    """The table's actor check before any input is validated, so an outsider hears 「没有权限」
    rather than which field was wrong; `transition()` asks again under the lock."""
    if not MOVES[action].may(actor, incident):
        raise PermissionDenied(MOVES[action].denied)


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
    _require(actor, incident, "accept")
    if tier not in Tier.values:
        raise ValidationError({"tier": MSG_TIER})
    if tier != Tier.GRID and not access.can(actor, "grids.dispatch", incident.path):
        raise PermissionDenied(MSG_GRID_WORKER_TIER)
    if urgency is not None and urgency not in Urgency.values:
        raise ValidationError({"urgency": MSG_URGENCY})
    new_category = _category(category) if category is not None else None
    with transaction.atomic():
        step = transition(actor=actor, incident=incident, action="accept")
        inc, now = step.incident, step.now
        if new_category is not None:
            inc.category = new_category
        if urgency:
            inc.urgency = urgency
        inc.tier = tier
        inc.accepted_at = now
        inc.accepted_on_time = now <= inc.accept_due if inc.accept_due else None
        _arm(inc, Stage.RESOLVE, now)
        # 网格自办 by the grid worker who accepted: it is theirs at once
        self_handled = (
            tier == Tier.GRID
            and access.has_role(actor, Role.GRID_WORKER)
            and not access.can(actor, "grids.dispatch", inc.path)
        )
        step.done(
            note=note,
            on_time=inc.accepted_on_time,
            data={"tier": tier, "category": inc.category.code, "urgency": inc.urgency},
            save=not self_handled,
        )
        if self_handled:
            inc.assignee = actor
            inc.dispatched_at = now
            step.before = Status.ACCEPTED
            step.done(
                to=Status.IN_PROGRESS,
                kind=EventKind.DISPATCH,
                note="网格自办",
                data={"tier": tier, "assignee": actor.pk},
            )
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
    _require(actor, incident, "reject")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": MSG_REASON})
    with transaction.atomic():
        step = transition(actor=actor, incident=incident, action="reject")
        inc = step.incident
        inc.closed_at = step.now
        _disarm(inc)
        step.done(note=reason)
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
    a department (default: the category's responsible department). The level belongs to the
    escalation ladder, not to the handler: dispatch leaves it."""
    _require(actor, incident, "dispatch")
    if tier is not None and tier not in Tier.values:
        raise ValidationError({"tier": MSG_TIER})
    with transaction.atomic():
        step = transition(actor=actor, incident=incident, action="dispatch")
        inc = step.incident
        inc.tier = tier or inc.tier or Tier.COMMUNITY
        if inc.tier == Tier.DEPARTMENT:
            department = department or inc.category.department
            if department is None:
                raise ValidationError({"department": MSG_DEPARTMENT})
            inc.assigned_department = department
        else:
            inc.assigned_department = None
        inc.assignee = assignee
        inc.dispatched_at = step.now
        event = step.done(
            note=note,
            data={
                "tier": inc.tier,
                "department": department.code if inc.tier == Tier.DEPARTMENT else "",
                "assignee": getattr(assignee, "pk", None),
                "reassign": step.before == Status.IN_PROGRESS,
            },
        )
        tell(
            inc,
            handler_ids(inc),
            key=f"dispatched:{event.pk}",
            title=f"新派单：{inc.category.name}（{inc.get_urgency_display()}），请在时限内办结",
        )
    return inc


def incident_return(*, actor, incident: Incident, reason: str) -> Incident:
    """The handler sends it back (not theirs to handle): IN_PROGRESS → ACCEPTED for reassignment."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": MSG_REASON})
    with transaction.atomic():
        step = transition(actor=actor, incident=incident, action="return")
        inc = step.incident
        previous = {"tier": inc.tier, "department": getattr(inc.assigned_department, "code", "")}
        inc.assigned_department = None
        inc.assignee = None
        event = step.done(note=reason, data=previous)
        tell(
            inc,
            staff_ids(inc.path, Role.COMMUNITY_STAFF),
            key=f"returned:{event.pk}",
            title=f"事件被退回，请重新派单：{inc.category.name}",
            body=reason,
        )
    return inc


def incident_request_extension(*, actor, incident: Incident, hours: int, reason: str) -> ExtensionRequest:
    """The handler asks for more time (state unchanged); one pending request at a time, at most
    the policy's number of extensions."""
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
        step = transition(actor=actor, incident=incident, action="extension")
        inc = step.incident
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
        step.done(note=reason, data={"hours": hours, "request": ext.pk})
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
    """Approve (the resolve deadline and the running timer move by the hours asked) or deny.
    Not a move of the incident's state: the request's own PENDING → APPROVED/DENIED is the
    compare-and-set, under the incident's lock."""
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
        step = transition(actor=actor, incident=incident, action="resolve")
        inc, now = step.incident, step.now
        inc.result = result[:4000]
        inc.resolved_at = now
        inc.resolved_by = actor
        inc.resolved_on_time = now <= inc.resolve_due if inc.resolve_due else None
        _arm(inc, Stage.VERIFY, now)
        event = step.done(note=result[:500], on_time=inc.resolved_on_time)
        inc.handlers.add(actor)
        photos_quarantine(incident=inc, inspected=inspected, kind=PhotoKind.AFTER, actor=actor, event=event)
        verifiers = set(roster_and_staff_ids([inc.micro_grid_id], inc.path, Role.COMMUNITY_STAFF))
        verifiers.discard(actor.pk)  # never asked to check her own work
        tell(inc, verifiers, key=f"resolved:{event.pk}", title=f"事件已办结，请核查：{inc.category.name}")
    return inc


def _party_member_ids(inc: Incident) -> list[int]:
    """The handlers who are party members (on a micro-grid's roster or by grant): one query,
    each handler probed by index. Inside `remembered()` (the demo build) the statement is
    compiled once: compiling its two subqueries cost 35 times running them."""
    statement = compiled("party_member_handlers", _party_member_handlers, inc.pk)
    if statement is None:
        return sorted(_party_member_handlers(inc.pk))
    with connection.cursor() as cursor:
        cursor.execute(*statement)
        return sorted(user_id for (user_id,) in cursor.fetchall())


def _party_member_handlers(incident_id: int):
    on_roster = Exists(PartyMember.objects.filter(user_id=OuterRef("user_id"), retired_at__isnull=True))
    return (
        Incident.handlers.through.objects.filter(incident_id=incident_id)
        .filter(on_roster | access.holding(Role.PARTY_MEMBER, user_ref="user_id"))
        .values_list("user_id", flat=True)
    )


def incident_verify(*, actor, incident: Incident, passed: bool = True, note: str = "") -> Incident:
    """RESOLVED → VERIFIED (evaluation window opens; `incident_verified` is sent inside this
    transaction) or, when the check fails, back to IN_PROGRESS with the resolve timer re-armed
    (the original on-time flag already stands)."""
    action = "verify" if passed else "verify_fail"
    _require(actor, incident, action)
    if not passed and not (note or "").strip():
        raise ValidationError({"note": MSG_VERIFY_NOTE})
    with transaction.atomic():
        step = transition(actor=actor, incident=incident, action=action)
        inc, now = step.incident, step.now
        if not passed:
            _arm(inc, Stage.RESOLVE, now)
            event = step.done(note=note)
            tell(
                inc,
                handler_ids(inc),
                key=f"verify_fail:{event.pk}",
                title=f"核查未通过，请重新处置：{inc.category.name}",
                body=note,
            )
            return inc
        inc.verified_at = now
        inc.verified_on_time = now <= inc.verify_due if inc.verify_due else None
        _arm(inc, Stage.EVALUATE, now)
        event = step.done(note=note, on_time=inc.verified_on_time)
        incident_verified.send(
            sender=Incident,
            incident_id=inc.pk,
            reporter_id=inc.reporter_id,
            party_member_ids=_party_member_ids(inc),
            community_path=inc.community.path,
            event_key=f"incident:{inc.pk}:verified",
        )
        # me_too_count is the followers' count, kept under this same row lock (incident_me_too):
        # with none, there is no one to read
        followers = inc.followers.values_list("user_id", flat=True) if inc.me_too_count else []
        tell(
            inc,
            [inc.reporter_id, *followers],
            key=f"verified:{event.pk}",
            title=f"您反映的事件已办结核查，请评价：{inc.category.name}",
            body=inc.result[:200],
        )
    return inc


def _handled_by(inc: Incident, actor) -> bool:
    """Did the evaluating reporter work on this incident herself (accepted it as 网格自办,
    was its assignee, resolved it or took part in handling)?"""
    pk = getattr(actor, "pk", None)
    if pk is None:
        return False
    return pk in (inc.assignee_id, inc.resolved_by_id) or inc.handlers.filter(pk=pk).exists()


def incident_evaluate(*, actor, incident: Incident, satisfaction: str, comment: str = "") -> Incident:
    """The reporter rates the outcome: VERIFIED → CLOSED. 不满意 reopens it once (→ IN_PROGRESS);
    a second 不满意 closes it and hands it to a supervisor (督办, town staff and the party line)."""
    if satisfaction not in (Satisfaction.SATISFIED, Satisfaction.BASIC, Satisfaction.DISSATISFIED):
        raise ValidationError({"satisfaction": MSG_SATISFACTION})
    comment = (comment or "").strip()[:300]
    with transaction.atomic():
        step = transition(actor=actor, incident=incident, action="evaluate")
        inc, now = step.incident, step.now
        own_work = _handled_by(inc, actor)
        if satisfaction == Satisfaction.DISSATISFIED and inc.reopen_count == 0:
            inc.reopen_count = 1
            inc.satisfaction = ""
            inc.evaluation_comment = comment
            _arm(inc, Stage.RESOLVE, now)
            # the rating is history; the state moves with the reopen that follows it
            step.done(
                to=Status.VERIFIED,
                note=comment,
                data={"satisfaction": satisfaction, "self_evaluated": own_work},
                save=False,
            )
            event = step.done(to=Status.IN_PROGRESS, kind=EventKind.REOPEN, note="居民不满意，重新办理")
            tell(
                inc,
                handler_ids(inc),
                key=f"reopened:{event.pk}",
                title=f"居民不满意，事件重办：{inc.category.name}",
                body=comment,
            )
            return inc
        supervise = satisfaction == Satisfaction.DISSATISFIED
        inc.satisfaction = satisfaction
        inc.self_evaluated = own_work
        inc.evaluation_comment = comment
        inc.closed_at = now
        inc.supervised = inc.supervised or supervise
        _disarm(inc)
        step.done(note=comment, data={"satisfaction": satisfaction, "self_evaluated": own_work})
        if supervise:
            from .escalation import party_line_ids

            event = record(inc, kind=EventKind.SUPERVISE, actor=actor, note="重办后仍不满意，转督办", at=now)
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
        try:
            step = transition(actor=None, incident=incident_id, action="auto_close", now=now)
        except ApplicationError:
            return False  # evaluated (or reopened) meanwhile
        inc = step.incident
        step.now = now = now or sla.db_now()
        if not inc.evaluate_due or inc.evaluate_due > now:
            return False
        inc.satisfaction = Satisfaction.NONE
        inc.closed_at = now
        _disarm(inc)
        step.done(note="评价期满未评价，自动归档")
    return True


def incident_me_too(*, actor, incident: Incident, note: str = "") -> Incident:
    """ "Me too": the actor follows an open incident and its counter rises (once per person)."""
    access.require(actor, "grids.report", incident.path)
    if incident.reporter_id == actor.pk:  # the reporter never changes: no lock needed to know
        raise ApplicationError(MSG_ME_TOO_OWN)
    note = (note or "")[:300]
    with transaction.atomic():
        step = transition(actor=actor, incident=incident, action="me_too")
        inc = step.incident
        _, created = IncidentFollower.objects.get_or_create(incident=inc, user=actor, defaults={"note": note})
        if created:
            Incident.objects.filter(pk=inc.pk).update(me_too_count=F("me_too_count") + 1)
            step.done(note=note)
        inc.refresh_from_db()
    return inc
