"""The vocabularies of appeals: states, actions, levels, sources (DESIGN.md §4).

Which action may happen in which state, and who may take it, is the workflow table's
(appeals.workflow).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AppealState(models.TextChoices):
    RECEIVED = "received", _("已受理")
    DISPATCHED = "dispatched", _("已派单")
    IN_PROGRESS = "in_progress", _("办理中")
    RESOLVED = "resolved", _("已办结")
    AWAITING_EVALUATION = "awaiting_evaluation", _("待评价")
    CLOSED = "closed", _("已结案")
    DECLINED = "declined", _("不予受理")
    WITHDRAWN = "withdrawn", _("已撤回")


OPEN_STATES = frozenset({
    AppealState.RECEIVED, AppealState.DISPATCHED, AppealState.IN_PROGRESS,
    AppealState.RESOLVED, AppealState.AWAITING_EVALUATION,
})
FINAL_STATES = frozenset(set(AppealState) - OPEN_STATES)


class AppealAction(models.TextChoices):
    RECEIVE = "receive", _("受理")
    DISPATCH = "dispatch", _("派单")
    DECLINE = "decline", _("不予受理")
    MERGE = "merge", _("并案")
    WITHDRAW = "withdraw", _("撤回")
    SIGN = "sign", _("签收")
    # A volunteer of the community takes a volunteer-suitable appeal from the order hall
    # (接单大厅): a sign-for by the volunteer on the handling unit's behalf.
    CLAIM = "claim", _("志愿者接单")
    RETURN = "return", _("退单")
    RESOLVE = "resolve", _("办结")
    VERIFY_PASS = "verify_pass", _("核查通过")
    VERIFY_FAIL = "verify_fail", _("核查未通过")
    FEEDBACK = "feedback", _("反馈")
    EVALUATE = "evaluate", _("评价")
    CLOSE_UNEVALUATED = "close_unevaluated", _("超期未评价结案")
    # Actions that keep the state.
    CONTACT = "contact", _("先行联系")
    NOTE = "note", _("办理进展")
    REROUTE = "reroute", _("改派")
    WHISTLE = "whistle", _("吹哨")
    CHECKIN = "checkin", _("部门报到")
    # Deadlines (appeals.escalation, appeals.extensions): the level changes, not the state.
    ESCALATE = "escalate", _("升级上报")
    WARN = "warn", _("临期预警")
    REMIND = "remind", _("催办")
    EXTEND_REQUEST = "extend_request", _("申请延期")
    EXTEND_APPROVE = "extend_approve", _("批准延期")
    EXTEND_REJECT = "extend_reject", _("驳回延期")
    # A supervisor's 督办意见: it changes nothing a handler acts on (DESIGN.md §3).
    SUPERVISE = "supervise", _("督办意见")
    # The 公开摘要: what the public may read of the appeal, and which photos (DESIGN.md §8).
    PUBLISH = "publish", _("公开摘要")
    # The working-day calendar changed (a year's official schedule entered, a day
    # corrected): the system re-computes the deadline from its stored inputs.
    DEADLINE_CORRECT = "deadline_correct", _("时限校正")
    # The resident adds text or photos to an open appeal (补充, on the tracking page): it
    # changes nothing a handler acts on; the handling unit is told in its inbox.
    SUPPLEMENT = "supplement", _("居民补充")
    # Residents' deliberation (appeals.deliberation): the appeal is put to a community
    # meeting (its clock keeps running), and the meeting's decision is attached to it.
    DELIBERATE = "deliberate", _("提交议事")
    DELIBERATION_NOTE = "deliberation_note", _("议事决定")


class HandlingLevel(models.TextChoices):
    GRID = "grid", _("网格")
    COMMUNITY = "community", _("社区")
    STREET = "street", _("街道")
    DEPARTMENT = "department", _("职能部门")
    DISTRICT = "district", _("区")


class QueueLevel(models.TextChoices):
    """Where an appeal that was not (or no longer) dispatched waits for dispatch by hand."""

    COMMUNITY = "community", _("社区待派")
    STREET = "street", _("街道分中心待派")


class EscalationLevel(models.TextChoices):
    GRID = "grid", _("网格")
    COMMUNITY = "community", _("社区")
    STREET = "street", _("街道")
    DISTRICT = "district", _("区督办")


class ExtensionState(models.TextChoices):
    PENDING = "pending", _("待审批")
    APPROVED = "approved", _("已批准")
    REJECTED = "rejected", _("已驳回")


class CategoryType(models.TextChoices):
    EVENT = "event", _("事件")
    COMPONENT = "component", _("部件")
    SERVICE = "service", _("服务")
    ENQUIRY = "enquiry", _("咨询")


class Source(models.TextChoices):
    WEB = "web", _("网上提交")
    PHONE = "phone", _("电话")
    WALK_IN = "walk_in", _("来访")
    GRID_PATROL = "grid_patrol", _("网格巡查")
    API = "api", _("接口")
    OPEN311 = "open311", _("Open311")
    HOME_VISIT = "home_visit", _("走访")


# Residents file these themselves: a mobile number is required (results go out by SMS).
PUBLIC_SOURCES = frozenset({Source.WEB, Source.API, Source.OPEN311})
# Staff record these on a resident's behalf: landlines accepted, the phone may be absent.
STAFF_SOURCES = frozenset({Source.PHONE, Source.WALK_IN, Source.GRID_PATROL, Source.HOME_VISIT})
# 主动发现: appeals a worker raises from what they found themselves (网格巡查, 入户走访). One rule for all of them (issue 15): routed by the responsibility
# list; on the finder's own grid they start in progress (appeals.services.intake); with no
# resident's phone, 核查 closes them (appeals.workflow.closes_on_verification); they stay
# out of 响应率, 解决率 and 满意率 and are reported apart (governance.assessment).
SELF_FOUND_SOURCES = frozenset({Source.GRID_PATROL, Source.HOME_VISIT})


class FeedbackMethod(models.TextChoices):
    """How the result was told to the resident (反馈/回访)."""

    PHONE = "phone", _("电话回访")
    VISIT = "visit", _("上门回访")
    SMS = "sms", _("短信")  # the result SMS with the evaluation link (automatic)


# What staff record by hand; the SMS is the system's.
STAFF_FEEDBACK_METHODS = (FeedbackMethod.PHONE, FeedbackMethod.VISIT)


class Rating(models.TextChoices):
    SATISFIED = "satisfied", _("满意")
    BASICALLY = "basically", _("基本满意")
    UNSATISFIED = "unsatisfied", _("不满意")


class DeadlineUnit(models.TextChoices):
    HOURS = "hours", _("小时")
    WORKING_DAYS = "working_days", _("工作日")


class CalendarSource(models.TextChoices):
    """Where a day of the working-day calendar comes from (appeals.workdays)."""

    OFFICIAL = "official", _("国办通知")
    LAW = "law", _("法定")
    OVERRIDE = "override", _("调整")


class AttachmentKind(models.TextChoices):
    INTAKE = "intake", _("受理照片")
    RESULT = "result", _("办结照片")
    SUPPLEMENT = "supplement", _("居民补充照片")
