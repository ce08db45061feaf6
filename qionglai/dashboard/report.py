"""What one dashboard screen shows, built once for the page, the data endpoint and the exports
(so an export is exactly what is on screen)."""

from __future__ import annotations

import functools
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.utils import timezone, translation

from grids.models import Channel, Status, Tier, Urgency

from . import breakdowns, fill, indicators, other, selectors, sums

HEADLINE_KEYS = (
    "reported",
    "resolved",
    "overdue_now",
    "open_now",
    "accept_on_time_rate",
    "resolve_on_time_rate",
    "resolve_rate",
    "satisfaction_rate",
    "rework_rate",
    "evaluation_rate",
    "grid_tier_rate",
    "same_day_rate",
    "accept_mean_hours",
    "resolve_mean_hours",
    "accept_median_hours",
    "resolve_median_hours",
)
GRAINS = {"day": "按日", "week": "按周", "month": "按月"}
SPLIT_CHOICES = {"urgency": Urgency, "tier": Tier, "channel": Channel}


@dataclass
class Screen:
    scope: selectors.Scope
    period: selectors.Period
    grain: str
    figures: dict
    previous: dict
    year_ago: dict
    as_of: object
    children: list = field(default_factory=list)
    ranking: selectors.Ranking | None = None
    overdue: list = field(default_factory=list)
    oldest: list = field(default_factory=list)
    trend: list = field(default_factory=list)
    categories: list = field(default_factory=list)
    splits: dict = field(default_factory=dict)
    open_by_state: list = field(default_factory=list)
    headline: list = field(default_factory=list)
    grids: list = field(default_factory=list)
    points: list = field(default_factory=list)
    consultation: list = field(default_factory=list)
    registry: list = field(default_factory=list)
    tables: list = field(default_factory=list)  # breakdowns.Table, in page order
    error: str = ""

    def table(self, key: str):
        return next(t for t in self.tables if t.key == key)

    @property
    def title(self) -> str:
        return f"{self.scope.name} · {self.period.label}"

    @property
    def filename(self) -> str:
        return f"{self.scope.name}_{self.period.start:%Y%m%d}-{self.period.end:%Y%m%d}"

    def compare(self) -> list[dict]:
        """The headline indicators with 环比 and 同比 beside each."""
        out = []
        for key in HEADLINE_KEYS:
            f = self.figures[key]
            prev, ago = self.previous.get(key), self.year_ago.get(key)
            out.append(
                {
                    "key": key,
                    "label": f.label,
                    "display": f.display,
                    "value": f.value,
                    "unit": f.unit,
                    "basis": f.basis,
                    "mom": change(f, prev),
                    "yoy": change(f, ago),
                }
            )
        return out


def change(now: indicators.Figure, before: indicators.Figure | None) -> str:
    """环比/同比 text: a rate moves in percentage points, a count or time in per cent."""
    if before is None or now.value is None or before.value is None:
        return "—"
    if now.key in ("overdue_now", "open_now"):
        return "—"  # figures about the present have no earlier period
    if now.unit == "%":
        d = now.value - before.value
        return f"{d:+.1f} 个百分点"
    if not before.value:
        return "—"
    return f"{100 * (now.value - before.value) / before.value:+.1f}%"


def _week(d: date) -> date:
    return d - timedelta(days=d.weekday())


def trend(by_day: dict, period: selectors.Period, grain: str) -> list[dict]:
    """Per day, week or month: reported, resolved, reopened and 满意率 (indicators.figures'
    satisfaction_rate of the bucket, from the only two columns it reads)."""
    # one pass over the days with the bucket's key computed for the grain alone (a year of
    # days built three keys and a dict each: ~1.4 ms of a computed answer)
    columns = sums.TREND_COLUMNS
    sums_of: OrderedDict[date, list[int]] = OrderedDict()
    day, one = period.start, timedelta(days=1)
    while day <= period.end:
        key = day if grain == "day" else _week(day) if grain == "week" else day.replace(day=1)
        bucket = sums_of.get(key)
        if bucket is None:
            bucket = sums_of[key] = [0] * len(columns)
        cell = by_day.get(day)
        if cell is not None:
            for i, column in enumerate(columns):
                bucket[i] += cell.get(column) or 0
        day += one
    buckets = {key: dict(zip(columns, values, strict=True)) for key, values in sums_of.items()}
    out = []
    for key, cell in buckets.items():
        label = {"day": f"{key:%m-%d}", "week": f"{key:%m-%d} 周", "month": f"{key:%Y-%m}"}[grain]
        out.append(
            {
                "label": label,
                "reported": cell["reported"],
                "resolved": cell["resolved"],
                "reopened": cell["reopened"],
                "satisfaction_rate": indicators.ratio(cell["satisfied"], cell["evaluated"]),
            }
        )
    return out


def category_split(by_category: dict, cats: dict | None = None) -> list[dict]:
    """`cats`: selectors.category_names() (read here when not given)."""
    if cats is None:
        cats = selectors.category_names(by_category)
    top: dict[str, dict] = {}
    for pk, cell in by_category.items():
        name, parent_name = cats.get(pk, (str(pk), "其他"))
        parent = parent_name or name
        entry = top.setdefault(parent, {"name": parent, "reported": 0, "resolved": 0, "children": []})
        entry["reported"] += cell["reported"]
        entry["resolved"] += cell["resolved"]
        entry["children"].append({"name": name, "reported": cell["reported"], "resolved": cell["resolved"]})
    out = sorted(top.values(), key=lambda e: -e["reported"])
    for e in out:
        e["children"].sort(key=lambda x: -x["reported"])
    return out


@functools.lru_cache(maxsize=8)
def _split_labels(language: str | None) -> dict[str, tuple[tuple[str, str], ...]]:
    # the choices' labels are lazy: a translation each, per screen; the same text per language
    return {
        dim: tuple((value, str(label)) for value, label in SPLIT_CHOICES[dim].choices)
        for dim in SPLIT_CHOICES
    }


def splits(total: dict) -> dict:
    labels = _split_labels(translation.get_language())
    return {
        dim: {
            "label": indicators.SPLIT_LABELS[dim],
            "rows": [{"name": label, "reported": total[f"{dim}_{value}"]} for value, label in labels[dim]],
        }
        for dim in indicators.SPLITS
    }


def grain_of(params, period: selectors.Period) -> str:
    return params.get("grain") if params.get("grain") in GRAINS else ("month" if period.days > 92 else "day")


def build(
    *,
    user=None,
    params,
    now=None,
    full: bool = True,
    scope: selectors.Scope | None = None,
    as_of=None,
    shared: dict | None = None,
) -> Screen:
    """The screen for the viewer at ?place=…&period=… (refused outside their grant). `scope`
    given (already resolved for the viewer, or by the warm-up for no one) skips the lookup;
    `as_of` given (the warm-up's fill moment) skips reading the watermark; `shared` (the
    warm-up's, across periods of the same moment) keeps what does not depend on the period —
    open and overdue now, the red list, the oldest open, the categories — computed once."""
    now = now or timezone.now()
    if scope is None:
        scope = selectors.scope_for(user=user, path=params.get("place") or None)
    period = selectors.period_from(params, today=timezone.localdate(now))
    grain = grain_of(params, period)
    memo = shared if shared is not None else {}
    # the period's, 环比's and 同比's totals in one statement (for a grid, the same statement
    # groups the period by place, day and category: the cells_by below read no more)
    selectors.prefetch_totals(scope, [period, period.previous(), period.year_ago()], memo)
    # (a community's and a grid's category cells carry only the split's and ranking's columns)
    by_category = selectors.cells_by(scope, period, "category", memo)
    total = selectors.total(scope, period, memo)

    def once(key, compute):
        if key not in memo:
            memo[key] = compute()
        return memo[key]

    present = once(("present", scope.path), lambda: selectors.present_of(scope, now))
    opened, late = (present.by_state, present.overdue), present.late
    now_figs = selectors.now_figures(scope, period, now, opened, late)
    figures = indicators.figures(total, now_figs)
    previous = selectors.figures(scope, period.previous(), now, opened, late, memo)
    year_ago = selectors.figures(scope, period.year_ago(), now, opened, late, memo)
    if as_of is None:
        wm = fill.watermark()
        as_of = wm.complete_to if wm else None
    screen = Screen(
        scope=scope,
        period=period,
        grain=grain,
        figures=figures,
        previous=previous,
        year_ago=year_ago,
        as_of=as_of,
    )
    status_labels = listed_labels()["status"]
    screen.open_by_state = [
        {"name": status_labels.get(s, s), "value": n} for s, n in now_figs.open_by_state.items()
    ]
    screen.ranking = selectors.ranking(scope, period, now, late, memo)
    screen.overdue, screen.oldest = present.overdue_list, present.oldest
    screen.trend = trend(selectors.trend_days(scope, period, memo), period, grain)
    screen.categories = category_split(by_category, selectors.category_names(by_category))
    screen.splits = splits(total)
    if full:
        screen.headline = other.headline(scope)
        screen.grids = other.grids(scope)
        screen.points = other.points(scope, period)
        screen.consultation = other.consultation(scope)
        screen.registry = other.registry(scope)
        screen.tables = breakdowns.all_tables(scope, period, now)
    return screen


def listed_labels() -> dict[str, dict[str, str]]:
    """The status, urgency and stage labels in the active language, for incident_row: Django's
    get_FOO_display() hashes every lazy label of the field's choices on each call (each hash
    a translation), ~40 translations per row — a fifth of a community's computed answer. Made
    once per language (a lazy stage label also sent the JSON encoder to its slow path, per row)."""
    return _listed_labels(translation.get_language())


@functools.lru_cache(maxsize=8)
def _listed_labels(language: str | None) -> dict[str, dict[str, str]]:
    return {
        "status": {value: str(label) for value, label in Status.choices},
        "urgency": {value: str(label) for value, label in Urgency.choices},
        "stage": {value: str(label) for value, label in selectors.STAGE_LABELS.items()},
    }


def incident_row(inc, now, labels: dict[str, dict[str, str]] | None = None) -> dict:
    """An incident as the dashboard lists it: no reporter, phone or exact address. `labels`:
    listed_labels(), made once for many rows."""
    labels = labels or listed_labels()
    overdue_h = (now - inc.due_at).total_seconds() / 3600 if inc.due_at else None
    return {
        "id": inc.pk,
        "category": str(inc.category),
        "community": inc.community.name,
        "status": labels["status"].get(inc.status, inc.status),
        "urgency": labels["urgency"].get(inc.urgency, inc.urgency),
        "reported_at": timezone.localtime(inc.created_at).strftime("%Y-%m-%d %H:%M"),
        "due_at": timezone.localtime(inc.due_at).strftime("%Y-%m-%d %H:%M") if inc.due_at else "",
        "overdue_hours": round(overdue_h, 1) if overdue_h and overdue_h > 0 else None,
        "stage": labels["stage"].get(inc.due_stage, ""),
    }


def as_json(screen: Screen, now=None) -> dict:
    now = now or timezone.now()
    labels = listed_labels()

    def rank(r):
        return {
            "rank": r.rank,
            "name": r.name,
            "place": r.path,
            "reported": r.reported,
            "score": r.score,
            **{k: r.figures[k].value for k, _l, _i in indicators.RANKING_PARTS},
        }

    return {
        "place": {"name": screen.scope.name, "level": screen.scope.level, "path": screen.scope.path},
        "breadcrumb": [{"name": n, "place": p} for n, p in screen.scope.trail],
        "period": {
            "key": screen.period.key,
            "label": screen.period.label,
            "start": screen.period.start.isoformat(),
            "end": screen.period.end.isoformat(),
        },
        "as_of": timezone.localtime(screen.as_of).isoformat() if screen.as_of else None,
        "figures": screen.compare(),
        "all_figures": {
            k: {"label": f.label, "value": f.value, "unit": f.unit, "basis": f.basis}
            for k, f in screen.figures.items()
        },
        "ranking": {
            "basis": screen.ranking.basis,
            "ranked": [rank(r) for r in screen.ranking.ranked],
            "below_minimum": [rank(r) for r in screen.ranking.below_minimum],
        },
        "overdue": [incident_row(i, now, labels) for i in screen.overdue],
        "oldest_open": [incident_row(i, now, labels) for i in screen.oldest],
        "trend": {"grain": screen.grain, "rows": screen.trend},
        "categories": screen.categories,
        "splits": screen.splits,
        "open_by_state": screen.open_by_state,
    }
