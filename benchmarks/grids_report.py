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
quarantines it; a Celery worker (one process, niced, on the same two cores, over Redis at
BENCH_REDIS_URL) then decodes, re-encodes and thumbnails it. Every 5 s the run samples the
backlog (photos still processing) and the photos done, then prints the worker's rate beside
the report rate and whether the backlog grew; after the last response it waits for the
backlog to drain. `--eager` runs that work inside the request instead (no worker).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/qionglai_bench_grids_report \
    .venv/bin/python benchmarks/grids_report.py [--photo phone|1280x960] [--seconds 60] [--clients 16] [--eager]
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
PORT = 8765
BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
REAL_PHOTO = Path("/usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg")
SAMPLE_EVERY = 5.0


from benchlib import recreate_database  # noqa: E402 - after the path and settings setup


def setup(clients: int) -> list[str]:
    import django

    django.setup()
    from django.core.management import call_command

    from grids.models import Grid, GridBoundary, GridKind
    from projects.models import Community, Town
    from qionglai.users.models import Grant, Role, User
    from qionglai.users.services import token_issue

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
    tokens = []
    for i in range(clients):
        user = User.objects.create(username=f"worker{i}", real_name=f"网格员{i}")
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photo", default="phone", help="phone (the camera photo as sent) or WxH")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--eager", action="store_true", help="process photos inside the request")
    parser.add_argument(
        "--worker-nice", type=int, default=10, help="the photo worker's niceness (0: the web's priority)"
    )
    args = parser.parse_args()
    load_before = f"{os.getloadavg()[0]:.1f}"
    recreate_database(os.environ["DATABASE_URL"])
    tokens = setup(args.clients)
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
    worker = None
    if not args.eager:
        env["REDIS_URL"] = BENCH_REDIS_URL
        celery = str(ROOT / ".venv/bin/celery")
        # empty the queue before any report is sent (a worker's own --purge races the warm-up)
        subprocess.run(  # noqa: S603 - our own command
            [celery, "-A", "qionglai", "purge", "-f"], cwd=ROOT, env=env, check=True, capture_output=True
        )
        worker = subprocess.Popen(  # noqa: S603 - our own worker, below the web processes in priority
            [
                celery,
                "-A",
                "qionglai",
                "worker",
                "-c",
                "1",
                "-l",
                "warning",
                "--without-mingle",
                "--without-gossip",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            preexec_fn=lambda: os.nice(args.worker_nice),
        )
    server = subprocess.Popen(  # noqa: S603 - our own gunicorn
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "qionglai.wsgi",
            "-w",
            str(args.workers),
            "-b",
            f"127.0.0.1:{PORT}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", PORT, timeout=1).request("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.2)
        latencies: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()
        deadline = [0.0]
        warm_count = [8]

        def more(n: int) -> bool:
            # the warm-up sends a fixed count; the measured run sends until the deadline
            return n < warm_count[0] if warm_count[0] else time.perf_counter() < deadline[0]

        def client(i: int) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
            n = 0
            while more(n):
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
        wait_for_photos(time.perf_counter())  # the warm-up's photos, before the clock starts
        warm_count[0] = 0
        latencies.clear()
        _, ready_before = photo_counts()
        samples: list[tuple[float, int, int]] = []  # (t, backlog, ready since start)
        threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
        t0 = time.perf_counter()
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
        drain, _, _ = wait_for_photos(time.perf_counter())
    finally:
        server.terminate()
        server.wait(timeout=30)
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=60)
    if errors:
        print(f"{len(errors)} errors, first: {errors[0]}")
    done = len(latencies)
    rps = done / wall
    q = statistics.quantiles(latencies, n=100)
    p50, p95, p99 = q[49] * 1000, q[94] * 1000, q[98] * 1000
    print(
        f"report with a {args.photo} JPEG ({len(photo) // 1024} KB) via API, {args.clients} clients, {args.workers} gunicorn workers: "
        f"{done} created in {wall:.1f} s → {rps:.0f} req/s (target ≥ {TARGET_RPS}: {rps / TARGET_RPS:.2f}×), "
        f"p50 {p50:.0f} ms, p95 {p95:.0f} ms (target < {TARGET_P95_MS}: {TARGET_P95_MS / p95:.2f}×), p99 {p99:.0f} ms"
    )
    print(f"photos: {drain}")
    # the worker keeps up when it processes photos as fast as reports arrive: then the backlog
    # sampled every 5 s stays flat; otherwise it grows for as long as reports arrive
    worker_rate = processed_in_run / wall
    growth = slope([(t, b) for t, b, _ in samples])
    print("backlog (photos waiting) every 5 s: " + ", ".join(f"{t:.0f} s: {b}" for t, b, _ in samples))
    print(
        f"photo worker {worker_rate:.1f} photos/s beside reports {rps:.1f}/s over {wall:.0f} s; "
        f"backlog slope {growth:+.2f} photos/s → "
        + (
            "does not grow"
            if growth <= max(0.5, 0.02 * rps)
            else f"GROWS (the worker does {worker_rate / rps:.2f}× the report rate)"
        )
    )
    print(
        f"machine: {os.cpu_count()} cores, load generator on the same machine; "
        f"load average at start / end of the run / after the drain: {load_before} / {load_end} / "
        f"{os.getloadavg()[0]:.1f}"
    )


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
