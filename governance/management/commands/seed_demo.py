"""python manage.py seed_demo [--size small|medium|large] [--districts N …] [--if-empty]

Builds the demo city (see governance/demo/__init__.py for what, and for how other
apps add their demo data). Safe to run again.
"""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from governance.demo import DEFAULT_SIZE, DEMO_PASSWORD, SIZES, DemoSize, demo_seed
from governance.demo.names import BEIJING_DISTRICTS
from governance.demo.sizes import LIMITS
from grids.models import District

OVERRIDES = {
    "districts": "区的数量（最多 16 个，北京市的区）",
    "streets_per_district": "每个区的街道数",
    "communities_per_street": "每个街道的社区数",
    "grids_per_community": "每个社区的网格数（至少 2 个：两个网格员账号各占一个）",
    "buildings_per_grid": "每个网格的楼栋数",
    "households_per_building": "每栋楼的住户数",
}


class Command(BaseCommand):
    help = "生成演示城市：区、街道、社区、网格、楼栋、住户、居民、党组织、职能部门、共建单位和演示账号。可重复运行。"

    def add_arguments(self, parser):
        parser.add_argument("--size", choices=sorted(SIZES), default=DEFAULT_SIZE,
                            help=f"规模预设（默认 {DEFAULT_SIZE}）")
        for name, text in OVERRIDES.items():
            parser.add_argument(f"--{name.replace('_', '-')}", dest=name, type=int, metavar="N", help=text)
        parser.add_argument("--batch-size", type=int, default=2000, help="每批插入的行数（默认 2000）")
        parser.add_argument("--if-empty", action="store_true", help="已有任何区时什么也不做")
        parser.add_argument("--no-progress", action="store_true", help="不显示进度条")

    def handle(self, *args, **options):
        if options["if_empty"] and District.objects.exists():
            if options["verbosity"]:
                self.stdout.write("已有区划数据，跳过演示数据生成（--if-empty）。")
            return
        size = SIZES[options["size"]].with_overrides(**{name: options[name] for name in OVERRIDES})
        self._validate(size, options["batch_size"])

        if options["verbosity"]:
            self.stdout.write(
                f"生成演示城市：{size.districts} 个区 × {size.streets_per_district} 个街道 × "
                f"{size.communities_per_street} 个社区 × {size.grids_per_community} 个网格 × "
                f"{size.buildings_per_grid} 栋楼 × {size.households_per_building} 户"
                f" = {size.households:,} 户"
            )
        bar = tqdm(
            total=size.communities, unit="社区", desc="演示城市", dynamic_ncols=True,
            disable=options["no_progress"] or not options["verbosity"],
        )
        households = 0

        def progress(n: int) -> None:
            nonlocal households
            households += n
            bar.set_postfix_str(f"新增住户 {households:,}", refresh=False)
            bar.update(1)

        try:
            result = demo_seed(
                size=size, batch_size=options["batch_size"], stdout=self.stdout, progress=progress,
                verbosity=options["verbosity"],
            )
        finally:
            bar.close()

        if not options["verbosity"]:
            return
        width = max(len(label) for label in result.after)
        self.stdout.write(self.style.SUCCESS(
            f"完成，用时 {result.seconds:.1f} 秒；新建社区 {result.communities_built} 个，"
            f"已存在而跳过 {result.communities_skipped} 个。"
        ))
        for label, total in result.after.items():
            added = total - result.before.get(label, 0)
            pad = "\u3000" * (width - len(label))  # full-width space keeps CJK labels aligned
            self.stdout.write(f"  {label}{pad}  {total:>12,}  （本次新增 {added:,}）")
        for path in result.steps_run:
            self.stdout.write(f"  已运行演示步骤 {path}")
        for path in result.steps_missing:
            self.stdout.write(f"  跳过演示步骤 {path}（模块尚不存在）")
        self.stdout.write(f"演示账号密码：{DEMO_PASSWORD}（账号列表：python manage.py demo_banner）")

    def _validate(self, size: DemoSize, batch_size: int) -> None:
        if not 1 <= size.districts <= len(BEIJING_DISTRICTS):
            raise CommandError(f"--districts 须在 1 到 {len(BEIJING_DISTRICTS)} 之间。")
        for name, limit in LIMITS.items():
            if not 1 <= getattr(size, name) <= limit:
                raise CommandError(f"--{name.replace('_', '-')} 须在 1 到 {limit} 之间。")
        if size.grids_per_community < 2:
            raise CommandError("--grids-per-community 至少为 2：两个网格员演示账号各占一个网格。")
        if batch_size < 1:
            raise CommandError("--batch-size 须为正整数。")
