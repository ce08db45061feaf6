"""The notices a report owes (its micro-grid's roster and the community staff) are rows written
in the report's own transaction, so a Celery message lost with Redis, or a task that never
runs, loses none of them: the beat sweep delivers them, once per (user, key)."""

import pytest

from grids import services, tasks
from grids.models import RosterEntry
from qionglai.core import tasks as core_tasks
from qionglai.core.models import Notification, OwedNotice
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def keeper(micro_a1):
    """A worker on micro-grid a1's roster (told of every report there)."""
    user = UserFactory(username="kate", real_name="微网格员 凯特")
    RosterEntry.objects.create(grid=micro_a1, user=user)
    return user


def test_it_owes_the_notices_in_the_reports_transaction(
    report, rita, carol, keeper, django_capture_on_commit_callbacks
):
    # execute=False: nothing after commit runs, as when the broker lost every message
    with django_capture_on_commit_callbacks(execute=False):
        inc = report(actor=rita, urgency="red")
    key = f"incident:{inc.pk}:reported"
    owed = OwedNotice.objects.filter(key=key, delivered_at__isnull=True)
    assert sorted(owed.values_list("user_id", flat=True)) == sorted([carol.pk, keeper.pk])
    assert owed.first().title == f"新上报事件：{inc.category.name}（红色（特急））"
    assert not Notification.objects.filter(key=key).exists()


def test_a_report_whose_task_never_ran_is_delivered_by_the_sweep_once(
    report, rita, carol, keeper, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        inc = report(actor=rita)
    key = f"incident:{inc.pk}:reported"

    assert core_tasks.sweep_notices() == 2
    assert core_tasks.sweep_notices() == 0  # run twice: nothing new

    assert sorted(Notification.objects.filter(key=key).values_list("user_id", flat=True)) == sorted(
        [carol.pk, keeper.pk]
    )
    assert not OwedNotice.objects.filter(key=key, delivered_at__isnull=True).exists()


def test_the_delivery_task_and_the_sweep_together_deliver_once(
    report, rita, carol, keeper, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # the task runs (eager)
        inc = report(actor=rita)
    key = f"incident:{inc.pk}:reported"
    assert Notification.objects.filter(key=key).count() == 2
    assert core_tasks.sweep_notices() == 0
    assert tasks.notify_reported(inc.pk) == 0  # a stale message of the previous release
    assert Notification.objects.filter(key=key).count() == 2


def test_a_refused_report_owes_nothing(report, rita, carol, keeper):
    with pytest.raises(Exception, match="描述"):
        report(actor=rita, description="  ")
    assert not OwedNotice.objects.exists()


def test_a_message_of_the_previous_release_still_owes_and_delivers(
    report, rita, carol, keeper, django_capture_on_commit_callbacks
):
    # a report committed before this release owed nothing itself: only its message knew
    with django_capture_on_commit_callbacks(execute=False):
        inc = report(actor=rita)
    OwedNotice.objects.all().delete()
    assert services.incident_report_notify(incident_id=inc.pk) == 2
    assert services.incident_report_notify(incident_id=inc.pk) == 0
    assert Notification.objects.filter(key=f"incident:{inc.pk}:reported").count() == 2
