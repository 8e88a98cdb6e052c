from django.db import models
from django.utils.translation import gettext_lazy as _


class UnitKind(models.TextChoices):
    """The units that are scored. Territorial codes nest (a child's code starts with its
    parent's), so a roll-up is prefix arithmetic; a department's code starts with its
    district's; the city's code is the districts' first four digits + "00" (GB/T 2260)."""

    GRID = "grid", _("网格")
    COMMUNITY = "community", _("社区")
    STREET = "street", _("街道")
    DISTRICT = "district", _("区")
    DEPARTMENT = "department", _("职能部门")
    CITY = "city", _("市")


class ExclusionReason(models.TextChoices):
    MALICIOUS = "malicious", _("恶意诉求")
    REPEATED = "repeated", _("重复诉求")
    BEYOND_POWER = "beyond_power", _("超出职权范围、无法解决")
    OTHER = "other", _("其他不合理诉求")


class ExclusionStatus(models.TextChoices):
    PENDING = "pending", _("待审批")
    APPROVED = "approved", _("已批准")
    REJECTED = "rejected", _("未批准")
