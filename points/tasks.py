"""Celery tasks: thin wrappers that load by id and call a service that re-checks state, so a
retry or a duplicate delivery is harmless."""

from celery import shared_task
from django.db import OperationalError

from qionglai.core.errors import Busy

from . import services


@shared_task(
    name="points.tasks.award_event",
    ignore_result=True,
    autoretry_for=(Busy, OperationalError),
    retry_backoff=True,
    max_retries=8,
)
def award_event(*, source: str, user_id: int, community_path: str, event_key: str) -> int:
    """Keyed by the source event: running it twice awards once."""
    return len(
        services.award_event(
            source=source, user_id=user_id, community_path=community_path, event_key=event_key
        )
    )


@shared_task(name="points.tasks.close_publicity", ignore_result=True)
def close_publicity() -> int:
    return services.claims_close_due()


@shared_task(name="points.tasks.expire_redemptions", ignore_result=True)
def expire_redemptions() -> int:
    return services.redemptions_expire_due()


@shared_task(name="points.tasks.expire_points", ignore_result=True)
def expire_points() -> int:
    return services.expiry_run()
