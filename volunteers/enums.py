from django.db import models
from django.utils.translation import gettext_lazy as _


class Skill(models.TextChoices):
    ELDERLY_CARE = "elderly_care", _("助老")
    DISABILITY_AID = "disability_aid", _("助残")
    ERRANDS = "errands", _("代办跑腿")
    REPAIR = "repair", _("家电维修")
    MEDICAL = "medical", _("医疗健康")
    LEGAL = "legal", _("法律咨询")
    COUNSELLING = "counselling", _("心理疏导")
    TUTORING = "tutoring", _("课业辅导")
    CULTURE = "culture", _("文体活动")
    ENVIRONMENT = "environment", _("环境整治")
    PATROL = "patrol", _("治安巡逻")
    MEDIATION = "mediation", _("矛盾调解")


class VolunteerStatus(models.TextChoices):
    ACTIVE = "active", _("在册")
    SUSPENDED = "suspended", _("暂停")
    LEFT = "left", _("已退出")


class ActivityStatus(models.TextChoices):
    OPEN = "open", _("报名中")
    CANCELLED = "cancelled", _("已取消")
    FINISHED = "finished", _("已结束")


class SignupStatus(models.TextChoices):
    SIGNED_UP = "signed_up", _("已报名")
    CANCELLED = "cancelled", _("已取消")
    CHECKED_IN = "checked_in", _("已签到")
    ATTENDED = "attended", _("已签退")


# Sign-ups that hold a place in the activity (the counter counts exactly these).
PLACE_HOLDING = (SignupStatus.SIGNED_UP, SignupStatus.CHECKED_IN, SignupStatus.ATTENDED)


class PointsKind(models.TextChoices):
    EARN = "earn", _("获得")
    REDEEM = "redeem", _("兑换")
    ADJUST = "adjust", _("调整")
    REVERSAL = "reversal", _("冲正")


class PointsSource(models.TextChoices):
    ACTIVITY = "activity", _("志愿活动")
    SERVICE_APPEAL = "service_appeal", _("服务接单")
    REWARD = "reward", _("积分超市")
    MANUAL = "manual", _("人工调整")


class YearlyRating(models.TextChoices):
    EXCELLENT = "excellent", _("优秀")
    GOOD = "good", _("良好")
    QUALIFIED = "qualified", _("合格")
    UNQUALIFIED = "unqualified", _("不合格")


# Best first: a cap "no better than X" is a max() over this order.
RATING_ORDER = [YearlyRating.EXCELLENT, YearlyRating.GOOD, YearlyRating.QUALIFIED, YearlyRating.UNQUALIFIED]
