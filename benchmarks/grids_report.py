"""Incident report with a photo through the API (design §11: ≥ 150 requests/s, p95 < 150 ms),
and whether the photo worker keeps up with the reports (issue 11: over a 60 s run the
backlog must not grow).

Recreates a dedicated PostgreSQL database, starts gunicorn on it, and has CLIENTS threads POST
multipart reports (one JPEG each) to /api/v1/incidents/ with token auth for `--seconds`. The
micro-grid is found from the point by the bbox-prefiltered point-in-polygon over 3,830
boundaries. Prints throughput, latency percentiles and the ratio to the target.

The photo is what the report page sends: by default a real camera photograph (Debian's
lomiri-wallpapers-20.04 `Kleiber_by_Lukas_Baubkus.jpg`) scaled to 1,280 px at JPEG 0.7, as
the phone does; `--photo 1280x960` uses a synthetic one of that size instead.

In the request the server only checks the photo (header, limits, a 1/8-scale decode) and
quarantines it; the Celery workers run as docker-compose.yml runs them, over Redis at
BENCH_REDIS_URL: the photo worker (`-Q photos`, one process, at the web's priority unless
`--worker-nice`) drains the photos in batches, a general worker (`-X photos`) delivers the
notices. Every 5 s the run samples the backlog (photos still processing) and the photos done,
then prints the worker's rate beside the report rate, the backlog's slope and whether the
target (the backlog does not grow) is met, and the CPU per report and per photo with the report
rate two cores could carry with their photos. After the last response it waits for the backlog
to drain. `--rate R` sends R reports/s on a fixed schedule (open loop) instead of as fast as
answered; `--drain-only N` times the photo worker alone on N queued photos; `--single-worker`
runs one worker on every queue (the release before had no photos queue); `--eager` runs the
photo work inside the request instead (no worker).

Seed outside the measurement lock, measure under it:

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/qionglai_bench_photo \
        BENCH_REDIS_URL=redis://127.0.0.1:6379/9 BENCH_PORT=8130
    .venv/bin/python benchmarks/grids_report.py --seed-only
    flock /tmp/gate.lock flock -x /tmp/quiet.lock .venv/bin/python benchmarks/grids_report.py --existing \
        [--rate 20] [--drain-only 600] [--worker-nice 10] [--photo phone|1280x960] [--seconds 60] [--clients 16]
"""

from __future__ import annotations

import argparse
import http.client
import io
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qionglai.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/qionglai_bench_grids_report")
TARGET_RPS, TARGET_P95_MS = 150, 150
PORT = int(os.environ.get("BENCH_PORT", "8765"))
BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
# the photo worker as docker-compose.yml runs it beside the web on a 2-core host
PHOTO_WORKER_CONCURRENCY, PHOTO_WORKER_NICE = 1, 0
REAL_PHOTO = Path("/usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg")
SAMPLE_EVERY = 5.0


from benchlib import recreate_database  # noqa: E402 - after the path and settings setup


def seed(clients: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    from grids.models import Grid, GridBoundary, GridKind
    from projects.models import Community, Town
    from qionglai.users.models import Grant, Role, User

    call_command("migrate", verbosity=0)
    town = Town.objects.create(code="001", name="临邛街道", path="510183.001")
    boundaries = []
    for c in range(189):
        community = Community.objects.create(
            town=town, code=f"c{c:03d}", name=f"社区{c}", path=f"{town.path}.c{c:03d}"
        )
        staff = User.objects.create(username=f"staff{c}", real_name=f"社区工作者{c}")
        Grant.objects.create(user=staff, role=Role.COMMUNITY_STAFF, path=community.path)
        general = Grid.objects.create(
            community=community,
            kind=GridKind.GENERAL,
            code="g01",
            name="一网格",
            path=f"{community.path}.g01",
        )
        for m in range(21 if c < 50 else 20):
            grid = Grid.objects.create(
                community=community,
                parent=general,
                kind=GridKind.MICRO,
                code=f"m{m:02d}",
                name=f"微网格{m}",
                path=f"{general.path}.m{m:02d}",
            )
            lng, lat = (
                103.2 + (c % 14) * 0.036 + (m % 5) * 0.007,
                30.22 + (c // 14) * 0.026 + (m // 5) * 0.005,
            )
            ring = [
                [lng, lat],
                [lng + 0.007, lat],
                [lng + 0.007, lat + 0.005],
                [lng, lat + 0.005],
                [lng, lat],
            ]
            boundaries.append(
                GridBoundary(
                    grid=grid,
                    version=1,
                    geometry={"type": "Polygon", "coordinates": [ring]},
                    min_lng=lng,
                    max_lng=lng + 0.007,
                    min_lat=lat,
                    max_lat=lat + 0.005,
                )
            )
    GridBoundary.objects.bulk_create(boundaries[:3830])
    for i in range(clients):
        user = User.objects.create(username=f"worker{i}", real_name=f"网格员{i}")
        Grant.objects.create(user=user, role=Role.GRID_WORKER, path=town.path, post="full_time")


def tokens_for(clients: int) -> list[str]:
    """A fresh API token for each benchmark user (seeded, or added here for more clients)."""
    from projects.models import Town
    from qionglai.users.models import Grant, Role, User
    from qionglai.users.services import token_issue

    town = Town.objects.get(code="001")
    tokens = []
    for i in range(clients):
        user, created = User.objects.get_or_create(
            username=f"worker{i}", defaults={"real_name": f"网格员{i}"}
        )
        if created:
            Grant.objects.create(user=user, role=Role.GRID_WORKER, path=town.path, post="full_time")
        tokens.append(token_issue(user=user)[1])
    return tokens


def jpeg(size: tuple[int, int]) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, (120, 150, 90))
    draw = ImageDraw.Draw(image)
    for i in range(0, size[0], 16):  # some detail, so the JPEG is not trivially small
        draw.line([(i, 0), (size[0] - i, size[1])], fill=(i % 255, 80, 160), width=3)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


def phone_photo(source: Path = REAL_PHOTO) -> bytes:
    """The camera photograph as the report page sends it: longest side 1,280 px, JPEG 0.7."""
    from PIL import Image

    with Image.open(source) as image:
        image.thumbnail((1280, 1280))
        out = io.BytesIO()
        image.convert("RGB").save(out, format="JPEG", quality=70)
    return out.getvalue()


def photo_counts() -> tuple[int, int]:
    """(processing, ready) photos, from a fresh connection each time (a sampler thread)."""
    from django.db import connection
    from django.db.models import Count

    from grids.models import IncidentPhoto, PhotoStatus

    counts = {r["status"]: r["n"] for r in IncidentPhoto.objects.values("status").annotate(n=Count("id"))}
    connection.close()
    return counts.get(PhotoStatus.PROCESSING, 0), counts.get(PhotoStatus.READY, 0)


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (t, value): how fast the backlog grew, photos per second."""
    if len(points) < 2:
        return 0.0
    mt = statistics.fmean(t for t, _ in points)
    mv = statistics.fmean(v for _, v in points)
    den = sum((t - mt) ** 2 for t, _ in points)
    return sum((t - mt) * (v - mv) for t, v in points) / den if den else 0.0


def multipart(fields: dict[str, str], photo: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for key, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        )
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename="p.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'.encode()
        + photo
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def uptime() -> str:
    """The load average as `uptime` prints it, for the record beside every figure."""
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()  # noqa: S607


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and all its descendants so far (from /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    stats: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        child = int(entry.name)
        children.setdefault(int(fields[1]), []).append(child)
        stats[child] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += stats.get(p, 0.0)
        todo.extend(children.get(p, []))
    return total


def postgres_cpu() -> dict[int, float]:
    """The PostgreSQL backends serving the benchmark's database now, and their CPU so far."""
    import psycopg

    url = os.environ["DATABASE_URL"]
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [name]
        ).fetchall()
    return {pid: cpu_seconds(pid) for (pid,) in rows}


def postgres_cpu_since(before: dict[int, float]) -> float:
    """CPU of the backends since `before`: all of a backend opened meanwhile, the growth of one
    open throughout. A backend that closed in between (gunicorn recycles its connections every
    DB_CONN_MAX_AGE seconds) is lost, so this is a lower bound."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in postgres_cpu().items())


def start_worker(env: dict, *, queues: str, name: str, concurrency: int, nice: int) -> subprocess.Popen:
    """A Celery worker as docker-compose.yml runs it: `queues` is "-Q photos", "-X photos" or ""
    (every queue, the release before's single worker)."""
    return subprocess.Popen(  # noqa: S603 - our own worker
        [
            str(ROOT / ".venv/bin/celery"),
            "-A",
            "qionglai",
            "worker",
            *queues.split(),
            "-n",
            f"{name}@%h",
            "-c",
            str(concurrency),
            "-l",
            "warning",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        preexec_fn=lambda: os.nice(nice),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photo", default="phone", help="phone (the camera photo as sent) or WxH")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="reports/s sent on a fixed schedule (open loop); 0: as fast as answered",
    )
    parser.add_argument("--eager", action="store_true", help="process photos inside the request")
    parser.add_argument(
        "--worker-nice",
        type=int,
        default=PHOTO_WORKER_NICE,
        help="the photo worker's niceness (0: the web's)",
    )
    parser.add_argument("--worker-concurrency", type=int, default=PHOTO_WORKER_CONCURRENCY)
    parser.add_argument(
        "--single-worker",
        action="store_true",
        help="one worker on every queue (the release before, which had no photos queue)",
    )
    parser.add_argument(
        "--drain-only",
        type=int,
        default=0,
        metavar="N",
        help="send N reports with no photo worker running, then time the worker draining them alone",
    )
    parser.add_argument("--seed-only", action="store_true", help="recreate and seed the database, then stop")
    parser.add_argument("--existing", action="store_true", help="use the database a --seed-only run left")
    args = parser.parse_args()
    import django

    if not args.existing:
        recreate_database(os.environ["DATABASE_URL"])
        django.setup()
        seed(args.clients)
        if args.seed_only:
            print(f"seeded {os.environ['DATABASE_URL'].rsplit('/', 1)[1]}")
            return
    else:
        django.setup()
    print(f"uptime before: {uptime()}")
    load_before = f"{os.getloadavg()[0]:.1f}"
    tokens = tokens_for(args.clients)
    from django.db import connection

    connection.close()
    photo = phone_photo() if args.photo == "phone" else jpeg(tuple(int(x) for x in args.photo.split("x")))
    media = tempfile.mkdtemp(prefix="bench-media-")
    env = {
        **os.environ,
        "MEDIA_ROOT": media,
        "CELERY_EAGER": "1" if args.eager else "0",
        "LOG_LEVEL": "WARNING",
        "SECURE_COOKIES": "0",
        # 16 benchmark users send far more than a person would: the per-user report throttle
        # (30/min) would answer 429 to nearly all of it
        "THROTTLE_REPORT": "1000000/min",
        "THROTTLE_USER": "1000000/min",
    }
    workers: list[subprocess.Popen] = []
    photo_worker = None

    def start_photo_worker() -> subprocess.Popen:
        return start_worker(
            env,
            queues="" if args.single_worker else "-Q photos",
            name="photos",
            concurrency=args.worker_concurrency,
            nice=args.worker_nice,
        )

    if not args.eager:
        env["REDIS_URL"] = BENCH_REDIS_URL
        # empty the queues before any report is sent (a worker's own --purge races the warm-up)
        subprocess.run(  # noqa: S603 - our own command
            [
                str(ROOT / ".venv/bin/celery"),
                "-A",
                "qionglai",
                "purge",
                "-f",
                *([] if args.single_worker else ["-Q", "celery,photos"]),
            ],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        if not args.single_worker:  # notices and the rest, as in production
            workers.append(start_worker(env, queues="-X photos", name="general", concurrency=1, nice=0))
        if not args.drain_only:
            photo_worker = start_photo_worker()
            workers.append(photo_worker)
    server = subprocess.Popen(  # noqa: S603 - our own gunicorn
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "qionglai.wsgi",
            "-w",
            str(args.workers),
            "-b",
            f"127.0.0.1:{args.port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", args.port, timeout=1).request("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.2)
        latencies: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()
        deadline = [0.0]
        warm_count = [8]
        schedule = {"t0": 0.0, "next": 0}

        def more(n: int) -> bool:
            # the warm-up sends a fixed count; the measured run sends until the deadline
            return n < warm_count[0] if warm_count[0] else time.perf_counter() < deadline[0]

        def wait_for_slot() -> bool:
            """Open loop: the next report's time on the fixed schedule, slept until; False once
            the schedule passes the deadline."""
            with lock:
                k = schedule["next"]
                schedule["next"] += 1
            due = schedule["t0"] + k / args.rate
            if due >= deadline[0]:
                return False
            time.sleep(max(0.0, due - time.perf_counter()))
            return True

        def client(i: int) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
            n = 0
            while more(n):
                if args.rate and not warm_count[0] and not wait_for_slot():
                    break
                n += 1
                lng = 103.2 + (n % 14) * 0.036 + 0.003
                lat = 30.22 + (i % 13) * 0.026 + 0.002
                body, ctype = multipart(
                    {
                        "category": "0401",
                        "urgency": "yellow",
                        "description": f"基准测试上报 {i}-{n}",
                        "lat": f"{lat:.6f}",
                        "lng": f"{lng:.6f}",
                    },
                    photo,
                )
                t = time.perf_counter()
                conn.request(
                    "POST",
                    "/api/v1/incidents/",
                    body=body,
                    headers={"Content-Type": ctype, "Authorization": f"Token {tokens[i]}"},
                )
                response = conn.getresponse()
                payload = response.read()
                elapsed = time.perf_counter() - t
                with lock:
                    if response.status == 201:
                        latencies.append(elapsed)
                    else:
                        errors.append(f"{response.status} {payload[:200]!r}")

        # warm up each worker (imports, connections) outside the measurement
        warm = threading.Thread(target=client, args=(0,))
        warm.start()
        warm.join()
        if args.drain_only:
            drain_alone(args, client, warm_count, latencies, start_photo_worker, workers)
            return
        wait_for_photos(time.perf_counter())  # the warm-up's photos, before the clock starts
        warm_count[0] = 0
        latencies.clear()
        _, ready_before = photo_counts()
        samples: list[tuple[float, int, int]] = []  # (t, backlog, ready since start)
        threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
        pg_before = postgres_cpu()
        cpu_before = {
            "web": cpu_seconds(server.pid),
            "photo worker": cpu_seconds(photo_worker.pid) if photo_worker else 0.0,
            "other worker": sum(cpu_seconds(w.pid) for w in workers if w is not photo_worker),
            "load generator": sum(os.times()[:2]),
        }
        t0 = time.perf_counter()
        schedule["t0"] = t0
        deadline[0] = t0 + args.seconds
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            time.sleep(SAMPLE_EVERY - (time.perf_counter() - t0) % SAMPLE_EVERY)
            backlog, ready_now = photo_counts()
            samples.append((time.perf_counter() - t0, backlog, ready_now - ready_before))
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        load_end = f"{os.getloadavg()[0]:.1f}"
        processed_in_run = photo_counts()[1] - ready_before
        cpu = {
            "web": cpu_seconds(server.pid) - cpu_before["web"],
            "photo worker": (cpu_seconds(photo_worker.pid) if photo_worker else 0.0)
            - cpu_before["photo worker"],
            "other worker": sum(cpu_seconds(w.pid) for w in workers if w is not photo_worker)
            - cpu_before["other worker"],
            "load generator": sum(os.times()[:2]) - cpu_before["load generator"],
            "postgres (lower bound)": postgres_cpu_since(pg_before),
        }
        drain, _, _ = wait_for_photos(time.perf_counter())
    finally:
        server.terminate()
        server.wait(timeout=30)
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(timeout=60)
    if errors:
        print(f"{len(errors)} errors, first: {errors[0]}")
    done = len(latencies)
    rps = done / wall
    q = statistics.quantiles(latencies, n=100)
    p50, p95, p99 = q[49] * 1000, q[94] * 1000, q[98] * 1000
    mode = f"open loop at {args.rate:g}/s" if args.rate else f"{args.clients} clients as fast as answered"
    print(
        f"report with a {args.photo} JPEG ({len(photo) // 1024} KB) via API, {mode}, {args.workers} gunicorn workers: "
        f"{done} created in {wall:.1f} s → {rps:.1f} req/s (target ≥ {TARGET_RPS}: {rps / TARGET_RPS:.2f}×), "
        f"p50 {p50:.0f} ms, p95 {p95:.0f} ms (target < {TARGET_P95_MS}: {TARGET_P95_MS / p95:.2f}×), p99 {p99:.0f} ms"
    )
    worker_desc = (
        "in the request"
        if args.eager
        else f"{'one worker on every queue' if args.single_worker else 'photos queue'}, "
        f"-c {args.worker_concurrency}, nice {args.worker_nice}"
    )
    print(f"photos ({worker_desc}), every run in this database: {drain}")
    # the worker keeps up when it processes photos as fast as reports arrive: then the backlog
    # sampled every 5 s stays flat; otherwise it grows for as long as reports arrive
    worker_rate = processed_in_run / wall
    growth = slope([(t, b) for t, b, _ in samples])
    kept_up = growth <= max(0.5, 0.02 * rps)
    print("backlog (photos waiting) every 5 s: " + ", ".join(f"{t:.0f} s: {b}" for t, b, _ in samples))
    print(
        f"photo worker {worker_rate:.1f} photos/s beside reports {rps:.1f}/s over {wall:.0f} s "
        f"({worker_rate / rps:.2f}× the report rate); backlog slope {growth:+.2f} photos/s → "
        + ("does not grow: MET" if kept_up else "GROWS: NOT MET")
    )
    # what the two cores were asked for: CPU per report (web, database, notices) and per photo
    per_report = (cpu["web"] + cpu["postgres (lower bound)"] + cpu["other worker"]) / max(done, 1)
    per_photo = cpu["photo worker"] / max(processed_in_run, 1)
    gen = cpu["load generator"] / max(done, 1)
    print(
        "CPU in the run: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in cpu.items())
        + f" = {sum(cpu.values()) / wall:.2f} of {os.cpu_count()} cores"
    )
    cores = os.cpu_count() or 2
    print(
        f"per report {per_report * 1000:.1f} ms (web + PostgreSQL + notices) + {gen * 1000:.1f} ms load generator; "
        f"per photo {per_photo * 1000:.1f} ms (photo worker) → {cores} cores carry reports with their photos up to "
        f"{cores / (per_report + per_photo + gen):.0f}/s with this load generator on them, "
        f"{cores / (per_report + per_photo):.0f}/s without it"
    )
    print(
        f"machine: {cores} cores, load generator on the same machine; "
        f"load average at start / end of the run / after the drain: {load_before} / {load_end} / "
        f"{os.getloadavg()[0]:.1f}"
    )
    print(f"uptime after: {uptime()}")


def drain_alone(args, client, warm_count, latencies, start_photo_worker, workers) -> None:
    """The photo worker's own rate: N reports queued with no photo worker running, then the
    worker started and timed from its first photo done to its last (start-up excluded)."""
    per_client = -(-args.drain_only // args.clients)
    warm_count[0] = per_client
    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    backlog, ready_start = photo_counts()
    print(f"queued {backlog} photos with no photo worker running")
    print(f"uptime at the worker's start: {uptime()}")
    worker = start_photo_worker()
    workers.append(worker)
    first = None
    while True:
        time.sleep(0.1)
        waiting, ready = photo_counts()
        if first is None and ready > ready_start:
            first, first_ready, cpu_first = time.perf_counter(), ready, cpu_seconds(worker.pid)
        if first is not None and waiting == 0:
            last, cpu_last = time.perf_counter(), cpu_seconds(worker.pid)
            break
    n = ready - first_ready
    print(
        f"photo worker alone ({'one worker on every queue' if args.single_worker else 'photos queue'}, "
        f"-c {args.worker_concurrency}, nice {args.worker_nice}): {n} photos in {last - first:.1f} s → "
        f"{n / (last - first):.1f} photos/s, {(cpu_last - cpu_first) / max(n, 1) * 1000:.1f} ms CPU per photo"
    )
    print(f"uptime after: {uptime()}")


def wait_for_photos(since: float, limit: float = 900) -> tuple[str, float, int]:
    """Until no photo is processing (the worker's backlog), bounded by `limit` seconds."""
    from django.db import connection
    from django.db.models import Count

    from grids.models import IncidentPhoto, PhotoStatus

    while True:
        counts = {r["status"]: r["n"] for r in IncidentPhoto.objects.values("status").annotate(n=Count("id"))}
        waited = time.perf_counter() - since
        if not counts.get(PhotoStatus.PROCESSING) or waited > limit:
            break
        time.sleep(0.5)
    connection.close()
    summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    return (
        f"{summary}; backlog drained {waited:.1f} s after the last response",
        waited,
        counts.get(PhotoStatus.READY, 0),
    )


if __name__ == "__main__":
    main()
