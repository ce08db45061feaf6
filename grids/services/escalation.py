"""The escalation ladder (design §4): 微网格 → 一般网格 → 社区 → 镇街 → 市级.

The truth is in the database: `due_at` is a column, the scan claims overdue rows with
SELECT … FOR UPDATE SKIP LOCKED (two scans never take the same row), and the
(incident, stage, level) unique constraint makes each escalation happen once even if a row
were somehow processed twice. A scan that dies mid-batch rolls back that batch only; the next
tick finds the same rows still due and does them — nothing lost, nothing doubled.

On PostgreSQL a batch is two statements: the claim, and one statement whose data-modifying
CTEs insert the escalations (ON CONFLICT DO NOTHING), their events and audit rows from the
claimed rows and raise the incidents' level — set-based, so a batch costs the same few round
trips whatever its size. The re-armed deadline depends only on (policy, stage) because every
row in a scan is re-armed from the same `now`, so Python computes it once per policy and the
statement takes it as an array. Elsewhere (SQLite, the embedded default) the same rows are
written row by row.

An incident at the city level has no level left to climb: it keeps its passed deadline, so it
stays 超时 in lists and counts, and the scan no longer claims it (partial index
`incident_escalation_due`).

Notices: each Escalation row is written with `notified_at` empty, in the scan's transaction —
the record that its notices are owed. `escalation_notify` fans it out into owed notices
(qionglai.core.notify, idempotent on (user, key)) and stamps it; it runs after commit and from
the beat sweep, so a lost task message or a killed worker delays a notice by a minute at most
and never loses or doubles it.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from qionglai.core.models import AuditEvent
from qionglai.users import access
from qionglai.users.models import Role

from .. import sla
from ..models import (
    OPEN_STATES,
    Category,
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
from ._common import ancestors, incident_url

log = logging.getLogger(__name__)
BATCH = 500
NOTIFY_BATCH = 500
LEVEL_ROLE = {
    Level.COMMUNITY: Role.COMMUNITY_STAFF,
    Level.TOWN: Role.TOWN_STAFF,
    Level.CITY: Role.CITY_STAFF,
}


def escalation_note(stage: str, new_level: int) -> str:
    return f"{Stage(stage).label}超时，升级至{Level(new_level).label}督办"


class _Rearm:
    """Re-arms deadlines for a whole scan: categories, policies and the holiday calendar are
    loaded once, and each (policy, stage) deadline from `now` is computed once."""

    def __init__(self, now):
        self.now = now
        self.exceptions = sla.all_exceptions()
        self.categories: dict[int | None, Category | None] = {None: None}
        self.deadlines: dict[tuple, object] = {}
        self.notes: dict[tuple[str, int], str] = {}

    def note(self, stage: str, new_level: int) -> str:
        """escalation_note, translated once per (stage, level) and scan rather than per row
        (two lazy labels a row were a tenth of a 10,000-row scan)."""
        key = (stage, new_level)
        if key not in self.notes:
            self.notes[key] = escalation_note(stage, new_level)
        return self.notes[key]

    def __call__(self, category_id: int | None, urgency: str, mode: str, stage: str):
        key = (category_id, urgency, mode, stage)
        if key not in self.deadlines:
            if category_id not in self.categories:
                self.categories[category_id] = Category.objects.filter(pk=category_id).first()
            policy = sla.policy_for(category=self.categories[category_id], urgency=urgency, mode=mode)
            self.deadlines[key] = sla.deadline(policy, stage, self.now, self.exceptions)
        return self.deadlines[key]


def _claim(now, batch: int) -> list[tuple]:
    return list(
        Incident.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(status__in=OPEN_STATES, due_at__lte=now, level__lt=Level.CITY)
        .exclude(due_stage=Stage.EVALUATE)
        .order_by("due_at")
        .values_list("pk", "category_id", "urgency", "mode", "due_stage", "level")[:batch]
    )


# One statement per batch: escalations (with their incident's path, which the dashboard counts
# them by), events, audit rows and the new level/timer, all from the claimed rows. An escalation
# that already exists (the constraint has the last word) is not inserted again, but its
# incident still gets the event and the level it records, so a level is never raised without
# its escalation and event rows.
ESCALATE_SQL = """
WITH claimed AS (
    SELECT i.id, i.status, i.path, i.level, i.due_stage, i.due_at, u.next_due, u.note
    FROM unnest(%(ids)s::bigint[], %(next_due)s::timestamptz[], %(notes)s::text[])
         AS u(id, next_due, note)
    JOIN grids_incident i ON i.id = u.id
), inserted AS (
    INSERT INTO grids_escalation (incident_id, path, stage, level, due_at, at, notified_at)
    SELECT id, path, due_stage, level + 1, due_at, %(now)s, NULL FROM claimed
    ON CONFLICT (incident_id, stage, level) DO NOTHING
    RETURNING id
), events AS (
    INSERT INTO grids_incidentevent (incident_id, kind, actor_id, from_status, to_status, note, on_time, data, at)
    SELECT id, %(kind)s, NULL, status, status, note, false,
           jsonb_build_object('stage', due_stage, 'from_level', level, 'to_level', level + 1,
                              'due_at', to_jsonb(due_at)),
           %(now)s
    FROM claimed
), audits AS (
    INSERT INTO core_auditevent (at, actor_id, action, target_type, target_id, path, summary, data)
    SELECT %(now)s, NULL, 'incident.escalate', 'grids.incident', id::text, path,
           due_stage || ' → level ' || (level + 1),
           jsonb_build_object('stage', due_stage, 'level', level + 1)
    FROM claimed
), raised AS (
    UPDATE grids_incident i SET level = c.level + 1, supervised = true, due_at = c.next_due
    FROM claimed c WHERE i.id = c.id
    RETURNING i.id
)
SELECT (SELECT array_agg(id ORDER BY id) FROM inserted), (SELECT count(*) FROM raised)
"""


def _escalate_rows(rows: list[tuple], now, *, rearm: _Rearm) -> list[int]:
    """Writes escalations, events, audit rows and the incidents' new level/timer for the
    claimed `rows` (locked by the caller). Returns the ids of the escalations created."""
    if not rows:
        return []
    ids, next_due, notes = [], [], []
    for pk, category_id, urgency, mode, stage, level in rows:
        ids.append(pk)
        next_due.append(rearm(category_id, urgency, mode, stage))
        notes.append(rearm.note(stage, level + 1))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                ESCALATE_SQL,
                {"ids": ids, "next_due": next_due, "notes": notes, "now": now, "kind": EventKind.ESCALATE},
            )
            created, raised = cursor.fetchone()
        if len(created or []) < raised:
            log.warning(
                "%s escalations already recorded; levels raised to match", raised - len(created or [])
            )
        return list(created or [])
    return _escalate_row_by_row(rows, now, next_due, notes)


def _escalate_row_by_row(rows: list[tuple], now, next_due: list, notes: list) -> list[int]:
    """The same writes one incident at a time (SQLite). Each incident's escalation, event,
    audit row and level are written together or not at all."""
    created = []
    incidents = Incident.objects.in_bulk([r[0] for r in rows])
    for (pk, _category, _urgency, _mode, stage, level), due, note in zip(rows, next_due, notes, strict=True):
        inc = incidents[pk]
        with transaction.atomic():
            try:
                with transaction.atomic():
                    esc = Escalation.objects.create(
                        incident=inc, path=inc.path, stage=stage, level=level + 1, due_at=inc.due_at, at=now
                    )
                created.append(esc.pk)
            except IntegrityError:
                log.warning("escalation of incident %s at %s/%s already recorded", pk, stage, level + 1)
            IncidentEvent.objects.create(
                incident=inc,
                kind=EventKind.ESCALATE,
                from_status=inc.status,
                to_status=inc.status,
                note=note,
                on_time=False,
                data={
                    "stage": stage,
                    "from_level": level,
                    "to_level": level + 1,
                    "due_at": inc.due_at.isoformat(),
                },
                at=now,
            )
            AuditEvent.objects.create(
                action="incident.escalate",
                target_type="grids.incident",
                target_id=str(pk),
                path=inc.path,
                summary=f"{stage} → level {level + 1}",
                data={"stage": stage, "level": level + 1},
            )
            Incident.objects.filter(pk=pk).update(level=level + 1, supervised=True, due_at=due)
    return created


def escalation_scan(*, now=None, batch: int = BATCH, limit: int | None = None) -> int:
    """Escalates every incident whose current deadline has passed, one level each, in batches
    that each commit on their own. Returns the number of escalations made. Safe to run
    concurrently and repeatedly (see module docstring)."""
    from ..tasks import notify_escalations

    now = now or sla.db_now()
    rearm = _Rearm(now)
    total = 0
    while limit is None or total < limit:
        with transaction.atomic():
            _no_flush_wait()
            rows = _claim(now, batch)
            if not rows:
                break
            created = _escalate_rows(rows, now, rearm=rearm)
            if created:
                transaction.on_commit(lambda ids=created: _queue(notify_escalations, ids))
            total += len(created)
    return total


def _no_flush_wait() -> None:
    """The scan's commits do not wait for the WAL flush (SET LOCAL synchronous_commit = off):
    under load that wait was a fifth of the scan. A database crash can then forget the last
    batches committed in the previous ~0.6 s — wholly, escalations, events, levels and owed
    notices together — and the next tick finds those incidents still due and escalates them:
    nothing half-done, nothing doubled, at most a minute late. Other transactions keep full
    durability."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('synchronous_commit', 'off', true)")


def _queue(task, ids: list[int]) -> None:
    """After commit: a lost message (broker down) is not an error; the sweep notifies."""
    try:
        task.delay(ids)
    except Exception:
        log.warning("escalation notices for %s not queued; the sweep will send them", len(ids), exc_info=True)


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


# --- notices ---------------------------------------------------------------------------------


def party_line_ids(incident: Incident) -> list[int]:
    """The party line (双线运行): the micro-grid's party group leader and the general grid's
    party organisation secretary."""
    return sorted(_Recipients([incident]).party_line(incident))


class _Recipients:
    """Who is told of each escalation, for a whole batch in four queries: the general grids'
    rosters, the staff grants over every ancestor path, the party groups and organisations."""

    def __init__(self, incidents: list[Incident]):
        micro_ids = {i.micro_grid_id for i in incidents if i.micro_grid_id}
        self.parent = {i.micro_grid_id: i.micro_grid.parent_id for i in incidents if i.micro_grid_id}
        parents = {p for p in self.parent.values() if p}
        self.roster: dict[int, set[int]] = defaultdict(set)
        for grid_id, user_id in RosterEntry.objects.filter(
            grid_id__in=parents, retired_at__isnull=True
        ).values_list("grid_id", "user_id"):
            self.roster[grid_id].add(user_id)
        paths = {p for i in incidents for p in ancestors(i.path)}
        self.grants: dict[tuple[str, str], set[int]] = defaultdict(set)
        for role, path, user_id in access.grants_at(paths, set(LEVEL_ROLE.values())).values_list(
            "role", "path", "user_id"
        ):
            self.grants[(role, path)].add(user_id)
        self.leaders: dict[int, set[int]] = defaultdict(set)
        for grid_id, leader in PartyGroup.objects.filter(grid_id__in=micro_ids).values_list(
            "grid_id", "leader_id"
        ):
            if leader:
                self.leaders[grid_id].add(leader)
        self.secretaries: dict[int, set[int]] = defaultdict(set)
        for grid_id, secretary in PartyOrganization.objects.filter(grid_id__in=parents).values_list(
            "grid_id", "secretary_id"
        ):
            if secretary:
                self.secretaries[grid_id].add(secretary)

    def level(self, incident: Incident, level: int) -> set[int]:
        if level == Level.GENERAL:
            return set(self.roster.get(self.parent.get(incident.micro_grid_id), ()))
        role = LEVEL_ROLE.get(level, Role.CITY_STAFF)
        return {u for path in ancestors(incident.path) for u in self.grants.get((role, path), ())}

    def party_line(self, incident: Incident) -> set[int]:
        if not incident.micro_grid_id:
            return set()
        return set(self.leaders.get(incident.micro_grid_id, ())) | set(
            self.secretaries.get(self.parent.get(incident.micro_grid_id), ())
        )


def escalation_owe_notices(
    *, escalation_ids: list[int] | None = None, batch: int = NOTIFY_BATCH
) -> list[str]:
    """Turns one batch of escalations not yet notified (those of `escalation_ids`, or any)
    into owed notices for the next level's handlers and the party line, and stamps them, in
    one transaction; rows claimed with SKIP LOCKED. Returns the notice keys owed ([] when
    nothing is left)."""
    from qionglai.core.notify import owe_many

    with transaction.atomic():
        qs = Escalation.objects.select_for_update(skip_locked=True, of=("self",)).filter(
            notified_at__isnull=True
        )
        if escalation_ids is not None:
            qs = qs.filter(pk__in=escalation_ids)
        rows = list(
            qs.select_related("incident", "incident__category", "incident__micro_grid").order_by("pk")[:batch]
        )
        if not rows:
            return []
        recipients = _Recipients([e.incident for e in rows])
        notices, keys = [], []
        for esc in rows:
            inc = esc.incident
            key = f"incident:{inc.pk}:escalation:{esc.pk}"
            stage = Stage(esc.stage).label if esc.stage in Stage.values else esc.stage
            title = f"【督办】事件超时升级至{esc.get_level_display()}：{inc.category.name}"
            body = f"{stage}时限 {timezone.localtime(esc.due_at):%m-%d %H:%M} 已过。{inc.description[:100]}"
            url = incident_url(inc)
            for user_id in sorted(recipients.level(inc, esc.level) | recipients.party_line(inc)):
                notices.append((user_id, key, title, body, url))
            keys.append(key)
        owe_many(notices)
        Escalation.objects.filter(pk__in=[e.pk for e in rows]).update(notified_at=timezone.now())
    return keys


def escalation_notify(*, escalation_ids: list[int] | None = None) -> int:
    """Owes the escalations' notices a batch at a time (see above) and delivers each batch.
    Returns the inbox rows delivered. Run twice, it delivers nothing twice."""
    from qionglai.core.notify import deliver_owed

    delivered = 0
    while keys := escalation_owe_notices(escalation_ids=escalation_ids):
        delivered += deliver_owed(keys=keys)
    return delivered


__all__ = ["ancestors", "auto_close_scan", "escalation_notify", "escalation_scan", "party_line_ids"]
