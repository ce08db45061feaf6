"""The report page on a phone over a slow link (issue 11: 400 ms latency, 400 kbit/s; page
≤ 30–50 KB and ≤ 1.5 s cold; a report with one phone-camera photo ≤ 5 s).

Recreates a dedicated PostgreSQL database, serves it with gunicorn (collectstatic first, so
static files go out as in production: hashed, compressed), and drives Debian's Chromium with
Playwright under CDP network emulation, once without CPU throttling (the issue's conditions)
and once with the CPU 4× slower (a cheap phone). For each: the cold load of /grids/report/
(bytes on the wire, time to `load`, and on the first run the waterfall: every request's start
and end), then a report with one camera photo (scaled on the phone, sent through the outbox)
from the tap on 提交 to the server's answer (the draft shows 已上报) and to the incident's page.

The photo: a real camera photograph, by default Debian's lomiri-wallpapers-20.04
`Kleiber_by_Lukas_Baubkus.jpg` (6028×3391, 4.4 MB, CC-BY-SA-3.0; `apt-get install
lomiri-wallpapers-20.04`), or `--photo PATH`; `--noise` adds the worst case, a 4000×3000
noise JPEG, which no encoder can shrink (not a phone photo).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_field_slowlink \
    .venv/bin/python benchmarks/grids_report_slow_link.py [--runs 3] [--noise] [--cpu 1 4]

To keep the migrations out of a measurement lock, `--seed-only` first, then `--existing` under it.
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

PORT = int(os.environ.get("BENCH_PORT", "8937"))
LINK = {"offline": False, "latency": 400, "downloadThroughput": 400_000 / 8, "uploadThroughput": 400_000 / 8}
REAL_PHOTO = Path("/usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg")


def noise_photo() -> bytes:
    """A 4000×3000 JPEG of noise, ~8 MB: the worst case, which scaling cannot make small."""
    from PIL import Image

    image = Image.effect_noise((4000, 3000), 40).convert("RGB")
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=92)
    return out.getvalue()


class Waterfall:
    """Every request of a page load, from CDP's Network events (times relative to the first)."""

    def __init__(self, cdp):
        self.rows: dict[str, dict] = {}
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.responseReceived", self._response)
        cdp.on("Network.loadingFinished", self._finished)

    def _sent(self, e):
        self.rows[e["requestId"]] = {
            "url": e["request"]["url"],
            "start": e["timestamp"],
            "type": e.get("type", ""),
            "initiator": e.get("initiator", {}).get("type", ""),
        }

    def _response(self, e):
        row = self.rows.get(e["requestId"])
        if row is not None:
            row["status"] = e["response"]["status"]
            row["from_sw"] = e["response"].get("fromServiceWorker", False)

    def _finished(self, e):
        row = self.rows.get(e["requestId"])
        if row is not None:
            row["end"], row["bytes"] = e["timestamp"], e["encodedDataLength"]

    def total_bytes(self) -> int:
        return sum(r.get("bytes", 0) for r in self.rows.values())

    def print(self, title: str) -> None:
        if not self.rows:
            return
        t0 = min(r["start"] for r in self.rows.values())
        print(f"  waterfall ({title}):")
        for r in sorted(self.rows.values(), key=lambda r: r["start"]):
            path = r["url"].split(f":{PORT}", 1)[-1][:60]
            end = f"{(r['end'] - t0) * 1000:6.0f}" if "end" in r else "     …"
            print(
                f"    {(r['start'] - t0) * 1000:6.0f} → {end} ms  {r.get('bytes', 0) / 1024:5.1f} KB  "
                f"{r.get('status', '')} {r['type']:<10} {path}"
            )


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


def prepare(*, existing: bool) -> int:
    """The seeded micro-grid's id: from a fresh database, or from the one `--seed-only` left."""
    if not existing:
        recreate_database(os.environ["DATABASE_URL"])
        return setup()
    import django

    django.setup()
    from grids.models import Grid, GridKind

    return Grid.objects.get(kind=GridKind.MICRO, code="m01").pk


def report_once(browser, *, cpu: int, photo: Path, micro_id: int, waterfall: bool) -> dict:
    context = browser.new_context(
        base_url=f"http://127.0.0.1:{PORT}",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
    )
    page = context.new_page()
    page.set_default_timeout(90_000)
    page.goto("/accounts/login/")
    page.fill("input[name=username]", "field")
    page.fill("input[name=password]", "pass-12345")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})  # cold
    cdp.send("Network.emulateNetworkConditions", LINK)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": cpu})
    fall = Waterfall(cdp)
    t = time.perf_counter()
    page.goto("/grids/report/", wait_until="load")
    load = time.perf_counter() - t
    page_bytes = fall.total_bytes()
    if waterfall:
        fall.print(f"cold load, CPU {cpu}×")
    # what the page does after `load` (the service worker's precache) is not the load's cost:
    # let it finish so it does not share the link with the upload below
    page.evaluate("() => navigator.serviceWorker ? navigator.serviceWorker.ready.then(() => 1) : 1")
    page.wait_for_timeout(4000)
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
    page.set_input_files("input[name=photos]", str(photo))  # scaled on the phone
    page.wait_for_selector("#photo-preview .photo-thumb[data-bytes]")
    sent_bytes = int(page.get_attribute("#photo-preview .photo-thumb", "data-bytes"))
    page.select_option("select[name=category]", "1002")
    page.fill("textarea[name=description]", "慢速网络基准：路面塌陷")
    page.select_option("select[name=micro_grid]", str(micro_id))
    fall = Waterfall(cdp)
    t = time.perf_counter()
    page.click("[data-testid=submit-report]")
    page.wait_for_url("**/grids/incidents/*/", wait_until="commit")
    answered = time.perf_counter() - t  # the server answered and the page moves on
    page.wait_for_load_state("load")
    shown = time.perf_counter() - t
    if waterfall:
        fall.print(f"report with one photo, CPU {cpu}×")
    context.close()
    return {"load": load, "bytes": page_bytes, "answered": answered, "shown": shown, "photo": sent_bytes}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cpu", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--photo", type=Path, default=REAL_PHOTO)
    parser.add_argument("--noise", action="store_true", help="also the worst case, a noise photo")
    parser.add_argument("--seed-only", action="store_true", help="recreate and seed the database, then stop")
    parser.add_argument("--existing", action="store_true", help="use the database a --seed-only run left")
    args = parser.parse_args()
    if not args.photo.exists():
        sys.exit(f"{args.photo} is missing: apt-get install lomiri-wallpapers-20.04, or --photo PATH")
    micro_id = prepare(existing=args.existing)
    if args.seed_only:
        return
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
    photos = {"camera photo": args.photo}
    if args.noise:
        noise = Path(tempfile.mkdtemp()) / "IMG_NOISE.jpg"
        noise.write_bytes(noise_photo())
        photos["noise (worst case)"] = noise
    from playwright.sync_api import sync_playwright

    from grids.models import Incident

    results: dict[tuple[int, str], list[dict]] = {}
    print(f"load before: {os.getloadavg()[0]:.2f} (shared 2-core machine)")
    try:
        time.sleep(3)  # gunicorn's workers start
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
            )
            for cpu in args.cpu:
                for label, photo in photos.items():
                    for run in range(args.runs):
                        results.setdefault((cpu, label), []).append(
                            report_once(browser, cpu=cpu, photo=photo, micro_id=micro_id, waterfall=run == 0)
                        )
            browser.close()
    finally:
        server.terminate()
        server.wait(30)
        if not had_static:  # leave the checkout as it was (tests run without collected files)
            shutil.rmtree(ROOT / "staticfiles", ignore_errors=True)
    print("over 400 ms latency, 400 kbit/s each way; targets: page ≤ 1.5 s cold, report ≤ 5 s")
    for (cpu, label), rows in results.items():
        src = photos[label]

        def span(key, rows=rows):
            values = [r[key] for r in rows]
            return f"{min(values):.2f}–{max(values):.2f} s"

        print(
            f"CPU {cpu}×, {label} ({src.stat().st_size / 1e6:.1f} MB → {rows[0]['photo'] / 1024:.0f} KB "
            f"sent): page {max(r['bytes'] for r in rows) / 1024:.1f} KB, load {span('load')}; "
            f"report answered {span('answered')}, incident page shown {span('shown')}"
        )
    print(f"{Incident.objects.count()} incidents for {sum(len(r) for r in results.values())} reports")
    print(f"load after: {os.getloadavg()[0]:.2f} (shared 2-core machine)")


if __name__ == "__main__":
    main()
