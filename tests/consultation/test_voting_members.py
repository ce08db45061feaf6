"""Who votes at a 小圆桌 is one rule (consultation.permissions): the community's residents,
party members, grid workers and community staff — wherever inside the community their grant
sits — and nobody else. Town and department people attend as 列席. The invite list, the
meeting service and the vote all use it; 列席 count neither in 应到 nor in 实到."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from consultation import permissions, services
from consultation.models import Invitee, InviteeCategory
from qionglai.core.models import AuditEvent
from qionglai.users.models import Role
from tests.consultation.conftest import _resident

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


@pytest.fixture
def gina(community_a):
    """A grid worker (网格长) whose grant names a grid inside community A, as in the demo."""
    return _resident("gina", "网格长 吉娜", f"{community_a.path}.g01", Role.GRID_WORKER)


@pytest.fixture
def cody(compound_a):
    """A resident whose grant names a compound of community A."""
    return _resident("cody", "院落居民 科迪", compound_a.path)


def test_the_communitys_people_vote_and_town_and_department_people_do_not(
    community_a, rita, tom, carol, alice, gina, cody, tina, hank, ursula
):
    assert all(permissions.may_vote(u, community_a) for u in (rita, tom, carol, alice, gina, cody))
    assert not any(permissions.may_vote(u, community_a) for u in (tina, hank, ursula))


def test_the_invite_list_is_exactly_who_the_service_accepts_labelled_by_role(
    community_a, rita, tom, carol, alice, gina, cody, tina, hank, ursula
):
    listed = list(permissions.voting_members(community_a))
    assert {u.username for u in listed} == {"rita", "tom", "carol", "alice", "gina", "cody"}
    labels = {permissions.member_label(u) for u in listed}
    assert {
        "居民 丽塔（居民）",
        "党员 汤姆（党员）",
        "社区工作者 卡萝（社区工作者）",
        "网格长 吉娜（网格员）",
    } <= labels


def test_the_service_refuses_town_staff_as_a_voting_invitee(flow, tina):
    topic = flow.to_notice()
    with pytest.raises(ValidationError) as error:
        services.meeting_schedule(
            actor=flow.staff,
            topic=topic,
            title="会",
            scheduled_at=timezone.now() + timedelta(days=6),
            invitees=[{"user": tina, "category": InviteeCategory.RESIDENT_REP}],
        )
    assert error.value.message_dict["user"] == [services.MSG_INVITEE_OUTSIDE.format(name=tina.display_name)]


def test_a_grid_worker_of_a_grid_inside_the_community_may_be_invited_and_vote(flow, gina, voters):
    topic = flow.to_vote(invite=[*voters, gina], present=[*voters, gina])
    motion = services.motion_open(actor=flow.staff, meeting=flow.meeting, title="表决")
    services.vote_cast(actor=gina, motion=motion, choice=motion.choices.get(kind="for"))
    assert motion.receipts.filter(voter=gina).exists()
    assert topic.community.path in gina.grants.get().path


def test_guests_count_in_neither_the_expected_nor_the_present(flow, voters):
    """5 voting members and 5 列席 guests, all present: 应到 5, 实到 5 — not 10."""
    topic = flow.to_deliberate()
    for n in range(5):
        services.meeting_invite(
            actor=flow.staff, meeting=flow.meeting, category=InviteeCategory.DEPARTMENT, name=f"部门 {n}"
        )
    services.meeting_open(actor=flow.staff, meeting=flow.meeting)
    for invitee in flow.meeting.invitees.all():
        services.meeting_sign_in(actor=flow.staff, invitee=invitee)
    services.option_table(actor=flow.staff, meeting=flow.meeting, text="院坝东侧加装充电桩")
    flow.advance(topic)
    motion = flow.vote(topic, yes=voters[:3])
    assert (motion.invited_count, motion.present_count, motion.cast_count) == (5, 5, 3)
    assert motion.passed


@pytest.mark.parametrize(("present", "met"), [(3, True), (2, False)])
def test_quorum_at_the_boundary_ignores_guests(flow, voters, present, met):
    """Rule: 实到 more than half of 应到. With 5 voting members, 3 present is a quorum and 2 is
    not — however many guests signed in (here 4, who would have made 2 + 4 > 9 / 2)."""
    topic = flow.to_deliberate()
    for n in range(4):
        services.meeting_invite(
            actor=flow.staff, meeting=flow.meeting, category=InviteeCategory.PROPERTY, name=f"物业 {n}"
        )
    services.meeting_open(actor=flow.staff, meeting=flow.meeting)
    for invitee in flow.meeting.invitees.all():
        if invitee.user_id is None or invitee.user in voters[:present]:
            services.meeting_sign_in(actor=flow.staff, invitee=invitee)
    services.option_table(actor=flow.staff, meeting=flow.meeting, text="院坝东侧加装充电桩")
    flow.advance(topic)
    motion = flow.vote(topic, yes=voters[:present])
    assert (motion.invited_count, motion.present_count) == (5, present)
    assert motion.quorum_met is met and motion.passed is met


def test_the_meeting_page_states_the_counts_and_the_rule_in_words(flow, carol):
    topic = flow.to_deliberate()
    services.meeting_invite(
        actor=carol, meeting=flow.meeting, category=InviteeCategory.PROPERTY, name="王经理"
    )
    page = _client(carol).get(f"/consultation/meetings/{flow.meeting.pk}/").content.decode()
    assert 'data-testid="invited-count">5<' in page and "列席 1 人" in page
    assert "不含列席人员" in page and "实到人数超过应到人数的 50%" in page
    assert topic.pk


def test_a_refused_invitee_re_renders_the_form_with_everything_and_the_error_beside_them(
    flow, carol, rita, ruth, monkeypatch
):
    """Between opening the page and pressing the button, ruth's grant is found not to
    qualify (the service has the last word): the form comes back as typed."""
    topic = flow.to_notice()
    real = permissions.may_vote
    monkeypatch.setattr(
        permissions, "may_vote", lambda user, community: user != ruth and real(user, community)
    )
    response = _client(carol).post(
        f"/consultation/topics/{topic.pk}/meeting/",
        {
            "title": "充电桩小圆桌",
            "scheduled_at": "2026-12-20T19:30",
            "location": "院坝东侧",
            "agenda": "一、介绍方案\n二、讨论",
            "default_speech_seconds": "240",
            "members": [rita.pk, ruth.pk],
            "guests": "王经理,物业企业",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert 'value="院坝东侧"' in page and "一、介绍方案" in page and "王经理,物业企业" in page
    assert 'value="2026-12-20T19:30"' in page and 'value="240"' in page
    form = response.context["meeting_form"]
    rows = {box.data["value"].value: (box.data["selected"], error) for box, error in form.member_rows()}
    assert rows[rita.pk] == (True, "")
    assert rows[ruth.pk] == (True, services.MSG_INVITEE_OUTSIDE.format(name=ruth.display_name))
    assert not topic.meetings.exists()


def test_a_grid_worker_sees_the_communitys_topics_and_notices(flow, gina, carol, community_b, dave):
    topic = flow.to_notice()
    services.publicity_open(actor=carol, topic=topic, content="拟讨论加装充电桩")
    elsewhere = services.topic_propose(
        actor=dave, title="南街的事", description="别的社区", community=community_b
    )
    page = _client(gina).get("/consultation/").content.decode()
    assert topic.title in page
    assert elsewhere.title not in page
    assert _client(gina).get(f"/consultation/topics/{topic.pk}/").status_code == 200
    assert _client(gina).get(f"/consultation/topics/{elsewhere.pk}/").status_code == 404
    from consultation import selectors

    assert list(selectors.publicity_list_for(user=gina, open_only=True)) == list(topic.publicity.all())


def test_a_meeting_invite_audit_row_exists_for_the_guest(flow, carol):
    topic = flow.to_notice()
    meeting = flow.schedule(topic)
    services.meeting_invite(
        actor=carol, meeting=meeting, category=InviteeCategory.DEPARTMENT, name="住建局 汉克"
    )
    guest = Invitee.objects.get(meeting=meeting, name="住建局 汉克")
    assert not guest.voting
    assert AuditEvent.objects.filter(action="meeting.invite", summary="住建局 汉克").exists()


def test_the_vote_page_tells_a_guest_with_an_account_they_do_not_vote(flow, carol, tina):
    flow.to_vote()
    motion = services.motion_open(actor=carol, meeting=flow.meeting, title="表决")
    page = _client(tina).get(f"/consultation/motions/{motion.pk}/vote/").content.decode()
    assert 'data-testid="not-member"' in page and 'name="choice"' not in page
