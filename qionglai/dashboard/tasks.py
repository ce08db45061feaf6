from celery import shared_task

from . import fill


@shared_task(ignore_result=True)
def dashboard_fill() -> int:
    """Beat, every minute: rewrite the days changed since the last fill (idempotent), then
    build the city's and towns' standard data payloads before the watermark moves."""
    from . import payload

    return len(fill.fill(warm=payload.warm).filled)
