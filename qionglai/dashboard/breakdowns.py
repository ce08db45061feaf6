"""The dashboard's breakdown tables (design §8): departments, points by holder class and month,
top offers, merchant activity, shared-supermarket contributions, days per consultation step,
renewal projects by kind, scene and status.

Each is a `Table`: a title, its 口径 in Chinese, a header whose numeric columns carry their unit,
and rows of plain values (names, never codes), so the page, the CSV and the XLSX show the same
cells. Every one counts rows inside the scope (`Scope.q` on the owning row's path) and reads the
owning app's models the way its own selectors do — the ledger's figures through
`points.selectors.by_class_month`, the same rules as `points.selectors.totals`.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Max, Q, Sum
from django.utils import timezone

from consultation.models import TopicEvent
from consultation.models.topics import EventKind
from grids import sla
from grids.models import Escalation, Incident, Status
from points import selectors as points_selectors
from points.models import HolderClass, Merchant, Offer, Redemption
from projects.models import Department, RenewalKind, RenewalProject, RenewalStatus, SupermarketMonth

from . import indicators
from .models import RankingRule, UnitKind
from .selectors import Period, Scope


@dataclass
class Table:
    key: str  # the export's name: /dashboard/export/<key>.csv
    title: str
    basis: str  # 口径
    header: list[str]
    rows: list[list] = field(default_factory=list)
    empty: str = "所选范围和时段内没有数据"


TITLES = {
    "departments": "市级部门综合指标排名",
    "department_figures": "按市级部门的事件指标",
    "points_months": "积分按持有人类别和月份",
    "offers": "兑换最多的项目",
    "merchants": "商户兑换活跃度",
    "supermarkets": "共享超市（爱心超市）提取微基金",
    "steps": "议事各步骤用时",
    "renewal": "更新项目（按类型、场景、状态）",
}


def _v(value):
    return "" if value is None else value


# --- departments -----------------------------------------------------------------------------

DEPARTMENT_ROWS = (
    "created_at",
    *indicators.ROW_FIELDS[1:],
    "assigned_department_id",
)


def department_cells(scope: Scope, period: Period) -> dict[int, dict]:
    """Cells per department: the scope's incidents reported in the period and dispatched to a
    city department (the same `accumulate_incident` as every other figure)."""
    lo, hi = period.bounds()
    exceptions = sla.all_exceptions()
    cells: dict[int, dict] = {}
    rows = Incident.objects.filter(
        scope.q(), created_at__gte=lo, created_at__lt=hi, assigned_department__isnull=False
    ).values_list(*DEPARTMENT_ROWS)
    for row in rows:
        indicators.accumulate_incident(
            cells.setdefault(row[-1], indicators.empty_cell()), row[:-1], exceptions
        )
    # scoped by the escalation's own path (its incident's); the join for the department only
    escalations = Escalation.objects.filter(
        scope.q("path"), at__gte=lo, at__lt=hi, incident__assigned_department__isnull=False
    ).values_list("level", "incident__assigned_department_id")
    for level, department in escalations:
        if 1 <= level <= 4:
            cells.setdefault(department, indicators.empty_cell())[f"escalated_l{level}"] += 1
    return cells


def _department_figures(scope: Scope, period: Period, now) -> list[tuple[str, dict, dict]]:
    cells = department_cells(scope, period)
    lo, hi = period.bounds()
    late = (
        Incident.objects.filter(
            scope.q(),
            created_at__gte=lo,
            created_at__lt=hi,
            assigned_department__isnull=False,
            status__in=(Status.ACCEPTED, Status.IN_PROGRESS),
            resolved_at__isnull=True,
            resolve_due__lt=now,
        )
        .values("assigned_department_id")
        .annotate(n=Count("id"), e=Count("id", filter=Q(extension_count__gt=0)))
        .order_by()
    )
    late_by = {r["assigned_department_id"]: (r["n"], r["e"]) for r in late}
    names = dict(Department.objects.filter(pk__in=list(cells)).values_list("pk", "name"))
    out = []
    for pk, cell in cells.items():
        figs = indicators.ranked_figures(cell, late=late_by.get(pk, (0, 0)))
        out.append((names.get(pk, str(pk)), cell, figs))
    return sorted(out, key=lambda t: t[0])


def departments(scope: Scope, period: Period, now=None) -> tuple[Table, Table]:
    now = now or timezone.now()
    rule = RankingRule.for_kind(UnitKind.DEPARTMENT)
    rows = _department_figures(scope, period, now)
    parts = [label for _k, label, _i in indicators.RANKING_PARTS]
    ranked, below = [], []
    for name, cell, figs in rows:
        score = indicators.composite(figs, rule.weights)
        line = [
            name,
            cell["reported"],
            _v(score),
            *[_v(figs[k].value) for k, _l, _i in indicators.RANKING_PARTS],
        ]
        (ranked if cell["reported"] >= rule.min_cases else below).append((score, line))
    ranked.sort(key=lambda t: (-(t[0] if t[0] is not None else -1), t[1][0]))
    ranking = Table(
        "departments",
        TITLES["departments"],
        "统计对象为本范围内、所选时段上报并派至市级部门办理的事件，以部门为单位；"
        + indicators.composite_basis(rule.weights, rule.min_cases),
        ["名次", "部门", "上报数（件）", "综合指标（分）", *[f"{p}（%）" for p in parts]],
        [[i, *line] for i, (_s, line) in enumerate(ranked, 1)]
        + [["不足最少件数，不排名", *line] for _s, line in below],
        empty="所选范围和时段内没有派至市级部门的事件",
    )
    figures = Table(
        "department_figures",
        TITLES["department_figures"],
        "本范围内、所选时段上报并派至各市级部门的事件，各项口径同「事件指标」（"
        + indicators.COHORT_BASIS
        + "）",
        [
            "部门",
            "上报数（件）",
            "受理数（件）",
            "办结数（件）",
            "按期办结率（%）",
            "满意率（%）",
            "返工数（件）",
            "升级督办数（次）",
            "平均办结用时（工作小时）",
        ],
        [
            [
                name,
                cell["reported"],
                cell["accepted"],
                cell["resolved"],
                _v(figs["resolve_on_time_rate"].value),
                _v(figs["satisfaction_rate"].value),
                cell["reopened"],
                sum(cell[c] for c in indicators.ESCALATION_COLUMNS),
                _v(figs["resolve_mean_hours"].value),
            ]
            for name, cell, figs in rows
        ],
        empty="所选范围和时段内没有派至市级部门的事件",
    )
    return ranking, figures


# --- points ----------------------------------------------------------------------------------


def points_months(scope: Scope, period: Period) -> Table:
    lo, hi = period.bounds()
    by = points_selectors.by_class_month(path=None if scope.level == "city" else scope.path, start=lo, end=hi)
    classes = dict(HolderClass.choices)
    order = {c: i for i, c in enumerate(classes)}
    rows = [
        [
            f"{month:%Y-%m}",
            str(classes.get(holder_class, holder_class or "其他")),
            v["earned"],
            v["deducted"],
            v["redeemed"],
            v["redemptions"],
            v["donated"],
            v["earners"],
        ]
        for (holder_class, month), v in sorted(by.items(), key=lambda kv: (kv[0][1], order.get(kv[0][0], 99)))
    ]
    return Table(
        "points_months",
        TITLES["points_months"],
        "本范围内持有人积分账户（党组织、党员、社区工作者、居民）所选时段内的积分流水，按北京时间自然月："
        "获得 = 获得积分入账；扣减 = 负面清单扣减；兑换 = 已在柜台核销的兑换所用积分（按核销时间）；"
        "捐赠 = 持有人捐出的积分；获得积分的账户 = 当月有获得入账的账户数",
        [
            "月份",
            "持有人类别",
            "获得（分）",
            "扣减（分）",
            "兑换核销（分）",
            "兑换核销（次）",
            "捐赠（分）",
            "获得积分的账户（个）",
        ],
        rows,
    )


def _settled(scope: Scope, period: Period):
    lo, hi = period.bounds()
    return Redemption.objects.filter(scope.q(), status="settled", closed_at__gte=lo, closed_at__lt=hi)


def offers(scope: Scope, period: Period, limit: int = 10) -> Table:
    rows = (
        _settled(scope, period)
        .values("offer_id", "offer__title", "merchant__name")
        .annotate(n=Count("id"), qty=Sum("quantity"), pts=Sum("points"))
        .order_by("-n", "-pts", "offer_id")[:limit]
    )
    return Table(
        "offers",
        TITLES["offers"],
        f"本范围内所选时段已核销的兑换，按兑换项目计核销次数，取前 {limit} 项；积分为核销所用积分合计",
        ["名次", "兑换项目", "商户", "核销（次）", "数量（件）", "积分（分）"],
        [
            [i, r["offer__title"], r["merchant__name"], r["n"], r["qty"], r["pts"]]
            for i, r in enumerate(rows, 1)
        ],
    )


def merchants(scope: Scope, period: Period) -> Table:
    settled = {
        r["merchant_id"]: r
        for r in _settled(scope, period)
        .values("merchant_id")
        .annotate(n=Count("id"), pts=Sum("points"), last=Max("closed_at"))
        .order_by()
    }
    listed = dict(
        Offer.objects.filter(scope.q(), active=True)
        .values("merchant_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("merchant_id", "n")
    )
    shops = Merchant.objects.filter(scope.q(), active=True).order_by("path", "name")
    rows = []
    for m in shops:
        s = settled.get(m.pk, {})
        last = s.get("last")
        rows.append(
            [
                m.name,
                m.get_kind_display(),
                listed.get(m.pk, 0),
                s.get("n", 0),
                s.get("pts") or 0,
                timezone.localtime(last).strftime("%Y-%m-%d %H:%M") if last else "",
            ]
        )
    rows.sort(key=lambda r: (-r[3], -r[4], r[0]))
    return Table(
        "merchants",
        TITLES["merchants"],
        "本范围内签约有效的商户（含爱心超市、共享超市）：在售项目为上架中的兑换项目；"
        "核销次数与积分为所选时段内在该商户柜台核销的兑换",
        ["商户", "类型", "在售项目（个）", "本期核销（次）", "本期核销积分（分）", "最近核销时间"],
        rows,
    )


# --- shared supermarkets ---------------------------------------------------------------------


def supermarkets(scope: Scope, period: Period) -> Table:
    first = period.start.replace(day=1)
    rows = (
        SupermarketMonth.objects.filter(scope.q("supermarket__path"), month__gte=first, month__lte=period.end)
        .values(
            "supermarket_id",
            "supermarket__name",
            "supermarket__community__name",
            "supermarket__member_households",
        )
        .annotate(
            months=Count("id"),
            revenue=Sum("revenue"),
            profit=Sum("net_profit"),
            contribution=Sum("contribution"),
        )
        .order_by("-contribution", "supermarket__name")
    )
    return Table(
        "supermarkets",
        TITLES["supermarkets"],
        "本范围内的共享超市（爱心超市），所选时段所含月份（按登记的经营月份）的营业收入、净利润和按章程比例"
        "提取进社区微基金的金额合计",
        [
            "超市",
            "社区",
            "入股户数（户）",
            "登记月数（个）",
            "营业收入（元）",
            "净利润（元）",
            "提取微基金（元）",
        ],
        [
            [
                r["supermarket__name"],
                r["supermarket__community__name"],
                r["supermarket__member_households"],
                r["months"],
                float(r["revenue"] or 0),
                float(r["profit"] or 0),
                float(r["contribution"] or 0),
            ]
            for r in rows
        ],
    )


# --- consultation ----------------------------------------------------------------------------

ENTERING = (EventKind.PROPOSED,)  # plus every event that names the step it moves to (to_step)
FINAL = (EventKind.CLOSED, EventKind.REJECTED, EventKind.MERGED, EventKind.TO_INCIDENT, EventKind.NOT_PASSED)


def step_days(scope: Scope, period: Period) -> dict[tuple[int, str], list[float]]:
    """Days of each finished stay in a step, keyed by (step order, step name), for stays that
    ended in the period. A stay begins when the topic is proposed (its first step) or moved
    into a step (an event naming `to_step`: advanced, reopened) and ends at the next such move
    or when the topic ends (办结, 驳回, 合并, 转事件, 表决未通过)."""
    lo, hi = period.bounds()
    topics = TopicEvent.objects.filter(scope.q("topic__path"), at__gte=lo, at__lt=hi).values("topic_id")
    events = (
        TopicEvent.objects.filter(topic__in=topics)
        .filter(Q(kind__in=(*ENTERING, *FINAL)) | Q(to_step__isnull=False))
        .values_list("topic_id", "kind", "at", "step__order", "step__name", "to_step__order", "to_step__name")
        .order_by("topic_id", "at", "id")
    )
    out: dict[tuple[int, str], list[float]] = defaultdict(list)
    current: dict[int, tuple] = {}
    for topic, kind, at, s_order, s_name, t_order, t_name in events:
        stay = current.get(topic)
        ends = kind in FINAL or t_order is not None
        if stay is not None and ends:
            started, key = stay
            if lo <= at < hi:
                out[key].append((at - started).total_seconds() / 86400)
            current.pop(topic)
        if kind == EventKind.PROPOSED:
            current[topic] = (at, (s_order, s_name))
        elif t_order is not None:
            current[topic] = (at, (t_order, t_name))
    return out


def steps(scope: Scope, period: Period) -> Table:
    days = step_days(scope, period)
    rows = [
        [name, len(v), round(statistics.fmean(v), 1), round(statistics.median(v), 1), round(max(v), 1)]
        for (_order, name), v in sorted(days.items())
    ]
    return Table(
        "steps",
        TITLES["steps"],
        "本范围内的议题在各步骤停留的自然日数（离开该步骤的时间 − 进入的时间）；只计所选时段内离开的步骤，"
        "重新实施后再次进入的按次分别计；议题办结、驳回、合并、转为事件或表决未通过即离开所在步骤",
        ["步骤", "完成（次）", "平均（天）", "中位数（天）", "最长（天）"],
        rows,
    )


# --- renewal projects ------------------------------------------------------------------------


def renewal(scope: Scope) -> Table:
    statuses = list(RenewalStatus.choices)
    kinds = dict(RenewalKind.choices)
    rows_by: dict[tuple, dict] = {}
    counted = (
        RenewalProject.objects.filter(scope.q())
        .values("kind", "scene__order", "scene__name", "status")
        .annotate(n=Count("id"), budget=Sum("budget"))
        .order_by()
    )
    for r in counted:
        key = (
            list(kinds).index(r["kind"]) if r["kind"] in kinds else 99,
            r["kind"],
            r["scene__order"] or 0,
            r["scene__name"] or "未定场景",
        )
        entry = rows_by.setdefault(key, {"n": defaultdict(int), "budget": 0.0})
        entry["n"][r["status"]] += r["n"]
        entry["budget"] += float(r["budget"] or 0)
    rows = []
    for (_i, kind, _o, scene), entry in sorted(rows_by.items()):
        counts = [entry["n"][s] for s, _l in statuses]
        rows.append([str(kinds.get(kind, kind)), scene, *counts, sum(counts), entry["budget"]])
    return Table(
        "renewal",
        TITLES["renewal"],
        "本范围内登记的全部更新项目（现状，不随所选时段变化），按项目类型和场景分行、按当前状态分列；预算为登记预算合计",
        ["类型", "场景", *[f"{label}（个）" for _s, label in statuses], "合计（个）", "预算（元）"],
        rows,
    )


def all_tables(scope: Scope, period: Period, now=None) -> list[Table]:
    ranking, figures = departments(scope, period, now)
    return [
        ranking,
        figures,
        points_months(scope, period),
        offers(scope, period),
        merchants(scope, period),
        supermarkets(scope, period),
        steps(scope, period),
        renewal(scope),
    ]
