"""python manage.py import_boundaries FILE.geojson"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from grids.boundaries import boundaries_import


class Command(BaseCommand):
    help = (
        "从 GeoJSON FeatureCollection 导入区、街道、社区、网格的边界（要素的 properties.code 为单位编码，"
        "WGS-84/CGCS2000 经纬度）。文件中有任何错误则不导入，并逐个列出有问题的要素。"
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="GeoJSON 文件（.geojson / .json）")
        parser.add_argument("--tolerance", type=float, default=None,
                            help="容差（米）：下级超出上级、同级重叠不超过此值时视为数字化误差（默认 BOUNDARY_TOLERANCE_M）")

    def handle(self, *args, file: str, tolerance: float | None, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"找不到文件：{file}")
        report = boundaries_import(data=path.read_bytes(), tolerance_m=tolerance)
        for error in report.errors:
            self.stderr.write(str(error))
        if not report.ok:
            raise CommandError(report.summary())
        self.stdout.write(report.summary())
