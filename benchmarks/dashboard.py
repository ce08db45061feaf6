"""The dashboard at 1,000,000 incidents (design §11: city and town data requests p95 ≤ 20 ms from
rollups and ≥ 3× faster than computing the same figures directly in the same run; community
and grid p95 ≤ 20 ms; the fill keeps up with 100 transitions/s; boundaries ≤ 300 KB gzip).

Recreates its own database, seeds the grid tree and the incidents with grids_list.py's
set-based seeding (one INSERT … SELECT per 200,000 rows over two years), adds an escalation
for every raised incident and a square boundary for every micro-grid (set-based), then:
rebuilds the rollups (timed), runs dashboard_check (exit on any difference), times a fill after
6,000 incident transitions (a minute at 100/s), measures the boundary payload, and has 1 and 8
client threads GET /dashboard/data/ through gunicorn as city, town, community and grid viewers
for a year and for 30 days, a fixed number of requests each. Beside it, in-process, the same
figures from the rollups and directly from the source rows, per scope and range. Prints every
figure with its ratio to the target and the load average.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_dashboard_main \
    .venv/bin/python benchmarks/dashboard.py [--incidents 1000000] [--requests 80] [--no-check]

Points and consultation rows are not seeded: the dashboard reads them with one aggregate each
(pinned in tests/dashboard/test_queries_health_replica.py), and the data endpoint measured here
does not read them.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# --code DIR: import the platform from another checkout (main, for an A/B in the same run)
CODE = Path(sys.argv[sys.argv.index("--code") + 1]).resolve() if "--code" in sys.argv else ROOT
sys.path.insert(0, str(CODE))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qionglai.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_dashboard_main")
# the data payloads are cached in Redis, shared by every gunicorn worker and the fill's warm-up
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")
PORT = 8767  # --port: each engineer's own
NEVER = 4  # communities (and a grid in each) no one asked for, each asked once after the fills
TARGET_P95_MS, TARGET_RATIO, TARGET_KB = 20, 3, 300

from benchlib import recreate_database  # noqa: E402
from grids_list import MICROS, seed_incidents, seed_tree  # noqa: E402

sys.path.insert(0, str(CODE))  # again: grids_list put this checkout's root first

ESCALATIONS = """
INSERT INTO grids_escalation (incident_id, path, stage, level, due_at, at)
SELECT i.id, i.path, 'resolve', l, i.resolve_due, i.created_at + l * interval '1 day'
FROM grids_incident i CROSS JOIN generate_series(1, 2) AS l
WHERE (i.level >= l OR (i.status = 'closed' AND i.id % 20 = 0 AND l = 1))
  AND i.created_at + l * interval '1 day' <= now()
"""
# grids_list's seeding stamps some recent incidents' updated_at days ahead (their resolution
# time); a change never comes from the future, and left so every fill would rescan those days
# and the warm-up would see their towns touched every minute
NO_FUTURE_UPDATES = "UPDATE grids_incident SET updated_at = now() WHERE updated_at > now()"
BOUNDARIES = """
INSERT INTO grids_gridboundary (grid_id, version, geometry, min_lng, max_lng, min_lat, max_lat, valid_from)
SELECT id, 1,
  json_build_object('type', 'Polygon', 'coordinates', json_build_array(json_build_array(
    json_build_array(x, y), json_build_array(x + 0.0021, y), json_build_array(x + 0.0021, y + 0.0021),
    json_build_array(x, y + 0.0021), json_build_array(x, y)))),
  x, x + 0.0021, y, y + 0.0021, now()
FROM (SELECT id, 103.2 + (n % 62) * 0.0021 AS x, 30.2 + (n / 62) * 0.0021 AS y
      FROM (SELECT id, row_number() OVER (ORDER BY path) - 1 AS n FROM grids_grid WHERE kind = 'micro') g) s
"""


def pct(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        v = values[0] * 1000 if values else 0.0
        return v, v
    q = statistics.quantiles(values, n=100)
    return q[49] * 1000, q[94] * 1000


def server_cpu(master: int) -> float:
    """User + system CPU seconds of the gunicorn master's workers so far (from /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    for pid in children:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


WRK_SCRIPT = """
done = function(summary, latency, requests)
  io.write(string.format("WRK %d %d %.3f %.3f %.3f\\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"""


def run_wrk(port: int, url: str, cookie: str, clients: int, seconds: float, master: int) -> dict:
    """The same request from wrk (C, one thread per 4 connections): its p50/p95/p99, the
    server's CPU per request and wrk's own CPU per request, beside the Python clients'."""
    import resource
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(WRK_SCRIPT)
    command = [
        "/usr/bin/wrk",
        "-t",
        str(max(1, clients // 4)),
        "-c",
        str(clients),
        "-d",
        f"{max(1, round(seconds))}s",
    ]
    command += ["-H", f"Cookie: {cookie}", "-H", "Accept-Encoding: gzip", "-s", f.name]
    before_self = resource.getrusage(resource.RUSAGE_CHILDREN)
    before_server = server_cpu(master)
    out = subprocess.run(  # noqa: S603 - wrk, a Debian package
        [*command, f"http://127.0.0.1:{port}{url}"], capture_output=True, text=True, check=True
    ).stdout
    os.unlink(f.name)
    after_self = resource.getrusage(resource.RUSAGE_CHILDREN)
    server = server_cpu(master) - before_server
    line = next(x for x in out.splitlines() if x.startswith("WRK "))
    n, errors, p50, p95, p99 = line.split()[1:]
    n = int(n)
    own = (after_self.ru_utime + after_self.ru_stime) - (before_self.ru_utime + before_self.ru_stime)
    return {
        "n": n, "errors": int(errors), "p50": float(p50), "p95": float(p95), "p99": float(p99),
        "rps": n / max(1, round(seconds)), "server_ms": 1000 * server / max(n, 1), "client_ms": 1000 * own / max(n, 1),
    }  # fmt: skip


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def session_cookie(user) -> str:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils.module_loading import import_string

    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    # the first backend that can load a user (axes' backend only guards logins)
    store[BACKEND_SESSION_KEY] = next(
        b for b in settings.AUTHENTICATION_BACKENDS if hasattr(import_string(b), "get_user")
    )
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


def viewers() -> dict[str, tuple[str, str]]:
    """One viewer per scope kind: (session cookie, place path)."""
    from django.conf import settings

    from grids.models import Grid, GridKind
    from projects.models import Community, Town
    from qionglai.users.models import Grant, Role, User

    town = Town.objects.order_by("path").first()
    community = Community.objects.filter(town=town).order_by("path").first()
    grid = Grid.objects.filter(community=community, kind=GridKind.GENERAL).order_by("path").first()
    out = {}
    for kind, role, path in (
        ("city", Role.CITY_STAFF, settings.CITY_PATH),
        ("town", Role.TOWN_STAFF, town.path),
        ("community", Role.COMMUNITY_STAFF, community.path),
        ("grid", Role.COMMUNITY_STAFF, grid.path),
    ):
        user, _ = User.objects.get_or_create(username=f"dash_{kind}", defaults={"real_name": kind})
        grant_path = community.path if kind == "grid" else path
        Grant.objects.get_or_create(user=user, role=role, path=grant_path)
        out[kind] = (session_cookie(user), path)
    return out


def in_process(
    ranges: dict[str, str], places: dict[str, str], repeat: int = 5
) -> tuple[list[str], dict[tuple[str, str], float]]:
    """The same figures from the rollups and directly from the source rows, in this process."""
    from django.contrib.auth import get_user_model

    from qionglai.dashboard import indicators, selectors

    lines, direct_ms = [], {}
    admin = get_user_model().objects.get(username="dash_city")
    for kind in ("city", "town"):
        scope = selectors.scope_for(user=admin, path=places[kind])
        for label, key in ranges.items():
            period = selectors.period_from({"period": key})
            rolled, direct = [], []
            for _ in range(repeat):
                t = time.perf_counter()
                a = indicators.figures(selectors.total(scope, period))
                rolled.append(time.perf_counter() - t)
            t = time.perf_counter()  # once: at a million rows one direct pass takes many seconds
            cells = selectors._direct(scope, period, key=lambda p, d, c: c)
            b = indicators.figures(indicators.total_of(cells.values()))
            direct.append(time.perf_counter() - t)
            same = {k: f.value for k, f in a.items()} == {k: f.value for k, f in b.items()}
            r, d = statistics.median(rolled) * 1000, statistics.median(direct) * 1000
            direct_ms[(kind, label)] = d
            lines.append(
                f"  {kind:9} {label:7} figures from rollups {r:8.1f} ms, directly {d:9.1f} ms "
                f"→ {d / r:6.1f}× faster (target ≥ {TARGET_RATIO}×){'' if same else '  FIGURES DIFFER'}"
            )
    from qionglai.dashboard import report

    for kind in ("city", "town", "community", "grid"):
        viewer = get_user_model().objects.get(username=f"dash_{kind}")
        for label, key in ranges.items():
            t = time.perf_counter()
            report.build(user=viewer, params={"place": places[kind], "period": key}, full=False)
            lines.append(
                f"  {kind:9} {label:7} whole data request computed (no cache), in-process: "
                f"{(time.perf_counter() - t) * 1000:8.0f} ms"
            )
    return lines, direct_ms


def computed(repeat: int) -> None:
    """Each whole data request of a community and a grid computed (no cache), in-process:
    the request a viewer makes after every fill (their stamp changed), timed `repeat` times
    after one untimed, with its query count — for an A/B of two checkouts (--code)."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from qionglai.dashboard import payload, report

    people = viewers()
    from qionglai.dashboard import selectors

    print(
        f"code: {Path(report.__file__).parent} (selectors from {Path(selectors.__file__).parent}); load {load()}"
    )
    for kind in ("community", "grid"):
        viewer = get_user_model().objects.get(username=f"dash_{kind}")
        for label, key in (("year", "year"), ("30 days", "30d")):
            params = {"place": people[kind][1], "period": key}
            report.build(user=viewer, params=params, full=False, now=timezone.now())
            took, cpu, whole, whole_cpu = [], [], [], []
            for _ in range(repeat):
                with CaptureQueriesContext(connection) as queries:
                    t, c = time.perf_counter(), time.process_time()
                    screen = report.build(user=viewer, params=params, full=False, now=timezone.now())
                    took.append(time.perf_counter() - t)
                    cpu.append(time.process_time() - c)
                    payload.body_of(screen)  # the JSON the endpoint stores and sends
                    whole.append(time.perf_counter() - t)
                    whole_cpu.append(time.process_time() - c)
            print(
                f"  {kind:9} {label:7} computed: median {statistics.median(took) * 1000:6.1f} ms "
                f"(min {min(took) * 1000:6.1f}), Python CPU {statistics.median(cpu) * 1000:6.1f} ms, "
                f"{len(queries.captured_queries)} queries; with its JSON {statistics.median(whole) * 1000:6.1f} ms, "
                f"CPU {statistics.median(whole_cpu) * 1000:6.1f} ms"
            )
    print(f"load {load()}")


def beat_loop(stop, out, interval: float, nice: int) -> None:
    """The beat's fill with its warm-up every `interval` seconds while the clients ask (in a
    process of its own, `nice` its niceness); puts (seconds, town/city bodies built) for each."""
    from django.db import connection

    from qionglai.dashboard import fill, payload

    os.nice(nice)

    while not stop.wait(interval):
        t = time.perf_counter()
        fill.fill(warm=payload.warm)
        out.put((time.perf_counter() - t, getattr(payload, "last_warm", {}).get("built", -1)))
    connection.close()


def never_asked(people, ranges, client, watched: str, n: int, skip: int = 0) -> list[str]:
    """Communities (and a general grid in each) no one asked for, each asked once through
    gunicorn: their answers are computed on the request. The first of a kind may be a worker's
    first such answer (its calendar arrays, its first statements); in-process beside them, the
    same answers built without HTTP (the gunicorn gap is the difference)."""
    from django.contrib.auth import get_user_model

    from grids.models import Grid, GridKind
    from projects.models import Community
    from qionglai.dashboard import payload, report

    lines: list[str] = []
    # skip: runs in one hold each take other places (a place read once is in PostgreSQL's
    # buffers for the next run: an A/B would compare a cold first run with a warm second)
    others = list(Community.objects.exclude(path=watched).order_by("-path")[skip : skip + n])
    places = [("community", c.path) for c in others] + [
        ("grid", g.path)
        for g in (
            Grid.objects.filter(community=c, kind=GridKind.GENERAL).order_by("path").first() for c in others
        )
        if g is not None
    ]
    cookie = people["city"][0]
    viewer = get_user_model().objects.get(username="dash_city")
    through: dict[tuple[str, str], list[float]] = {}
    inside: dict[tuple[str, str], list[float]] = {}

    def ask(kind: str, place: str, label: str, query: str) -> None:
        people["_other"] = (cookie, place)
        got: list[float] = []
        client("_other", query, 1, got)
        through.setdefault((kind, label), []).append(got[0] if got else float("nan"))

    def build(kind: str, place: str, label: str, query: str) -> None:
        t = time.perf_counter()
        payload.body_of(report.build(user=viewer, params={"place": place, "period": query}, full=False))
        inside.setdefault((kind, label), []).append(time.perf_counter() - t)

    # alternately the server first and the in-process build first: whichever reads a place's
    # rows first after the fills' writes pays for the cold pages (hint bits, heap fetches)
    # as a person opens it: the page's default period first (30 days, selectors.period_from),
    # then the year — whichever is asked first reads the place's index entries cold
    asked = sorted(ranges.items(), key=lambda item: item[1] != "30d")
    for n, (kind, place) in enumerate(places):
        for label, query in asked:
            for step in (ask, build) if n % 2 == 0 else (build, ask):
                step(kind, place, label, query)
    for (kind, label), values in through.items():
        ms = ", ".join(f"{v * 1000:.1f}" for v in values)
        built = ", ".join(f"{v * 1000:.1f}" for v in inside[(kind, label)])
        lines.append(
            f"  (3) a {kind} never asked for, {label:7} through gunicorn {ms} ms "
            f"(median {statistics.median(values) * 1000:.1f}); the same built in-process {built} ms "
            f"(alternately after and before the server's) "
            f"(median {statistics.median(inside[(kind, label)]) * 1000:.1f})"
        )
    people.pop("_other", None)
    return lines


def computed_warm_up(people, client, rounds: int) -> str:
    """Each worker's first computed community and grid answers (its first statements on its
    PostgreSQL backend, the modules and caches a computed answer first uses), on places the
    measurement does not ask for: `rounds` batches of one concurrent request per worker and
    kind, so every worker very likely computed one before the measured ones (not certain: the
    kernel hands a connection to whichever worker accepts it). Returns their times."""
    from grids.models import Grid, GridKind
    from projects.models import Community

    others = list(Community.objects.order_by("path")[: 4 * rounds])  # the far end of the measured ones
    places = [c.path for c in others] + [
        g.path
        for g in (
            Grid.objects.filter(community=c, kind=GridKind.GENERAL).order_by("path").first() for c in others
        )
        if g is not None
    ]
    cookie = people["city"][0]
    got: list[float] = []

    def ask(place: str) -> None:
        key = f"_warm {place}"
        people[key] = (cookie, place)
        client(key, "year", 1, got)

    for start in range(0, len(places), 4):
        batch = [threading.Thread(target=ask, args=(p,)) for p in places[start : start + 4]]
        for th in batch:
            th.start()
        for th in batch:
            th.join()
    for key in [k for k in people if k.startswith("_warm ")]:
        people.pop(key)
    return (
        f"  computed warm-up ({len(places)} other communities' and grids' years, 4 at a time): "
        + ", ".join(f"{v * 1000:.0f}" for v in got)
        + " ms"
    )


def first_after_fills(people, ranges, client, timed_warm) -> list[str]:
    """The first request of each scope and range after (1) a fill that touched nothing, (2) a
    fill after transitions under the watched community and grid (plus 6,000 elsewhere), and
    (3) a community and a grid no one asked for before: what a viewer's page waits for when it
    refreshes after the beat's fill."""
    from django.db import connection
    from django.utils import timezone

    from grids.models import Incident
    from qionglai.dashboard import fill, payload

    def firsts(title: str) -> None:
        for kind in people:
            for label, query in ranges.items():
                got: list[float] = []
                client(kind, query, 1, got)
                lines.append(
                    f"  {title:34} {kind:9} {label:7} {got[0] * 1000 if got else float('nan'):7.1f} ms"
                )

    def timed_fill(title: str) -> None:
        t = time.perf_counter()
        fill.fill(warm=timed_warm)
        w = getattr(payload, "last_warm", {})  # main's code has no such report
        lines.append(
            f"  {title}: fill + warm-up {time.perf_counter() - t:.1f} s ({w.get('built')} town/city bodies, "
            f"{w.get('watched')} watched community/grid bodies built, {w.get('left')} left to their first ask)"
        )

    lines: list[str] = []
    # the fill rescans OVERLAP before its last stamp: the first one after the benchmark's own
    # transitions may still see them; the one after it touches nothing
    timed_fill("(0) settling")
    timed_fill("(1) the next fill, no transitions of ours")
    firsts("(1) after it")
    community, grid = people["community"][1], people["grid"][1]
    now = timezone.now()
    recent = Incident.objects.filter(created_at__gte=now - timedelta(days=30))
    under = list(
        recent.filter(path__startswith=grid + ".").order_by("id").values_list("id", flat=True)[:5]
    ) + list(recent.filter(path=community).order_by("id").values_list("id", flat=True)[:5])
    elsewhere = list(recent.order_by("-id").values_list("id", flat=True)[:6000])
    touched = Incident.objects.filter(id__in=under + elsewhere).update(updated_at=now)
    timed_fill(f"(2) {touched:,} incidents touched, the watched community's and grid's among them")
    firsts("(2) after it")
    lines += never_asked(people, ranges, client, community, NEVER)
    people.pop("_other", None)
    connection.close()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--incidents", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=80, help="per scope × range × client count")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument(
        "--threads", type=int, default=1, help="gunicorn threads per worker (gthread above 1)"
    )
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument(
        "--beat",
        type=float,
        default=60,
        metavar="SECONDS",
        help="the beat's fill + warm-up during the requests every this often (the beat: 60)",
    )
    parser.add_argument(
        "--beat-nice", type=int, default=0, help="the beat process's niceness (its Python, not PostgreSQL's)"
    )
    parser.add_argument("--no-check", action="store_true")
    parser.add_argument(
        "--never",
        type=int,
        default=0,
        metavar="N",
        help="with --existing: only ask N communities and a grid in each no one asked for (computed answers)",
    )
    parser.add_argument(
        "--never-skip",
        type=int,
        default=0,
        metavar="K",
        help="with --never: skip the first K such communities (each run of an A/B its own, unread places)",
    )
    parser.add_argument(
        "--never-warm",
        type=int,
        default=0,
        metavar="R",
        help="with --never: first R rounds of computed answers on other places, one per worker at a time "
        "(the measured ones then see workers past their first computed answer)",
    )
    parser.add_argument("--code", help="import the platform from this checkout instead (an A/B)")
    parser.add_argument(
        "--computed",
        type=int,
        default=0,
        metavar="N",
        help="with --existing: only time the community's and grid's computed requests N times",
    )
    parser.add_argument(
        "--wrk",
        type=float,
        default=2.0 if Path("/usr/bin/wrk").exists() else 0,
        metavar="SECONDS",
        help="also measure each scope and range with wrk (C) for this long at 1 and 8 connections "
        "(default 2 s when wrk is installed; 0: Python clients only)",
    )
    parser.add_argument(
        "--seed-only",
        action="store_true",
        help="seed (or with --existing --rebuild, rebuild) and stop; measure later with --existing",
    )
    parser.add_argument(
        "--existing", action="store_true", help="measure a database an earlier run seeded and rebuilt"
    )
    parser.add_argument(
        "--rebuild", action="store_true", help="with --existing: rebuild the rollups first (a new grain)"
    )
    args = parser.parse_args()
    load_before = load()
    if not args.existing:
        recreate_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from grids.models import Incident
    from projects.models import Town
    from qionglai.dashboard import fill, geo

    call_command("migrate", verbosity=0)
    if not args.existing:
        t = time.perf_counter()
        seed_tree()
        seed_incidents(args.incidents)
        with connection.cursor() as cursor:
            cursor.execute(ESCALATIONS)
            escalations = cursor.rowcount
            cursor.execute(BOUNDARIES)
            cursor.execute(NO_FUTURE_UPDATES)
            # the updates above cleared the visibility map the seeding's VACUUM set: again, as
            # autovacuum would (grids 0017), or every index-only scan reads heap pages; the
            # escalations too (a place's are an index-only range of escalation_path_at)
            cursor.execute("VACUUM (ANALYZE) grids_incident")
            cursor.execute("VACUUM (ANALYZE) grids_escalation")
            cursor.execute("ANALYZE")
        took = time.perf_counter() - t
        print(f"seeded {args.incidents:,} incidents, {escalations:,} escalations in {took:.0f} s")
        t = time.perf_counter()
        report = fill.rebuild()
        print(f"rebuild: {len(report.filled)} days in {time.perf_counter() - t:.1f} s (load {load()})")
    else:
        with connection.cursor() as cursor:
            # index-only scans read the heap for pages not all-visible (since the last vacuum)
            cursor.execute("SELECT relallvisible, relpages FROM pg_class WHERE relname = 'grids_incident'")
            visible, pages = cursor.fetchone()
        print(
            f"existing database: {Incident.objects.count():,} incidents; "
            f"grids_incident pages all-visible {visible:,} of {pages:,}"
        )
        if args.rebuild:
            t = time.perf_counter()
            report = fill.rebuild()
            print(f"rebuild: {len(report.filled)} days in {time.perf_counter() - t:.1f} s (load {load()})")
    if args.seed_only:
        return
    if args.computed:
        computed(args.computed)
        return
    # the benchmark's own Redis database: an earlier run's answers, version marks and watched
    # scopes would make this run's first requests hits
    from django.core.cache import cache

    cache.clear()
    # --never: only the communities and grids no one asked for (no fills, no hits)
    if not args.never:
        if not args.no_check:
            t = time.perf_counter()
            differences = fill.check()
            print(f"dashboard_check: {len(differences)} differences in {time.perf_counter() - t:.1f} s")
            if differences:
                sys.exit(1)

        # the fill after a minute of transitions at 100/s (6,000 incidents of the last 30 days touched)
        recent = list(
            Incident.objects.filter(created_at__gte=timezone.now() - timedelta(days=30))
            .order_by("id")
            .values_list("id", flat=True)[:6000]
        )
        Incident.objects.filter(id__in=recent, status="in_progress").update(
            status="resolved", resolved_at=timezone.now(), updated_at=timezone.now()
        )
        Incident.objects.filter(id__in=recent).exclude(status="resolved").update(updated_at=timezone.now())
        from qionglai.dashboard import payload

        warmed: list[float] = []
        built: list[int] = []

        def timed_warm(as_of):
            t = time.perf_counter()
            n = payload.warm(as_of)
            warmed.append(time.perf_counter() - t)
            built.append(n)
            return n

        t = time.perf_counter()
        report = fill.fill(warm=timed_warm)  # what the beat runs every minute
        took = time.perf_counter() - t
        print(
            f"fill after {len(recent):,} transitions: {len(report.filled)} days rewritten and "
            f"{built[0]} of {len(payload.WARM_PERIODS) * (1 + Town.objects.count())} payloads built (the rest "
            f"carried over: towns nothing touched) in {took:.1f} s, of which "
            f"the warm-up {warmed[0]:.1f} s (keeps up with 100/s while under 60 s: {60 / took:.1f}× margin); "
            f"lag after it {fill.lag_seconds():.0f} s"
        )
        assert not fill.check(days=report.filled), "the fill left a difference"

        from grids.models import GridBoundary

        packed = json.dumps(
            geo.pack(GridBoundary.objects.filter(valid_to__isnull=True).values_list("grid_id", "geometry")),
            separators=(",", ":"),
        ).encode()
        kb = len(gzip.compress(packed)) / 1024
        print(
            f"boundaries: {MICROS:,} micro-grids, {len(packed) / 1024:.0f} KB, {kb:.0f} KB gzip "
            f"(target ≤ {TARGET_KB} KB: {TARGET_KB / kb:.1f}×)"
        )

    people = viewers()
    ranges = {"year": "year", "30 days": "30d"}
    lines, direct_ms = (
        in_process(ranges, {k: v[1] for k, v in people.items()}) if not args.never else ([], {})
    )
    pg = connection.cursor().connection.info.server_version
    connection.close()

    env = {**os.environ, "CELERY_EAGER": "1", "LOG_LEVEL": "WARNING", "SECURE_COOKIES": "0"}
    server = subprocess.Popen(  # noqa: S603 - our own gunicorn
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "qionglai.wsgi",
            "-w",
            str(args.workers),
            "--threads",
            str(args.threads),
            "-b",
            f"127.0.0.1:{args.port}",
        ],
        cwd=CODE,  # gunicorn imports the app from its working directory: --code's checkout
        env=env,
    )
    results: dict[tuple[str, str, int], list[float]] = {}
    cpu_ms: dict[tuple[str, str, int], tuple[float, float]] = {}  # server, Python client per request
    wrk_results: dict[tuple[str, str, int], dict] = {}
    errors: list[str] = []
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", args.port, timeout=1).request("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.2)

        def client(kind: str, query: str, count: int, out: list[float] | None) -> None:
            cookie, place = people[kind]
            conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=60)
            for _ in range(count):
                t = time.perf_counter()
                conn.request(  # as a browser asks: the stored gzipped body is what goes out
                    "GET",
                    f"/dashboard/data/?place={place}&period={query}",
                    headers={"Cookie": cookie, "Accept-Encoding": "gzip"},
                )
                response = conn.getresponse()
                body = response.read()
                if out is not None:
                    if response.status == 200:
                        out.append(time.perf_counter() - t)
                    else:
                        errors.append(f"{response.status} {kind} {body[:120]!r}")

        if args.never:
            # every worker past its first request (Django's lazy loading: seconds), as the
            # full run's hits leave them: the city's 30 days, computed once, then hits
            client("city", "30d", 1, None)
            warm = [threading.Thread(target=client, args=("city", "30d", 8, None)) for _ in range(8)]
            for th in warm:
                th.start()
            for th in warm:
                th.join()
            if args.never_warm:
                print(computed_warm_up(people, client, args.never_warm))
            print(f"communities and grids no one asked for (load {load()}):")
            print(
                "\n".join(
                    never_asked(people, ranges, client, people["community"][1], args.never, args.never_skip)
                )
            )
            print(f"load {load()}")
            return

        # the beat in its own process, as Celery's is: a thread here would hold the GIL of the
        # Python clients while it builds answers and slow them, not the server
        beat_context = multiprocessing.get_context("fork")
        stop, beat_queue = beat_context.Event(), beat_context.Queue()
        beat_process = beat_context.Process(
            target=beat_loop, args=(stop, beat_queue, args.beat, args.beat_nice), daemon=True
        )
        beat_process.start()
        load_start = load()
        first: dict[tuple[str, str], float] = {}
        for kind in people:
            for label, query in ranges.items():
                got_first: list[float] = []
                client(kind, query, 1, got_first)
                first[(kind, label)] = got_first[0] if got_first else float("nan")
                for clients in (1, 8):
                    warm = [threading.Thread(target=client, args=(kind, query, 2, None)) for _ in range(4)]
                    for th in warm:
                        th.start()
                    for th in warm:
                        th.join()
                    got: list[float] = []
                    per = max(1, args.requests // clients)
                    threads = [
                        threading.Thread(target=client, args=(kind, query, per, got)) for _ in range(clients)
                    ]
                    cpu, served = time.process_time(), server_cpu(server.pid)
                    for th in threads:
                        th.start()
                    for th in threads:
                        th.join()
                    results[(kind, label, clients)] = got
                    cpu_ms[(kind, label, clients)] = (
                        1000 * (server_cpu(server.pid) - served) / max(len(got), 1),
                        1000 * (time.process_time() - cpu) / max(len(got), 1),
                    )
                    if args.wrk:
                        url = f"/dashboard/data/?place={people[kind][1]}&period={query}"
                        try:
                            wrk_results[(kind, label, clients)] = run_wrk(
                                args.port, url, people[kind][0], clients, args.wrk, server.pid
                            )
                        except (subprocess.CalledProcessError, StopIteration, OSError) as error:
                            errors.append(f"wrk {kind} {label}: {error!r}")
        load_end = load()
        stop.set()
        beat_process.join()
        beat_fills: list[tuple[float, int]] = []
        while not beat_queue.empty():
            beat_fills.append(beat_queue.get())
        after_fill = first_after_fills(people, ranges, client, timed_warm)
    finally:
        server.terminate()
        server.wait(timeout=30)
    if errors:
        print(f"{len(errors)} errors, first: {errors[0]}")
    print(
        "\n/dashboard/data/ through gunicorn, answered from the cache the warm-up filled (p50 / p95 ms, target p95 ≤ 20 ms):"
    )
    for (kind, label, clients), got in results.items():
        p50, p95 = pct(got)
        d = direct_ms.get((kind, label))
        versus = f", the direct computation {d:.0f} ms is {d / p95:.0f}× the p95" if d and p95 else ""
        server_ms, client_ms = cpu_ms.get((kind, label, clients), (0.0, 0.0))
        print(
            f"  {kind:9} {label:7} {clients} client{'s' if clients > 1 else ' '} n={len(got):3}  "
            f"{p50:7.1f} / {p95:7.1f}  ({TARGET_P95_MS / p95 if p95 else 0:.2f}× the target{versus}); "
            f"CPU per request: server {server_ms:.2f} ms, Python client {client_ms:.2f} ms"
        )
    if wrk_results:
        print(f"\nthe same through wrk (C load generator, {args.wrk:g} s each; p50 / p95 / p99 ms):")
        for (kind, label, clients), w in wrk_results.items():
            print(
                f"  {kind:9} {label:7} {clients} conn{'s' if clients > 1 else ' '} n={w['n']:5} "
                f"{w['rps']:6.0f}/s  {w['p50']:6.1f} / {w['p95']:6.1f} / {w['p99']:6.1f}  "
                f"({TARGET_P95_MS / w['p95'] if w['p95'] else 0:.2f}× the target); errors {w['errors']}; "
                f"CPU per request: server {w['server_ms']:.2f} ms, wrk {w['client_ms']:.2f} ms"
            )
    print(
        f"\nthe beat's fill + warm-up (every {args.beat:g} s, nice {args.beat_nice}) ran {len(beat_fills)} times during the requests "
        f"({', '.join(f'{b:.1f} s, {n} payloads built' for b, n in beat_fills) or '-'})"
    )
    print(
        "first request per scope and range (city and town: warmed by the fill; community and grid: computed):"
    )
    for (kind, label), took in first.items():
        print(f"  {kind:9} {label:7} {took * 1000:7.0f} ms")
    print("\nthe first request after a fill, through gunicorn (target ≤ 20 ms):")
    print("\n".join(after_fill))
    print("\nin-process: figures from rollups (median of 5) vs directly from the source rows (one pass):")
    print("\n".join(lines))
    print(
        f"\nmachine: {os.cpu_count()} cores shared with other work, PostgreSQL {pg}, load generator on the "
        f"same machine; load average before seeding {load_before}, at start of the requests {load_start}, "
        f"at end {load_end}"
    )


if __name__ == "__main__":
    main()
