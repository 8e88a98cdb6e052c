"""python manage.py import_households FILE [--user USERNAME] [--dry-run]"""

import os

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from governance.staff.selectors import jurisdiction_for
from grids.io.importing import ImportRejected, household_import


class Command(BaseCommand):
    help = (
        "从 CSV（UTF-8 或 GBK 编码）或 XLSX 文件批量导入住户和居民，每位居民一行，列同导入模板。"
        "先校验每一行：文件中有任何错误就不导入任何数据，按行号列出错误并以状态码 1 退出。"
        "指定 --user 时以该账号身份导入：只能导入其辖区内、其有权修改的网格，记入变更历史和个人信息访问记录。"
        "不指定 --user 时是系统导入：可导入任何网格（完全权限），不写访问记录。"
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help=".csv 或 .xlsx 文件")
        parser.add_argument("--user", metavar="USERNAME",
                            help="以该账号身份导入，限其辖区（默认：系统导入，完全权限）")
        parser.add_argument("--dry-run", action="store_true", help="只校验文件，不写入任何数据")

    def handle(self, *args, file: str, user: str | None, dry_run: bool, **options):
        actor = None
        jurisdiction = None
        if user:
            actor = get_user_model().objects.filter(username=user, is_active=True).first()
            if actor is None:
                raise CommandError(f"没有名为“{user}”的有效账号。")
            jurisdiction = jurisdiction_for(actor)
        try:
            with open(file, "rb") as handle:
                data = handle.read(settings.IMPORT_MAX_BYTES + 1)  # enough to refuse a file too large
        except OSError as exc:
            raise CommandError(f"无法读取文件 {file}：{exc.strerror}") from None

        def progress(iterable, *, desc, total):
            # Only worth drawing for files large enough to make someone wait.
            return tqdm(iterable, desc=str(desc), total=total, unit="行", disable=total < 1000,
                        leave=False)

        try:
            result = household_import(actor=actor, jurisdiction=jurisdiction, filename=os.path.basename(file),
                                      data=data, dry_run=dry_run, progress=progress)
        except ImportRejected as exc:
            for error in exc.errors:
                self.stderr.write(str(error))
            raise CommandError(exc.message) from None
        self.stdout.write(self.style.SUCCESS(result.summary()))
