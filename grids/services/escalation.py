"""The escalation ladder (design §4): 微网格 → 一般网格 → 社区 → 镇街 → 市级.

The truth is in the database: `due_at` is a column, the scan claims overdue rows with
SELECT … FOR UPDATE SKIP LOCKED (two scans never take the same row), and the
(incident, stage, level) unique constraint makes each escalation happen once even if a row
were somehow processed twice. A scan that dies mid-batch rolls back that batch only; the next
tick finds the same rows still due and does them — nothing lost, nothing doubled.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from qionglai.core.models import AuditEvent
from qionglai.users.models import Role

from .. import sla
from ..models import (
    OPEN_STATES,
    Escalation,
    EventKind,
    Incident,
    IncidentEvent,
    Level,
    PartyGroup,
    PartyOrganization,
    RosterEntry,
    Stage,
    Status,
)
from ._common import ancestors, staff_ids

log = logging.getLogger(__name__)
BATCH = 500
LEVEL_ROLE = {
    Level.COMMUNITY: Role.COMMUNITY_STAFF,
    Level.TOWN: Role.TOWN_STAFF,
    Level.CITY: Role.CITY_STAFF,
}


def party_line_ids(incident: Incident) -> list[int]:
    """The party line (双线运行): the micro-grid's party group leader and the general grid's
    party organisation secretary."""
    ids = []
    if incident.micro_grid_id:
        ids += PartyGroup.objects.filter(grid_id=incident.micro_grid_id).values_list("leader_id", flat=True)
        ids += PartyOrganization.objects.filter(grid__children__id=incident.micro_grid_id).values_list(
            "secretary_id", flat=True
        )
    return [i for i in ids if i]


def level_recipient_ids(incident: Incident, level: int) -> list[int]:
    if level == Level.GENERAL:
        parent_ids = [p for p in [getattr(incident.micro_grid, "parent_id", None)] if p]
        return list(
            RosterEntry.objects.filter(grid_id__in=parent_ids, retired_at__isnull=True).values_list(
                "user_id", flat=True
            )
        )
    return staff_ids(incident.path, LEVEL_ROLE.get(level, Role.CITY_STAFF))


class _Rearm:
    """Re-arms deadlines for a whole scan: policies and the holiday calendar are loaded once,
    not once per incident."""

    def __init__(self):
        self.policies: dict = {}
        self.exceptions = sla.all_exceptions()

    def __call__(self, incident: Incident, now) -> None:
        """The next level gets the stage's full duration again, counted from now."""
        key = (incident.category_id, incident.urgency, incident.mode)
        if key not in self.policies:
            self.policies[key] = sla.policy_for(
                category=incident.category, urgency=incident.urgency, mode=incident.mode
            )
        incident.due_at = sla.deadline(self.policies[key], incident.due_stage, now, self.exceptions)


def _save_levels(rows: list[Incident]) -> None:
    """One UPDATE … FROM (VALUES …) on PostgreSQL (bulk_update's CASE per row grows with the
    batch); bulk_update elsewhere."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        Incident.objects.bulk_update(rows, ["level", "supervised", "due_at"])
        return
    values = ", ".join(["(%s, %s, %s, %s::timestamptz)"] * len(rows))
    params = [p for r in rows for p in (r.pk, r.level, r.supervised, r.due_at)]
    table = Incident._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE "{table}" AS i SET level = v.level, supervised = v.supervised, due_at = v.due_at '  # noqa: S608 - table name from the model, values parametrised
            f"FROM (VALUES {values}) AS v(id, level, supervised, due_at) WHERE i.id = v.id",
            params,
        )


def _claim(now, batch: int) -> list[Incident]:
    return list(
        Incident.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("category")
        .filter(status__in=OPEN_STATES, due_at__lte=now)
        .exclude(due_stage=Stage.EVALUATE)
        .order_by("due_at")[:batch]
    )


def _escalate_rows(rows: list[Incident], now, *, per_row: bool, rearm: _Rearm | None = None) -> list[int]:
    """Writes escalations, events, audit rows and the incidents' new level/timer for `rows`
    (all locked by the caller). Returns the ids of the escalations created."""
    rearm = rearm or _Rearm()
    escalations, events, audits, touched = [], [], [], []
    for inc in rows:
        if inc.level >= Level.CITY:
            inc.due_at = None  # top of the ladder: nothing higher to hand it to; it stays 督办
            inc.supervised = True
            touched.append(inc)
            continue
        new_level = inc.level + 1
        escalations.append(
            Escalation(incident_id=inc.pk, stage=inc.due_stage, level=new_level, due_at=inc.due_at, at=now)
        )
        events.append(
            IncidentEvent(
                incident_id=inc.pk,
                kind=EventKind.ESCALATE,
                from_status=inc.status,
                to_status=inc.status,
                note=f"{Stage(inc.due_stage).label}超时，升级至{Level(new_level).label}督办",
                on_time=False,
                data={
                    "stage": inc.due_stage,
                    "from_level": inc.level,
                    "to_level": new_level,
                    "due_at": inc.due_at.isoformat(),
                },
                at=now,
            )
        )
        audits.append(
            AuditEvent(
                action="incident.escalate",
                target_type="grids.incident",
                target_id=str(inc.pk),
                path=inc.path,
                summary=f"{inc.due_stage} → level {new_level}",
                data={"stage": inc.due_stage, "level": new_level},
            )
        )
        inc.level = new_level
        inc.supervised = True
        rearm(inc, now)
        touched.append(inc)
    if per_row:
        created = []
        for esc, event, audit in zip(escalations, events, audits, strict=True):
            try:
                with transaction.atomic():
                    esc.save()
            except IntegrityError:
                log.warning(
                    "escalation of incident %s at %s/%s already recorded",
                    esc.incident_id,
                    esc.stage,
                    esc.level,
                )
                continue
            event.save()
            audit.save()
            created.append(esc.pk)
        _save_levels(touched)
        return created
    created = Escalation.objects.bulk_create(escalations)
    IncidentEvent.objects.bulk_create(events)
    AuditEvent.objects.bulk_create(audits)
    _save_levels(touched)
    return [e.pk for e in created]


def escalation_scan(*, now=None, batch: int = BATCH, limit: int | None = None) -> int:
    """Escalates every incident whose current deadline has passed, one level each, in batches
    that each commit on their own. Returns the number of escalations made. Safe to run
    concurrently and repeatedly (see module docstring)."""
    from ..tasks import notify_escalations

    now = now or sla.db_now()
    rearm = _Rearm()
    total = 0
    while limit is None or total < limit:
        with transaction.atomic():
            rows = _claim(now, batch)
            if not rows:
                break
            try:
                with transaction.atomic():
                    created = _escalate_rows(rows, now, per_row=False, rearm=rearm)
            except IntegrityError:
                # a row already carries this escalation (it cannot, under our locks — but the
                # constraint has the last word): redo the batch row by row, skipping duplicates
                # the failed attempt changed the objects in memory, not the rows: reload them
                created = _escalate_rows(_claim(now, batch), now, per_row=True, rearm=rearm)
            if created:
                transaction.on_commit(lambda ids=created: notify_escalations.delay(ids))
            total += len(created)
    return total


def auto_close_scan(*, now=None, batch: int = BATCH) -> int:
    """Closes VERIFIED incidents whose evaluation window has passed (as 未评价)."""
    from .incidents import incident_auto_close

    now = now or sla.db_now()
    closed = 0
    while True:
        ids = list(
            Incident.objects.filter(status=Status.VERIFIED, due_stage=Stage.EVALUATE, due_at__lte=now)
            .order_by("due_at")
            .values_list("pk", flat=True)[:batch]
        )
        if not ids:
            break
        progressed = 0
        for pk in ids:
            if incident_auto_close(incident_id=pk, now=now):
                closed += 1
                progressed += 1
        if not progressed:
            break
    return closed


def escalation_notify(*, escalation_ids: list[int]) -> int:
    """Tells the next level's handlers and the party line (after the scan committed). Keyed
    per escalation, so a retried task delivers nothing twice."""
    from qionglai.core.notify import deliver

    from ._common import incident_url

    sent = 0
    for esc in Escalation.objects.filter(pk__in=escalation_ids).select_related(
        "incident", "incident__category", "incident__micro_grid"
    ):
        inc = esc.incident
        recipients = set(level_recipient_ids(inc, esc.level)) | set(party_line_ids(inc))
        sent += deliver(
            user_ids=recipients,
            key=f"incident:{inc.pk}:escalation:{esc.pk}",
            title=f"【督办】事件超时升级至{esc.get_level_display()}：{inc.category.name}",
            body=f"{Stage(esc.stage).label if esc.stage in Stage.values else esc.stage}时限 {timezone.localtime(esc.due_at):%m-%d %H:%M} 已过。{inc.description[:100]}",
            url=incident_url(inc),
        )
    return sent


__all__ = ["ancestors", "auto_close_scan", "escalation_notify", "escalation_scan", "party_line_ids"]
