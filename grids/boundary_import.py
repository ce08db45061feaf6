"""Importing the city's own micro-grid boundaries from a GeoJSON FeatureCollection.

The demo's boundaries are illustrative squares; a city draws its micro-grids in its own GIS
and exports them. Each feature names its micro-grid by `properties.path` (as in the admin
and the API, e.g. `510183.001.h01.g01.m01`) or by `properties.town`, `community`, `grid` and
`micro` codes, and carries a Polygon or MultiPolygon in WGS-84 [lng, lat].

All-or-nothing per file, like the registry's Excel import: every feature is checked first
(the micro-grid exists and the actor may maintain it, the geometry is valid, no grid named
twice); if any feature fails nothing is written and the report lists each failing feature by
its number and name. Otherwise every boundary goes through `grid_set_boundary` (a new
version; incidents keep the boundary they were located in) in one transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from qionglai.users import access

from . import geo
from .models import Grid, GridKind
from .services import grid_set_boundary

MSG_NOT_JSON = "文件不是有效的 JSON"
MSG_NOT_COLLECTION = "文件须为 GeoJSON FeatureCollection（含 features 列表）"
MSG_NOT_FEATURE = "不是 GeoJSON Feature"
MSG_NO_PATH = "缺少 properties.path（或 town/community/grid/micro 编码）"
MSG_UNKNOWN_GRID = "找不到微网格 {path}"
MSG_NOT_MICRO = "{path} 不是微网格"
MSG_DENIED = "您无权维护 {path} 的边界"
MSG_TWICE = "与第 {first} 个要素重复指向 {path}"


@dataclass
class ImportReport:
    written: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (feature number, name, reason)

    @property
    def ok(self) -> bool:
        return not self.errors


def _path_of(properties: dict) -> str:
    path = str(properties.get("path") or "").strip()
    if path:
        return path
    codes = [str(properties.get(k) or "").strip() for k in ("town", "community", "grid", "micro")]
    return ".".join([settings.CITY_PATH, *codes]) if all(codes) else ""


def boundaries_import_geojson(*, actor, data: bytes | str | dict) -> ImportReport:
    """Pre: `data` is a GeoJSON FeatureCollection. Post: either every feature's boundary is the
    micro-grid's current one (report.ok), or nothing changed and report.errors says why."""
    report = ImportReport()
    if isinstance(data, bytes | str):
        try:
            data = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            report.errors.append((0, "", MSG_NOT_JSON))
            return report
    features = data.get("features") if isinstance(data, dict) else None
    if (
        not isinstance(data, dict)
        or data.get("type") != "FeatureCollection"
        or not isinstance(features, list)
    ):
        report.errors.append((0, "", MSG_NOT_COLLECTION))
        return report
    wanted: list[tuple[int, str, dict]] = []
    for number, feature in enumerate(features, start=1):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            report.errors.append((number, "", MSG_NOT_FEATURE))
            continue
        properties = feature.get("properties") if isinstance(feature.get("properties"), dict) else {}
        path = _path_of(properties)
        name = str(properties.get("name") or path)
        if not path:
            report.errors.append((number, name, MSG_NO_PATH))
            continue
        try:
            geo.validate_geometry(feature.get("geometry"))
        except ValidationError:
            report.errors.append((number, name, geo.MSG_GEOMETRY))
            continue
        wanted.append((number, path, feature["geometry"]))
    grids = {
        g.path: g for g in Grid.objects.filter(path__in=[p for _, p, _ in wanted], retired_at__isnull=True)
    }
    seen: dict[str, int] = {}
    for number, path, _ in wanted:
        grid = grids.get(path)
        if grid is None:
            report.errors.append((number, path, MSG_UNKNOWN_GRID.format(path=path)))
        elif grid.kind != GridKind.MICRO:
            report.errors.append((number, grid.name, MSG_NOT_MICRO.format(path=path)))
        elif not access.can(actor, "grids.roster_manage", path):
            report.errors.append((number, grid.name, MSG_DENIED.format(path=grid.name)))
        elif path in seen:
            report.errors.append((number, grid.name, MSG_TWICE.format(first=seen[path], path=grid.name)))
        else:
            seen[path] = number
    if report.errors:
        report.errors.sort()
        return report
    with transaction.atomic():
        for _, path, geometry in wanted:
            grid_set_boundary(actor=actor, grid=grids[path], geometry=geometry)
            report.written += 1
    return report
