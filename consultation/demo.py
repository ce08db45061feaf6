"""Demo 邻聚小圆桌 data: topics in every step across a few communities, with meetings, ballots,
resolutions, and — in 洪川社区 — a renewal project and a micro-fund grant that came out of a
resolution (the fund holds the shared supermarket's contributions), sign-in sheet photos on its
meetings, and its own copy of the procedure template. Deterministic and idempotent: a topic is
matched by its title within its community."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image, ImageDraw

from projects.models import Community, MicroFund
from qionglai.core.demo_support import Timeline, bar, moved_clock, notices_mark_read
from qionglai.users.models import Grant, Role

from . import services
from .models import InviteeCategory, ProcedureTemplate, PublicityWindow, Topic

CITY = settings.CITY_PATH
HONGCHUAN = f"{CITY}.001.h01"

HONGCHUAN_VOTERS = ["resident_hongchuan", *(f"resident_hongchuan_{i}" for i in range(1, 9))]


STEPS = [
    "propose",
    "review",
    "notice",
    "deliberate",
    "vote",
    "resolution_notice",
    "implement",
    "supervise",
    "evaluate",
    "closed",
]
SUBJECTS = [
    ("院坝加装电动车充电桩", "楼道飞线充电有火灾隐患，希望在院坝加装集中充电桩。"),
    ("老旧院落屋顶防水维修", "顶楼住户反映雨季漏水，希望统一做防水。"),
    ("楼道照明改为声控灯", "楼道灯常亮浪费电，部分楼层不亮。"),
    ("设置垃圾分类投放点", "垃圾桶位置离单元门太近，夏天有异味。"),
    ("公共区域增设休闲座椅", "老人晒太阳没有地方坐。"),
    ("规范院内停车", "消防通道常被占用，希望划线停车。"),
    ("增设快递柜", "快递堆放在门卫室，丢件时有发生。"),
    ("打造社区美空间", "闲置自行车棚改造成居民活动空间。"),
    ("加装单元门禁", "外来人员随意进出，存在安全隐患。"),
    ("绿化带补植", "部分绿化带裸露，扬尘大。"),
]


def _resident(username: str, name: str, path: str):
    user, created = get_user_model().objects.get_or_create(username=username, defaults={"real_name": name})
    if created:
        user.set_unusable_password()  # demo neighbours who never sign in
        user.save(update_fields=["password"])
    Grant.objects.get_or_create(user=user, role=Role.RESIDENT, path=path, unit="", retired_at=None)
    return user


def _sheet_photo() -> SimpleUploadedFile:
    """A drawn stand-in for a photographed sign-in sheet (the demo ships no real photos)."""
    image = Image.new("RGB", (800, 600), (250, 250, 245))
    draw = ImageDraw.Draw(image)
    draw.rectangle((60, 40, 740, 560), outline=(60, 60, 60), width=3)
    for y in range(110, 560, 45):
        draw.line((60, y, 740, y), fill=(120, 120, 120), width=2)
    for x in (160, 420, 600):
        draw.line((x, 40, x, 560), fill=(120, 120, 120), width=2)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return SimpleUploadedFile("sign-in.jpg", buffer.getvalue(), content_type="image/jpeg")


def _community_template(staff, community) -> None:
    """洪川 keeps its own copy of the rules: its 决议公示 also needs a photo of the posted notice
    and runs seven days. Topics proposed from now on use it; the demo's topics keep theirs."""
    if ProcedureTemplate.objects.filter(community=community).exists():
        return
    default = ProcedureTemplate.objects.get(is_default=True, is_current=True)
    own = services.template_clone(actor=staff, source=default, community=community, name="洪川社区议事规则")
    services.template_update(
        actor=staff,
        template=own,
        steps={"resolution_notice": {"required_records": ["publicity_photo"], "min_days": 7}},
    )


STEP_NOTES = {
    "propose": "议题已收集，提交审议",
    "notice": "公示期满，无异议",
    "deliberate": "协商完成，进入表决",
    "vote": "表决通过",
    "resolution_notice": "决议公示期满",
    "implement": "已按决议实施完成",
    "supervise": "监督员确认完成",
}


def _expire(topic: Topic):
    """The notice runs its full period: the story waits until past its end and the sweep
    (which beat runs every minute) closes it."""
    window = PublicityWindow.objects.filter(topic=topic, closed_at__isnull=True).order_by("-ends_at").first()
    if window is not None:
        yield max(window.ends_at + timedelta(minutes=3), timezone.now())
    services.publicity_close_due()


def _advance(staff, topic) -> Topic:
    topic = Topic.objects.select_related("current_step", "template").get(pk=topic.pk)
    code = topic.current_step.code
    return services.topic_advance(actor=staff, topic=topic, step_code=code, note=STEP_NOTES.get(code, ""))


def _later(hours: float):
    return timezone.now() + timedelta(hours=hours)


def _drive(*, staff, voters, topic: Topic, target: str, outcomes=(), open_vote=False):
    """Takes a new topic up to `target` through the real services, the clock moving as the
    procedure would: notices run their full period, the meeting happens when scheduled. A
    topic left waiting at a notice step has had its period run, so a visitor can go on. A
    story on the demo's timeline: it yields the moment of each next step."""
    order = STEPS.index(target)
    if order >= 1:
        yield _later(20)
        topic = _advance(staff, topic)
    if order >= 2:
        yield _later(26)
        topic = services.topic_review(actor=staff, topic=topic, decision="accept", reason="符合议事范围")
    if order >= 2:
        services.publicity_open(
            actor=staff, topic=topic, content=f"拟就「{topic.title}」召开小圆桌会议，欢迎居民参加。"
        )
        meeting = services.meeting_schedule(
            actor=staff,
            topic=topic,
            title=f"小圆桌会议：{topic.title}"[:120],
            scheduled_at=timezone.now() + timedelta(days=5),
            location="社区党群服务中心",
            invitees=[{"user": v, "category": InviteeCategory.RESIDENT_REP} for v in voters]
            + [{"name": "物业项目经理", "category": InviteeCategory.PROPERTY}],
        )
    if order >= 2:
        yield from _expire(topic)
    if order >= 3:
        topic = _advance(staff, topic)
    if order >= 4 or (order == 3 and open_vote):
        yield max(meeting.scheduled_at, timezone.now())
        services.meeting_open(actor=staff, meeting=meeting)
        for invitee in meeting.invitees.filter(user__isnull=False):
            services.meeting_sign_in(actor=staff, invitee=invitee)
        first = meeting.invitees.filter(user__isnull=False).first()
        services.speech_start(actor=staff, invitee=first)
        services.option_table(
            actor=staff, meeting=meeting, text=f"按居民意见实施「{topic.title}」", invitee=first
        )
        if topic.community.path == HONGCHUAN:
            services.meeting_attach(actor=staff, meeting=meeting, upload=_sheet_photo(), caption="签到表")
    if order >= 4:
        topic = _advance(staff, topic)
        motion = services.motion_open(
            actor=staff, meeting=meeting, title=f"同意{topic.title}", secret=order % 2 == 0
        )
        if open_vote and target == "vote":
            services.vote_cast(actor=voters[1], motion=motion, choice=motion.choices.get(kind="for"))
            return
        choices = {c.kind: c for c in motion.choices.all()}
        for i, voter in enumerate(voters):
            services.vote_cast(actor=voter, motion=motion, choice=choices["abstain" if i == 3 else "for"])
        services.motion_close(actor=staff, motion=motion)
        services.meeting_close(
            actor=staff,
            meeting=meeting,
            minutes=f"到会 {len(voters)} 人，多数同意{topic.title}，由社区组织实施。",
        )
    if order >= 5:
        topic = _advance(staff, topic)
        services.resolution_record(
            actor=staff,
            topic=topic,
            text=f"同意{topic.title}，由社区组织实施，居民监督。",
            outcomes=list(outcomes),
        )
        services.publicity_open(actor=staff, topic=topic, content=f"决议：同意{topic.title}。")
        yield from _expire(topic)
    if order >= 6:
        topic = _advance(staff, topic)
        resolution = topic.resolution
        services.implementation_set(
            actor=staff,
            topic=topic,
            owner="社区居委会",
            budget=sum((o.amount or Decimal("0")) for o in resolution.outcomes.all()) or Decimal("3000"),
            deadline=timezone.localdate() + timedelta(days=60),
            supervisor=voters[2],
        )
        for outcome in resolution.outcomes.all():
            services.outcome_execute(actor=staff, outcome=outcome)
    if order >= 7:
        yield _later(24 * 9)
        services.implementation_progress(actor=staff, topic=topic, progress=100, note="已完工")
        topic = _advance(staff, topic)
    if order >= 8:
        yield _later(30)
        services.supervision_record(actor=voters[2], topic=topic, note="现场查看，已按决议完成")
        topic = _advance(staff, topic)
    if order >= 9:
        yield _later(48)
        services.rating_submit(actor=voters[0], topic=topic, score=5, comment="效果很好")
        services.rating_submit(actor=voters[1], topic=topic, score=4)
        services.topic_evaluate(actor=staff, topic=topic, decision="close", note="居民满意，办结")


def topic_stories(now) -> list:
    """The seeded topics as stories for the demo's timeline (core.demo_support.Timeline):
    the incident history and these meetings are told in one time order, so a resident who
    both reports and attends has their awards written in the order they were earned. A topic
    already there (a second run) tells nothing."""
    user_model = get_user_model()
    admin = user_model.objects.get(username="admin")
    hongchuan = Community.objects.get(path=HONGCHUAN)
    others = list(Community.objects.exclude(pk=hongchuan.pk).order_by("path")[:3])
    plans = []
    for n, community in enumerate([hongchuan, *others]):
        grant = (
            Grant.objects.filter(role=Role.COMMUNITY_STAFF, path=community.path, retired_at__isnull=True)
            .select_related("user")
            .order_by("user__username")
        )
        staff = next((g.user for g in grant if g.user.username == "staff_hongchuan"), None) or (
            grant[0].user if grant else admin
        )
        if community == hongchuan:
            # the demo logins: 刘大爷 and eight neighbours, enough to reach a quorum and pass a vote
            voters = list(user_model.objects.filter(username__in=HONGCHUAN_VOTERS))
            voters.sort(key=lambda u: HONGCHUAN_VOTERS.index(u.username))
        else:
            voters = [
                _resident(f"nb_{community.code}_{i}", f"{community.name}居民{i + 1}", community.path)
                for i in range(5)
            ]
        for i, target in enumerate(STEPS):
            title, description = SUBJECTS[(i + n * 3) % len(SUBJECTS)]
            plans.append((community, staff, voters, f"{title}", description, target))
    return [
        _topic_story(now, k, hongchuan, *plan)
        for k, plan in enumerate(plans)
        if not Topic.objects.filter(community=plan[0], title=plan[3]).exists()
    ]


def _topic_story(now, k, hongchuan, community, staff, voters, title, description, target):
    # proposed weeks ago (a fresh one yesterday), so every notice has run its period by now
    yield now - (timedelta(days=1) if target == "propose" else timedelta(days=32, hours=k))
    topic = services.topic_propose(actor=voters[0], title=title, description=description, community=community)
    outcomes = ()
    if community == hongchuan and target == "closed":
        outcomes = [
            {"kind": "fund_grant", "title": "微基金资助充电桩建设", "amount": Decimal("8000")},
            {
                "kind": "renewal",
                "title": "洪川社区院坝充电桩微更新",
                "renewal_kind": "micro_renewal",
                "amount": Decimal("26000"),
            },
        ]
    elif target in ("implement", "supervise", "evaluate", "closed"):
        outcomes = [
            {
                "kind": "renewal",
                "title": f"{community.name}{title}",
                "renewal_kind": "micro_renewal",
                "amount": Decimal("12000"),
            }
        ]
    yield from _drive(
        staff=staff,
        voters=voters,
        topic=topic,
        target=target,
        outcomes=outcomes,
        open_vote=community == hongchuan and target == "vote",
    )


def build(*, stdout, progress: bool = True, told: bool = False) -> dict:
    """`told`: the topics were already told on the incident history's timeline (build_demo);
    on its own this builds them on a timeline of their own."""
    user_model = get_user_model()
    admin = user_model.objects.get(username="admin")
    hongchuan = Community.objects.get(path=HONGCHUAN)
    now = timezone.now()
    if not told:
        stories = topic_stories(now)
        if stories:
            start = now - timedelta(days=40)
            with moved_clock(start) as clock:
                timeline = Timeline(clock, start)
                for story in stories:
                    timeline.add(story)
                with bar(
                    None, total=len(stories), desc="小圆桌议题（九步议事）", stdout=stdout, progress=progress
                ) as b:
                    timeline.run(tick=b.update)
    staff = user_model.objects.filter(username="staff_hongchuan").first() or admin
    if not Topic.objects.filter(community=hongchuan, title="在小区内饲养家禽").exists():
        topic = services.topic_propose(
            actor=admin, title="在小区内饲养家禽", description="希望允许在院坝散养鸡鸭。", community=hongchuan
        )
        topic = _advance(staff, topic)
        services.topic_review(
            actor=staff, topic=topic, decision="reject", reason="违反城市市容和环境卫生管理规定"
        )
    _community_template(staff, hongchuan)
    # the weeks of notices behind the seeded topics are old news to the people who sign in
    notices_mark_read(
        users=user_model.objects.filter(username__in=[*HONGCHUAN_VOTERS, "staff_hongchuan"]),
        before=now - timedelta(days=2),
    )
    fund = MicroFund.objects.get(community=hongchuan)
    return {
        "议题": Topic.objects.count(),
        "洪川社区微基金余额（元）": fund.balance,
        "来自决议的资助支出笔数": fund.entries.filter(
            approval_ref__startswith="consultation.resolution:"
        ).count(),
    }
