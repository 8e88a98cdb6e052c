"""Performance assessment (DESIGN.md §5): exclusions (考核核减), daily tallies and
monthly scores. Written only by governance.assessment.services.

A DailyTally holds the numerators and denominators of every measure for one unit and
one day (the day the appeals' deadlines fall), rolled up to the unit's ancestors, so
that any date range is a sum of rows. A MonthlyScore is the month's sums, the rates
and the ranks, stored so that reports never scan the appeal table.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from governance.assessment.enums import ExclusionReason, ExclusionStatus, UnitKind

# The counters of a tally, in the order reports show them. Every one is a plain sum
# over appeals, so any period is the sum of its days.
COUNTERS = (
    "dispatched",            # 派单数: appeals dispatched to the unit that count for it (响应率's
                             # denominator: 主动发现 appeals are not in it)
    "responded_in_time",     # first contact within the response limit
    "evaluated",             # 参评数
    "solved",                # evaluated as solved
    "satisfied",             # 满意
    "basically_satisfied",   # 基本满意
    "due",                   # 应办结数
    "deferred",              # 缓办数
    "resolved",              # 办结数 (not deferred)
    "resolved_on_time",      # 按期办结数 (not deferred)
    "reworked",              # 返工数 (among the resolved)
    "excluded",              # 核减数: left out of every other counter
    "response_seconds",      # sum of (first contact − first dispatch)
    "response_count",
    "resolution_seconds",    # sum of (resolution − first dispatch)
    "resolution_count",
    # 小事不出格、大事不出社区 (issue 15): counted for the unit an appeal was first dispatched
    # to (不出格) or for the community of its place (不出社区), not for its holder.
    "grid_resolved",         # 不出格率's denominator: residents' appeals first dispatched to the grid, 办结
    "grid_kept",             # … resolved in the grid: no escalation, 上报, 吹哨 or handling outside it
    "community_resolved",    # 不出社区率's denominator: first dispatched to the community or a grid of it, 办结
    "community_kept",        # … resolved within the community
    # 主动发现 (巡查, 走访): counted for the place where they were found.
    "self_found",            # 主动发现数
    "self_found_resolved",   # 主动发现办结数
    "self_grid_resolved",    # 主动发现不出格率's denominator (as grid_resolved)
    "self_grid_kept",        # … and numerator (as grid_kept)
)


class ScoreExclusion(models.Model):
    """考核核减: an appeal the street approves as unreasonable. Only approved ones leave
    the rates; the reason is kept either way."""

    appeal = models.OneToOneField(
        "appeals.Appeal", on_delete=models.CASCADE, related_name="score_exclusion", verbose_name=_("诉求")
    )
    reason_kind = models.CharField(_("核减类型"), max_length=16, choices=ExclusionReason.choices)
    reason = models.TextField(_("核减理由"))
    status = models.CharField(
        _("状态"), max_length=10, choices=ExclusionStatus.choices, default=ExclusionStatus.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("申请人"),
    )
    requested_at = models.DateTimeField(_("申请时间"), auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("审批人"),
    )
    approved_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    decision_note = models.CharField(_("审批意见"), max_length=200, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = _("考核核减")
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["status", "approved_at"], name="scoreexcl_status")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status=ExclusionStatus.APPROVED) | Q(approved_at__isnull=False),
                name="scoreexcl_approved_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.appeal} {self.get_reason_kind_display()}"


class _Counters(models.Model):
    dispatched = models.PositiveIntegerField(_("派单数"), default=0)
    responded_in_time = models.PositiveIntegerField(_("按时响应数"), default=0)
    evaluated = models.PositiveIntegerField(_("参评数"), default=0)
    solved = models.PositiveIntegerField(_("评价已解决数"), default=0)
    satisfied = models.PositiveIntegerField(_("满意数"), default=0)
    basically_satisfied = models.PositiveIntegerField(_("基本满意数"), default=0)
    due = models.PositiveIntegerField(_("应办结数"), default=0)
    deferred = models.PositiveIntegerField(_("缓办数"), default=0)
    resolved = models.PositiveIntegerField(_("办结数"), default=0)
    resolved_on_time = models.PositiveIntegerField(_("按期办结数"), default=0)
    reworked = models.PositiveIntegerField(_("返工数"), default=0)
    excluded = models.PositiveIntegerField(_("核减数"), default=0)
    response_seconds = models.BigIntegerField(_("响应用时合计（秒）"), default=0)
    response_count = models.PositiveIntegerField(_("响应用时件数"), default=0)
    resolution_seconds = models.BigIntegerField(_("办结用时合计（秒）"), default=0)
    resolution_count = models.PositiveIntegerField(_("办结用时件数"), default=0)
    grid_resolved = models.PositiveIntegerField(_("首派网格办结数"), default=0)
    grid_kept = models.PositiveIntegerField(_("不出格数"), default=0)
    community_resolved = models.PositiveIntegerField(_("社区内首派办结数"), default=0)
    community_kept = models.PositiveIntegerField(_("不出社区数"), default=0)
    self_found = models.PositiveIntegerField(_("主动发现数"), default=0)
    self_found_resolved = models.PositiveIntegerField(_("主动发现办结数"), default=0)
    self_grid_resolved = models.PositiveIntegerField(_("主动发现首派网格办结数"), default=0)
    self_grid_kept = models.PositiveIntegerField(_("主动发现不出格数"), default=0)

    class Meta:
        abstract = True


class DailyTally(_Counters):
    """One unit's counters for the appeals whose deadline falls on ``day`` (Asia/Shanghai),
    including its descendants' (a community's row includes its grids')."""

    unit_kind = models.CharField(_("单位类型"), max_length=12, choices=UnitKind.choices)
    unit_code = models.CharField(_("单位编码"), max_length=20)
    day = models.DateField(_("日期"))
    computed_at = models.DateTimeField(_("计算时间"))

    class Meta:
        verbose_name = verbose_name_plural = _("考核日统计")
        ordering = ["day", "unit_kind", "unit_code"]
        constraints = [
            models.UniqueConstraint(fields=["unit_kind", "unit_code", "day"], name="dailytally_unit_day"),
        ]
        indexes = [models.Index(fields=["unit_kind", "day"], name="dailytally_kind_day")]

    def __str__(self) -> str:
        return f"{self.unit_kind}:{self.unit_code} {self.day}"


class MonthlyScore(_Counters):
    """A unit's month: sums, rates (percent, 2 decimals; null when the denominator is
    empty), averages and ranks among peers (null when the unit cannot be ranked)."""

    unit_kind = models.CharField(_("单位类型"), max_length=12, choices=UnitKind.choices)
    unit_code = models.CharField(_("单位编码"), max_length=20)
    unit_name = models.CharField(_("单位名称"), max_length=60, blank=True)
    month = models.DateField(_("月份"), help_text=_("当月第一天"))

    response_rate = models.DecimalField(_("响应率"), max_digits=5, decimal_places=2, null=True, blank=True)
    resolution_rate = models.DecimalField(_("解决率"), max_digits=5, decimal_places=2, null=True, blank=True)
    satisfaction_rate = models.DecimalField(_("满意率"), max_digits=5, decimal_places=2, null=True, blank=True)
    closure_rate = models.DecimalField(_("结案率"), max_digits=5, decimal_places=2, null=True, blank=True)
    on_time_rate = models.DecimalField(_("按期结案率"), max_digits=5, decimal_places=2, null=True, blank=True)
    rework_rate = models.DecimalField(_("返工率"), max_digits=5, decimal_places=2, null=True, blank=True)
    composite = models.DecimalField(_("综合得分"), max_digits=5, decimal_places=2, null=True, blank=True)
    kept_in_grid_rate = models.DecimalField(_("不出格率"), max_digits=5, decimal_places=2, null=True, blank=True)
    kept_in_community_rate = models.DecimalField(
        _("不出社区率"), max_digits=5, decimal_places=2, null=True, blank=True)
    self_kept_in_grid_rate = models.DecimalField(
        _("主动发现不出格率"), max_digits=5, decimal_places=2, null=True, blank=True)
    avg_response_seconds = models.PositiveIntegerField(_("平均响应用时（秒）"), null=True, blank=True)
    avg_resolution_seconds = models.PositiveIntegerField(_("平均办结用时（秒）"), null=True, blank=True)

    peer_group = models.CharField(
        _("排名范围"), max_length=20, blank=True,
        help_text=_("同级比较的上级单位编码：网格→社区，社区→街道，街道→区，区和部门→市"),
    )
    rank = models.PositiveIntegerField(_("排名"), null=True, blank=True)
    peer_count = models.PositiveIntegerField(_("参与排名单位数"), default=0)
    city_rank = models.PositiveIntegerField(_("全市排名"), null=True, blank=True, help_text=_("仅街道"))
    city_peer_count = models.PositiveIntegerField(_("全市参与排名数"), default=0)

    final = models.BooleanField(_("已定稿"), default=False)
    month_to_date = models.BooleanField(_("月内累计"), default=False, help_text=_("计算时本月尚未结束"))
    as_of = models.DateTimeField(_("数据截至"))
    computed_at = models.DateTimeField(_("计算时间"))

    class Meta:
        verbose_name = verbose_name_plural = _("月度考核得分")
        ordering = ["-month", "unit_kind", "rank", "unit_code"]
        constraints = [
            models.UniqueConstraint(fields=["unit_kind", "unit_code", "month"], name="monthlyscore_unit_month"),
        ]
        indexes = [
            models.Index(fields=["month", "unit_kind", "peer_group"], name="monthlyscore_peers"),
        ]

    def __str__(self) -> str:
        return f"{self.unit_name or self.unit_code} {self.month:%Y-%m}"

    @property
    def provisional(self) -> bool:
        return not self.final


# The flows of a day (issue 23): what happened to appeals, counted when it happened (the
# event's day, Asia/Shanghai), per unit and category. Written only by
# governance.assessment.flows, read by the report pages instead of the appeal table.
FLOW_COUNTERS = (
    "received",      # 受理: receive events
    "dispatched",    # 派单: dispatch events (a dispatch again after a return counts again)
    "resolved",      # 办结: resolve events
    "closed",        # 结案: events that closed the appeal
    "escalated",     # 升级: escalate events
    "unsatisfied",   # 不满意: evaluations rated unsatisfied
    "reworked",      # 返工: rework events (appeals.events.REWORK_Q)
    "overdue_in",    # became overdue (appeals.selectors.overdue_q) that day
    "overdue_out",   # stopped being overdue that day (resolved, returned, withdrawn …)
)


class DailyFlow(models.Model):
    """One unit's flows of one category on one day. A row exists for every level the
    appeal's place rolls up into (grid → community → street → district → city; a
    department for the appeals it handles), so a unit's figures are the rows of its own
    key, and its children's the rows of the child level in its code range
    (governance.kernel.codes). Overdue at the end of a day is the running sum of
    overdue_in − overdue_out up to that day: a stock kept as its flows, so that a year
    of backlog costs one row per change, not one per day."""

    unit_kind = models.CharField(_("单位类型"), max_length=12, choices=UnitKind.choices)
    unit_code = models.CharField(_("单位编码"), max_length=20)
    category_code = models.CharField(_("类别编码"), max_length=5, blank=True)
    day = models.DateField(_("日期"))
    received = models.PositiveIntegerField(_("受理数"), default=0)
    dispatched = models.PositiveIntegerField(_("派单数"), default=0)
    resolved = models.PositiveIntegerField(_("办结数"), default=0)
    closed = models.PositiveIntegerField(_("结案数"), default=0)
    escalated = models.PositiveIntegerField(_("升级数"), default=0)
    unsatisfied = models.PositiveIntegerField(_("不满意数"), default=0)
    reworked = models.PositiveIntegerField(_("返工数"), default=0)
    overdue_in = models.PositiveIntegerField(_("新增超期数"), default=0)
    overdue_out = models.PositiveIntegerField(_("超期结束数"), default=0)

    class Meta:
        verbose_name = verbose_name_plural = _("诉求日流量")
        ordering = ["day", "unit_kind", "unit_code", "category_code"]
        constraints = [
            models.UniqueConstraint(fields=["unit_kind", "unit_code", "day", "category_code"],
                                    name="dailyflow_unit_day_category"),
        ]
        indexes = [models.Index(fields=["day"], name="dailyflow_day")]

    def __str__(self) -> str:
        return f"{self.unit_kind}:{self.unit_code} {self.day} {self.category_code}"


class FlowRefresh(models.Model):
    """The last refresh of the daily flows: the flows count the events before ``as_of``
    (the pages' "数据截至"). One row, replaced by each refresh."""

    as_of = models.DateTimeField(_("数据截至"))
    first_day = models.DateField(_("起始日期"))
    last_day = models.DateField(_("截止日期"))
    rows = models.PositiveIntegerField(_("行数"), default=0)
    seconds = models.FloatField(_("用时（秒）"), default=0)
    finished_at = models.DateTimeField(_("完成时间"))

    class Meta:
        verbose_name = verbose_name_plural = _("流量统计刷新")

    def __str__(self) -> str:
        return f"{self.first_day}..{self.last_day} @ {self.as_of}"
