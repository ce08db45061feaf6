"""Demo points (design §1, §6): accounts for every person holding a party-member, resident or
community-staff grant and a 社区党委 account per community; 105 签约商户, 31 爱心超市 and
洪川社区共享超市 with offers and a counter operator each; and a year of history written through
the points services under a moved clock — claims 申报 → 审核 → 公示 → 生效, deductions, one
prohibited-list sanction, orders collected with their real 6-digit codes at the counter,
cancellations, orders left to expire, donations and pool grants.

Totals come out of the activity: 81,434 points earned is what the incident and consultation
history awarded through the receivers plus the claims chosen here, each worth exactly its
rule's points × quantity; 213 is the number of orders collected at a counter.
Idempotent: merchants are matched by code; the history is written once (keyed `demo:`).
"""

from __future__ import annotations

import io
import random
from collections import defaultdict
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import Count, F, Max, Q, Sum
from django.utils import timezone
from PIL import Image

from projects.demo import HONGCHUAN, _user, password_hash
from projects.models import Community
from qionglai.core.demo_support import Timeline, bar, moved_clock, notices_mark_read, step_line
from qionglai.users import access
from qionglai.users.models import Grant, Role

from . import services
from .models import (
    CLASS_ROLE,
    Account,
    AccountKind,
    Claim,
    ClaimStatus,
    Entry,
    HolderClass,
    Merchant,
    MerchantKind,
    Offer,
    Redemption,
    RedemptionStatus,
    Rule,
    TxKind,
)
from .services.ledger import community_path

EARNED_TOTAL = 81_434
REDEMPTIONS = 213
SIGNED, CHARITY = 105, 31
SHARED_CODE = "hc-shared"


SHOP_KINDS = [
    ("便民超市", [("洗衣液一瓶", 30), ("5 公斤大米", 80), ("食用油一桶", 60), ("抽纸一提", 15)]),
    ("理发店", [("理发一次", 20), ("老人上门理发", 25)]),
    ("药房", [("常用药品包", 40), ("血压测量一次", 5)]),
    ("茶馆", [("盖碗茶一杯", 5), ("茶叶一盒", 45)]),
    ("家电维修部", [("上门维修工时一次", 50), ("清洗油烟机", 60)]),
    ("面馆", [("素面一碗", 12), ("牛肉面一碗", 20)]),
    ("文具店", [("学生文具套装", 25), ("作业本一套", 8)]),
    ("水果店", [("时令水果一份", 18)]),
]
CHARITY_OFFERS = [("毛巾一条", 8), ("牙膏一支", 10), ("洗衣粉一袋", 15), ("酱油一瓶", 12), ("挂面一把", 6)]
SHARED_OFFERS = [("鸡蛋一板", 25), ("菜籽油一桶", 70), ("本地腊肉 500 克", 60), ("大米 10 公斤", 120)]


def _merchants(
    rng: random.Random, communities: list[Community], hongchuan: Community, admin
) -> list[Merchant]:
    """Merchants and offers through the services, and a counter operator for each merchant
    (an account with a merchant grant, like a roster entry)."""
    wanted = []
    for i in range(SIGNED):
        community = communities[(i * 7) % len(communities)] if i else hongchuan
        label, offers = SHOP_KINDS[i % len(SHOP_KINDS)]
        wanted.append(
            (
                f"s{i + 1:03d}",
                f"{community.name.removesuffix('社区').removesuffix('村')}{label}",
                MerchantKind.SIGNED,
                community,
                offers,
            )
        )
    for i, community in enumerate(rng.sample(communities, CHARITY)):
        wanted.append(
            (f"c{i + 1:03d}", f"{community.name}爱心超市", MerchantKind.CHARITY, community, CHARITY_OFFERS)
        )
    wanted.append((SHARED_CODE, "洪川社区共享超市", MerchantKind.SHARED, hongchuan, SHARED_OFFERS))
    existing = {m.code: m for m in Merchant.objects.filter(code__in=[w[0] for w in wanted])}
    if len(existing) == len(wanted):
        return [existing[w[0]] for w in wanted]
    merchants = []
    for code, name, kind, community, choices in wanted:
        merchant = existing.get(code) or services.merchant_create(
            actor=admin,
            code=code,
            name=name,
            kind=kind,
            path=community.path,
            address=f"{community.name}{rng.randint(1, 120)} 号",
        )
        for title, price in rng.sample(choices, min(len(choices), rng.randint(2, 3))):
            services.offer_create(
                actor=admin,
                merchant=merchant,
                title=title,
                price=price,
                stock=rng.randint(30, 200),
                per_person_limit=rng.choice([0, 0, 2, 5]),
            )
        merchants.append(merchant)
    user_model = get_user_model()
    password = password_hash()
    operators = [m for m in merchants if m.code not in {SHARED_CODE, merchants[SIGNED].code}]
    user_model.objects.bulk_create(
        [
            user_model(username=f"shop_{m.code}", real_name=f"{m.name} 店员", password=password)
            for m in operators
        ]
    )
    ids = dict(user_model.objects.filter(username__startswith="shop_").values_list("username", "id"))
    Grant.objects.bulk_create(
        [
            Grant(user_id=ids[f"shop_{m.code}"], role=Role.MERCHANT, path=m.path, unit=m.code)
            for m in operators
        ]
    )
    return merchants


def _accounts(communities: list[Community]) -> int:
    """One account per (person, class) their grants give them, and a 社区党委 account per
    community; bulk-opened, matched on the unique (user, class) / org code. Returns how many
    holder accounts there are."""
    role_class = {role: cls for cls, role in CLASS_ROLE.items()}
    labels = {cls: str(HolderClass(cls).label) for cls in role_class.values()}  # ~16,000 names
    have = set(
        Account.objects.filter(kind=AccountKind.HOLDER, user__isnull=False).values_list(
            "user_id", "holder_class"
        )
    )
    new, seen = [], set()
    grants = (
        Grant.objects.filter(role__in=list(role_class), retired_at__isnull=True)
        .select_related("user")
        .order_by("user_id", "id")
    )
    for grant in grants.iterator(chunk_size=5000):
        cls = role_class[grant.role]
        key = (grant.user_id, cls)
        if key in have or key in seen:
            continue
        seen.add(key)
        new.append(
            Account(
                kind=AccountKind.HOLDER,
                holder_class=cls,
                user_id=grant.user_id,
                path=community_path(grant.path),
                name=f"{grant.user.display_name}（{labels[cls]}）",
            )
        )
    have_orgs = set(Account.objects.filter(holder_class=HolderClass.ORG).values_list("org_code", flat=True))
    for community in communities:
        code = f"party.{community.path}"
        if code not in have_orgs:
            new.append(
                Account(
                    kind=AccountKind.HOLDER,
                    holder_class=HolderClass.ORG,
                    org_code=code,
                    path=community.path,
                    name=f"{community.name}党委",
                )
            )
    Account.objects.bulk_create(new, batch_size=5000)
    return Account.objects.filter(kind=AccountKind.HOLDER).count()


def _photo() -> SimpleUploadedFile:
    """A drawn stand-in for the evidence photo a negative-list entry needs."""
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (180, 170, 150)).save(buffer, "JPEG", quality=70)
    return SimpleUploadedFile("evidence.jpg", buffer.getvalue(), content_type="image/jpeg")


def earned_total() -> int:
    """Points earned: the sum of earn entries on holder accounts (the headline figure)."""
    return (
        Entry.objects.filter(account__kind=AccountKind.HOLDER, kind=TxKind.EARN).aggregate(s=Sum("amount"))[
            "s"
        ]
        or 0
    )


def _amounts(remaining: int, rng: random.Random) -> list[tuple[str, int]]:
    """Claims (rule code, quantity) worth exactly `remaining` points: mostly 10-point items
    (邻里互助, 应急值守, 双报到), three to eight times at once, and 2- and 3-point items recorded at offline
    院坝会 for the last few points. Every claim is its rule's points × quantity."""
    out = []
    tens, rest = divmod(remaining, 10)
    if rest == 1:  # 1 = 11 - 10: three 3s and a 2
        tens, rest = tens - 1, 11
    while tens > 0:
        q = min(tens, rng.choice([3, 4, 5, 6, 8]))
        out.append((rng.choice(["P11", "P12", "P09"]), q))
        tens -= q
    threes = {0: 0, 2: 0, 3: 1, 4: 0, 5: 1, 6: 2, 7: 1, 8: 2, 9: 3, 11: 3}[rest]
    twos = (rest - 3 * threes) // 2
    out += [("P02", 1)] * threes + [("P03", 1)] * twos
    return out


class Spenders:
    """Residents who can spend: their grants cover their community, so they may spend there
    (party members' points are their scorecard). `latest` holds each account's newest entry
    from the history told before this step (incident and meeting awards): points activity on
    an account starts no earlier, so its entries are written in time order."""

    def __init__(self, latest: dict[int, object]):
        self.latest = latest

    def free_at(self, account_id: int, moment) -> bool:
        last = self.latest.get(account_id)
        return last is None or last <= moment

    def pick(self, rng: random.Random, price: int, moment, first: Account | None = None) -> Account:
        if first is not None:
            first.refresh_from_db(fields=["balance"])
            if first.balance >= price and self.free_at(first.pk, moment):
                return first
        able = [
            pk
            for pk in Account.objects.filter(
                kind=AccountKind.HOLDER,
                holder_class=HolderClass.RESIDENT,
                balance__gte=price,
                user__grants__role=Role.RESIDENT,
                user__grants__path=F("path"),
                user__grants__retired_at__isnull=True,
            )
            .exclude(user__username="resident_wang")
            .order_by("id")
            .values_list("id", flat=True)
            if self.free_at(pk, moment)
        ]
        return Account.objects.select_related("user").get(pk=rng.choice(able))


def _beat(first, last):
    """The daily timers beat runs (design §6): publicity windows that ended become effective,
    orders not collected by their deadline are refunded."""
    day = first.replace(hour=0, minute=5, second=0, microsecond=0)
    while day <= last:
        moment = yield day
        while services.claims_close_due(now=moment):
            pass
        services.redemptions_expire_due(now=moment)
        day += timedelta(days=1)


def _history(rng, *, merchants, staff_by_path, home: str, stdout, progress) -> None:
    """A year of points activity as stories on one timeline (core.demo_support.Timeline):
    claims, deductions, orders collected, cancelled or left to expire, donations and pool
    grants, with beat's daily sweeps, all written in the order they happened."""
    now = timezone.now()
    start = now - timedelta(days=330)
    rules = {r.code: r for r in Rule.objects.all()}
    user_model = get_user_model()
    people = list(
        Account.objects.filter(
            kind=AccountKind.HOLDER,
            user__isnull=False,
            holder_class__in=[HolderClass.PARTY_MEMBER, HolderClass.RESIDENT],
        )
        .select_related("user")
        .order_by("id")
    )
    demo_residents = {
        a.user.username: a for a in people if a.path == home and a.holder_class == HolderClass.RESIDENT
    }
    party = [a for a in people if a.holder_class == HolderClass.PARTY_MEMBER]
    resident_users = set(
        Grant.objects.filter(role=Role.RESIDENT, retired_at__isnull=True).values_list("user_id", flat=True)
    )
    residents = [
        a
        for a in people
        if a.holder_class == HolderClass.RESIDENT
        and a.user_id in resident_users
        and a.user.username != "resident_wang"
    ]
    latest = dict(
        Entry.objects.filter(account__kind=AccountKind.HOLDER)
        .values("account_id")
        .annotate(last=Max("created_at"))
        .values_list("account_id", "last")
    )
    spenders = Spenders(latest)
    stories = []

    # what to claim: the city's total less what incidents and meetings already awarded
    plan = _amounts(EARNED_TOTAL - earned_total(), rng)
    p09_used: dict[int, int] = defaultdict(int)  # 双报到 is capped at 240 a year
    for code, quantity in plan:
        at = start + timedelta(seconds=rng.randint(0, 300 * 86400))
        at = at.replace(hour=rng.randint(1, 10))
        while True:
            if code == "P09":
                account = rng.choice(party)
            else:
                account = rng.choice(residents if rng.random() < 0.5 else party)
            if spenders.free_at(account.pk, at):
                break
        if code == "P09":
            if p09_used[account.pk] + 10 * quantity > 200:
                code = "P11"
            else:
                p09_used[account.pk] += 10 * quantity
        stories.append(_claim_story(rng, at, account, rules[code], quantity, staff_by_path))

    late = now - timedelta(days=40)

    def when(low_days=0.0, high_days=36.0):
        return late + timedelta(days=rng.uniform(low_days, high_days))

    # deductions (negative list), recorded by community staff with a photo where the rule asks
    negative = [rules[c] for c in ("N01", "N02", "N03", "N04", "N05")]
    for i in range(40):
        stories.append(_deduction_story(rng, i, when(0, 20), negative, rules, party, spenders, staff_by_path))

    # orders: collected at the counter with the code the resident shows, some cancelled,
    # some left uncollected until the expiry sweep refunds them
    offers = list(Offer.objects.filter(merchant__in=merchants).select_related("merchant").order_by("id"))
    operators = {
        g.unit: g.user
        for g in Grant.objects.filter(role=Role.MERCHANT, retired_at__isnull=True).select_related("user")
    }
    outcomes = ["collect"] * REDEMPTIONS + ["cancel"] * 12 + ["expire"] * 8
    rng.shuffle(outcomes)
    first = demo_residents.get("resident_hongchuan")
    for n, outcome in enumerate(outcomes):
        t = when(0, 30)
        if n < 3 and first is not None:  # 刘大爷's own orders come after his latest award
            t = max(t, min(latest.get(first.pk, t) + timedelta(minutes=20), now - timedelta(hours=3)))
        stories.append(
            _order_story(rng, n, t, outcome, offers, operators, spenders, first if n < 3 else None, now)
        )

    # donations to the community pool and to neighbours; the pool pays out to 洪川 families
    for n in range(96):
        stories.append(_donation_story(rng, n, when(0, 38), residents, spenders))
    families = [
        demo_residents[u] for u in ("resident_hongchuan_6", "resident_hongchuan_7") if u in demo_residents
    ]
    for n, receiver in enumerate(families):
        t = now - timedelta(days=2, hours=n)
        t = max(t, min(latest.get(receiver.pk, t) + timedelta(minutes=10), now - timedelta(minutes=30)))
        stories.append(_grant_story(t, n, home, receiver, staff_by_path[home]))

    with moved_clock(start) as clock:
        timeline = Timeline(clock, start)
        timeline.add(_beat(start, now - timedelta(hours=1)))
        for story in stories:
            timeline.add(story)
        with bar(
            None,
            total=len(stories) + 1,
            desc="积分（申报、审核、兑换、捐赠）",
            stdout=stdout,
            progress=progress,
        ) as b:
            timeline.run(tick=b.update)
    users = user_model.objects.filter(
        Q(username__startswith="resident_hongchuan") | Q(username__startswith="merchant_")
    )
    notices_mark_read(users=users, before=now - timedelta(days=2))


CLAIM_NOTES = {
    "P02": "参加院坝会议事（线下签到）",
    "P03": "院坝会上发言建言（线下记录）",
    "P09": "到社区报到并参加志愿服务",
    "P11": "帮助邻居调解矛盾、照顾老人",
    "P12": "参加防汛巡查值守",
}


def _claim_story(rng, at, account, rule, quantity, staff_by_path):
    """申报 → 审核 on the day, 公示 for the rule's days, 生效 when the daily sweep finds it due."""
    t = yield at
    staff = staff_by_path[account.path]
    # a holder claims for themself where their grant covers the account's community;
    # party members (whose grant is their micro-grid) have it recorded by staff (代录)
    by_staff = (
        rule.code in {"P02", "P03"}
        or rng.random() < 0.3
        or not access.can(account.user, "points.claim_own", account.path)
    )
    claim = services.claim_submit(
        actor=staff if by_staff else account.user,
        account=account,
        rule=rule,
        quantity=quantity,
        note=CLAIM_NOTES[rule.code],
    )
    yield t + timedelta(hours=rng.randint(2, 30))
    services.claim_review(actor=staff, claim=claim, approve=True, note="情况属实")


def _deduction_story(rng, i, at, negative, rules, party, spenders, staff_by_path):
    t = yield at
    if i % 2:
        account = spenders.pick(rng, 20, t)
    else:
        account = rng.choice([a for a in party if spenders.free_at(a.pk, t)])
    rule = negative[i % len(negative)]
    if not rule.applies_to(account.holder_class):
        rule = rules["N01"]
    staff = staff_by_path[account.path]
    claim = services.claim_submit(
        actor=staff,
        account=account,
        rule=rule,
        note=f"{rule.name}，经劝导后登记",
        evidence=_photo() if rule.evidence_required else None,
    )
    services.claim_review(actor=staff, claim=claim, approve=True, note="核实无误")


def _order_story(rng, n, at, outcome, offers, operators, spenders, first, now):
    t = yield at
    account = spenders.pick(rng, 5, t, first=first)
    shared = [o for o in offers if o.merchant.code == SHARED_CODE]
    # what this holder can afford, within the offer's per-person limit
    taken = dict(
        Redemption.objects.filter(account=account)
        .values("offer_id")
        .annotate(n=Count("id"))
        .values_list("offer_id", "n")
    )
    pool = [o for o in (shared if n % 6 == 0 else offers) if o.price <= account.balance]
    pool = [
        o
        for o in pool or [o for o in offers if o.price <= account.balance]
        if not o.per_person_limit or taken.get(o.pk, 0) < o.per_person_limit
    ]
    offer = rng.choice(pool)
    redemption = services.redemption_order(
        actor=account.user, offer=offer, account=account, idempotency_key=f"demo:{n}"
    )
    if outcome == "collect":
        yield min(t + timedelta(hours=rng.uniform(0.2, 72)), now - timedelta(minutes=5))
        services.redemption_verify(actor=operators[offer.merchant.code], code=redemption.code)
    elif outcome == "cancel":
        yield min(t + timedelta(hours=rng.uniform(0.5, 30)), now - timedelta(minutes=5))
        services.redemption_cancel(actor=account.user, redemption=redemption)


def _donation_story(rng, n, at, residents, spenders):
    t = yield at
    account = spenders.pick(rng, 5, t)
    amount = min(account.balance, rng.choice([5, 10, 10, 20, 50]))
    neighbours = [
        a for a in residents if a.pk != account.pk and a.path == account.path and spenders.free_at(a.pk, t)
    ]
    if rng.random() < 0.75 or not neighbours:
        target = services.pool_for(account.path)
    else:
        target = rng.choice(neighbours)
    services.donation_make(
        actor=account.user,
        from_account=account,
        to_account=target,
        amount=amount,
        idempotency_key=f"demo:{n}",
        note="邻里互助",
    )


def _grant_story(at, n, home, receiver, staff):
    yield at
    home_pool = services.pool_for(home)
    if home_pool.balance < 20:
        return
    services.pool_grant(
        actor=staff,
        pool=home_pool,
        to_account=receiver,
        amount=20,
        reason="困难家庭帮扶",
        idempotency_key=f"demo:grant:{n}",
    )


def build(*, stdout, progress: bool = True) -> dict:
    rng = random.Random(81434)
    communities = list(Community.objects.order_by("path"))
    hongchuan = next(c for c in communities if c.name == HONGCHUAN[2])
    admin = get_user_model().objects.get(username="admin")
    with transaction.atomic():
        merchants = _merchants(rng, communities, hongchuan, admin)
        shared = next(m for m in merchants if m.code == SHARED_CODE)
        charity = next(m for m in merchants if m.kind == MerchantKind.CHARITY)
        _user(
            "merchant_hongchuan",
            "共享超市 收银员 小何",
            "13800000021",
            [(Role.MERCHANT, hongchuan.path, shared.code)],
        )
        _user(
            "merchant_love",
            f"{charity.name} 志愿者 小罗",
            "13800000022",
            [(Role.MERCHANT, charity.path, charity.code)],
        )
        accounts = _accounts(communities)  # a count
    if Claim.objects.filter(status=ClaimStatus.EFFECTIVE, rule__source_event="").exists():
        step_line(stdout, "积分", f"已存在 {accounts} 个积分账户，累计获得 {earned_total()} 分")
    else:
        staff_by_path = {}
        for grant in (
            Grant.objects.filter(role=Role.COMMUNITY_STAFF, retired_at__isnull=True)
            .select_related("user")
            .order_by("user__username")
        ):
            if grant.user.username == "staff_hongchuan" or grant.path not in staff_by_path:
                staff_by_path[grant.path] = grant.user
        _history(
            rng,
            merchants=merchants,
            staff_by_path=staff_by_path,
            home=hongchuan.path,
            stdout=stdout,
            progress=progress,
        )
        violator = _user("resident_wang", "居民 王某", "13800000023", [(Role.RESIDENT, hongchuan.path, "")])
        x_account = services.account_open(
            user=violator, holder_class=HolderClass.RESIDENT, path=hongchuan.path
        )
        services.sanction_apply(
            actor=staff_by_path[hongchuan.path],
            account=x_account,
            rule=Rule.objects.get(code="X03"),
            reason="违法搭建彩钢棚，经多次劝导拒不整改",
        )
    holder = Entry.objects.filter(account__kind=AccountKind.HOLDER)
    return {
        "积分账户": Account.objects.filter(kind=AccountKind.HOLDER).count(),
        "签约商户": Merchant.objects.filter(kind=MerchantKind.SIGNED).count(),
        "爱心超市": Merchant.objects.filter(kind=MerchantKind.CHARITY).count(),
        "累计获得积分": earned_total(),
        "兑换次数": Redemption.objects.filter(status=RedemptionStatus.SETTLED).count(),
        "扣减积分": -(holder.filter(kind=TxKind.DEDUCT).aggregate(s=Sum("amount"))["s"] or 0),
    }
