"""Every escalation notice arrives exactly once although, mid-run, the Celery worker is killed
(SIGKILL, with late-acked messages in hand), Redis loses every queued message (FLUSHDB) and the
worker's database connections are terminated. A real worker process over a real Redis broker,
on the test database; the beat sweeps are run as beat would run them.

Before the outbox, a notice's only record was its Celery message: one in ten were lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from time import monotonic

import pytest
import redis
import time_machine
from django.conf import settings
from django.db import connection
from django.utils import timezone

from grids import services, tasks
from grids.models import Escalation, Level
from qionglai.celery import app
from qionglai.core import tasks as core_tasks
from qionglai.core.models import Notification, OwedNotice
from tests.grids.conftest import category, general_a, lead_a, micro_a1, party_line  # noqa: F401 - fixtures

pytestmark = [
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (a Redis broker)"),
    pytest.mark.django_db(transaction=True),
]
ROOT = Path(__file__).resolve().parents[2]
INCIDENTS = 120


def _worker() -> subprocess.Popen:
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_EAGER": "0",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "qionglai", "worker", "-P", "solo", "-l", "warning"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait_for(condition, seconds: float = 60) -> bool:
    # bounded by the real clock on the database's state, never a fixed sleep
    give_up = monotonic() + seconds
    while monotonic() < give_up:
        if condition():
            return True
        connection.close()  # a fresh snapshot each look
    return condition()


def _terminate_other_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_every_escalation_notice_arrives_once_through_worker_kills_and_a_flushed_broker(
    micro_a1,  # noqa: F811
    category,  # noqa: F811
    lead_a,  # noqa: F811
    party_line,  # noqa: F811
    alice,
):
    secretary, leader = party_line
    recipients = {lead_a.pk, secretary.pk, leader.pk}
    with time_machine.travel(timezone.now() - timedelta(hours=3), tick=False):
        for i in range(INCIDENTS):
            services.incident_report(
                actor=alice, category=category, urgency="red", description=f"事件{i}", micro_grid=micro_a1
            )
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    app.conf.task_always_eager = False
    worker = _worker()
    try:
        # the scan commits a batch at a time and queues one notice task per batch
        made = services.escalation_scan(batch=4)
        assert made == INCIDENTS
        assert _wait_for(lambda: Notification.objects.exists(), 60), "the worker never started delivering"
        # mid-run: the worker dies holding messages, the broker loses what was queued, the
        # database drops the worker's connections
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        broker.flushdb()
        _terminate_other_connections()
        delivered_before_restart = Notification.objects.count()
        assert delivered_before_restart < INCIDENTS * len(recipients), (
            "the faults came too late to test anything"
        )

        worker = _worker()
        # beat's every-minute sweeps, through the restarted worker
        tasks.sweep_escalation_notices.delay()
        core_tasks.sweep_notices.delay()
        everything = INCIDENTS * len(recipients)
        assert _wait_for(lambda: Notification.objects.count() >= everything, 90)
        # a second round of sweeps (the next minute) finds nothing left and doubles nothing
        tasks.sweep_escalation_notices.delay()
        core_tasks.sweep_notices.delay()
        assert _wait_for(lambda: broker.llen("celery") == 0, 30)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            worker.kill()
        app.conf.task_always_eager = True
        broker.flushdb()

    assert Escalation.objects.filter(level=Level.GENERAL).count() == INCIDENTS
    assert not Escalation.objects.filter(notified_at__isnull=True).exists()
    assert not OwedNotice.objects.filter(delivered_at__isnull=True).exists()
    for esc in Escalation.objects.all():
        key = f"incident:{esc.incident_id}:escalation:{esc.pk}"
        assert set(Notification.objects.filter(key=key).values_list("user_id", flat=True)) == recipients
    assert Notification.objects.count() == INCIDENTS * len(recipients)  # once each, none extra


def test_a_reports_notices_arrive_once_when_the_broker_lost_every_message(
    micro_a1,  # noqa: F811
    category,  # noqa: F811
    alice,
    carol,
):
    """The report's own transaction owes the notice; its delivery message is lost with Redis
    before any worker takes it; the sweep, through a real worker, delivers each once."""
    reports = 30
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    app.conf.task_always_eager = False  # the delivery task goes to Redis, and stays there
    worker = None
    try:
        made = [
            services.incident_report(
                actor=alice, category=category, urgency="red", description=f"上报{i}", micro_grid=micro_a1
            )
            for i in range(reports)
        ]
        assert broker.llen("celery") >= reports  # one delivery message per report, queued
        broker.flushdb()  # Redis loses them all
        assert not Notification.objects.exists()
        assert OwedNotice.objects.filter(delivered_at__isnull=True).count() == reports

        worker = _worker()
        core_tasks.sweep_notices.delay()  # beat's next minute
        assert _wait_for(lambda: Notification.objects.count() >= reports, 90)
        core_tasks.sweep_notices.delay()  # and the one after: nothing left, nothing doubled
        assert _wait_for(lambda: broker.llen("celery") == 0, 30)
    finally:
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                worker.kill()
        app.conf.task_always_eager = True
        broker.flushdb()

    for inc in made:
        key = f"incident:{inc.pk}:reported"
        assert list(Notification.objects.filter(key=key).values_list("user_id", flat=True)) == [carol.pk]
    assert Notification.objects.count() == reports
    assert not OwedNotice.objects.filter(delivered_at__isnull=True).exists()
