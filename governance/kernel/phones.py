"""Chinese phone numbers: one rule for every layer (grids' imports and forms, appeals'
intake, the staff's own mobile for SMS copies)."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE_RE = re.compile(r"^0\d{2,3}-?\d{7,8}$")


def normalize_phone(value: str, *, allow_landline: bool = True) -> str:
    """A Chinese mobile (11 digits) or, where allowed, a landline with area code."""
    value = (value or "").strip().replace(" ", "")
    if value.startswith("+86"):
        value = value[3:]
    if not value:
        return ""
    if MOBILE_RE.match(value):
        return value
    if allow_landline and LANDLINE_RE.match(value):
        if "-" not in value:
            area_len = 3 if value[1] in "12" else 4
            value = f"{value[:area_len]}-{value[area_len:]}"
        return value
    if allow_landline:
        raise ValidationError(_("电话号码“%(v)s”无效：请填写11位手机号，或带区号的座机号（如 010-12345678）。") % {"v": value})
    raise ValidationError(_("手机号“%(v)s”无效：请填写11位中国大陆手机号。") % {"v": value})
