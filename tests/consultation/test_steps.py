"""The nine steps run strictly in order, each refusing until its requirements hold."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from consultation import services
from consultation.models import EventKind, ProcedureTemplate, StepKind, TopicEvent, TopicStatus
from consultation.services import MSG_REQUIREMENTS, MSG_REVIEW_USE_DECISION, MSG_STALE_STEP
from qionglai.core.errors import ApplicationError

pytestmark = pytest.mark.django_db


def test_it_takes_a_topic_through_all_nine_steps_in_order(flow, carol):
    topic = flow.to_evaluate()
    services.rating_submit(actor=flow.voters[2], topic=topic, score=5, comment="很方便")
    topic = services.topic_evaluate(actor=carol, topic=topic, decision="close", note="办结")
    assert topic.status == TopicStatus.CLOSED
    moves = list(
        TopicEvent.objects.filter(topic=topic, kind=EventKind.ADVANCED)
        .order_by("id")
        .values_list("step__order", "to_step__order")
    )
    assert moves == [(1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (6, 7), (7, 8), (8, 9)]
    assert TopicEvent.objects.filter(topic=topic, kind=EventKind.ACCEPTED).count() == 1


def test_it_refuses_to_complete_a_step_other_than_the_current_one(flow, carol):
    topic = flow.to_notice()
    with pytest.raises(ApplicationError) as error:
        services.topic_advance(actor=carol, topic=topic, step_code="vote")
    assert error.value.message == MSG_STALE_STEP.format(current="公示议题", requested="表决")
    with pytest.raises(ApplicationError):  # nor go back and "complete" an earlier one
        services.topic_advance(actor=carol, topic=topic, step_code="propose")
    assert flow.refresh(topic).current_step.code == "notice"


def test_it_refuses_review_by_plain_advance(flow, carol):
    topic = flow.to_review()
    with pytest.raises(ApplicationError) as error:
        services.topic_advance(actor=carol, topic=topic, step_code="review")
    assert error.value.message == MSG_REVIEW_USE_DECISION


def test_it_lists_every_unmet_requirement_of_the_notice_step(flow, carol):
    topic = flow.to_notice()
    with pytest.raises(ApplicationError) as error:
        services.topic_advance(actor=carol, topic=topic, step_code="notice")
    assert error.value.message == MSG_REQUIREMENTS.format(step="公示议题", count=3, first="已发布公示")
    assert error.value.fields["requirements"] == [
        "已发布公示",
        "公示期满（不少于 5 天）",
        "已安排小圆桌会议并邀请参会人员",
    ]


def test_it_refuses_to_leave_the_notice_step_before_the_period_ends(flow, carol):
    topic = flow.to_notice()
    services.publicity_open(actor=carol, topic=topic, content="公示")
    flow.schedule(topic)
    services.publicity_close_due()  # beat fires: nothing is due yet
    with pytest.raises(ApplicationError) as error:
        services.topic_advance(actor=carol, topic=topic, step_code="notice")
    assert error.value.message.startswith("「公示议题」还有 1 项要求未满足：公示期满（不少于 5 天）（将于 ")


def test_it_needs_sign_in_and_an_option_before_the_vote(flow, carol):
    topic = flow.to_deliberate()
    with pytest.raises(ApplicationError) as error:
        services.topic_advance(actor=carol, topic=topic, step_code="deliberate")
    assert error.value.fields["requirements"] == [
        "小圆桌会议已召开",
        "会上至少提出 1 个方案",
        "签到表：至少 1 人签到",
    ]


def test_it_needs_a_passed_vote_and_minutes_before_the_resolution(flow, carol):
    topic = flow.to_vote()
    flow.vote(topic, yes=flow.voters[:2])  # 2 of 5 present: fails
    with pytest.raises(ApplicationError) as error:
        services.topic_advance(actor=carol, topic=topic, step_code="vote")
    assert error.value.fields["requirements"] == [
        "表决获得通过（最近一次表决未获通过）",
        "会议纪要：会议已结束并填写纪要",
    ]
    topic = services.topic_end_not_passed(actor=carol, topic=topic, reason="多数居民不同意")
    assert topic.status == TopicStatus.NOT_PASSED


def test_it_enforces_a_minimum_duration_set_on_a_step(flow, carol, community_a):
    default = ProcedureTemplate.objects.get(is_default=True, is_current=True)
    own = services.template_clone(actor=carol, source=default, community=community_a)
    services.template_step_update(actor=carol, step=own.steps.get(code="propose"), min_days=2)
    topic = flow.propose()
    assert topic.template == own
    with pytest.raises(ApplicationError) as error:
        flow.advance(topic)
    assert "本步骤至少进行 2 天" in error.value.message
    with time_machine.travel(timezone.now() + timedelta(days=2, minutes=1)):
        assert flow.advance(topic).current_step.kind == StepKind.REVIEW


def test_it_requires_a_publicity_photo_when_the_template_asks_for_one(flow, carol, community_a):
    default = ProcedureTemplate.objects.get(is_default=True, is_current=True)
    own = services.template_clone(actor=carol, source=default, community=community_a)
    services.template_step_update(
        actor=carol, step=own.steps.get(code="notice"), required_records=["publicity_photo"]
    )
    topic = flow.to_notice()
    services.publicity_open(actor=carol, topic=topic, content="公示")
    flow.schedule(topic)
    from tests.consultation.conftest import expire_publicity

    expire_publicity(topic)
    with pytest.raises(ApplicationError) as error:
        flow.advance(topic)
    assert error.value.fields["requirements"] == ["公示照片：已上传张贴照片"]


def test_a_cloned_and_edited_template_does_not_change_running_topics(flow, carol, community_a):
    running = flow.to_notice()
    default = ProcedureTemplate.objects.get(is_default=True, is_current=True)
    own = services.template_clone(actor=carol, source=default, community=community_a, name="洪川议事规则")
    services.template_step_update(
        actor=carol, step=own.steps.get(code="notice"), min_days=10, name="公告议题"
    )
    running = flow.refresh(running)
    assert running.template == default
    assert running.current_step.name == "公示议题"
    window = services.publicity_open(actor=carol, topic=running, content="公示")
    assert (window.ends_at - window.opened_at).days == 5
    fresh = flow.propose(title="新议题")
    assert fresh.template == own
    assert fresh.template.steps.get(code="notice").min_days == 10


def test_editing_a_template_in_use_makes_a_new_version(flow, carol, community_a):
    default = ProcedureTemplate.objects.get(is_default=True, is_current=True)
    own = services.template_clone(actor=carol, source=default, community=community_a)
    running = flow.propose()
    step = services.template_step_update(actor=carol, step=own.steps.get(code="notice"), min_days=7)
    assert step.template.version == own.version + 1
    assert step.template.is_current and not ProcedureTemplate.objects.get(pk=own.pk).is_current
    assert flow.refresh(running).template.steps.get(code="notice").min_days == 5


def test_it_ships_the_default_nine_step_template(default_template):
    template = ProcedureTemplate.objects.get(is_default=True, is_current=True)
    assert "「默认模板」" in str(template)
    assert list(template.steps.values_list("name", flat=True)) == [
        "提议", "审议", "公示议题", "协商", "表决", "决议公示", "实施", "监督", "评议",
    ]  # fmt: skip
    assert template.steps.get(code="notice").min_days == 5


def test_only_staff_advance_steps(flow, rita, alice, dave):
    topic = flow.propose()
    for outsider in (rita, alice, dave):
        with pytest.raises(PermissionDenied):
            services.topic_advance(actor=outsider, topic=topic, step_code="propose")


def test_a_rejection_needs_a_reason_which_the_proposer_sees(
    flow, carol, rita, django_capture_on_commit_callbacks
):
    topic = flow.to_review()
    with pytest.raises(ValidationError):
        services.topic_review(actor=carol, topic=topic, decision="reject")
    with django_capture_on_commit_callbacks(execute=True):
        topic = services.topic_review(
            actor=carol, topic=topic, decision="reject", reason="属于物业合同纠纷，请走诉讼"
        )
    assert topic.status == TopicStatus.REJECTED
    assert rita.notifications.filter(title="您的议题未通过审议", body="属于物业合同纠纷，请走诉讼").exists()
    with pytest.raises(ApplicationError):
        services.topic_advance(actor=carol, topic=topic, step_code="review")


def test_it_merges_a_topic_into_another_of_the_same_community(flow, carol, dave, community_b, ursula):
    target = flow.to_notice()
    dup = flow.to_review(flow.propose(title="充电桩（重复）"))
    outsider = services.topic_propose(
        actor=ursula, title="南街议题", description="内容", community=community_b
    )
    with pytest.raises(ValidationError):
        services.topic_review(actor=carol, topic=dup, decision="merge", reason="重复", merge_into=outsider)
    dup = services.topic_review(
        actor=carol, topic=dup, decision="merge", reason="同一诉求", merge_into=target
    )
    assert dup.status == TopicStatus.MERGED and dup.merged_into == target


def test_a_problem_list_item_becomes_a_topic_and_is_marked(carol, compound_a, rita):
    from projects import services as project_services

    problem = project_services.problem_raise(actor=rita, compound=compound_a, title="楼道照明损坏")
    topic = services.topic_propose(actor=carol, title="楼道照明", description="修灯", problem=problem)
    problem.refresh_from_db()
    assert topic.scope == "compound" and topic.path == compound_a.path
    assert problem.status == "to_topic"
    with pytest.raises(ApplicationError):  # residents cannot convert problem items
        services.topic_propose(actor=rita, title="x", description="y", problem=problem)


def test_a_resident_cannot_propose_in_another_community(ursula, community_a):
    with pytest.raises(PermissionDenied):
        services.topic_propose(actor=ursula, title="x", description="y", community=community_a)
