"""Place names for pages and exports: people read 临邛街道 › 洪川社区 › 第一网格, never the path
`510183.001.h01.g01` (paths stay in the admin and the API).

Every prefix of every path asked for is looked up in one query per place model, so a list of
any length costs the same few queries. The models are found through the app registry: core
sits below the apps that own places and never imports them.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.apps import apps
from django.conf import settings

SEPARATOR = " › "
CITY_NAME = "邛崃市"
# (app label, model) of every model whose rows are places, each with a unique `path`
PLACE_MODELS = (
    ("projects", "Town"),
    ("projects", "Community"),
    ("projects", "Compound"),
    ("grids", "Grid"),
)


def _prefixes(path: str) -> list[str]:
    parts = path.split(".")
    return [".".join(parts[:n]) for n in range(2, len(parts) + 1)]


def place_names(paths: Iterable[str]) -> dict[str, str]:
    """{path: "镇街 › 社区 › 网格"} for each path; a segment with no known place is left out,
    and the city itself (or an unknown path) reads 邛崃市."""
    wanted = {p for p in paths if p}
    prefixes = {q for p in wanted for q in _prefixes(p)}
    names: dict[str, str] = {}
    if prefixes:
        for app_label, model_name in PLACE_MODELS:
            try:
                model = apps.get_model(app_label, model_name)
            except LookupError:
                continue
            names.update(model.objects.filter(path__in=prefixes).values_list("path", "name"))
    out = {}
    for path in wanted:
        chain = [names[q] for q in _prefixes(path) if q in names]
        out[path] = SEPARATOR.join(chain) if chain else CITY_NAME
    return out


def place_name(path: str) -> str:
    """One path's name (see place_names); '' for an empty path."""
    if not path:
        return ""
    if path == settings.CITY_PATH:
        return CITY_NAME
    return place_names([path])[path]


def place_short(path: str) -> str:
    """The last name only (the community of a community path, the grid of a grid path)."""
    return place_name(path).split(SEPARATOR)[-1]
