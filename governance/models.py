from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from governance.enums import READ_ONLY_ROLES, AccessAction, NotificationKind, Role


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
        verbose_name = _("岗位")
        verbose_name_plural = _("岗位")
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
        verbose_name = _("个人信息访问记录")
        verbose_name_plural = _("个人信息访问记录")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["subject", "created_at"], name="accesslog_subject")]

    def __str__(self) -> str:
        return f"{self.user} {self.get_action_display()} {self.subject}"


class Notification(models.Model):
    """A message in a staff member's inbox (站内消息); a copy goes by email when the
    account has an address (governance.staff.notifications)."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("接收人")
    )
    kind = models.CharField(_("类型"), max_length=12, choices=NotificationKind.choices)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    link = models.CharField(_("链接"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)
    # Email: wanted when the recipient had an address; emailed_at claims the sending, so
    # that a retried or repeated task sends it once.
    email_pending = models.BooleanField(_("待发邮件"), default=False)
    emailed_at = models.DateTimeField(_("邮件发送时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("站内消息")
        verbose_name_plural = _("站内消息")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "read_at"], name="notification_unread"),
            models.Index(fields=["email_pending", "emailed_at"], name="notification_email"),
        ]

    def __str__(self) -> str:
        return f"{self.recipient_id} {self.title}"
