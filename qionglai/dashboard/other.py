"""The dashboard's figures beyond incidents: the headline row, grids, points, consultation and
the registry (design §8) — each a count over rows in the scope, read through the owning app's
models and selectors (points' ledger totals come from `points.selectors.totals`)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from consultation.models import Meeting, Outcome, Resolution, Topic
from consultation.models.meetings import MeetingStatus
from consultation.models.topics import TopicStatus
from grids.models import (
    DoctorPairing,
    DoctorTeam,
    DoctorTeamMember,
    Grid,
    GridKind,
    GridMode,
    Incident,
    PartyGroup,
    PartyMember,
    PartyOrganization,
    RosterEntry,
    Status,
)
from points import selectors as points_selectors
from points.models import Merchant, MerchantKind, Redemption, Sanction
from projects.models import MicroFund, RenewalProject
from qionglai.users.models import GridPost

from .selectors import Period, Scope

SUPPORT_POSTS = (GridPost.FULL_TIME, GridPost.PART_TIME, GridPost.INSTRUCTOR)


@dataclass(frozen=True)
class Count_:
    label: str
    value: int | float | str
    unit: str
    basis: str = ""

    @property
    def display(self) -> str:
        if isinstance(self.value, str):
            return self.value
        if isinstance(self.value, float):
            return f"{self.value:,.2f} {self.unit}"
        return f"{self.value:,} {self.unit}"


def headline(scope: Scope) -> list[Count_]:
    """The city's reported figures (design §1), each counted over rows in the scope."""
    q = scope.q()
    micro = Grid.objects.filter(q, kind=GridKind.MICRO, retired_at__isnull=True).count()
    orgs = PartyOrganization.objects.filter(q).count()
    groups = PartyGroup.objects.filter(q).count()
    members = PartyMember.objects.filter(q, retired_at__isnull=True).count()
    teams = DoctorTeam.objects.filter(q).aggregate(
        teams=Count("id", distinct=True), people=Count("members", distinct=True)
    )
    merchants = Merchant.objects.filter(q, active=True).aggregate(
        signed=Count("id", filter=Q(kind=MerchantKind.SIGNED)),
        charity=Count("id", filter=Q(kind=MerchantKind.CHARITY)),
    )
    handled = Incident.objects.filter(q, status=Status.CLOSED).count()
    ledger = points_selectors.totals(path=None if scope.level == "city" else scope.path)
    return [
        Count_("微网格", micro, "个", "在用的微网格"),
        Count_("网格党组织", orgs, "个", "一般网格党组织"),
        Count_("微网格党小组", groups, "个", "已建党小组的微网格"),
        Count_("党员", members, "名", "在网格报到的党员"),
        Count_("家庭医生团队", teams["teams"], "支", "家庭医生团队"),
        Count_("团队成员", teams["people"], "人", "家庭医生团队成员"),
        Count_("签约商户", merchants["signed"], "家", "签约有效的商户"),
        Count_("爱心超市", merchants["charity"], "家", "签约有效的爱心超市"),
        Count_("办结事件", handled, "件", "走完闭环、已归档的网格事件"),
        Count_("累计积分", ledger["earned"], "分", "居民等持有人账户获得的积分合计"),
        Count_("积分兑换", ledger["redemptions"], "次", "已在柜台核销的兑换"),
    ]


def grids(scope: Scope) -> list[Count_]:
    q = scope.q()
    # 1+2: a micro-grid is staffed by its own roster or by its general grid's (where the
    # demo, like many towns, posts the 网格长 and the two supporting posts)
    roster = RosterEntry.objects.filter(
        Q(grid=OuterRef("pk")) | Q(grid=OuterRef("parent_id")), retired_at__isnull=True
    )
    support = (
        roster.filter(post__in=SUPPORT_POSTS)
        .order_by()
        .annotate(one=Value(1))
        .values("one")
        .annotate(n=Count("id"))
        .values("n")
    )
    micro = Grid.objects.filter(q, kind=GridKind.MICRO, retired_at__isnull=True).annotate(
        has_lead=Exists(roster.filter(post=GridPost.LEAD)),
        support_n=Coalesce(Subquery(support[:1]), 0),
        has_party=Exists(PartyGroup.objects.filter(grid=OuterRef("pk"))),
        has_doctor=Exists(DoctorPairing.objects.filter(grid=OuterRef("pk"), ended_on__isnull=True)),
    )
    row = micro.aggregate(
        total=Count("id"),
        full=Count("id", filter=Q(has_lead=True, support_n__gte=2)),
        party=Count("id", filter=Q(has_party=True)),
        doctor=Count("id", filter=Q(has_doctor=True)),
        households=Sum("households"),
        war=Count("id", filter=Q(mode=GridMode.WAR)),
    )
    total = row["total"] or 0

    def pct(n: int) -> str:
        return f"{n:,} 个（{100 * n / total:.1f}%）" if total else "—"

    return [
        Count_(
            "1+2 配齐的微网格",
            pct(row["full"]),
            "",
            "本微网格或所属一般网格有在岗网格长 1 名，及专职/兼职网格员、网格指导员合计 2 名以上",
        ),
        Count_("建有党小组的微网格", pct(row["party"]), "", "微网格党小组覆盖"),
        Count_("结对家庭医生的微网格", pct(row["doctor"]), "", "有在结对的家庭医生团队"),
        Count_("户数", row["households"] or 0, "户", "微网格登记户数合计"),
        Count_("战时运行的微网格", row["war"], "个", "当前处于战时模式"),
    ]


def points(scope: Scope, period: Period) -> list[Count_]:
    ledger = points_selectors.totals(path=None if scope.level == "city" else scope.path)
    q = scope.q()
    sanctions = Sanction.objects.filter(scope.q("account__path"), year=period.end.year).count()
    lo, hi = period.bounds()
    settled = Redemption.objects.filter(q, status="settled", closed_at__gte=lo, closed_at__lt=hi).count()
    return [
        Count_("获得积分", ledger["earned"], "分", "持有人账户累计获得"),
        Count_("扣减积分", ledger["deducted"], "分", "负面清单扣减累计"),
        Count_("捐赠积分", ledger["donated"], "分", "持有人捐出的积分累计"),
        Count_("兑换核销", ledger["redemptions"], "次", "累计核销的兑换"),
        Count_("本期兑换核销", settled, "次", "所选时段内核销的兑换"),
        Count_("本年度禁止清单处理", sanctions, "人次", "本年度的禁止清单处理（取消评先评优）"),
    ]


def consultation(scope: Scope) -> list[Count_]:
    q = scope.q()
    topics = Topic.objects.filter(q).aggregate(
        active=Count("id", filter=Q(status=TopicStatus.ACTIVE)),
        closed=Count("id", filter=Q(status=TopicStatus.CLOSED)),
    )
    meetings = Meeting.objects.filter(scope.q("topic__path"), status=MeetingStatus.CLOSED).count()
    resolutions = Resolution.objects.filter(scope.q("topic__path")).count()
    outcomes = Outcome.objects.filter(scope.q("resolution__topic__path")).aggregate(
        total=Count("id"), done=Count("id", filter=Q(status="done"))
    )
    return [
        Count_("议事中的议题", topics["active"], "个", "按九步议事进行中的议题"),
        Count_("已办结的议题", topics["closed"], "个", "走完评议、已办结"),
        Count_("已召开的小圆桌会议", meetings, "次", "已结束的协商会议"),
        Count_("表决通过的决议", resolutions, "项", "表决通过形成的决议"),
        Count_("决议事项", outcomes["total"], "项", "决议确定的实施事项"),
    ]


def registry(scope: Scope) -> list[Count_]:
    q = scope.q()
    projects = RenewalProject.objects.filter(q).aggregate(
        total=Count("id"), done=Count("id", filter=Q(status__in=["completed", "evaluated"]))
    )
    funds = MicroFund.objects.filter(q).aggregate(n=Count("id"), balance=Sum("balance"))
    return [
        Count_("更新项目", projects["total"], "个", "微更新、老旧院落改造等项目"),
        Count_("已完工的更新项目", projects["done"], "个", "完工或已评估"),
        Count_("社区微基金", funds["n"], "个", "已设立的社区微基金"),
        Count_("微基金余额", float(funds["balance"] or 0), "元", "各社区微基金余额合计"),
    ]


def doctor_people(scope: Scope) -> int:
    return DoctorTeamMember.objects.filter(scope.q("team__path")).count()
