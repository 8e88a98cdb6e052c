"""python manage.py demo_banner: where the demo runs and who can log in.

Reads the demo accounts that exist, with their posts, from the database, so what it
prints is what will work. ``make run`` calls it after ``seed_demo --if-empty``.
"""

import os
import unicodedata

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.urls import NoReverseMatch, reverse

from governance.demo import DEMO_PASSWORD
from governance.demo.accounts import DEMO_USERNAMES
from governance.models import Post


def _width(text: str) -> int:
    """Columns a string takes in a terminal: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _url(base: str, name: str) -> str | None:
    try:
        return base + reverse(name).lstrip("/")
    except NoReverseMatch:  # the staff site may be switched off (GONGZHI_STAFF_SITE)
        return None


def _unit_label(post: Post) -> str:
    if post.grid_id:
        grid = post.grid
        return f"{grid.community.street.name} {grid.community.name} {grid.name}"
    if post.community_id:
        return f"{post.community.street.name} {post.community.name}"
    if post.street_id:
        return f"{post.street.district.name} {post.street.name}"
    return post.unit_name


class Command(BaseCommand):
    help = "显示演示系统的地址和演示账号。"

    def handle(self, *args, **options):
        base = f"http://127.0.0.1:{os.environ.get('PORT') or '8000'}/"
        lines = ["", "=" * 72, "共治 · 基层网格治理平台（演示）", "=" * 72, f"地址：          {base}"]
        for label, name in (("工作人员登录：", "login"), ("管理后台：    ", "admin:index"), ("接口文档：    ", "api-docs")):
            url = _url(base, name)
            if url:
                lines.append(f"{label}  {url}")

        rows = self._rows()
        if rows:
            lines += ["", f"演示账号（密码均为 {DEMO_PASSWORD}）：", ""]
            header = ("账号", "姓名", "角色", "单位")
            widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(4)]
            for row in [header, tuple("-" * w for w in widths), *rows]:
                lines.append("  " + "  ".join(_pad(cell, w) for cell, w in zip(row, widths)).rstrip())
        else:
            lines += ["", "尚无演示账号：先运行 python manage.py seed_demo"]
        lines += ["=" * 72, ""]
        self.stdout.write("\n".join(lines))

    def _rows(self) -> list[tuple[str, str, str, str]]:
        users = {u.username: u for u in get_user_model().objects.filter(username__in=DEMO_USERNAMES)}
        posts = Post.objects.filter(user__in=users.values()).select_related(
            "grid__community__street", "community__street", "street__district", "department", "district"
        ).order_by("id")
        by_user: dict[int, list[Post]] = {}
        for post in posts:
            by_user.setdefault(post.user_id, []).append(post)
        rows = []
        for username in DEMO_USERNAMES:
            user = users.get(username)
            if user is None:
                continue
            name = user.get_full_name() or user.first_name
            user_posts = by_user.get(user.pk, [])
            for i, post in enumerate(user_posts):
                rows.append((username if i == 0 else "", name if i == 0 else "",
                             f"{post.get_role_display()} ({post.role})", _unit_label(post)))
            if not user_posts:
                if user.is_superuser:
                    rows.append((username, name, "系统管理员 (admin)", "全部（Django 管理后台）"))
                else:
                    rows.append((username, name, "志愿者 (volunteer)", "无工作岗位"))
        return rows
