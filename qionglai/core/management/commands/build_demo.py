"""Builds the deterministic Qionglai-shaped demo dataset.

Each app that has a `demo.py` contributes a `build(*, stdout, progress)` function; they run in
dependency order (projects → grids → consultation → points). Every part is idempotent: a
second run finds what exists and changes nothing. Each step prints one line (a progress bar
where it takes time); the headline figures are printed once at the end.
"""

import gc
import time
from contextlib import contextmanager
from importlib import import_module

from django.core.management.base import BaseCommand
from django.db import connection

ORDER = ["projects", "grids", "consultation", "points"]
STEP_NAMES = {
    "projects": "台账",
    "grids": "网格、事件与小圆桌",
    "consultation": "邻聚小圆桌",
    "points": "积分",
}


class Command(BaseCommand):
    help = "生成邛崃示范数据（可重复运行，结果不变）"

    def add_arguments(self, parser):
        parser.add_argument("--no-progress", action="store_true", help="不显示进度条")
        parser.add_argument(
            "--incidents",
            type=int,
            default=None,
            help="开发用：只生成这么多件已办结事件（默认 4856，即全市数字）；其余数字不变",
        )

    def handle(self, *args, **options):
        from grids import services as grids_services
        from grids import sla
        from points.services import ledger
        from qionglai.core.demo_figures import headline

        progress = not options["no_progress"]
        started = time.perf_counter()
        with (
            _commits_without_waiting_for_disk(),
            _collects_garbage_rarely(),
            sla.remembered(),
            grids_services.remembered(),
            ledger.remembered(),
        ):
            for app in ORDER:
                step = time.perf_counter()
                module = import_module(f"{app}.demo")
                extra = {}
                if app == "grids":  # the 小圆桌 topics are told on the incident history's timeline
                    extra = {
                        "incidents": options["incidents"],
                        "also": import_module("consultation.demo").topic_stories,
                    }
                elif app == "consultation":
                    extra = {"told": True}
                module.build(stdout=self.stdout, progress=progress, **extra)
                _set_aside_what_lives_on()
                self.stdout.write(f"✓ {STEP_NAMES[app]}（{time.perf_counter() - step:.0f} 秒）")
        figures = "，".join(f"{label} {value:,}" for label, value in headline().items())
        self.stdout.write(
            self.style.SUCCESS(f"示范数据已就绪（{time.perf_counter() - started:.0f} 秒）：{figures}")
        )


@contextmanager
def _commits_without_waiting_for_disk():
    """The history is tens of thousands of small service transactions, each a commit. On
    PostgreSQL each commit would wait for its WAL flush; for a demo build that a crash would
    simply rerun, that wait buys nothing (synchronous_commit=off never risks consistency, only
    the last moments of work).

    SQLite (the embedded default, WAL with synchronous=NORMAL from settings) writes with
    synchronous=OFF and a 64 MB page cache for the build's connection only: a machine that
    loses power mid-build may leave a database to delete and build again (`rm db.sqlite3`,
    then `make demo`); the server's connections open with the normal settings."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA cache_size=-65536")
            cursor.execute("PRAGMA temp_store=MEMORY")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA synchronous=NORMAL")
        return
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


@contextmanager
def _collects_garbage_rarely():
    """The build keeps a large, long-lived heap (the static tree's people and places, the
    plans) while it makes millions of short-lived ORM objects; Python's cyclic collector then
    traverses that heap again and again (1,831 collections, 13 of them full, 9 % of a
    150-incident build's time). Within the build: what exists is frozen (never traversed
    again), the youngest generation is collected every 50,000 allocations instead of 700,
    and a full collection waits for each step's end (`_set_aside_what_lives_on`). Garbage
    without cycles is freed at once as always; the thresholds are put back afterwards."""
    thresholds = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 1_000)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def _set_aside_what_lives_on():
    """After a step: collect its cyclic garbage once, then freeze what survived."""
    gc.collect()
    gc.freeze()
