from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError
from tqdm import tqdm

from appeals import archive
from governance.kernel.errors import ApplicationError


class Command(BaseCommand):
    help = ("归档往年诉求（docs/OPERATIONS.md“Archiving past years”）：archive_year 2022 把该年已结束的诉求及其"
            "办理记录等移入归档表，可中断后重新运行续做；archive_year --restore 查询码 取回一件。")

    def add_arguments(self, parser):
        parser.add_argument("year", nargs="?", type=int, help="要归档的年份（按北京时间的受理时间）")
        parser.add_argument("--batch", type=int, default=5000, help="每批诉求数（每批一个事务，默认 5000）")
        parser.add_argument("--dry-run", action="store_true", help="只统计将移动的数量，不移动")
        parser.add_argument("--restore", metavar="TRACKING_CODE", help="把一件已归档的诉求及其记录移回")

    def handle(self, *args, year=None, batch=5000, dry_run=False, restore=None, **options):
        try:
            if restore:
                appeal = archive.restore(tracking_code=restore)
                self.stdout.write(f"已恢复 {appeal.year} 年的诉求（编号 {appeal.pk}）及其记录。")
                return
            if year is None:
                raise CommandError("请指定年份，或用 --restore 查询码。")
            bar = tqdm(desc=f"归档 {year} 年", unit="件", disable=dry_run or options["verbosity"] < 1)
            result = archive.archive_year(year=year, batch=max(batch, 1), dry_run=dry_run, on_batch=bar.update)
            bar.close()
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        except IntegrityError as exc:  # e.g. an appeal merged into one of the batch meanwhile
            raise CommandError(f"本批已回滚（{exc.__class__.__name__}），已完成的批次保留；请重新运行以继续。") from None
        verb = "将移动" if dry_run else "已移动"
        self.stdout.write(
            f"{year} 年：{verb}诉求 {result.appeals} 件、办理记录 {result.events} 条，用时 {result.seconds} 秒；"
            f"未结束的 {result.open_appeals} 件留在原表"
            + (f"，另有 {result.kept} 件因被留在原表的诉求并入而保留" if result.kept else "") + "。")
