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

import json
import logging
import time
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from . import report, selectors

log = logging.getLogger(__name__)

# An entry is only ever read under its own watermark, so the TTL bounds memory and how old the
# present-tense figures (overdue now) may get if the beat stops — as long as /healthz's alarm
# (DASHBOARD_MAX_LAG): well past a fill every minute plus the warm-up's own time.
TTL = 300
WARM_PERIODS = ("today", "7d", "30d", "month", "quarter", "year")


PUBLISHED_KEY = "dashboard:published"


def current_stamp() -> datetime | None:
    """What the data endpoint answers as of: the last warmed stamp, else the watermark."""
    from . import fill

    published = cache.get(PUBLISHED_KEY)
    return published if published is not None else fill.complete_to()


def stamp_of(moment: datetime | None) -> str:
    return f"{moment.timestamp():.6f}" if moment else "-"


def key(scope_path: str, period: selectors.Period, grain: str, stamp: str) -> str:
    return f"dashboard:data:v2:{scope_path}:{period.start}:{period.end}:{period.key}:{grain}:{stamp}"


def body_of(screen: report.Screen) -> str:
    out = report.as_json(screen)
    out.pop("breadcrumb")
    return json.dumps(out, ensure_ascii=False, cls=DjangoJSONEncoder)


def with_breadcrumb(body: str, scope: selectors.Scope) -> str:
    crumbs = json.dumps([{"name": n, "place": p} for n, p in scope.trail], ensure_ascii=False)
    return '{"breadcrumb":' + crumbs + "," + body[1:]


def get(*, user, scope: selectors.Scope, params, as_of: datetime | None) -> str:
    """The viewer's JSON body: from the cache, or built (and stored) on a miss."""
    period = selectors.period_from(params)
    grain = report.grain_of(params, period)
    k = key(scope.path, period, grain, stamp_of(as_of))
    body = cache.get(k)
    if body is None:
        screen = report.build(user=user, params=params, full=False, scope=scope, as_of=as_of)
        body = body_of(screen)
        cache.set(k, body, TTL)
    return with_breadcrumb(body, scope)


def warm(as_of: datetime) -> int:
    """Builds and stores the city's and each town's standard periods under the stamp `as_of`
    (the watermark the fill just moved to), then publishes the stamp. Returns how many."""
    from projects.models import Town

    started = time.perf_counter()
    paths = [settings.CITY_PATH, *Town.objects.order_by("path").values_list("path", flat=True)]
    stored = 0
    shared: dict = {}  # what every period of one scope shares at this moment
    for path in paths:
        scope = selectors.scope_at(path)
        for period_key in WARM_PERIODS:
            params = {"period": period_key}
            period = selectors.period_from(params, today=timezone.localdate(as_of))
            screen = report.build(
                params=params, now=as_of, full=False, scope=scope, as_of=as_of, shared=shared
            )
            cache.set(
                key(path, period, report.grain_of(params, period), stamp_of(as_of)), body_of(screen), TTL
            )
            stored += 1
    cache.set(PUBLISHED_KEY, as_of, TTL)
    log.info("dashboard warm-up: %d payloads in %.1f s", stored, time.perf_counter() - started)
    return stored
