import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from governance.kernel.phones import LANDLINE_RE, MOBILE_RE, normalize_phone
from grids.enums import CareTag

# The phone rule lives in the kernel (the staff layer validates its own mobile too).
__all__ = ["LANDLINE_RE", "MOBILE_RE", "normalize_care_tags", "normalize_phone"]


def normalize_care_tags(value) -> str:
    """Accepts codes or Chinese labels, comma/、 separated; returns codes joined by commas."""
    if isinstance(value, (list, tuple)):
        items = list(value)
    else:
        items = re.split(r"[,，、;；\s]+", (value or "").strip())
    by_label = {str(label): code for code, label in CareTag.choices}
    codes = []
    for item in filter(None, (i.strip() for i in items)):
        code = item if item in CareTag.values else by_label.get(item)
        if code is None:
            raise ValidationError(
                _("未知的关怀标签“%(t)s”：可用 %(all)s。")
                % {"t": item, "all": "、".join(str(label) for _c, label in CareTag.choices)}
            )
        if code not in codes:
            codes.append(code)
    return ",".join(codes)
