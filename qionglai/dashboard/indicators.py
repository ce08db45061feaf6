"""Every incident indicator of design §8, defined once, with its 口径 (definition) in Chinese.

The unit of counting is the **incident reported in the period** (本期上报的事件): each figure
says what became of the incidents reported in the selected days, so an incident is one row
however often it was returned, reopened or re-resolved — a reopened incident is counted once
in 办结数 and once in 返工数. Escalations (升级督办) are the exception: they are events and are
counted on the day they happened.

`accumulate()` turns incident rows into cells (day × category sums of the columns below). The
rollup fill, the direct computation for communities and grids, and `dashboard_check` all call it,
so the figures cannot drift apart; `figures()` turns summed cells into the numbers on the page.

Times are working hours (工作时间) on the holiday/调休 calendar of `grids.CalendarDay`: a
working day counts all its 24 hours, a weekend or public holiday none, an adjusted working day
(调休上班) counts — the same reading of "working day" as the SLA deadlines in `grids.sla`.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import translation

from grids import sla
from grids.models import Channel, Level, Satisfaction, Status, Tier, Urgency

# --- the columns of a cell ---------------------------------------------------------------------

# Working-hour buckets for the medians (a median is not a sum; a histogram is). Upper edges.
HIST_EDGES: tuple[float, ...] = (1, 2, 4, 8, 24, 48, 120)
HIST_BUCKETS = len(HIST_EDGES) + 1

COUNT_COLUMNS: dict[str, str] = {
    "reported": "上报数：本期上报的事件",
    "accepted": "受理数：本期上报、已受理（三分）的事件",
    "accepted_on_time": "按期受理数：受理时间不晚于受理时限的事件",
    "rejected": "不予受理数：本期上报、被不予受理的事件",
    "dispatched": "派遣数：本期上报、已派单处置的事件",
    "resolved": "办结数：本期上报、已办结的事件（返工重办的只计一次）",
    "resolved_on_time": "按期办结数：最近一次办结不晚于办结时限、且未经批准延期的事件",
    "resolved_extended": "延期办结数：已办结、办理中经批准延期（缓办）的事件",
    "verified": "核查通过数：本期上报、已核查通过的事件",
    "closed": "归档数：本期上报、已归档的事件（不含不予受理）",
    "evaluated": "参评数：已归档且上报人作出评价（满意/基本满意/不满意）的事件，处置人自评的不计",
    "satisfied": "满意数：评价为满意或基本满意的事件",
    "reopened": "返工数：因居民不满意而重办过的事件（每件只计一次）",
    "grid_tier": "自办数：分层为网格自办的事件",
    "same_day": "当日销号数：上报当日（北京时间）即办结的事件",
    "accept_hours": "受理用时合计（工作小时）",
    "resolve_hours": "办结用时合计（工作小时）",
}
FLOAT_COLUMNS = ("accept_hours", "resolve_hours")
HIST_COLUMNS = [f"accept_h{i}" for i in range(HIST_BUCKETS)] + [f"resolve_h{i}" for i in range(HIST_BUCKETS)]
SPLITS: dict[str, list[str]] = {
    "urgency": list(Urgency.values),
    "tier": list(Tier.values),
    "channel": list(Channel.values),
}
SPLIT_LABELS = {"urgency": "紧急程度", "tier": "处置层级", "channel": "来源渠道"}
SPLIT_COLUMNS = [f"{dim}_{value}" for dim, values in SPLITS.items() for value in values]
# escalations are counted on the day they happened (升级至一般网格/社区/镇街/市级)
ESCALATION_COLUMNS = [f"escalated_l{level}" for level in range(1, 5)]
COLUMNS: list[str] = [*COUNT_COLUMNS, *HIST_COLUMNS, *SPLIT_COLUMNS, *ESCALATION_COLUMNS]
INT_COLUMNS = [c for c in COLUMNS if c not in FLOAT_COLUMNS]

# what accumulate() reads from an incident (values_list order)
ROW_FIELDS = (
    "created_at",
    "path",
    "category_id",
    "urgency",
    "tier",
    "channel",
    "status",
    "accepted_at",
    "accepted_on_time",
    "dispatched_at",
    "resolved_at",
    "resolved_on_time",
    "verified_at",
    "satisfaction",
    "reopen_count",
    "extension_count",
    "self_evaluated",
)


def empty_cell() -> dict:
    return {c: (0.0 if c in FLOAT_COLUMNS else 0) for c in COLUMNS}


def town_path(path: str) -> str:
    """510183.001.a01.g01.m01 → 510183.001 (a place path's first two parts are its town)."""
    return ".".join(path.split(".")[:2])


# Days are the city's local days. A fixed zone, not timezone.get_current_timezone(): that goes
# through a thread-local on every call, which was most of the fill's time at a million rows.
TZ = ZoneInfo(settings.TIME_ZONE)


def local_day(moment: datetime) -> date:
    return moment.astimezone(TZ).date()


@functools.lru_cache(maxsize=8192)  # pure, and asked for every day an incident spans
def day_bounds(day: date) -> tuple[datetime, datetime]:
    return datetime.combine(day, time.min, tzinfo=TZ), datetime.combine(
        day + timedelta(days=1), time.min, tzinfo=TZ
    )


# --- working time ---------------------------------------------------------------------------


MICROSECOND = timedelta(microseconds=1)
MICROS_PER_HOUR = 3_600_000_000


def working_micros(start: datetime, end: datetime, exceptions: Mapping[date, str]) -> int:
    """Microseconds between start and end that fall on working days of the calendar, exactly
    (integers: an incident resolved in exactly 48 working hours is ≤ 48 h, whatever its
    microseconds — summed as float seconds it could land on either side of the edge)."""
    if end <= start:
        return 0
    start, end = start.astimezone(TZ), end.astimezone(TZ)
    first, last = start.date(), end.date()
    if first == last:
        return (end - start) // MICROSECOND if sla.is_workday(first, exceptions) else 0
    total = 0
    if sla.is_workday(first, exceptions):
        total += (day_bounds(first)[1] - start) // MICROSECOND
    day = first + timedelta(days=1)
    while day < last:
        if sla.is_workday(day, exceptions):
            lo, hi = day_bounds(day)
            total += (hi - lo) // MICROSECOND
        day += timedelta(days=1)
    if sla.is_workday(last, exceptions):
        total += (end - day_bounds(last)[0]) // MICROSECOND
    return total


def working_hours(start: datetime, end: datetime, exceptions: Mapping[date, str]) -> float:
    """Hours between start and end that fall on working days of the calendar (the exact
    microseconds, divided once: `bucket`'s edges compare as the integers would)."""
    return working_micros(start, end, exceptions) / MICROS_PER_HOUR


def bucket(hours: float) -> int:
    for i, edge in enumerate(HIST_EDGES):
        if hours <= edge:
            return i
    return len(HIST_EDGES)


# --- rows into cells -----------------------------------------------------------------------


def accumulate_incident(cell: dict, row: tuple, exceptions: Mapping[date, str]) -> None:
    (
        created_at,
        _path,
        _category,
        urgency,
        tier,
        channel,
        status,
        accepted_at,
        accepted_on_time,
        dispatched_at,
        resolved_at,
        resolved_on_time,
        verified_at,
        satisfaction,
        reopen_count,
        extension_count,
        self_evaluated,
    ) = row
    cell["reported"] += 1
    if accepted_at is not None:
        cell["accepted"] += 1
        cell["accepted_on_time"] += accepted_on_time is True
        hours = working_hours(created_at, accepted_at, exceptions)
        cell["accept_hours"] += hours
        cell[f"accept_h{bucket(hours)}"] += 1
    cell["rejected"] += status == Status.REJECTED
    cell["dispatched"] += dispatched_at is not None
    if resolved_at is not None:
        cell["resolved"] += 1
        if extension_count:
            cell["resolved_extended"] += 1
        else:
            cell["resolved_on_time"] += resolved_on_time is True
        hours = working_hours(created_at, resolved_at, exceptions)
        cell["resolve_hours"] += hours
        cell[f"resolve_h{bucket(hours)}"] += 1
        cell["same_day"] += local_day(resolved_at) == local_day(created_at)
    cell["verified"] += verified_at is not None
    if status == Status.CLOSED:
        cell["closed"] += 1
        # a reporter who also handled it rated her own work: on record, not in 满意率
        rated = satisfaction in (Satisfaction.SATISFIED, Satisfaction.BASIC, Satisfaction.DISSATISFIED)
        if rated and not self_evaluated:
            cell["evaluated"] += 1
            cell["satisfied"] += satisfaction != Satisfaction.DISSATISFIED
    cell["reopened"] += reopen_count > 0
    cell["grid_tier"] += tier == Tier.GRID
    for dim, value in (("urgency", urgency), ("tier", tier), ("channel", channel)):
        if value:
            cell[f"{dim}_{value}"] += 1


def accumulate(
    incident_rows: Iterable[tuple],
    escalation_rows: Iterable[tuple],
    exceptions: Mapping[date, str],
    key=lambda path, day, category: (day, category),
) -> dict:
    """Cells keyed by key(path, local day, category id).

    incident_rows: tuples of ROW_FIELDS; escalation_rows: (at, level, path, category_id)."""
    cells: dict = {}
    for row in incident_rows:
        k = key(row[1], local_day(row[0]), row[2])
        cell = cells.get(k)
        if cell is None:  # not setdefault: a fresh cell per row was a sixth of the time
            cell = cells[k] = empty_cell()
        accumulate_incident(cell, row, exceptions)
    for at, level, path, category in escalation_rows:
        if 1 <= level <= 4:
            k = key(path, local_day(at), category)
            cells.setdefault(k, empty_cell())[f"escalated_l{level}"] += 1
    return cells


def add(total: dict, cell: Mapping) -> dict:
    for c in COLUMNS:
        total[c] += cell.get(c) or 0
    return total


def total_of(cells: Iterable[Mapping]) -> dict:
    total = empty_cell()
    for cell in cells:
        add(total, cell)
    return total


# --- cells into figures ---------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    value: float | None
    unit: str
    basis: str  # 口径
    numerator: float | None = None
    denominator: float | None = None

    @property
    def display(self) -> str:
        if self.value is None:
            return "—"
        if self.unit == "%":
            return f"{self.value:.1f}%"
        if self.unit == "小时":
            return f"{self.value:.1f} 小时"
        return f"{int(self.value):,} {self.unit}"


def ratio(numerator: float, denominator: float) -> float | None:
    """A rate in per cent, or None where nothing was counted (shown as —, never as 0%)."""
    return None if not denominator else round(100 * numerator / denominator, 1)


def median_hours(total: Mapping, prefix: str) -> float | None:
    """Grouped median over the working-hour histogram, interpolated within its bucket."""
    counts = [total[f"{prefix}_h{i}"] for i in range(HIST_BUCKETS)]
    n = sum(counts)
    if not n:
        return None
    half, seen = n / 2, 0
    for i, count in enumerate(counts):
        if count and seen + count >= half:
            lo = 0.0 if i == 0 else HIST_EDGES[i - 1]
            hi = HIST_EDGES[i] if i < len(HIST_EDGES) else HIST_EDGES[-1] * 2
            return round(lo + (hi - lo) * (half - seen) / count, 1)
        seen += count
    return None  # pragma: no cover - the loop always reaches half


MEDIAN_BASIS = "按工作小时分档（≤1、2、4、8、24、48、120 小时及以上）的分组中位数，档内线性插值"


@dataclass(frozen=True)
class Now:
    """Figures about the present, counted directly (not per period): open and overdue now."""

    open_by_state: Mapping[str, int]
    overdue: int
    # of the incidents reported in the period: still unresolved and past the resolve deadline
    overdue_unresolved_in_period: int = 0
    overdue_unresolved_extended_in_period: int = 0


def ranked_figures(
    total: Mapping, *, late: tuple[int, int], only: Collection[str] | None = None
) -> dict[str, Figure]:
    """A ranked unit's figures: its cells plus (unresolved past the deadline, of them extended)
    for the period; a ranking reads no open-now counts. `only`: the keys wanted (RANKED: what
    a ranking shows), the others not made."""
    return figures(
        total,
        Now(
            open_by_state={},
            overdue=0,
            overdue_unresolved_in_period=late[0],
            overdue_unresolved_extended_in_period=late[1],
        ),
        only=only,
    )


@functools.lru_cache(maxsize=8)
def _level_labels(language: str | None) -> tuple[str, ...]:
    # Level's labels are lazy: each f-string use was a translation (8 per figures() call, and a
    # community's ranking calls it for each of its ~20 grids); the same text per language
    return tuple(str(Level(level).label) for level in range(1, 5))


def figures(total: Mapping, now: Now | None = None, only: Collection[str] | None = None) -> dict[str, Figure]:
    """The page's figures from summed cells (and the present's direct counts); `only`: the keys
    wanted (the others are not made), every one when None."""
    t = total
    now = now or Now(open_by_state={}, overdue=0)
    due = t["resolved"] + now.overdue_unresolved_in_period
    extended = t["resolved_extended"] + now.overdue_unresolved_extended_in_period
    out: list[Figure] = []
    if only is not None:
        wanted = only.__contains__
    else:

        def wanted(_key: str) -> bool:
            return True

    def count(key: str, label: str, unit: str = "件") -> None:
        if wanted(key):
            out.append(Figure(key, label, t[key], unit, COUNT_COLUMNS[key]))

    count("reported", "上报数")
    count("accepted", "受理数")
    count("rejected", "不予受理数")
    count("dispatched", "派遣数")
    count("resolved", "办结数")
    count("verified", "核查通过数")
    count("closed", "归档数")
    count("reopened", "返工数")
    if wanted("escalated"):
        escalations = sum(t[c] for c in ESCALATION_COLUMNS)
        out.append(
            Figure(
                "escalated",
                "升级督办数",
                escalations,
                "次",
                "升级督办数：本期内发生的超时升级次数（按升级发生日计），分级见下",
            )
        )
    for level, level_label in enumerate(_level_labels(translation.get_language()), 1):
        if wanted(f"escalated_l{level}"):
            out.append(
                Figure(
                    f"escalated_l{level}",
                    f"升级至{level_label}",
                    t[f"escalated_l{level}"],
                    "次",
                    f"本期内超时升级至{level_label}督办的次数",
                )
            )
    if wanted("overdue_now"):
        out.append(
            Figure(
                "overdue_now",
                "超期未办结（红灯）",
                now.overdue,
                "件",
                "当前未办结、已过当前环节时限的事件（不论何时上报）",
            )
        )
    if wanted("open_now"):
        open_total = sum(now.open_by_state.values())
        out.append(Figure("open_now", "在办事件", open_total, "件", "当前处于已上报至已核查各状态的事件"))

    def rate(key: str, label: str, num: float, den: float, basis: str) -> None:
        if wanted(key):
            out.append(Figure(key, label, ratio(num, den), "%", basis, num, den))

    rate(
        "accept_on_time_rate",
        "按期受理率",
        t["accepted_on_time"],
        t["accepted"],
        "按期受理率 = 按期受理数 ÷ 受理数",
    )
    rate(
        "resolve_on_time_rate",
        "按期办结率",
        t["resolved_on_time"],
        due - extended,
        "按期办结率 = 按期办结数 ÷（应办结数 − 经批准延期数）；应办结数 = 已办结数 + 已超办结时限仍未办结数",
    )
    rate("resolve_rate", "办结率", t["resolved"], due, "办结率 = 办结数 ÷ 应办结数")
    rate("rework_rate", "返工率", t["reopened"], t["resolved"], "返工率 = 返工数 ÷ 办结数")
    rate(
        "satisfaction_rate",
        "满意率",
        t["satisfied"],
        t["evaluated"],
        "满意率 =（满意 + 基本满意）÷ 参评数；未评价的、处置人自评的不计入",
    )
    rate("evaluation_rate", "参评率", t["evaluated"], t["closed"], "参评率 = 参评数 ÷ 归档数")
    rate("grid_tier_rate", "自办率", t["grid_tier"], t["reported"], "自办率 = 网格自办数 ÷ 上报数")
    rate("same_day_rate", "当日销号率", t["same_day"], t["reported"], "当日销号率 = 当日办结数 ÷ 上报数")

    def mean(key: str, label: str, hours: str, n: str, basis: str) -> None:
        if wanted(key):
            value = round(t[hours] / t[n], 1) if t[n] else None
            out.append(Figure(key, label, value, "小时", basis, t[hours], t[n]))

    mean(
        "accept_mean_hours",
        "平均受理用时",
        "accept_hours",
        "accepted",
        "从上报到受理的工作小时，按受理数平均",
    )
    mean(
        "resolve_mean_hours",
        "平均办结用时",
        "resolve_hours",
        "resolved",
        "从上报到办结的工作小时，按办结数平均",
    )
    for prefix, key, label in (
        ("accept", "accept_median_hours", "受理用时中位数"),
        ("resolve", "resolve_median_hours", "办结用时中位数"),
    ):
        if wanted(key):
            out.append(Figure(key, label, median_hours(t, prefix), "小时", MEDIAN_BASIS))
    return {f.key: f for f in out}


WORKING_TIME_BASIS = (
    "用时按工作时间计：依“节假日与调休”日历，工作日（含调休上班日）全天计入，周末与法定节假日不计"
)
COHORT_BASIS = (
    "统计对象为所选时段内上报的事件，各项反映这些事件至今的办理情况；"
    "一件事件无论退回、返工几次只计一次。升级督办按发生日计。"
)


# --- 综合指标 -------------------------------------------------------------------------------

RANKING_PARTS = (
    ("resolve_on_time_rate", "按期办结率", False),
    ("satisfaction_rate", "满意率", False),
    ("accept_on_time_rate", "按期受理率", False),
    ("rework_rate", "返工率（逆向：100 − 返工率）", True),
)
# what a ranking of places shows of each unit (the page's and the export's columns: its parts)
RANKED = frozenset(key for key, _label, _inverted in RANKING_PARTS)


def composite(figs: Mapping[str, Figure], weights: Mapping[str, float]) -> float | None:
    """Σ weight × rate ÷ Σ weight over the parts that have a value (返工率 inverted); a part with
    no denominator (nothing evaluated, say) drops out and the others are re-weighted."""
    num = den = 0.0
    for key, _label, inverted in RANKING_PARTS:
        value = figs[key].value
        weight = float(weights.get(key, 0))
        if value is None or weight <= 0:
            continue
        num += weight * ((100 - value) if inverted else value)
        den += weight
    return round(num / den, 1) if den else None


def composite_basis(weights: Mapping[str, float], min_cases: int) -> str:
    parts = "、".join(f"{label} {weights.get(key, 0):g}%" for key, label, _ in RANKING_PARTS)
    return (
        f"综合指标 = 加权平均（{parts}）；某项无分母时不计并按其余权重折算；"
        f"上报数不足 {min_cases} 件的单位单列，不参与排名"
    )
