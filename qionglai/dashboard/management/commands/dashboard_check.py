from django.core.management.base import BaseCommand, CommandError

from qionglai.dashboard import fill


class Command(BaseCommand):
    help = "逐格比对看板汇总与源数据的直接计数；有任何差异即以非零状态退出"

    def handle(self, *args, **options):
        differences = fill.check()
        for d in differences[:50]:
            self.stderr.write(
                f"{d.grain} {d.day or ''} {d.key} {d.column}: 看板 {d.stored} ≠ 直接 {d.direct}"
            )
        if differences:
            raise CommandError(f"看板汇总与源数据有 {len(differences)} 处差异")
        self.stdout.write("看板汇总与源数据一致：0 处差异")
