"""Every page renders for the people who use it, at every step, and hides what it should."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

STAGES = ["propose", "to_review", "to_notice", "to_deliberate", "to_vote", "to_resolution_notice",
          "to_implement", "to_supervise", "to_evaluate"]  # fmt: skip


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("stage", STAGES)
def test_the_topic_page_renders_for_staff_and_residents_at_every_step(flow, carol, rita, stage):
    topic = getattr(flow, stage)()
    for user in (carol, rita):
        response = _client(user).get(f"/consultation/topics/{topic.pk}/")
        assert response.status_code == 200, (stage, user)
    staff_page = _client(carol).get(f"/consultation/topics/{topic.pk}/").content.decode()
    assert 'data-testid="checklist"' in staff_page
    assert (
        'data-testid="checklist"'
        not in _client(rita).get(f"/consultation/topics/{topic.pk}/").content.decode()
    )


def test_the_board_and_the_resident_home(flow, carol, rita):
    flow.to_notice()
    flow.propose(title="第二个议题")
    board = _client(carol).get("/consultation/")
    assert "议题看板" in board.content.decode() and "第二个议题" in board.content.decode()
    home = _client(rita).get("/consultation/")
    assert "我要提议题" in home.content.decode()


def test_the_board_costs_the_same_for_few_or_many_topics(flow, carol):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    flow.propose(title="一")

    def queries():
        client = _client(carol)
        with CaptureQueriesContext(connection) as ctx:
            client.get("/consultation/")
        return len(ctx.captured_queries)

    few = queries()
    for i in range(8):
        flow.propose(title=f"议题{i}")
    assert queries() == few


def test_the_meeting_page_is_for_staff_only(flow, carol, rita):
    flow.to_vote()
    assert _client(carol).get(f"/consultation/meetings/{flow.meeting.pk}/").status_code == 200
    assert _client(rita).get(f"/consultation/meetings/{flow.meeting.pk}/").status_code == 403


def test_a_resident_votes_from_the_vote_page(flow, carol, voters):
    from consultation import services

    flow.to_vote()
    motion = services.motion_open(actor=carol, meeting=flow.meeting, title="表决")
    client = _client(voters[0])
    assert "赞成" in client.get(f"/consultation/motions/{motion.pk}/vote/").content.decode()
    client.post(f"/consultation/motions/{motion.pk}/vote/", {"choice": motion.choices.get(kind="for").pk})
    assert 'data-testid="voted"' in client.get(f"/consultation/motions/{motion.pk}/vote/").content.decode()


def test_an_outsiders_topic_is_404(flow, ursula):
    topic = flow.propose()
    assert _client(ursula).get(f"/consultation/topics/{topic.pk}/").status_code == 404


def test_the_public_notice_board_needs_no_login_and_shows_nothing_personal(
    flow, carol, ruth, community_a, community_b, django_assert_max_num_queries
):
    from consultation import services

    topic = flow.to_notice()
    services.publicity_open(
        actor=carol, topic=topic, title="充电桩议题公示", content="拟在院坝东侧加装充电桩"
    )
    window = topic.publicity.get()
    services.objection_lodge(actor=ruth, window=window, text="东侧离我家窗户太近")
    anonymous = Client()
    with django_assert_max_num_queries(6):
        page = anonymous.get(f"/consultation/public/{community_a.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "充电桩议题公示" in html and "拟在院坝东侧加装充电桩" in html and "收到异议 1 条" in html
    assert "公示中" in html and "登录后提出异议" in html
    assert "东侧离我家窗户太近" not in html and ruth.display_name not in html
    assert topic.proposer.display_name not in html
    assert "近 30 天没有公示" in anonymous.get(f"/consultation/public/{community_b.pk}/").content.decode()
    assert anonymous.get("/consultation/public/999999/").status_code == 404


def test_the_resident_home_links_to_the_community_board(rita, community_a):
    html = _client(rita).get("/consultation/").content.decode()
    assert f"/consultation/public/{community_a.pk}/" in html


def test_staff_add_people_to_a_scheduled_meeting_from_the_meeting_page(flow, carol, voters, community_a):
    from consultation.models import Invitee
    from tests.consultation.conftest import _resident

    topic = flow.to_notice()
    meeting = flow.schedule(topic, invite=voters[:2])
    late = _resident("late", "居民 晚到", community_a.path)
    client = _client(carol)
    page = client.get(f"/consultation/meetings/{meeting.pk}/").content.decode()
    assert "居民 晚到" in page and "增加参会人员" in page
    client.post(f"/consultation/meetings/{meeting.pk}/invite/", {"user": late.pk})
    client.post(
        f"/consultation/meetings/{meeting.pk}/invite/",
        {"name": "王经理", "category": "property"},
    )
    rows = {(i.name, i.category, i.user_id) for i in Invitee.objects.filter(meeting=meeting)}
    assert ("居民 晚到", "resident_rep", late.pk) in rows and ("王经理", "property", None) in rows
    # an empty guest name is refused with the service's message, and nothing is added
    response = client.post(
        f"/consultation/meetings/{meeting.pk}/invite/",
        {"name": " ", "category": "property"},
        follow=True,
    )
    assert "请填写参会人员姓名" in response.content.decode()
    assert Invitee.objects.filter(meeting=meeting).count() == 4


def test_staff_are_not_offered_the_residents_objection_form(flow, carol, rita):
    from consultation import services

    topic = flow.to_notice()
    services.publicity_open(actor=carol, topic=topic, content="公示")
    assert "对公示有异议" not in _client(carol).get(f"/consultation/topics/{topic.pk}/").content.decode()
    assert "对公示有异议" in _client(rita).get(f"/consultation/topics/{topic.pk}/").content.decode()
