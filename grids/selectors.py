"""Read queries shared by pages, API and dashboard; each decides its joins once."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import (
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Concat
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from projects.models import Community, Department, Town
from qionglai.users import access
from qionglai.users.models import Role

from . import geo
from .filters import InArray, IncidentFilterSet, UnderPath
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
from .pagination import empty_page, keyset_rows, keyset_rows_where
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


def _staff_paths(user) -> list[str] | None:
    """The paths the user sees as staff, or None when one of them is the whole city."""
    paths = access.grant_paths(user, "grids.incident_view")
    return None if settings.CITY_PATH in paths else paths


def _one_of(column: str, subquery: QuerySet) -> Q:
    if connection.vendor != "postgresql":
        return Q(**{f"{column}__in": subquery})
    return Q(InArray(F(column), Subquery(subquery)))


def _staff_q(user, *, by_community: bool = False) -> Q | None:
    """The rows access.scope_q(user, "grids.incident_view") selects (a policy without
    ancestors: each grant's path and what lies below it), one UnderPath range per grant —
    with `by_community`, a grant on a community written `community_id = …`: the same rows,
    because an incident's path is its micro-grid's (which continues its community's path) or its
    community's own (services.incidents.incident_report sets both together and nothing
    changes either), and no other place lies under a community's path. That condition is one
    ordered range of incident_community_created: the page stops after 21 entries instead of
    sorting the community's ~5,300 path entries. Only for the unfiltered list: a filter
    (status=, open=1, overdue=1, …) is served by the path indexes that carry its column
    (incident_path_covering, incident_open_path), which community_id cannot use (0.4 → 3.4 ms
    for a community's status=reported, 0.6 → 8.3 ms for overdue=1). A path the name maps do
    not know (a community created in another process a moment ago) keeps its path range.
    tests/grids/test_list_scope.py and test_incident_list_community.py check that both
    forms select what scope_q selects."""
    paths = access.grant_paths(user, "grids.incident_view")
    if not paths:
        return None
    # the maps only for a grant at a community's depth (town.community): others never ask
    wanted = by_community and any(p.count(".") == 2 for p in paths)
    community_ids = list_names().community_ids if wanted else {}
    q = None
    for p in paths:
        community = community_ids.get(p)
        part = Q(UnderPath(p)) if community is None else Q(community_id=community)
        q = part if q is None else q | part
    return q


def _own_rows_outside_scope(user) -> bool:
    """Whether the reporter/follower branches can add anything: only for a user who may report
    somewhere their staff grants do not cover (a resident; a grid worker living elsewhere).
    Reports are only possible under a report grant, so everyone else's own rows are already
    in the staff scope, and the branch is left out ("my reports" reads them directly)."""
    staff = access.grant_paths(user, "grids.incident_view")
    return any(not any(access.covers(s, p) for s in staff) for p in access.grant_paths(user, "grids.report"))


def _own_q(user) -> Q:
    """What the user reported or follows: the reporter index and the followed ids (an array
    the planner looks up by primary key), both usable inside a BitmapOr."""
    followed = IncidentFollower.objects.filter(user_id=user.pk).order_by().values("incident_id")
    return Q(reporter_id=user.pk) | _one_of("id", followed)


def visible_q(user, *, by_community: bool = False) -> Q | None:
    """Which incidents the user may see: those under their staff grants (an index range on
    path per grant), those dispatched to their department, and — only for users who have them
    outside that scope — those they reported or follow. None: nothing. `by_community`: the
    same rows, a grant on a community as `community_id = …` (for the unfiltered list, see
    _staff_q)."""
    if not getattr(user, "is_authenticated", False):
        return None
    # derived from the grants, which access.active_grants() loads once per user object (the
    # list asks twice a request: the rows, and whether they are the whole table); kept with
    # the very grants list it came from, so access.forget_grants() drops it too
    grants = access.active_grants(user)
    attr = "_visible_q_by_community" if by_community else "_visible_q"
    cached = getattr(user, attr, None)
    if cached is None or cached[0] is not grants:
        cached = (grants, _visible_q(user, by_community=by_community))
        setattr(user, attr, cached)
    return cached[1]


def _visible_q(user, *, by_community: bool) -> Q | None:
    if access.is_admin(user) or (
        access.can_anywhere(user, "grids.incident_view") and _staff_paths(user) is None
    ):
        return Q()
    parts = []
    staff = _staff_q(user, by_community=by_community)
    if staff is not None:
        parts.append(staff)
    units = access.units(user, Role.DEPARTMENT_HANDLER)
    if units:
        depts = Department.objects.filter(code__in=sorted(units)).order_by().values("id")
        parts.append(_one_of("assigned_department_id", depts))
    if _own_rows_outside_scope(user):
        parts.append(_own_q(user))
    if not parts:
        return None
    q = parts[0]
    for part in parts[1:]:
        q |= part
    return q


def sees_everything(user) -> bool:
    """City-wide or admin: the unfiltered list is the whole table (the count is an estimate)."""
    return visible_q(user) == Q()


LIST_JOINS = ("category", "category__parent", "community", "micro_grid", "assigned_department")


def _legacy(filters: dict) -> dict:
    """The dict the pages and other apps used to pass, as the filterset's query parameters."""
    data = {}
    for key, value in filters.items():
        if value in (None, "", False):
            continue
        name = "place" if key == "path" else key
        data[name] = "1" if value is True else value
    return data


def incident_filter(*, user, data, queryset: QuerySet | None = None) -> IncidentFilterSet:
    """The one IncidentFilterSet over what the user may see (`mine=1`: what they reported)."""
    return IncidentFilterSet(
        data=data,
        queryset=queryset if queryset is not None else visible_for(user=user, mine=data.get("mine") == "1"),
    )


def visible_for(*, user, mine: bool = False, by_community: bool = False) -> QuerySet[Incident]:
    qs = Incident.objects.select_related(*LIST_JOINS)
    if mine:
        # the reporter always sees her own reports, whatever her grants are now
        return qs.filter(reporter_id=user.pk) if getattr(user, "is_authenticated", False) else qs.none()
    q = visible_q(user, by_community=by_community)
    return qs.none() if q is None else qs.filter(q)


def incident_list_for(*, user, filters: dict | None = None) -> QuerySet[Incident]:
    """Incidents the user may see, newest first, with what list rows show joined in. `filters`
    takes the IncidentFilterSet's parameters (and the older `path`, `open=True` spelling)."""
    data = _legacy(filters or {})
    qs = incident_filter(user=user, data=data).qs
    return qs.order_by("-created_at", "-id")


# --- names the list rows show --------------------------------------------------------------
# The list reads incidents without joins (joining five tables made planning cost six times
# the page's execution) and takes names from these small id → name maps: all categories,
# communities, grids and departments are a few thousand rows, loaded in four queries per
# process at most every NAMES_TTL seconds. A save or delete of one of them in this process
# drops the maps; another process sees a rename within NAMES_TTL, and an id it has never
# seen (a grid created elsewhere) reloads the maps at once, so no row ever lacks its name.
NAMES_TTL = 60.0


@dataclass
class ListNames:
    categories: dict[int, tuple[str, str]] = field(default_factory=dict)  # id → (code, name)
    communities: dict[int, str] = field(default_factory=dict)
    community_ids: dict[str, int] = field(default_factory=dict)  # path → id (selectors._staff_q)
    grids: dict[int, str] = field(default_factory=dict)
    departments: dict[int, str] = field(default_factory=dict)  # id → code
    department_names: dict[int, str] = field(default_factory=dict)
    # the list page's filter pickers, in their display order
    towns: list[tuple[str, str]] = field(default_factory=list)  # (path, name)
    community_places: list[tuple[str, str, str]] = field(default_factory=list)  # (path, name, town path)
    category_choices: list[tuple[str, str]] = field(default_factory=list)  # active: (code, label)
    department_choices: list[tuple[str, str]] = field(default_factory=list)  # (code, name)
    loaded_at: float = 0.0

    def covers(self, rows: list) -> bool:
        """Whether every name these rows show is here; rows: dicts, or tuples of LIST_COLUMNS."""
        if rows and isinstance(rows[0], dict):
            rows = [
                (r["category_id"], r["community_id"], r["micro_grid_id"], r["assigned_department_id"])
                for r in rows
            ]
            at = 0, 1, 2, 3
        else:
            at = _row_ids()
        c, m, g, d = at
        for r in rows:
            category, community, grid, department = r[c], r[m], r[g], r[d]
            if not (
                category in self.categories
                and community in self.communities
                and (grid is None or grid in self.grids)
                and (department is None or department in self.departments)
            ):
                return False
        return True


_row_id_positions: tuple[int, ...] = ()


def _row_ids() -> tuple[int, ...]:
    """Where a LIST_COLUMNS tuple holds the ids ListNames.covers looks up."""
    global _row_id_positions
    if not _row_id_positions:
        from .serializers import LIST_COLUMNS

        names = ("category_id", "community_id", "micro_grid_id", "assigned_department_id")
        _row_id_positions = tuple(LIST_COLUMNS.index(n) for n in names)
    return _row_id_positions


_names: ListNames | None = None
_names_lock = threading.Lock()


def _load_names() -> ListNames:
    categories = list(
        Category.objects.order_by("order", "code").values_list("id", "code", "name", "parent_id", "active")
    )
    by_id = {pk: name for pk, _, name, _, _ in categories}
    communities = list(Community.objects.order_by("path").values_list("id", "name", "path", "town__path"))
    departments = list(Department.objects.order_by("code").values_list("id", "code", "name"))
    return ListNames(
        categories={pk: (code, name) for pk, code, name, _, _ in categories},
        communities={pk: name for pk, name, _, _ in communities},
        community_ids={path: pk for pk, _, path, _ in communities},
        grids=dict(Grid.objects.values_list("id", "name")),
        departments={pk: code for pk, code, _ in departments},
        department_names={pk: name for pk, _, name in departments},
        towns=list(Town.objects.order_by("path").values_list("path", "name")),
        community_places=[(path, name, town) for _, name, path, town in communities],
        category_choices=[
            (code, f"{by_id[parent]} › {name}" if parent else name)
            for _, code, name, parent, active in categories
            if active and (parent is None or parent in by_id)
        ],
        department_choices=[(code, name) for _, code, name in departments],
        loaded_at=time.monotonic(),
    )


def list_names(rows: list[dict] = ()) -> ListNames:
    """The id → name maps for these list rows (see above)."""
    global _names
    names = _names
    if names is None or time.monotonic() - names.loaded_at > NAMES_TTL or not names.covers(rows):
        with _names_lock:
            names = _names = _load_names()
    return names


def forget_list_names(**kwargs) -> None:
    global _names
    _names = None
    # a compiled WHERE may hold a community's id for its path (_staff_q): a deleted community
    # and a new one at the same path must not share it
    _shapes.clear()


for _model in (Category, Community, Grid, Department, Town):
    post_save.connect(forget_list_names, sender=_model, dispatch_uid=f"list-names-save-{_model.__name__}")
    post_delete.connect(forget_list_names, sender=_model, dispatch_uid=f"list-names-del-{_model.__name__}")


def narrow_scope(user) -> bool:
    """Whether everything the user sees lies in communities (or smaller places): staff paths
    of a community or below, no department, no own rows outside them. Such a list is a few
    thousand rows that the (created_at, id) order scatters, so its page is read deferred
    (pagination.keyset_rows)."""
    paths = access.grant_paths(user, "grids.incident_view")
    return (
        bool(paths)
        and all(p.count(".") >= 2 for p in paths)
        and not access.is_admin(user)
        and not access.units(user, Role.DEPARTMENT_HANDLER)
        and not _own_rows_outside_scope(user)
    )


# filters whose page reads its ids first from incident_created_covering, see ids_first()
IDS_FIRST_FILTERS = frozenset({"category", "place"})


def ids_first(user, params, *, filtered: bool, applied: set[str] | None = None) -> bool:
    """Whether the API's page reads its ids first (pagination.keyset_rows_where `deferred`):
    - `category=` (with or without `place=`): the walk in (created_at, id) order that finds a
      town's 21 rows of a parent category passes ~3,700 others; ids first, it checks their path
      and category in incident_created_covering ((created_at, id) INCLUDE (path, category_id))
      index-only instead of reading each from the heap (a town's category=02 page 2.1–3.3 →
      0.9–1.3 ms at 1,000,000 incidents, docs/performance.md);
    - an unfiltered list of a community (or smaller): from its own index (narrow_scope);
    - `open=1` of a community (or smaller): from incident_open_path, index-only, then a sort
      of its few hundred open ids, where the plain page read each of those rows from the heap
      before its sort (1.2–2.2 → 0.7–1.3 ms at 1,000,000 incidents; a town's open=1 walks
      incident_open_created in order and stays plain);
    - `overdue=1` below the city: from incident_open_path, which holds the page's keys (the
      city walks its open rows in order).
    Everything else keeps the plain ordered scan, which stops after 21 rows of its own index:
    ids first only adds the nested statement's planning (a town's unfiltered list measured
    0.1 ms slower ids first, the status= pages 0.1–0.7 ms slower).
    `applied`: IncidentFilterSet.applied(params), when the caller has it already."""
    if params.get("mine") == "1":
        return False
    if not filtered:
        return narrow_scope(user)
    if params.get("overdue") == "1":
        return not sees_everything(user)
    if applied is None:
        applied = IncidentFilterSet.applied(params)
    if applied == {"open"} and params.get("open") == "1":
        return narrow_scope(user)
    return "category" in applied and applied <= IDS_FIRST_FILTERS


def incident_list_page(
    *, queryset: QuerySet[Incident], cursor: str | None, size: int, whole_table: bool, deferred: bool = False
):
    """One keyset page of the API's list: the rows as IncidentSerializer shapes them, read
    from LIST_COLUMNS alone (no joins), named from list_names(). `deferred`: ids first
    (narrow_scope)."""
    from .serializers import LIST_COLUMNS, incident_list_rows

    page = keyset_rows(
        queryset, columns=LIST_COLUMNS, cursor=cursor, size=size, whole_table=whole_table, deferred=deferred
    )
    page.rows = incident_list_rows(page.rows, list_names(page.rows))
    return page


# --- the API list's WHERE, once per query shape ----------------------------------------------
# Building the visibility Q, running the IncidentFilterSet over it and compiling the WHERE is
# the same work for every request of the same user and filters (half a millisecond of a
# request's CPU). The compiled `(sql, params)` depends only on what the key holds: the user's
# id and flags, their active grants (role, path, post, unit: all that visible_q reads) and
# the filter parameters as sent — values from the query string and SQL subqueries, never a
# row the database holds. Filters whose SQL carries the clock or the time zone (overdue,
# created_from/to) or free text (q), and any parameter that is not a filter, are never cached:
# they take the full path every time. A miss validates through the filterset exactly as
# before (a bad value is a 400 and is not stored).
SHAPE_FILTERS = frozenset(
    {"place", "path", "status", "open", "category", "urgency", "tier", "department", "channel"}
    | {"supervised", "mine"}
)
SHAPE_PAGING = frozenset({"cursor", "page_size"})
SHAPES_MAX = 2048
EMPTY = "empty"  # the user sees nothing: no statement at all


@dataclass(frozen=True)
class ListShape:
    where: tuple[str, tuple] | str  # compiled_where()'s (sql, params), or EMPTY
    whole_table: bool
    deferred: bool


_shapes: dict[tuple, ListShape] = {}


def list_shape_key(*, user, params) -> tuple | None:
    """The key the API list's compiled WHERE is kept under, or None: not to be cached."""
    if not getattr(user, "is_authenticated", False):
        return None
    items = []
    for name in params:
        if name in SHAPE_PAGING:
            continue
        if name not in SHAPE_FILTERS:
            return None
        items.append((name, tuple(params.getlist(name))))
    grants = tuple((g.role, g.path, g.post, g.unit) for g in access.active_grants(user))
    return (user.pk, user.is_active, user.is_superuser, grants, tuple(sorted(items)))


def list_shape(key: tuple | None) -> ListShape | None:
    return None if key is None else _shapes.get(key)


def remember_list_shape(key: tuple | None, shape: ListShape) -> None:
    if key is None:
        return
    if len(_shapes) >= SHAPES_MAX:  # a bound, not an eviction policy: shapes are few
        _shapes.clear()
    _shapes[key] = shape


def incident_list_page_where(*, shape: ListShape, cursor: str | None, size: int):
    """incident_list_page() from a shape's compiled WHERE (no queryset built)."""
    from .serializers import LIST_COLUMNS, incident_list_tuples

    if shape.where == EMPTY:
        page = empty_page(size=size)
    else:
        page = keyset_rows_where(
            Incident,
            shape.where,
            columns=LIST_COLUMNS,
            cursor=cursor,
            size=size,
            whole_table=shape.whole_table,
            deferred=shape.deferred,
            tuples=True,
        )
    page.rows = incident_list_tuples(page.rows, list_names(page.rows))
    return page


def named_rows(incidents: list[Incident]) -> list[Incident]:
    """The list page's incidents, read without joins, given what their rows show (category,
    community, micro-grid and department names) from list_names() as the related objects,
    so templates/grids/_incident_item.html reads them as it reads joined ones."""
    if not incidents:
        return incidents
    names = list_names(
        [
            {
                "category_id": i.category_id,
                "community_id": i.community_id,
                "micro_grid_id": i.micro_grid_id,
                "assigned_department_id": i.assigned_department_id,
            }
            for i in incidents
        ]
    )
    fields = {name: Incident._meta.get_field(name) for name in ("category", "community", "micro_grid")}
    department = Incident._meta.get_field("assigned_department")
    for i in incidents:
        code, name = names.categories[i.category_id]
        fields["category"].set_cached_value(i, Category(id=i.category_id, code=code, name=name))
        fields["community"].set_cached_value(
            i, Community(id=i.community_id, name=names.communities[i.community_id])
        )
        grid = i.micro_grid_id
        fields["micro_grid"].set_cached_value(
            i, None if grid is None else Grid(id=grid, name=names.grids[grid])
        )
        dept = i.assigned_department_id
        department.set_cached_value(
            i,
            None
            if dept is None
            else Department(id=dept, code=names.departments[dept], name=names.department_names[dept]),
        )
    return incidents


def incident_detail_for(*, user, pk: int) -> Incident | None:
    """One incident by id, if the user may see it (their own reports and follows always)."""
    if not getattr(user, "is_authenticated", False):
        return None
    q = visible_q(user)
    if q is None:
        q = _own_q(user)
    elif q != Q():
        q |= _own_q(user)
    return Incident.objects.select_related(*LIST_JOINS, "reporter").filter(q, pk=pk).first()


def _task_q(user) -> Q:
    """Open incidents waiting on something this user may do."""
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
            depts = Department.objects.filter(code__in=sorted(access.units(user, Role.DEPARTMENT_HANDLER)))
            mine &= _one_of("assigned_department_id", depts.values("id"))
        q |= mine
    verify = access.scope_q(user, "grids.verify")
    if verify is not None:
        q |= verify & Q(status=Status.RESOLVED)
    dispatch = access.scope_q(user, "grids.dispatch")
    if dispatch is not None:
        q |= dispatch & Q(status=Status.ACCEPTED)
    return q


def task_list_for(*, user) -> QuerySet[Incident]:
    """ "My tasks": open incidents waiting on something this user may do, earliest deadline first."""
    return Incident.objects.filter(_task_q(user)).select_related(*LIST_JOINS).order_by("due_at", "id")


def task_count_for(*, user) -> int:
    """How many tasks: counted over the open rows' (path, status, …) index, never the table
    (every column it reads is in incident_open_path, so PostgreSQL can answer index-only)."""
    qs = Incident.objects.filter(_task_q(user), status__in=OPEN_STATES)
    return qs.aggregate(n=Count("path"))["n"]


def workbench_counts(*, user, now) -> dict[str, int]:
    """The home page's tiles (待受理, 办理中, 已超时, 升级督办) in one aggregate over the open
    rows of the user's scope; only columns of incident_open_path are read (index-only)."""
    q = visible_q(user)
    if q is None:
        return {"reported": 0, "open": 0, "overdue": 0, "supervised": 0}
    return Incident.objects.filter(q, status__in=OPEN_STATES).aggregate(
        reported=Count("path", filter=Q(status=Status.REPORTED)),
        open=Count("path"),
        overdue=Count("path", filter=Q(due_at__lt=now)),
        supervised=Count("path", filter=Q(supervised=True)),
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
