"""What the dashboard adds to /healthz (read by qionglai.core.health): how far the rollups are
behind, down past DASHBOARD_MAX_LAG (design §8), so a stalled fill pages the operator."""

from __future__ import annotations

from django.conf import settings


def checks() -> dict[str, dict]:
    from . import fill

    try:
        lag = fill.lag_seconds()
    except Exception as error:  # a broken fill must show on /healthz, not break it
        return {"dashboard": {"status": "down", "error": error.__class__.__name__}}
    if lag is None:
        return {"dashboard": {"status": "not_filled", "detail": "看板尚未汇总"}}
    status = "ok" if lag <= settings.DASHBOARD_MAX_LAG else "down"
    return {"dashboard": {"status": status, "lag_seconds": round(lag)}}
