from __future__ import annotations

import functools
from datetime import datetime
from importlib import import_module

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone

from .tasks import HEARTBEAT_KEY


def _database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return {"status": "ok", "engine": connection.vendor}
    except Exception as error:
        return {"status": "down", "engine": connection.vendor, "error": error.__class__.__name__}


def _redis() -> dict:
    if not settings.REDIS_URL:
        return {"status": "not_configured", "detail": "内嵌模式：未配置 Redis"}
    try:
        import redis

        redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2).ping()
        return {"status": "ok"}
    except Exception as error:
        return {"status": "down", "error": error.__class__.__name__}


def _tasks(redis_status: str) -> dict:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"status": "in_process", "detail": "任务在进程内执行，定时器由 rundemo 运行"}
    if redis_status != "ok":
        return {"status": "down", "detail": "broker unreachable"}
    try:
        raw = cache.get(HEARTBEAT_KEY)
    except Exception:
        raw = None
    if not raw:
        return {"status": "down", "detail": "no heartbeat from celery worker/beat yet"}
    age = (timezone.now() - datetime.fromisoformat(raw)).total_seconds()
    status = "ok" if age <= settings.TASK_HEARTBEAT_MAX_AGE else "down"
    return {"status": status, "last_heartbeat": raw, "age_seconds": round(age)}


@functools.cache
def _app_health_modules():
    """Each app may bring `health.checks()` (as it brings `nav.items()`): core stays below the
    apps and still reports what they know (grids: the holiday calendar's coverage)."""
    modules = []
    for config in apps.get_app_configs():
        if config.name == "qionglai.core":
            continue
        try:
            modules.append(import_module(f"{config.name}.health"))
        except ModuleNotFoundError as error:
            if error.name != f"{config.name}.health":
                raise
    return modules


def _checks() -> tuple[dict, list[str], list[str]]:
    """(checks by name, names that are down, warnings) — shared by /healthz and the page."""
    database = _database()
    redis_ = _redis()
    tasks = _tasks(redis_["status"])
    checks = {"database": database, "redis": redis_, "tasks": tasks}
    if database["status"] == "ok":
        for module in _app_health_modules():
            checks.update(module.checks())
    down = [name for name, c in checks.items() if c.get("status") == "down"]
    # a warning does not make the service unhealthy (a load balancer must not drop it), but
    # it is listed for the operator and the monitoring that reads this page
    warnings = [c["detail"] for c in checks.values() if c.get("status") == "warn" and c.get("detail")]
    return checks, down, warnings


def healthz(request):
    """For load balancers and monitors: JSON, 503 when a part is down."""
    checks, down, warnings = _checks()
    return JsonResponse(
        {"status": "down" if down else "ok", **checks, "warnings": warnings},
        status=503 if down else 200,
        json_dumps_params={"ensure_ascii": False},
    )


PARTS = {
    "database": "数据库",
    "redis": "缓存与任务队列（Redis）",
    "tasks": "后台任务与定时器",
    "calendar": "节假日与调休日历",
    "dashboard": "看板汇总",
}
STATES = {
    "ok": "正常",
    "warn": "需要注意",
    "down": "故障",
    "not_configured": "未配置（内嵌模式）",
    "in_process": "在本进程内运行",
    "not_filled": "尚未汇总",
}
DETAILS = {  # the JSON's English details, said in Chinese for people
    "broker unreachable": "无法连接任务队列",
    "no heartbeat from celery worker/beat yet": "尚未收到后台任务进程的心跳",
}


def status_page(request):
    """系统状态 for people (the footer link): the same checks as /healthz, in words."""
    checks, down, _warnings = _checks()
    rows = []
    for name, check in checks.items():
        detail = check.get("detail") or check.get("error") or ""
        if "age_seconds" in check:
            detail = f"最近心跳 {check['age_seconds']} 秒前"
        rows.append(
            {
                "part": PARTS.get(name, check.get("label", name)),
                "status": check["status"],
                "label": STATES.get(check["status"], check["status"]),
                "detail": DETAILS.get(detail, detail),
            }
        )
    return render(
        request,
        "core/status.html",
        {"rows": rows, "ok": not down, "checked_at": timezone.now()},
        status=503 if down else 200,
    )
