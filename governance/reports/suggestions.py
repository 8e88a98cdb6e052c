"""智能分拨's acceptance (issue 26): per month and where the suggestion was shown (the
residents' form, the intake's automatic routing, the dispatcher's page), how many were
shown, how many accepted (the category chosen was among the three shown; for the intake,
not corrected by a dispatcher since) and how many took the first. Figures only."""

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from appeals.suggest.models import CategoryModel
from appeals.suggest.records import acceptance_by_month
from governance.assessment.formulas import rate
from governance.assessment.periods import month_start, today_local
from governance.kernel.clock import CHINA
from governance.reports.tables import Column, ReportTable
from governance.staff.selectors import Jurisdiction

MONTHS = 12


@dataclass
class SuggestionReport:
    months: ReportTable
    models: ReportTable


def suggestion_report(*, jurisdiction: Jurisdiction, now: datetime | None = None) -> SuggestionReport:
    """The last MONTHS months (this one included, still counting) of the appeals inside
    the jurisdiction, and the models trained."""
    now = now or timezone.now()
    first = month_start(today_local(now))
    for _i in range(MONTHS - 1):
        first = month_start(first - timedelta(days=1))
    start = datetime.combine(first, time.min, tzinfo=CHINA)
    found = acceptance_by_month(start=start, end=now + timedelta(seconds=1),
                                scope=lambda qs: jurisdiction.scope(qs, "appeal__territory_code"))
    rows = []
    by_month: dict = {}
    for r in found:
        by_month.setdefault(r.month, []).append(r)
    for month in sorted(by_month, reverse=True):
        items = by_month[month]
        label = f"{month.year}年{month.month}月"
        for r in items:
            rows.append({"month": label, "place": r.place_label, "shown": r.shown, "accepted": r.accepted,
                         "rate": rate(r.accepted, r.shown), "first": r.first, "first_rate": rate(r.first, r.shown)})
        shown, accepted, first_n = (sum(r.shown for r in items), sum(r.accepted for r in items),
                                    sum(r.first for r in items))
        rows.append({"month": label, "place": _("合计"), "shown": shown, "accepted": accepted,
                     "rate": rate(accepted, shown), "first": first_n, "first_rate": rate(first_n, shown)})
    months = ReportTable(key="suggestions-months", title=_("分拨建议采纳率（按月）"), columns=[
        Column("month", _("月份")), Column("place", _("建议位置")), Column("shown", _("建议次数"), "int"),
        Column("accepted", _("采纳（选定类别在前三内）"), "int"), Column("rate", _("采纳率(%)"), "rate"),
        Column("first", _("选定首选"), "int"), Column("first_rate", _("首选命中率(%)"), "rate"),
    ], rows=rows)
    model_rows = [{
        "version": f"v{m.version}", "created": timezone.localtime(m.created_at, CHINA).strftime("%Y-%m-%d %H:%M"),
        "active": _("现用") if m.active else "", "training_size": m.training_size, "appeals_size": m.appeals_size,
        "holdout_size": m.holdout_size, "top1": rate(round(m.top1 * 10000), 10000),
        "top3": rate(round(m.top3 * 10000), 10000),
    } for m in CategoryModel.objects.defer("blob").order_by("-version")[:10]]
    models = ReportTable(key="suggestions-models", title=_("类别模型（最近 10 次训练）"), columns=[
        Column("version", _("版本")), Column("created", _("训练时间")), Column("active", _("状态")),
        Column("training_size", _("训练集"), "int"), Column("appeals_size", _("其中诉求"), "int"),
        Column("holdout_size", _("留出集"), "int"), Column("top1", _("留出集首选准确率(%)"), "rate"),
        Column("top3", _("留出集前三准确率(%)"), "rate"),
    ], rows=model_rows)
    return SuggestionReport(months=months, models=models)
