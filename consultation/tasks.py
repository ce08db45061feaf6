from celery import shared_task

from . import services


@shared_task(name="consultation.tasks.close_due_publicity", ignore_result=True)
def close_due_publicity() -> int:
    """Beat, every minute: closes notices whose period has ended (exactly once each)."""
    return services.publicity_close_due()
