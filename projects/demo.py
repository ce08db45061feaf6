"""Demo registry for Qionglai (design §1, §7): 14 towns/streets, 189 villages/communities over
the three classes, compounds (241 乡村集中居住区, 24 renovated 老旧院落, 12 智慧小区 pilots in 6
towns), 6 commercial scenes, plans, problems and the 洪川社区 shared supermarket with twelve
months feeding its micro-fund. Deterministic (seeded), idempotent (matched by code/path).

Town names are Qionglai's; village/community names other than 洪川社区 are generated, and the
town each sits in is illustrative.
"""

from __future__ import annotations

import functools
import random
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from qionglai.users.models import Grant, Role

from . import services
from .models import (
    Community,
    CommunityClass,
    CommunityPlan,
    Compound,
    CompoundKind,
    CompoundProblem,
    Department,
    DepartmentDuty,
    GovernanceMode,
    MicroFund,
    RenewalKind,
    RenewalProject,
    Scene,
    SharedSupermarket,
    SupermarketMonth,
    Town,
)
from .reference import ensure_reference_data

PASSWORD = "demo12345"  # noqa: S105 - the published demo password, printed by rundemo
CITY = settings.CITY_PATH

TOWNS = [
    ("001", "临邛街道", "street", 22),
    ("002", "文君街道", "street", 16),
    ("003", "固驿街道", "street", 13),
    ("004", "羊安街道", "street", 15),
    ("005", "高埂街道", "street", 12),
    ("006", "孔明街道", "street", 12),
    ("007", "平乐镇", "town", 16),
    ("008", "天台山镇", "town", 10),
    ("009", "夹关镇", "town", 11),
    ("010", "火井镇", "town", 12),
    ("011", "南宝山镇", "town", 9),
    ("012", "大同镇", "town", 11),
    ("013", "桑园镇", "town", 16),
    ("014", "高何镇", "town", 14),
]  # communities per town: 189 in all

NAME_HEADS = [
    "红星",
    "白鹤",
    "花楸",
    "油榨",
    "马湖",
    "高桥",
    "石桥",
    "龙泉",
    "凤凰",
    "金鸡",
    "桂花",
    "银杏",
    "永丰",
    "新民",
    "太平",
    "大兴",
    "清水",
    "茶园",
    "竹林",
    "双河",
    "回龙",
    "文脉",
    "南街",
    "西街",
    "东街",
    "北街",
    "鹤林",
    "瓦窑",
    "铁牛",
    "泉水",
    "长安",
    "前进",
    "联合",
    "光明",
    "和平",
    "团结",
    "兴隆",
    "柏林",
    "玉带",
    "临溪",
    "酒乡",
    "古渡",
]
TOP_CLASS_LEAVES = {
    "urban": ["urban.core.oldtown", "urban.core.newtown", "urban.core.commerce", "urban.fringe.mixed"],
    "rural": [
        "rural.feature.tourism",
        "rural.feature.ecology",
        "rural.feature.agri",
        "rural.settled.resettle",
    ],
    "industrial": ["industrial.cluster", "industrial.park", "industrial.citymix"],
}
HONGCHUAN = ("001", "h01", "洪川社区")
SMART_TOWNS = ["001", "002", "004", "007", "009", "013"]  # 12 pilots, two in each of 6 towns
COMMERCIAL_SCENES = [
    "文君街历史文化商业街区",
    "平乐古镇骑龙山文旅市集",
    "天台山镇旅游消费新场景",
    "临邛古城夜间经济街区",
    "羊安街道产业社区生活服务中心",
    "夹关镇茶旅融合消费场景",
]

# 洪川社区's other residents who sign in: with 刘大爷 they are enough for a 小圆桌 to meet
# its quorum and pass a motion (design §5).
NEIGHBOURS = [
    "居民 陈阿姨",
    "居民 王叔",
    "居民 李姐",
    "居民 赵老师",
    "居民 孙大哥",
    "居民 周婆婆",
    "居民 吴师傅",
    "居民 郑小妹",
]


@functools.cache
def password_hash() -> str:
    """The demo password hashed once per build (PBKDF2 takes a noticeable fraction of a second
    each time): every demo login shares it, as the bulk-created roster already does."""
    return make_password(PASSWORD)


def _user(username: str, real_name: str, phone: str, grants: list[tuple[str, str, str]], **extra):
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username=username, defaults={"real_name": real_name, "phone": phone, **extra}
    )
    if created:
        user.password = password_hash()
        user.save(update_fields=["password"])
    for role, path, unit in grants:
        Grant.objects.get_or_create(user=user, role=role, path=path, unit=unit, retired_at=None)
    return user


def build_users(admin_only: bool = False):
    admin = _user(
        "admin", "管理员", "13800000000", [(Role.ADMIN, CITY, "")], is_staff=True, is_superuser=True
    )
    if admin_only:
        return admin
    hongchuan = Community.objects.get(path=f"{CITY}.{HONGCHUAN[0]}.{HONGCHUAN[1]}")
    _user("city", "市委社治委 李明", "13800000001", [(Role.CITY_STAFF, CITY, "")])
    _user("town_linqiong", "临邛街道 王芳", "13800000002", [(Role.TOWN_STAFF, f"{CITY}.001", "")])
    _user("staff_hongchuan", "洪川社区 张丽", "13800000003", [(Role.COMMUNITY_STAFF, hongchuan.path, "")])
    _user("resident_hongchuan", "居民 刘大爷", "13800000004", [(Role.RESIDENT, hongchuan.path, "")])
    _user("dept_zjj", "住建局 赵刚", "13800000005", [(Role.DEPARTMENT_HANDLER, CITY, "zjj")])
    for i, name in enumerate(NEIGHBOURS, start=1):
        _user(f"resident_hongchuan_{i}", name, f"138000001{i:02d}", [(Role.RESIDENT, hongchuan.path, "")])
    return admin


@transaction.atomic
def build(*, stdout, progress: bool = True) -> dict:
    rng = random.Random(510183)
    progress = progress and not Community.objects.exists()  # a second run shows no empty bars
    ensure_reference_data(
        scene_model=Scene, class_model=CommunityClass, department_model=Department, duty_model=DepartmentDuty
    )
    admin = build_users(admin_only=True)
    classes = {c.code: c for c in CommunityClass.objects.all()}
    scenes = list(Scene.objects.all())

    towns = {}
    for code, name, kind, _ in TOWNS:
        town = Town.objects.filter(code=code).first() or services.town_create(
            actor=admin, code=code, name=name, kind=kind
        )
        towns[code] = town

    used_names: set[str] = set()
    plan = []
    for code, _name, _kind, count in TOWNS:
        for i in range(1, count + 1):
            if (code, f"h{i:02d}") == HONGCHUAN[:2] or (code == HONGCHUAN[0] and i == 1):
                plan.append((code, HONGCHUAN[1], HONGCHUAN[2], "community", "urban"))
                continue
            is_village = code not in {"001", "002", "003"} and rng.random() < 0.72
            top = "rural" if is_village else ("industrial" if rng.random() < 0.22 else "urban")
            while True:
                head = rng.choice(NAME_HEADS) + rng.choice(NAME_HEADS)[0]
                name = f"{head}{'村' if is_village else '社区'}"
                if name not in used_names:
                    used_names.add(name)
                    break
            plan.append(
                (
                    code,
                    f"{'v' if is_village else 'c'}{i:02d}",
                    name,
                    "village" if is_village else "community",
                    top,
                )
            )

    communities = []
    for code, ccode, name, kind, top in tqdm(plan, desc="村（社区）", disable=not progress, file=stdout):
        town = towns[code]
        community = Community.objects.filter(town=town, code=ccode).first()
        if community is None:
            households = rng.randint(600, 4200)
            community = services.community_create(
                actor=admin,
                town=town,
                code=ccode,
                name=name,
                kind=kind,
                community_class=classes[rng.choice(TOP_CLASS_LEAVES[top])],
                is_demonstration=rng.random() < 0.12,
                is_future_park=rng.random() < 0.05,
                households=households,
                population=int(households * rng.uniform(2.4, 3.1)),
            )
        communities.append(community)

    hongchuan = next(c for c in communities if c.name == HONGCHUAN[2])
    villages = [c for c in communities if c.kind == "village"]
    urban = [c for c in communities if c.kind == "community"]

    # compounds: (kind, count, pool)
    wanted = [
        (CompoundKind.RURAL_SETTLEMENT, 241, villages, "r"),
        (CompoundKind.OLD_COURTYARD, 24, urban, "o"),
        (CompoundKind.COMMERCIAL, 160, urban, "s"),
        (CompoundKind.RESETTLEMENT, 40, urban, "a"),
    ]
    modes = list(GovernanceMode.values)
    all_compounds = []
    for kind, count, pool, prefix in wanted:
        for i in tqdm(range(1, count + 1), desc=CompoundKind(kind).label, disable=not progress, file=stdout):
            community = (
                pool[(i * 7) % len(pool)] if kind != CompoundKind.OLD_COURTYARD or i > 3 else hongchuan
            )
            code = f"{prefix}{i:03d}"
            compound = Compound.objects.filter(community=community, code=code).first()
            if compound is None:
                label = {"r": "集中居住区", "o": "院落", "s": "小区", "a": "安置小区"}[prefix]
                compound = services.compound_create(
                    actor=admin,
                    community=community,
                    code=code,
                    name=f"{community.name.removesuffix('社区').removesuffix('村')}{i}号{label}",
                    kind=kind,
                    governance_mode=modes[i % 3],
                    households=rng.randint(40, 600),
                    property_company="" if prefix in "ro" else f"{rng.choice(NAME_HEADS)}物业服务有限公司",
                    renovated=prefix == "o",
                )
            all_compounds.append(compound)

    smart = [c for c in all_compounds if c.kind == CompoundKind.COMMERCIAL]
    chosen = []
    for town_code in SMART_TOWNS:
        chosen += [c for c in smart if c.path.split(".")[1] == town_code][:2]
    for compound in chosen:
        if not compound.is_smart:
            services.compound_update(
                actor=admin,
                compound=compound,
                is_smart=True,
                smart_devices={"face_recognition": 4, "vehicle_recognition": 2, "public_safety_cameras": 16},
            )

    # 一社一策 for every community, this year
    year = timezone.localdate().year
    for i, community in enumerate(tqdm(communities, desc="一社一策", disable=not progress, file=stdout)):
        if not CommunityPlan.objects.filter(community=community, year=year).exists():
            services.plan_save(
                actor=admin,
                community=community,
                year=year,
                goals=f"{community.name}{year}年治理与发展目标",
                measures="完善网格服务；打造社区场景；培育社区社会组织",
                scene_codes=[s.code for s in rng.sample(scenes, 3)],
                phase=["priority", "steady", "later"][i % 3],
            )

    # renewal projects: 6 commercial scenes, old-courtyard renovations, smart compounds, micro-renewals
    culture = next(s for s in scenes if s.code == "culture")
    for i, name in enumerate(COMMERCIAL_SCENES):
        community = towns[["002", "007", "008", "001", "004", "009"][i]].communities.order_by("path").first()
        if not RenewalProject.objects.filter(name=name).exists():
            services.renewal_create(
                actor=admin,
                community=community,
                name=name,
                kind=RenewalKind.COMMERCIAL_SCENE,
                scene=culture,
                budget=Decimal(rng.randint(80, 400) * 10000),
                funding_sources="市级财政、社会资本",
            )
    for compound in [c for c in all_compounds if c.kind == CompoundKind.OLD_COURTYARD]:
        name = f"{compound.name}改造"
        if not RenewalProject.objects.filter(name=name).exists():
            project = services.renewal_create(
                actor=admin,
                community=compound.community,
                compound=compound,
                name=name,
                kind=RenewalKind.OLD_COURTYARD,
                scene=next(s for s in scenes if s.code == "space"),
                budget=Decimal(rng.randint(30, 180) * 10000),
                funding_sources="中央补助、市级配套、居民自筹",
            )
            # the 24 renovated courtyards are done and evaluated
            for note in ("立项批复", "开工", "竣工验收", "居民评价完成"):
                services.renewal_advance(actor=admin, project=project, note=note)
    for compound in chosen:
        name = f"{compound.name}智慧小区建设"
        if not RenewalProject.objects.filter(name=name).exists():
            project = services.renewal_create(
                actor=admin,
                community=compound.community,
                compound=compound,
                name=name,
                kind=RenewalKind.SMART_COMPOUND,
                scene=next(s for s in scenes if s.code == "smart"),
                budget=Decimal(rng.randint(20, 60) * 10000),
                funding_sources="市级财政",
            )
            services.renewal_advance(actor=admin, project=project, note="立项批复")
            services.renewal_advance(actor=admin, project=project, note="设备进场安装")

    # 小区问题清单: a few per old courtyard
    topics = [
        "楼道照明损坏",
        "雨污管网堵塞",
        "电动车飞线充电",
        "公共区域杂物堆放",
        "停车位不足",
        "外墙瓷砖脱落",
    ]
    for compound in [c for c in all_compounds if c.kind == CompoundKind.OLD_COURTYARD]:
        if not CompoundProblem.objects.filter(compound=compound).exists():
            for title in rng.sample(topics, 2):
                services.problem_raise(actor=admin, compound=compound, title=title, source="staff")

    # 洪川社区 shared supermarket: twelve months of figures, each posting 10% of net profit once
    supermarket, _ = SharedSupermarket.objects.get_or_create(
        community=hongchuan,
        name="洪川社区共享超市",
        defaults={"member_households": 312, "path": hongchuan.path},
    )
    today = timezone.localdate().replace(day=1)
    for back in range(12, 0, -1):
        month = date(today.year - (1 if today.month - back <= 0 else 0), (today.month - back - 1) % 12 + 1, 1)
        if not SupermarketMonth.objects.filter(supermarket=supermarket, month=month).exists():
            revenue = Decimal(rng.randint(9_000_000, 16_000_000)) / 100
            services.supermarket_record_month(
                actor=admin,
                supermarket=supermarket,
                month=month,
                revenue=revenue,
                net_profit=(revenue * Decimal(rng.uniform(0.08, 0.14))).quantize(Decimal("0.01")),
            )
    fund = MicroFund.objects.get(community=hongchuan)
    services.fund_inflow(
        actor=admin,
        fund=fund,
        kind="donation",
        amount=Decimal("5000"),
        idempotency_key="demo:hongchuan:donation:1",
        note="辖区企业捐赠",
    )

    build_users()
    return {
        "镇（街道）": Town.objects.count(),
        "村（社区）": Community.objects.count(),
        "小区（院落）": Compound.objects.count(),
        "乡村集中居住区": Compound.objects.filter(kind=CompoundKind.RURAL_SETTLEMENT).count(),
        "已改造老旧院落": Compound.objects.filter(kind=CompoundKind.OLD_COURTYARD, renovated=True).count(),
        "智慧小区": Compound.objects.filter(is_smart=True).count(),
        "商业场景": RenewalProject.objects.filter(kind=RenewalKind.COMMERCIAL_SCENE).count(),
        "洪川社区微基金余额（元）": MicroFund.objects.get(community=hongchuan).balance,
    }
