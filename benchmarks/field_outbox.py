"""The report page's outbox through 100 forced disconnects (issue 11: 20 cycles in CI, 100 here).

The same scenario as `tests/browser/test_report_outbox.py`, at benchmark scale and against
gunicorn instead of the test server: a grid worker on a phone submits a report with 3 photos,
the link drops at a random moment (before, during or after the upload) for 0.2–0.8 s and comes
back, and the page's outbox resends by itself. Each photo is a different crop of a real camera
photograph with its own size, so every stored photo can be traced to the report it was sent
with. At the end: duplicates, losses, and whether every incident has exactly its 3 photos.

Recreates its own database; photos are processed in the request (`CELERY_EAGER=1`).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_field_outbox \\
    .venv/bin/python benchmarks/field_outbox.py [--cycles 100] [--seed 11]

To keep the migrations out of a measurement lock, `--seed-only` first, then `--existing` under it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qionglai.settings")
os.environ.setdefault("CELERY_EAGER", "1")

from grids_report_slow_link import REAL_PHOTO, prepare  # noqa: E402 - after the path and settings setup; same database set-up

PORT = int(os.environ.get("BENCH_PORT", "8939"))
PHOTOS = 3
# a slow upload (≈ 400 kbit/s), so a disconnect often lands inside one
LINK = {"latency": 100, "downloadThroughput": 250_000, "uploadThroughput": 50_000}
SENDING = (
    "() => [...document.querySelectorAll('[data-testid=draft]')].some(d => d.dataset.state === 'sending')"
)
SETTLED = """() => location.pathname !== '/grids/report/' ||
  ![...document.querySelectorAll('[data-testid=draft]')].some(
    d => d.dataset.state === 'sending' || d.dataset.state === 'pending')"""


def crops(source: Path, folder: Path, cycles: int) -> dict[int, list[tuple[Path, tuple[int, int]]]]:
    """Per cycle, 3 crops of the photograph, each with a size no other photo has."""
    from PIL import Image

    with Image.open(source) as image:
        image.thumbnail((1600, 1600))
        base = image.convert("RGB")
    out = {}
    for i in range(cycles):
        files = []
        for k in range(PHOTOS):
            w, h = 640 + 3 * i, 480 + 2 * i + k  # unique: width per cycle, height per photo
            x = (37 * i + 101 * k) % (base.width - w)
            y = (23 * i + 59 * k) % (base.height - h)
            path = folder / f"c{i:03d}-{k}.jpg"
            buffer = io.BytesIO()
            base.crop((x, y, x + w, y + h)).save(buffer, format="JPEG", quality=90)
            path.write_bytes(buffer.getvalue())
            files.append((path, (w, h)))
        out[i] = files
    return out


def settle(page) -> None:
    from playwright.sync_api import Error

    for _ in range(240):
        try:
            if page.evaluate(SETTLED):
                page.wait_for_load_state()
                return
        except Error:
            pass  # a navigation destroyed the context in between: look again
        page.wait_for_timeout(500)
    raise SystemExit("the outbox did not settle within two minutes")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cycles", type=int, default=100)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--photo", type=Path, default=REAL_PHOTO)
    parser.add_argument("--seed-only", action="store_true", help="recreate and seed the database, then stop")
    parser.add_argument("--existing", action="store_true", help="use the database a --seed-only run left")
    args = parser.parse_args()
    if not args.photo.exists():
        sys.exit(f"{args.photo} is missing: apt-get install lomiri-wallpapers-20.04, or --photo PATH")
    rng = random.Random(args.seed)
    micro_id = prepare(existing=args.existing)
    if args.seed_only:
        return
    import django

    django.setup()
    from grids.models import Incident

    if Incident.objects.exists():
        sys.exit("the database already holds incidents: --seed-only again, or run without --existing")
    media = tempfile.mkdtemp(prefix="bench-media-")
    env = {
        **os.environ,
        "MEDIA_ROOT": media,
        "SECURE_COOKIES": "0",
        "LOG_LEVEL": "WARNING",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "OTP_GRACE_LOGINS": "1000",  # a benchmark user, not a second-factor test
    }
    had_static = (ROOT / "staticfiles" / "staticfiles.json").exists()
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    server = subprocess.Popen(  # noqa: S603 - our own server on loopback
        [sys.executable, "-m", "gunicorn", "qionglai.wsgi", "-b", f"127.0.0.1:{PORT}", "-w", "2"],
        cwd=ROOT,
        env=env,
    )
    photos = crops(args.photo, Path(tempfile.mkdtemp(prefix="bench-crops-")), args.cycles)
    expected = {f"第{i}次上报：路面塌陷": {size for _, size in photos[i]} for i in range(args.cycles)}
    from playwright.sync_api import sync_playwright

    mid_upload = 0
    started = time.perf_counter()
    print(f"load before: {os.getloadavg()[0]:.2f} (shared 2-core machine)")
    try:
        time.sleep(3)  # gunicorn's workers start
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
            )
            context = browser.new_context(
                base_url=f"http://127.0.0.1:{PORT}",
                viewport={"width": 390, "height": 844},
                is_mobile=True,
                has_touch=True,
                locale="zh-CN",
            )
            page = context.new_page()
            page.set_default_timeout(60_000)
            page.goto("/accounts/login/")
            page.fill("input[name=username]", "field")
            page.fill("input[name=password]", "pass-12345")
            page.click("button[type=submit]")
            page.wait_for_load_state()
            page.goto("/grids/report/")
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.emulateNetworkConditions", {"offline": False, **LINK})
            for i in range(args.cycles):
                page.select_option("select[name=category]", "1002")
                page.select_option("select[name=urgency]", rng.choice(["red", "orange", "yellow", "blue"]))
                page.fill("textarea[name=description]", f"第{i}次上报：路面塌陷")
                page.select_option("select[name=micro_grid]", str(micro_id))
                page.set_input_files("input[name=photos]", [str(p) for p, _ in photos[i]])
                page.wait_for_function(
                    f"() => document.querySelectorAll('#photo-preview img').length === {PHOTOS}"
                )
                page.click("[data-testid=submit-report]")
                page.wait_for_timeout(rng.randint(0, 2500))  # before, during or after the upload
                with contextlib.suppress(Exception):  # the sent report already opened its page
                    mid_upload += bool(page.evaluate(SENDING))
                cdp.send("Network.emulateNetworkConditions", {"offline": True, **LINK})
                page.wait_for_timeout(rng.randint(200, 800))
                cdp.send("Network.emulateNetworkConditions", {"offline": False, **LINK})
                settle(page)
                if not page.url.endswith("/grids/report/"):
                    page.goto("/grids/report/")  # the foreground send succeeded and opened its incident
                if (i + 1) % 10 == 0:
                    print(f"  {i + 1} cycles, {time.perf_counter() - started:.0f} s")
            page.goto("/grids/report/")
            page.wait_for_function(
                "() => document.querySelectorAll('[data-testid=draft]:not([data-state=sent])').length === 0",
                timeout=300_000,
            )
            browser.close()
    finally:
        server.terminate()
        server.wait(30)
        if not had_static:
            shutil.rmtree(ROOT / "staticfiles", ignore_errors=True)
        elapsed = time.perf_counter() - started

    import django

    django.setup()
    from grids.models import Incident

    incidents = list(Incident.objects.prefetch_related("photos"))
    seen = Counter(i.description for i in incidents)
    duplicates = sum(n - 1 for n in seen.values() if n > 1)
    lost = sorted(set(expected) - set(seen))
    wrong = [
        i.pk
        for i in incidents
        if len(i.photos.all()) != PHOTOS
        or {(p.width, p.height) for p in i.photos.all()} != expected[i.description]
    ]
    unprocessed = sum(1 for i in incidents for p in i.photos.all() if not p.width)
    print(
        f"{args.cycles} cycles × {PHOTOS} photos, link dropped while a draft was sending in {mid_upload}: "
        f"{len(incidents)} incidents, {duplicates} duplicates, {len(lost)} lost, "
        f"{len(incidents) - len(wrong)} with exactly their own {PHOTOS} photos, {len(wrong)} not "
        f"({unprocessed} photos unprocessed); {elapsed:.0f} s"
    )
    if lost:
        print("lost:", lost[:10])
    if wrong:
        print("incidents with wrong photos:", wrong[:10])
    print(f"load after: {os.getloadavg()[0]:.2f} (shared 2-core machine)")
    sys.exit(1 if duplicates or lost or wrong else 0)


if __name__ == "__main__":
    main()
