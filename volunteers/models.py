"""Volunteers and party members (DESIGN.md §6).

The rules money-like numbers depend on are database constraints, not hopes: an
activity's sign-up counter never exceeds its capacity, a balance and a stock never go
below zero, an activity is credited once per sign-up and an appeal once per volunteer.
"""

import secrets
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from governance.kernel import choices
from volunteers.enums import (
    ActivityStatus,
    PointsKind,
    PointsSource,
    SignupStatus,
    Skill,
    VolunteerStatus,
    YearlyRating,
)


def minutes_to_hours(minutes: int | None) -> Decimal:
    """Credited minutes as hours, two decimals rounded down (50 minutes: 0.83)."""
    return (Decimal(minutes or 0) / 60).quantize(Decimal("0.01"), rounding=ROUND_DOWN)


def new_checkin_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def default_hours_target() -> int:
    return settings.VOLUNTEER_YEARLY_HOURS_TARGET


def current_year() -> int:
    return timezone.localdate().year


class Volunteer(models.Model):
    """A registered volunteer (志愿者): a resident, an account, or both."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="volunteer", verbose_name=_("账号"),
    )
    resident = models.OneToOneField(
        "grids.Resident", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="volunteer", verbose_name=_("居民"),
    )
    community = models.ForeignKey(
        "grids.Community", on_delete=models.PROTECT, to_field="code", db_column="community_code",
        related_name="volunteers", verbose_name=_("所在社区"),
    )
    name = models.CharField(_("姓名"), max_length=50)
    phone = models.CharField(_("手机号"), max_length=20, blank=True)
    skills = models.CharField(
        _("技能"), max_length=200, blank=True,
        help_text=_("逗号分隔：%(skills)s") % {"skills": ", ".join(Skill.values)},
    )
    status = models.CharField(_("状态"), max_length=10, choices=VolunteerStatus.choices, default=VolunteerStatus.ACTIVE)
    joined_on = models.DateField(_("加入日期"), default=timezone.localdate)
    # Kept with the ledger in the same transaction; the ledger is the history, this the lock.
    points_balance = models.PositiveIntegerField(_("积分余额"), default=0, editable=False)
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = _("志愿者")
        ordering = ["community_id", "name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False) | Q(resident__isnull=False),
                name="volunteer_has_user_or_resident",
            ),
            models.CheckConstraint(condition=Q(points_balance__gte=0), name="volunteer_balance_not_negative"),
        ]
        indexes = [models.Index(fields=["community", "status"], name="volunteer_community_status")]

    def __str__(self) -> str:
        return self.name

    @property
    def hours_year(self) -> Decimal:
        """The year's hours of a volunteer annotated with ``minutes_year`` (selectors)."""
        return minutes_to_hours(self.minutes_year)

    skill_list, skill_labels = choices.properties("skills", Skill.choices)


class PairedOrganization(models.Model):
    """An in-service party organisation (机关企事业单位党组织) reporting to its paired community."""

    name = models.CharField(_("党组织名称"), max_length=100)
    work_unit = models.CharField(_("所在单位"), max_length=100, blank=True)
    community = models.ForeignKey(
        "grids.Community", on_delete=models.PROTECT, to_field="code", db_column="community_code",
        related_name="paired_organizations", verbose_name=_("结对社区"),
    )
    contact_name = models.CharField(_("联系人"), max_length=50, blank=True)
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    reported_at = models.DateField(_("报到日期"), default=timezone.localdate)
    active = models.BooleanField(_("在册"), default=True)

    class Meta:
        verbose_name = verbose_name_plural = _("双报到单位党组织")
        ordering = ["community_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["community", "name"], name="paired_org_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class PartyMemberRegistration(models.Model):
    """An in-service party member (在职党员) registered with the community where they live, for one year.

    ``reported_at`` is the day the member reported in (报到) that year; the yearly
    evaluation caps a member who never reported at 合格.
    """

    volunteer = models.ForeignKey(
        Volunteer, on_delete=models.PROTECT, related_name="registrations", verbose_name=_("党员"),
    )
    community = models.ForeignKey(
        "grids.Community", on_delete=models.PROTECT, to_field="code", db_column="community_code",
        related_name="party_member_registrations", verbose_name=_("报到社区"),
    )
    year = models.PositiveSmallIntegerField(_("年度"), default=current_year)
    work_unit = models.CharField(_("工作单位"), max_length=100)
    organization = models.ForeignKey(
        PairedOrganization, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="members", verbose_name=_("所在单位党组织"),
    )
    hours_target = models.PositiveSmallIntegerField(_("年度服务目标（小时）"), default=default_hours_target)
    reported_at = models.DateField(_("报到日期"), null=True, blank=True)
    # Written by the yearly evaluation (volunteers.tasks.yearly_evaluation).
    hours_done = models.DecimalField(_("年度服务时长"), max_digits=7, decimal_places=2, null=True, blank=True, editable=False)
    below_target = models.BooleanField(_("未达目标"), null=True, blank=True, editable=False)
    rating = models.CharField(_("年度评议"), max_length=12, choices=YearlyRating.choices, blank=True, editable=False)
    evaluated_at = models.DateTimeField(_("评议时间"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = verbose_name_plural = _("在职党员报到")
        ordering = ["-year", "community_id", "volunteer_id"]
        constraints = [
            models.UniqueConstraint(fields=["volunteer", "year"], name="registration_once_a_year"),
        ]
        indexes = [models.Index(fields=["community", "year"], name="registration_community_year")]

    def __str__(self) -> str:
        return f"{self.volunteer} · {self.year}"

    @property
    def hours_year(self) -> Decimal:
        """The year's 双报到 hours (credited minutes, uncapped) of a registration annotated
        with ``minutes_year`` (selectors.registration_list_with_hours)."""
        return minutes_to_hours(self.minutes_year)

    @property
    def points_hours_year(self) -> Decimal:
        """Of those, the hours the points rule counts (each activity capped), with
        ``points_minutes_year``; shown beside the 双报到 hours where they differ."""
        return minutes_to_hours(self.points_minutes_year)


class Activity(models.Model):
    """A volunteer activity (志愿活动) of a community."""

    community = models.ForeignKey(
        "grids.Community", on_delete=models.PROTECT, to_field="code", db_column="community_code",
        related_name="volunteer_activities", verbose_name=_("社区"),
    )
    title = models.CharField(_("活动名称"), max_length=100)
    description = models.TextField(_("活动内容"), blank=True)
    place = models.CharField(_("地点"), max_length=200)
    starts_at = models.DateTimeField(_("开始时间"))
    ends_at = models.DateTimeField(_("结束时间"))
    capacity_min = models.PositiveSmallIntegerField(_("最少人数"), default=1)
    capacity_max = models.PositiveSmallIntegerField(_("最多人数"))
    organiser = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="organised_activities",
        verbose_name=_("组织者"),
    )
    status = models.CharField(_("状态"), max_length=10, choices=ActivityStatus.choices, default=ActivityStatus.OPEN)
    checkin_code = models.CharField(_("签到码"), max_length=6, default=new_checkin_code)
    # Places taken; changed only by conditional updates in volunteers.services.
    signed_up_count = models.PositiveSmallIntegerField(_("已报名人数"), default=0, editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = _("志愿活动")
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="activity_ends_after_start"),
            models.CheckConstraint(
                condition=Q(capacity_max__gte=1) & Q(capacity_min__lte=F("capacity_max")),
                name="activity_capacity_range",
            ),
            models.CheckConstraint(
                condition=Q(signed_up_count__lte=F("capacity_max")), name="activity_never_overbooked",
            ),
        ]
        indexes = [models.Index(fields=["community", "status", "starts_at"], name="activity_community_open")]

    def __str__(self) -> str:
        return self.title

    @property
    def places_left(self) -> int:
        return max(0, self.capacity_max - self.signed_up_count)


class Signup(models.Model):
    """A volunteer's place in an activity, and their attendance."""

    activity = models.ForeignKey(Activity, on_delete=models.PROTECT, related_name="signups", verbose_name=_("活动"))
    volunteer = models.ForeignKey(Volunteer, on_delete=models.PROTECT, related_name="signups", verbose_name=_("志愿者"))
    status = models.CharField(_("状态"), max_length=12, choices=SignupStatus.choices, default=SignupStatus.SIGNED_UP)
    signed_up_at = models.DateTimeField(_("报名时间"), default=timezone.now)
    cancelled_at = models.DateTimeField(_("取消时间"), null=True, blank=True)
    checked_in_at = models.DateTimeField(_("签到时间"), null=True, blank=True)
    checked_out_at = models.DateTimeField(_("签退时间"), null=True, blank=True)
    # volunteers.services.credited_minutes: the 双报到 hours, uncapped; the points rule
    # caps each activity at VOLUNTEER_MAX_HOURS_PER_ACTIVITY.
    minutes_credited = models.PositiveIntegerField(_("认定时长（分钟）"), default=0)

    class Meta:
        verbose_name = verbose_name_plural = _("活动报名")
        ordering = ["signed_up_at", "id"]
        constraints = [
            # One row per volunteer and activity: signing up again revives a cancelled row.
            models.UniqueConstraint(fields=["activity", "volunteer"], name="signup_once_per_activity"),
        ]
        indexes = [models.Index(fields=["volunteer", "status"], name="signup_volunteer_status")]

    def __str__(self) -> str:
        return f"{self.volunteer} · {self.activity}"

    @property
    def hours_credited(self) -> Decimal:
        return minutes_to_hours(self.minutes_credited)


class Reward(models.Model):
    """An item of the points shop (积分超市); no community means city-wide."""

    name = models.CharField(_("名称"), max_length=100)
    description = models.CharField(_("说明"), max_length=300, blank=True)
    cost = models.PositiveIntegerField(_("所需积分"))
    stock = models.PositiveIntegerField(_("库存"), default=0)
    community = models.ForeignKey(
        "grids.Community", on_delete=models.PROTECT, to_field="code", db_column="community_code",
        null=True, blank=True, related_name="rewards", verbose_name=_("社区"), help_text=_("留空为全市通用"),
    )
    active = models.BooleanField(_("上架"), default=True)

    class Meta:
        verbose_name = verbose_name_plural = _("积分超市商品")
        ordering = ["cost", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(stock__gte=0), name="reward_stock_not_negative"),
            models.CheckConstraint(condition=Q(cost__gte=1), name="reward_cost_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class Redemption(models.Model):
    volunteer = models.ForeignKey(Volunteer, on_delete=models.PROTECT, related_name="redemptions", verbose_name=_("志愿者"))
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="redemptions", verbose_name=_("商品"))
    cost = models.PositiveIntegerField(_("消耗积分"))
    created_at = models.DateTimeField(_("兑换时间"), default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = _("积分兑换")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.volunteer} · {self.reward}"


class PointsEntry(models.Model):
    """One line of the append-only points ledger (积分明细). Never updated, never deleted:
    a correction is a new line (冲正, or a credit).

    The sum of a volunteer's deltas equals their ``points_balance``; ``balance_after``
    is the balance right after this line. For activity lines, ``accrued`` is what the
    points rule gave before the balance cap (and before a spent balance limited a
    reversal): their sum is the rule's points for the volunteer's lifetime attendance
    (volunteers.services.activity_points_due), however the balance fared.
    """

    volunteer = models.ForeignKey(Volunteer, on_delete=models.PROTECT, related_name="points_entries", verbose_name=_("志愿者"))
    delta = models.IntegerField(_("变动"))
    accrued = models.IntegerField(_("按规则应计"), default=0)
    balance_after = models.PositiveIntegerField(_("变动后余额"))
    kind = models.CharField(_("类型"), max_length=8, choices=PointsKind.choices)
    source = models.CharField(_("来源"), max_length=16, choices=PointsSource.choices)
    signup = models.ForeignKey(
        Signup, on_delete=models.PROTECT, null=True, blank=True, related_name="points_entries", verbose_name=_("活动报名"),
    )
    activity = models.ForeignKey(
        Activity, on_delete=models.PROTECT, null=True, blank=True, related_name="points_entries", verbose_name=_("活动"),
    )
    # The appeals app is referenced by id and tracking code, not by a foreign key, so
    # that the ledger does not depend on the appeals schema.
    appeal_id = models.BigIntegerField(_("诉求编号"), null=True, blank=True)
    appeal_code = models.CharField(_("诉求查询码"), max_length=16, blank=True)
    redemption = models.OneToOneField(
        Redemption, on_delete=models.PROTECT, null=True, blank=True, related_name="points_entry", verbose_name=_("兑换"),
    )
    note = models.CharField(_("说明"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("操作人"),
    )
    created_at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = verbose_name_plural = _("积分明细")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["signup"], condition=Q(signup__isnull=False, kind=PointsKind.EARN),
                name="points_once_per_signup",
            ),
            models.UniqueConstraint(
                fields=["volunteer", "appeal_id"],
                condition=Q(appeal_id__isnull=False, kind=PointsKind.EARN),
                name="points_once_per_appeal",
            ),
            models.CheckConstraint(
                condition=Q(kind=PointsKind.EARN, delta__gte=0)
                | Q(kind=PointsKind.REDEEM, delta__lt=0)
                | Q(kind=PointsKind.REVERSAL, delta__lte=0)
                | Q(kind=PointsKind.ADJUST),
                name="points_delta_sign_matches_kind",
            ),
        ]
        indexes = [models.Index(fields=["volunteer", "-created_at"], name="points_volunteer_recent")]

    def __str__(self) -> str:
        return f"{self.volunteer} {self.delta:+d}"
