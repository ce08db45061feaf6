from django.core.management.base import BaseCommand
from tqdm import tqdm

from qionglai.dashboard import fill


class Command(BaseCommand):
    help = "从源数据重新汇总看板的全部日汇总（带进度条）"

    def handle(self, *args, **options):
        bar = tqdm(total=0, unit="天", desc="汇总", file=self.stderr, disable=None)

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        report = fill.rebuild(progress=progress)
        bar.close()
        self.stdout.write(f"已汇总 {len(report.filled)} 天，数据截至 {report.complete_to:%Y-%m-%d %H:%M:%S}")
