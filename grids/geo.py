"""Plane geometry for grid boundaries (no GIS server): GeoJSON Polygon/MultiPolygon in
[lng, lat] order. At micro-grid scale (a few hundred metres) treating degrees as planar is
exact enough for containment; distances use the haversine formula."""

from __future__ import annotations

import math
from collections.abc import Sequence

from django.core.exceptions import ValidationError

MSG_GEOMETRY = "边界须为 GeoJSON 的 Polygon 或 MultiPolygon，坐标为 [经度, 纬度]，每个环至少 4 个点且首尾相同"

Ring = Sequence[Sequence[float]]


def _polygons(geometry: dict) -> list[list[Ring]]:
    kind = geometry.get("type") if isinstance(geometry, dict) else None
    coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
    if kind == "Polygon":
        return [coords]
    if kind == "MultiPolygon":
        return list(coords)
    raise ValidationError({"boundary": MSG_GEOMETRY})


def validate_geometry(geometry: dict) -> dict:
    try:
        polygons = _polygons(geometry)
        for polygon in polygons:
            if not polygon:
                raise ValueError
            for ring in polygon:
                if len(ring) < 4 or list(ring[0]) != list(ring[-1]):
                    raise ValueError
                for lng, lat in ring:
                    if not (-180 <= float(lng) <= 180 and -90 <= float(lat) <= 90):
                        raise ValueError
    except (TypeError, ValueError):
        raise ValidationError({"boundary": MSG_GEOMETRY}) from None
    return geometry


def bbox(geometry: dict) -> tuple[float, float, float, float]:
    """(min_lng, max_lng, min_lat, max_lat) of the outer rings."""
    lngs, lats = [], []
    for polygon in _polygons(geometry):
        for lng, lat in polygon[0]:
            lngs.append(float(lng))
            lats.append(float(lat))
    return min(lngs), max(lngs), min(lats), max(lats)


def _in_ring(x: float, y: float, ring: Ring) -> bool:
    """Ray casting: count edges crossed by a ray from (x, y) towards +x. Each edge is
    half-open in y (yi > y) != (yj > y), so a ray through a vertex is counted once."""
    inside = False
    n = len(ring)
    j = n - 1
    for i in range(n):
        xi, yi = float(ring[i][0]), float(ring[i][1])
        xj, yj = float(ring[j][0]), float(ring[j][1])
        if (yi > y) != (yj > y):
            x_cross = (xj - xi) * (y - yi) / (yj - yi) + xi
            if x < x_cross:
                inside = not inside
        j = i
    return inside


def contains(geometry: dict, lng: float, lat: float) -> bool:
    """Is the point inside the polygon(s)? Holes (inner rings) are excluded."""
    for polygon in _polygons(geometry):
        outer, holes = polygon[0], polygon[1:]
        if _in_ring(lng, lat, outer) and not any(_in_ring(lng, lat, h) for h in holes):
            return True
    return False


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    r = 6_371_000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def degrees_for(metres: float, lat: float) -> tuple[float, float]:
    """(Δlat, Δlng) spanning `metres` around latitude `lat`, for bounding-box prefilters."""
    dlat = metres / 111_320.0
    dlng = metres / (111_320.0 * max(math.cos(math.radians(lat)), 0.01))
    return dlat, dlng
