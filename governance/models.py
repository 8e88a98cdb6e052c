from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from governance.enums import (
    READ_ONLY_ROLES,
    AccessAction,
    ExportState,
    NotificationKind,
    OutboxChannel,
    OutboxStatus,
    Role,
)


class Post(models.Model):
    """A staff post (岗位): one role bound to one unit.

    A supervisor's post names a district, or nothing for the whole city.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="posts", verbose_name=_("账号")
    )
    role = models.CharField(_("角色"), max_length=24, choices=Role.choices)
    district = models.ForeignKey("grids.District", on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("区"))
    street = models.ForeignKey("grids.Street", on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("街道"))
    community = models.ForeignKey("grids.Community", on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("社区"))
    grid = models.ForeignKey("grids.Grid", on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("网格"))
    department = models.ForeignKey("grids.Department", on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("职能部门"))
    title = models.CharField(_("职务"), max_length=50, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = _("岗位")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(role=Role.GRID_WORKER, grid__isnull=False, community__isnull=True, street__isnull=True, district__isnull=True, department__isnull=True)
                    | Q(role__in=[Role.COMMUNITY_WORKER, Role.COMMUNITY_SECRETARY], grid__isnull=True, community__isnull=False, street__isnull=True, district__isnull=True, department__isnull=True)
                    | Q(role=Role.STREET_OFFICER, grid__isnull=True, community__isnull=True, street__isnull=False, district__isnull=True, department__isnull=True)
                    | Q(role=Role.DEPARTMENT_HANDLER, grid__isnull=True, community__isnull=True, street__isnull=True, district__isnull=True, department__isnull=False)
                    | Q(role=Role.SUPERVISOR, grid__isnull=True, community__isnull=True, street__isnull=True, department__isnull=True)
                ),
                name="post_unit_matches_role",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} · {self.unit_name}"

    @property
    def unit(self):
        return self.grid or self.community or self.street or self.department or self.district

    @property
    def read_only(self) -> bool:
        """A post that reads and handles nothing (governance.enums.READ_ONLY_ROLES)."""
        return self.role in READ_ONLY_ROLES

    @property
    def unit_name(self) -> str:
        unit = self.unit
        return str(unit) if unit else str(_("全市"))


class AccessLog(models.Model):
    """Who viewed or exported residents' personal data (个人信息保护法). Append-only."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("账号")
    )
    action = models.CharField(_("操作"), max_length=10, choices=AccessAction.choices)
    subject = models.CharField(_("对象"), max_length=100, help_text=_("如 household:42 或 community:110101001001"))
    record_count = models.PositiveIntegerField(_("涉及记录数"), default=1)
    path = models.CharField(_("地址"), max_length=300, blank=True)
    ip_address = models.GenericIPAddressField(_("IP"), null=True, blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = verbose_name_plural = _("个人信息访问记录")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["subject", "created_at"], name="accesslog_subject")]

    def __str__(self) -> str:
        return f"{self.user} {self.get_action_display()} {self.subject}"


class Notification(models.Model):
    """A message in a staff member's inbox (站内消息), written by the outbox's relay; a copy
    goes by email (another outbox message) when the account has an address
    (governance.staff.notifications)."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("接收人")
    )
    kind = models.CharField(_("类型"), max_length=12, choices=NotificationKind.choices)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    link = models.CharField(_("链接"), max_length=300, blank=True)
    # What the inbox groups it under: the appeal it is about ("appeal:<id>"), else its kind
    # ("kind:<kind>", the sweeps' digests).
    group = models.CharField(_("分组"), max_length=64, blank=True, default="")
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = _("站内消息")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "read_at"], name="notification_unread"),
            models.Index(fields=["recipient", "group"], name="notification_group"),
        ]

    def __str__(self) -> str:
        return f"{self.recipient_id} {self.title}"


class NotificationPreference(models.Model):
    """Which copies of their inbox messages an account wants, by kind (the inbox itself
    always has them): email to the account's address, SMS to ``mobile`` through the SMS
    gateway. No row: the defaults (governance.staff.notifications.DEFAULT_*)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference",
        verbose_name=_("账号"),
    )
    mobile = models.CharField(_("接收短信的手机号"), max_length=11, blank=True)
    email_kinds = models.JSONField(_("发邮件的消息类型"), default=list, blank=True)
    sms_kinds = models.JSONField(_("发短信的消息类型"), default=list, blank=True)
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = _("消息提醒设置")

    def __str__(self) -> str:
        return f"{self.user_id}"


class OutboxMessage(models.Model):
    """One message to a person (an SMS to a resident, a staff inbox entry, an email copy,
    an item of an escalation digest), written in the transaction of the event that causes
    it and delivered by the relay (governance.kernel.outbox), DESIGN.md §9.

    ``channel`` names who delivers it (registered by the layer that owns it); ``key`` is
    its idempotency key (unique: written twice, it is one message; a gateway that takes
    one is handed it); ``recipient`` a phone or an address where the channel has one
    (units and accounts are in ``params``); ``template`` an SMS template code or a
    notification kind, ``params`` its parameters — never rendered text."""

    channel = models.CharField(_("渠道"), max_length=16, choices=OutboxChannel.choices)
    status = models.CharField(_("状态"), max_length=12, choices=OutboxStatus.choices, default=OutboxStatus.PENDING)
    key = models.CharField(_("幂等键"), max_length=120, unique=True)
    recipient = models.CharField(_("接收方"), max_length=254, blank=True)
    template = models.CharField(_("模板"), max_length=64, blank=True)
    params = models.JSONField(_("参数"), default=dict, blank=True)
    subject = models.CharField(_("关联对象"), max_length=64, blank=True, help_text=_("如 appeal:42"))
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    # Due from: the backoff after a failed attempt, or the hold of a sweep's digest items.
    next_attempt_at = models.DateTimeField(_("下次发送时间"))
    claimed_at = models.DateTimeField(_("认领时间"), null=True, blank=True)
    claim = models.CharField(_("认领批次"), max_length=32, blank=True)
    delivered_at = models.DateTimeField(_("送达时间"), null=True, blank=True)
    last_error = models.CharField(_("最近错误"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("创建时间"))

    class Meta:
        verbose_name = verbose_name_plural = _("待发消息")
        indexes = [
            # The relay's due rows, and the held and retrying ones.
            models.Index(fields=["status", "next_attempt_at"], name="outbox_due"),
            # The purge of delivered rows.
            models.Index(fields=["status", "delivered_at"], name="outbox_delivered"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.key}"


class RateCounter(models.Model):
    """A fixed-window counter of the rate limits kept in the database while the shared
    cache is down (governance.kernel.counters): the key names the scope, the hashed
    identity and the window."""

    key = models.CharField(max_length=120, unique=True)
    count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = verbose_name_plural = _("限流计数")

    def __str__(self) -> str:
        return f"{self.key}={self.count}"


class ExportJob(models.Model):
    """An export too large to answer inline (governance.kernel.exports): a Celery job writes
    the file, its page shows the progress, and the link serves it to the account that asked
    or an account of the same scope, until ``expires_at``. ``token`` names it in URLs."""

    token = models.CharField(_("链接标识"), max_length=32, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("申请人")
    )
    # What the requester's jurisdiction reaches (Jurisdiction.scope_key): who else may download.
    scope = models.CharField(_("数据范围"), max_length=200)
    kind = models.CharField(_("导出内容"), max_length=32, help_text=_("如 supervision"))
    fmt = models.CharField(_("格式"), max_length=8)
    params = models.JSONField(_("条件"), default=dict, blank=True)
    title = models.CharField(_("名称"), max_length=200)
    state = models.CharField(_("状态"), max_length=10, choices=ExportState.choices, default=ExportState.QUEUED)
    total = models.PositiveIntegerField(_("总行数"), default=0)
    done_rows = models.PositiveIntegerField(_("已写行数"), default=0)
    file_name = models.CharField(_("文件"), max_length=200, blank=True)
    download_name = models.CharField(_("下载文件名"), max_length=200, blank=True)
    size = models.PositiveBigIntegerField(_("大小（字节）"), default=0)
    error = models.CharField(_("错误"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("申请时间"), auto_now_add=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    expires_at = models.DateTimeField(_("链接过期时间"), db_index=True)

    class Meta:
        verbose_name = verbose_name_plural = _("导出任务")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.title} ({self.get_state_display()})"
