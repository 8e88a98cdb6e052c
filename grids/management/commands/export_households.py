"""python manage.py export_households CODE OUTPUT.xlsx [--user USERNAME]"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from governance.enums import AccessAction
from governance.kernel.access import access_log_record
from governance.staff.selectors import Jurisdiction, jurisdiction_for
from grids.io.exporting import household_export_xlsx
from grids.models import LEVEL_BY_LENGTH, Community, District, Grid, Street

MODELS = {"district": District, "street": Street, "community": Community, "grid": Grid}


class Command(BaseCommand):
    help = (
        "把某个区、街道、社区或网格（按编码）下的在住住户和居民导出为 XLSX，列同导入模板。"
        "指定 --user 时只导出该账号可见的数据，并记入个人信息访问记录；不指定时是系统导出（完全权限）。"
    )

    def add_arguments(self, parser):
        parser.add_argument("code", help="6、9、12 或 15 位单位编码")
        parser.add_argument("output", help="要写入的 .xlsx 文件")
        parser.add_argument("--user", metavar="USERNAME", help="以该账号身份导出（默认：系统导出，完全权限）")

    def handle(self, *args, code: str, output: str, user: str | None, **options):
        level = LEVEL_BY_LENGTH.get(len(code))
        actor = None
        jurisdiction = Jurisdiction(user_id=None, everything=True)
        if user:
            actor = get_user_model().objects.filter(username=user, is_active=True).first()
            if actor is None:
                raise CommandError(f"没有名为“{user}”的有效账号。")
            jurisdiction = jurisdiction_for(actor)
        if level is None or not MODELS[level].objects.filter(code=code).exists() or not jurisdiction.covers(code):
            raise CommandError(f"单位“{code}”不存在，或不在该账号的辖区内。")
        with open(output, "wb") as out:
            count = household_export_xlsx(jurisdiction=jurisdiction, within=code, out=out, system=actor is None)
        if actor is not None:
            access_log_record(user=actor, action=AccessAction.EXPORT, subject=f"{level}:{code}", record_count=count)
        self.stdout.write(self.style.SUCCESS(f"已导出 {count} 行到 {output}。"))
