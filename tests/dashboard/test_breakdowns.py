"""The breakdown tables (qionglai/dashboard/breakdowns.py), each against values worked out by
hand from rows built here, inside town A's scope with rows outside it that must not count."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.urls import reverse

from consultation.models import ProcedureTemplate, Topic, TopicEvent
from consultation.models.topics import EventKind
from grids.models import Incident
from points import services
from points.models import Account, HolderClass, Merchant, MerchantKind, Offer, Redemption, Transaction, TxKind
from points.services import Leg
from projects.models import Department, RenewalProject, Scene, SharedSupermarket, SupermarketMonth
from qionglai.dashboard import breakdowns
from qionglai.dashboard.models import RankingRule, UnitKind
from qionglai.dashboard.selectors import Period, Scope

from .conftest import FRIDAY, NOW, at

pytestmark = pytest.mark.django_db
_keys = itertools.count(1)


def town_scope(town) -> Scope:
    return Scope(town.path, "town", town.name, ((town.name, town.path),))


def city_scope() -> Scope:
    return Scope("510183", "city", "邛崃市", (("邛崃市", "510183"),))


WEEK = Period("custom", FRIDAY, NOW.date())


def test_departments_are_ranked_with_their_rule_and_split_by_hand(dataset, town_a):
    d1 = Department.objects.create(code="t-d1", name="测试住建")
    d2 = Department.objects.create(code="t-d2", name="测试水利")
    for key in ("i2", "i4", "i6"):
        Incident.objects.filter(pk=dataset[key].pk).update(assigned_department=d1)
    Incident.objects.filter(pk=dataset["b1"].pk).update(assigned_department=d2)
    RankingRule.objects.create(unit_kind=UnitKind.DEPARTMENT, min_cases=2)
    ranking, figures = breakdowns.departments(city_scope(), WEEK, NOW)
    # 测试住建 (i2, i4, i6): 按期办结 i4 of 应办结 i2, i4 + i6 overdue = 1/3 = 33.3%; 满意 i2 (基本满意)
    # of i2, i4 = 50%; 按期受理 i4, i6 of 3 = 66.7%; 返工 i4 of 2 resolved = 50%
    # → (40 × 33.3 + 30 × 50 + 20 × 66.7 + 10 × 50) ÷ 100 = 46.66 → 46.7
    assert ranking.rows[0] == [1, "测试住建", 3, 46.7, 33.3, 50.0, 66.7, 50.0]
    # 测试水利 (b1 only): under the rule's minimum of 2, listed apart; 满意率 none (self-evaluated)
    # → (40 × 0 + 20 × 0 + 10 × 100) ÷ 70 = 14.3
    assert ranking.rows[1] == ["不足最少件数，不排名", "测试水利", 1, 14.3, 0.0, "", 0.0, 0.0]
    assert "按期办结率 40%" in ranking.basis and "不足 2 件" in ranking.basis
    by_name = {r[0]: r for r in figures.rows}
    # reported, accepted, resolved, 按期办结率, 满意率, 返工, 升级 (i2 Fri, i6 Mon), mean hours:
    # i2 Fri 10:00 → Tue 10:00 and i4 Fri 12:00 → Tue 12:00 are each 24 working hours (the
    # weekend and the 端午 Monday count none)
    assert by_name["测试住建"] == ["测试住建", 3, 3, 2, 33.3, 50.0, 1, 2, 24.0]
    # a town sees only its own incidents' departments
    _ranking, figures_a = breakdowns.departments(town_scope(town_a), WEEK, NOW)
    assert [r[0] for r in figures_a.rows] == ["测试住建"]


def _post(kind, account, other, amount, when):
    with transaction.atomic():
        return services.post(
            kind=kind,
            key=f"dash-test:{next(_keys)}",
            legs=[Leg(other, -amount), Leg(account, amount, amount if kind == TxKind.EARN else 0)],
            path=account.path,
            at=when,
        )


def _redemption(account, offer, quantity, points, closed_at, status="settled"):
    hold = Transaction.objects.create(
        kind=TxKind.REDEEM_HOLD, idempotency_key=f"h{next(_keys)}", path=offer.path
    )
    return Redemption.objects.create(
        offer=offer,
        merchant=offer.merchant,
        account=account,
        quantity=quantity,
        points=points,
        code=f"{next(_keys):06d}",
        status=status,
        idempotency_key=f"r{next(_keys)}",
        expires_at=closed_at + timedelta(days=1),
        hold_tx=hold,
        closed_at=closed_at if status == "settled" else None,
        created_at=closed_at,
        path=offer.path,
    )


@pytest.fixture
def ledger(rita, community_a, community_b, time_machine):
    time_machine.move_to(NOW, tick=False)
    a = community_a.path
    rita_acc = services.account_open(user=rita, holder_class=HolderClass.RESIDENT, path=a)
    org = services.org_account_open(org_code="dzb-a", name="洪川社区党委", path=a)
    south = Account.objects.create(holder_class=HolderClass.RESIDENT, name="南街居民", path=community_b.path)
    issue_a, issue_b, pool = (
        services.issuance_for(a),
        services.issuance_for(community_b.path),
        services.pool_for(a),
    )
    _post(TxKind.EARN, rita_acc, issue_a, 15, at(1, 9) - timedelta(days=45))  # April: outside
    _post(TxKind.EARN, rita_acc, issue_a, 20, at(1, 9) - timedelta(days=10))  # 22 May
    _post(TxKind.EARN, rita_acc, issue_a, 30, at(3, 9))
    _post(TxKind.EARN, org, issue_a, 7, at(4, 9))
    _post(TxKind.EARN, south, issue_b, 50, at(4, 9))  # town B: outside town A
    _post(TxKind.DEDUCT, issue_a, rita_acc, 5, at(5, 9))  # 5 points out of rita's account
    _post(TxKind.DONATE, pool, rita_acc, 10, at(5, 10))  # rita gives 10 to the pool
    m1 = Merchant.objects.create(code="m1", name="洪川便民超市", kind=MerchantKind.SIGNED, path=a)
    m3 = Merchant.objects.create(code="m3", name="洪川共享超市", kind=MerchantKind.SHARED, path=a)
    m2 = Merchant.objects.create(
        code="m2", name="南街爱心超市", kind=MerchantKind.CHARITY, path=community_b.path
    )
    soap = Offer.objects.create(merchant=m1, title="洗衣液一瓶", price=12, stock=10, path=a)
    rice = Offer.objects.create(merchant=m1, title="大米 5 斤", price=20, stock=10, path=a)
    far = Offer.objects.create(merchant=m2, title="毛巾", price=5, stock=10, path=community_b.path)
    _redemption(rita_acc, rice, 2, 40, at(10, 9))
    _redemption(rita_acc, rice, 1, 20, at(11, 9))
    _redemption(rita_acc, soap, 1, 12, at(11, 15))
    _redemption(rita_acc, soap, 1, 12, at(11, 16), status="held")  # not settled: not counted
    _redemption(south, far, 1, 5, at(11, 9))  # town B
    return {"m1": m1, "m3": m3}


def test_points_by_holder_class_and_month_by_hand(ledger, town_a):
    period = Period("custom", date(2031, 5, 1), NOW.date())
    table = breakdowns.points_months(town_scope(town_a), period)
    assert table.rows == [
        # month, class, earned, deducted, redeemed points, redemptions, donated, accounts that earned
        ["2031-05", "居民", 20, 0, 0, 0, 0, 1],
        ["2031-06", "党组织", 7, 0, 0, 0, 0, 1],
        ["2031-06", "居民", 30, 5, 72, 3, 10, 1],
    ]
    city = breakdowns.points_months(city_scope(), period)
    assert ["2031-06", "居民", 80, 5, 77, 4, 10, 2] in city.rows  # + town B's 50 earned, 5 redeemed


def test_top_offers_and_merchant_activity_by_hand(ledger, town_a):
    offers = breakdowns.offers(town_scope(town_a), WEEK)
    assert offers.rows == [
        [1, "大米 5 斤", "洪川便民超市", 2, 3, 60],
        [2, "洗衣液一瓶", "洪川便民超市", 1, 1, 12],
    ]
    merchants = breakdowns.merchants(town_scope(town_a), WEEK)
    assert merchants.rows == [
        ["洪川便民超市", "签约商户", 2, 3, 72, "2031-06-11 15:00"],
        ["洪川共享超市", "共享超市", 0, 0, 0, ""],
    ]
    assert len(breakdowns.merchants(city_scope(), WEEK).rows) == 3


def test_shared_supermarket_contributions_by_hand(community_a, community_b, town_a):
    market = SharedSupermarket.objects.create(
        community=community_a, name="洪川共享超市", member_households=50, path=community_a.path
    )
    south = SharedSupermarket.objects.create(
        community=community_b, name="南街共享超市", path=community_b.path
    )
    for month, revenue, profit, share in (
        (date(2031, 4, 1), 9000, 1000, 100),  # before the period
        (date(2031, 5, 1), 10000, 2000, 200),
        (date(2031, 6, 1), 12000, 3000, 300),
    ):
        SupermarketMonth.objects.create(
            supermarket=market, month=month, revenue=revenue, net_profit=profit, contribution=share
        )
    SupermarketMonth.objects.create(
        supermarket=south, month=date(2031, 6, 1), revenue=1, net_profit=1, contribution=Decimal("0.1")
    )
    table = breakdowns.supermarkets(town_scope(town_a), Period("custom", date(2031, 5, 15), NOW.date()))
    # the period from 15 May includes May's month (months are recorded on their first day)
    assert table.rows == [["洪川共享超市", "洪川社区", 50, 2, 22000.0, 5000.0, 500.0]]


def test_days_per_consultation_step_by_hand(community_a, community_b, carol, town_a, time_machine):
    time_machine.move_to(NOW, tick=False)
    template = ProcedureTemplate.objects.order_by("pk").first()
    first, second, third = list(template.steps.order_by("order")[:3])

    def topic(community):
        return Topic.objects.create(
            title="加装电梯",
            description="议题",
            source="resident",
            scope="community",
            community=community,
            path=community.path,
            proposer=carol,
            template=template,
            current_step=first,
            step_started_at=NOW,
        )

    def event(t, kind, when, step, to_step=None):
        e = TopicEvent.objects.create(topic=t, kind=kind, step=step, to_step=to_step)
        TopicEvent.objects.filter(pk=e.pk).update(at=when)

    t1, t2, far = topic(community_a), topic(community_a), topic(community_b)
    event(t1, EventKind.PROPOSED, at(1, 9), first)
    event(t1, EventKind.ADVANCED, at(3, 9), first, second)  # 2 days in the first step
    event(t1, EventKind.MEETING, at(5, 9), second)  # not a move
    event(t1, EventKind.ADVANCED, at(8, 21), second, third)  # 5.5 days in the second
    event(t2, EventKind.PROPOSED, at(2, 9), first)
    event(t2, EventKind.ADVANCED, at(6, 9), first, second)  # 4 days in the first
    event(t2, EventKind.REJECTED, at(7, 9), second)  # 1 day in the second, then it ends
    event(far, EventKind.PROPOSED, at(2, 9), first)
    event(far, EventKind.ADVANCED, at(6, 9), first, second)  # town B
    table = breakdowns.steps(town_scope(town_a), Period("custom", date(2031, 6, 1), NOW.date()))
    assert table.rows == [
        # step, stays, mean, median, longest (days)
        [first.name, 2, 3.0, 3.0, 4.0],
        [second.name, 2, 3.2, 3.2, 5.5],  # (5.5 + 1) ÷ 2 = 3.25 → 3.2 (round half to even)
    ]
    # only stays that ended in the period: from 4 June, t1's first step (left on the 3rd) drops
    late = breakdowns.steps(town_scope(town_a), Period("custom", date(2031, 6, 4), NOW.date()))
    assert late.rows[0] == [first.name, 1, 4.0, 4.0, 4.0]


def test_renewal_projects_by_kind_scene_and_status_by_hand(community_a, community_b, town_a):
    space = Scene.objects.get_or_create(code="t-space", name="测试空间", order=4)[0]
    culture = Scene.objects.get_or_create(code="t-culture", name="测试文化", order=2)[0]
    for kind, scene, status, budget in (
        ("micro_renewal", space, "planned", 1000),
        ("micro_renewal", space, "completed", 2000),
        ("micro_renewal", culture, "completed", 500),
        ("old_courtyard", None, "implementing", 30000),
    ):
        RenewalProject.objects.create(
            community=community_a, name="项目", kind=kind, scene=scene, status=status, budget=budget,
            path=community_a.path,
        )  # fmt: skip
    RenewalProject.objects.create(
        community=community_b, name="南街", kind="micro_renewal", scene=space, budget=9, path=community_b.path
    )
    table = breakdowns.renewal(town_scope(town_a))
    assert table.header[2:] == [
        "规划（个）",
        "立项（个）",
        "实施（个）",
        "完工（个）",
        "评估（个）",
        "合计（个）",
        "预算（元）",
    ]
    assert table.rows == [
        ["微更新", "测试文化", 0, 0, 0, 1, 0, 1, 500.0],
        ["微更新", "测试空间", 1, 0, 0, 1, 0, 2, 3000.0],
        ["老旧院落改造", "未定场景", 0, 0, 1, 0, 0, 1, 30000.0],
    ]


def test_the_page_shows_every_breakdown_and_each_exports(client, victor, ledger):
    client.force_login(victor)
    page = client.get(reverse("dashboard:page") + "?period=30d").content.decode()
    for key, title in breakdowns.TITLES.items():
        assert f'data-testid="table-{key}"' in page and title in page
    assert "口径：" in page and "洪川便民超市" in page
    csv = client.get(reverse("dashboard:export", args=["offers", "csv"]) + "?period=30d")
    assert csv.status_code == 200
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "名次,兑换项目,商户,核销（次）,数量（件）,积分（分）"
    assert lines[1] == "1,大米 5 斤,洪川便民超市,2,3,60"
    xlsx = client.get(reverse("dashboard:export", args=["merchants", "xlsx"]) + "?period=30d")
    assert xlsx.status_code == 200 and xlsx["Content-Type"].startswith("application/vnd.openxmlformats")


def test_a_town_viewer_exports_only_the_town(client, tina, ledger):
    client.force_login(tina)
    body = client.get(reverse("dashboard:export", args=["merchants", "csv"]) + "?period=30d").content.decode()
    assert "洪川便民超市" in body and "南街爱心超市" not in body
