"""Read queries shared by pages, API and dashboard; each decides its joins once."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Concat
from django.utils import timezone

from qionglai.users import access
from qionglai.users.models import Role

from . import geo
from .models import (
    OPEN_STATES,
    Category,
    ExtensionRequest,
    ExtensionStatus,
    Grid,
    GridBoundary,
    GridKind,
    Incident,
    IncidentFollower,
    Status,
    Tier,
)
from .transitions import HANDLE_ACTION


def locate_micro_grid(*, lat: float, lng: float) -> GridBoundary | None:
    """The current micro-grid boundary containing the point: an indexed bbox range query
    narrows 3,830 polygons to the few whose box holds the point, then ray casting decides.
    Where boundaries overlap (a drawing error) the lowest path wins, deterministically."""
    candidates = (
        GridBoundary.objects.filter(
            valid_to__isnull=True,
            grid__kind=GridKind.MICRO,
            grid__retired_at__isnull=True,
            min_lng__lte=lng,
            max_lng__gte=lng,
            min_lat__lte=lat,
            max_lat__gte=lat,
        )
        .select_related("grid", "grid__community")
        .order_by("grid__path")
    )
    for boundary in candidates:
        if geo.contains(boundary.geometry, lng, lat):
            return boundary
    return None


def visible_q(user) -> Q | None:
    """Which incidents the user may see: those under their staff grants, those dispatched to
    their department, and those they reported or follow."""
    if access.is_admin(user):
        return Q()
    q = Q(reporter_id=user.pk) | Exists(
        IncidentFollower.objects.filter(incident=OuterRef("pk"), user_id=user.pk)
    )
    staff = access.scope_q(user, "grids.incident_view")
    if staff is not None:
        q |= staff
    units = access.units(user, Role.DEPARTMENT_HANDLER)
    if units:
        q |= Q(assigned_department__code__in=sorted(units))
    return q


def incident_list_for(*, user, filters: dict | None = None) -> QuerySet[Incident]:
    """Incidents the user may see, newest first, with what list rows show joined in."""
    q = visible_q(user)
    qs = Incident.objects.select_related(
        "category", "category__parent", "community", "micro_grid", "assigned_department", "reporter"
    )
    if q is None:
        return qs.none()
    qs = qs.filter(q)
    f = filters or {}
    if f.get("status"):
        qs = qs.filter(status__in=f["status"] if isinstance(f["status"], list | tuple) else [f["status"]])
    if f.get("open"):
        qs = qs.filter(status__in=OPEN_STATES)
    if f.get("urgency"):
        qs = qs.filter(urgency=f["urgency"])
    if f.get("tier"):
        qs = qs.filter(tier=f["tier"])
    if f.get("category"):
        qs = qs.filter(Q(category__code=f["category"]) | Q(category__parent__code=f["category"]))
    if f.get("overdue"):
        qs = qs.filter(status__in=OPEN_STATES, due_at__lt=timezone.now())
    if f.get("supervised"):
        qs = qs.filter(supervised=True)
    if f.get("mine"):
        qs = qs.filter(reporter_id=user.pk)
    if f.get("path"):
        qs = qs.filter(Q(path=f["path"]) | Q(path__startswith=f["path"] + "."))
    if f.get("q"):
        qs = qs.filter(description__icontains=f["q"])
    return qs.order_by("-created_at", "-id")


def incident_detail_for(*, user, pk: int) -> Incident | None:
    return incident_list_for(user=user).filter(pk=pk).first()


def task_list_for(*, user) -> QuerySet[Incident]:
    """ "My tasks": open incidents waiting on something this user may do, earliest deadline first."""
    q = Q(pk__in=[])
    accept = access.scope_q(user, "grids.accept")
    if accept is not None:
        q |= accept & Q(status=Status.REPORTED)
    for tier, action in HANDLE_ACTION.items():
        scope = access.scope_q(user, action)
        if scope is None:
            continue
        mine = scope & Q(status=Status.IN_PROGRESS, tier=tier)
        if tier == Tier.DEPARTMENT and not access.is_admin(user):
            mine &= Q(assigned_department__code__in=sorted(access.units(user, Role.DEPARTMENT_HANDLER)))
        q |= mine
    verify = access.scope_q(user, "grids.verify")
    if verify is not None:
        q |= verify & Q(status=Status.RESOLVED)
    dispatch = access.scope_q(user, "grids.dispatch")
    if dispatch is not None:
        q |= dispatch & Q(status=Status.ACCEPTED)
    return (
        Incident.objects.filter(q)
        .select_related(
            "category", "category__parent", "community", "micro_grid", "assigned_department", "reporter"
        )
        .order_by("due_at", "id")
    )


def duplicates_for(
    *, category: Category, lat: float, lng: float, micro_grid: Grid | None = None, now=None
) -> list[Incident]:
    """Open incidents of the same category within the category's radius and time window, in
    the same or a neighbouring micro-grid (one under the same general grid), nearest first."""
    now = now or timezone.now()
    radius = category.duplicate_radius_m
    dlat, dlng = geo.degrees_for(radius, lat)
    qs = Incident.objects.filter(
        category=category,
        status__in=(Status.REPORTED, Status.ACCEPTED, Status.IN_PROGRESS),
        created_at__gte=now - timedelta(days=category.duplicate_window_days),
        lat__gte=lat - dlat,
        lat__lte=lat + dlat,
        lng__gte=lng - dlng,
        lng__lte=lng + dlng,
    ).select_related("category", "micro_grid")
    if micro_grid is not None and micro_grid.parent_id:
        qs = qs.filter(Q(micro_grid__parent_id=micro_grid.parent_id) | Q(micro_grid__isnull=True))
    found = []
    for inc in qs[:50]:
        d = geo.distance_m(lat, lng, float(inc.lat), float(inc.lng))
        if d <= radius:
            inc.distance_m = round(d)
            found.append(inc)
    return sorted(found, key=lambda i: i.distance_m)


def grid_list_for(*, user, kind: str | None = None, community=None) -> QuerySet[Grid]:
    qs = Grid.objects.filter(retired_at__isnull=True).select_related("community", "parent")
    if kind:
        qs = qs.filter(kind=kind)
    if community is not None:
        qs = qs.filter(community=community)
    return access.scope(qs, user, "grids.view").order_by("path")


def with_totals(qs: QuerySet[Grid]) -> QuerySet[Grid]:
    """`household_total` and `open_count` for each grid: a micro-grid's own, and for a general
    (or any higher) grid the sum over the micro-grids under it — a general grid's own
    `households` is 0, its people live in its micro-grids. Both are subqueries on the path
    prefix (`text_pattern_ops` indexes), one per column, whatever the page size."""
    below = Concat(OuterRef("path"), Value("."))
    households = (
        Grid.objects.filter(path__startswith=below, kind=GridKind.MICRO, retired_at__isnull=True)
        .order_by()
        .values("community_id")
        .annotate(total=Sum("households"))
        .values("total")[:1]
    )
    open_incidents = (
        Incident.objects.filter(Q(path=OuterRef("path")) | Q(path__startswith=below), status__in=OPEN_STATES)
        .order_by()
        .values("community_id")
        .annotate(n=Count("id"))
        .values("n")[:1]
    )
    return qs.annotate(
        household_total=Coalesce(
            Subquery(households, output_field=IntegerField()), "households", output_field=IntegerField()
        ),
        open_count=Coalesce(Subquery(open_incidents, output_field=IntegerField()), 0),
    )


def reportable_micro_grids(*, user) -> QuerySet[Grid]:
    return access.scope(
        Grid.objects.filter(kind=GridKind.MICRO, retired_at__isnull=True).select_related("parent"),
        user,
        "grids.report",
    ).order_by("path")


def pending_extensions_for(*, user) -> QuerySet[ExtensionRequest]:
    q = access.scope_q(user, "grids.approve_extension", "incident__path")
    qs = ExtensionRequest.objects.filter(status=ExtensionStatus.PENDING).select_related(
        "incident", "incident__category", "requested_by"
    )
    return qs.none() if q is None else qs.filter(q).order_by("requested_at")


def categories() -> QuerySet[Category]:
    return (
        Category.objects.filter(active=True).select_related("parent", "department").order_by("order", "code")
    )
