"""The visit plans (one rule per care tag, edited in the admin) and the visits.

Imported by appeals.models, so the models belong to the appeals app."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from appeals.visits.enums import VisitMethod, VisitPeriod
from grids.enums import CareTag

DEFAULT_CHECKLIST = "健康状况\n居住安全\n生活条件\n需求诉求"


class VisitRule(models.Model):
    """走访频次: how often the households of one care tag are visited, whether a phone call
    counts, and the checklist the visitor fills in."""

    care_tag = models.CharField(_("关怀标签"), max_length=20, choices=CareTag.choices, unique=True)
    period = models.CharField(_("走访频次"), max_length=10, choices=VisitPeriod.choices)
    phone_counts = models.BooleanField(_("电话走访计为完成"), default=False)
    category = models.ForeignKey(
        "appeals.Category", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("发现需求的默认类别"), help_text=_("从走访发起诉求时预填的类别"))
    checklist = models.TextField(
        _("走访检查项"), default=DEFAULT_CHECKLIST, help_text=_("每行一项，如 健康状况、居住安全、生活条件、需求诉求"))

    class Meta:
        verbose_name = verbose_name_plural = _("走访频次设置")
        ordering = ["care_tag"]

    def __str__(self) -> str:
        return f"{self.get_care_tag_display()}：{self.get_period_display()}"

    @property
    def checklist_items(self) -> list[str]:
        return [line.strip() for line in self.checklist.splitlines() if line.strip()][:12]


class Visit(models.Model):
    """One 入户走访 of a household, written once (appeals.visits.services.visit_record)."""

    household = models.ForeignKey("grids.Household", on_delete=models.PROTECT, related_name="visits",
                                  verbose_name=_("住户"))
    # The household's grid code, denormalised for scoped queries (as Appeal.territory_code).
    territory_code = models.CharField(_("辖区编码"), max_length=20, db_index=True)
    visited_at = models.DateTimeField(_("走访时间"))
    visitor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("走访人"))
    visitor_label = models.CharField(_("走访人"), max_length=100)
    companions = models.CharField(_("同行人员"), max_length=100, blank=True)
    method = models.CharField(_("走访方式"), max_length=10, choices=VisitMethod.choices)
    # {checklist item: "good" | "concern"}, as the tag's checklist read at the visit.
    checklist = models.JSONField(_("走访情况"), default=dict, blank=True)
    notes = models.TextField(_("走访记录"), blank=True)
    photos = models.JSONField(_("照片"), default=list, blank=True)  # names in the media storage
    # Counts as the period's visit: at home, or by phone when the household's rule says so.
    counts_done = models.BooleanField(_("计为完成"))
    appeals = models.ManyToManyField("appeals.Appeal", related_name="home_visits", blank=True,
                                     verbose_name=_("走访发现的诉求"))

    class Meta:
        verbose_name = verbose_name_plural = _("入户走访")
        ordering = ["-visited_at", "-id"]
        indexes = [
            models.Index(fields=["household", "-visited_at"], name="visit_household_time"),
            models.Index(fields=["territory_code", "visited_at"], name="visit_code_time"),
        ]

    def __str__(self) -> str:
        return f"{self.household_id} {self.visited_at:%Y-%m-%d}"
