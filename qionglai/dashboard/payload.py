"""The data endpoint's answer, cached whole (design §8, §11: city and town p95 ≤ 20 ms).

One JSON body per (scope path, period dates, grain, stamp). Nothing in it depends on who asks
except the breadcrumb (how far up the viewer may go), so the body is stored without it and the
endpoint splices the viewer's breadcrumb in front: a hit costs the auth queries and two cache
reads — never a figure.

The stamp is the moment the figures are as of (the page's 「数据截至」): the *published* stamp,
which the beat's warm-up (`warm`, run right after each fill moves the watermark) advances once
it has built the city's and every town's standard periods under it. Until then requests keep
reading the previous stamp's bodies, so the first request after a fill is a hit too, and the
fill's own lag (/healthz) does not wait for the warm-up. With no warm-up running (the embedded
default's timer, tests), the stamp is the watermark itself and bodies are built on first ask.
Entries of an older stamp are never read again and expire after TTL.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import re
import time
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse, HttpResponseNotModified
from django.utils import timezone

from . import fill, report, selectors, store

log = logging.getLogger(__name__)

# An entry is only ever read under its own watermark, so the TTL bounds memory and how old the
# present-tense figures (overdue now) may get if the beat stops — as long as /healthz's alarm
# (DASHBOARD_MAX_LAG): well past a fill every minute plus the warm-up's own time.
TTL = 300
WARM_PERIODS = ("today", "7d", "30d", "month", "quarter", "year")


PUBLISHED_KEY = "dashboard:published:v2"


def lookup(path: str) -> tuple[datetime | None, bytes | None, datetime | None]:
    """One round trip for what every data request needs before its body: the stamp it answers
    as of (the last warmed stamp, else the watermark), the cached names along `path`, and for a
    community or a grid the version its answer is kept under (version_of)."""
    keys = [PUBLISHED_KEY, fill.COMPLETE_KEY, selectors.names_key(path)]
    versioned = path.count(".") >= 2  # a community (three parts) or a grid below it
    if versioned:
        keys += [TRACKED_KEY, changed_key(path)]
    published, complete, names, *marks = store.get_many(keys)
    stamp = fill.decode_moment(published) if published is not None else fill.complete_to(complete)
    return stamp, names, version_of(stamp, *marks) if versioned else stamp


def current_stamp() -> datetime | None:
    """What the data endpoint answers as of: the last warmed stamp, else the watermark."""
    return lookup(settings.CITY_PATH)[0]


def stamp_of(moment: datetime | None) -> str:
    return moment.isoformat() if moment else "-"


def key(scope_path: str, period: selectors.Period, grain: str, stamp: str) -> str:
    """The body without the breadcrumb (what the warm-up builds, for any viewer)."""
    return f"dashboard:data:v3:{scope_path}:{period.start}:{period.end}:{period.key}:{grain}:{stamp}"


# --- a community's and a grid's answer across fills ----------------------------------------------
# A town's answer is rebuilt or carried over by the warm-up (below); a community's and a grid's
# (189 and ~4,300 of them, each asked for by few) are built on first ask. Keyed on the global
# stamp, every fill threw them all away. Instead each is kept under its scope's *version*: the
# last stamp at which something under its path changed, as the warm-up records it
# (`changed_key`, written for every community and grid above a touched incident path before
# the stamp is published), but never older than TRACKED_KEY, the stamp since which that record
# is complete (reset when the warm-up's chain of stamps breaks and at least every REBUILD_AFTER,
# which also bounds what no row records: a renamed place, an edited ranking rule). The period's
# dates are in the key, so "today" and "30 days" move at midnight. The stored body carries no
# 数据截至; each stamp's answer splices its own in (with the viewer's breadcrumb).
TRACKED_KEY = "dashboard:tracked-since:v1"
# a change mark must outlive the TRACKED_KEY it is newer than (reset at least every
# REBUILD_AFTER, the published stamp living TTL past the last warm-up)
CHANGED_TTL = 3 * 300


def changed_key(path: str) -> str:
    return f"dashboard:changed:v1:{path}"


def version_of(stamp: datetime | None, tracked: bytes | None, changed: bytes | None) -> datetime | None:
    """The version a community's or grid's answer is kept under at `stamp`: the later of the
    tracking start and the scope's last change; the stamp itself when no warm-up keeps the
    record (the embedded default's timer, tests without the beat)."""
    if tracked is None or stamp is None:
        return stamp
    since = fill.decode_moment(tracked)
    if since is None:
        return stamp
    last = fill.decode_moment(changed) if changed is not None else None
    return max(since, last) if last is not None else since


def scope_prefixes(path: str) -> list[str]:
    """The community and every grid above an incident path (the versioned scopes it is under)."""
    parts = path.split(".")
    return [".".join(parts[:i]) for i in range(3, len(parts) + 1)]


_NO_AS_OF = b'"as_of": null'


def versioned_body(screen: report.Screen) -> bytes:
    """The body without breadcrumb and without 数据截至 (each stamp's answer puts its own in)."""
    screen.as_of = None
    return body_of(screen)


def with_as_of(body: bytes, as_of: datetime | None) -> bytes:
    if as_of is None:
        return body
    # the first "as_of" is the top-level one: "place" and "period" before it hold no such key
    return body.replace(
        _NO_AS_OF, b'"as_of": ' + json.dumps(timezone.localtime(as_of).isoformat()).encode(), 1
    )


def variant_key(base: str, trail) -> str:
    """The whole answer for viewers who see this breadcrumb (the places above the scope their
    grant lets them open): a town's body has two (a city viewer's, a town viewer's)."""
    return base + ":" + ",".join(p for _name, p in trail)


def body_of(screen: report.Screen) -> bytes:
    out = report.as_json(screen)
    out.pop("breadcrumb")
    return json.dumps(out, ensure_ascii=False, cls=DjangoJSONEncoder).encode()


def with_breadcrumb(body: bytes, trail) -> bytes:
    crumbs = json.dumps([{"name": n, "place": p} for n, p in trail], ensure_ascii=False).encode()
    return b'{"breadcrumb":' + crumbs + b"," + body[1:]


@dataclass(frozen=True)
class Entry:
    """One answer as it goes out: the JSON, the same gzipped, and their (weak: the two encode
    the same content) ETag — all made once, when the answer is built, never per request."""

    etag: str
    plain: bytes
    gz: bytes

    @classmethod
    def of(cls, plain: bytes) -> Entry:
        digest = hashlib.blake2b(plain, digest_size=12).hexdigest()
        return cls(f'W/"{digest}"', plain, gzip.compress(plain, compresslevel=6, mtime=0))

    def pack(self) -> bytes:
        return b"%s %d\n" % (self.etag.encode(), len(self.plain)) + self.plain + self.gz

    @classmethod
    def unpack(cls, raw: bytes) -> Entry:
        head = raw.index(b"\n")
        etag, size = raw[:head].split(b" ")
        plain_end = head + 1 + int(size)
        return cls(etag.decode(), raw[head + 1 : plain_end], raw[plain_end:])


def _variants(base_key: str, body: bytes, scope: selectors.Scope) -> dict[str, bytes]:
    """Every breadcrumb a viewer of the scope can have: the trail from each ancestor down (a
    grant covers its place and everything below it, so what a viewer sees is a tail)."""
    trail = scope.trail
    return {
        variant_key(base_key, trail[i:]): Entry.of(with_breadcrumb(body, trail[i:])).pack()
        for i in range(len(trail))
    }


def get(
    *,
    user,
    scope: selectors.Scope,
    params,
    as_of: datetime | None,
    version: datetime | None = None,
) -> Entry:
    """The viewer's answer: from the cache, else made from the cached body (another viewer's
    breadcrumb; for a community or a grid, the body of its version, maybe an earlier stamp's),
    else built; what was made is stored."""
    period = selectors.period_from(params)
    grain = report.grain_of(params, period)
    mine = variant_key(key(scope.path, period, grain, stamp_of(as_of)), scope.trail)
    raw = store.get(mine)
    if raw is not None:
        return Entry.unpack(raw)
    if scope.level in ("community", "grid"):
        base = key(scope.path, period, grain, "v" + stamp_of(version if version is not None else as_of))
        body = store.get(base)
        if body is None:
            screen = report.build(user=user, params=params, full=False, scope=scope, as_of=as_of)
            body = versioned_body(screen)
            store.set(base, body, TTL)
        entry = Entry.of(with_breadcrumb(with_as_of(body, as_of), scope.trail))
        if period.key in WARM_PERIODS and grain == report.grain_of({}, period):
            watch(scope.path, period.key, as_of)
    else:
        base = key(scope.path, period, grain, stamp_of(as_of))
        body = store.get(base)
        if body is None:
            screen = report.build(user=user, params=params, full=False, scope=scope, as_of=as_of)
            body = body_of(screen)
            store.set(base, body, TTL)
        entry = Entry.of(with_breadcrumb(body, scope.trail))
    store.set(mine, entry.pack(), TTL)
    return entry


_GZIP = re.compile(r"\bgzip\b")


def respond(request, entry: Entry) -> HttpResponse:
    """304 when the client holds this answer (If-None-Match), else the stored bytes — gzipped
    if the client takes gzip (GZipMiddleware leaves a response with a Content-Encoding alone)."""
    if entry.etag in request.headers.get("If-None-Match", ""):
        response = HttpResponseNotModified()
    elif _GZIP.search(request.headers.get("Accept-Encoding", "")):
        response = HttpResponse(entry.gz, content_type="application/json")
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(entry.plain, content_type="application/json")
    response["ETag"] = entry.etag
    # each viewer's browser keeps its own copy and asks again every time (revalidation is a
    # 304, and a new stamp a new ETag)
    response["Cache-Control"] = "private, no-cache"
    response["Vary"] = "Accept-Encoding, Cookie"
    return response


# The warm-up's own state: the stamp it last published and when each scope's bodies were last
# built from the rows (not carried over).
WARM_STATE_KEY = "dashboard:warm-state:v1"
# A body carried over from the previous stamp is rebuilt whole at least this often: what no
# incident row records — a renamed place (names are cached as long), an edited ranking rule,
# the 「已超时」 hours in the lists growing — is at most this old.
REBUILD_AFTER = 300


def touched_paths(since: datetime, until: datetime) -> set[str]:
    """The incident paths whose figures may differ between the stamps `since` and `until`: an
    incident updated (any transition, so its rollup rows and its open/overdue state) or
    escalated since (less the fill's overlap), or an open incident whose deadline passed in
    between (overdue now, 红灯, the late incidents of 按期办结率 change with the clock, not with
    a row). An incident's path is set when it is reported and never changes."""
    from django.db.models import Q

    from grids.models import OPEN_STATES, Escalation, Incident, Status

    lo = since - fill.OVERLAP
    paths = set(Incident.objects.filter(updated_at__gte=lo).values_list("path", flat=True).distinct())
    paths |= set(Escalation.objects.filter(at__gte=lo).values_list("path", flat=True).distinct())
    crossed = Q(status__in=OPEN_STATES, due_at__gte=since, due_at__lt=until) | Q(
        status__in=(Status.ACCEPTED, Status.IN_PROGRESS), resolve_due__gte=since, resolve_due__lt=until
    )
    paths |= set(Incident.objects.filter(crossed).values_list("path", flat=True).distinct())
    return paths


def touched_towns(since: datetime, until: datetime) -> set[str]:
    from .indicators import town_path

    return {town_path(p) for p in touched_paths(since, until)}


def mark_changes(as_of: datetime, touched: set[str] | None) -> set[str] | None:
    """Records `as_of` as the last change of every community and grid above a touched path,
    and moves TRACKED_KEY to `as_of` when the record restarts (`touched` None: the chain of
    stamps broke) or is REBUILD_AFTER old. Returns the communities and grids whose version is
    now `as_of`: those marked, or None for all of them (the record restarted)."""
    raw = store.get(TRACKED_KEY)
    since = fill.decode_moment(raw) if raw is not None else None
    restart = touched is None or since is None or (as_of - since).total_seconds() >= REBUILD_AFTER
    if restart:
        since = as_of
    mark = fill.encode_moment(as_of)
    scopes = {p for path in touched or () for p in scope_prefixes(path)}
    store.set_many(
        {**{changed_key(p): mark for p in scopes}, TRACKED_KEY: fill.encode_moment(since)}, CHANGED_TTL
    )
    return None if restart else scopes


# The communities' and grids' periods viewers have asked for lately (one map: "path period" →
# when): the warm-up builds those whose version it just moved, so the first request after a
# fill that changed them is a hit too — within a time budget, as 189 communities × 6 periods
# (~50 ms each) would not fit in a fill's minute when everything changes at once. A scope no
# one watches is built on its first ask.
WATCHED_KEY = "dashboard:watched:v1"
WATCH_FOR = 15 * 60
WARM_WATCHED_BUDGET = 10.0  # seconds per warm-up
last_warm: dict[str, int] = {}  # what this process's last warm-up built (the benchmark prints it)


def watch(path: str, period_key: str, as_of: datetime | None) -> None:
    store.map_set(WATCHED_KEY, f"{path} {period_key}", fill.encode_moment(as_of or timezone.now()), WATCH_FOR)


def warm_watched(as_of: datetime, versioned: set[str] | None) -> tuple[int, int]:
    """Builds the watched periods of every community and grid whose version is now `as_of`
    (`versioned`: mark_changes' answer, None for all) until WARM_WATCHED_BUDGET is spent; forgets
    what no one asked for in WATCH_FOR. Returns (built, left for their first ask)."""
    started = time.perf_counter()
    watched = store.map_get(WATCHED_KEY)
    stale, due = [], []
    for field_name, raw in watched.items():
        path, period_key = field_name.split(" ", 1)
        moment = fill.decode_moment(raw)
        if moment is None or (as_of - moment).total_seconds() > WATCH_FOR or period_key not in WARM_PERIODS:
            stale.append(field_name)
        elif versioned is None or path in versioned:
            due.append((path, period_key))
    store.map_delete(WATCHED_KEY, stale)
    today = timezone.localdate(as_of)
    built, shared, scopes = 0, {}, {}
    for path, period_key in sorted(due):
        if time.perf_counter() - started > WARM_WATCHED_BUDGET:
            break
        try:
            scope = scopes[path] if path in scopes else scopes.setdefault(path, selectors.scope_at(path))
        except KeyError:  # a place removed since it was watched
            continue
        params = {"period": period_key}
        period = selectors.period_from(params, today=today)
        grain = report.grain_of(params, period)
        screen = report.build(params=params, now=as_of, full=False, scope=scope, as_of=as_of, shared=shared)
        # only the version's body: each viewer's first ask under a stamp makes their answer
        # from it (~2 ms: 数据截至, breadcrumb, gzip) and so renews their watch
        store.set(key(path, period, grain, "v" + stamp_of(as_of)), versioned_body(screen), TTL)
        built += 1
    return built, len(due) - built


def _restamp(path: str, periods: list[tuple], old: datetime, new: datetime, scope) -> dict[str, bytes] | None:
    """The scope's bodies under `old`, as of `new` (only 数据截至 differs), or None if one is
    missing (expired, or the day turned and the periods moved)."""
    old_as_of = json.dumps(timezone.localtime(old).isoformat()).encode()
    new_as_of = json.dumps(timezone.localtime(new).isoformat()).encode()
    bases = [(key(path, p, g, stamp_of(old)), key(path, p, g, stamp_of(new))) for p, g in periods]
    found = store.get_many([b for b, _ in bases])
    if any(body is None for body in found):
        return None
    out: dict[str, bytes] = {}
    for (_old_key, new_key), body in zip(bases, found, strict=True):
        if b'"as_of": ' + old_as_of not in body:
            return None
        moved = body.replace(b'"as_of": ' + old_as_of, b'"as_of": ' + new_as_of, 1)
        out[new_key] = moved
        out.update(_variants(new_key, moved, scope))
    return out


def warm(as_of: datetime) -> int:
    """Stores the city's and each town's standard periods under the stamp `as_of` (the watermark
    the fill just moved to), then publishes the stamp. A town nothing touched since the last
    published stamp (touched_towns) keeps its bodies, carried to the new stamp; the others, and
    the city if any town changed, and any body older than REBUILD_AFTER, are built from the
    rows. Returns how many bodies were built."""
    from projects.models import Town

    from .indicators import town_path

    started = time.perf_counter()
    towns = list(Town.objects.order_by("path").values_list("path", flat=True))
    state_raw = store.get(WARM_STATE_KEY)
    state = json.loads(state_raw) if state_raw else {}
    published = store.get(PUBLISHED_KEY)
    previous = fill.decode_moment(published) if published else None
    touched = None
    if previous is None or state.get("stamp") != stamp_of(previous) or previous >= as_of:
        changed = None  # no trustworthy previous stamp: build everything
    else:
        touched = touched_paths(previous, as_of)
        changed = {town_path(p) for p in touched}
        if changed:
            changed.add(settings.CITY_PATH)
    versioned = mark_changes(as_of, touched)  # before the stamp is published
    built_at: dict[str, str] = state.get("built", {}) if changed is not None else {}
    today = timezone.localdate(as_of)
    periods = []
    for period_key in WARM_PERIODS:
        params = {"period": period_key}
        period = selectors.period_from(params, today=today)
        periods.append((period_key, period, report.grain_of(params, period)))
    stored = carried = 0
    shared: dict = {}  # what every period of one scope shares at this moment
    for path in [settings.CITY_PATH, *towns]:
        scope = selectors.scope_at(path)
        last = built_at.get(path)
        fresh = last is not None and (as_of - datetime.fromisoformat(last)).total_seconds() < REBUILD_AFTER
        if changed is not None and path not in changed and fresh:
            moved = _restamp(path, [(p, g) for _k, p, g in periods], previous, as_of, scope)
            if moved is not None:
                store.set_many(moved, TTL)
                carried += len(periods)
                continue
        for period_key, period, grain in periods:
            params = {"period": period_key}
            screen = report.build(
                params=params, now=as_of, full=False, scope=scope, as_of=as_of, shared=shared
            )
            base = key(path, period, grain, stamp_of(as_of))
            body = body_of(screen)
            store.set_many({base: body, **_variants(base, body, scope)}, TTL)
            stored += 1
        built_at[path] = as_of.isoformat()
    watched, left = warm_watched(as_of, versioned)
    last_warm.update(built=stored, watched=watched, left=left)
    store.set(WARM_STATE_KEY, json.dumps({"stamp": stamp_of(as_of), "built": built_at}).encode(), TTL)
    store.set(PUBLISHED_KEY, fill.encode_moment(as_of), TTL)
    log.info(
        "dashboard warm-up: %d bodies built, %d carried over, %d watched communities' and grids' "
        "built (%d left for their first ask) in %.1f s",
        stored,
        carried,
        watched,
        left,
        time.perf_counter() - started,
    )
    return stored
