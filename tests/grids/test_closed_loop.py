import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from grids import services
from grids.models import (
    EventKind,
    ExtensionStatus,
    IncidentEvent,
    Satisfaction,
    Stage,
    Status,
    Tier,
)
from grids.signals import incident_verified
from qionglai.core.errors import ApplicationError
from qionglai.core.models import AuditEvent, Notification

pytestmark = pytest.mark.django_db


def test_it_runs_the_whole_loop_through_a_department(
    report, alice, carol, hank, rita, zjj_category, micro_a1, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        inc = report(actor=rita, category=zjj_category)
    assert inc.status == Status.REPORTED and inc.due_stage == Stage.ACCEPT and inc.path == micro_a1.path
    assert Notification.objects.filter(user=carol, key=f"incident:{inc.pk}:reported").exists()

    inc = services.incident_accept(actor=carol, incident=inc, tier=Tier.DEPARTMENT, urgency="orange")
    assert inc.status == Status.ACCEPTED and inc.accepted_on_time is True and inc.due_stage == Stage.RESOLVE
    with django_capture_on_commit_callbacks(execute=True):
        inc = services.incident_dispatch(actor=carol, incident=inc)
    assert inc.assigned_department.code == "zjj"  # the category's responsible department
    assert Notification.objects.filter(user=hank).count() == 1

    inc = services.incident_resolve(actor=hank, incident=inc, result="已更换损坏的单元门禁")
    assert inc.status == Status.RESOLVED and inc.resolved_on_time is True

    received = []
    incident_verified.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="t-verified")
    try:
        inc = services.incident_verify(actor=alice, incident=inc)
    finally:
        incident_verified.disconnect(dispatch_uid="t-verified")
    assert inc.status == Status.VERIFIED and inc.due_stage == Stage.EVALUATE
    assert received[0]["incident_id"] == inc.pk
    assert received[0]["reporter_id"] == rita.pk
    assert received[0]["event_key"] == f"incident:{inc.pk}:verified"
    assert received[0]["community_path"] == "510183.001.a01"

    inc = services.incident_evaluate(actor=rita, incident=inc, satisfaction=Satisfaction.SATISFIED)
    assert inc.status == Status.CLOSED and inc.satisfaction == Satisfaction.SATISFIED and inc.due_at is None
    kinds = list(IncidentEvent.objects.filter(incident=inc).values_list("kind", flat=True))
    assert kinds == ["report", "accept", "dispatch", "resolve", "verify", "evaluate"]
    assert AuditEvent.objects.filter(target_type="grids.incident", target_id=str(inc.pk)).count() == 6


def test_it_lets_a_grid_worker_accept_as_grid_self_handled_and_close_the_same_day(report, alice):
    inc = report()
    inc = services.incident_accept(actor=alice, incident=inc, tier=Tier.GRID)
    assert inc.status == Status.IN_PROGRESS and inc.assignee == alice
    inc = services.incident_resolve(actor=alice, incident=inc, result="已现场清运")
    assert inc.status == Status.RESOLVED


def test_it_refuses_a_grid_worker_accepting_for_another_tier(report, alice):
    with pytest.raises(PermissionDenied, match="网格自办"):
        services.incident_accept(actor=alice, incident=report(), tier=Tier.COMMUNITY)


def test_it_refuses_illegal_moves_with_the_state_name(report, carol, rita):
    inc = report()
    with pytest.raises(ApplicationError, match="当前状态为「已上报」，不能执行「核查」"):
        services.incident_verify(actor=carol, incident=inc)
    inc = services.incident_reject(actor=carol, incident=inc, reason="重复上报")
    assert inc.status == Status.REJECTED
    with pytest.raises(ApplicationError, match="不予受理"):
        services.incident_accept(actor=carol, incident=inc, tier=Tier.COMMUNITY)


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("alice", True),
        ("carol", True),
        ("tina", True),
        ("bob", False),
        ("dave", False),
        ("rita", False),
        ("hank", False),
        ("victor", False),
    ],
)
def test_it_checks_who_may_accept(
    request, report, who, allowed, alice, bob, carol, dave, tina, rita, hank, victor
):
    user = request.getfixturevalue(who)
    inc = report()
    tier = Tier.GRID if who == "alice" else Tier.COMMUNITY
    if allowed:
        assert services.incident_accept(actor=user, incident=inc, tier=tier).status in (
            Status.ACCEPTED,
            Status.IN_PROGRESS,
        )
    else:
        with pytest.raises(PermissionDenied):
            services.incident_accept(actor=user, incident=inc, tier=tier)


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("carol", True),
        ("tina", True),
        ("victor", True),
        ("alice", False),
        ("bob", False),
        ("dave", False),
        ("rita", False),
    ],
)
def test_it_checks_who_may_dispatch(
    request, report, carol, who, allowed, alice, bob, dave, tina, rita, victor
):
    inc = services.incident_accept(actor=carol, incident=report(), tier=Tier.COMMUNITY)
    user = request.getfixturevalue(who)
    if allowed:
        assert services.incident_dispatch(actor=user, incident=inc).status == Status.IN_PROGRESS
    else:
        with pytest.raises(PermissionDenied):
            services.incident_dispatch(actor=user, incident=inc)


@pytest.fixture
def in_progress_dept(report, carol, zjj_category):
    inc = services.incident_accept(actor=carol, incident=report(category=zjj_category), tier=Tier.DEPARTMENT)
    return services.incident_dispatch(actor=carol, incident=inc)


@pytest.mark.parametrize(
    ("who", "allowed"),
    [("hank", True), ("alice", False), ("carol", False), ("bob", False), ("rita", False), ("victor", False)],
)
def test_it_lets_only_the_dispatched_department_resolve(
    request, in_progress_dept, who, allowed, hank, alice, carol, bob, rita, victor
):
    user = request.getfixturevalue(who)
    if allowed:
        assert (
            services.incident_resolve(actor=user, incident=in_progress_dept, result="修好了").status
            == Status.RESOLVED
        )
    else:
        with pytest.raises(PermissionDenied):
            services.incident_resolve(actor=user, incident=in_progress_dept, result="修好了")


def test_a_handler_of_another_department_cannot_resolve(in_progress_dept):
    from tests.conftest import _person

    other = _person("olga", "城管 奥尔加", "department_handler", "510183", unit="cgj")
    with pytest.raises(PermissionDenied):
        services.incident_resolve(actor=other, incident=in_progress_dept, result="x")


@pytest.mark.parametrize(
    ("who", "allowed"), [("alice", True), ("carol", True), ("bob", False), ("rita", False), ("hank", False)]
)
def test_it_checks_who_may_verify(request, in_progress_dept, hank, who, allowed, alice, carol, bob, rita):
    inc = services.incident_resolve(actor=hank, incident=in_progress_dept, result="修好了")
    user = request.getfixturevalue(who)
    if allowed:
        assert services.incident_verify(actor=user, incident=inc).status == Status.VERIFIED
    else:
        with pytest.raises(PermissionDenied):
            services.incident_verify(actor=user, incident=inc)


def test_only_the_reporter_evaluates(in_progress_dept, hank, alice, carol, rita):
    inc = services.incident_resolve(actor=hank, incident=in_progress_dept, result="修好了")
    inc = services.incident_verify(actor=carol, incident=inc)
    for other in (carol, rita):
        with pytest.raises(PermissionDenied, match="上报人"):
            services.incident_evaluate(actor=other, incident=inc, satisfaction="satisfied")
    assert services.incident_evaluate(actor=alice, incident=inc, satisfaction="basic").status == Status.CLOSED


def test_it_reopens_once_then_hands_to_a_supervisor(
    in_progress_dept, hank, carol, alice, tina, party_line, django_capture_on_commit_callbacks
):
    inc = services.incident_resolve(actor=hank, incident=in_progress_dept, result="修好了")
    inc = services.incident_verify(actor=carol, incident=inc)
    inc = services.incident_evaluate(actor=alice, incident=inc, satisfaction="dissatisfied", comment="没修好")
    assert inc.status == Status.IN_PROGRESS and inc.reopen_count == 1 and inc.due_stage == Stage.RESOLVE
    inc = services.incident_resolve(actor=hank, incident=inc, result="再次维修")
    inc = services.incident_verify(actor=carol, incident=inc)
    with django_capture_on_commit_callbacks(execute=True):
        inc = services.incident_evaluate(
            actor=alice, incident=inc, satisfaction="dissatisfied", comment="还是不行"
        )
    assert inc.status == Status.CLOSED and inc.supervised and inc.satisfaction == Satisfaction.DISSATISFIED
    secretary, _ = party_line
    assert Notification.objects.filter(user=tina, title__contains="督办").exists()
    assert Notification.objects.filter(user=secretary, title__contains="督办").exists()


def test_a_failed_verification_sends_it_back(in_progress_dept, hank, carol):
    inc = services.incident_resolve(actor=hank, incident=in_progress_dept, result="修好了")
    with pytest.raises(ValidationError):
        services.incident_verify(actor=carol, incident=inc, passed=False)
    inc = services.incident_verify(actor=carol, incident=inc, passed=False, note="现场仍有积水")
    assert inc.status == Status.IN_PROGRESS
    assert inc.events.last().kind == EventKind.VERIFY_FAIL


def test_a_handler_returns_and_staff_reassigns(in_progress_dept, hank, carol, alice):
    inc = services.incident_return(actor=hank, incident=in_progress_dept, reason="不属于住建局职责")
    assert inc.status == Status.ACCEPTED and inc.assigned_department is None
    inc = services.incident_dispatch(actor=carol, incident=inc, tier=Tier.GRID)
    assert inc.status == Status.IN_PROGRESS
    assert (
        services.incident_resolve(actor=alice, incident=inc, result="网格员已处理").status == Status.RESOLVED
    )


def test_extensions_move_the_deadline_and_respect_the_limit(in_progress_dept, hank, carol, bob, dave):
    due = in_progress_dept.resolve_due
    ext = services.incident_request_extension(
        actor=hank, incident=in_progress_dept, hours=24, reason="需采购配件"
    )
    with pytest.raises(ApplicationError, match="待审批"):
        services.incident_request_extension(actor=hank, incident=in_progress_dept, hours=24, reason="再申请")
    with pytest.raises(PermissionDenied):
        services.incident_decide_extension(actor=dave, extension=ext, approve=True)
    ext = services.incident_decide_extension(actor=carol, extension=ext, approve=True)
    assert ext.status == ExtensionStatus.APPROVED
    in_progress_dept.refresh_from_db()
    assert (in_progress_dept.resolve_due - due).total_seconds() == 24 * 3600
    assert in_progress_dept.extension_count == 1
    with pytest.raises(ApplicationError, match="最多延期"):  # yellow allows one extension
        services.incident_request_extension(
            actor=hank, incident=in_progress_dept, hours=24, reason="还要延期"
        )
    with pytest.raises(ApplicationError, match="已处理"):
        services.incident_decide_extension(actor=carol, extension=ext, approve=True)


def test_the_outsider_cannot_touch_community_a(report, bob, dave, carol):
    inc = report()
    for fn, kwargs in [
        (services.incident_accept, {"tier": Tier.GRID}),
        (services.incident_reject, {"reason": "x"}),
    ]:
        for user in (bob, dave):
            with pytest.raises(PermissionDenied):
                fn(actor=user, incident=inc, **kwargs)
    with pytest.raises(PermissionDenied):
        services.incident_me_too(actor=bob, incident=inc)
    with pytest.raises(PermissionDenied):
        report(actor=bob)


def test_me_too_counts_each_person_once(report, alice, rita, carol):
    inc = report(actor=alice)
    services.incident_me_too(actor=rita, incident=inc)
    inc = services.incident_me_too(actor=rita, incident=inc)
    assert inc.me_too_count == 1 and inc.followers.count() == 1
    with pytest.raises(ApplicationError, match="自己"):
        services.incident_me_too(actor=alice, incident=inc)


def test_duplicates_are_offered_within_radius_and_window(report, micro_a1, micro_a2, category, rita):
    from grids.selectors import duplicates_for

    near = report(lat="30.4110", lng="103.4610", micro_grid=None)
    far = report(lat="30.4110", lng="103.4635", micro_grid=None)  # ~240 m east, in m02
    found = duplicates_for(category=category, lat=30.4112, lng=103.4611, micro_grid=micro_a1)
    assert [i.pk for i in found] == [near.pk]
    assert far.micro_grid == micro_a2


def test_a_report_needs_a_place_category_and_description(alice, category, micro_a1):
    with pytest.raises(ValidationError) as err:
        services.incident_report(
            actor=alice, category="nope", urgency="yellow", description="x", micro_grid=micro_a1
        )
    assert err.value.message_dict == {"category": ["请选择有效的事件类别"]}
    with pytest.raises(ValidationError) as err:
        services.incident_report(
            actor=alice, category=category, urgency="purple", description=" ", micro_grid=micro_a1
        )
    assert set(err.value.message_dict) == {"urgency", "description"}
    with pytest.raises(ValidationError) as err:
        services.incident_report(actor=alice, category=category, urgency="red", description="x")
    assert err.value.message_dict == {"location": ["请提供事件位置或选择所在微网格"]}


def test_consultation_can_turn_a_topic_into_an_incident(carol, micro_a1):
    inc = services.incident_report(
        actor=carol,
        category="0103",
        urgency="blue",
        description="议题转事件：物业纠纷",
        micro_grid=micro_a1,
        channel="assigned",
        source_ref="consultation.topic:12",
    )
    assert inc.source_ref == "consultation.topic:12" and inc.category.name == "物业纠纷"


def test_the_verified_signal_names_the_handlers_who_are_party_members_on_the_roster_or_by_grant(
    report, alice, carol, hank, rita, zjj_category, micro_a1, django_assert_num_queries
):
    from grids.models import PartyMember
    from grids.services.incidents import _party_member_ids
    from qionglai.users.models import Role
    from tests.factories import GrantFactory

    inc = report(actor=rita, category=zjj_category)
    inc = services.incident_accept(actor=carol, incident=inc, tier=Tier.DEPARTMENT, urgency="orange")
    inc = services.incident_dispatch(actor=carol, incident=inc)
    inc = services.incident_resolve(actor=hank, incident=inc, result="已更换损坏的单元门禁")
    inc.handlers.add(carol)  # a second handler, as one who took part in the work
    assert set(inc.handlers.values_list("id", flat=True)) == {carol.pk, hank.pk}
    PartyMember.objects.create(user=rita, grid=micro_a1, path=micro_a1.path)  # not a handler
    with django_assert_num_queries(1):  # the handlers, each probed on the roster and the grants
        assert _party_member_ids(inc) == []
    PartyMember.objects.create(user=carol, grid=micro_a1, path=micro_a1.path)
    GrantFactory(user=hank, role=Role.PARTY_MEMBER, path=micro_a1.path)
    assert _party_member_ids(inc) == sorted([carol.pk, hank.pk])
    PartyMember.objects.filter(user=carol).update(retired_at="2026-01-01T00:00:00Z")
    assert _party_member_ids(inc) == [hank.pk]

    received = []
    incident_verified.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="t-party")
    try:
        services.incident_verify(actor=alice, incident=inc)
    finally:
        incident_verified.disconnect(dispatch_uid="t-party")
    assert received[0]["party_member_ids"] == [hank.pk]
