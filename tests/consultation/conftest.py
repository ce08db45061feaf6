"""Consultation's extra cast, on top of tests/conftest.py:

  ruth, sam, tom, uma — residents of community A (with rita: five voters in A)
  ursula              — resident of community B (the outsider who must not vote in A)

and `flow`, which drives a topic through the steps with the real services, so each test
starts where it needs to be.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from consultation import services
from consultation.models import InviteeCategory, PublicityWindow, Topic
from qionglai.users.models import Role
from tests.factories import GrantFactory, UserFactory


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # The cast's passwords are hashed with PBKDF2's full work factor otherwise: seconds per test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _resident(username, real_name, path, role=Role.RESIDENT):
    user = UserFactory(username=username, real_name=real_name)
    GrantFactory(user=user, role=role, path=path)
    return user


@pytest.fixture
def ruth(community_a):
    return _resident("ruth", "居民 露丝", community_a.path)


@pytest.fixture
def sam(community_a):
    return _resident("sam", "居民 萨姆", community_a.path)


@pytest.fixture
def tom(community_a):
    return _resident("tom", "党员 汤姆", community_a.path, Role.PARTY_MEMBER)


@pytest.fixture
def uma(community_a):
    return _resident("uma", "居民 乌玛", community_a.path)


@pytest.fixture
def ursula(community_b):
    return _resident("ursula", "南街居民 厄休拉", community_b.path)


@pytest.fixture
def voters(rita, ruth, sam, tom, uma):
    return [rita, ruth, sam, tom, uma]


def expire_publicity(topic: Topic) -> None:
    """The notice period passes: move the window into the past (the sweep reads the database
    clock, which time_machine cannot move) and run the beat task."""
    past = timezone.now() - timedelta(minutes=1)
    PublicityWindow.objects.filter(topic=topic, closed_at__isnull=True).update(
        opened_at=past - timedelta(days=5), ends_at=past
    )
    services.publicity_close_due()


class Flow:
    """Drives a topic step by step as community staff (carol) would."""

    def __init__(self, staff, voters, community, fund_amount=Decimal("0")):
        self.staff, self.voters, self.community = staff, voters, community

    def propose(self, proposer=None, **kw) -> Topic:
        kw.setdefault("title", "加装小区电动车充电桩")
        kw.setdefault("description", "楼道飞线充电有火灾隐患，希望在院坝加装充电桩。")
        kw.setdefault("community", self.community)
        return services.topic_propose(actor=proposer or self.voters[0], **kw)

    def refresh(self, topic) -> Topic:
        return Topic.objects.select_related("current_step", "template", "community").get(pk=topic.pk)

    def advance(self, topic) -> Topic:
        topic = self.refresh(topic)
        return services.topic_advance(actor=self.staff, topic=topic, step_code=topic.current_step.code)

    def to_review(self, topic=None) -> Topic:
        topic = topic or self.propose()
        return self.advance(topic)

    def to_notice(self, topic=None) -> Topic:
        topic = self.to_review(topic)
        return services.topic_review(actor=self.staff, topic=topic, decision="accept")

    def schedule(self, topic, invite=None):
        return services.meeting_schedule(
            actor=self.staff,
            topic=topic,
            title="充电桩小圆桌",
            scheduled_at=timezone.now() + timedelta(days=6),
            location="院坝",
            invitees=[{"user": u, "category": InviteeCategory.RESIDENT_REP} for u in (invite or self.voters)],
        )

    def to_deliberate(self, topic=None, invite=None) -> Topic:
        topic = self.to_notice(topic)
        services.publicity_open(actor=self.staff, topic=topic, content="拟讨论加装充电桩，欢迎参会。")
        self.meeting = self.schedule(topic, invite)
        expire_publicity(topic)
        return self.advance(topic)

    def to_vote(self, topic=None, present=None, invite=None) -> Topic:
        topic = self.to_deliberate(topic, invite)
        services.meeting_open(actor=self.staff, meeting=self.meeting)
        present = self.voters if present is None else present
        for invitee in self.meeting.invitees.filter(user__in=present):
            services.meeting_sign_in(actor=self.staff, invitee=invitee)
        self.option = services.option_table(
            actor=self.staff, meeting=self.meeting, text="院坝东侧加装 10 个充电桩"
        )
        return self.advance(topic)

    def vote(self, topic, *, yes=None, secret=False):
        motion = services.motion_open(
            actor=self.staff, meeting=self.meeting, title="同意加装充电桩", secret=secret
        )
        choice = motion.choices.get(kind="for")
        for voter in self.voters if yes is None else yes:
            services.vote_cast(actor=voter, motion=motion, choice=choice)
        return services.motion_close(actor=self.staff, motion=motion)

    def to_resolution_notice(self, topic=None) -> Topic:
        topic = self.to_vote(topic)
        self.motion = self.vote(topic)
        services.meeting_close(
            actor=self.staff, meeting=self.meeting, minutes="会议纪要：一致同意加装充电桩。"
        )
        return self.advance(topic)

    def to_implement(self, topic=None, outcomes=()) -> Topic:
        topic = self.to_resolution_notice(topic)
        self.resolution = services.resolution_record(
            actor=self.staff, topic=topic, text="在院坝东侧加装 10 个充电桩。", outcomes=list(outcomes)
        )
        services.publicity_open(actor=self.staff, topic=topic, content="决议：加装充电桩。")
        expire_publicity(topic)
        return self.advance(topic)

    def to_supervise(self, topic=None, outcomes=()) -> Topic:
        topic = self.to_implement(topic, outcomes)
        services.implementation_set(
            actor=self.staff,
            topic=topic,
            owner="洪川社区居委会",
            budget=Decimal("20000"),
            deadline=timezone.localdate() + timedelta(days=30),
            supervisor=self.voters[1],
        )
        for outcome in self.resolution.outcomes.all():
            services.outcome_execute(actor=self.staff, outcome=outcome)
        services.implementation_progress(actor=self.staff, topic=topic, progress=100, note="完工")
        return self.advance(topic)

    def to_evaluate(self, topic=None) -> Topic:
        topic = self.to_supervise(topic)
        services.supervision_record(actor=self.voters[1], topic=topic, note="充电桩已安装并通电")
        return self.advance(topic)


@pytest.fixture
def default_template(db):
    """The migration seeds it; a transactional test's flush removes it, so put it back."""
    from django.conf import settings

    from consultation.models import ProcedureTemplate, TemplateStep
    from consultation.reference import seed_default_template

    return seed_default_template(ProcedureTemplate, TemplateStep, settings.CITY_PATH)


@pytest.fixture(autouse=True)
def _seeded_template(request):
    if request.node.get_closest_marker("django_db") or "db" in request.fixturenames:
        request.getfixturevalue("default_template")


@pytest.fixture
def flow(carol, voters, community_a, default_template):
    return Flow(carol, voters, community_a)
