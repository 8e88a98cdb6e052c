"""The choices of residents' deliberation (民主协商): meeting kinds and states, who took
part, decision kinds and states."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class MeetingKind(models.TextChoices):
    CONSULTATION = "consultation", _("民情恳谈会")
    COORDINATION = "coordination", _("民事协调会")
    HEARING = "hearing", _("民意听证会")
    EVALUATION = "evaluation", _("民主评议会")


class MeetingState(models.TextChoices):
    SCHEDULED = "scheduled", _("待召开")
    HELD = "held", _("已召开")
    CANCELLED = "cancelled", _("已取消")


class ParticipantRole(models.TextChoices):
    """Who took part besides the residents (counted, never named)."""

    PARTY_MEMBER = "party_member", _("党员")
    DEPUTY = "deputy", _("两代表一委员")
    PROPERTY = "property", _("物业服务企业")
    OWNERS_COMMITTEE = "owners_committee", _("业主委员会")
    UNIT = "unit", _("驻区单位")


class DecisionKind(models.TextChoices):
    DECISION = "decision", _("议定事项")
    RECTIFICATION = "rectification", _("整改事项")  # of a 民主评议会


class DecisionState(models.TextChoices):
    OPEN = "open", _("待落实")
    IN_PROGRESS = "in_progress", _("落实中")
    DONE = "done", _("已完成")
