"""Timed publicity with objections; the resolution's outcomes, grants above all."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import close_old_connections
from django.utils import timezone

from consultation import services, tasks
from consultation.models import EventKind, Objection, OutcomeStatus, PublicityWindow, TopicEvent
from consultation.services import MSG_PUBLICITY_CLOSED, MSG_RESOLUTION_LOCKED
from projects import services as project_services
from projects.models import FundEntry, MicroFund, RenewalProject
from qionglai.core.errors import ApplicationError

from .conftest import expire_publicity

pytestmark = pytest.mark.django_db


def _due(topic):
    past = timezone.now() - timedelta(minutes=1)
    PublicityWindow.objects.filter(topic=topic).update(opened_at=past - timedelta(days=5), ends_at=past)


def test_publicity_closes_once_when_beat_fires_twice(flow, carol):
    topic = flow.to_notice()
    window = services.publicity_open(actor=carol, topic=topic, content="公示议题")
    assert (window.ends_at - window.opened_at) == timedelta(days=5)
    _due(topic)
    assert tasks.close_due_publicity.apply().get() == 1
    assert tasks.close_due_publicity.apply().get() == 0
    assert PublicityWindow.objects.get(pk=window.pk).closed_at is not None
    assert TopicEvent.objects.filter(topic=topic, kind=EventKind.PUBLICITY_CLOSED).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_racing_close_each_notice_once(flow, carol):
    topics = [flow.to_notice(flow.propose(title=f"议题{i}")) for i in range(4)]
    for topic in topics:
        services.publicity_open(actor=carol, topic=topic, content="公示")
        _due(topic)
    barrier = threading.Barrier(3)
    closed = []

    def sweep():
        try:
            barrier.wait()
            closed.append(services.publicity_close_due())
        finally:
            close_old_connections()

    threads = [threading.Thread(target=sweep) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(closed) == 4
    assert TopicEvent.objects.filter(kind=EventKind.PUBLICITY_CLOSED).count() == 4


def test_an_objection_during_publicity_is_recorded_and_must_be_answered(flow, carol, ruth):
    topic = flow.to_notice()
    window = services.publicity_open(actor=carol, topic=topic, content="公示议题")
    flow.schedule(topic)
    objection = services.objection_lodge(actor=ruth, window=window, text="充电桩离我家窗户太近")
    assert Objection.objects.get(pk=objection.pk).author == ruth
    assert TopicEvent.objects.filter(topic=topic, kind=EventKind.OBJECTION).exists()
    expire_publicity(topic)
    with pytest.raises(ApplicationError) as error:
        flow.advance(topic)
    assert error.value.fields["requirements"] == ["公示期内的异议均已答复（还有 1 条异议待答复）"]
    services.objection_reply(actor=carol, objection=objection, reply="将调整到院坝东北角")
    assert flow.advance(topic).current_step.code == "deliberate"


def test_no_objection_after_the_period_ends(flow, carol, ruth):
    topic = flow.to_notice()
    window = services.publicity_open(actor=carol, topic=topic, content="公示")
    _due(topic)  # ended by the clock, even before the sweep has run
    with pytest.raises(ApplicationError) as error:
        services.objection_lodge(actor=ruth, window=window, text="迟到的异议")
    assert error.value.message == MSG_PUBLICITY_CLOSED


def test_an_outsider_cannot_object(flow, carol, ursula):
    from django.core.exceptions import PermissionDenied

    topic = flow.to_notice()
    window = services.publicity_open(actor=carol, topic=topic, content="公示")
    with pytest.raises(PermissionDenied):
        services.objection_lodge(actor=ursula, window=window, text="x")


def test_the_resolution_is_frozen_once_its_notice_is_out(flow, carol):
    topic = flow.to_resolution_notice()
    services.resolution_record(actor=carol, topic=topic, text="决议")
    services.publicity_open(actor=carol, topic=topic, content="决议公示")
    with pytest.raises(ApplicationError) as error:
        services.resolution_record(actor=carol, topic=topic, text="改过的决议")
    assert error.value.message == MSG_RESOLUTION_LOCKED


GRANT = [{"kind": "fund_grant", "title": "充电桩建设资助", "amount": "3000"}]


def _fund(community, amount, staff):
    fund = MicroFund.objects.get(community=community)
    project_services.fund_inflow(
        actor=staff, fund=fund, kind="donation", amount=amount, idempotency_key=f"test:{amount}"
    )
    return MicroFund.objects.get(pk=fund.pk)


def test_a_resolution_grant_moves_money_exactly_once(flow, carol, community_a):
    fund = _fund(community_a, "5000", carol)
    topic = flow.to_implement(outcomes=GRANT)
    outcome = flow.resolution.outcomes.get()
    first = services.outcome_execute(actor=carol, outcome=outcome)
    again = services.outcome_execute(actor=carol, outcome=outcome)
    assert first.status == again.status == OutcomeStatus.DONE
    assert first.result_ref == again.result_ref
    fund.refresh_from_db()
    assert fund.balance == Decimal("2000.00")
    entry = FundEntry.objects.get(fund=fund, kind="grant")
    assert entry.amount == Decimal("-3000.00")
    assert entry.approval_ref == f"consultation.resolution:{flow.resolution.pk}"
    assert topic.pk == flow.resolution.topic_id


def test_a_grant_larger_than_the_fund_is_refused_and_nothing_moves(flow, carol, community_a):
    fund = _fund(community_a, "1000", carol)
    flow.to_implement(outcomes=GRANT)
    outcome = flow.resolution.outcomes.get()
    with pytest.raises(ValidationError) as error:
        services.outcome_execute(actor=carol, outcome=outcome)
    assert error.value.message_dict["amount"] == ["微基金余额不足（当前余额 1000.00 元）"]
    fund.refresh_from_db()
    assert fund.balance == Decimal("1000.00")
    assert not FundEntry.objects.filter(kind="grant").exists()
    outcome.refresh_from_db()
    assert outcome.status == OutcomeStatus.PENDING


@pytest.mark.django_db(transaction=True)
def test_a_grant_executed_from_two_tabs_at_once_pays_once(flow, carol, community_a):
    fund = _fund(community_a, "5000", carol)
    flow.to_implement(outcomes=GRANT)
    outcome = flow.resolution.outcomes.get()
    barrier = threading.Barrier(4)
    errors = []

    def execute():
        try:
            barrier.wait()
            services.outcome_execute(actor=carol, outcome=outcome)
        except Exception as error:  # a loser may see the lock as busy; never a second payment
            errors.append(error)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=execute) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    fund.refresh_from_db()
    assert fund.balance == Decimal("2000.00")
    assert FundEntry.objects.filter(kind="grant").count() == 1


def test_a_grant_cannot_be_made_on_a_resolution_still_in_publicity(flow, carol, community_a):
    fund = _fund(community_a, "5000", carol)
    topic = flow.to_resolution_notice()
    resolution = services.resolution_record(actor=carol, topic=topic, text="决议", outcomes=GRANT)
    services.publicity_open(actor=carol, topic=topic, content="决议公示")
    with pytest.raises(ValidationError) as error:
        project_services.fund_grant(
            actor=carol,
            fund=fund,
            amount="3000",
            approval_ref=resolution.approval_ref,
            idempotency_key="by-hand",
        )
    assert error.value.message_dict["approval_ref"] == ["审批依据无效：决议公示期尚未结束"]


def test_a_grant_for_another_amount_than_resolved_is_refused(flow, carol, community_a):
    fund = _fund(community_a, "5000", carol)
    flow.to_implement(outcomes=GRANT)
    with pytest.raises(ValidationError) as error:
        project_services.fund_grant(
            actor=carol,
            fund=fund,
            amount="4000",
            approval_ref=flow.resolution.approval_ref,
            idempotency_key="x",
        )
    assert error.value.message_dict["approval_ref"] == [
        "审批依据无效：决议申请的资助金额为 3000.00 元，与本次支出不符"
    ]


def test_a_resolution_creates_a_renewal_project_and_closes_a_problem(flow, carol, compound_a, rita):
    problem = project_services.problem_raise(actor=rita, compound=compound_a, title="无充电设施")
    flow.to_implement(
        outcomes=[
            {"kind": "renewal", "title": "洪川一号院充电桩微更新", "amount": "20000"},
            {"kind": "close_problem", "title": "销号：无充电设施", "problem": problem},
        ]
    )
    for outcome in flow.resolution.outcomes.all():
        services.outcome_execute(actor=carol, outcome=outcome, note="已建成")
    project = RenewalProject.objects.get(source_ref=flow.resolution.approval_ref)
    assert project.name == "洪川一号院充电桩微更新" and project.budget == Decimal("20000.00")
    problem.refresh_from_db()
    assert problem.status == "resolved"


def test_evaluation_can_reopen_implementation(flow, carol, voters):
    topic = flow.to_evaluate()
    with pytest.raises(ApplicationError):
        services.topic_evaluate(actor=carol, topic=topic, decision="close")  # nobody rated yet
    services.rating_submit(actor=voters[0], topic=topic, score=2, comment="充电桩经常坏")
    topic = services.topic_evaluate(actor=carol, topic=topic, decision="reopen", note="返修")
    assert topic.current_step.code == "implement" and topic.round == 2


def test_only_participants_rate_and_only_once(flow, carol, voters, alice):
    topic = flow.to_evaluate()
    services.rating_submit(actor=voters[3], topic=topic, score=4)
    with pytest.raises(ApplicationError):
        services.rating_submit(actor=voters[3], topic=topic, score=5)
    with pytest.raises(ApplicationError):
        services.rating_submit(actor=alice, topic=topic, score=5)  # never took part


def test_only_the_named_supervisor_records_checks(flow, carol, voters):
    topic = flow.to_supervise()
    with pytest.raises(ApplicationError):
        services.supervision_record(actor=voters[0], topic=topic, note="我来看看")
    services.supervision_record(actor=voters[1], topic=topic, note="已完工")


def test_attending_speaking_and_supervising_send_the_points_signals(flow, carol, voters):
    from consultation import signals

    seen = []

    def receiver(signal, **kwargs):
        seen.append((signal, kwargs["event_key"]))

    for s in (signals.participant_attended, signals.participant_spoke, signals.supervision_recorded):
        s.connect(receiver, weak=False)
    try:
        topic = flow.to_vote()
        invitee = flow.meeting.invitees.get(user=voters[0])
        services.meeting_sign_in(actor=carol, invitee=invitee)  # again: no second signal
        services.speech_start(actor=carol, invitee=invitee)
        services.speech_start(actor=carol, invitee=invitee)
    finally:
        for s in (signals.participant_attended, signals.participant_spoke, signals.supervision_recorded):
            s.disconnect(receiver)
    attended = [k for s, k in seen if s is signals.participant_attended]
    spoke = [k for s, k in seen if s is signals.participant_spoke]
    assert len(attended) == 5 and len(set(attended)) == 5
    assert f"consultation:attended:{topic.pk}:{voters[0].pk}" in attended
    assert spoke == [f"consultation:spoke:{topic.pk}:{voters[0].pk}"] * 2  # same key: points awards once
