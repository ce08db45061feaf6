"""Reads behind the dashboard's pages, data endpoints and exports (design §8).

City and town figures are sums of rollup rows; community and grid figures are counted straight
from the incident table (path prefix + report-time range, both indexed) with the same
`indicators.accumulate`, so the two roads give the same numbers. Every read goes to the
`dashboard` database alias's router (a read replica when one is configured).
"""

from __future__ import annotations

import calendar
import json
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q, Sum
from django.utils import timezone

from grids import sla
from grids.models import OPEN_STATES, Category, Escalation, Grid, Incident, Satisfaction, Stage, Status
from projects.models import Community, Town
from qionglai.users import access

from . import counted, indicators, present, sums
from .models import CityDayCategory, CommunityDay, TownDayCategory

MSG_NO_SCOPE = "您没有可查看的数据看板范围"
MSG_BAD_PLACE = "没有这个地方"
MSG_BAD_PERIOD = "请选择正确的时段"
MSG_BAD_RANGE = "开始日期不能晚于结束日期，且跨度不超过 3 年"

LEVELS = {1: "city", 2: "town", 3: "community"}  # deeper paths are grids


# --- scope -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    path: str
    level: str  # city / town / community / grid
    name: str
    trail: tuple[tuple[str, str], ...]  # breadcrumb: (name, path) from the viewer's top down

    @property
    def child_level(self) -> str | None:
        return {"city": "town", "town": "community", "community": "grid", "grid": "grid"}[self.level]

    def q(self, field_name: str = "path") -> Q:
        if self.level == "city":
            return Q()
        return Q(**{field_name: self.path}) | Q(**{f"{field_name}__startswith": self.path + "."})


def _depth(path: str) -> int:
    return path.count(".") + 1


def _names(paths: list[str]) -> dict[str, str]:
    names = {settings.CITY_PATH: "邛崃市"}
    towns = [p for p in paths if _depth(p) == 2]
    communities = [p for p in paths if _depth(p) == 3]
    grids = [p for p in paths if _depth(p) > 3]
    if towns:
        names.update(Town.objects.filter(path__in=towns).values_list("path", "name"))
    if communities:
        names.update(Community.objects.filter(path__in=communities).values_list("path", "name"))
    if grids:
        names.update(Grid.objects.filter(path__in=grids).values_list("path", "name"))
    return names


NAMES_TTL = 300  # a renamed place shows its new name on the dashboard within five minutes
_UNREAD = object()


def names_key(path: str) -> str:
    return f"dashboard:names:v2:{path}"


def _ancestor_names(path: str, ancestors: list[str], cached=_UNREAD) -> dict[str, str]:
    """The names along the path, from the cache (every dashboard request asks for them; the
    data endpoint reads them in the same round trip as its stamp and passes them as `cached`)."""
    from . import store

    raw = store.get(names_key(path)) if cached is _UNREAD else cached
    if raw is not None:
        return json.loads(raw)
    names = _names(ancestors)
    if path in names:
        store.set(names_key(path), json.dumps(names, ensure_ascii=False).encode(), NAMES_TTL)
    return names


def child_names_key(path: str) -> str:
    return f"dashboard:child-names:v1:{path}"


def child_names(path: str, children: list[str]) -> dict[str, str | None]:
    """The names of places one level below `path` (a ranking's units), from the cache (a renamed
    place shows within NAMES_TTL); the ones it lacks read and added to it."""
    from . import store

    raw = store.get(child_names_key(path))
    names = json.loads(raw) if raw is not None else {}
    missing = [p for p in children if p not in names]
    if missing:
        found = _names(missing)
        names.update({p: found.get(p) for p in missing})  # None: no such place (asked once)
        store.set(child_names_key(path), json.dumps(names, ensure_ascii=False).encode(), NAMES_TTL)
    return names


CATEGORIES_KEY = "dashboard:categories:v1"


def category_names(needed=()) -> dict[int, tuple[str, str | None]]:
    """id → (name, its parent's name or None) of every incident category, for the split by
    category: from the cache (a renamed category shows within NAMES_TTL), read again when a
    category in `needed` is not in it (a new one shows at once)."""
    from . import store

    raw = store.get(CATEGORIES_KEY)
    if raw is not None:
        names = {int(pk): (name, parent) for pk, (name, parent) in json.loads(raw).items()}
        if all(pk in names for pk in needed):
            return names
    names = {
        pk: (name, parent) for pk, name, parent in Category.objects.values_list("id", "name", "parent__name")
    }
    store.set(CATEGORIES_KEY, json.dumps(names, ensure_ascii=False).encode(), NAMES_TTL)
    return names


def home_path(user) -> str:
    """The widest place the viewer's grant lets them open (their first such grant)."""
    if access.is_admin(user):
        return settings.CITY_PATH
    paths = access.grant_paths(user, "dashboard.view")
    if not paths:
        raise PermissionDenied(MSG_NO_SCOPE)
    return paths[0]


def scope_for(*, user, path: str | None, cached_names=_UNREAD) -> Scope:
    """The scope at `path` (the viewer's home when None), refused outside the viewer's grant.
    `cached_names`: the cache's entry under names_key(path), when the caller has read it."""
    top = home_path(user)
    path = path or top
    access.require(user, "dashboard.view", path)
    ancestors = [".".join(path.split(".")[:i]) for i in range(1, _depth(path) + 1)]
    names = _ancestor_names(path, ancestors, cached_names)
    if path not in names:
        raise ValidationError({"place": MSG_BAD_PLACE})
    visible = [p for p in ancestors if access.can(user, "dashboard.view", p)]
    return Scope(
        path=path,
        level=LEVELS.get(_depth(path), "grid"),
        name=names[path],
        trail=tuple((names[p], p) for p in visible),
    )


def scope_at(path: str) -> Scope:
    """The scope at `path` with its full breadcrumb, for no viewer in particular: what the
    fill's warm-up builds the cached payloads for (the data endpoint adds the viewer's own
    breadcrumb to a cached payload; nothing else in it depends on who asks)."""
    ancestors = [".".join(path.split(".")[:i]) for i in range(1, _depth(path) + 1)]
    names = _names(ancestors)
    return Scope(
        path=path,
        level=LEVELS.get(_depth(path), "grid"),
        name=names[path],
        trail=tuple((names[p], p) for p in ancestors),
    )


# --- period ----------------------------------------------------------------------------------

PERIODS = {
    "today": "今日",
    "7d": "近 7 天",
    "30d": "近 30 天",
    "month": "本月",
    "quarter": "本季度",
    "year": "本年",
    "custom": "自定义",
}


@dataclass(frozen=True)
class Period:
    key: str
    start: date
    end: date  # inclusive

    @property
    def label(self) -> str:
        if self.key == "custom":
            return f"{self.start:%Y-%m-%d} 至 {self.end:%Y-%m-%d}"
        return PERIODS[self.key]

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """环比: the same number of days just before."""
        return Period("custom", self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def year_ago(self) -> Period:
        """同比: the same dates a year earlier (29 Feb becomes 28 Feb)."""

        def back(d: date) -> date:
            try:
                return d.replace(year=d.year - 1)
            except ValueError:
                return d.replace(year=d.year - 1, day=28)

        return Period("custom", back(self.start), back(self.end))

    def bounds(self):
        return indicators.day_bounds(self.start)[0], indicators.day_bounds(self.end)[1]


def period_from(params, today: date | None = None) -> Period:
    today = today or timezone.localdate()
    key = params.get("period") or "30d"
    if key == "today":
        return Period(key, today, today)
    if key == "7d":
        return Period(key, today - timedelta(days=6), today)
    if key == "30d":
        return Period(key, today - timedelta(days=29), today)
    if key == "month":
        return Period(key, today.replace(day=1), today)
    if key == "quarter":
        return Period(key, today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1), today)
    if key == "year":
        return Period(key, today.replace(month=1, day=1), today)
    if key == "custom":
        try:
            start = date.fromisoformat(params.get("start") or "")
            end = date.fromisoformat(params.get("end") or "")
        except ValueError:
            raise ValidationError({"start": MSG_BAD_PERIOD}) from None
        if start > end or (end - start).days > 366 * 3:
            raise ValidationError({"end": MSG_BAD_RANGE})
        return Period(key, start, end)
    raise ValidationError({"period": MSG_BAD_PERIOD})


def month_end(d: date) -> date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


# --- cells -----------------------------------------------------------------------------------

SUMS = {c: Sum(c) for c in indicators.COLUMNS}


def _rollup(scope: Scope):
    if scope.level == "city":
        return CityDayCategory.objects.all()
    return TownDayCategory.objects.filter(town__path=scope.path)


def _direct(scope: Scope, period: Period, key):
    lo, hi = period.bounds()
    incidents = Incident.objects.filter(scope.q(), created_at__gte=lo, created_at__lt=hi).values_list(
        *indicators.ROW_FIELDS
    )
    # the escalation's own path (its incident's, copied when it is made); the join for the category
    escalations = Escalation.objects.filter(scope.q("path"), at__gte=lo, at__lt=hi).values_list(
        "at", "level", "path", "incident__category_id"
    )
    return indicators.accumulate(incidents, escalations, sla.all_exceptions(), key=key)


def _clean(row: dict) -> dict:
    return {c: (row.get(c) or 0) for c in indicators.COLUMNS}


# What a community's one grouped read counts per (incident path, category): the split by
# category (reported, resolved) and what the ranking of its grids reads (the 综合指标's four
# rates). Each is indicators.accumulate_incident's rule for that column written as a filter
# (tests/dashboard/test_community_from_rollups.py compares them with accumulate).
_RESOLVED = Q(resolved_at__isnull=False)
_EVALUATED = Q(status=Status.CLOSED, self_evaluated=False) & Q(
    satisfaction__in=[Satisfaction.SATISFIED, Satisfaction.BASIC, Satisfaction.DISSATISFIED]
)
FINE_COUNTS = {
    "reported": Count("id"),
    "resolved": Count("id", filter=_RESOLVED),
    "resolved_extended": Count("id", filter=_RESOLVED & Q(extension_count__gt=0)),
    "resolved_on_time": Count("id", filter=_RESOLVED & Q(extension_count=0, resolved_on_time=True)),
    "accepted": Count("id", filter=Q(accepted_at__isnull=False)),
    "accepted_on_time": Count("id", filter=Q(accepted_at__isnull=False, accepted_on_time=True)),
    "evaluated": Count("id", filter=_EVALUATED),
    "satisfied": Count("id", filter=_EVALUATED & ~Q(satisfaction=Satisfaction.DISSATISFIED)),
    "reopened": Count("id", filter=Q(reopen_count__gt=0)),
}


def _fine_counts(scope: Scope, period: Period) -> dict:
    """{(path, category id): FINE_COUNTS' counts, in its order}: one aggregate over the scope's
    incidents of the period (the path index's range, grouped in the database)."""
    lo, hi = period.bounds()
    rows = (
        Incident.objects.filter(scope.q(), created_at__gte=lo, created_at__lt=hi)
        .values_list("path", "category_id")
        # n_…: some columns share their name with an incident field (accepted_on_time …)
        .annotate(**{f"n_{name}": count for name, count in FINE_COUNTS.items()})
        .order_by()
    )
    return {(path, category): counts for path, category, *counts in rows}


def _community_days(scope: Scope, period: Period):
    return CommunityDay.objects.filter(community__path=scope.path, day__gte=period.start, day__lte=period.end)


def cells_by(scope: Scope, period: Period, by: str, memo: dict | None = None) -> dict:
    """Summed cells keyed by `by`: "category", "day" or "child" (the next level down's path).
    A community's days are its community × day rollup rows; its categories and its grids (the
    ranking) one grouped count of its incidents (FINE_COUNTS' columns: what the split and the
    ranking show). A grid's are counted from the incidents; with a `memo` (one screen's), one
    pass keyed by (child, day, category) serves all three groupings."""
    if scope.level == "town" and by == "child":  # the town's communities: community × day rows
        rows = (
            CommunityDay.objects.filter(
                community__path__startswith=scope.path + ".", day__gte=period.start, day__lte=period.end
            )
            .values("community__path")
            .annotate(**SUMS)
            .order_by()
        )
        return {r["community__path"]: _clean(r) for r in rows}
    if scope.level in ("city", "town"):
        qs = _rollup(scope).filter(day__gte=period.start, day__lte=period.end)
        if by == "child":  # the city's towns: the community × day rows summed per town (a tenth
            # of the town × day × category rows at a million incidents)
            qs = CommunityDay.objects.filter(day__gte=period.start, day__lte=period.end)
            rows = qs.values("community__town__path").annotate(**SUMS).order_by()
            return {r["community__town__path"]: _clean(r) for r in rows}
        column = {"category": "category_id", "day": "day"}[by]
        rows = qs.values(column).annotate(**SUMS).order_by()
        return {r[column]: _clean(r) for r in rows}
    depth = _depth(scope.path) + 1
    if scope.level == "community":
        if by == "day":  # one row per day: the rollup's own
            return {
                r.pop("day"): _clean(r)
                for r in _community_days(scope, period).values("day", *indicators.COLUMNS)
            }
        counted_cells = _grid_fine(scope, period, by, memo, sets=("path", "category"))
        if counted_cells is not None:
            return counted_cells
        memo = memo if memo is not None else {}
        slot = ("counts", scope.path, period.start, period.end)
        if slot not in memo:
            memo[slot] = _fine_counts(scope, period)
        sums: dict = {}
        for (path, category), counts in memo[slot].items():
            k = category if by == "category" else ".".join(path.split(".")[:depth])
            sums[k] = [a + b for a, b in zip(sums[k], counts, strict=True)] if k in sums else counts
        return {
            k: {**indicators.empty_cell(), **dict(zip(FINE_COUNTS, v, strict=True))} for k, v in sums.items()
        }
    counted_cells = _grid_fine(scope, period, by, memo)
    if counted_cells is not None:
        return counted_cells
    if memo is not None:
        slot = ("fine", scope.path, period.start, period.end)
        if slot not in memo:
            memo[slot] = _direct(scope, period, lambda p, d, c: (".".join(p.split(".")[:depth]), d, c))
        position = {"child": 0, "day": 1, "category": 2}[by]
        out = {}
        for k, cell in memo[slot].items():
            indicators.add(out.setdefault(k[position], indicators.empty_cell()), cell)
        return out

    def key(path: str, day: date, category: int):
        if by == "child":
            return ".".join(path.split(".")[:depth])
        return day if by == "day" else category

    return _direct(scope, period, key)


def _exceptions(memo: dict | None) -> dict:
    if memo is None:
        return sla.all_exceptions()
    if "calendar" not in memo:
        memo["calendar"] = sla.all_exceptions()
    return memo["calendar"]


def _grid_fine(
    scope: Scope, period: Period, by: str, memo: dict | None, sets=counted.GROUPINGS
) -> dict | None:
    """A grid's (or a community's: sets without the days, which its rollup has) cells by child,
    day or category counted by PostgreSQL (counted.fine: what the ranking, the trend and the
    category split read), or None where it cannot (then the Python pass counts them)."""
    memo = memo if memo is not None else {}
    slot = ("counted", scope.path, period.start, period.end)
    if slot not in memo:
        lo, hi = period.bounds()
        # FINE's columns hold no working time: no calendar needed (an empty one is as good)
        memo[slot] = counted.fine(scope.path, lo, hi, timezone.localdate(), {}, sets)
    groups = memo[slot]
    if groups is None:
        return None
    if by != "child":
        return {k: {**indicators.empty_cell(), **v} for k, v in groups[by].items()}
    depth = _depth(scope.path) + 1
    out: dict = {}
    for path, counts in groups["path"].items():
        cell = out.setdefault(".".join(path.split(".")[:depth]), indicators.empty_cell())
        for column, n in counts.items():
            cell[column] += n
    return out


def total(scope: Scope, period: Period, memo: dict | None = None) -> dict:
    """Every column summed over the period: rollup rows for the city, a town and a community;
    counted by PostgreSQL from the incidents for a grid (the Python pass where it cannot).
    With a `memo` that prefetch_totals filled, no read."""
    slot = ("total", scope.path, period.start, period.end)
    cell = memo[slot] if memo is not None and slot in memo else prefetch_totals(scope, [period], memo)[0]
    if cell is not None:
        return cell
    return indicators.total_of(_direct(scope, period, key=lambda p, d, c: c).values())


def trend_days(scope: Scope, period: Period, memo: dict | None = None) -> dict:
    """{day: cell} with at least sums.TREND_COLUMNS: what the trend chart shows."""
    if scope.level in ("city", "town", "community"):
        return sums.trend_days(scope.level, scope.path, period.start, period.end)
    return cells_by(scope, period, "day", memo)


def prefetch_totals(scope: Scope, periods: list[Period], memo: dict | None) -> list[dict | None]:
    """The totals of several periods (a screen's, 环比, 同比) in one statement, kept in `memo`
    for total(): summed rollup rows for the city, a town and a community; a grid's counted by
    PostgreSQL (None for each where it cannot: total() then takes the Python pass)."""
    if scope.level in ("city", "town", "community"):
        cells = sums.totals(scope.level, scope.path, [(p.start, p.end) for p in periods])
    else:
        # with a memo (a screen's): the first period's cells by place, day and category from
        # the same statement's rows (what _grid_fine would read again)
        found = counted.screen(
            scope.path,
            [p.bounds() for p in periods],
            timezone.localdate(),
            _exceptions(memo),
            counted.GROUPINGS if memo is not None else None,
        )
        cells = found[0] if found is not None else [None] * len(periods)
        if found is not None and memo is not None:
            memo[("counted", scope.path, periods[0].start, periods[0].end)] = found[1]
    if memo is not None:
        for period, cell in zip(periods, cells, strict=True):
            memo[("total", scope.path, period.start, period.end)] = cell
    return cells


def open_now(scope: Scope, now=None) -> tuple[dict, int]:
    """Open incidents by state and how many are overdue now: the same for every period (one
    screen computes them once for its period, 环比 and 同比)."""
    now = now or timezone.now()
    open_qs = Incident.objects.filter(scope.q(), status__in=OPEN_STATES)
    by_state = dict(open_qs.values_list("status").annotate(n=Count("id")).order_by())
    return by_state, open_qs.filter(due_at__lt=now).count()


def now_figures(
    scope: Scope,
    period: Period | None = None,
    now=None,
    opened: tuple[dict, int] | None = None,
    late: list[tuple] | None = None,
) -> indicators.Now:
    """Open and overdue now (direct: open incidents are few and partially indexed)."""
    now = now or timezone.now()
    by_state, overdue = opened if opened is not None else open_now(scope, now)
    unresolved = in_ext = 0
    if period is not None:
        for _path, ext in _in_period(late if late is not None else late_rows(scope, now), period):
            unresolved += 1
            in_ext += ext > 0
    return indicators.Now(
        open_by_state={s: by_state.get(s, 0) for s in OPEN_STATES},
        overdue=overdue,
        overdue_unresolved_in_period=unresolved,
        overdue_unresolved_extended_in_period=in_ext,
    )


def figures(
    scope: Scope, period: Period, now=None, opened=None, late=None, memo: dict | None = None
) -> dict[str, indicators.Figure]:
    return indicators.figures(total(scope, period, memo), now_figures(scope, period, now, opened, late))


@dataclass
class RankRow:
    path: str
    name: str
    reported: int
    figures: dict
    score: float | None
    rank: int | None = None


@dataclass
class Ranking:
    unit_kind: str
    basis: str
    ranked: list[RankRow] = field(default_factory=list)
    below_minimum: list[RankRow] = field(default_factory=list)


def late_rows(scope: Scope, now=None) -> list[tuple]:
    """(created_at, path, extension_count) of every incident in the scope still unresolved past
    its resolve deadline now — what 按期办结率's denominator adds for any period (the same set
    whatever the period: one read serves a screen's period, 环比, 同比 and ranking)."""
    now = now or timezone.now()
    return list(
        Incident.objects.filter(
            scope.q(),
            status__in=(Status.ACCEPTED, Status.IN_PROGRESS),
            resolved_at__isnull=True,
            resolve_due__lt=now,
        ).values_list("created_at", "path", "extension_count")
    )


def _in_period(rows: list[tuple], period: Period):
    lo, hi = period.bounds()
    return ((path, ext) for created, path, ext in rows if lo <= created < hi)


def overdue_unresolved_by_child(
    scope: Scope, period: Period, now=None, late: list[tuple] | None = None
) -> dict[str, tuple[int, int]]:
    depth = _depth(scope.path) + 1
    out: dict[str, list[int]] = {}
    for path, ext in _in_period(late if late is not None else late_rows(scope, now), period):
        entry = out.setdefault(".".join(path.split(".")[:depth]), [0, 0])
        entry[0] += 1
        entry[1] += ext > 0
    return {k: (v[0], v[1]) for k, v in out.items()}


def ranking(
    scope: Scope, period: Period, now=None, late: list[tuple] | None = None, memo: dict | None = None
) -> Ranking:
    """综合指标 of the units one level below the scope (towns of the city, communities of a
    town …), with the rule's weights; units under its minimum case count are listed apart."""
    from .models import RankingRule, UnitKind

    kind = {"city": UnitKind.TOWN, "town": UnitKind.COMMUNITY}.get(scope.level, UnitKind.COMMUNITY)
    rule = RankingRule.for_kind(kind)
    children = cells_by(scope, period, "child", memo)
    overdue = overdue_unresolved_by_child(scope, period, now, late)
    names = child_names(scope.path, list(children))
    out = Ranking(unit_kind=kind, basis=indicators.composite_basis(rule.weights, rule.min_cases))
    for path, cell in children.items():
        # only what a ranking shows (its four parts): a community ranks ~20 grids
        figs = indicators.ranked_figures(cell, late=overdue.get(path, (0, 0)), only=indicators.RANKED)
        row = RankRow(
            path, names.get(path) or path, cell["reported"], figs, indicators.composite(figs, rule.weights)
        )
        (out.ranked if cell["reported"] >= rule.min_cases else out.below_minimum).append(row)
    out.ranked.sort(key=lambda r: (-(r.score if r.score is not None else -1), r.path))
    for i, row in enumerate(out.ranked, 1):
        row.rank = i
    out.below_minimum.sort(key=lambda r: r.path)
    return out


# what report.incident_row and templates/dashboard/_incidents.html read of a listed incident
# (the rest of its ~45 columns were most of building these 30 rows)
LISTED = (
    "status", "urgency", "created_at", "due_at", "due_stage",
    "category__name", "category__parent__name", "community__name",
)  # fmt: skip


def present_of(scope: Scope, now=None) -> present.Present:
    """Open by state, overdue now, the late incidents and the two lists in one statement
    (present.py), or through the reads below where it cannot (not PostgreSQL)."""
    now = now or timezone.now()
    found = present.present(scope.level, scope.path, now)
    if found is not None:
        return found
    by_state, overdue = open_now(scope, now)
    return present.Present(
        by_state, overdue, late_rows(scope, now), overdue_list(scope, now=now), oldest_open(scope)
    )


def overdue_list(scope: Scope, *, limit: int = present.OVERDUE_LIMIT, now=None) -> list[Incident]:
    """红灯: open incidents past their current deadline, the longest overdue first."""
    now = now or timezone.now()
    return list(
        Incident.objects.filter(scope.q(), status__in=OPEN_STATES, due_at__lt=now)
        .select_related("category", "category__parent", "community")
        .only(*LISTED)
        .order_by("due_at", "id")[:limit]
    )


def oldest_open(scope: Scope, *, limit: int = present.OLDEST_LIMIT) -> list[Incident]:
    return list(
        Incident.objects.filter(scope.q(), status__in=OPEN_STATES)
        .select_related("category", "category__parent", "community")
        .only(*LISTED)
        .order_by("created_at", "id")[:limit]
    )


STAGE_LABELS = dict(Stage.choices)
