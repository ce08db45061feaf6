from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

HEARTBEAT_KEY = "qionglai:task-heartbeat"


@shared_task(name="qionglai.core.tasks.heartbeat", ignore_result=True)
def heartbeat() -> str:
    """Run by beat every minute through a worker; /healthz reads how fresh it is."""
    now = timezone.now().isoformat()
    cache.set(HEARTBEAT_KEY, now, timeout=None)
    return now
