"""Residents' deliberation (民主协商, issue 22): the meetings a community holds on what one
appeal cannot settle, the appeals they address, who took part, and the decisions
followed to done. The rules live in appeals.deliberation.services (who acts, what each
step writes) and appeals.deliberation.selectors (who reads what, what is public).
"""

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from appeals.deliberation.enums import DecisionKind, DecisionState, MeetingKind, MeetingState, ParticipantRole
from governance.kernel.clock import CHINA

MAX_COUNT = 100_000  # a show of hands or a rating count, never more people than a street holds


class Meeting(models.Model):
    community = models.ForeignKey(
        "grids.Community", on_delete=models.PROTECT, to_field="code", db_column="community_code",
        related_name="meetings", verbose_name=_("社区"),
    )
    kind = models.CharField(_("会议类型"), max_length=20, choices=MeetingKind.choices)
    topic = models.CharField(_("议题"), max_length=200)
    place = models.CharField(_("地点"), max_length=200)
    starts_at = models.DateTimeField(_("召开时间"))
    # What it concerns: a 小区 (grids.Building.compound) and/or buildings of the community.
    estate = models.CharField(_("小区"), max_length=100, blank=True)
    buildings = models.ManyToManyField("grids.Building", blank=True, related_name="+", verbose_name=_("涉及楼栋"))
    category = models.ForeignKey(
        "appeals.Category", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("诉求类别"),
    )
    state = models.CharField(_("状态"), max_length=20, choices=MeetingState.choices, default=MeetingState.SCHEDULED)
    scheduled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("发起人"),
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    appeals = models.ManyToManyField("appeals.Appeal", through="MeetingAppeal", related_name="meetings",
                                     verbose_name=_("关联诉求"))
    # The record of the meeting.
    held_at = models.DateTimeField(_("记录时间"), null=True, blank=True)
    residents_count = models.PositiveIntegerField(_("参会居民人数"), null=True, blank=True,
                                                  validators=[MaxValueValidator(MAX_COUNT)])
    minutes = models.TextField(_("会议纪要"), blank=True)
    # 民意听证会: 意见表决（不替代业主大会决定）.
    votes_for = models.PositiveIntegerField(_("赞成"), null=True, blank=True)
    votes_against = models.PositiveIntegerField(_("反对"), null=True, blank=True)
    votes_abstain = models.PositiveIntegerField(_("弃权"), null=True, blank=True)
    # 民主评议会: the unit evaluated and its ratings.
    evaluated_unit = models.CharField(_("被评议单位"), max_length=200, blank=True)
    rated_satisfied = models.PositiveIntegerField(_("满意"), null=True, blank=True)
    rated_basically = models.PositiveIntegerField(_("基本满意"), null=True, blank=True)
    rated_unsatisfied = models.PositiveIntegerField(_("不满意"), null=True, blank=True)
    publicity_days = models.PositiveSmallIntegerField(_("公示期（天）"), default=7,
                                                      validators=[MaxValueValidator(90)])

    class Meta:
        verbose_name = verbose_name_plural = _("议事会议")
        ordering = ["-starts_at", "-id"]
        indexes = [models.Index(fields=["community", "starts_at"], name="meeting_comm_start")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}：{self.topic}"


class MeetingAppeal(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="links", verbose_name=_("会议"))
    appeal = models.ForeignKey("appeals.Appeal", on_delete=models.PROTECT, related_name="meeting_links",
                               verbose_name=_("诉求"))
    linked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("提交人"))
    linked_at = models.DateTimeField(_("提交时间"), auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = _("提交议事的诉求")
        constraints = [models.UniqueConstraint(fields=["meeting", "appeal"], name="meeting_appeal_once")]


class MeetingParticipant(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="participants",
                                verbose_name=_("会议"))
    role = models.CharField(_("身份"), max_length=20, choices=ParticipantRole.choices)
    name = models.CharField(_("姓名或单位"), max_length=100)

    class Meta:
        verbose_name = verbose_name_plural = _("参会人员")
        ordering = ["role", "id"]


class MeetingDecision(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="decisions", verbose_name=_("会议"))
    kind = models.CharField(_("类型"), max_length=20, choices=DecisionKind.choices, default=DecisionKind.DECISION)
    text = models.CharField(_("内容"), max_length=500)
    owner = models.CharField(_("责任单位"), max_length=100)
    due_date = models.DateField(_("完成时限"))
    state = models.CharField(_("状态"), max_length=20, choices=DecisionState.choices, default=DecisionState.OPEN)
    progress = models.CharField(_("进展"), max_length=500, blank=True)
    done_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = _("议定事项")
        ordering = ["due_date", "id"]
        indexes = [models.Index(fields=["state", "due_date"], name="decision_state_due")]

    def __str__(self) -> str:
        return self.text

    @property
    def done_on_time(self) -> bool:
        return self.done_at is not None and self.done_at.astimezone(CHINA).date() <= self.due_date
