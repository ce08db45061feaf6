"""Filling the rollups: the zulip analytics pattern with day slots (design §8).

A fill (1) marks dirty the days touched since the watermark — the report day of every incident
updated since then, the day of every escalation made since then — and advances the watermark in
the same transaction; (2) rewrites each dirty day whole: the slot is marked `started` and
committed, then one transaction deletes the day's rows, recounts the day's incidents into town
cells, sums the city cells from the town cells, and marks the slot `done`. A fill that dies
between the two leaves `started`, which the next fill redoes; a day is never half counted.

The scan re-reads OVERLAP before the watermark, so a transaction that stamped `updated_at`
before the scan but committed after it is still seen by the next fill.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models.functions import TruncDate
from django.utils import timezone

from grids import sla
from grids.models import Escalation, Incident
from projects.models import Community, Town

from . import indicators, store
from .models import CityDayCategory, CommunityDay, FillSlot, FillWatermark, SlotState, TownDayCategory

log = logging.getLogger(__name__)

WATERMARK = "incidents"
OVERLAP = timedelta(minutes=2)


@dataclass
class FillReport:
    marked: int = 0
    filled: list[date] = field(default_factory=list)
    complete_to: datetime | None = None


def watermark() -> FillWatermark | None:
    return FillWatermark.objects.filter(name=WATERMARK).first()


# The data endpoint's cache key needs `complete_to` on every request: the fill writes it to the
# cache as it moves it (as ISO text, read raw by payload.lookup in the same round trip as the
# published stamp), so a request reads Redis instead of the table (the table on a miss).
COMPLETE_KEY = "dashboard:complete_to:v2"
COMPLETE_TTL = 300
_NEVER = b"never"


def encode_moment(moment: datetime | None) -> bytes:
    return moment.isoformat().encode() if moment else _NEVER


def decode_moment(raw: bytes) -> datetime | None:
    return None if raw == _NEVER else datetime.fromisoformat(raw.decode())


def complete_to(cached: bytes | None = None) -> datetime | None:
    """The watermark's `complete_to`; `cached`: the cache's entry, when the caller has read it."""
    raw = cached if cached is not None else store.get(COMPLETE_KEY)
    if raw is None:
        wm = watermark()
        raw = encode_moment(wm.complete_to if wm else None)
        store.set(COMPLETE_KEY, raw, COMPLETE_TTL)
    return decode_moment(raw)


def _days(queryset, column: str) -> set[date]:
    tz = timezone.get_current_timezone()
    return set(
        queryset.annotate(d=TruncDate(column, tzinfo=tz)).values_list("d", flat=True).distinct().order_by()
    )


def _all_days() -> set[date]:
    """Every day that holds a report or an escalation (a rebuild's slots), plus today."""
    return (
        _days(Incident.objects.all(), "created_at")
        | _days(Escalation.objects.all(), "at")
        | {timezone.localdate()}
    )


def mark_dirty(days: Iterable[date]) -> int:
    rows = [FillSlot(day=d, state=SlotState.DIRTY) for d in sorted(set(days))]
    FillSlot.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["day"], update_fields=["state"], batch_size=1000
    )
    return len(rows)


def scan(now: datetime) -> int:
    """Marks the days changed since the watermark dirty and moves the watermark to `now`."""
    with transaction.atomic():
        wm, _ = FillWatermark.objects.get_or_create(name=WATERMARK)
        wm = FillWatermark.objects.select_for_update().get(pk=wm.pk)
        if wm.scanned_to is None:
            days = _all_days()  # first fill: every day since the first incident
        else:
            since = wm.scanned_to - OVERLAP
            days = _days(Incident.objects.filter(updated_at__gte=since), "created_at") | _days(
                Escalation.objects.filter(at__gte=since), "at"
            )
        marked = mark_dirty(days)
        wm.scanned_to = now
        wm.save(update_fields=["scanned_to"])
    return marked


def community_path(path: str) -> str:
    """510183.001.a01.g01.m01 → 510183.001.a01 (the first three parts are the community)."""
    return ".".join(path.split(".")[:3])


def source_cells(day: date, exceptions) -> dict:
    """The day's cells keyed by (community path, category id), counted from the source rows."""
    lo, hi = indicators.day_bounds(day)
    incidents = Incident.objects.filter(created_at__gte=lo, created_at__lt=hi).values_list(
        *indicators.ROW_FIELDS
    )
    escalations = Escalation.objects.filter(at__gte=lo, at__lt=hi).values_list(
        "at", "level", "path", "incident__category_id"
    )
    return indicators.accumulate(
        incidents.iterator(chunk_size=5000),
        escalations.iterator(chunk_size=5000),
        exceptions,
        key=lambda path, _day, category: (community_path(path), category),
    )


def day_cells(day: date, exceptions) -> dict:
    """The day's cells keyed by (town path, category id), counted from the source rows."""
    return town_cells(source_cells(day, exceptions))


def town_cells(fine: dict) -> dict:
    out: dict = {}
    for (community, category), cell in fine.items():
        indicators.add(
            out.setdefault((indicators.town_path(community), category), indicators.empty_cell()), cell
        )
    return out


def community_cells(fine: dict) -> dict:
    out: dict = {}
    for (community, _category), cell in fine.items():
        indicators.add(out.setdefault(community, indicators.empty_cell()), cell)
    return out


def city_cells(town_cells: dict) -> dict:
    """Coarser from finer: the city's cells are sums of the towns' cells."""
    out: dict = {}
    for (_town, category), cell in town_cells.items():
        indicators.add(out.setdefault(category, indicators.empty_cell()), cell)
    return out


def fill_slot(
    day: date,
    exceptions,
    towns: dict[str, int],
    communities: dict[str, int],
    *,
    crash: Callable | None = None,
) -> None:
    FillSlot.objects.filter(day=day).update(state=SlotState.STARTED)
    with transaction.atomic():
        slot = FillSlot.objects.select_for_update().get(day=day)
        TownDayCategory.objects.filter(day=day).delete()
        CityDayCategory.objects.filter(day=day).delete()
        CommunityDay.objects.filter(day=day).delete()
        fine = source_cells(day, exceptions)
        cells = town_cells(fine)
        TownDayCategory.objects.bulk_create(
            [
                TownDayCategory(town_id=towns[town], day=day, category_id=category, **cell)
                for (town, category), cell in cells.items()
            ],
            batch_size=1000,
        )
        if crash is not None:
            crash(day)  # tests: a fill killed after the town rows, before the city rows
        CityDayCategory.objects.bulk_create(
            [CityDayCategory(day=day, category_id=c, **cell) for c, cell in city_cells(cells).items()],
            batch_size=1000,
        )
        CommunityDay.objects.bulk_create(
            [
                CommunityDay(community_id=communities[c], day=day, **cell)
                for c, cell in community_cells(fine).items()
            ],
            batch_size=1000,
        )
        slot.state, slot.filled_at = SlotState.DONE, timezone.now()
        slot.save(update_fields=["state", "filled_at"])


def pending_days() -> list[date]:
    return list(FillSlot.objects.exclude(state=SlotState.DONE).order_by("day").values_list("day", flat=True))


def fill(
    *,
    progress: Callable[[int, int], None] | None = None,
    crash: Callable | None = None,
    warm: Callable[[datetime], object] | None = None,
) -> FillReport:
    """One fill: scan, then rewrite every pending day. Running it twice changes nothing.
    `warm(now)` (the beat passes payload.warm) runs once the watermark has moved to `now`."""
    # the app clock, like the `updated_at` stamps it is compared with (OVERLAP covers drift)
    now = timezone.now()
    report = FillReport(marked=scan(now))
    days = pending_days()
    if days:
        exceptions = sla.all_exceptions()
        towns = dict(Town.objects.values_list("path", "id"))
        communities = dict(Community.objects.values_list("path", "id"))
        for i, day in enumerate(days, 1):
            fill_slot(day, exceptions, towns, communities, crash=crash)
            report.filled.append(day)
            if progress:
                progress(i, len(days))
    done = not FillSlot.objects.exclude(state=SlotState.DONE).exists()
    if done and FillWatermark.objects.filter(name=WATERMARK, scanned_to=now).update(complete_to=now):
        store.set(COMPLETE_KEY, encode_moment(now), COMPLETE_TTL)
    if done:
        report.complete_to = now
        if warm is not None:
            try:
                warm(now)
            except Exception:  # a failed warm-up costs speed, never the figures' freshness
                log.exception("dashboard warm-up failed")
    return report


def rebuild(*, progress: Callable[[int, int], None] | None = None) -> FillReport:
    """Every day again from the source rows (after an import, a restore or a changed 口径),
    then the rollup tables laid out by place (cluster_by_place)."""
    with transaction.atomic():
        FillWatermark.objects.filter(name=WATERMARK).update(scanned_to=None)
    report = fill(progress=progress)
    cluster_by_place()
    return report


# The fill writes a day's rows for every community (town, category) at once, so a community's
# days lie one heap page each: its year, 环比 and 同比 were ~1,030 pages, of which a place no one
# asked for lately found ~500-700 outside PostgreSQL's buffers (each miss 50-100 µs on the
# benchmark's machine: 26-56 ms of a computed answer; docs/performance.md, dashboard round 8).
# Rewritten in the order of the unique keys, those rows are ~60 pages (a copy of the benchmark's
# small database: 551 -> 35 buffers for the same statement). Days the fill rewrites later move
# again; the days behind them, most of a year, stay in order until the next rebuild.
CLUSTERED = ((CommunityDay, "community_day_unique"), (TownDayCategory, "town_day_category_unique"))


def cluster_by_place() -> None:
    from django.db import connections, router

    for model, index in CLUSTERED:
        connection = connections[router.db_for_write(model)]
        if connection.vendor != "postgresql":
            continue  # the embedded SQLite default: a few thousand rows, no CLUSTER
        with connection.cursor() as cursor:
            # the deferred foreign-key checks of rows written in this transaction (a caller's
            # atomic block, a test's) now: CLUSTER refuses a table with pending trigger events
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            # an exclusive lock for the rewrite (seconds at a million incidents): a fill waits
            cursor.execute(f"CLUSTER {model._meta.db_table} USING {index}")
            cursor.execute(f"ANALYZE {model._meta.db_table}")


@dataclass(frozen=True)
class Difference:
    grain: str
    day: date | None  # None: points and consultation, compared whole
    key: str
    column: str
    stored: float
    direct: float


def check(*, days: Iterable[date] | None = None) -> list[Difference]:
    """Every rollup cell against a direct count over the source rows, per day; with no `days`
    (the command, the benchmark) also the points and consultation figures (check_points,
    check_consultation)."""
    exceptions = sla.all_exceptions()
    town_paths = dict(Town.objects.values_list("id", "path"))
    community_paths = dict(Community.objects.values_list("id", "path"))
    whole = days is None
    if days is None:
        days = (
            _days(Incident.objects.all(), "created_at")
            | _days(Escalation.objects.all(), "at")
            | set(TownDayCategory.objects.values_list("day", flat=True).distinct().order_by())
            | set(CityDayCategory.objects.values_list("day", flat=True).distinct().order_by())
            | set(CommunityDay.objects.values_list("day", flat=True).distinct().order_by())
        )
    out: list[Difference] = [*check_points(), *check_consultation()] if whole else []
    for day in sorted(days):
        fine = source_cells(day, exceptions)
        direct = town_cells(fine)
        stored_community = {
            community_paths[r["community_id"]]: r for r in CommunityDay.objects.filter(day=day).values()
        }
        stored_town = {
            (town_paths[r["town_id"]], r["category_id"]): r
            for r in TownDayCategory.objects.filter(day=day).values()
        }
        stored_city = {r["category_id"]: r for r in CityDayCategory.objects.filter(day=day).values()}
        for grain, stored, fresh in (
            ("town", stored_town, direct),
            ("city", stored_city, city_cells(direct)),
            ("community", stored_community, community_cells(fine)),
        ):
            for key in set(stored) | set(fresh):
                a = stored.get(key) or indicators.empty_cell()
                b = fresh.get(key) or indicators.empty_cell()
                for column in indicators.COLUMNS:
                    if abs((a[column] or 0) - (b[column] or 0)) > 1e-6:
                        out.append(Difference(grain, day, str(key), column, a[column], b[column]))
    return out


def lag_seconds(now: datetime | None = None) -> float | None:
    wm = watermark()
    if wm is None or wm.complete_to is None:
        return None
    return ((now or timezone.now()) - wm.complete_to).total_seconds()


# --- points and consultation -------------------------------------------------------------------
# Not rolled up (their tables are small and the dashboard reads them with one aggregate each),
# so the check compares what the dashboard shows with a direct count over the rows, in Python.


def _compare(grain: str, shown: dict, direct: dict, out: list[Difference]) -> None:
    for key in set(shown) | set(direct):
        a, b = shown.get(key) or {}, direct.get(key) or {}
        for column in set(a) | set(b):
            if abs((a.get(column) or 0) - (b.get(column) or 0)) > 1e-6:
                out.append(Difference(grain, None, str(key), column, a.get(column) or 0, b.get(column) or 0))


def check_points() -> list[Difference]:
    """The points table by holder class × month and the ledger totals of the headline row
    against one pass over every holder entry and settled redemption."""
    from points import selectors as points_selectors
    from points.models import AccountKind, Entry, Redemption

    from . import indicators

    start = datetime(2000, 1, 1, tzinfo=indicators.TZ)
    end = timezone.now() + timedelta(days=1)
    shown = points_selectors.by_class_month(start=start, end=end)
    direct: dict = {}
    earners: dict = {}

    def row(holder_class, moment):
        month = indicators.local_day(moment).replace(day=1)
        return (holder_class, month), direct.setdefault(
            (holder_class, month),
            {"earned": 0, "deducted": 0, "donated": 0, "redeemed": 0, "redemptions": 0, "earners": 0},
        )

    entries = Entry.objects.filter(account__kind=AccountKind.HOLDER).values_list(
        "account__holder_class", "account_id", "kind", "amount", "created_at"
    )
    for holder_class, account, kind, amount, at in entries.iterator(chunk_size=5000):
        key, v = row(holder_class, at)
        if kind == "earn":
            v["earned"] += amount
            if amount > 0:
                earners.setdefault(key, set()).add(account)
        elif kind == "deduct":
            v["deducted"] -= amount
        elif kind == "donate" and amount < 0:
            v["donated"] -= amount
    for key, accounts in earners.items():
        direct[key]["earners"] = len(accounts)
    settled = Redemption.objects.filter(status="settled").values_list(
        "account__holder_class", "points", "closed_at"
    )
    for holder_class, points, at in settled.iterator(chunk_size=5000):
        _key, v = row(holder_class, at)
        v["redeemed"] += points
        v["redemptions"] += 1
    out: list[Difference] = []
    _compare("points", shown, direct, out)
    totals = points_selectors.totals()
    summed = {c: sum(v[c] for v in direct.values()) for c in ("earned", "deducted", "donated", "redemptions")}
    _compare("points", {"totals": totals}, {"totals": summed}, out)
    return out


def check_consultation() -> list[Difference]:
    """The consultation figures and the days-per-step table against direct counts: topics by
    status, meetings, resolutions and outcomes; and per step, the finished stays the table
    counts = the moves into that step recorded on each topic less the one it still sits in."""
    from consultation.models import Meeting, Outcome, Resolution, Topic, TopicEvent
    from consultation.models.meetings import MeetingStatus
    from consultation.models.topics import EventKind, TopicStatus

    from . import breakdowns, other, selectors

    city = selectors.Scope(settings.CITY_PATH, "city", "", ())
    shown_counts = {c.label: {"value": c.value} for c in other.consultation(city)}
    statuses = list(Topic.objects.values_list("status", flat=True))
    outcomes = list(Outcome.objects.values_list("status", flat=True))
    direct_counts = {
        "议事中的议题": {"value": statuses.count(TopicStatus.ACTIVE)},
        "已办结的议题": {"value": statuses.count(TopicStatus.CLOSED)},
        "已召开的小圆桌会议": {
            "value": sum(
                1 for s in Meeting.objects.values_list("status", flat=True) if s == MeetingStatus.CLOSED
            )
        },
        "表决通过的决议": {"value": len(Resolution.objects.values_list("pk", flat=True))},
        "决议事项": {"value": len(outcomes)},
    }
    out: list[Difference] = []
    _compare("consultation", shown_counts, direct_counts, out)

    everything = selectors.Period("custom", date(2000, 1, 1), timezone.localdate() + timedelta(days=1))
    shown_stays = {key: {"stays": len(v)} for key, v in breakdowns.step_days(city, everything).items()}
    direct_stays: dict = {}
    active = set(Topic.objects.filter(status=TopicStatus.ACTIVE).values_list("pk", flat=True))
    moves = TopicEvent.objects.values_list(
        "topic_id", "kind", "step__order", "step__name", "to_step__order", "to_step__name"
    ).order_by("topic_id", "at", "id")
    last: dict[int, tuple] = {}
    for topic, kind, s_order, s_name, t_order, t_name in moves:
        if kind == EventKind.PROPOSED:
            key = (s_order, s_name)
        elif t_order is not None:
            key = (t_order, t_name)
        else:
            continue
        direct_stays.setdefault(key, {"stays": 0})["stays"] += 1
        last[topic] = key
    for topic, key in last.items():
        if topic in active:  # still in it: not finished
            direct_stays[key]["stays"] -= 1
    direct_stays = {k: v for k, v in direct_stays.items() if v["stays"]}
    _compare("consultation", shown_stays, direct_stays, out)
    return out
