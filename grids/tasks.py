"""Celery tasks: thin wrappers over services (conventions). Beat runs the two scans every
minute; each is idempotent, so a duplicate delivery or a missed tick is harmless."""

from celery import shared_task

from . import services


@shared_task(name="grids.tasks.escalation_scan", ignore_result=True)
def escalation_scan() -> int:
    return services.escalation_scan()


@shared_task(name="grids.tasks.auto_close_scan", ignore_result=True)
def auto_close_scan() -> int:
    return services.auto_close_scan()


@shared_task(
    name="grids.tasks.notify_escalations",
    ignore_result=True,
    autoretry_for=(ConnectionError,),
    retry_backoff=True,
    max_retries=5,
)
def notify_escalations(escalation_ids: list[int]) -> int:
    return services.escalation_notify(escalation_ids=escalation_ids)
