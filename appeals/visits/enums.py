from django.db import models
from django.utils.translation import gettext_lazy as _


class VisitPeriod(models.TextChoices):
    """How often a care tag's households are visited: once per natural period."""

    WEEK = "week", _("每周")
    FORTNIGHT = "fortnight", _("每两周")
    MONTH = "month", _("每月")


# Shorter first: a household takes the most frequent of its tags' periods.
PERIOD_ORDER = (VisitPeriod.WEEK, VisitPeriod.FORTNIGHT, VisitPeriod.MONTH)


class VisitMethod(models.TextChoices):
    HOME = "home", _("在家")
    PHONE = "phone", _("电话")
    NOT_FOUND = "not_found", _("未见到")


class CheckAnswer(models.TextChoices):
    GOOD = "good", _("正常")
    CONCERN = "concern", _("需关注")
