"""Demo grids for Qionglai (design §1): under the 189 communities of projects/demo.py, 453
一般网格 each with a grid party organisation, 3,830 micro-grids with boundaries, 2,645 party
groups, 14,236 party members, a "1+2+N" roster, 113 family-doctor teams (874 people) paired
with every micro-grid, the community, town and department staff and residents who act in the
incident history — then that history, through the services (grids/demo_incidents.py).

The static tree is bulk-inserted with one precomputed password hash (the only set-based part).
Towns sit at their real approximate seats and each community's micro-grids tile a square
around its centre: illustrative, not surveyed — the city imports its own boundaries
(grids/boundary_import.py). Deterministic (seeded) and idempotent (each part checks whether
it exists).
"""

from __future__ import annotations

import math
import random
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from projects.demo import _user, password_hash
from projects.models import Community, Department
from qionglai.core.demo_support import bar, step_line
from qionglai.users.models import Grant, GridPost, Role

from .models import (
    DoctorPairing,
    DoctorRole,
    DoctorTeam,
    DoctorTeamMember,
    Escalation,
    Grid,
    GridBoundary,
    GridKind,
    Incident,
    PartyGroup,
    PartyMember,
    PartyOrganization,
    ReserveKind,
    RosterEntry,
    Status,
)

GENERAL_GRIDS = 453
MICRO_GRIDS = 3830
PARTY_GROUPS = 2645
PARTY_MEMBERS = 14236
DOCTOR_TEAMS = 113
DOCTOR_MEMBERS = 874
HANDLED_INCIDENTS = 4856
HONGCHUAN = f"{settings.CITY_PATH}.001.h01"
RESIDENTS_PER_COMMUNITY = 8  # residents who report, claim, redeem and donate


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "建国秀英志强桂兰海燕明华红梅俊杰丽娟文斌晓东玉兰德明春花永红国庆淑珍世伟建华家豪雨欣子涵浩然思远佳怡"


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _box(lng: float, lat: float, w: float, h: float) -> dict:
    ring = [[lng, lat], [lng + w, lat], [lng + w, lat + h], [lng, lat + h], [lng, lat]]
    return {"type": "Polygon", "coordinates": [[[round(x, 6), round(y, 6)] for x, y in ring]]}


# Approximate seats (lat, lng) of Qionglai's towns and streets: the city centre (临邛) at
# 30.41 N 103.46 E, the plain to the east and north, 天台山镇, 南宝山镇 and 高何镇 in the
# mountains to the south-west and west. Illustrative, not surveyed: the city imports its own.
TOWN_SEATS = {
    "001": (30.410, 103.460),  # 临邛街道
    "002": (30.432, 103.488),  # 文君街道
    "003": (30.470, 103.545),  # 固驿街道
    "004": (30.455, 103.605),  # 羊安街道
    "005": (30.365, 103.505),  # 高埂街道
    "006": (30.445, 103.415),  # 孔明街道
    "007": (30.345, 103.335),  # 平乐镇
    "008": (30.290, 103.170),  # 天台山镇
    "009": (30.262, 103.330),  # 夹关镇
    "010": (30.380, 103.250),  # 火井镇
    "011": (30.225, 103.215),  # 南宝山镇
    "012": (30.470, 103.290),  # 大同镇
    "013": (30.500, 103.470),  # 桑园镇
    "014": (30.330, 103.105),  # 高何镇
}
# spacing of community centres around the seat: streets are dense, villages spread out
SPACING = {"street": 0.009, "town": 0.022}
COMMUNITY_SIDE = 0.008  # the square (in degrees) a community's micro-grids tile


def _spiral(n: int) -> list[tuple[int, int]]:
    """The first n cells of a square spiral from (0, 0): the town's first community sits on
    its seat and the rest ring around it."""
    cells, x, y, dx, dy = [], 0, 0, 0, -1
    while len(cells) < n:
        cells.append((x, y))
        if x == y or (x < 0 and x == -y) or (x > 0 and x == 1 - y):
            dx, dy = -dy, dx
        x, y = x + dx, y + dy
    return cells


def community_centres(communities) -> dict[int, tuple[float, float]]:
    """(lat, lng) of every community's centre, around its town's real seat."""
    by_town: dict[str, list] = {}
    for community in communities:
        by_town.setdefault(community.town.code, []).append(community)
    for members in by_town.values():
        members.sort(key=lambda c: c.path != HONGCHUAN)  # 洪川社区 on 临邛's seat, the city centre
    out = {}
    for code, members in by_town.items():
        lat0, lng0 = TOWN_SEATS.get(code, (30.41, 103.46))
        step = SPACING["street" if members[0].town.kind == "street" else "town"]
        for community, (dx, dy) in zip(members, _spiral(len(members)), strict=True):
            out[community.pk] = (lat0 + dy * step, lng0 + dx * step * 1.15)
    return out


def _tiles(n: int, lat: float, lng: float) -> list[tuple[float, float, float]]:
    """n square tiles (south-west corner lng, lat and side) around (lat, lng), the tiles
    nearest the centre first, so the centre itself is always covered."""
    side = math.ceil(math.sqrt(n))
    size = COMMUNITY_SIDE / side
    half = side / 2
    slots = sorted(
        ((c, r) for r in range(side) for c in range(side)),
        key=lambda cr: ((cr[0] + 0.5 - half) ** 2 + (cr[1] + 0.5 - half) ** 2, cr[1], cr[0]),
    )[:n]
    slots.sort(key=lambda cr: (cr[1], cr[0]))
    x0, y0 = lng - COMMUNITY_SIDE / 2, lat - COMMUNITY_SIDE / 2
    return [(x0 + c * size, y0 + r * size, size) for c, r in slots]


def _build_grids(rng, communities, stdout, progress):
    """Community 总网格, general grids, micro-grids (with boundaries), special/emergency grids."""
    if Grid.objects.filter(kind=GridKind.MICRO).count() >= MICRO_GRIDS:
        return False
    general_counts = _split(GENERAL_GRIDS, len(communities))
    micro_counts = _split(MICRO_GRIDS, GENERAL_GRIDS)
    rng.shuffle(micro_counts)
    centres = community_centres(communities)
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
    for community in communities:
        own = by_community[community.pk]
        n_micro = sum(micro_counts[k + m] for m in range(len(own)))
        tiles = iter(_tiles(n_micro, *centres[community.pk]))
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
                x, y, size = next(tiles)
                boxes.append(_box(x, y, size, size))
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
    return True


def _build_people(rng, stdout, progress):
    """Party organisations, groups and members; the 1+2+N roster; doctor teams and pairings."""
    user_model = get_user_model()
    if PartyMember.objects.count() >= PARTY_MEMBERS:
        return
    password = password_hash()  # hashed once: 15,000 accounts share the demo password
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
    for start in bar(range(0, len(users), 2000), desc="党员账号", stdout=stdout, progress=progress):
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


def _build_staff(rng) -> None:
    """The people the incident history needs as actors: a community worker in every community
    (洪川 has the staff_hongchuan login), a worker in every town and a handler in every city
    department (dept_zjj is a login). Accounts and grants, like the roster: set-based."""
    user_model = get_user_model()
    if user_model.objects.filter(username__startswith="sq").exists():
        return
    password = password_hash()
    communities = list(Community.objects.select_related("town").order_by("path"))
    towns = {c.town.code: c.town for c in communities}
    wanted = []
    for i, community in enumerate(communities):
        if community.path != HONGCHUAN:  # 洪川 has its demo logins (projects/demo.py)
            for k in range(1, RESIDENTS_PER_COMMUNITY + 1):
                wanted.append((f"jm{i + 1:03d}_{k}", f"居民 {_name(rng)}", Role.RESIDENT, community.path, ""))
            wanted.append(
                (f"sq{i + 1:03d}", f"{community.name} {_name(rng)}", Role.COMMUNITY_STAFF, community.path, "")
            )
    for code, town in sorted(towns.items()):
        if code != "001":
            wanted.append((f"jd{code}", f"{town.name} {_name(rng)}", Role.TOWN_STAFF, town.path, ""))
    for department in Department.objects.order_by("code"):
        if department.code != "zjj":
            wanted.append(
                (
                    f"bm_{department.code}",
                    f"{department.name} {_name(rng)}",
                    Role.DEPARTMENT_HANDLER,
                    settings.CITY_PATH,
                    department.code,
                )
            )
    user_model.objects.bulk_create(
        [user_model(username=u, real_name=name, password=password) for u, name, *_ in wanted]
    )
    ids = dict(user_model.objects.filter(username__in=[w[0] for w in wanted]).values_list("username", "id"))
    Grant.objects.bulk_create(
        [Grant(user_id=ids[u], role=role, path=path, unit=unit) for u, _, role, path, unit in wanted]
    )


def build(*, stdout, progress: bool = True, incidents: int | None = None, also=None) -> dict:
    from .demo_incidents import HANDLED_INCIDENTS, build_incidents

    rng = random.Random(5101830)
    communities = list(Community.objects.select_related("town").order_by("path"))
    if not communities:
        return {}
    with transaction.atomic():
        built = _build_grids(rng, communities, stdout, progress)
        _build_people(rng, stdout, progress)
        _build_staff(rng)
        _hongchuan_logins()
    step_line(
        stdout,
        "网格与人员",
        f"{'已生成' if built else '已存在'} 微网格 {Grid.objects.filter(kind=GridKind.MICRO).count()} 个、"
        f"党员 {PartyMember.objects.count()} 名",
    )
    build_incidents(stdout=stdout, progress=progress, handled=incidents or HANDLED_INCIDENTS, also=also)
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
