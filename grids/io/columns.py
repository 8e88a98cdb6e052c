"""The household file format: one row per resident (a household without residents may
have one row with the resident columns blank). Import, export, the template and the
help text on the import page all read this one spec, so they cannot drift apart.

Headers are the file format, not UI text: they stay Chinese whatever the UI language,
so they are deliberately not marked for translation.
"""

from dataclasses import dataclass

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from grids.enums import CareTag
from grids.models import Building, Household, Resident


@dataclass(frozen=True)
class Column:
    header: str
    key: str
    help: str
    required: bool = False
    # Written as a text cell ("@"), so that Excel keeps every digit and leading zero.
    text: bool = False
    max_length: int | None = None
    width: int = 12


def _max(model, field: str) -> int:
    return model._meta.get_field(field).max_length


COLUMNS: tuple[Column, ...] = (
    Column("网格编码", "grid_code", _("15 位数字，须是系统中已有、且在您辖区内的网格。"),
           required=True, text=True, width=18),
    Column("楼栋编码", "building_code", _("19 位数字：网格编码 + 4 位楼栋序号。已有楼栋沿用，新楼栋建在该网格下。"),
           required=True, text=True, width=22),
    Column("小区", "compound", _("新楼栋的小区名；已有楼栋的小区不会被修改。"),
           max_length=_max(Building, "compound"), width=14),
    Column("楼栋地址", "address", _("新楼栋必填；已有楼栋的地址不会被修改。"),
           max_length=_max(Building, "address"), width=24),
    Column("单元", "unit", _("如 1 或 2；没有单元的楼留空。"),
           text=True, max_length=_max(Household, "unit"), width=6),
    Column("房号", "room", _("如 101。楼栋编码 + 单元 + 房号确定一户。"),
           required=True, text=True, max_length=_max(Household, "room"), width=8),
    Column("联系人", "contact_name", _("住户联系人。"), max_length=_max(Household, "contact_name"), width=10),
    Column("联系电话", "phone", _("11 位手机号，或带区号的座机号（如 010-12345678）。"),
           text=True, max_length=_max(Household, "phone"), width=15),
    Column("关怀标签", "care_tags",
           format_lazy(_("可填：{tags}；多个用顿号或逗号分隔。"), tags="、".join(str(label) for label in CareTag.labels)),
           width=16),
    Column("居民姓名", "resident_name", _("每行一位居民；同一户的多位居民各占一行。没有居民的住户留空本列及其后各列。"),
           max_length=_max(Resident, "name"), width=10),
    Column("性别", "gender", _("男 或 女。"), width=6),
    Column("出生年份", "birth_year", _("四位年份，如 1950。"), width=9),
    Column("手机号", "resident_phone", _("居民本人的电话，格式同联系电话。"),
           text=True, max_length=_max(Resident, "phone"), width=15),
    Column("与户主关系", "relation", _("如 户主、配偶、子女。"), max_length=_max(Resident, "relation"), width=10),
    Column("是否党员", "is_party_member", _("是 或 否。"), width=8),
)

HEADERS: tuple[str, ...] = tuple(c.header for c in COLUMNS)
BY_KEY: dict[str, Column] = {c.key: c for c in COLUMNS}
BY_HEADER: dict[str, Column] = {c.header: c for c in COLUMNS}

# Which columns fill which record (the resident's phone column is "phone" on Resident).
BUILDING_KEYS = ("compound", "address")
HOUSEHOLD_KEYS = ("contact_name", "phone", "care_tags")
RESIDENT_KEYS = ("gender", "birth_year", "resident_phone", "relation", "is_party_member")
RESIDENT_FIELD = {"resident_phone": "phone"}

TRUE_WORDS = ("是", "Y", "YES", "TRUE", "1", "党员")
FALSE_WORDS = ("否", "N", "NO", "FALSE", "0", "群众")

# Blank cells never clear what is stored: offices merge the household's cells over its
# residents' rows (only the first row carries them), and a partial file must not wipe data.
BLANK_KEEPS_HELP = _("留空的单元格不会清除系统中已有的信息；同一户的多行中，住户信息只需填写一次，填写多次时须一致。")
