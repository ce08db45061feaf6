"""A year of incidents, written by the people who would have handled them (design §4).

Every incident is reported, accepted, dispatched, resolved, verified, evaluated, escalated,
reopened or auto-closed by calling the grids services as the right actor, under a clock moved
to the moment it happened: each has its full event chain, its audit rows, its handlers and the
`incident_verified` signal, so the reporter's points arrive through the points receivers.

Who does what (separation of duties): a 网格自办 incident is accepted and resolved by the
grid's 专职网格员 and verified by its 网格长; a community incident is accepted, dispatched and
resolved by the community worker and verified by the 网格长; town and department incidents are
resolved by the town worker or the department's handler and verified by the community worker.
Residents (party members of the micro-grid, 洪川's demo residents) evaluate what they reported;
patrol and hotline reports are left to the evaluation window and auto-close as 未评价.

Deterministic: one seeded generator plans everything before the clock moves; the plan depends
only on rows the static tree created, so two builds produce the same history.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from qionglai.core.demo_support import Timeline, bar, moved_clock, notices_mark_read, step_line
from qionglai.users.models import Grant, GridPost, Role

from .models import Category, Channel, Grid, GridBoundary, GridKind, Incident, PartyMember, RosterEntry, Tier
from .services import (
    escalation_scan,
    incident_accept,
    incident_auto_close,
    incident_decide_extension,
    incident_dispatch,
    incident_evaluate,
    incident_reject,
    incident_report,
    incident_request_extension,
    incident_resolve,
    incident_verify,
)

HANDLED_INCIDENTS = 4856  # 已归档 (closed), the city's reported figure
REJECTED = 48
OPEN_IN_HONGCHUAN = 36
HONGCHUAN = f"{settings.CITY_PATH}.001.h01"
DEMO_RESIDENTS = ["resident_hongchuan", *(f"resident_hongchuan_{i}" for i in range(1, 9))]

DESCRIPTIONS = {
    "01": ["邻居因漏水问题发生争执", "楼上装修噪音引发邻里矛盾", "宅基地边界纠纷需调解"],
    "02": ["楼道堆放杂物堵塞消防通道", "电动车在楼道内充电", "老旧房屋墙体开裂"],
    "03": ["深夜有可疑人员在小区徘徊", "商铺门口发现可疑包裹"],
    "04": ["路边垃圾堆积多日未清运", "餐馆油烟扰民", "排水沟污水外溢有异味"],
    "05": ["路灯不亮，夜间出行不便", "人行道地砖松动", "井盖缺失存在安全隐患"],
    "06": ["商贩占道经营影响通行", "车辆乱停堵塞消防通道"],
    "07": ["工地夜间施工噪音扰民", "工地扬尘未覆盖"],
    "08": ["独居老人咨询医保报销", "困难家庭申请临时救助"],
    "09": ["独居老人多日未出门，需上门探访", "留守儿童放学无人接送"],
    "10": ["小区电梯频繁故障", "单元门禁损坏", "物业未及时清理化粪池"],
    "11": ["暴雨导致低洼处积水", "小区发生小型火情已扑灭"],
    "12": ["居民反映其他事项"],
}
RESULTS = [
    "已现场处置完毕",
    "已协调相关单位处理完成",
    "已联系物业整改到位",
    "已调解，双方达成一致",
    "已维修恢复正常",
]
URGENCY = [("red", 3), ("orange", 12), ("yellow", 45), ("blue", 40)]
TIERS = [(Tier.GRID, 55), (Tier.COMMUNITY, 25), (Tier.TOWN, 8), (Tier.DEPARTMENT, 12)]


def _pick(rng: random.Random, pairs):
    return rng.choices([p for p, _ in pairs], weights=[w for _, w in pairs])[0]


class Cast:
    """The people and places the history needs, loaded once."""

    def __init__(self):
        users = get_user_model().objects
        self.micros = list(
            Grid.objects.filter(kind=GridKind.MICRO).select_related("community").order_by("path")
        )
        self.hongchuan = [g for g in self.micros if g.path.startswith(HONGCHUAN + ".")]
        self.boxes = {
            b.grid_id: b
            for b in GridBoundary.objects.filter(valid_to__isnull=True).only(
                "grid_id", "min_lat", "max_lat", "min_lng", "max_lng"
            )
        }
        posts: dict[tuple[int, str], object] = {}
        roster = RosterEntry.objects.filter(
            grid__kind=GridKind.GENERAL, post__in=[GridPost.LEAD, GridPost.FULL_TIME], retired_at__isnull=True
        ).select_related("user")
        for entry in roster.order_by("user__username"):
            posts.setdefault((entry.grid_id, entry.post), entry.user)
        hong_general = Grid.objects.get(path=f"{HONGCHUAN}.g01")
        posts[(hong_general.pk, GridPost.FULL_TIME)] = users.get(username="grid_hongchuan")
        posts[(hong_general.pk, GridPost.LEAD)] = users.get(username="lead_hongchuan")
        self.posts = posts
        self.staff: dict[str, object] = {}
        self.town: dict[str, object] = {}
        self.department: dict[str, object] = {}
        grants = Grant.objects.filter(
            role__in=[Role.COMMUNITY_STAFF, Role.TOWN_STAFF, Role.DEPARTMENT_HANDLER], retired_at__isnull=True
        ).select_related("user")
        # the demo logins first, so 洪川's work carries their names
        for grant in sorted(
            grants,
            key=lambda g: (
                not g.user.username.endswith(("_hongchuan", "_linqiong", "_zjj")),
                g.user.username,
            ),
        ):
            if grant.role == Role.COMMUNITY_STAFF:
                self.staff.setdefault(grant.path, grant.user)
            elif grant.role == Role.TOWN_STAFF:
                self.town.setdefault(grant.path, grant.user)
            else:
                self.department.setdefault(grant.unit, grant.user)
        self.members: dict[int, list] = {}
        for member in PartyMember.objects.select_related("user").order_by("user__username"):
            self.members.setdefault(member.grid_id, []).append(member.user)
        self.residents = list(users.filter(username__in=DEMO_RESIDENTS).order_by("username"))
        self.locals: dict[str, list] = {}
        for grant in (
            Grant.objects.filter(role=Role.RESIDENT, retired_at__isnull=True, user__username__startswith="jm")
            .select_related("user")
            .order_by("user__username")
        ):
            self.locals.setdefault(grant.path, []).append(grant.user)
        self.locals[HONGCHUAN] = self.residents
        self.leaves = list(
            Category.objects.filter(parent__isnull=False, active=True)
            .select_related("parent", "department")
            .order_by("code")
        )

    def lead(self, grid: Grid):
        return self.posts[(grid.parent_id, GridPost.LEAD)]

    def worker(self, grid: Grid):
        return self.posts[(grid.parent_id, GridPost.FULL_TIME)]

    def community_staff(self, grid: Grid):
        return self.staff[grid.community.path]

    def town_staff(self, grid: Grid):
        return self.town[".".join(grid.path.split(".")[:2])]


@dataclass
class Plan:
    n: int
    grid: Grid
    created: object
    category: Category
    urgency: str
    tier: str
    reporter: object
    channel: str
    lat: Decimal
    lng: Decimal
    late_accept: bool = False
    late_resolve: bool = False
    extension: bool = False
    verify_fail: bool = False
    satisfaction: str = ""  # "" → left to the window (auto-close)
    reopen: bool = False
    reject: bool = False
    stop_at: str = ""  # for the open ones: the last step taken


def _point(rng, cast: Cast, grid: Grid) -> tuple[Decimal, Decimal]:
    box = cast.boxes[grid.pk]
    lat = rng.uniform(float(box.min_lat) + 1e-5, float(box.max_lat) - 1e-5)
    lng = rng.uniform(float(box.min_lng) + 1e-5, float(box.max_lng) - 1e-5)
    return Decimal(f"{lat:.6f}"), Decimal(f"{lng:.6f}")


def plan_history(rng: random.Random, cast: Cast, now, handled: int = HANDLED_INCIDENTS) -> list[Plan]:
    plans: list[Plan] = []
    reports_by: dict[int, int] = {}
    total = handled + REJECTED + OPEN_IN_HONGCHUAN
    for n in range(total):
        is_open = n >= handled + REJECTED
        grid = rng.choice(cast.hongchuan) if (is_open or rng.random() < 0.04) else rng.choice(cast.micros)
        category = rng.choice(cast.leaves)
        tier = _pick(rng, TIERS)
        if tier == Tier.DEPARTMENT and category.department_id is None:
            tier = Tier.COMMUNITY
        if is_open and n - handled - REJECTED < 4:  # waiting for the dept_zjj login
            category = rng.choice([c for c in cast.leaves if c.department and c.department.code == "zjj"])
            tier = Tier.DEPARTMENT
        if is_open:
            created = now - timedelta(hours=rng.uniform(0.5, 60))
        else:
            day = now - timedelta(days=rng.uniform(20, 360))
            created = day.replace(hour=rng.randint(0, 11), minute=rng.randint(0, 59))  # 08:00-19:59 local
        r = rng.random()
        if r < 0.35:
            reporter, channel = cast.worker(grid), Channel.OFFLINE  # found on patrol
        elif r < 0.45:
            reporter, channel = cast.community_staff(grid), Channel.HOTLINE  # 12345, recorded by staff
        else:
            pool = (
                cast.locals[grid.community.path]
                if rng.random() < 0.6
                else cast.members.get(grid.pk) or cast.locals[grid.community.path]
            )
            reporter, channel = rng.choice(pool), Channel.ONLINE
        # a person's 随手拍 award is capped per year: keep everyone well under the cap
        if reports_by.get(reporter.pk, 0) >= 12:
            others = [
                *((m, Channel.ONLINE) for m in cast.members.get(grid.pk, [])),
                *((m, Channel.ONLINE) for m in cast.locals[grid.community.path]),
                (cast.worker(grid), Channel.OFFLINE),
                (cast.community_staff(grid), Channel.HOTLINE),
            ]
            reporter, channel = next(
                ((u, ch) for u, ch in others if reports_by.get(u.pk, 0) < 12), (reporter, channel)
            )
        reports_by[reporter.pk] = reports_by.get(reporter.pk, 0) + 1
        lat, lng = _point(rng, cast, grid)
        plan = Plan(
            n=n,
            grid=grid,
            created=created,
            category=category,
            urgency=_pick(rng, URGENCY),
            tier=tier,
            reporter=reporter,
            channel=channel,
            lat=lat,
            lng=lng,
        )
        if handled <= n < handled + REJECTED:
            plan.reject = True
        elif is_open:
            steps = ["report", "accept", "resolve", "verify"]
            plan.stop_at = (
                "resolve" if plan.tier == Tier.DEPARTMENT else rng.choices(steps, weights=[10, 14, 6, 6])[0]
            )
            if plan.stop_at == "verify" and channel != Channel.ONLINE:
                plan.stop_at = "resolve"
        else:
            plan.late_accept = rng.random() < 0.05
            plan.late_resolve = rng.random() < 0.07
            # the policy allows extensions for 黄/蓝 only (红 has none, 橙 one at most)
            plan.extension = (
                plan.urgency in ("yellow", "blue") and not plan.late_resolve and rng.random() < 0.03
            )
            plan.verify_fail = rng.random() < 0.03
            if channel == Channel.ONLINE and rng.random() < 0.9:
                s = rng.random()
                plan.satisfaction = "satisfied" if s < 0.82 else "basic" if s < 0.97 else "dissatisfied"
                plan.reopen = plan.satisfaction == "dissatisfied"
        plans.append(plan)
    plans.sort(key=lambda p: (p.created, p.n))
    return plans


class Walker:
    """Takes planned incidents through the services as stories on one timeline: each yields
    the moment of its next step, and the timeline runs every step of every incident in time
    order (so a handler's or reporter's awards are written in the order they were earned)."""

    def __init__(self, rng: random.Random, cast: Cast, now):
        self.rng, self.cast, self.now = rng, cast, now

    def walk(self, p: Plan):
        rng, c, grid = self.rng, self.cast, p.grid
        last = p.created

        def at(moment):
            """Forward only, and never past the real now (open incidents)."""
            nonlocal last
            last = max(min(moment, self.now - timedelta(minutes=1)), last)
            return last

        def after(moment, low_min: float, high_min: float):
            return at(moment + timedelta(minutes=rng.uniform(low_min, high_min)))

        def within(start, due, low=0.1, high=0.9):
            return at(start + (due - start) * rng.uniform(low, high))

        t = yield at(p.created)
        inc = incident_report(
            actor=p.reporter,
            category=p.category,
            urgency=p.urgency,
            description=rng.choice(DESCRIPTIONS[p.category.parent.code]),
            lat=p.lat,
            lng=p.lng,
            micro_grid=grid,
            channel=p.channel,
            source_ref=f"demo:{p.n}",
        )
        staff = c.community_staff(grid)
        if p.reject:
            yield after(t, 10, 90)
            incident_reject(actor=staff, incident=inc, reason="经核实不属于网格事件受理范围，已告知反映人")
            return
        if p.stop_at == "report":
            return
        if p.late_accept:
            t = yield at(inc.accept_due + timedelta(minutes=rng.randint(2, 30)))
            escalation_scan(now=t)
            inc = Incident.objects.get(pk=inc.pk)
            t = yield after(t, 10, 90)
        else:
            t = yield within(t, inc.accept_due)
        if p.tier == Tier.GRID:
            resolver, verifier = c.worker(grid), c.lead(grid)
            inc = incident_accept(actor=resolver, incident=inc, tier=Tier.GRID)
        else:
            inc = incident_accept(actor=staff, incident=inc, tier=p.tier)
            t = yield after(t, 2, 40)
            inc = incident_dispatch(actor=staff, incident=inc, tier=p.tier)
            if p.tier == Tier.COMMUNITY:
                resolver, verifier = staff, c.lead(grid)
            elif p.tier == Tier.TOWN:
                resolver, verifier = c.town_staff(grid), staff
            else:
                resolver, verifier = c.department[inc.assigned_department.code], staff
        if p.stop_at == "accept":
            return
        if p.extension:
            t = yield within(t, inc.resolve_due, 0.2, 0.5)
            ext = incident_request_extension(actor=resolver, incident=inc, hours=24, reason="需等待配件到货")
            t = yield after(t, 20, 120)
            approver = c.town_staff(grid) if resolver == staff else staff
            incident_decide_extension(actor=approver, extension=ext, approve=True, note="同意延期")
            inc = Incident.objects.get(pk=inc.pk)
        if p.late_resolve:
            t = yield at(inc.resolve_due + timedelta(minutes=rng.randint(2, 30)))
            escalation_scan(now=t)
            t = yield after(t, 30, 600)
        else:
            t = yield within(t, inc.resolve_due, 0.05, 0.9)
        inc = incident_resolve(actor=resolver, incident=inc, result=rng.choice(RESULTS))
        if p.stop_at == "resolve":
            return
        if p.verify_fail:
            t = yield within(t, inc.verify_due, 0.1, 0.5)
            inc = incident_verify(
                actor=verifier, incident=inc, passed=False, note="现场复核仍有问题，请继续处置"
            )
            t = yield after(t, 60, 900)
            inc = incident_resolve(actor=resolver, incident=inc, result="已按复核意见再次处置")
        t = yield within(t, inc.verify_due, 0.1, 0.8)
        inc = incident_verify(actor=verifier, incident=inc)
        if p.stop_at == "verify":
            return
        satisfaction = p.satisfaction
        if p.reopen:
            t = yield after(t, 60, 1800)
            inc = incident_evaluate(
                actor=p.reporter, incident=inc, satisfaction="dissatisfied", comment="问题没有彻底解决"
            )
            t = yield after(t, 120, 1440)
            inc = incident_resolve(actor=resolver, incident=inc, result="再次处置完毕")
            t = yield within(t, inc.verify_due, 0.1, 0.8)
            inc = incident_verify(actor=verifier, incident=inc)
            satisfaction = "basic"
        if satisfaction:
            yield within(t, inc.evaluate_due, 0.02, 0.6)
            incident_evaluate(actor=p.reporter, incident=inc, satisfaction=satisfaction)
        else:
            moment = yield at(inc.evaluate_due + timedelta(minutes=1))
            incident_auto_close(incident_id=inc.pk, now=moment)


def build_incidents(
    *, stdout, progress: bool = True, handled: int = HANDLED_INCIDENTS, also: Callable | None = None
) -> None:
    """The year of incidents on one timeline; `also(now)` gives more stories told on the same
    timeline (build_demo passes the 小圆桌 topics, whose meetings award the same residents)."""
    now = timezone.now()
    stories = list(also(now)) if also is not None else []
    told = Incident.objects.filter(source_ref__startswith="demo:").exists()
    if told:
        step_line(stdout, "网格事件", f"已存在 {Incident.objects.count()} 件")
        plans = []
    else:
        rng = random.Random(4856)
        cast = Cast()
        plans = plan_history(rng, cast, now, handled)
        walker = Walker(rng, cast, now)
        stories = [walker.walk(plan) for plan in plans] + stories
    if not stories:
        return
    start = plans[0].created if plans else now - timedelta(days=40)
    with moved_clock(start) as clock:
        timeline = Timeline(clock, start)
        for story in stories:
            timeline.add(story)
        desc = "网格事件与小圆桌（经服务办理）" if also is not None else "网格事件（经服务办理）"
        with bar(None, total=len(stories), desc=desc, stdout=stdout, progress=progress) as b:
            timeline.run(tick=b.update)
    if told:
        return
    users = get_user_model().objects.filter(
        username__in=[
            "grid_hongchuan",
            "lead_hongchuan",
            "staff_hongchuan",
            "town_linqiong",
            "dept_zjj",
            *DEMO_RESIDENTS,
        ]
    )
    notices_mark_read(users=users, before=now - timedelta(days=2))


# --- the check the demo test runs: every chain is a legal path, with an audit row per event ---

LEGAL = {
    "report": {("", "reported")},
    "accept": {("reported", "accepted")},
    "reject": {("reported", "rejected")},
    "dispatch": {("accepted", "in_progress"), ("in_progress", "in_progress")},
    "return": {("in_progress", "accepted")},
    "resolve": {("in_progress", "resolved")},
    "verify": {("resolved", "verified")},
    "verify_fail": {("resolved", "in_progress")},
    "evaluate": {("verified", "closed"), ("verified", "verified")},
    "reopen": {("verified", "in_progress")},
    "auto_close": {("verified", "closed")},
}
SYSTEM_KINDS = {"escalate", "auto_close"}  # written by the timers, without a person


def incident_chain_problems() -> list[str]:
    """Every incident's events, in the order written, are a path of the state machine from
    上报 to the incident's status, in time order, each by a person unless the timers wrote it,
    and each with its audit row."""
    from qionglai.core.models import AuditEvent

    from .models import IncidentEvent

    problems: list[str] = []
    audits: dict[str, int] = {}
    for target_id in AuditEvent.objects.filter(
        target_type="grids.incident", action__startswith="incident."
    ).values_list("target_id", flat=True):
        audits[target_id] = audits.get(target_id, 0) + 1
    statuses = dict(Incident.objects.values_list("pk", "status"))
    state: dict[int, tuple[str, object, int]] = {}
    events = IncidentEvent.objects.order_by("incident_id", "id").values_list(
        "incident_id", "kind", "from_status", "to_status", "at", "actor_id"
    )
    for incident_id, kind, before, after, at, actor_id in events.iterator(chunk_size=5000):
        current, last_at, count = state.get(incident_id, ("", None, 0))
        if kind in LEGAL:
            if (before, after) not in LEGAL[kind] or before != current:
                problems.append(f"事件 #{incident_id}：{kind} {before}→{after}，当前状态 {current or '—'}")
            current = after
        elif before != after:
            problems.append(f"事件 #{incident_id}：{kind} 不应改变状态（{before}→{after}）")
        if last_at is not None and at < last_at:
            problems.append(f"事件 #{incident_id}：{kind} 早于上一步")
        if actor_id is None and kind not in SYSTEM_KINDS:
            problems.append(f"事件 #{incident_id}：{kind} 没有办理人")
        state[incident_id] = (current, at, count + 1)
    for incident_id, status in statuses.items():
        current, _, count = state.get(incident_id, ("", None, 0))
        if current != status:
            problems.append(f"事件 #{incident_id}：事件链止于 {current or '—'}，状态却为 {status}")
        if audits.get(str(incident_id), 0) != count:
            problems.append(
                f"事件 #{incident_id}：{count} 条事件记录，{audits.get(str(incident_id), 0)} 条审计记录"
            )
    return problems
