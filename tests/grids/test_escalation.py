"""The escalation ladder: exactly once per (incident, stage, level), under repeats,
concurrency and crashes. Incidents are reported in the past (time_machine) so that the scan,
which reads the database clock, finds them overdue now."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from grids import services
from grids.models import Escalation, EventKind, Incident, Level, Stage, Status, Tier
from grids.services import escalation as escalation_module
from qionglai.core.models import Notification


def _overdue(report, n=1, hours_ago=3, **kwargs):
    with time_machine.travel(timezone.now() - timedelta(hours=hours_ago), tick=False):
        return [report(urgency="red", **kwargs) for _ in range(n)]  # red: accept within 0.5 h


@pytest.mark.django_db
def test_it_escalates_an_overdue_incident_once(
    report, lead_a, party_line, django_capture_on_commit_callbacks
):
    (inc,) = _overdue(report)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.escalation_scan() == 1
    inc.refresh_from_db()
    assert inc.level == Level.GENERAL and inc.supervised and inc.due_at > timezone.now()
    esc = Escalation.objects.get()
    assert (esc.stage, esc.level) == (Stage.ACCEPT, Level.GENERAL)
    assert inc.events.filter(kind=EventKind.ESCALATE).count() == 1
    secretary, leader = party_line
    for user in (lead_a, secretary, leader):  # the next level and the party line
        assert Notification.objects.filter(user=user, title__startswith="【督办】").count() == 1
    assert services.escalation_scan() == 0  # run it again: nothing more
    assert Escalation.objects.count() == 1


@pytest.mark.django_db
def test_it_climbs_one_level_per_missed_deadline_up_to_the_city(
    report, carol, tina, victor, django_capture_on_commit_callbacks
):
    (inc,) = _overdue(report, hours_ago=0)
    now = timezone.now()
    levels = []
    for step in range(1, 7):  # each re-armed deadline is 0.5 h; scan well past each one
        with django_capture_on_commit_callbacks(execute=True):
            services.escalation_scan(now=now + timedelta(hours=step))
        inc.refresh_from_db()
        levels.append(inc.level)
    assert levels == [1, 2, 3, 4, 4, 4]
    # at the top it keeps its passed deadline: still 超时 in lists and counts, never re-claimed
    assert inc.supervised and inc.due_at < now + timedelta(hours=6)
    assert Incident.objects.filter(pk=inc.pk, due_at__lt=now + timedelta(hours=6)).exists()
    assert list(Escalation.objects.order_by("level").values_list("level", flat=True)) == [1, 2, 3, 4]
    assert Notification.objects.filter(user=carol, title__startswith="【督办】").count() == 1
    assert Notification.objects.filter(user=tina, title__startswith="【督办】").count() == 1
    assert Notification.objects.filter(user=victor, title__startswith="【督办】").count() == 1


@pytest.mark.django_db
def test_each_stage_escalates_separately(report, carol):
    (inc,) = _overdue(report)
    services.escalation_scan()
    inc = services.incident_accept(actor=carol, incident=Incident.objects.get(pk=inc.pk), tier=Tier.COMMUNITY)
    assert inc.accepted_on_time is False  # fixed at acceptance, it never changes afterwards
    services.escalation_scan(now=timezone.now() + timedelta(hours=3))  # red: resolve within 2 h
    assert set(Escalation.objects.values_list("stage", "level")) == {("accept", 1), ("resolve", 2)}


@pytest.mark.django_db
def test_a_resolved_incident_is_not_escalated_for_resolving(report, carol):
    with time_machine.travel(timezone.now() - timedelta(hours=5), tick=False):
        inc = report(urgency="red")
        inc = services.incident_accept(actor=carol, incident=inc, tier=Tier.COMMUNITY)
        inc = services.incident_dispatch(actor=carol, incident=inc)
        inc = services.incident_resolve(actor=carol, incident=inc, result="已处理")
    assert inc.status == Status.RESOLVED and inc.resolved_on_time is True
    services.escalation_scan(now=inc.resolved_at + timedelta(hours=1))  # verify (4 h) not yet due
    assert not Escalation.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_scans_at_once_still_escalate_each_incident_once(report):
    _overdue(report, n=40)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def scan():
        try:
            barrier.wait()
            results.append(services.escalation_scan(batch=7))
        except Exception as error:  # pragma: no cover - shown in the assertion
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=scan) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(results) == 40
    assert Escalation.objects.count() == 40
    assert set(Incident.objects.values_list("level", flat=True)) == {Level.GENERAL}


@pytest.mark.django_db(transaction=True)
def test_a_scan_that_crashes_midway_loses_and_doubles_nothing(report, monkeypatch):
    _overdue(report, n=10)
    real = escalation_module._escalate_rows
    calls = {"n": 0}

    def crash_on_second_batch(rows, now, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker killed")
        return real(rows, now, **kwargs)

    monkeypatch.setattr(escalation_module, "_escalate_rows", crash_on_second_batch)
    with pytest.raises(RuntimeError):
        services.escalation_scan(batch=4)
    assert Escalation.objects.count() == 4  # the first batch committed; the second rolled back
    monkeypatch.setattr(escalation_module, "_escalate_rows", real)
    assert services.escalation_scan(batch=4) == 6  # the re-run picks up exactly the rest
    assert Escalation.objects.count() == 10
    assert Incident.objects.filter(level=Level.GENERAL).count() == 10


@pytest.mark.django_db
def test_the_constraint_has_the_last_word(report):
    (inc,) = _overdue(report)
    Escalation.objects.create(incident=inc, stage=Stage.ACCEPT, level=Level.GENERAL, at=timezone.now())
    # a row already carries this escalation: no second one, but the level it records is
    # raised together with its event row (never a level without its rows)
    assert services.escalation_scan() == 0
    assert Escalation.objects.count() == 1
    inc.refresh_from_db()
    assert inc.level == Level.GENERAL
    assert inc.events.filter(kind=EventKind.ESCALATE).count() == 1
    assert services.escalation_scan() == 0  # and it is not claimed again


@pytest.mark.django_db
def test_verified_incidents_close_by_themselves_when_the_window_passes(report, carol, alice):
    inc = report(urgency="blue")
    inc = services.incident_accept(actor=alice, incident=inc, tier=Tier.GRID)
    inc = services.incident_resolve(actor=alice, incident=inc, result="已清理")
    inc = services.incident_verify(actor=carol, incident=inc)
    assert services.auto_close_scan(now=timezone.now() + timedelta(days=2)) == 0
    assert services.auto_close_scan(now=timezone.now() + timedelta(days=3, minutes=1)) == 1
    inc.refresh_from_db()
    assert (inc.status, inc.satisfaction) == (Status.CLOSED, "none")
    assert inc.events.last().kind == EventKind.AUTO_CLOSE
    assert services.auto_close_scan(now=timezone.now() + timedelta(days=4)) == 0  # idempotent
    assert not Escalation.objects.exists()  # the evaluation window is not an escalation


@pytest.mark.django_db
def test_a_lost_notice_task_is_made_good_by_the_sweep_exactly_once(
    report, lead_a, party_line, django_capture_on_commit_callbacks
):
    from grids import tasks as grids_tasks
    from qionglai.core.models import OwedNotice

    _overdue(report, n=3)
    with django_capture_on_commit_callbacks(execute=False):  # the task message is lost
        assert services.escalation_scan() == 3
    assert not Notification.objects.exists()
    assert Escalation.objects.filter(notified_at__isnull=True).count() == 3  # but the debt is recorded
    grids_tasks.sweep_escalation_notices()
    grids_tasks.sweep_escalation_notices()  # the next minute's sweep: nothing twice
    assert Notification.objects.filter(title__startswith="【督办】").count() == 3 * 3
    assert not Escalation.objects.filter(notified_at__isnull=True).exists()
    assert not OwedNotice.objects.filter(delivered_at__isnull=True).exists()


@pytest.mark.django_db
def test_a_batch_costs_the_same_statements_for_one_incident_or_many(report, django_assert_num_queries):
    first, *_ = _overdue(report, n=1)
    later = _overdue(report, n=6, hours_ago=2)
    # the calendar; per batch: SAVEPOINT, synchronous_commit off, claim, category, policy, the
    # one escalating statement, RELEASE; then the empty claim (SAVEPOINT, sync off, claim,
    # RELEASE) that ends the scan
    with django_assert_num_queries(12):
        assert services.escalation_scan(now=timezone.now() - timedelta(hours=2, minutes=10)) == 1
    with django_assert_num_queries(12):
        # the six, and the first again: its re-armed half hour has passed too
        assert services.escalation_scan(now=timezone.now()) == len(later) + 1
    assert first.events.filter(kind=EventKind.ESCALATE).count() == 2


@pytest.mark.django_db
def test_the_row_by_row_path_raises_a_level_only_with_its_rows(report):
    incidents = _overdue(report, n=3)
    Escalation.objects.create(
        incident=incidents[0], stage=Stage.ACCEPT, level=Level.GENERAL, at=timezone.now()
    )
    rows = escalation_module._claim(timezone.now(), 10)
    now = timezone.now()
    rearm = escalation_module._Rearm(now)
    next_due = [rearm(r[1], r[2], r[3], r[4]) for r in rows]
    notes = [escalation_module.escalation_note(r[4], r[5] + 1) for r in rows]
    created = escalation_module._escalate_row_by_row(rows, now, next_due, notes)
    assert len(created) == 2  # the one already recorded is not made again
    for inc in Incident.objects.filter(pk__in=[i.pk for i in incidents]):
        assert inc.level == Level.GENERAL
        assert inc.escalations.count() == 1
        assert inc.events.filter(kind=EventKind.ESCALATE).count() == 1


@pytest.mark.django_db
def test_an_escalation_carries_its_incidents_path_by_the_scan_and_row_by_row(report, micro_b1, bob):
    """The dashboard counts a place's escalations by their own path (counted.py's `esc`)."""
    scanned = _overdue(report, n=2) + _overdue(report, n=1, micro_grid=micro_b1, actor=bob)
    assert len({i.path for i in scanned}) == 2
    assert services.escalation_scan() == 3
    for inc in scanned:
        assert inc.escalations.get().path == inc.path
    fallback = _overdue(report, n=2) + _overdue(report, n=1, micro_grid=micro_b1, actor=bob)
    now = timezone.now()
    rows = escalation_module._claim(now, 10)
    assert {r[0] for r in rows} == {i.pk for i in fallback}
    rearm = escalation_module._Rearm(now)
    next_due = [rearm(r[1], r[2], r[3], r[4]) for r in rows]
    notes = [escalation_module.escalation_note(r[4], r[5] + 1) for r in rows]
    assert len(escalation_module._escalate_row_by_row(rows, now, next_due, notes)) == 3
    for inc in fallback:
        assert inc.escalations.get().path == inc.path
    # and a row made without one (as tests and the admin shell do) still carries it
    made = Escalation.objects.create(incident=fallback[0], stage=Stage.RESOLVE, level=Level.TOWN, at=now)
    assert Escalation.objects.get(pk=made.pk).path == fallback[0].path


@pytest.mark.django_db
def test_an_incident_at_the_city_level_stays_in_the_overdue_list(report, victor):
    from grids import selectors

    (inc,) = _overdue(report)
    Incident.objects.filter(pk=inc.pk).update(level=Level.CITY)
    assert services.escalation_scan() == 0  # nothing higher to hand it to
    inc.refresh_from_db()
    assert inc.due_at < timezone.now()
    overdue = selectors.incident_list_for(user=victor, filters={"overdue": True})
    assert list(overdue.values_list("pk", flat=True)) == [inc.pk]
