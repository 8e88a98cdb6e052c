"""The 督办 list (督办清单): appeals at the district 督办 level and every other overdue
appeal being handled, the most overdue first; and the supervisors' notes on them."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.http import RFC3986_SUBDELIMS
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from appeals import events
from appeals.deadlines import deadline_formatter, duration_text, unit_of
from appeals.enums import OPEN_STATES, AppealState, EscalationLevel
from appeals.models import Appeal, AppealEvent, handling_unit_text, place_text
from appeals.selectors import appeal_scope, overdue_q
from governance.kernel.clock import CHINA
from governance.kernel.errors import NotFound
from governance.kernel.keyset import KeysetPage, Sort, capped_count, keyset_page
from governance.reports import tables
from governance.reports.exports import RowSource, write_rows
from governance.reports.tables import PLACE_RELATED, Column, ReportTable, place_texts
from governance.staff.selectors import Jurisdiction, jurisdiction_for


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


def _supervision_filtered(*, jurisdiction: Jurisdiction, filters: SupervisionFilters, now: datetime):
    # Open, and overdue or at the district level. "Open" stands alone as well, although each
    # arm implies it: PostgreSQL proves a partial index's condition from one of the query's
    # conditions, not from an OR whose arms each imply it — so it reads the list in the
    # order of appeal_open_deadline (deadline, id WHERE state IN OPEN_STATES).
    qs = appeal_scope(jurisdiction).filter(
        Q(state__in=OPEN_STATES), overdue_q(now) | Q(escalation_level=EscalationLevel.DISTRICT)
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
    return qs


def _notes_count():
    return Coalesce(Subquery(AppealEvent.objects.filter(
        events.SUPERVISION_NOTE_Q, appeal=OuterRef("pk")
    ).order_by().values("appeal").annotate(n=Count("id")).values("n")), 0)


# The list's one order, the most overdue first: by deadline, ties by id (keyset pages,
# governance.kernel.keyset). Served by the index appeal_open_deadline (Appeal.Meta:
# (deadline, id) of the open appeals, which every row of the list is): a page is read in
# index order from its cursor on, never sorted, whatever its depth.
SUPERVISION_SORT = Sort("deadline", "deadline", nullable=True, label=gettext_lazy("超期最久在前"))


def supervision_queryset(*, jurisdiction: Jurisdiction, filters: SupervisionFilters, now: datetime):
    """Appeals at the district 督办 level and every other overdue appeal being handled,
    the most overdue first (SUPERVISION_SORT), with their 督办 notes counted."""
    qs = _supervision_filtered(jurisdiction=jurisdiction, filters=filters, now=now)
    return qs.annotate(supervision_notes=_notes_count()).select_related(*PLACE_RELATED).order_by(
        *SUPERVISION_SORT.order_by())


def supervision_count(*, jurisdiction: Jurisdiction, filters: SupervisionFilters, now: datetime) -> int:
    """How many appeals the list holds, counted up to COUNT_CAP + 1 (count_text: "1万+")."""
    return capped_count(_supervision_filtered(jurisdiction=jurisdiction, filters=filters, now=now))


@dataclass(frozen=True)
class SupervisionPage:
    table: ReportTable  # the page's rows; ``total`` the capped count of the list
    page: KeysetPage  # the cursors of the pages beside it


def supervision_page(*, jurisdiction: Jurisdiction, filters: SupervisionFilters, now: datetime | None = None,
                     cursor: str | None = None) -> SupervisionPage:
    """A page (PAGE_SIZE rows) of the 督办 list (督办清单): the first, or the one ``cursor``
    points to (BadCursor: 400); it reads the rows it shows and at most COUNT_CAP + 1 for the
    count, however deep. The whole list is exported by ``supervision_export``, streamed."""
    now = now or timezone.now()
    qs = supervision_queryset(jurisdiction=jurisdiction, filters=filters, now=now)
    page = keyset_page(qs, sort=SUPERVISION_SORT, size=tables.PAGE_SIZE, cursor=cursor)
    total = supervision_count(jurisdiction=jurisdiction, filters=filters, now=now)
    return SupervisionPage(table=supervision_rows(page.rows, now=now, total=total), page=page)


def supervision_rows(appeals, *, now: datetime, total: int | None) -> ReportTable:
    """The 督办 list's table of ``appeals`` (a page of supervision_queryset), with its links."""
    table = ReportTable(key="supervision", title=_("督办清单"), columns=supervision_columns(), total=total)
    appeals = list(appeals)
    row = supervision_row_printer(now=now, where=place_texts(appeals))
    # Every link is the same path around the code: reversed once, not twice per row.
    detail, notes = (reverse(name, args=[_CODE]).split(_CODE) for name in ("appeals:detail", "reports:supervision-notes"))
    for appeal in appeals:
        table.rows.append(row(appeal))
        code = quote(appeal.tracking_code, safe=RFC3986_SUBDELIMS + "/~:@")  # as reverse() quotes (units._unit_links)
        table.links.append({"tracking_code": code.join(detail), "notes": code.join(notes)})
    return table


_CODE = "__code__"  # a stand-in for a tracking code in a reversed path


def supervision_row(appeal: Appeal, *, now: datetime) -> dict:
    return supervision_row_printer(now=now)(appeal)


def _texts() -> tuple[dict, dict, str]:
    """The texts of the escalation levels and states, and of no category, translated once
    for many rows (get_FOO_display translates every choice at each call)."""
    return ({k: str(v) for k, v in EscalationLevel.choices}, {k: str(v) for k, v in AppealState.choices},
            _("未分类"))


def _where(appeal: Appeal) -> tuple[str, str]:
    return appeal.place_name, appeal.handling_unit_name


def supervision_row_printer(*, now: datetime, where: Callable[[Appeal], tuple[str, str]] = _where,
                            ) -> Callable[[Appeal], dict]:
    """``row(appeal)``: an appeal's row of the list at ``now``, its texts translated once
    for all the rows it prints; ``where``: its place and handler (tables.place_texts for many)."""
    levels, states, uncategorised = _texts()
    text = deadline_formatter(with_year=True)

    def row(appeal: Appeal) -> dict:
        overdue, hours = overdue_parts(now=now, deadline=appeal.deadline)
        place, handler = where(appeal)
        return _row(
            tracking_code=appeal.tracking_code,
            category=appeal.category.name if appeal.category_id else uncategorised,
            place=place, handler=handler,
            level=levels.get(appeal.escalation_level, ""), state=states.get(appeal.state, appeal.state),
            deadline_text=text(appeal.deadline, unit_of(appeal)), overdue=overdue, overdue_hours=hours,
            deferred=appeal.deferred, last_reminded_at=appeal.last_reminded_at,
            notes=getattr(appeal, "supervision_notes", 0),
        )

    return row


def overdue_parts(*, now: datetime, deadline: datetime | None) -> tuple[str, int]:
    """How long past its deadline an appeal is at ``now``: in words ("" when not yet) and in hours."""
    late = now - deadline if deadline else timedelta(0)
    if late <= timedelta(0):
        return "", 0
    return duration_text(late), int(late.total_seconds() // 3600)


def _row(*, tracking_code: str, category: str, place: str, handler: str, level: str, state: str,
         deadline_text: str, overdue: str, overdue_hours: int, deferred: bool,
         last_reminded_at: datetime | None, notes: int) -> dict:
    """A row of the list (page, export)."""
    return {
        "tracking_code": tracking_code, "category": category, "place": place, "handler": handler,
        "level": level, "state": state, "deadline": deadline_text, "overdue": overdue,
        "overdue_hours": overdue_hours, "deferred": _("是") if deferred else "",
        "last_reminded": (timezone.localtime(last_reminded_at, CHINA).strftime("%Y-%m-%d %H:%M")
                          if last_reminded_at else ""),
        "notes": notes,
    }


# What an exported row reads: values, not model instances (a row costs microseconds, not
# the tens of microseconds of nine related instances).
_EXPORT_VALUES = (
    "pk", "tracking_code", "category_id", "category__name", "category__resolution_unit", "community__name",
    "grid__name", "street__name", "handling_level", "handling_grid__name", "handling_grid__community__name",
    "handling_community__name", "handling_street__name", "handling_department__name", "queue_level",
    "escalation_level", "state", "deadline", "deadline_unit", "deferred", "last_reminded_at",
)
EXPORT_CHUNK = 2000  # rows per fetch of the server-side cursor


def supervision_export(*, jurisdiction: Jurisdiction, filters: SupervisionFilters,
                       now: datetime | None = None) -> RowSource:
    """The whole 督办 list as an export (issue 23): the rows read from a server-side cursor
    (``rows()`` inside a transaction: governance.reports.exports), the count bounded."""
    now = now or timezone.now()
    filtered = _supervision_filtered(jurisdiction=jurisdiction, filters=filters, now=now)

    def count(limit: int) -> int:
        return filtered.order_by().values("pk")[:limit].count()

    def rows() -> Iterator[dict]:
        levels, states, uncategorised = _texts()
        text = deadline_formatter(with_year=True)
        # 督办 notes are few: counted in one query, not in a subquery per row (which ran
        # for every row before the sort, so before the first one was sent).
        notes = dict(AppealEvent.objects.filter(events.SUPERVISION_NOTE_Q, appeal__in=filtered.values("pk"))
                     .order_by().values("appeal").annotate(n=Count("id")).values_list("appeal", "n"))
        # Rows come by deadline, and working-day deadlines all fall at 00:00: a run of rows
        # shares one, whose texts are worked out once.
        last_key, parts = None, None
        qs = filtered.order_by("deadline", "id").values_list(*_EXPORT_VALUES)
        for (pk, code, category_id, category, category_unit, community, grid, street, handling_level, h_grid,
             h_grid_community, h_community, h_street, h_department, queue_level, escalation_level, state,
             deadline, deadline_unit, deferred, reminded) in qs.iterator(chunk_size=EXPORT_CHUNK):
            # the unit of the limit: the appeal's, else its category's (deadlines.unit_of)
            unit = deadline_unit or category_unit
            if (deadline, unit) != last_key:
                last_key = (deadline, unit)
                parts = (text(deadline, unit), *overdue_parts(now=now, deadline=deadline))
            yield _row(
                tracking_code=code, category=category if category_id else uncategorised,
                place=place_text(community_name=community or "", grid_name=grid or "", street_name=street or ""),
                handler=handling_unit_text(
                    level=handling_level, unit_name=h_grid or h_community or h_street or h_department or "",
                    grid_community_name=h_grid_community or "", queue_level=queue_level,
                    community_name=community or "", street_name=street or ""),
                level=levels.get(escalation_level, ""), state=states.get(state, state),
                deadline_text=parts[0], overdue=parts[1], overdue_hours=parts[2],
                deferred=deferred, last_reminded_at=reminded, notes=notes.get(pk, 0),
            )

    return RowSource(key="supervision", title=_("督办清单"), columns=supervision_columns(), rows=rows, count=count)


def supervision_notes(*, appeal: Appeal) -> list[AppealEvent]:
    return list(
        AppealEvent.objects.filter(events.SUPERVISION_NOTE_Q, appeal=appeal)
        .order_by("-created_at", "-id")
    )


def overdue_count(*, jurisdiction: Jurisdiction, now: datetime | None = None) -> int:
    """Overdue appeals being handled inside the jurisdiction (the home card)."""
    now = now or timezone.now()
    return appeal_scope(jurisdiction).filter(overdue_q(now)).count()


def supervision_export_job(*, job, out, progress) -> int:
    """The export job's writer of the 督办 list (registered in ReportsConfig.ready): the
    requester's jurisdiction as it is now, the filters and the time of the request."""
    source = supervision_export(jurisdiction=jurisdiction_for(job.user),
                                filters=SupervisionFilters(**job.params.get("filters", {})), now=job.created_at)
    return write_rows(source, fmt=job.fmt, out=out, progress=progress)
