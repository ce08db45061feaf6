"""The menu is built from each app's `nav.items(request)`, so an app brings its own entries
and the base layout shows only what the user's grants allow."""

from __future__ import annotations

import logging
from functools import cache
from importlib import import_module

from django.apps import apps
from django.conf import settings
from django.db import DatabaseError

from .models import Notification

log = logging.getLogger(__name__)


@cache
def _nav_modules():
    modules = []
    for config in apps.get_app_configs():
        try:
            modules.append(import_module(f"{config.name}.nav"))
        except ModuleNotFoundError as error:
            if error.name != f"{config.name}.nav":
                raise
    return modules


# The staff menu (up to ~17 entries) is grouped into a few menus by the area each entry's URL
# belongs to, so it fits one row at 1366 px; an area with one entry stays a plain link.
NAV_GROUPS = (
    ("/grids/", "网格"),
    ("/consultation/", "议事"),
    ("/points/", "积分"),
    ("/registry/", "台账"),
    ("/dashboard/", "驾驶舱"),
    ("/admin/", "系统"),
    ("/api/", "系统"),
)


def nav_groups(items: list[dict]) -> list[dict]:
    """[{label, items, active}] in menu order; an entry outside every area is its own group."""
    groups: dict[str, dict] = {}
    for item in items:
        label = next((g for prefix, g in NAV_GROUPS if item["url"].startswith(prefix)), None)
        key = label or item["url"]
        group = groups.setdefault(key, {"label": label or item["label"], "items": [], "active": False})
        group["items"].append(item)
        group["active"] = group["active"] or item.get("active", False)
    return list(groups.values())


def navigation(request):
    try:
        return _navigation(request)
    except DatabaseError:
        # the database is gone (a 403/404 page rendered while it is): the page still renders,
        # without the menu, rather than failing itself
        log.warning("navigation rendered without the database", exc_info=True)
        return {"nav_items": [], "unread_notifications": 0, "SITE_NAME": settings.SITE_NAME}


def _navigation(request):
    user = getattr(request, "user", None)
    items: list[dict] = []
    unread = 0
    if user is not None and user.is_authenticated:
        for module in _nav_modules():
            items.extend(module.items(request))
        items.sort(key=lambda item: item.get("order", 50))
        # the longest menu URL that prefixes the current path is the active entry
        path = request.path
        matches = [item for item in items if item["url"] != "/" and path.startswith(item["url"])]
        best = max(matches, key=lambda item: len(item["url"]), default=None)
        for item in items:
            item["active"] = item is best
        # counted up to 100 only: the badge reads 99+ beyond that, and the count stays cheap
        unread = Notification.objects.filter(user=user, read_at__isnull=True)[:100].count()
    return {
        "nav_items": items,
        "nav_groups": nav_groups(items),
        "unread_notifications": unread,
        "SITE_NAME": settings.SITE_NAME,
    }
