"""Demo points data (design §1, §8): accounts for every person holding a party-member,
resident or community-staff grant and a 社区党委 account per community; 105 签约商户, 31
爱心超市 and 洪川社区共享超市 with offers; and a year of history whose totals are exactly
81,434 points earned and 213 redemptions, plus deductions, donations, pool grants and one
sanction.

Fast: the history is written with bulk inserts, but every transaction is built as balanced
legs and every stored balance is the running sum of its entries (`points_verify` passes).
Idempotent: merchants and accounts are matched by code; the history is written once
(its transactions carry `demo:` keys).
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import timedelta

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from projects.demo import HONGCHUAN, _user
from projects.models import Community
from qionglai.users.models import Grant, Role

from . import services
from .models import (
    CLASS_ROLE,
    Account,
    AccountKind,
    Claim,
    ClaimStatus,
    Donation,
    Entry,
    HolderClass,
    Merchant,
    MerchantKind,
    Offer,
    PoolGrant,
    Redemption,
    RedemptionStatus,
    Rule,
    Transaction,
    TxKind,
)
from .services.ledger import community_path

EARNED_TOTAL = 81_434
REDEMPTIONS = 213
SIGNED, CHARITY = 105, 31
SHARED_CODE = "hc-shared"

LOGINS = [
    ("merchant_hongchuan", "洪川社区共享超市柜台核销员（积分兑换）"),
    ("merchant_love", "爱心超市柜台核销员"),
    ("resident_wang", "洪川社区居民，受禁止清单处理（暂停兑换、取消评优）"),
]

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


def _merchants(rng: random.Random, communities: list[Community], hongchuan: Community) -> list[Merchant]:
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
    new = [
        Merchant(
            code=code,
            name=name,
            kind=kind,
            path=community.path,
            address=f"{community.name}{rng.randint(1, 120)} 号",
        )
        for code, name, kind, community, _ in wanted
        if code not in existing
    ]
    for m in Merchant.objects.bulk_create(new):
        existing[m.code] = m
    merchants = [existing[w[0]] for w in wanted]
    have_offers = set(Offer.objects.filter(merchant__in=merchants).values_list("merchant_id", flat=True))
    offers = []
    for merchant, (_, _, _, _, choices) in zip(merchants, wanted, strict=True):
        if merchant.pk in have_offers:
            continue
        for title, price in rng.sample(choices, min(len(choices), rng.randint(2, 3))):
            offers.append(
                Offer(
                    merchant=merchant,
                    title=title,
                    price=price,
                    stock=rng.randint(30, 200),
                    per_person_limit=rng.choice([0, 0, 2, 5]),
                    path=merchant.path,
                )
            )
    Offer.objects.bulk_create(offers)
    return merchants


def _accounts(communities: list[Community]) -> list[Account]:
    """One account per (person, class) their grants give them, and a 社区党委 account per
    community; bulk-opened, matched on the unique (user, class) / org code."""
    role_class = {role: cls for cls, role in CLASS_ROLE.items()}
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
                name=f"{grant.user.display_name}（{HolderClass(cls).label}）",
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
    return list(Account.objects.filter(kind=AccountKind.HOLDER).order_by("id"))


class _Book:
    """Builds balanced transactions in memory, in time order, with running balances."""

    def __init__(self):
        self.txs: list[Transaction] = []
        self.legs: list[list[tuple[Account, int, int]]] = []
        # opening balances: other apps' demo events may already have awarded points
        self.opening: dict[int, int] = dict(
            Account.objects.exclude(kind__in=["issuance", "hold"])
            .filter(balance__gt=0)
            .values_list("pk", "balance")
        )
        self.balance: dict[int, int] = defaultdict(int, self.opening)
        self.n = 0

    def add(self, *, kind, legs, path, at, memo, actor=None, on_behalf=False) -> int:
        legs = [
            leg for leg in legs if leg[1] or leg[2]
        ]  # a deduction from an empty balance moves only the score
        if sum(amount for _, amount, _ in legs) != 0:
            raise ValueError(f"unbalanced demo transaction: {legs}")
        for account, amount, _ in legs:
            if not account.is_derived:
                if self.balance[account.pk] + amount < 0:
                    raise ValueError(f"demo history would overdraw account {account.pk}")
                self.balance[account.pk] += amount
        self.n += 1
        self.txs.append(
            Transaction(
                kind=kind,
                idempotency_key=f"demo:{self.n}",
                memo=memo[:300],
                path=path,
                created_at=at,
                actor=actor,
                on_behalf=on_behalf,
            )
        )
        self.legs.append(legs)
        return len(self.txs) - 1

    def write(self) -> list[Transaction]:
        Transaction.objects.bulk_create(self.txs, batch_size=2000)
        running: dict[int, int] = defaultdict(int, self.opening)
        entries = []
        for tx, legs in zip(self.txs, self.legs, strict=True):
            for account, amount, score in legs:
                after = None
                if not account.is_derived:
                    running[account.pk] += amount
                    after = running[account.pk]
                entries.append(
                    Entry(
                        transaction=tx,
                        account_id=account.pk,
                        amount=amount,
                        score_delta=score,
                        balance_after=after,
                        kind=tx.kind,
                        created_at=tx.created_at,
                    )
                )
        Entry.objects.bulk_create(entries, batch_size=5000)
        for pk, value in running.items():
            if value != self.opening.get(pk, 0):
                Account.objects.filter(pk=pk).update(balance=value)
        return self.txs


def _history(rng, *, accounts, merchants, staff, resident, home: str) -> None:
    now = timezone.now()
    start = now - timedelta(days=330)
    rules = {r.code: r for r in Rule.objects.all()}
    earn_rules = [rules[c] for c in ("P01", "P02", "P03", "P04", "P05", "P09", "P11", "P12", "P07")]
    org_rule = rules["P10"]
    book = _Book()
    issuance: dict[str, Account] = {}

    def iss(path):
        if path not in issuance:
            issuance[path] = services.issuance_for(path)
        return issuance[path]

    people = [a for a in accounts if a.holder_class != HolderClass.ORG]
    orgs = [a for a in accounts if a.holder_class == HolderClass.ORG]
    hongchuan_people = [a for a in people if a.path == home]
    claims: list[tuple[int, Claim]] = []

    # earnings: rule points × quantity until the city's figure is reached exactly — counting
    # what other apps' demo events (verified incidents, meetings) have already awarded
    events = []
    existing = (
        Entry.objects.filter(account__kind=AccountKind.HOLDER, kind=TxKind.EARN).aggregate(s=Sum("amount"))[
            "s"
        ]
        or 0
    )
    earned = existing
    own = [a for a in accounts if a.user_id == resident.pk and a.holder_class == HolderClass.RESIDENT]
    others = [a for a in people if a.user_id != resident.pk]
    resident_rules = [r for r in earn_rules if r.applies_to(HolderClass.RESIDENT)]
    for _ in range(12 if own else 0):  # the demo resident has a short, readable history
        rule = rng.choice(resident_rules)
        amount = min(rule.points * 3, EARNED_TOTAL - earned)
        earned += amount
        events.append((start + timedelta(seconds=rng.randint(0, 280 * 86400)), own[0], rule, amount))
    while earned < EARNED_TOTAL:
        if rng.random() < 0.04 and orgs:
            account, rule = rng.choice(orgs), org_rule
        else:
            account = rng.choice(others)
            rule = rng.choice([r for r in earn_rules if r.applies_to(account.holder_class)])
        amount = min(rule.points * rng.choice([1, 1, 1, 2, 3]), EARNED_TOTAL - earned)
        earned += amount
        events.append((start + timedelta(seconds=rng.randint(0, 280 * 86400)), account, rule, amount))
    events.sort(key=lambda e: e[0])
    for at, account, rule, amount in events:
        system = bool(rule.source_event)
        behalf = not system and rng.random() < 0.25
        i = book.add(
            kind=TxKind.EARN,
            legs=[(iss(account.path), -amount, 0), (account, amount, amount)],
            path=account.path,
            at=at,
            memo=f"{rule.name}：{'系统记录' if system else '社区审核通过'}",
            actor=staff if behalf else None,
            on_behalf=behalf,
        )
        claims.append(
            (
                i,
                Claim(
                    account=account,
                    rule=rule,
                    quantity=max(1, amount // rule.points),
                    points=amount,
                    points_awarded=amount,
                    note=f"{rule.name}（示范数据）",
                    status=ClaimStatus.EFFECTIVE,
                    on_behalf=behalf,
                    submitted_by=staff if behalf else account.user,
                    reviewed_at=at - timedelta(days=3),
                    publicity_ends_at=at,
                    effective_at=at,
                    source_key=f"demo:{i}" if system else None,
                    path=account.path,
                ),
            )
        )

    late = now - timedelta(days=45)

    def when():
        return late + timedelta(seconds=rng.randint(0, 40 * 86400))

    # deductions (negative list): the balance not below zero, the score by the full points
    negative = [rules[c] for c in ("N01", "N02", "N03", "N05")]
    for _ in range(64):
        account = rng.choice(others)
        rule = rng.choice(negative)
        take = min(rule.points, book.balance[account.pk])
        book.add(
            kind=TxKind.DEDUCT,
            legs=[(account, -take, -rule.points), (iss(account.path), take, 0)],
            path=account.path,
            at=when(),
            memo=f"{rule.name}：社区登记",
            actor=staff,
            on_behalf=True,
        )

    # redemptions: hold then settle, at merchants; exactly REDEMPTIONS of them
    offers = list(Offer.objects.filter(merchant__in=merchants).select_related("merchant"))
    holds: dict[int, Account] = {}
    settles: dict[int, Account] = {}
    redemptions = []
    shared_offers = [o for o in offers if o.merchant.code == SHARED_CODE]
    rich = sorted(others, key=lambda a: -book.balance[a.pk])[:2000]
    for n in range(REDEMPTIONS):
        offer = rng.choice(shared_offers if n % 6 == 0 else offers)
        candidates = [a for a in own if n < 2] + [rng.choice(rich) for _ in range(200)]
        account = next((a for a in candidates if book.balance[a.pk] >= offer.price), None)
        if account is None:  # nobody sampled can afford it: take the cheapest offer instead
            offer = min(offers, key=lambda o: o.price)
            account = max(rich, key=lambda a: book.balance[a.pk])
        m = offer.merchant
        holds.setdefault(m.pk, services.system_account(kind=AccountKind.HOLD, merchant=m))
        settles.setdefault(m.pk, services.system_account(kind=AccountKind.SETTLEMENT, merchant=m))
        at = when()
        hold = book.add(
            kind=TxKind.REDEEM_HOLD,
            legs=[(account, -offer.price, 0), (holds[m.pk], offer.price, 0)],
            path=account.path,
            at=at,
            memo=f"兑换 {m.name}·{offer.title} × 1",
            actor=account.user,
        )
        settle = book.add(
            kind=TxKind.REDEEM_SETTLE,
            legs=[(holds[m.pk], -offer.price, 0), (settles[m.pk], offer.price, 0)],
            path=m.path,
            at=at + timedelta(hours=rng.randint(1, 48)),
            memo="核销订单",
        )
        redemptions.append((hold, settle, offer, account))

    # donations: to the community pool mostly, some to neighbours
    pools: dict[str, Account] = {}
    donations = []
    for _ in range(96):
        account = rng.choice(rich)
        amount = min(book.balance[account.pk], rng.choice([5, 10, 10, 20, 50]))
        if amount <= 0:
            continue
        if rng.random() < 0.75:
            target = pools.setdefault(account.path, services.pool_for(account.path))
        else:
            target = rng.choice([a for a in rich[:200] if a.pk != account.pk])
        i = book.add(
            kind=TxKind.DONATE,
            legs=[(account, -amount, 0), (target, amount, 0)],
            path=account.path,
            at=when(),
            memo=f"捐赠给 {target.name}",
            actor=account.user,
        )
        donations.append((i, account, target, amount))

    grants = []
    hongchuan_pool = pools.get(home) or services.pool_for(home)
    pools[home] = hongchuan_pool
    for receiver in rng.sample(hongchuan_people, min(3, len(hongchuan_people))):
        amount = min(20, book.balance[hongchuan_pool.pk])
        if amount <= 0:
            break
        i = book.add(
            kind=TxKind.POOL_GRANT,
            legs=[(hongchuan_pool, -amount, 0), (receiver, amount, 0)],
            path=hongchuan_pool.path,
            at=now - timedelta(days=2),
            memo="捐赠池发放：困难家庭帮扶",
            actor=staff,
        )
        grants.append((i, receiver, amount))

    txs = book.write()
    for i, claim in claims:
        claim.transaction = txs[i]
    Claim.objects.bulk_create([c for _, c in claims], batch_size=2000)
    Redemption.objects.bulk_create(
        [
            Redemption(
                offer=offer,
                merchant=offer.merchant,
                account=account,
                quantity=1,
                points=offer.price,
                code=f"{n:06d}",
                status=RedemptionStatus.SETTLED,
                idempotency_key=f"demo:redeem:{n}",
                expires_at=txs[hold].created_at + timedelta(days=7),
                hold_tx=txs[hold],
                close_tx=txs[settle],
                closed_at=txs[settle].created_at,
                created_at=txs[hold].created_at,
                path=offer.merchant.path,
            )
            for n, (hold, settle, offer, account) in enumerate(redemptions)
        ]
    )
    per_offer = defaultdict(int)
    for _, _, offer, _ in redemptions:
        per_offer[offer.pk] += 1
    for pk, count in per_offer.items():
        Offer.objects.filter(pk=pk).update(stock=max(0, Offer.objects.get(pk=pk).stock - count))
    Donation.objects.bulk_create(
        [Donation(from_account=a, to_account=t, amount=amt, transaction=txs[i]) for i, a, t, amt in donations]
    )
    PoolGrant.objects.bulk_create(
        [
            PoolGrant(
                pool=hongchuan_pool,
                to_account=r,
                amount=amt,
                reason="困难家庭帮扶",
                granted_by=staff,
                transaction=txs[i],
            )
            for i, r, amt in grants
        ]
    )


def build(*, stdout, progress: bool = True) -> dict:
    rng = random.Random(81434)
    communities = list(Community.objects.order_by("path"))
    hongchuan = next(c for c in communities if c.name == HONGCHUAN[2])
    with transaction.atomic():
        merchants = _merchants(rng, communities, hongchuan)
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
            f"{charity.name} 志愿者",
            "13800000022",
            [(Role.MERCHANT, charity.path, charity.code)],
        )
        accounts = _accounts(communities)
    if not Transaction.objects.filter(idempotency_key__startswith="demo:").exists():
        staff = (
            Grant.objects.filter(role=Role.COMMUNITY_STAFF, path=hongchuan.path)
            .select_related("user")
            .first()
        )
        resident = Grant.objects.filter(user__username="resident_hongchuan").select_related("user").first()
        with transaction.atomic():
            _history(
                rng,
                accounts=accounts,
                merchants=merchants,
                staff=staff.user if staff else None,
                resident=resident.user if resident else accounts[0].user,
                home=hongchuan.path,
            )
        violator = _user("resident_wang", "居民 王某", "13800000023", [(Role.RESIDENT, hongchuan.path, "")])
        x_account = services.account_open(
            user=violator, holder_class=HolderClass.RESIDENT, path=hongchuan.path
        )
        if staff is not None:
            services.sanction_apply(
                actor=staff.user,
                account=x_account,
                rule=Rule.objects.get(code="X03"),
                reason="违法搭建彩钢棚，经多次劝导拒不整改（示范数据）",
            )
    holder = Entry.objects.filter(account__kind=AccountKind.HOLDER)
    return {
        "积分账户": Account.objects.filter(kind=AccountKind.HOLDER).count(),
        "签约商户": Merchant.objects.filter(kind=MerchantKind.SIGNED).count(),
        "爱心超市": Merchant.objects.filter(kind=MerchantKind.CHARITY).count(),
        "兑换项目": Offer.objects.count(),
        "累计获得积分": holder.filter(kind=TxKind.EARN).aggregate(s=Sum("amount"))["s"] or 0,
        "兑换次数": Redemption.objects.filter(status=RedemptionStatus.SETTLED).count(),
        "扣减积分": -(holder.filter(kind=TxKind.DEDUCT).aggregate(s=Sum("amount"))["s"] or 0),
        "捐赠次数": Donation.objects.count(),
    }
