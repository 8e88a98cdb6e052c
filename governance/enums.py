from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """Staff roles (DESIGN.md §3). Each post binds one role to one unit."""

    GRID_WORKER = "grid_worker", _("网格员")
    COMMUNITY_WORKER = "community_worker", _("社区工作者")
    COMMUNITY_SECRETARY = "community_secretary", _("社区书记")
    STREET_OFFICER = "street_officer", _("街道工作人员")
    DEPARTMENT_HANDLER = "department_handler", _("部门办理人")
    SUPERVISOR = "supervisor", _("督查考核")


# Which unit field a role's post must name (supervisor: district, or none for city-wide).
ROLE_UNIT = {
    Role.GRID_WORKER: "grid",
    Role.COMMUNITY_WORKER: "community",
    Role.COMMUNITY_SECRETARY: "community",
    Role.STREET_OFFICER: "street",
    Role.DEPARTMENT_HANDLER: "department",
    Role.SUPERVISOR: "district",
}

# Roles that keep household and resident records.
HOUSEHOLD_EDITORS = {Role.GRID_WORKER, Role.COMMUNITY_WORKER, Role.COMMUNITY_SECRETARY}
COMMUNITY_ROLES = {Role.COMMUNITY_WORKER, Role.COMMUNITY_SECRETARY}
# Roles that read and handle nothing (DESIGN.md §3: supervisors read everything below their
# unit and write only 督办 notes, and decide the extensions of their district's streets and
# departments, the level above which there is no handling unit).
READ_ONLY_ROLES = {Role.SUPERVISOR}


def staffing_roles() -> frozenset[str]:
    """The posts counted as 社区工作者 in the staffing ratio: settings.STAFFING_ROLES, or
    the community roles when unset (provinces differ on 专职网格员). Only roles bound to a
    grid, community or street; anything else raises ImproperlyConfigured."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    configured = settings.STAFFING_ROLES
    if configured is None:
        return frozenset(COMMUNITY_ROLES)
    territorial = [r for r, unit in ROLE_UNIT.items() if unit in ("grid", "community", "street")]
    unknown = [r for r in configured if r not in territorial]
    if unknown or not configured:
        raise ImproperlyConfigured(
            f"STAFFING_ROLES={','.join(configured)!r}: give one or more of {', '.join(territorial)}."
        )
    return frozenset(configured)


class AccessAction(models.TextChoices):
    VIEW = "view", _("查看")
    EXPORT = "export", _("导出")
    IMPORT = "import", _("导入")


class NotificationKind(models.TextChoices):
    """What a staff message asks its recipients to do (governance.staff.notifications).
    The values are stored (max 12 characters) and name the copies an account chooses."""

    DISPATCH = "dispatch", _("派单待办")
    RETURN = "return", _("退单待派")
    WHISTLE = "whistle", _("吹哨报到")
    REWORK = "rework", _("返工")
    EXTENSION = "extension", _("延期审批")
    SUPERVISION = "supervision", _("督办意见")
    WARNING = "warning", _("临期预警")
    ESCALATION = "escalation", _("超期升级")
    REMINDER = "reminder", _("督办催办")
    SUPPLEMENT = "supplement", _("居民补充")
    # 入户走访 (issue 22, appeals.visits.services)
    VISIT_DUE = "visit_due", _("走访提醒")
    VISIT_OVERDUE = "visit_late", _("走访逾期")
    VISIT_NOT_FOUND = "visit_absent", _("走访未见到")


class OutboxChannel(models.TextChoices):
    """Who delivers an outbox message: each is registered by the layer that owns it
    (governance.staff.notifications: the inbox and email; appeals: SMS and the sweeps'
    digests). The labels are what the admin shows."""

    INBOX = "inbox", _("站内消息")
    EMAIL = "email", _("邮件")
    SMS = "sms", _("短信")
    DIGEST = "digest", _("汇总提醒")


class OutboxStatus(models.TextChoices):
    """A message of the outbox (governance.kernel.outbox): pending until the relay claims it
    (sending), then delivered, or back to pending with a backoff, or failed for good."""

    PENDING = "pending", _("待发送")
    SENDING = "sending", _("发送中")
    DELIVERED = "delivered", _("已送达")
    FAILED = "failed", _("发送失败")


class ExportState(models.TextChoices):
    """An export written by a Celery job (governance.kernel.exports)."""

    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("生成中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")
    EXPIRED = "expired", _("已过期")
