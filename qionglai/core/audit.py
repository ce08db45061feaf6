from __future__ import annotations

from typing import Any

from django.db import models

from .models import AuditEvent


def audit_record(
    *,
    actor,
    action: str,
    target: models.Model | None = None,
    target_type: str = "",
    target_id: str | int = "",
    path: str = "",
    summary: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write one audit row. Call it inside the service's transaction, so the change and its
    record commit together or not at all."""
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or target.pk
        path = path or getattr(target, "path", "") or ""
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        path=path,
        summary=summary[:255],
        data=data or {},
    )
