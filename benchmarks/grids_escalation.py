"""Escalation scan benchmark (design §11: 10,000 due incidents escalated in ≤ 2.5 s, each once).

Fills a dedicated PostgreSQL database with 100,000 open incidents over 3,830 micro-grids, of
which 10,000 are past their deadline, then times `escalation_scan()` — once with one scanner,
once (after a reset) with two scanners racing in threads — and proves exactly-once: one
Escalation row per due incident, each raised one level, none for the 90,000 not yet due, and a
re-run escalates nothing.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/qionglai_bench_grids \
    REDIS_URL=redis://127.0.0.1:6379/11 .venv/bin/python benchmarks/grids_escalation.py

The database named by DATABASE_URL is dropped and recreated. Each escalation row is written
with its notices owed (`notified_at` empty) inside the scan, and a notice task is queued to the
broker after each batch commits, as in production; fanning the notices out and delivering them
is the worker's job and is timed separately at the end (`escalation_notify`, as the sweep runs it).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qionglai.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/qionglai_bench_grids")
os.environ.setdefault("CELERY_EAGER", "0")

OPEN = 100_000
DUE = 10_000
TARGET_SECONDS = 2.5


from benchlib import recreate_database  # noqa: E402 - after the path and settings setup


def main() -> None:
    recreate_database()
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import F
    from django.utils import timezone

    assert settings.IS_POSTGRES, "this benchmark needs PostgreSQL (SKIP LOCKED)"
    call_command("migrate", verbosity=0)

    from grids import services
    from grids.models import Category, Escalation, Grid, GridKind, Incident, Stage
    from projects.models import Community, Town
    from qionglai.celery import app

    app.conf.task_always_eager = False
    town = Town.objects.create(code="001", name="临邛街道", path="510183.001")
    communities = [
        Community.objects.create(town=town, code=f"c{i:03d}", name=f"社区{i}", path=f"510183.001.c{i:03d}")
        for i in range(189)
    ]
    generals = Grid.objects.bulk_create(
        [
            Grid(community=c, kind=GridKind.GENERAL, code=f"g{j}", name=f"{c.name}{j}", path=f"{c.path}.g{j}")
            for c in communities
            for j in range(1, 3)
        ]
    )
    micros = Grid.objects.bulk_create(
        [
            Grid(
                community_id=g.community_id,
                parent=g,
                kind=GridKind.MICRO,
                code=f"m{k:02d}",
                name=f"{g.name}-{k}",
                path=f"{g.path}.m{k:02d}",
            )
            for n, g in enumerate(generals)
            for k in range(1, 11)
        ][:3830]
    )
    # one 网格长 on each general grid's roster: who an escalation to 一般网格 tells
    from django.contrib.auth import get_user_model

    from grids.models import RosterEntry
    from qionglai.users.models import GridPost

    leads = get_user_model().objects.bulk_create(
        [get_user_model()(username=f"lead{n}", real_name=f"网格长{n}") for n in range(len(generals))]
    )
    RosterEntry.objects.bulk_create(
        [RosterEntry(grid=g, user=u, post=GridPost.LEAD) for g, u in zip(generals, leads, strict=True)]
    )
    category = Category.objects.get(code="0401")
    now = timezone.now()

    def fill() -> None:
        rows = []
        for i in range(OPEN):
            grid = micros[i % len(micros)]
            due = now - timedelta(minutes=5 + i % 600) if i < DUE else now + timedelta(hours=1 + i % 48)
            rows.append(
                Incident(
                    category=category,
                    urgency="red",
                    description="基准测试事件",
                    community_id=grid.community_id,
                    micro_grid=grid,
                    path=grid.path,
                    created_at=due - timedelta(minutes=30),
                    accept_due=due,
                    due_at=due,
                    due_stage=Stage.ACCEPT,
                )
            )
        Incident.objects.bulk_create(rows, batch_size=5000)

    def reset() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE grids_escalation, grids_incidentevent, core_auditevent RESTART IDENTITY CASCADE"
            )
        Incident.objects.filter(accept_due__lte=now).update(level=0, supervised=False, due_at=None)
        Incident.objects.filter(accept_due__lte=now).update(due_at=F("accept_due"))
        connection.cursor().execute("VACUUM ANALYZE grids_incident")

    def prove(label: str, seconds: float, made: int) -> None:
        escalations = Escalation.objects.count()
        distinct = Escalation.objects.values("incident_id").distinct().count()
        raised = Incident.objects.filter(level=1).count()
        untouched = Incident.objects.filter(level=0).count()
        owed = Escalation.objects.filter(notified_at__isnull=True).count()
        again = services.escalation_scan(now=now)
        ok = (
            made == escalations == distinct == raised == owed == DUE
            and untouched == OPEN - DUE
            and again == 0
        )
        print(
            f"{label}: escalated {made} of {DUE} due among {OPEN:,} open in {seconds:.2f} s "
            f"({made / seconds:,.0f}/s; target ≤ {TARGET_SECONDS} s → {TARGET_SECONDS / seconds:.1f}× headroom); "
            f"escalation rows {escalations}, distinct incidents {distinct}, raised one level {raised}, "
            f"notices owed {owed}, not due untouched {untouched}, re-run escalated {again} "
            f"→ exactly once: {'YES' if ok else 'NO'}"
        )
        if not ok:
            sys.exit(1)

    t = time.perf_counter()
    fill()
    connection.cursor().execute("VACUUM ANALYZE grids_incident")
    print(f"filled {OPEN:,} open incidents ({DUE:,} due) in {time.perf_counter() - t:.1f} s")

    t = time.perf_counter()
    made = services.escalation_scan(now=now)
    prove("one scanner", time.perf_counter() - t, made)

    reset()
    results: list[int] = []

    def scan() -> None:
        from django.db import connection as conn

        results.append(services.escalation_scan(now=now))
        conn.close()

    threads = [threading.Thread(target=scan) for _ in range(2)]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    print(f"  two scanners split the work: {results}")
    prove("two scanners racing", time.perf_counter() - t, sum(results))
    t = time.perf_counter()
    delivered = services.escalation_notify(escalation_ids=None)
    print(
        f"notice fan-out and delivery (the worker's share, not the scan's): {DUE:,} escalations → "
        f"{delivered:,} inbox rows in {time.perf_counter() - t:.2f} s"
    )
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} (shared machine)")
    print(f"machine: {os.cpu_count()} cores, PostgreSQL {connection.cursor().connection.info.server_version}")


if __name__ == "__main__":
    main()
