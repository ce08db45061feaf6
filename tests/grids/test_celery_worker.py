"""The beat tasks through a real Celery worker and Redis broker (not eager): the scan and the
notification task it queues after commit both run in the worker."""

import os
import threading
from datetime import timedelta
from time import monotonic

import pytest
import time_machine
from django.utils import timezone

from grids import tasks
from grids.models import Escalation, Level
from qionglai.celery import app
from qionglai.core.models import Notification


def poll(check, *, within: float, every: float = 0.05) -> bool:
    """Asks `check` until it holds or `within` seconds of real time pass, waiting `every`
    seconds between asks (the worker is another thread: nothing to wait on but the database)."""
    pause = threading.Event()
    give_up = monotonic() + within
    while not check():
        if monotonic() >= give_up:
            return False
        pause.wait(every)
    return True


pytestmark = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (a Redis broker)")


@pytest.mark.django_db(transaction=True)
def test_the_escalation_scan_runs_in_a_worker_over_redis(report, lead_a, settings):
    from celery.contrib.testing.worker import start_worker

    with time_machine.travel(timezone.now() - timedelta(hours=2), tick=False):
        inc = report(urgency="red")
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    assert app.conf.broker_url.startswith("redis://")
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            tasks.escalation_scan.delay()
            # the scan, then the notification task it queued on commit, both run in the worker
            told = poll(lambda: Notification.objects.filter(user=lead_a).exists(), within=30)
        assert told, "the worker did not deliver the escalation notice within 30 s"
        inc.refresh_from_db()
        assert inc.level == Level.GENERAL and Escalation.objects.count() == 1
        assert Notification.objects.filter(user=lead_a, title__startswith="【督办】").count() == 1
    finally:
        app.conf.task_always_eager = True
