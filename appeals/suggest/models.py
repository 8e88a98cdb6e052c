"""The stored category models and the record of each suggestion shown.

Imported by appeals.models, so the models belong to the appeals app."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class SuggestionPlace(models.TextChoices):
    FORM = "form", _("居民提交表单")
    INTAKE = "intake", _("受理时自动分类")
    DISPATCH = "dispatch", _("派单/改派页面")


class CategoryModel(models.Model):
    """One trained model: its bytes (≤ 20 MB), what it was trained on and how it measured
    on its held-out fifth. The current one is the newest ``active`` row."""

    version = models.PositiveIntegerField(_("版本"), unique=True)
    # Names this row's bytes for the per-process cache (a version number alone could name
    # two models: a test database rolled back, a database restored from a backup).
    token = models.CharField(_("标识"), max_length=32, editable=False)
    created_at = models.DateTimeField(_("训练时间"), auto_now_add=True)
    features = models.CharField(_("文本特征"), max_length=60)
    classifier = models.CharField(_("分类器"), max_length=60)
    corpus_size = models.PositiveIntegerField(_("语料条数"))
    appeals_size = models.PositiveIntegerField(_("诉求条数"))
    training_size = models.PositiveIntegerField(_("训练集条数"))
    holdout_size = models.PositiveIntegerField(_("留出集条数"))
    top1 = models.FloatField(_("留出集首选准确率"))
    top3 = models.FloatField(_("留出集前三准确率"))
    # The current model's figures on this model's held-out set, when there was one: the
    # comparison that decided the replacement.
    previous_top1 = models.FloatField(_("原模型首选准确率"), null=True, blank=True)
    previous_top3 = models.FloatField(_("原模型前三准确率"), null=True, blank=True)
    active = models.BooleanField(_("已启用"), default=False)
    seconds = models.FloatField(_("训练耗时（秒）"), default=0)
    size_bytes = models.PositiveIntegerField(_("模型大小（字节）"))
    blob = models.BinaryField(_("模型"), editable=False)

    class Meta:
        verbose_name = verbose_name_plural = _("分类模型")
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"v{self.version}"


class CategorySuggestion(models.Model):
    """A suggestion shown (the form, the intake, the dispatcher's page) and what was
    chosen: accepted when the category chosen is among the three shown (``rank`` says
    where: 1 is the first), overridden otherwise."""

    appeal = models.ForeignKey(
        "appeals.Appeal", on_delete=models.CASCADE, related_name="category_suggestions", verbose_name=_("诉求"))
    place = models.CharField(_("建议位置"), max_length=10, choices=SuggestionPlace.choices)
    model_version = models.PositiveIntegerField(_("模型版本"))
    shown = models.JSONField(_("建议类别（前三）"), default=list)
    confidence = models.FloatField(_("首选置信度"))
    chosen = models.CharField(_("选定类别"), max_length=10, blank=True)
    accepted = models.BooleanField(_("采纳"))
    rank = models.PositiveSmallIntegerField(_("选定类别的名次"), null=True, blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = _("分类建议记录")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["created_at"], name="suggestion_created"),
            models.Index(fields=["appeal", "place"], name="suggestion_appeal_place"),
        ]

    def __str__(self) -> str:
        return f"{self.appeal_id} {self.place} {self.chosen}"
