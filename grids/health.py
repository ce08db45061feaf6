"""What grids adds to /healthz (read by qionglai.core.health): a warning while the holiday
calendar does not cover the next 60 days, so deadlines counted in working days stay right."""

from __future__ import annotations

from django.db import DatabaseError

from . import sla


def checks() -> dict[str, dict]:
    try:
        until = sla.covered_until()
        warning = sla.coverage_warning()
    except DatabaseError:
        return {}  # the database check already says it is down
    calendar = {"status": "warn" if warning else "ok", "covered_until": until.isoformat() if until else None}
    if warning:
        calendar["detail"] = warning
    return {"calendar": calendar}
