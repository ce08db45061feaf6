"""The embedded default (SQLite: `make demo`) runs the code production runs on PostgreSQL. The
suite's database is PostgreSQL, so a statement only PostgreSQL parses would pass every other
test and break the demo at its first dashboard fill (it did once: VALUES column aliases and
::date casts in the rollup sums). This test takes the demo's own path in a subprocess: a
fresh SQLite file migrated, a small demo built through the services, a fill with the
warm-up, then the dashboard read as city staff at every level of the tree."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

READ_THE_DASHBOARD = r"""
import json
import django

django.setup()
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from grids.models import Incident
from qionglai.dashboard import fill, payload
from qionglai.users.models import User

report = fill.fill(warm=payload.warm)
out = {"complete": report.complete_to is not None, "differences": len(fill.check()), "reads": []}
city = User.objects.filter(grants__role="city_staff").first()
device = TOTPDevice.objects.create(user=city, name="测试", confirmed=True)
client = Client()
client.force_login(city)
session = client.session
session[DEVICE_ID_SESSION_KEY] = device.persistent_id
session.save()
grid = Incident.objects.exclude(micro_grid=None).select_related("micro_grid").first().micro_grid
path = grid.path
places = [None, ".".join(path.split(".")[:2]), ".".join(path.split(".")[:3]), path]
for place in places:
    for period in ("30d", "year"):
        query = {"period": period, **({"place": place} if place else {})}
        data = client.get("/dashboard/data/", query, HTTP_HOST="127.0.0.1")
        page = client.get("/dashboard/", query, HTTP_HOST="127.0.0.1")
        body = data.json() if data.status_code == 200 else {}
        reported = sum(r["reported"] for r in body.get("trend", {}).get("rows", []))
        out["reads"].append([place, period, data.status_code, page.status_code, reported])
print("RESULT " + json.dumps(out))
"""


def run(args: list[str], env: dict) -> subprocess.CompletedProcess:
    result = subprocess.run(  # noqa: S603 (this file's own arguments)
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def test_the_demo_on_sqlite_migrates_builds_fills_and_serves_every_level_of_the_dashboard(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}", "CELERY_EAGER": "1"}
    for name in ("REDIS_URL", "DATABASE_REPLICA_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"):
        env.pop(name, None)
    env["MEDIA_ROOT"] = str(tmp_path / "media")
    run(["manage.py", "migrate", "--noinput", "-v", "0"], env)
    run(["manage.py", "build_demo", "--no-progress", "--incidents", "20"], env)
    result = run(["-c", READ_THE_DASHBOARD], {**env, "DJANGO_SETTINGS_MODULE": "qionglai.settings"})

    line = next(x for x in result.stdout.splitlines() if x.startswith("RESULT "))
    out = json.loads(line.removeprefix("RESULT "))
    assert out["complete"] and out["differences"] == 0
    assert len(out["reads"]) == 8
    for place, period, data_status, page_status, _reported in out["reads"]:
        assert (data_status, page_status) == (200, 200), (place, period)
    # the year's trend counts the city's reports (the sums read SQLite's days as dates)
    city_year = next(r for r in out["reads"] if r[0] is None and r[1] == "year")
    assert city_year[4] > 0
