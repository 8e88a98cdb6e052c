from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from governance.assessment import services
from governance.assessment.periods import parse_month
from governance.kernel.errors import ApplicationError


def _pct(value) -> str:
    return "—" if value is None else f"{value}%"


class Command(BaseCommand):
    help = "计算考核得分：指定月份（--month 2026-10）、全部月份（--all-months），或默认上月（未定稿时）和本月累计。"

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--month", help="YYYY-MM，例如 2026-10")
        group.add_argument("--all-months", action="store_true", help="从最早的办结时限所在月到本月")
        parser.add_argument(
            "--force", action="store_true",
            help="重算已定稿的月份（按截止日的数据，结果不变）",
        )

    def handle(self, *args, month=None, all_months=False, force=False, **options):
        now = timezone.now()
        try:
            if month:
                months = [parse_month(month)]
            elif all_months:
                months = services.months_with_appeals(now=now)
            else:
                months = services.months_due(now=now)
            results = []
            bar = tqdm(months, desc="考核计算", unit="月", disable=len(months) < 2 or options["verbosity"] < 1)
            for first in bar:
                results.append(services.compute_month(month=first, now=now, force=force))
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        for r in results:
            status = "已定稿（未改动）" if r.skipped else ("已定稿" if r.final else "暂定")
            line = f"{r.month:%Y-%m} {status}"
            if not r.skipped:
                c = r.city
                line += (
                    f"：诉求 {r.appeals} 件（核减 {r.excluded}），单位 {r.units} 个；全市 "
                    f"应办结 {c.get('due', 0)}，办结 {c.get('resolved', 0)}，"
                    f"结案率 {_pct(c.get('closure_rate'))}，按期结案率 {_pct(c.get('on_time_rate'))}，"
                    f"满意率 {_pct(c.get('satisfaction_rate'))}，综合得分 {c.get('composite') or '—'}，"
                    f"不出格率 {_pct(c.get('kept_in_grid_rate'))}，不出社区率 {_pct(c.get('kept_in_community_rate'))}，"
                    f"主动发现 {c.get('self_found', 0)} 件（办结 {c.get('self_found_resolved', 0)}）"
                )
            self.stdout.write(line)
