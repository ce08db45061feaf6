from celery import shared_task

from . import fill


@shared_task(ignore_result=True)
def dashboard_fill() -> int:
    """Beat, every minute: rewrite the days changed since the last fill (idempotent)."""
    return len(fill.fill().filled)
