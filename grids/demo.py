"""Demo grids for Qionglai (design §1): under the 189 communities of projects/demo.py, 453
一般网格 each with a grid party organisation, 3,830 micro-grids with boundaries, 2,645 party
groups, 14,236 party members, a "1+2+N" roster, 113 family-doctor teams (874 people) paired
with every micro-grid, and 4,856 incidents that went through the whole loop (some escalated,
some reopened) plus a few dozen still open — mostly in 洪川社区 so the demo logins have work.

Deterministic (seeded) and idempotent (each part checks whether it exists). Bulk inserts with
one precomputed password hash keep it well under two minutes on SQLite. Boundaries are a
synthetic lattice over the city's area, not surveyed lines.
"""

from __future__ import annotations

import math
import random
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from projects.demo import PASSWORD, _user
from projects.models import Community, Department
from qionglai.users.models import Grant, GridPost, Role

from . import sla
from .models import (
    Category,
    DoctorPairing,
    DoctorRole,
    DoctorTeam,
    DoctorTeamMember,
    Escalation,
    EventKind,
    Grid,
    GridBoundary,
    GridKind,
    Incident,
    IncidentEvent,
    Level,
    PartyGroup,
    PartyMember,
    PartyOrganization,
    ReserveKind,
    RosterEntry,
    Satisfaction,
    SlaPolicy,
    Stage,
    Status,
    Tier,
)

GENERAL_GRIDS = 453
MICRO_GRIDS = 3830
PARTY_GROUPS = 2645
PARTY_MEMBERS = 14236
DOCTOR_TEAMS = 113
DOCTOR_MEMBERS = 874
HANDLED_INCIDENTS = 4856
HONGCHUAN = f"{settings.CITY_PATH}.001.h01"

LOGINS = [
    ("grid_hongchuan", "洪川社区专职网格员（第一网格，手机上报与处置）"),
    ("lead_hongchuan", "洪川社区第一网格网格长"),
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "建国秀英志强桂兰海燕明华红梅俊杰丽娟文斌晓东玉兰德明春花永红国庆淑珍世伟建华家豪雨欣子涵浩然思远佳怡"

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


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _box(lng: float, lat: float, w: float, h: float) -> dict:
    ring = [[lng, lat], [lng + w, lat], [lng + w, lat + h], [lng, lat + h], [lng, lat]]
    return {"type": "Polygon", "coordinates": [[[round(x, 6), round(y, 6)] for x, y in ring]]}


def _build_grids(rng, communities, stdout, progress):
    """Community 总网格, general grids, micro-grids (with boundaries), special/emergency grids."""
    if Grid.objects.filter(kind=GridKind.MICRO).count() >= MICRO_GRIDS:
        return
    general_counts = _split(GENERAL_GRIDS, len(communities))
    micro_counts = _split(MICRO_GRIDS, GENERAL_GRIDS)
    rng.shuffle(micro_counts)
    cols = 14
    cell_w, cell_h = 0.036, 0.026  # a community's cell on the synthetic lattice
    totals, generals = [], []
    for community in communities:
        totals.append(
            Grid(
                community=community,
                kind=GridKind.COMMUNITY,
                code="z00",
                name=f"{community.name}总网格",
                path=f"{community.path}.z00",
                households=community.households,
            )
        )
    Grid.objects.bulk_create(totals, batch_size=500)
    totals = {g.community_id: g for g in Grid.objects.filter(kind=GridKind.COMMUNITY)}
    for i, community in enumerate(communities):
        for j in range(general_counts[i]):
            generals.append(
                Grid(
                    community=community,
                    parent=totals[community.pk],
                    kind=GridKind.GENERAL,
                    code=f"g{j + 1:02d}",
                    name=f"{community.name}第{'一二三四五'[j]}网格",
                    path=f"{community.path}.g{j + 1:02d}",
                )
            )
    Grid.objects.bulk_create(generals, batch_size=500)
    generals = list(Grid.objects.filter(kind=GridKind.GENERAL).select_related("community").order_by("path"))
    by_community: dict[int, list[Grid]] = {}
    for g in generals:
        by_community.setdefault(g.community_id, []).append(g)
    micros, boxes, k = [], [], 0
    for i, community in enumerate(tqdm(communities, desc="微网格", disable=not progress, file=stdout)):
        cx = 103.20 + (i % cols) * cell_w
        cy = 30.22 + (i // cols) * cell_h
        own = by_community[community.pk]
        n_micro = sum(micro_counts[k + m] for m in range(len(own)))
        side = math.ceil(math.sqrt(n_micro))
        w, h = cell_w / side, cell_h / side
        slot = 0
        for g in own:
            for m in range(micro_counts[k]):
                households = rng.randint(32, 98) if rng.random() > 0.03 else rng.choice((18, 125))
                micros.append(
                    Grid(
                        community=community,
                        parent=g,
                        kind=GridKind.MICRO,
                        code=f"m{m + 1:02d}",
                        name=f"{g.name}{m + 1}号微网格",
                        path=f"{g.path}.m{m + 1:02d}",
                        households=households,
                    )
                )
                col, row = slot % side, slot // side
                boxes.append(_box(cx + col * w, cy + row * h, w, h))
                slot += 1
            k += 1
    Grid.objects.bulk_create(micros, batch_size=1000)
    ids = dict(Grid.objects.filter(kind=GridKind.MICRO).values_list("path", "id"))
    boundaries = []
    for grid, box in zip(micros, boxes, strict=True):
        (ring,) = box["coordinates"]
        lngs, lats = [p[0] for p in ring], [p[1] for p in ring]
        boundaries.append(
            GridBoundary(
                grid_id=ids[grid.path],
                version=1,
                geometry=box,
                min_lng=min(lngs),
                max_lng=max(lngs),
                min_lat=min(lats),
                max_lat=max(lats),
            )
        )
    GridBoundary.objects.bulk_create(boundaries, batch_size=1000)
    # a few 专属 and 应急 grids
    extra = []
    for i, (kind, label) in enumerate(
        [
            (GridKind.SPECIAL, "学校"),
            (GridKind.SPECIAL, "医院"),
            (GridKind.SPECIAL, "养老机构"),
            (GridKind.SPECIAL, "建筑工地"),
            (GridKind.EMERGENCY, "防汛堤岸"),
            (GridKind.EMERGENCY, "地灾点"),
        ]
        * 4
    ):
        community = communities[(i * 17) % len(communities)]
        code = f"{'s' if kind == GridKind.SPECIAL else 'e'}{i + 1:02d}"
        extra.append(
            Grid(
                community=community,
                parent=totals[community.pk],
                kind=kind,
                code=code,
                special_type=label,
                name=f"{community.name}{label}{kind.label}",
                path=f"{community.path}.{code}",
            )
        )
    Grid.objects.bulk_create(extra)


def _build_people(rng, stdout, progress):
    """Party organisations, groups and members; the 1+2+N roster; doctor teams and pairings."""
    user_model = get_user_model()
    if PartyMember.objects.count() >= PARTY_MEMBERS:
        return
    password = make_password(PASSWORD)  # hashed once: 15,000 accounts share the demo password
    generals = list(Grid.objects.filter(kind=GridKind.GENERAL).order_by("path"))
    micros = list(Grid.objects.filter(kind=GridKind.MICRO).order_by("path"))
    # party members: spread over the micro-grids
    per_micro = _split(PARTY_MEMBERS, len(micros))
    users, grants, where = [], [], []
    n = 0
    for grid, count in zip(micros, per_micro, strict=True):
        for _ in range(count):
            n += 1
            users.append(user_model(username=f"dy{n:05d}", real_name=_name(rng), password=password))
            where.append(grid)
    for start in tqdm(range(0, len(users), 2000), desc="党员账号", disable=not progress, file=stdout):
        user_model.objects.bulk_create(users[start : start + 2000])
    users = list(user_model.objects.filter(username__startswith="dy").order_by("username"))
    for user, grid in zip(users, where, strict=True):
        grants.append(Grant(user=user, role=Role.PARTY_MEMBER, path=grid.path))
    Grant.objects.bulk_create(grants, batch_size=2000)

    orgs = [PartyOrganization(grid=g, name=f"{g.name}党支部", path=g.path) for g in generals]
    PartyOrganization.objects.bulk_create(orgs, batch_size=500)
    orgs = {o.grid_id: o for o in PartyOrganization.objects.all()}
    with_group = set(rng.sample(range(len(micros)), PARTY_GROUPS))
    members_by_grid: dict[int, list] = {}
    for user, grid in zip(users, where, strict=True):
        members_by_grid.setdefault(grid.pk, []).append(user)
    groups = []
    for i, grid in enumerate(micros):
        if i in with_group:
            groups.append(
                PartyGroup(
                    grid=grid,
                    organization=orgs[grid.parent_id],
                    name=f"{grid.name}党小组",
                    path=grid.path,
                    leader=members_by_grid[grid.pk][0],
                )
            )
    PartyGroup.objects.bulk_create(groups, batch_size=1000)
    group_by_grid = dict(PartyGroup.objects.values_list("grid_id", "id"))
    PartyMember.objects.bulk_create(
        [
            PartyMember(
                user=user,
                grid=grid,
                group_id=group_by_grid.get(grid.pk),
                path=grid.path,
                joined_on=timezone.localdate() - timedelta(days=rng.randint(30, 900)),
            )
            for user, grid in zip(users, where, strict=True)
        ],
        batch_size=2000,
    )
    # secretaries: a member from one of the general grid's micro-grids
    first_member = {}
    for grid in micros:
        first_member.setdefault(grid.parent_id, members_by_grid[grid.pk][-1])
    for org in orgs.values():
        org.secretary = first_member.get(org.grid_id)
    PartyOrganization.objects.bulk_update(list(orgs.values()), ["secretary"], batch_size=500)

    # "1+2+N": 网格长, 专职网格员, 网格指导员 per general grid (a few posts vacant), reserves
    workers, roles = [], []
    for i, g in enumerate(generals):
        for post in (GridPost.LEAD, GridPost.FULL_TIME, GridPost.INSTRUCTOR):
            if post == GridPost.INSTRUCTOR and i % 23 == 5:
                continue  # a vacancy now and then, so coverage figures are not all 100%
            workers.append(
                user_model(username=f"wg{i + 1:03d}{post[0]}", real_name=_name(rng), password=password)
            )
            roles.append((g, post))
    user_model.objects.bulk_create(workers, batch_size=1000)
    workers = {u.username: u for u in user_model.objects.filter(username__startswith="wg")}
    roster, worker_grants = [], []
    for w, (g, post) in zip(_ordered(workers, roles), roles, strict=True):
        roster.append(
            RosterEntry(grid=g, user=w, post=post, started_on=timezone.localdate() - timedelta(days=365))
        )
        worker_grants.append(Grant(user=w, role=Role.GRID_WORKER, path=g.path, post=post))
    for grid in micros[::3]:
        member = members_by_grid[grid.pk][0]
        roster.append(
            RosterEntry(grid=grid, user=member, post=GridPost.RESERVE, reserve_kind=ReserveKind.PARTY_MEMBER)
        )
    RosterEntry.objects.bulk_create(roster, batch_size=2000)
    Grant.objects.bulk_create(worker_grants, batch_size=2000)

    # family-doctor teams: 113 teams, 874 people, each micro-grid paired with one team
    communities = list(Community.objects.order_by("path"))
    sizes = _split(DOCTOR_MEMBERS, DOCTOR_TEAMS)
    teams = []
    for t in range(DOCTOR_TEAMS):
        community = communities[(t * 5) % len(communities)]
        teams.append(
            DoctorTeam(
                name=f"家庭医生签约服务第{t + 1}团队",
                institution=f"{community.town.name}社区卫生服务中心",
                community=community,
                path=community.path,
            )
        )
    DoctorTeam.objects.bulk_create(teams)
    teams = list(DoctorTeam.objects.order_by("id"))
    members = []
    for team, size in zip(teams, sizes, strict=True):
        for m in range(size):
            role = DoctorRole.DOCTOR if m < 2 else DoctorRole.NURSE if m < 5 else DoctorRole.PUBLIC_HEALTH
            members.append(DoctorTeamMember(team=team, name=_name(rng), role=role, is_lead=m == 0))
    DoctorTeamMember.objects.bulk_create(members, batch_size=1000)
    per_team = _split(len(micros), DOCTOR_TEAMS)
    pairings, k = [], 0
    start = timezone.localdate() - timedelta(days=400)
    for team, count in zip(teams, per_team, strict=True):
        for grid in micros[k : k + count]:
            pairings.append(
                DoctorPairing(team=team, grid=grid, started_on=start + timedelta(days=rng.randint(0, 200)))
            )
        k += count
    DoctorPairing.objects.bulk_create(pairings, batch_size=2000)


def _ordered(workers: dict, roles: list) -> list:
    by_name = sorted(workers.values(), key=lambda u: u.username)
    index = {u.username: u for u in by_name}
    out = []
    generals = {}
    for g, _post in roles:
        generals.setdefault(g.pk, len(generals))
    for g, post in roles:
        out.append(index[f"wg{generals[g.pk] + 1:03d}{post[0]}"])
    return out


def _hongchuan_logins():
    general = Grid.objects.get(path=f"{HONGCHUAN}.g01")
    micro = Grid.objects.get(path=f"{HONGCHUAN}.g01.m01")
    worker = _user(
        "grid_hongchuan", "洪川社区网格员 陈静", "13800000011", [(Role.GRID_WORKER, general.path, "")]
    )
    Grant.objects.filter(user=worker, role=Role.GRID_WORKER).update(post=GridPost.FULL_TIME)
    lead = _user(
        "lead_hongchuan", "洪川社区网格长 周强", "13800000012", [(Role.GRID_WORKER, general.path, "")]
    )
    Grant.objects.filter(user=lead, role=Role.GRID_WORKER).update(post=GridPost.LEAD)
    RosterEntry.objects.get_or_create(grid=micro, user=worker, post=GridPost.FULL_TIME, retired_at=None)
    RosterEntry.objects.get_or_create(grid=general, user=lead, post=GridPost.LEAD, retired_at=None)
    return worker, lead


def _build_incidents(rng, stdout, progress):
    if Incident.objects.filter(source_ref__startswith="demo:").exists():
        return
    now = timezone.now()
    exceptions = sla.all_exceptions()
    policies = {(p.urgency, p.mode): p for p in SlaPolicy.objects.filter(category__isnull=True)}
    leaves = list(
        Category.objects.filter(parent__isnull=False, active=True).select_related("parent", "department")
    )
    zjj_leaves = [c for c in leaves if c.department and c.department.code == "zjj"]
    departments = {d.pk: d for d in Department.objects.all()}
    micros = list(Grid.objects.filter(kind=GridKind.MICRO).select_related("parent").order_by("path"))
    hong = [g for g in micros if g.path.startswith(HONGCHUAN + ".")]
    reporters = dict(
        RosterEntry.objects.filter(post=GridPost.FULL_TIME, grid__kind=GridKind.GENERAL).values_list(
            "grid_id", "user_id"
        )
    )
    members = dict(PartyMember.objects.values_list("grid_id", "user_id"))
    user_model = get_user_model()
    resident = user_model.objects.filter(username="resident_hongchuan").first()
    hong_worker = user_model.objects.get(username="grid_hongchuan")
    staff = user_model.objects.filter(username="staff_hongchuan").first()
    dept_handler = user_model.objects.filter(username="dept_zjj").first()

    incidents, plans = [], []
    weights_urgency = [("red", 3), ("orange", 12), ("yellow", 45), ("blue", 40)]
    weights_tier = [(Tier.GRID, 55), (Tier.COMMUNITY, 25), (Tier.TOWN, 8), (Tier.DEPARTMENT, 12)]

    def pick(pairs):
        return rng.choices([p for p, _ in pairs], weights=[w for _, w in pairs])[0]

    total = HANDLED_INCIDENTS + 40
    for n in range(total):
        is_open = n >= HANDLED_INCIDENTS
        grid = rng.choice(hong) if (is_open or rng.random() < 0.04) else rng.choice(micros)
        category = rng.choice(leaves)
        urgency = pick(weights_urgency)
        tier = pick(weights_tier)
        if tier == Tier.DEPARTMENT and category.department_id is None:
            tier = Tier.COMMUNITY
        for_department = is_open and n - HANDLED_INCIDENTS < 4  # work waiting for the dept_zjj login
        if for_department:
            category, tier = rng.choice(zjj_leaves), Tier.DEPARTMENT
        policy = policies[(urgency, "peace")]
        created = (
            now - timedelta(days=rng.uniform(1, 360))
            if not is_open
            else now - timedelta(hours=rng.uniform(0.2, 60))
        )
        channel = rng.choices(
            ["online", "offline", "hotline", "sensor", "assigned"], weights=[45, 30, 15, 5, 5]
        )[0]
        r = rng.random()
        reporter_id = (
            None
            if channel in ("hotline", "sensor")
            else (
                resident.pk
                if (is_open and resident and r < 0.3)
                else members.get(grid.pk)
                if r < 0.2
                else reporters.get(grid.parent_id)
            )
        )
        if grid in hong and reporter_id == reporters.get(grid.parent_id) and grid.parent.code == "g01":
            reporter_id = hong_worker.pk
        (ring,) = _box_of(grid)
        lat = Decimal(f"{rng.uniform(ring[0][1], ring[2][1]):.6f}")
        lng = Decimal(f"{rng.uniform(ring[0][0], ring[2][0]):.6f}")
        inc = Incident(
            reporter_id=reporter_id,
            channel=channel,
            category=category,
            urgency=urgency,
            status=Status.REPORTED,
            description=rng.choice(DESCRIPTIONS[category.parent.code]),
            lat=lat,
            lng=lng,
            community_id=grid.community_id,
            micro_grid=grid,
            path=grid.path,
            level=Level.MICRO,
            created_at=created,
            source_ref=f"demo:{n}",
        )
        inc.accept_due = sla.deadline(policy, Stage.ACCEPT, created, exceptions)
        inc.due_at, inc.due_stage = inc.accept_due, Stage.ACCEPT
        events = [
            {
                "kind": EventKind.REPORT,
                "to_status": Status.REPORTED,
                "at": created,
                "actor_id": reporter_id,
                "note": inc.description[:200],
            }
        ]
        escalations = []
        target = (
            Status.CLOSED
            if not is_open
            else Status.IN_PROGRESS
            if for_department
            else rng.choices(
                [Status.REPORTED, Status.ACCEPTED, Status.IN_PROGRESS, Status.RESOLVED, Status.VERIFIED],
                weights=[10, 6, 14, 5, 5],
            )[0]
        )
        _advance(
            rng,
            inc,
            events,
            escalations,
            target,
            tier,
            policy,
            exceptions,
            departments,
            now,
            is_open,
            staff_id=getattr(staff, "pk", None),
            dept_id=getattr(dept_handler, "pk", None),
            worker_id=hong_worker.pk,
        )
        incidents.append(inc)
        plans.append((events, escalations))

    for start in tqdm(range(0, len(incidents), 1000), desc="网格事件", disable=not progress, file=stdout):
        Incident.objects.bulk_create(incidents[start : start + 1000])
    events, escalations = [], []
    for inc, (evs, escs) in zip(incidents, plans, strict=True):
        events += [IncidentEvent(incident_id=inc.pk, **e) for e in evs]
        escalations += [Escalation(incident_id=inc.pk, **e) for e in escs]
    IncidentEvent.objects.bulk_create(events, batch_size=5000)
    Escalation.objects.bulk_create(escalations, batch_size=2000)


_BOXES: dict[int, list] = {}


def _box_of(grid: Grid):
    if not _BOXES:
        _BOXES.update(
            GridBoundary.objects.filter(valid_to__isnull=True).values_list("grid_id", "geometry__coordinates")
        )
    return _BOXES[grid.pk]


def _advance(
    rng,
    inc,
    events,
    escalations,
    target,
    tier,
    policy,
    exceptions,
    departments,
    now,
    is_open,
    *,
    staff_id,
    dept_id,
    worker_id,
):
    """Walks one demo incident through the loop up to `target`, writing its timeline."""
    order = [
        Status.REPORTED,
        Status.ACCEPTED,
        Status.IN_PROGRESS,
        Status.RESOLVED,
        Status.VERIFIED,
        Status.CLOSED,
    ]
    reach = order.index(target)
    t = inc.created_at

    def late(stage, due, p):
        """Maybe miss the deadline: escalate once (recorded as the scan would have)."""
        nonlocal t
        if rng.random() < p:
            t = due + timedelta(minutes=rng.randint(10, 600))
            new_level = min(inc.level + 1, Level.CITY)
            if new_level > inc.level:
                escalations.append(
                    {"stage": stage, "level": new_level, "due_at": due, "at": due + timedelta(minutes=1)}
                )
                events.append(
                    {
                        "kind": EventKind.ESCALATE,
                        "from_status": inc.status,
                        "to_status": inc.status,
                        "on_time": False,
                        "at": due + timedelta(minutes=1),
                        "note": f"{Stage(stage).label}超时，升级至{Level(new_level).label}督办",
                        "data": {"stage": stage, "from_level": inc.level, "to_level": new_level},
                    }
                )
                inc.level, inc.supervised = new_level, True
            return True
        return False

    if is_open and reach == 0:
        if rng.random() < 0.3:  # a few already overdue: the running scan escalates them
            inc.accept_due = inc.due_at = now - timedelta(minutes=rng.randint(5, 90))
        return
    span = (inc.accept_due - t).total_seconds()
    if not late(Stage.ACCEPT, inc.accept_due, 0.05):
        t = t + timedelta(seconds=rng.uniform(0.1, 0.9) * span)
    if is_open:
        t = min(t, now - timedelta(minutes=30))
    inc.status, inc.tier, inc.accepted_at = Status.ACCEPTED, tier, t
    inc.accepted_on_time = t <= inc.accept_due
    events.append(
        {
            "kind": EventKind.ACCEPT,
            "from_status": Status.REPORTED,
            "to_status": Status.ACCEPTED,
            "at": t,
            "actor_id": staff_id if inc.path.startswith(HONGCHUAN) else None,
            "on_time": inc.accepted_on_time,
            "data": {"tier": tier},
        }
    )
    inc.resolve_due = sla.deadline(policy, Stage.RESOLVE, t, exceptions)
    inc.due_at, inc.due_stage = inc.resolve_due, Stage.RESOLVE
    if reach == 1:
        return
    t = t + timedelta(minutes=rng.randint(2, 60))
    if is_open:
        t = min(t, now - timedelta(minutes=20))
    if tier == Tier.DEPARTMENT:
        inc.assigned_department = departments[inc.category.department_id]
    inc.status, inc.dispatched_at = Status.IN_PROGRESS, t
    events.append(
        {
            "kind": EventKind.DISPATCH,
            "from_status": Status.ACCEPTED,
            "to_status": Status.IN_PROGRESS,
            "at": t,
            "data": {"tier": tier, "department": getattr(inc.assigned_department, "code", "")},
        }
    )
    if reach == 2:
        if rng.random() < 0.3:  # overdue in progress
            inc.resolve_due = inc.due_at = now - timedelta(minutes=rng.randint(5, 300))
        return
    span = (inc.resolve_due - t).total_seconds()
    reopened = not is_open and rng.random() < 0.025
    if not late(Stage.RESOLVE, inc.resolve_due, 0.07):
        t = t + timedelta(seconds=rng.uniform(0.05, 0.95) * span)
    if is_open:
        t = min(t, now - timedelta(minutes=10))
    inc.status, inc.resolved_at, inc.result = Status.RESOLVED, t, rng.choice(RESULTS)
    inc.resolved_on_time = t <= inc.resolve_due
    handler = (
        dept_id if tier == Tier.DEPARTMENT and getattr(inc.assigned_department, "code", "") == "zjj" else None
    )
    events.append(
        {
            "kind": EventKind.RESOLVE,
            "from_status": Status.IN_PROGRESS,
            "to_status": Status.RESOLVED,
            "at": t,
            "actor_id": handler,
            "on_time": inc.resolved_on_time,
            "note": inc.result,
        }
    )
    inc.verify_due = sla.deadline(policy, Stage.VERIFY, t, exceptions)
    inc.due_at, inc.due_stage = inc.verify_due, Stage.VERIFY
    if reach == 3:
        return
    t = t + timedelta(minutes=rng.randint(20, 600))
    if is_open:
        t = min(t, now - timedelta(minutes=5))
    inc.status, inc.verified_at = Status.VERIFIED, t
    inc.verified_on_time = t <= inc.verify_due
    events.append(
        {
            "kind": EventKind.VERIFY,
            "from_status": Status.RESOLVED,
            "to_status": Status.VERIFIED,
            "at": t,
            "on_time": inc.verified_on_time,
        }
    )
    inc.evaluate_due = sla.deadline(policy, Stage.EVALUATE, t, exceptions)
    inc.due_at, inc.due_stage = inc.evaluate_due, Stage.EVALUATE
    if reach == 4:
        return
    if reopened:
        t = t + timedelta(hours=rng.randint(2, 40))
        events.append(
            {
                "kind": EventKind.EVALUATE,
                "from_status": Status.VERIFIED,
                "to_status": Status.VERIFIED,
                "at": t,
                "actor_id": inc.reporter_id,
                "data": {"satisfaction": "dissatisfied"},
                "note": "问题没有彻底解决",
            }
        )
        events.append(
            {
                "kind": EventKind.REOPEN,
                "from_status": Status.VERIFIED,
                "to_status": Status.IN_PROGRESS,
                "at": t,
                "note": "居民不满意，重新办理",
            }
        )
        inc.reopen_count = 1
        t = t + timedelta(hours=rng.randint(4, 48))
        events.append(
            {
                "kind": EventKind.RESOLVE,
                "from_status": Status.IN_PROGRESS,
                "to_status": Status.RESOLVED,
                "at": t,
                "note": "再次处置完毕",
            }
        )
        t = t + timedelta(hours=rng.randint(1, 12))
        events.append(
            {"kind": EventKind.VERIFY, "from_status": Status.RESOLVED, "to_status": Status.VERIFIED, "at": t}
        )
        inc.verified_at = t
    r = rng.random()
    if inc.reporter_id is None or r < 0.05:
        t = inc.evaluate_due
        inc.satisfaction = Satisfaction.NONE
        events.append(
            {
                "kind": EventKind.AUTO_CLOSE,
                "from_status": Status.VERIFIED,
                "to_status": Status.CLOSED,
                "at": t,
                "note": "评价期满未评价，自动归档",
            }
        )
    else:
        t = t + timedelta(hours=rng.uniform(0.5, 60))
        inc.satisfaction = (
            Satisfaction.SATISFIED
            if r < 0.82
            else Satisfaction.BASIC
            if r < 0.97
            else Satisfaction.DISSATISFIED
        )
        if inc.satisfaction == Satisfaction.DISSATISFIED and not reopened:
            inc.satisfaction = Satisfaction.BASIC
        events.append(
            {
                "kind": EventKind.EVALUATE,
                "from_status": Status.VERIFIED,
                "to_status": Status.CLOSED,
                "at": t,
                "actor_id": inc.reporter_id,
                "data": {"satisfaction": inc.satisfaction},
            }
        )
    inc.status, inc.closed_at, inc.due_at, inc.due_stage = Status.CLOSED, t, None, ""


def build(*, stdout, progress: bool = True) -> dict:
    rng = random.Random(5101830)
    communities = list(Community.objects.select_related("town").order_by("path"))
    if not communities:
        return {}
    with transaction.atomic():
        _build_grids(rng, communities, stdout, progress)
    with transaction.atomic():
        _build_people(rng, stdout, progress)
    with transaction.atomic():
        _hongchuan_logins()
        _build_incidents(rng, stdout, progress)
    return {
        "一般网格": Grid.objects.filter(kind=GridKind.GENERAL).count(),
        "网格党组织": PartyOrganization.objects.count(),
        "微网格": Grid.objects.filter(kind=GridKind.MICRO).count(),
        "微网格党小组": PartyGroup.objects.count(),
        "网格党员": PartyMember.objects.count(),
        "家庭医生团队": DoctorTeam.objects.count(),
        "家庭医生团队成员": DoctorTeamMember.objects.count(),
        "已办结归档事件": Incident.objects.filter(status=Status.CLOSED).count(),
        "办理中事件": Incident.objects.exclude(status__in=[Status.CLOSED, Status.REJECTED]).count(),
        "升级督办记录": Escalation.objects.count(),
    }
