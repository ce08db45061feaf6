"""Changes to grids and their people: 平战 mode switches, the 1+2+N roster, boundaries."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from qionglai.core.audit import audit_record
from qionglai.core.errors import ApplicationError
from qionglai.core.notify import notify
from qionglai.users import access
from qionglai.users.models import GridPost

from .. import geo, sla
from ..models import Grid, GridBoundary, GridMode, ModeSwitch, ReserveKind, RosterEntry

MSG_MODE_REASON = "切换平战模式须填写原因"
MSG_MODE_SAME = "该网格已处于「{mode}」模式"
MSG_ROSTER_DUP = "该人员已在此网格担任该岗位"
MSG_RESERVE_KIND = "后备力量须注明类别"


def grid_mode_switch(*, actor, grid: Grid, mode: str, reason: str) -> Grid:
    """平时 ⇄ 战时 for the grid and every grid under it, logged with the reason. Entering
    战时 notifies the reserve roster; deadlines of incidents reported from now use the
    wartime policy."""
    access.require(actor, "grids.mode_switch", grid.path)
    reason = (reason or "").strip()
    if mode not in GridMode.values:
        raise ValidationError({"mode": "无效的模式"})
    if not reason:
        raise ValidationError({"reason": MSG_MODE_REASON})
    with transaction.atomic():
        grid = Grid.objects.select_for_update().get(pk=grid.pk)
        if grid.mode == mode:
            raise ApplicationError(MSG_MODE_SAME.format(mode=GridMode(mode).label))
        before = grid.mode
        subtree = Grid.objects.filter(path__startswith=grid.path + ".") | Grid.objects.filter(pk=grid.pk)
        subtree.update(mode=mode)
        sla.forget_modes()  # a batch remembering the modes reads them again
        grid.mode = mode
        switch = ModeSwitch.objects.create(
            grid=grid, from_mode=before, to_mode=mode, reason=reason[:300], actor=actor
        )
        audit_record(
            actor=actor,
            action="grid.mode",
            target=grid,
            summary=f"{before} → {mode}",
            data={"reason": reason},
        )
        if mode == GridMode.WAR:
            reserve = RosterEntry.objects.filter(
                grid__in=subtree, retired_at__isnull=True, post=GridPost.RESERVE
            ).values_list("user_id", flat=True)
            notify(
                user_ids=list(reserve),
                key=f"grid:{grid.pk}:mode:{switch.pk}",
                title=f"【战时】{grid.name} 已切换为战时模式，请立即到岗",
                body=reason,
                url=reverse("grids:grid-detail", args=[grid.pk]),
            )
    return grid


def roster_assign(*, actor, grid: Grid, user, post: str, reserve_kind: str = "") -> RosterEntry:
    access.require(actor, "grids.roster_manage", grid.path)
    if post not in GridPost.values:
        raise ValidationError({"post": "无效的岗位"})
    if post == GridPost.RESERVE and reserve_kind not in ReserveKind.values:
        raise ValidationError({"reserve_kind": MSG_RESERVE_KIND})
    try:
        with transaction.atomic():
            entry = RosterEntry.objects.create(
                grid=grid,
                user=user,
                post=post,
                reserve_kind=reserve_kind if post == GridPost.RESERVE else "",
                started_on=timezone.localdate(),
            )
            audit_record(
                actor=actor, action="grid.roster_assign", target=grid, data={"user": user.pk, "post": post}
            )
    except IntegrityError:
        raise ApplicationError(MSG_ROSTER_DUP) from None
    return entry


def roster_retire(*, actor, entry: RosterEntry) -> RosterEntry:
    access.require(actor, "grids.roster_manage", entry.grid.path)
    with transaction.atomic():
        updated = RosterEntry.objects.filter(pk=entry.pk, retired_at__isnull=True).update(
            retired_at=timezone.now()
        )
        if updated:
            audit_record(
                actor=actor, action="grid.roster_retire", target=entry.grid, data={"entry": entry.pk}
            )
    entry.refresh_from_db()
    return entry


def grid_set_boundary(*, actor, grid: Grid, geometry: dict) -> GridBoundary:
    """Closes the current boundary version and opens a new one (incidents keep theirs)."""
    access.require(actor, "grids.roster_manage", grid.path)
    geo.validate_geometry(geometry)
    min_lng, max_lng, min_lat, max_lat = geo.bbox(geometry)
    with transaction.atomic():
        Grid.objects.select_for_update().get(pk=grid.pk)
        current = GridBoundary.objects.filter(grid=grid, valid_to__isnull=True).first()
        if current:
            current.valid_to = timezone.now()
            current.save(update_fields=["valid_to"])
        version = (current.version + 1) if current else 1
        boundary = GridBoundary.objects.create(
            grid=grid,
            version=version,
            geometry=geometry,
            min_lng=min_lng,
            max_lng=max_lng,
            min_lat=min_lat,
            max_lat=max_lat,
        )
        audit_record(actor=actor, action="grid.boundary", target=grid, data={"version": version})
    return boundary
