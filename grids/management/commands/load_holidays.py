"""Fills the holiday calendar from chinesecalendar. The city runs it each year once the State
Council's notice is out and the package has it (pip install -U chinesecalendar):

    manage.py load_holidays               # this year and every later year the package knows
    manage.py load_holidays --year 2027   # one year
    manage.py load_holidays --check       # only the data check; exits 1 on a problem
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from grids import holidays, sla


class Command(BaseCommand):
    help = "从 chinesecalendar 录入节假日与调休（每年国务院通知发布后运行一次）"

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, action="append", help="只录入这一年（可重复）")
        parser.add_argument("--replace", action="store_true", help="覆盖在后台改过的日期")
        parser.add_argument("--check", action="store_true", help="只做数据检查，不录入")

    def handle(self, *args, year=None, replace=False, check=False, **options):
        if not check:
            first, last = holidays.package_years()
            years = year or list(range(max(first, timezone.localdate().year), last + 1))
            try:
                result = holidays.load(years=years, replace=replace)
            except ValueError as error:
                raise CommandError(str(error)) from error
            self.stdout.write(
                f"录入 {', '.join(map(str, result.years)) or '—'} 年：新增 {result.created} 天，"
                f"更新 {result.updated} 天，保留后台修改 {result.kept} 天"
            )
        self.stdout.write(f"日历覆盖至：{sla.covered_until() or '（空）'}")
        warning = sla.coverage_warning()
        if warning:
            self.stdout.write(self.style.WARNING(warning))
        problems = holidays.calendar_problems()
        for problem in problems:
            self.stdout.write(self.style.ERROR(problem))
        if problems:
            raise CommandError(f"日历数据检查发现 {len(problems)} 个问题")
        self.stdout.write(self.style.SUCCESS("日历数据检查通过"))
