"""Pieces every grids service shares: locking, events, recipients, messages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from qionglai.core.audit import audit_record
from qionglai.core.errors import ApplicationError
from qionglai.core.locks import busy_on_contention, lock_one, set_lock_timeout
from qionglai.core.notify import notify
from qionglai.users import access
from qionglai.users.models import Role

from ..models import Incident, IncidentEvent, RosterEntry, Tier
from ..transitions import HANDLE_ACTION, MOVES, MSG_NOT_HANDLER, MSG_NOT_REPORTER, Move, can_handle

MSG_ILLEGAL = "事件当前状态为「{state}」，不能执行「{action}」"
MSG_GRID_WORKER_TIER = "网格员只能以「网格自办」方式受理事件"

__all__ = ["HANDLE_ACTION", "MSG_NOT_HANDLER", "MSG_NOT_REPORTER", "can_handle"]


def ancestors(path: str) -> list[str]:
    parts = path.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


# Set inside `remembered()`: the categories, departments and communities `lock()` attached,
# as first read in the block, and the statements compiled once (`compiled`).
_references: dict | None = None
_statements: dict | None = None
REFERENCES = ("category", "assigned_department", "community")
_VARYING = -987_654_321  # stands for the one parameter that changes (an id) while compiling


@contextmanager
def remembered() -> Iterator[None]:
    """Within the block, `lock()` reads the incident's own row and attaches its category,
    department and community from objects read once (per process) and then remembered, and the
    statements a history repeats for every incident are compiled once (`compiled`): for a batch
    writer that changes none of the references, the demo build, which locks an incident about
    five times in its history (the three-table join cost twice the plain read to build and
    load, and Django's compiling a statement many times running it). Outside the block every
    lock joins them and every statement is compiled as usual, as the pages and the API need."""
    global _references, _statements
    previous, _references, _statements = (_references, _statements), {}, {}
    try:
        yield
    finally:
        _references, _statements = previous


def compiled(name: str, queryset_for: Callable[[int], QuerySet], value: int) -> tuple[str, list] | None:
    """Inside `remembered()`: the SQL and parameters of `queryset_for(value)`, compiled once per
    name and database vendor with a stand-in for `value`, which is then put in its place (the
    statement's shape never changes, only that id). None outside the block."""
    if _statements is None:
        return None
    key = (name, connection.vendor)
    entry = _statements.get(key)
    if entry is None:
        sql, params = queryset_for(_VARYING).query.get_compiler(connection=connection).as_sql()
        params = list(params)
        if params.count(_VARYING) != 1:
            raise RuntimeError(f"{name}: the statement must take its id exactly once")
        entry = _statements[key] = (sql, params, params.index(_VARYING))
    sql, params, at = entry
    params = params.copy()
    params[at] = value
    return sql, params


def _row_to_lock(pk: int):
    return Incident.objects.select_for_update(of=("self",)).filter(pk=pk)


def lock(incident: Incident | int) -> Incident:
    """Re-reads the incident under a row lock; a lock held too long becomes 「系统繁忙」."""
    pk = incident.pk if isinstance(incident, Incident) else incident
    if _references is None:
        return lock_one(_row_to_lock(pk).select_related(*REFERENCES), pk=pk)
    if not connection.in_atomic_block:  # as select_for_update itself insists
        raise RuntimeError("lock() holds a row lock: call it inside transaction.atomic()")
    sql, params = compiled("lock", _row_to_lock, pk)
    set_lock_timeout()
    with busy_on_contention():
        rows = list(Incident.objects.raw(sql, params))
    if not rows:
        raise Incident.DoesNotExist(f"Incident {pk} does not exist")
    inc = rows[0]
    for name in REFERENCES:
        ref_id = getattr(inc, f"{name}_id")
        if ref_id is None:
            continue
        ref = _references.get((name, ref_id))
        if ref is None:
            ref = _references[(name, ref_id)] = getattr(inc, name)  # read once
        setattr(inc, name, ref)
    return inc


def refuse(incident: Incident, action: str) -> ApplicationError:
    return ApplicationError(MSG_ILLEGAL.format(state=incident.get_status_display(), action=action))


def record(
    incident: Incident,
    *,
    kind: str,
    actor,
    from_status: str = "",
    to_status: str = "",
    note: str = "",
    on_time: bool | None = None,
    data: dict | None = None,
    at=None,
) -> IncidentEvent:
    """The IncidentEvent and its audit row, written inside the caller's transaction."""
    real_actor = actor if getattr(actor, "is_authenticated", False) else None
    event = IncidentEvent.objects.create(
        incident=incident,
        kind=kind,
        actor=real_actor,
        from_status=from_status,
        to_status=to_status,
        note=note,
        on_time=on_time,
        data=data or {},
        at=at or timezone.now(),
    )
    audit_record(
        actor=actor,
        action=f"incident.{kind}",
        target=incident,
        summary=f"{from_status or '—'} → {to_status or from_status or '—'}",
        data={"event": event.pk, **(data or {})},
    )
    return event


def incident_url(incident: Incident) -> str:
    return reverse("grids:incident-detail", args=[incident.pk])


def tell(incident: Incident, user_ids, *, key: str, title: str, body: str = "") -> None:
    """In-app + mail after commit, once per (user, key)."""
    ids = {u for u in user_ids if u}
    if ids:
        notify(
            user_ids=ids,
            key=f"incident:{incident.pk}:{key}",
            title=title,
            body=body or incident.description[:140],
            url=incident_url(incident),
        )


def staff_ids(path: str, *roles: str, unit: str = "") -> list[int]:
    """Users holding one of `roles` on a grant that covers `path` (asked of access.py)."""
    return list(access.holder_grants(path, roles, unit=unit or None).values_list("user_id", flat=True))


def roster_ids(grid_ids, *posts: str) -> list[int]:
    qs = RosterEntry.objects.filter(grid_id__in=[g for g in grid_ids if g], retired_at__isnull=True)
    if posts:
        qs = qs.filter(post__in=posts)
    return list(qs.values_list("user_id", flat=True))


def roster_and_staff_ids(grid_ids, path: str, *roles: str) -> list[int]:
    """`roster_ids(grid_ids)` and `staff_ids(path, *roles)` in one query (two subqueries), for
    the request path where each statement counts (the report)."""
    from qionglai.users.models import User

    roster = RosterEntry.objects.filter(grid_id__in=[g for g in grid_ids if g], retired_at__isnull=True)
    staff = access.holder_grants(path, roles)
    return list(
        User.objects.filter(Q(pk__in=roster.values("user_id")) | Q(pk__in=staff.values("user_id")))
        .order_by()
        .values_list("pk", flat=True)
    )


def handler_ids(incident: Incident) -> list[int]:
    """Who is told when work arrives for the incident's tier."""
    if incident.assignee_id:
        return [incident.assignee_id]
    if incident.tier == Tier.DEPARTMENT and incident.assigned_department_id:
        return staff_ids(
            settings.CITY_PATH, Role.DEPARTMENT_HANDLER, unit=incident.assigned_department.code
        ) + staff_ids(incident.path, Role.DEPARTMENT_HANDLER, unit=incident.assigned_department.code)
    if incident.tier == Tier.GRID:
        return roster_ids([incident.micro_grid_id]) or staff_ids(incident.path, Role.GRID_WORKER)
    if incident.tier == Tier.TOWN:
        return staff_ids(incident.path, Role.TOWN_STAFF)
    return staff_ids(incident.path, Role.COMMUNITY_STAFF)


def enqueue(task_name: str, *args) -> None:
    """Sends a registered Celery task after commit, by name: the services never import
    grids.tasks (which imports them), so the two modules no longer form a cycle."""
    from qionglai.celery import app

    def send() -> None:
        if task_name not in app.tasks:
            # autodiscovery runs when a worker starts; a web process must import the task
            # modules itself, or every photo and report notice it queues is NotRegistered
            app.loader.import_default_modules()
        app.tasks[task_name].delay(*args)

    transaction.on_commit(send, robust=True)


@dataclass
class Step:
    """A transition under way: the locked row, the time, the state it started from. `done()`
    writes the new state, saves and records the event with its audit row."""

    move: Move
    incident: Incident
    actor: object
    now: datetime
    before: str
    event: IncidentEvent | None = None
    # the row as locked: `done()` writes only the columns the transition changed
    loaded: dict = field(default_factory=dict)

    def done(
        self,
        *,
        to: str | None = None,
        kind: str | None = None,
        note: str = "",
        on_time: bool | None = None,
        data: dict | None = None,
        save: bool = True,
    ) -> IncidentEvent:
        """`save=False` when a second step follows in the same transition (one UPDATE)."""
        inc = self.incident
        target = to or self.move.target
        if target is not None:
            inc.status = target
            if save:
                self._save()
        self.event = record(
            inc,
            kind=kind or self.move.event,
            actor=self.actor,
            from_status=self.before if target is not None else "",
            to_status=target or "",
            note=note,
            on_time=on_time,
            data=data,
            at=self.now,
        )
        return self.event

    def _save(self) -> None:
        """UPDATE only the columns that differ from the row as locked (and `updated_at`): a
        transition changes a handful of the incident's ~45 columns, and building and binding
        the full-row UPDATE was a sixth of each step's time (docs/performance.md, demo). The
        row lock is held since it was read, so no column left out can have changed meanwhile."""
        inc = self.incident
        if not self.loaded:  # a Step made without its row as locked: the whole row, as before
            inc.save()
            return
        changed = [name for name, value in self.loaded.items() if getattr(inc, name) != value]
        inc.save(update_fields=[*changed, "updated_at"])
        self.loaded.update((name, getattr(inc, name)) for name in changed)


def _columns(incident: Incident) -> dict:
    return {
        f.attname: getattr(incident, f.attname) for f in Incident._meta.concrete_fields if not f.primary_key
    }


def transition(*, actor, incident: Incident | int, action: str, now: datetime | None = None) -> Step:
    """Lock → check the state and the actor against the one transition table → a Step whose
    `done()` writes and records. Runs inside the caller's transaction (it holds the lock)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("transition() holds a row lock: call it inside transaction.atomic()")
    move = MOVES[action]
    inc = lock(incident)
    if not move.may(actor, inc):  # who first: an outsider learns nothing about the state
        raise PermissionDenied(move.denied)
    if inc.status not in move.sources:
        raise ApplicationError(move.refused) if move.refused else refuse(inc, move.label)
    return Step(
        move=move,
        incident=inc,
        actor=actor,
        now=now or timezone.now(),
        before=inc.status,
        loaded=_columns(inc),
    )
