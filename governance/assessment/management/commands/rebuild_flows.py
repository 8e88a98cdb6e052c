from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from tqdm import tqdm

from governance.assessment import flows
from governance.assessment.periods import today_local


class Command(BaseCommand):
    help = ("重建诉求日流量（报表的汇总数据）：--from 2026-01-01 --to 2026-10-31；"
            "不指定则从最早的办理记录到今天（回填历史）。")

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="first", help="起始日期 YYYY-MM-DD（默认：最早的办理记录所在日）")
        parser.add_argument("--to", dest="last", help="截止日期 YYYY-MM-DD（默认：今天）")
        parser.add_argument("--chunk-days", type=int, default=7, help="每批的天数（每批一个事务，默认 7）")
        parser.add_argument("--now", help="按此时刻计算（ISO 时间，测试和重放用；默认现在）")

    def handle(self, *args, first=None, last=None, chunk_days=7, now=None, **options):
        moment = parse_datetime(now) if now else timezone.now()
        if moment is None:
            raise CommandError(f"--now 不是 ISO 时间：{now}")
        end = self._day(last, "--to") if last else today_local(moment)
        start = self._day(first, "--from") if first else flows.first_event_day()
        if start is None:
            self.stdout.write("没有办理记录，无需重建。")
            return
        if start > end:
            raise CommandError("起始日期晚于截止日期。")
        days = (end - start).days + 1
        bar = tqdm(total=days, desc="日流量", unit="天", disable=options["verbosity"] < 1)
        results = flows.flows_rebuild(first=start, last=end, now=moment, chunk_days=max(chunk_days, 1),
                                      progress=bar.update)
        bar.close()
        seconds = sum(r.seconds for r in results)
        rows = sum(r.rows for r in results)
        self.stdout.write(f"{start:%Y-%m-%d}..{end:%Y-%m-%d}：{days} 天，{rows} 行，用时 {seconds:.1f} 秒。")

    @staticmethod
    def _day(value: str, option: str) -> date:
        found = parse_date(value)
        if found is None:
            raise CommandError(f"{option} 须为 YYYY-MM-DD：{value}")
        return found


