from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
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


def _dashboard(database_status: str) -> dict:
    """How far the dashboard's rollups are behind: down past DASHBOARD_MAX_LAG (design §8)."""
    if database_status != "ok":
        return {"status": "down", "detail": "database unreachable"}
    from qionglai.dashboard import fill

    try:
        lag = fill.lag_seconds()
    except Exception as error:
        return {"status": "down", "error": error.__class__.__name__}
    if lag is None:
        return {"status": "not_filled", "detail": "看板尚未汇总"}
    status = "ok" if lag <= settings.DASHBOARD_MAX_LAG else "down"
    return {"status": status, "lag_seconds": round(lag)}


def healthz(request):
    database = _database()
    redis_ = _redis()
    tasks = _tasks(redis_["status"])
    dashboard = _dashboard(database["status"])
    down = [
        name
        for name, c in (("database", database), ("redis", redis_), ("tasks", tasks), ("dashboard", dashboard))
        if c["status"] == "down"
    ]
    return JsonResponse(
        {
            "status": "down" if down else "ok",
            "database": database,
            "redis": redis_,
            "tasks": tasks,
            "dashboard": dashboard,
        },
        status=503 if down else 200,
        json_dumps_params={"ensure_ascii": False},
    )
