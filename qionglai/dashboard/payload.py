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


def lookup(path: str) -> tuple[datetime | None, bytes | None]:
    """One round trip for what every data request needs before its body: the stamp it answers
    as of (the last warmed stamp, else the watermark) and the cached names along `path`."""
    published, complete, names = store.get_many([PUBLISHED_KEY, fill.COMPLETE_KEY, selectors.names_key(path)])
    if published is not None:
        return fill.decode_moment(published), names
    return fill.complete_to(complete), names


def current_stamp() -> datetime | None:
    """What the data endpoint answers as of: the last warmed stamp, else the watermark."""
    return lookup(settings.CITY_PATH)[0]


def stamp_of(moment: datetime | None) -> str:
    return moment.isoformat() if moment else "-"


def key(scope_path: str, period: selectors.Period, grain: str, stamp: str) -> str:
    """The body without the breadcrumb (what the warm-up builds, for any viewer)."""
    return f"dashboard:data:v3:{scope_path}:{period.start}:{period.end}:{period.key}:{grain}:{stamp}"


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


def get(*, user, scope: selectors.Scope, params, as_of: datetime | None) -> Entry:
    """The viewer's answer: from the cache, else made from the cached body (another viewer's
    breadcrumb), else built; what was made is stored."""
    period = selectors.period_from(params)
    grain = report.grain_of(params, period)
    base = key(scope.path, period, grain, stamp_of(as_of))
    mine = variant_key(base, scope.trail)
    raw = store.get(mine)
    if raw is not None:
        return Entry.unpack(raw)
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
            base = key(path, period, report.grain_of(params, period), stamp_of(as_of))
            body = body_of(screen)
            store.set_many({base: body, **_variants(base, body, scope)}, TTL)
            stored += 1
    store.set(PUBLISHED_KEY, fill.encode_moment(as_of), TTL)
    log.info("dashboard warm-up: %d payloads in %.1f s", stored, time.perf_counter() - started)
    return stored
