"""The fill keeps every rollup cell equal to a direct count, whatever the services did and
however often the fill ran or died (design §8, zulip's analytics pattern)."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from grids import services
from grids.models import ExtensionRequest, ExtensionStatus, Incident, Satisfaction, Status, Tier
from qionglai.core.errors import ApplicationError
from qionglai.dashboard import fill
from qionglai.dashboard.models import CityDayCategory, FillSlot, SlotState, TownDayCategory

pytestmark = pytest.mark.django_db

START = datetime(2031, 3, 3, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Monday
REFUSED = (ValidationError, PermissionDenied, ApplicationError)


class Crash(Exception):
    pass


def crash_on_second_day():
    seen = []

    def crash(day):
        seen.append(day)
        if len(seen) == 2:
            raise Crash(day)

    return crash


ACTIONS = st.one_of(
    st.tuples(st.just("report"), st.sampled_from(["a", "b"]), st.sampled_from(["red", "yellow", "blue"])),
    st.tuples(st.just("accept"), st.integers(0, 30), st.sampled_from([Tier.GRID, Tier.COMMUNITY])),
    st.tuples(st.just("reject"), st.integers(0, 30)),
    st.tuples(st.just("resolve"), st.integers(0, 30)),
    st.tuples(st.just("verify"), st.integers(0, 30), st.booleans()),
    st.tuples(
        st.just("evaluate"),
        st.integers(0, 30),
        st.sampled_from([Satisfaction.SATISFIED, Satisfaction.BASIC, Satisfaction.DISSATISFIED]),
    ),
    st.tuples(st.just("extend"), st.integers(0, 30), st.booleans()),
    st.tuples(st.just("wait"), st.integers(1, 60)),  # hours; the escalation and close scans run
    st.tuples(st.just("fill")),
)


def apply(action, *, root, communities, category, traveller) -> None:
    kind, *args = action
    # each move picks among the incidents in the state it applies to, so sequences get far
    wanted = {
        "accept": [Status.REPORTED], "reject": [Status.REPORTED], "resolve": [Status.IN_PROGRESS],
        "verify": [Status.RESOLVED], "evaluate": [Status.VERIFIED], "extend": [Status.IN_PROGRESS],
    }.get(kind)  # fmt: skip
    pick = None
    if wanted:
        incidents = list(Incident.objects.filter(status__in=wanted).order_by("id"))
        if not incidents:
            return
        pick = incidents[args[0] % len(incidents)]
    try:
        if kind == "report":
            services.incident_report(
                actor=root, category=category, urgency=args[1], description="随机事件",
                community=communities[args[0]],
            )  # fmt: skip
        elif kind == "accept":
            inc = services.incident_accept(actor=root, incident=pick, tier=args[1])
            if inc.status == Status.ACCEPTED:  # staff who may dispatch hand it on themselves
                services.incident_dispatch(actor=root, incident=inc)
        elif kind == "reject":
            services.incident_reject(actor=root, incident=pick, reason="不属于受理范围")
        elif kind == "resolve":
            services.incident_resolve(actor=root, incident=pick, result="已处置")
        elif kind == "verify":
            services.incident_verify(actor=root, incident=pick, passed=args[1], note="复核")
        elif kind == "evaluate":
            services.incident_evaluate(actor=root, incident=pick, satisfaction=args[1])
        elif kind == "extend":
            services.incident_request_extension(actor=root, incident=pick, hours=24, reason="材料未到")
            ext = ExtensionRequest.objects.get(incident=pick, status=ExtensionStatus.PENDING)
            services.incident_decide_extension(actor=root, extension=ext, approve=args[1])
        elif kind == "wait":
            traveller.shift(timedelta(hours=args[0]))
            from django.utils import timezone

            services.escalation_scan(now=timezone.now())
            services.auto_close_scan(now=timezone.now())
        elif kind == "fill":
            fill.fill()
    except REFUSED as error:
        event(
            f"{kind} refused: {error.__class__.__name__}"
        )  # an illegal move is refused by the service; the data stay as they were


# the steps of the closed loop are drawn more often than the side moves, so sequences reach
# 办结, 核查 and 评价 rather than stopping at 上报
_report, _accept, _reject, _resolve, _verify, _evaluate, _extend, _wait, _fill = ACTIONS.original_strategies
LOOP = st.one_of(_report, _accept, _resolve, _verify, _evaluate, _accept, _resolve, _evaluate, ACTIONS)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(actions=st.lists(LOOP, min_size=20, max_size=60))
def test_any_sequence_of_transitions_then_a_fill_leaves_no_difference(
    actions, root, community_a, community_b, category
):
    communities = {"a": community_a, "b": community_b}
    with time_machine.travel(START, tick=False) as traveller, transaction.atomic():
        for action in actions:
            apply(action, root=root, communities=communities, category=category, traveller=traveller)
        fill.fill()
        for status in Incident.objects.values_list("status", flat=True):
            event(f"an incident ended {status}")
        assert fill.check() == []
        # killed halfway: the second day's slot dies after its town rows; a rerun redoes it
        services.incident_report(
            actor=root, category=category, urgency="red", description="最后一件", community=community_a
        )
        fill.mark_dirty(FillSlot.objects.values_list("day", flat=True))
        with contextlib.suppress(Crash):
            fill.fill(crash=crash_on_second_day())
        fill.fill()
        assert fill.check() == []
        assert not FillSlot.objects.exclude(state=SlotState.DONE).exists()
        transaction.set_rollback(True)  # each example starts from the same empty database


def two_days_of_incidents(root, community, category, traveller):
    for _ in range(2):
        services.incident_report(
            actor=root, category=category, urgency="yellow", description="两天的事件", community=community
        )
        traveller.shift(timedelta(days=1))


def test_a_fill_killed_mid_slot_leaves_it_started_and_the_next_fill_redoes_it(root, community_a, category):
    with time_machine.travel(START, tick=False) as traveller:
        two_days_of_incidents(root, community_a, category, traveller)
        with pytest.raises(Crash):
            fill.fill(crash=crash_on_second_day())
        assert FillSlot.objects.filter(state=SlotState.STARTED).count() == 1
        assert fill.watermark().complete_to is None  # the page will not claim a time it has not reached
        report = fill.fill()
        # the day that died is redone, the day done before it is not; the empty today follows
        assert report.filled == [START.date() + timedelta(days=1), START.date() + timedelta(days=2)]
        assert fill.check() == []
        assert CityDayCategory.objects.count() == 2 and TownDayCategory.objects.count() == 2


def test_running_the_fill_twice_changes_nothing(root, community_a, category):
    with time_machine.travel(START, tick=False) as traveller:
        two_days_of_incidents(root, community_a, category, traveller)
        fill.fill()
        before = list(CityDayCategory.objects.order_by("day").values_list("day", "reported"))
        fill.fill()
        assert list(CityDayCategory.objects.order_by("day").values_list("day", "reported")) == before
        assert before == [(START.date(), 1), (START.date() + timedelta(days=1), 1)]


def test_the_check_command_exits_non_zero_on_a_difference(root, community_a, category):
    from django.core.management.base import CommandError

    with time_machine.travel(START, tick=False) as traveller:
        two_days_of_incidents(root, community_a, category, traveller)
        call_command("dashboard_rebuild")
        call_command("dashboard_check")
        TownDayCategory.objects.filter(day=START.date()).update(reported=5)
        with pytest.raises(CommandError, match="1 处差异"):
            call_command("dashboard_check")


def test_the_check_compares_the_community_rollup_too(root, community_a, category):
    from qionglai.dashboard.models import CommunityDay

    with time_machine.travel(START, tick=False) as traveller:
        two_days_of_incidents(root, community_a, category, traveller)
        fill.rebuild()
        assert list(CommunityDay.objects.order_by("day").values_list("community_id", "reported")) == [
            (community_a.pk, 1),
            (community_a.pk, 1),
        ]
        assert fill.check() == []
        CommunityDay.objects.filter(day=START.date()).update(resolved=3)
        assert [(d.grain, d.column, d.stored, d.direct) for d in fill.check()] == [
            ("community", "resolved", 3, 0)
        ]
