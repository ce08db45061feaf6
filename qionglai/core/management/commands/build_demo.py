"""Builds the deterministic Qionglai-shaped demo dataset.

Each app that has a `demo.py` contributes a `build(*, stdout, progress)` function; they run in
dependency order (projects → grids → consultation → points). Every part is idempotent: a
second run finds what exists and changes nothing.
"""

from importlib import import_module

from django.core.management.base import BaseCommand

ORDER = ["qionglai.users", "projects", "grids", "consultation", "points"]


class Command(BaseCommand):
    help = "生成邛崃示范数据（可重复运行，结果不变）"

    def add_arguments(self, parser):
        parser.add_argument("--no-progress", action="store_true", help="不显示进度条")

    def handle(self, *args, **options):
        progress = not options["no_progress"]
        for app in ORDER:
            try:
                module = import_module(f"{app}.demo")
            except ModuleNotFoundError as error:
                if error.name != f"{app}.demo":
                    raise
                continue
            self.stdout.write(self.style.MIGRATE_HEADING(f"示范数据：{app}"))
            summary = module.build(stdout=self.stdout, progress=progress)
            for label, value in (summary or {}).items():
                self.stdout.write(f"  {label}: {value}")
        self.stdout.write(self.style.SUCCESS("示范数据已就绪"))
