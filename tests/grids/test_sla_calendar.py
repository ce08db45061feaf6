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


def test_inside_remembered_the_modes_are_read_once_and_again_after_a_switch(
    carol, general_a, micro_a1, django_assert_num_queries
):
    """The demo build reports inside `sla.remembered()`: which places are in 战时 is read once,
    and a mode switch inside the block is seen by the next report."""
    with sla.remembered():
        with django_assert_num_queries(1):  # the paths in 战时: none yet
            assert sla.war_at(micro_a1.path) is False
            assert sla.war_at(general_a.path) is False
        services.grid_mode_switch(actor=carol, grid=general_a, mode=GridMode.WAR, reason="暴雨红色预警")
        with django_assert_num_queries(1):  # forgotten by the switch: read again
            assert sla.war_at(micro_a1.path) is True
        with django_assert_num_queries(0):
            assert sla.war_at(general_a.path) is True
            assert sla.war_at(general_a.path.rsplit(".", 1)[0]) is False  # the community above
    with django_assert_num_queries(1):  # outside the block: asked each time
        assert sla.war_at(micro_a1.path) is True


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


# --- the holiday calendar from chinesecalendar (issue: the calendar must not run out) ---------


@pytest.fixture(autouse=True)
def _calendar_read_afresh():
    # the covered range is cached per process; each test sees its own table
    sla.forget_coverage()
    yield
    sla.forget_coverage()


def _call(*args):
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command("load_holidays", *args, stdout=out)
    return out.getvalue()


def test_load_holidays_fills_a_year_from_chinesecalendar():
    from datetime import date

    from grids.models import CalendarDay, DayKind

    CalendarDay.objects.filter(date__year=2026).delete()
    out = _call("--year", "2026")
    assert "新增 39 天" in out and "日历数据检查通过" in out
    spring = CalendarDay.objects.filter(date__range=(date(2026, 2, 14), date(2026, 2, 28)))
    assert list(spring.filter(kind=DayKind.HOLIDAY).values_list("date__day", flat=True)) == list(
        range(15, 24)
    )
    assert list(spring.filter(kind=DayKind.WORKDAY).values_list("date__day", flat=True)) == [14, 28]
    assert CalendarDay.objects.get(date=date(2026, 2, 15)).name == "春节"
    # the deadlines read it: Fri 13 Feb + 1 working day is Sat 14 Feb (调休上班)
    assert sla.add_workdays(datetime(2026, 2, 13, 9, 0, tzinfo=SH), 1) == datetime(
        2026, 2, 14, 9, 0, tzinfo=SH
    )


def test_running_it_again_changes_nothing_and_keeps_the_citys_edit():
    from datetime import date

    from grids.models import CalendarDay

    CalendarDay.objects.filter(date=date(2026, 10, 7)).update(name="国庆节（本市）")
    out = _call("--year", "2026")
    assert "新增 0 天" in out
    assert CalendarDay.objects.get(date=date(2026, 10, 7)).name == "国庆节（本市）"
    _call("--year", "2026", "--replace")
    assert CalendarDay.objects.get(date=date(2026, 10, 7)).name == "国庆节"


def test_a_year_the_package_does_not_know_is_refused_with_what_to_do():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match=r"没有 2099 年的节假日数据.*请先升级该软件包"):
        _call("--year", "2099")


def test_the_data_check_fails_on_a_missing_holiday_and_a_pointless_workday():
    from datetime import date

    from django.core.management.base import CommandError

    from grids import holidays
    from grids.models import CalendarDay, DayKind

    CalendarDay.objects.filter(date=date(2026, 10, 1)).delete()
    CalendarDay.objects.create(date=date(2026, 11, 4), kind=DayKind.WORKDAY, name="误录")  # a Wednesday
    problems = holidays.calendar_problems()
    assert "2026-10-01 国庆节（法定节假日）未录入" in problems
    assert "2026-11-04 标为调休上班，但当天本来就是工作日" in problems
    with pytest.raises(CommandError, match="2 个问题"):
        _call("--check")


def test_healthz_warns_while_the_next_60_days_are_not_covered(client):
    with time_machine.travel(datetime(2026, 11, 15, 12, 0, tzinfo=SH), tick=False):
        body = client.get("/healthz").json()
    assert body["calendar"] == {
        "status": "warn",
        "covered_until": "2026-12-31",
        "detail": sla.MSG_CALENDAR_SHORT.format(until="2026-12-31", days=60, year=2027),
    }
    # what the city reads: the year to add, and the two ways to add it
    assert body["calendar"]["detail"] == (
        "节假日日历只录入到 2026-12-31，未来 60 天内按工作日计算的时限将只按周一至周五计算。"
        "请录入 2027 年的节假日与调休上班日：在后台「节假日与调休」中逐日添加，"
        "或待 chinesecalendar 收录国务院 2027 年放假安排后升级该软件包，再运行 manage.py load_holidays --year 2027。"
    )
    assert body["warnings"] == [body["calendar"]["detail"]]
    with time_machine.travel(datetime(2026, 6, 1, 12, 0, tzinfo=SH), tick=False):
        body = client.get("/healthz").json()
    assert body["calendar"] == {"status": "ok", "covered_until": "2026-12-31"}
    assert body["warnings"] == []


def test_the_admin_warns_while_the_next_60_days_are_not_covered(client, root):
    client.force_login(root)
    with time_machine.travel(datetime(2026, 11, 15, 12, 0, tzinfo=SH), tick=False):
        page = client.get("/admin/grids/calendarday/").content.decode()
    assert "节假日日历只录入到 2026-12-31" in page


def test_a_deadline_counted_past_the_calendar_is_logged_once(caplog):
    start = datetime(2026, 12, 28, 9, 0, tzinfo=SH)
    with caplog.at_level("WARNING", logger="grids.sla"):
        sla.add_workdays(start, 5)
        sla.add_workdays(start, 7)
        sla.add_workdays(datetime(2026, 12, 1, 9, 0, tzinfo=SH), 3)  # inside the calendar
    warned = [r for r in caplog.records if "past the holiday calendar" in r.getMessage()]
    assert len(warned) == 1
    assert "2027-01-04" in warned[0].getMessage()


@pytest.mark.django_db
def test_remembered_reads_the_policies_and_the_calendar_once_and_forgets_them_after(
    django_assert_num_queries,
):
    """Inside `sla.remembered()` (the demo build) a policy lookup and the calendar are each read
    once; outside, every call reads again, so an edit applies to the next deadline."""
    from grids import sla
    from grids.models import Category, DurationUnit, SlaPolicy

    category = Category.objects.filter(parent__isnull=False).first()
    start = datetime(2026, 9, 30, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    sla.covered_until()  # the coverage check has its own per-process reading: warm it first
    with sla.remembered():
        # one policy read, one calendar read
        with django_assert_num_queries(2):
            policy = sla.policy_for(category=category, urgency="yellow")
            sla.add_workdays(start, 3)
        with django_assert_num_queries(0):
            assert sla.policy_for(category=category, urgency="yellow") is policy
            remembered_due = sla.add_workdays(start, 3)
            sla.all_exceptions()
    # the same answer as a fresh read
    assert remembered_due == sla.add_workdays(start, 3)
    SlaPolicy.objects.filter(pk=policy.pk).update(resolve_amount=policy.resolve_amount + 1)
    with django_assert_num_queries(1):  # forgotten after the block: read again, the edit seen
        again = sla.policy_for(category=category, urgency="yellow")
    assert again.resolve_amount == policy.resolve_amount + 1
    assert again.resolve_unit in DurationUnit.values
