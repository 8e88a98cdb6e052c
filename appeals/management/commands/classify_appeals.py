"""Check the current category model on one's own sample:

    python manage.py classify_appeals FILE.tsv

FILE.tsv: UTF-8 (or GB18030), tab-separated, a header line with a ``text`` column. For
each line: the three most probable category codes, best first, tab-separated (an empty
line where the text is empty).
"""

import csv
import sys

from django.core.management.base import BaseCommand, CommandError

from appeals.suggest.services import current, suggest

csv.field_size_limit(1_000_000)


def _read(path: str) -> str:
    raw = open(path, "rb").read() if path != "-" else sys.stdin.buffer.read()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CommandError("无法识别文件编码：请使用 UTF-8 或 GB18030。")


class Command(BaseCommand):
    help = "读取含 text 列的 TSV 文件，逐行输出最可能的 3 个类别编码（制表符分隔）。"

    def add_arguments(self, parser):
        parser.add_argument("file", help="TSV 文件（首行为列名，须含 text 列）；- 表示标准输入")

    def handle(self, *args, file: str, **options):
        try:
            text = _read(file)
        except OSError as exc:
            raise CommandError(f"无法读取文件：{exc}") from None
        rows = csv.DictReader(text.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE)
        if not rows.fieldnames or "text" not in rows.fieldnames:
            raise CommandError("文件首行须为列名，并包含 text 列。")
        if current() is None:
            raise CommandError("尚未训练类别模型：请先运行 python manage.py train_category_model。")
        for row in rows:
            found = suggest(row.get("text") or "")
            self.stdout.write("\t".join(found.codes) if found else "")
