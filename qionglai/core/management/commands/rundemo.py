"""Serves the embedded default: the beat schedule runs in a thread of this process (no
Celery, no Redis), then Django's server answers on 127.0.0.1:PORT."""

import io
import logging
import threading
import time
from importlib import import_module

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from qionglai.core.demo_support import login_lines

log = logging.getLogger("qionglai.timers")


def _resolve(task_name: str):
    module_name, _, attr = task_name.rpartition(".")
    return getattr(import_module(module_name), attr)


def run_timers(stop: threading.Event) -> None:
    """Calls each beat entry's task at its interval, as beat would; a failing tick is logged
    and retried next interval (the scans are idempotent and catch up on missed ticks)."""
    schedule = dict(settings.CELERY_BEAT_SCHEDULE)
    next_run = dict.fromkeys(schedule, 0.0)
    while not stop.is_set():
        now = time.monotonic()
        for name, entry in schedule.items():
            if now < next_run[name]:
                continue
            interval = entry["schedule"]
            seconds = interval if isinstance(interval, (int, float)) else interval.run_every.total_seconds()
            next_run[name] = now + seconds
            try:
                close_old_connections()
                _resolve(entry["task"]).apply(kwargs=entry.get("kwargs", {}))
            except Exception:
                log.exception("timer %s failed; it runs again next interval", name)
            finally:
                close_old_connections()
        stop.wait(1.0)


class Command(BaseCommand):
    help = "以内嵌模式启动平台（SQLite、进程内任务与定时器）"

    def add_arguments(self, parser):
        parser.add_argument("--port", default="8000")
        parser.add_argument("--host", default="127.0.0.1")

    def handle(self, *args, **options):
        stop = threading.Event()
        threading.Thread(target=run_timers, args=(stop,), name="timers", daemon=True).start()
        url = f"http://{options['host']}:{options['port']}/"
        self.stdout.write(self.style.SUCCESS(f"\n邛崃善治 已启动：{url}\n"))
        self.stdout.write("示范账号（密码均为 demo12345，也可用手机号登录）：")
        for line in login_lines():
            self.stdout.write(line)
        self.stdout.write("按 Ctrl+C 停止。\n")
        try:
            call_command(
                "runserver",
                f"{options['host']}:{options['port']}",
                use_reloader=False,
                use_threading=True,
                stdout=io.StringIO(),  # its banner repeats the URL printed above
            )
        finally:
            stop.set()
