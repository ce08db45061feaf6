"""The dashboard's page, its data endpoint, exports, the map's boundaries and the grid card.
Each one resolves the scope from the viewer's grant first (selectors.scope_for), so a town
viewer gets only their town through every door."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import Count, Max, Q
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from grids.models import OPEN_STATES, Grid, GridBoundary, GridKind, Incident
from qionglai.users import access

from . import exports, geo, indicators, payload, report, selectors
from .routers import reads_from_replica


def _bad_request(error: ValidationError) -> JsonResponse:
    fields = error.message_dict if hasattr(error, "error_dict") else {}
    message = next(iter(fields.values()))[0] if fields else "; ".join(error.messages)
    return JsonResponse(
        {"message": message, "fields": fields}, status=400, json_dumps_params={"ensure_ascii": False}
    )


def _query(params, **changes) -> str:
    keep = {k: params.get(k) for k in ("place", "period", "start", "end", "grain", "screen") if params.get(k)}
    keep.update({k: v for k, v in changes.items() if v is not None})
    return "?" + urlencode({k: v for k, v in keep.items() if v})


def _drill(screen, big: bool, path: str) -> str:
    """The page's link to another place (a crumb above, a unit of the ranking below) at the
    screen's period, its dates when custom, and 大屏 when on: one place builds it, so the
    breadcrumb and both ranking tables cannot drift apart."""
    query = {"place": path, "period": screen.period.key}
    if screen.period.key == "custom":
        query.update(start=screen.period.start.isoformat(), end=screen.period.end.isoformat())
    if big:
        query["screen"] = "big"
    return "?" + urlencode(query)


@login_required
@require_GET
@reads_from_replica
def page(request):
    params = request.GET
    try:
        screen = report.build(user=request.user, params=params)
    except ValidationError as error:
        if "place" in getattr(error, "message_dict", {}):
            raise Http404(selectors.MSG_BAD_PLACE) from None
        fixed = params.copy()
        for key in ("period", "start", "end"):
            fixed.pop(key, None)
        screen = report.build(user=request.user, params=fixed)
        screen.error = "；".join(error.messages)
    big = params.get("screen") == "big"
    payload = report.as_json(screen)
    payload["map"] = {
        "boundaries": "boundaries/" + _query(params),
        "status": grid_status(screen.scope),
        "tiles": tile_settings(),
    }
    context = {
        "screen": screen,
        "payload": payload,
        "periods": selectors.PERIODS,
        "grains": report.GRAINS,
        "grain_label": report.GRAINS[screen.grain],
        "today": timezone.localdate().strftime("%Y-%m-%d"),
        "query": _query(params),
        "big": big,
        "big_query": _query(params, screen="big"),
        "normal_query": _query(params, screen="") if params.get("screen") else _query(params),
        "tables": exports.TABLES,
        "basis": indicators.COHORT_BASIS,
        "working_time": indicators.WORKING_TIME_BASIS,
        "list_links": incident_list_links(screen),
        # (name, link) for the breadcrumb, (row, link) for the ranking's two tables
        "crumbs": [(name, _drill(screen, big, path)) for name, path in screen.scope.trail],
        "ranked": [(r, _drill(screen, big, r.path)) for r in screen.ranking.ranked],
        "below_minimum": [(r, _drill(screen, big, r.path)) for r in screen.ranking.below_minimum],
    }
    return render(request, "dashboard/page.html", context)


@login_required
@require_GET
@reads_from_replica
def data(request):
    """The screen as JSON, whole from the cache (payload.py) keyed by the scope the viewer's
    grant resolves to — never by what the viewer asked for alone — the period and the rollup
    watermark, so the next fill's figures replace it. A hit sends stored bytes (plain or
    gzipped) with their ETag, or a 304."""
    try:
        path = request.GET.get("place") or selectors.home_path(request.user)
        as_of, names, version = payload.lookup(path)
        scope = selectors.scope_for(user=request.user, path=path, cached_names=names)
        entry = payload.get(user=request.user, scope=scope, params=request.GET, as_of=as_of, version=version)
    except ValidationError as error:
        return _bad_request(error)
    return payload.respond(request, entry)


@login_required
@require_GET
@reads_from_replica
def export(request, table: str, fmt: str):
    if table not in exports.TABLES or fmt not in ("csv", "xlsx"):
        raise Http404
    try:
        screen = report.build(user=request.user, params=request.GET, full=table in exports.FULL_TABLES)
    except ValidationError as error:
        return _bad_request(error)
    name = f"{screen.filename}_{exports.TABLES[table]}"
    if table == "incidents":
        qs = exports.incident_queryset(screen)
        if fmt == "csv" or qs.count() > exports.STREAM_ABOVE:
            return exports.stream_incidents(screen)
        now = timezone.now()
        labels = report.listed_labels()
        body = [exports._incident_cells(report.incident_row(i, now, labels)) for i in qs]
        return exports.xlsx_response(name, exports.TABLES[table], exports.INCIDENT_HEADER, body)
    header, body = exports.rows(screen, table)
    if fmt == "csv":
        return exports.csv_response(name, header, body)
    return exports.xlsx_response(name, exports.TABLES[table], header, body)


def grid_status(scope: selectors.Scope) -> dict[int, list[int]]:
    """Open and overdue incidents per micro-grid in the scope (open incidents are few)."""
    now = timezone.now()
    rows = (
        Incident.objects.filter(scope.q(), status__in=OPEN_STATES, micro_grid__isnull=False)
        .values("micro_grid_id")
        .annotate(open=Count("id"), overdue=Count("id", filter=Q(due_at__lt=now)))
        .order_by()
    )
    return {r["micro_grid_id"]: [r["open"], r["overdue"]] for r in rows}


def tile_settings() -> dict | None:
    from django.conf import settings

    url = getattr(settings, "DASHBOARD_TILE_URL", "")
    if not url:
        return None
    return {"url": url, "datum": getattr(settings, "DASHBOARD_TILE_DATUM", "wgs84")}


@login_required
@require_GET
@reads_from_replica
def boundaries(request):
    """Every current micro-grid boundary in the scope, quantised (geo.pack), cached until a
    boundary changes."""
    try:
        scope = selectors.scope_for(user=request.user, path=request.GET.get("place") or None)
    except ValidationError as error:
        return _bad_request(error)
    current = GridBoundary.objects.filter(
        scope.q("grid__path"), valid_to__isnull=True, grid__kind=GridKind.MICRO, grid__retired_at__isnull=True
    )
    version = current.aggregate(n=Count("id"), m=Max("id"))
    key = f"dashboard:boundaries:v2:{scope.path}:{version['n']}:{version['m']}"
    body = cache.get(key)
    if body is None:  # stored serialised: a hit sends it without encoding 3,830 rings again
        body = json.dumps(geo.pack(current.values_list("grid_id", "geometry")), separators=(",", ":"))
        cache.set(key, body, 24 * 3600)
    response = HttpResponse(body, content_type="application/json")
    response["Cache-Control"] = "private, max-age=300"
    return response


@login_required
@require_GET
@reads_from_replica
def grid_card(request, pk: int):
    grid = get_object_or_404(Grid.objects.select_related("community", "community__town", "parent"), pk=pk)
    access.require(request.user, "dashboard.view", grid.path)
    roster = [
        {"post": r.get_post_display(), "name": r.user.display_name}
        for r in grid.roster.filter(retired_at__isnull=True).select_related("user").order_by("post", "id")
    ]
    now = timezone.now()
    counts = Incident.objects.filter(Q(path=grid.path) | Q(path__startswith=grid.path + ".")).aggregate(
        open=Count("id", filter=Q(status__in=OPEN_STATES)),
        overdue=Count("id", filter=Q(status__in=OPEN_STATES, due_at__lt=now)),
        total=Count("id"),
    )
    group = getattr(grid, "party_group", None) if hasattr(grid, "party_group") else None
    teams = list(
        grid.doctor_teams.filter(pairings__ended_on__isnull=True).values_list("name", flat=True).distinct()
    )
    return JsonResponse(
        {
            "id": grid.pk,
            "name": grid.name,
            "trail": [
                grid.community.town.name,
                grid.community.name,
                *([grid.parent.name] if grid.parent_id else []),
            ],
            "households": grid.households,
            "mode": grid.get_mode_display(),
            "roster": roster,
            "incidents": counts,
            "party_group": group.name if group else None,
            "doctor_teams": teams,
            "link": "./" + _query({"place": grid.path}),
            "list_link": reverse("grids:incident-list") + "?" + urlencode({"place": grid.path, "open": 1}),
        },
        json_dumps_params={"ensure_ascii": False},
    )


def incident_list_links(screen: report.Screen) -> dict[str, str]:
    """The incident list filtered to this scope (grids' IncidentFilterSet owns the filters)."""
    base = reverse("grids:incident-list") + "?"
    place = {} if screen.scope.level == "city" else {"place": screen.scope.path}
    period = {"created_from": screen.period.start.isoformat(), "created_to": screen.period.end.isoformat()}
    return {
        "overdue": base + urlencode({**place, "overdue": 1}),
        "open": base + urlencode({**place, "open": 1}),
        "period": base + urlencode({**place, **period}),
    }
