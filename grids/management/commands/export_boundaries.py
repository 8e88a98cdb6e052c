"""python manage.py export_boundaries OUT.geojson [--level district|street|community|grid]"""

import json

from django.core.management.base import BaseCommand

from grids.boundaries import LEVELS, boundaries_export


class Command(BaseCommand):
    help = "把已有的边界导出为 GeoJSON FeatureCollection（properties: code, level, name），可由 import_boundaries 原样导回。"

    def add_arguments(self, parser):
        parser.add_argument("output", help="要写入的 .geojson 文件")
        parser.add_argument("--level", choices=LEVELS, help="只导出这一级（默认：全部，自上而下）")

    def handle(self, *args, output: str, level: str | None, **options):
        collection = boundaries_export(level=level)
        with open(output, "w", encoding="utf-8") as out:
            json.dump(collection, out, ensure_ascii=False, separators=(",", ":"))
            out.write("\n")
        self.stdout.write(f"已导出 {len(collection['features'])} 个边界到 {output}")
