"""What a request costs before the app's own work (issues #9 and #10): authentication, the
grants, the second factor, the session, the throttles and the middleware stack.

In-process (Django's test client through the full WSGI handler and middleware, no network):
for each case, the CPU per request of this process, of its PostgreSQL backend and of
redis-server (from /proc), the queries and the Redis commands per request, and the wall time.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/qionglai_auth REDIS_URL=redis://127.0.0.1:6379/1 \
    .venv/bin/python benchmarks/request_overhead.py [--seed-only] [--requests 2000]

--seed-only migrates the database and makes the two benchmark users (run it outside the
measurement lock); the measurement run reuses them.

Cases: a token API request and a session API request (GET /api/v1/me/, the cheapest view of
qionglai/users: one user's grants) and a session page (/accounts/security/), each with the
identity cache off and on; beside them, measured in the same run, the references: a bare view
with no middleware and no authentication (what the WSGI handler and the test client cost), the
same bare view behind the full middleware stack (what the stack costs an anonymous request),
and the bare SQL of the uncached token path's two queries (token ⋈ user, grants) on a cursor.
Also the token request with the identity cache off under the three connection health checks:
the socket check (qionglai/core/db/base.py, the default), Django's `SELECT 1`, and none. Each
request runs between close_old_connections() calls, as a server's request signals do (Django's
test client leaves them out), so the health check runs once per request as under gunicorn.

Target (issue #10): 400 req/s on two cores is ≤ 5 ms of CPU per request for everything.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qionglai.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/qionglai_auth")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/1")
# the per-user rate stays on (its Redis round trip is part of the figure) with a limit the
# benchmark's thousands of requests a minute do not reach
os.environ.setdefault("THROTTLE_USER", "10000000/min")
os.environ.setdefault("THROTTLE_ANON", "10000000/min")

import django  # noqa: E402

django.setup()

import redis  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import close_old_connections, connection, connections  # noqa: E402
from django.http import JsonResponse  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.urls import path  # noqa: E402

TARGET_CPU_MS = 5.0
TICK = os.sysconf("SC_CLK_TCK")
PATH = "510183.001.a01"

_commands = 0
_real_execute = redis.Redis.execute_command


def _counting(self, *args, **options):
    global _commands
    _commands += 1
    return _real_execute(self, *args, **options)


redis.Redis.execute_command = _counting


def cpu_of(pid: int) -> float:
    """utime + stime of a process, seconds (resolution 1/TICK)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def redis_pid() -> int | None:
    info = redis.Redis.from_url(settings.REDIS_URL).info("server")
    pid = int(info.get("process_id", 0))
    return pid if Path(f"/proc/{pid}/stat").exists() else None


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def uptime() -> str:
    one, five, fifteen = os.getloadavg()
    return (
        f"{time.strftime('%H:%M:%S', time.gmtime())} UTC load average: {one:.2f}, {five:.2f}, {fifteen:.2f}"
    )


def seed():
    from django.core.management import call_command
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from qionglai.users.models import Grant, Role, User

    call_command("migrate", verbosity=0)
    resident, _ = User.objects.get_or_create(username="bench_resident", defaults={"real_name": "基准 居民"})
    staff, _ = User.objects.get_or_create(username="bench_staff", defaults={"real_name": "基准 社区工作者"})
    Grant.objects.get_or_create(user=resident, role=Role.RESIDENT, path=PATH, retired_at=None)
    Grant.objects.get_or_create(user=staff, role=Role.COMMUNITY_STAFF, path=PATH, retired_at=None)
    TOTPDevice.objects.get_or_create(user=staff, name="基准验证器", defaults={"confirmed": True})
    return resident, staff


def bare_view(request):
    return JsonResponse({"ok": True})


bare_urls = types.ModuleType("request_overhead_bare_urls")
bare_urls.urlpatterns = [path("bare/", bare_view)]
sys.modules[bare_urls.__name__] = bare_urls


def measure(label, call, n, *, cache_on=None):
    global _commands
    if cache_on is not None:
        settings.IDENTITY_CACHE = cache_on
    for _ in range(min(50, n)):  # warm: the identity cache, the connection, Python's caches
        call()
    pg, rd = backend_pid(), redis_pid()
    walls = []
    _commands = 0
    pg0, rd0, cpu0 = cpu_of(pg), (cpu_of(rd) if rd else 0.0), time.process_time()
    with CaptureQueriesContext(connection) as queries:
        for _ in range(n):
            t = time.perf_counter()
            call()
            walls.append(time.perf_counter() - t)
    cpu = time.process_time() - cpu0
    pg_cpu = cpu_of(pg) - pg0
    rd_cpu = (cpu_of(rd) - rd0) if rd else float("nan")
    row = {
        "label": label,
        "django": cpu / n * 1000,
        "pg": pg_cpu / n * 1000,
        "redis": rd_cpu / n * 1000,
        "queries": len(queries) / n,
        "commands": _commands / n,
        "p50": statistics.median(walls) * 1000,
        "mean": statistics.fmean(walls) * 1000,
    }
    row["total"] = row["django"] + row["pg"] + (row["redis"] if rd else 0.0)
    return row


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed-only", action="store_true")
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    if args.seed_only:
        resident, staff = seed()
        print("seeded:", resident.username, staff.username)
        return
    from qionglai.users.models import User

    resident, staff = User.objects.get(username="bench_resident"), User.objects.get(username="bench_staff")
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from qionglai.users.models import ApiToken
    from qionglai.users.services import token_issue

    ApiToken.objects.filter(user=resident).delete()
    _, key = token_issue(user=resident, label="基准")
    token_client = Client(HTTP_AUTHORIZATION=f"Token {key}")
    session_client = Client()
    session_client.force_login(staff, backend="qionglai.users.backends.PhoneOrUsernameBackend")
    session = session_client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.get(user=staff).persistent_id
    session.save()

    def check(client, url):
        def call():
            # what a server's request_started and request_finished signals do around every
            # request (Django's test client leaves them out): the connection housekeeping that
            # also re-arms the health check, so each request's first query pays for it as it
            # does under gunicorn
            close_old_connections()
            response = client.get(url)
            close_old_connections()
            assert response.status_code == 200, (url, response.status_code)

        return call

    n = args.requests
    print(f"start  {uptime()}")
    print(f"python {sys.version.split()[0]}, Django {django.get_version()}, {os.cpu_count()} cores, n={n}")
    rows = []
    with override_settings(MIDDLEWARE=[], ROOT_URLCONF=bare_urls.__name__):
        rows.append(measure("reference: bare view, no middleware", check(Client(), "/bare/"), n))
    with override_settings(ROOT_URLCONF=bare_urls.__name__):
        rows.append(measure("reference: bare view, full middleware", check(Client(), "/bare/"), n))

    # the uncached token path's SQL on a bare cursor (token ⋈ user, grants)
    from qionglai.users.services import token_digest

    digest = token_digest(key)
    lookup_sql = "SELECT t.*, u.* FROM users_apitoken t JOIN users_user u ON u.id = t.user_id WHERE t.digest = %s LIMIT 1"
    grants_sql = "SELECT * FROM users_grant WHERE user_id = %s AND retired_at IS NULL ORDER BY id"

    def bare_sql():
        with connection.cursor() as cursor:
            cursor.execute(lookup_sql, [digest])
            cursor.fetchall()
            cursor.execute(grants_sql, [resident.pk])
            cursor.fetchall()

    rows.append(measure("reference: the 2 auth queries, bare cursor", bare_sql, n))

    for on in (False, True):
        state = "on " if on else "off"
        rows.append(
            measure(
                f"token  GET /api/v1/me/  cache {state}", check(token_client, "/api/v1/me/"), n, cache_on=on
            )
        )
    for on in (False, True):
        state = "on " if on else "off"
        rows.append(
            measure(
                f"session GET /api/v1/me/ cache {state}", check(session_client, "/api/v1/me/"), n, cache_on=on
            )
        )
    for on in (False, True):
        state = "on " if on else "off"
        rows.append(
            measure(
                f"session page /accounts/security/ cache {state}",
                check(session_client, "/accounts/security/"),
                n,
                cache_on=on,
            )
        )
    # The connection health check on the first query of every request: the socket check
    # (qionglai/core/db/base.py, the cases above), Django's own `SELECT 1`, and none at all
    from django.db.backends.postgresql.base import DatabaseWrapper as DjangoPostgres

    wrapper = connections["default"]  # the wrapper itself, not the `connection` proxy
    if wrapper.vendor == "postgresql":
        wrapper.close_if_health_check_failed = types.MethodType(
            DjangoPostgres.close_if_health_check_failed, wrapper
        )
        rows.append(
            measure(
                "token  GET /api/v1/me/  cache off, Django's SELECT 1",
                check(token_client, "/api/v1/me/"),
                n,
                cache_on=False,
            )
        )
        del wrapper.close_if_health_check_failed
    connection.close()
    connection.settings_dict["CONN_HEALTH_CHECKS"] = False
    rows.append(
        measure(
            "token  GET /api/v1/me/  cache off, no health check",
            check(token_client, "/api/v1/me/"),
            n,
            cache_on=False,
        )
    )
    connection.close()
    connection.settings_dict["CONN_HEALTH_CHECKS"] = True
    print(f"end    {uptime()}")

    bare = rows[0]["total"]
    print()
    print(
        f"{'case':52} {'django':>7} {'pg':>6} {'redis':>6} {'total':>7} {'×bare':>6} {'×target':>7}"
        f" {'queries':>7} {'redis cmds':>10} {'p50 ms':>7}"
    )
    for r in rows:
        print(
            f"{r['label']:52} {r['django']:7.2f} {r['pg']:6.2f} {r['redis']:6.2f} {r['total']:7.2f}"
            f" {r['total'] / bare:6.2f} {r['total'] / TARGET_CPU_MS:7.2f} {r['queries']:7.2f}"
            f" {r['commands']:10.2f} {r['p50']:7.2f}"
        )
    print("(CPU ms per request: this process, its PostgreSQL backend, redis-server; ×target: total ÷ 5 ms)")
    by = {r["label"]: r for r in rows}
    for kind in ("token  GET /api/v1/me/ ", "session GET /api/v1/me/", "session page /accounts/security/"):
        off, on = by[f"{kind} cache off"], by[f"{kind} cache on "]
        print(
            f"{kind.strip():34} cache on saves {off['total'] - on['total']:5.2f} ms CPU a request"
            f" ({on['total'] / off['total']:.2f}× of off), {off['queries'] - on['queries']:.0f} queries"
        )


if __name__ == "__main__":
    main()
