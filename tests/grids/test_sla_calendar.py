from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from grids import services, sla
from grids.models import GridMode, SlaPolicy, Tier

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def test_working_days_skip_the_national_day_holiday():
    # Tue 2026-09-29 10:00 + 3 working days: 30 Sep (Wed) is 1; 1–7 Oct are holidays;
    # Thu 8 Oct is 2, Fri 9 Oct is 3.
    start = datetime(2026, 9, 29, 10, 0, tzinfo=SH)
    assert sla.add_workdays(start, 3) == datetime(2026, 10, 9, 10, 0, tzinfo=SH)


def test_an_adjusted_working_day_counts():
    # Fri 2026-10-09 + 1 working day = Sat 10 Oct (调休上班), not Mon 12 Oct
    start = datetime(2026, 10, 9, 9, 0, tzinfo=SH)
    assert sla.add_workdays(start, 1) == datetime(2026, 10, 10, 9, 0, tzinfo=SH)


def test_a_weekend_is_skipped_without_the_calendar():
    start = datetime(2026, 11, 20, 16, 0, tzinfo=SH)  # Friday
    assert sla.add_workdays(start, 1) == datetime(2026, 11, 23, 16, 0, tzinfo=SH)


def test_the_default_policy_matches_the_design():
    red = sla.policy_for(category=None, urgency="red")
    assert (red.accept_amount, red.accept_unit, red.resolve_amount, red.resolve_unit) == (
        Decimal("0.50"),
        "hours",
        Decimal("2.00"),
        "hours",
    )
    yellow = sla.policy_for(category=None, urgency="yellow")
    assert (yellow.resolve_amount, yellow.resolve_unit) == (Decimal("3.00"), "workdays")


def test_a_category_policy_overrides_the_default(category):
    SlaPolicy.objects.create(category=category.parent, urgency="yellow", accept_amount=1, accept_unit="hours")
    assert sla.policy_for(category=category, urgency="yellow").accept_amount == 1


def test_a_report_during_a_holiday_gets_its_deadline_after_it(report, carol):
    with time_machine.travel(datetime(2026, 9, 30, 15, 0, tzinfo=SH), tick=False):
        inc = report(urgency="yellow")
        inc = services.incident_accept(actor=carol, incident=inc, tier=Tier.COMMUNITY)
    assert inc.resolve_due == datetime(2026, 10, 10, 15, 0, tzinfo=SH)  # 8, 9, 10 (调休) Oct


def test_wartime_deadlines_are_shorter(report, carol, general_a, micro_a1):
    peace = report(urgency="yellow")
    services.grid_mode_switch(actor=carol, grid=general_a, mode=GridMode.WAR, reason="暴雨红色预警")
    micro_a1.refresh_from_db()
    assert micro_a1.mode == GridMode.WAR  # the switch reaches the micro-grids under it
    war = report(urgency="yellow")
    assert war.mode == GridMode.WAR
    assert (war.accept_due - war.created_at) < (peace.accept_due - peace.created_at)
    peace = services.incident_accept(actor=carol, incident=peace, tier=Tier.COMMUNITY)
    war = services.incident_accept(actor=carol, incident=war, tier=Tier.COMMUNITY)
    assert (war.resolve_due - war.accepted_at).total_seconds() == 24 * 3600
    assert (war.resolve_due - war.accepted_at) < (peace.resolve_due - peace.accepted_at)


def test_a_mode_switch_is_logged_and_tells_the_reserve(
    carol, alice, general_a, rita, django_capture_on_commit_callbacks
):
    from grids.models import ModeSwitch
    from qionglai.core.models import Notification

    services.roster_assign(actor=carol, grid=general_a, user=rita, post="reserve", reserve_kind="volunteer")
    with django_capture_on_commit_callbacks(execute=True):
        services.grid_mode_switch(actor=carol, grid=general_a, mode="war", reason="山洪预警")
    switch = ModeSwitch.objects.get()
    assert (switch.from_mode, switch.to_mode, switch.reason, switch.actor) == (
        "peace",
        "war",
        "山洪预警",
        carol,
    )
    assert Notification.objects.filter(user=rita, title__contains="战时").exists()
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.grid_mode_switch(actor=alice, grid=general_a, mode="peace", reason="解除")
