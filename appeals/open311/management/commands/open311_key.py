"""Open311 API keys: create (the key is printed on the last line, the only time it is
shown), list, revoke."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from appeals.open311.models import ApiKey
from appeals.open311.services import api_key_create, api_key_revoke
from governance.kernel.errors import ApplicationError


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "-"


class Command(BaseCommand):
    help = "Open311 接口密钥：create NAME | list | revoke PREFIX|--id ID"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="签发新密钥（密钥只在最后一行显示这一次）")
        create.add_argument("name", help="使用方名称，如应用名")
        sub.add_parser("list", help="列出密钥（只显示前缀）")
        revoke = sub.add_parser("revoke", help="吊销密钥")
        revoke.add_argument("prefix", nargs="?", help="密钥前缀")
        revoke.add_argument("--id", type=int, dest="key_id", help="密钥编号（前缀重复时用）")

    def handle(self, *args, action, **options):
        return getattr(self, f"_{action}")(**options)

    def _create(self, *, name, **_options):
        try:
            key, raw = api_key_create(name=name)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"已签发 Open311 接口密钥 #{key.pk}「{key.name}」，前缀 {key.prefix}。")
        self.stdout.write("密钥只显示这一次，请妥善保存（系统只保存其摘要）：")
        self.stdout.write(raw)

    def _list(self, **_options):
        keys = ApiKey.objects.order_by("id")
        if not keys:
            self.stdout.write("（没有密钥）")
        for key in keys:
            state = f"已吊销 {_when(key.revoked_at)}" if key.revoked_at else "有效"
            self.stdout.write(
                f"#{key.pk}\t{key.prefix}…\t{key.name}\t创建 {_when(key.created_at)}\t"
                f"最近使用 {_when(key.last_used_at)}\t{state}"
            )

    def _revoke(self, *, prefix=None, key_id=None, **_options):
        if key_id is not None:
            keys = list(ApiKey.objects.filter(pk=key_id))
        elif prefix:
            keys = list(ApiKey.objects.filter(prefix=prefix))
        else:
            raise CommandError("请给出密钥前缀或 --id。")
        if not keys:
            raise CommandError("找不到这个密钥。")
        if len(keys) > 1:
            raise CommandError("前缀重复，请用 --id 指定：" + ", ".join(f"#{k.pk}" for k in keys))
        key = api_key_revoke(key=keys[0])
        self.stdout.write(f"已吊销密钥 #{key.pk}「{key.name}」（{key.prefix}…）。")
