"""Celery tasks: thin wrappers over services (conventions). Beat runs the two scans every
minute; each is idempotent, so a duplicate delivery or a missed tick is harmless."""

from celery import shared_task
from django.db import DatabaseError, OperationalError

from . import services


@shared_task(name="grids.tasks.escalation_scan", ignore_result=True)
def escalation_scan() -> int:
    return services.escalation_scan()


@shared_task(name="grids.tasks.auto_close_scan", ignore_result=True)
def auto_close_scan() -> int:
    return services.auto_close_scan()


# DatabaseError covers a killed connection (OperationalError/InterfaceError). The escalation
# rows are the record of what is owed, so a task that gives up, or whose message Redis lost,
# is made good by the sweep below within a minute.
@shared_task(
    name="grids.tasks.notify_escalations",
    ignore_result=True,
    autoretry_for=(DatabaseError, ConnectionError),
    retry_backoff=True,
    max_retries=5,
)
def notify_escalations(escalation_ids: list[int]) -> int:
    return services.escalation_notify(escalation_ids=escalation_ids)


@shared_task(name="grids.tasks.sweep_escalation_notices", ignore_result=True)
def sweep_escalation_notices() -> int:
    """Beat, every minute: every escalation whose notices are not yet owed."""
    return services.escalation_notify(escalation_ids=None)


# One drain processes every pending photo in batches (grids.services.photos); reports queue
# at most one drain between them. Routed to the `photos` queue (qionglai/celery.py).
@shared_task(
    name="grids.tasks.drain_photos",
    ignore_result=True,
    autoretry_for=(OperationalError, ConnectionError),
    retry_backoff=True,
    max_retries=5,
)
def drain_photos() -> int:
    return services.photos_drain()


# Messages queued by the release before (one per report, with its photo ids) drain the same way.
@shared_task(
    name="grids.tasks.process_photos",
    ignore_result=True,
    autoretry_for=(OperationalError, ConnectionError),
    retry_backoff=True,
    max_retries=5,
)
def process_photos(photo_ids: list[int] | None = None) -> int:
    return services.photos_drain()


@shared_task(name="grids.tasks.resend_stuck_photos", ignore_result=True)
def resend_stuck_photos() -> int:
    return services.photos_resend_stuck()


# A report now owes its notices in its own transaction (qionglai.core.notify delivers them,
# and its sweep makes good a lost message); this task only drains messages queued by the
# release before, so a deploy loses none of those notices either.
@shared_task(
    name="grids.tasks.notify_reported",
    ignore_result=True,
    autoretry_for=(DatabaseError, ConnectionError),
    retry_backoff=True,
    max_retries=5,
)
def notify_reported(incident_id: int) -> int:
    return services.incident_report_notify(incident_id=incident_id)
