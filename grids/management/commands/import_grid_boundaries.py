"""Imports micro-grid boundaries from a GeoJSON FeatureCollection (see grids/boundary_import.py).
Nothing is written unless every feature is good; each bad feature is listed."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from grids.boundary_import import boundaries_import_geojson


class Command(BaseCommand):
    help = "从 GeoJSON 导入微网格边界（全部通过才写入）"

    def add_arguments(self, parser):
        parser.add_argument("file", help="GeoJSON FeatureCollection 文件")
        parser.add_argument(
            "--as", dest="username", required=True, help="以哪个账号导入（需有维护网格的权限）"
        )

    def handle(self, *args, **options):
        actor = get_user_model().objects.filter(username=options["username"]).first()
        if actor is None:
            raise CommandError(f"找不到账号 {options['username']}")
        report = boundaries_import_geojson(actor=actor, data=Path(options["file"]).read_bytes())
        if not report.ok:
            for number, name, reason in report.errors:
                self.stderr.write(f"第 {number} 个要素{f'（{name}）' if name else ''}：{reason}")
            raise CommandError(f"{len(report.errors)} 个要素有误，未写入任何边界")
        self.stdout.write(self.style.SUCCESS(f"已导入 {report.written} 个微网格边界"))
