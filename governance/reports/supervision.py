"""The 督办 list (督办清单): appeals at the district 督办 level and every other overdue
appeal being handled, the most overdue first; and the supervisors' notes on them."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from appeals import events
from appeals.deadlines import deadline_text, duration_text
from appeals.enums import OPEN_STATES, EscalationLevel
from appeals.models import Appeal, AppealEvent
from appeals.selectors import appeal_scope, overdue_q
from governance.kernel.clock import CHINA
from governance.kernel.errors import NotFound
from governance.reports import tables
from governance.reports.tables import PLACE_RELATED, Column, ReportTable
from governance.staff.selectors import Jurisdiction


@dataclass(frozen=True)
class SupervisionFilters:
    unit: str = ""  # a territory code prefix inside the jurisdiction
    category: str = ""  # a category code
    min_days: int | None = None  # overdue at least this many days
    max_days: int | None = None  # overdue less than this many days
    district_only: bool = False  # only appeals at the district 督办 level


def supervision_columns() -> list[Column]:
    return [
        Column("tracking_code", _("查询码"), "code"), Column("category", _("类别")),
        Column("place", _("地点")), Column("handler", _("办理单位")), Column("level", _("督办层级")),
        Column("state", _("状态")), Column("deadline", _("办结时限")), Column("overdue", _("超期时长")),
        Column("overdue_hours", _("超期(小时)"), "int"), Column("deferred", _("缓办")),
        Column("last_reminded", _("最近催办")), Column("notes", _("督办意见数"), "int"),
    ]


def supervision_queryset(*, jurisdiction: Jurisdiction, filters: SupervisionFilters, now: datetime):
    """Appeals at the district 督办 level and every other overdue appeal being handled,
    the most overdue first. Indexed: (state, deadline) plus the scope's code prefix."""
    qs = appeal_scope(jurisdiction).filter(
        overdue_q(now) | Q(state__in=OPEN_STATES, escalation_level=EscalationLevel.DISTRICT)
    )
    if filters.unit:
        if not jurisdiction.covers(filters.unit):
            raise NotFound()
        qs = qs.filter(territory_code__startswith=filters.unit)
    if filters.category:
        qs = qs.filter(category__code=filters.category)
    if filters.district_only:
        qs = qs.filter(escalation_level=EscalationLevel.DISTRICT)
    if filters.min_days is not None:
        qs = qs.filter(deadline__lte=now - timedelta(days=filters.min_days))
    if filters.max_days is not None:
        qs = qs.filter(deadline__gt=now - timedelta(days=filters.max_days))
    notes = AppealEvent.objects.filter(
        events.SUPERVISION_NOTE_Q, appeal=OuterRef("pk")
    ).order_by().values("appeal").annotate(n=Count("id")).values("n")
    return qs.annotate(supervision_notes=Coalesce(Subquery(notes), 0)).select_related(*PLACE_RELATED).order_by(
        "deadline", "id"
    )


def supervision_table(*, jurisdiction: Jurisdiction, filters: SupervisionFilters, now: datetime | None = None,
                      page: int | None = None) -> ReportTable:
    """The 督办 list (督办清单). ``page``: PAGE_SIZE rows of it; None: all (exports)."""
    now = now or timezone.now()
    qs = supervision_queryset(jurisdiction=jurisdiction, filters=filters, now=now)
    table = ReportTable(key="supervision", title=_("督办清单"), columns=supervision_columns())
    if page is not None:
        table.total = qs.count()
        start = (max(page, 1) - 1) * tables.PAGE_SIZE
        qs = qs[start:start + tables.PAGE_SIZE]
    for appeal in qs.iterator(chunk_size=500) if page is None else qs:
        table.rows.append(supervision_row(appeal, now=now))
        table.links.append({"tracking_code": reverse("appeals:detail", args=[appeal.tracking_code]),
                            "notes": reverse("reports:supervision-notes", args=[appeal.tracking_code])})
    if table.total is None:
        table.total = len(table.rows)
    return table


def supervision_row(appeal: Appeal, *, now: datetime) -> dict:
    late = now - appeal.deadline if appeal.deadline else timedelta(0)
    return {
        "tracking_code": appeal.tracking_code,
        "category": appeal.category.name if appeal.category_id else _("未分类"),
        "place": appeal.place_name, "handler": appeal.handling_unit_name,
        "level": appeal.get_escalation_level_display() or "",
        "state": appeal.get_state_display(),
        "deadline": deadline_text(appeal, with_year=True),
        "overdue": duration_text(late) if late > timedelta(0) else "",
        "overdue_hours": int(late.total_seconds() // 3600) if late > timedelta(0) else 0,
        "deferred": _("是") if appeal.deferred else "",
        "last_reminded": (timezone.localtime(appeal.last_reminded_at, CHINA).strftime("%Y-%m-%d %H:%M")
                          if appeal.last_reminded_at else ""),
        "notes": getattr(appeal, "supervision_notes", 0),
    }


def supervision_notes(*, appeal: Appeal) -> list[AppealEvent]:
    return list(
        AppealEvent.objects.filter(events.SUPERVISION_NOTE_Q, appeal=appeal)
        .order_by("-created_at", "-id")
    )


def overdue_count(*, jurisdiction: Jurisdiction, now: datetime | None = None) -> int:
    """Overdue appeals being handled inside the jurisdiction (the home card)."""
    now = now or timezone.now()
    return appeal_scope(jurisdiction).filter(overdue_q(now)).count()
