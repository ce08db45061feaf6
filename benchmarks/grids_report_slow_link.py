"""The report page on a phone over a slow link (design §11: 400 ms latency, 400 kbit/s, CPU 4×;
page ≤ 50 KB and ≤ 1.5 s cold; a report with one camera photo ≤ 5 s).

Recreates a dedicated PostgreSQL database, serves it with gunicorn (collectstatic first, so
static files go out as in production: hashed, compressed), and drives Debian's Chromium with
Playwright under CDP network and CPU emulation. Measures the cold load of /grids/report/ (bytes
on the wire and time to `load`), then a report with one 12-megapixel camera photo (scaled on the
phone to 1,280 px, sent through the outbox) from the tap on 提交 to the incident's page.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_field_slowlink \
    .venv/bin/python benchmarks/grids_report_slow_link.py [--runs 3]
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qionglai.settings")
os.environ.setdefault("CELERY_EAGER", "1")

from benchlib import recreate_database  # noqa: E402 - after the path and settings setup

PORT = 8937
LINK = {"offline": False, "latency": 400, "downloadThroughput": 400_000 / 8, "uploadThroughput": 400_000 / 8}


def camera_photo() -> bytes:
    """A 4000×3000 JPEG with camera-like detail (noise), ~3–4 MB."""
    from PIL import Image

    image = Image.effect_noise((4000, 3000), 40).convert("RGB")
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=92)
    return out.getvalue()


def setup() -> int:
    import django

    django.setup()
    from django.core.management import call_command

    from grids.models import Grid, GridKind
    from projects.models import Community, Town
    from qionglai.users.models import Grant, GridPost, Role, User

    call_command("migrate", verbosity=0)
    town = Town.objects.create(code="001", name="临邛街道", path="510183.001")
    community = Community.objects.create(town=town, code="c001", name="洪川社区", path=f"{town.path}.c001")
    general = Grid.objects.create(
        community=community, kind=GridKind.GENERAL, code="g01", name="一网格", path=f"{community.path}.g01"
    )
    micro = Grid.objects.create(
        community=community,
        parent=general,
        kind=GridKind.MICRO,
        code="m01",
        name="一微网格",
        path=f"{general.path}.m01",
        households=60,
    )
    worker = User.objects.create(username="field", real_name="网格员")
    worker.set_password("pass-12345")
    worker.save()
    Grant.objects.create(user=worker, role=Role.GRID_WORKER, path=micro.path, post=GridPost.FULL_TIME)
    return micro.pk


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    recreate_database(os.environ["DATABASE_URL"])
    micro_id = setup()
    media = tempfile.mkdtemp(prefix="bench-media-")
    env = {
        **os.environ,
        "MEDIA_ROOT": media,
        "SECURE_COOKIES": "0",
        "LOG_LEVEL": "WARNING",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "OTP_GRACE_LOGINS": "100",  # a benchmark user, not a second-factor test
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
    photo = Path(tempfile.mkdtemp()) / "IMG_0001.jpg"
    photo.write_bytes(camera_photo())
    from playwright.sync_api import sync_playwright

    from grids.models import Incident

    loads, reports, page_bytes = [], [], []
    try:
        time.sleep(3)  # gunicorn's workers start
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
            )
            for _run in range(args.runs):
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
                cdp = context.new_cdp_session(page)
                cdp.send("Network.enable")
                cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})  # cold
                cdp.send("Network.emulateNetworkConditions", LINK)
                cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})
                received = []
                cdp.on("Network.loadingFinished", lambda e, r=received: r.append(e["encodedDataLength"]))
                t = time.perf_counter()
                page.goto("/grids/report/", wait_until="load")
                loads.append(time.perf_counter() - t)
                page_bytes.append(sum(received))
                cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
                page.set_input_files("input[name=photos]", str(photo))  # scaled on the phone
                page.wait_for_selector("#photo-preview img")
                page.select_option("select[name=category]", "1002")
                page.fill("textarea[name=description]", "慢速网络基准：路面塌陷")
                page.select_option("select[name=micro_grid]", str(micro_id))
                t = time.perf_counter()
                page.click("[data-testid=submit-report]")
                page.wait_for_url("**/grids/incidents/*/")
                reports.append(time.perf_counter() - t)
                context.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(30)
        if not had_static:  # leave the checkout as it was (tests run without collected files)
            shutil.rmtree(ROOT / "staticfiles", ignore_errors=True)
    print(
        f"report page cold over 400 ms / 400 kbit/s, CPU 4×: {max(page_bytes) / 1024:.1f} KB on the wire "
        f"(target ≤ 50 KB), load {min(loads):.2f}–{max(loads):.2f} s (target ≤ 1.5 s)"
    )
    print(
        f"a report with one {photo.stat().st_size / 1e6:.1f} MB camera photo: "
        f"{min(reports):.2f}–{max(reports):.2f} s from 提交 to the incident's page (target ≤ 5 s); "
        f"{Incident.objects.count()} incidents for {args.runs} runs"
    )
    print(f"load: {os.getloadavg()[0]:.2f} (shared 2-core machine)")


if __name__ == "__main__":
    main()
