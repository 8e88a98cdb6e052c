from dataclasses import dataclass

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


@dataclass(frozen=True)
class Measure:
    """One rate of DESIGN.md §5 as the reports show it. ``lower_is_better`` is the one
    place that says which way is better: the heat table's colour, the worst-first sort,
    and the unit page's "高于/低于上级" and its colour all read it."""

    key: str  # the MonthlyScore / ScoreRow field
    label: str
    lower_is_better: bool = False

    def worse(self, value, other) -> bool:
        """Is ``value`` worse than ``other`` (both present)?"""
        return value > other if self.lower_is_better else value < other

    def goodness(self, value):
        """The value on a 0 (worst) – 100 (best) scale, for colours: a rate as it is,
        a lower-is-better rate turned round."""
        return 100 - value if self.lower_is_better else value


# The reported measures, in the reports' column order. Another lower-is-better measure
# is one line here with lower_is_better=True.
MEASURES: tuple[Measure, ...] = (
    Measure("composite", _("综合得分")),
    Measure("response_rate", _("响应率(%)")),
    Measure("resolution_rate", _("解决率(%)")),
    Measure("satisfaction_rate", _("满意率(%)")),
    Measure("closure_rate", _("结案率(%)")),
    Measure("on_time_rate", _("按期结案率(%)")),
    Measure("rework_rate", _("返工率(%)"), lower_is_better=True),
    # 小事不出格、大事不出社区 (issue 15): reported, not in the composite.
    Measure("kept_in_grid_rate", _("不出格率(%)")),
    Measure("kept_in_community_rate", _("不出社区率(%)")),
    Measure("self_kept_in_grid_rate", _("主动发现不出格率(%)")),
)
MEASURE_BY_KEY = {m.key: m for m in MEASURES}
