from celery import shared_task
from django.core.cache import cache
from django.db import DatabaseError
from django.utils import timezone

HEARTBEAT_KEY = "qionglai:task-heartbeat"


@shared_task(name="qionglai.core.tasks.heartbeat", ignore_result=True)
def heartbeat() -> str:
    """Run by beat every minute through a worker; /healthz reads how fresh it is."""
    now = timezone.now().isoformat()
    cache.set(HEARTBEAT_KEY, now, timeout=None)
    return now


# DatabaseError covers OperationalError/InterfaceError (a killed connection); the owed rows are
# the truth, so a retry (or, past max_retries, the sweep) finds them still owed.
@shared_task(
    name="qionglai.core.tasks.deliver_notices",
    ignore_result=True,
    autoretry_for=(DatabaseError, ConnectionError),
    retry_backoff=True,
    max_retries=5,
)
def deliver_notices(keys: list[str]) -> int:
    from .notify import deliver_owed

    return deliver_owed(keys=keys)


@shared_task(name="qionglai.core.tasks.sweep_notices", ignore_result=True)
def sweep_notices() -> int:
    """Beat, every minute: delivers every notice still owed, whatever became of its task."""
    from .notify import deliver_owed

    return deliver_owed()


@shared_task(
    name="qionglai.core.tasks.send_one_mail",
    ignore_result=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def send_one_mail(email: str, title: str, body: str = "") -> int:
    """A mail whose inbox row a set-based statement already wrote (points redemption)."""
    from django.conf import settings
    from django.core.mail import send_mail

    return send_mail(title, body, settings.DEFAULT_FROM_EMAIL, [email], fail_silently=False)
