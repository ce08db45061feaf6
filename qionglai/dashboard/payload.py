"""The data endpoint's answer, cached whole (design §8, §11: city and town p95 ≤ 20 ms).

One JSON body per (scope path, period dates, grain, rollup watermark). Nothing in it depends
on who asks except the breadcrumb (how far up the viewer may go), so the body is stored
without it and the endpoint splices the viewer's breadcrumb in front: a hit costs the auth
queries, the scope's names and the watermark — never a figure.

The fill's warm-up (`warm`, run by the beat's fill between rewriting the days and moving the
watermark) builds the city's and every town's standard periods under the *next* watermark, so
when the watermark moves the new bodies are already there and the first request is a hit too.
Entries of an older watermark are never read again (the key moved on) and expire after TTL.
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

# a fill every minute plus the warm-up's own time: an entry outlives its watermark's minute
TTL = 150
WARM_PERIODS = ("today", "7d", "30d", "month", "quarter", "year")


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
    """Builds and stores the city's and each town's standard periods under the watermark
    `as_of` (the fill calls this before it moves the watermark there). Returns how many."""
    from projects.models import Town

    started = time.perf_counter()
    paths = [settings.CITY_PATH, *Town.objects.order_by("path").values_list("path", flat=True)]
    stored = 0
    for path in paths:
        scope = selectors.scope_at(path)
        for period_key in WARM_PERIODS:
            params = {"period": period_key}
            period = selectors.period_from(params, today=timezone.localdate(as_of))
            screen = report.build(params=params, now=as_of, full=False, scope=scope, as_of=as_of)
            cache.set(
                key(path, period, report.grain_of(params, period), stamp_of(as_of)), body_of(screen), TTL
            )
            stored += 1
    log.info("dashboard warm-up: %d payloads in %.1f s", stored, time.perf_counter() - started)
    return stored
