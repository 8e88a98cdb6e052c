"""The choices of the Open311 (GeoReport v2) endpoint."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AttributeType(models.TextChoices):
    STRING = "string", _("单行文本")
    NUMBER = "number", _("数字")
    DATETIME = "datetime", _("日期时间")
    TEXT = "text", _("多行文本")
    SINGLE = "singlevaluelist", _("单选")
    MULTI = "multivaluelist", _("多选")
