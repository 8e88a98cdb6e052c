"""One unit's page: its measures against its parent's, its children and departments, the
12-month trend, the category breakdown and the appeals that pull its rates down."""

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import connection
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from appeals.deadlines import deadline_formatter, duration_text, unit_of
from appeals.enums import AppealState, Rating
from appeals.models import Category
from appeals.selectors import appeal_scope, late_q
from governance.assessment import enums as assessment_enums
from governance.assessment import flows, formulas
from governance.assessment.enums import UnitKind
from governance.assessment.models import MonthlyScore
from governance.assessment.periods import Period, day_window, month_start, previous_month
from governance.assessment.selectors import scores_for
from governance.kernel import shared_cache
from governance.kernel.codes import descendants_q
from governance.kernel.errors import NotFound
from governance.reports.deliberation import deliberation_table
from governance.reports.scope import unit_name
from governance.reports.tables import CHILD, LIST_LIMIT, PLACE_RELATED, Column, ReportTable, place_texts
from governance.reports.units import MEASURES, score_dict, unit_table
from governance.staff.selectors import Jurisdiction

# The category table's flows (governance.assessment.flows), in its columns' order.
CATEGORY_FLOWS = ("received", "dispatched", "resolved", "closed", "escalated", "unsatisfied", "reworked", "overdue")


@dataclass
class UnitReport:
    kind: str
    code: str
    name: str
    period: Period
    row: dict
    final: bool = False
    as_of: datetime | None = None
    flows_as_of: datetime | None = None  # the category table's data time (the flows' last refresh)
    parent: tuple[str, str, str] | None = None  # (kind, code, name) when the viewer may open it
    benchmark_name: str = ""
    measures: list[dict] = field(default_factory=list)  # each as compare_measure gives it
    children: ReportTable | None = None
    departments: ReportTable | None = None
    trend: dict = field(default_factory=dict)
    categories: ReportTable | None = None
    problems: ReportTable | None = None
    deliberation: ReportTable | None = None  # 民主协商 (governance.reports.deliberation)


def _everyone() -> Jurisdiction:
    # The parent's figures are a benchmark (an aggregate, no personal data): a community
    # worker compares the community with its street without being able to open the street.
    return Jurisdiction(user_id=None, everything=True)


def compare_measure(*, measure: assessment_enums.Measure, value, benchmark) -> dict:
    """One row of the unit page's comparison with the parent unit: ``comparison`` is
    "higher", "lower" or "equal" (None without both figures) — the words "高于上级" /
    "低于上级" — and ``low`` says whether that is worse, which for a lower-is-better
    measure (返工率) is being higher: the colour."""
    comparison = None
    if value is not None and benchmark is not None:
        comparison = "higher" if value > benchmark else "lower" if value < benchmark else "equal"
    return {
        "key": measure.key, "label": str(measure.label), "value": value, "benchmark": benchmark,
        "lower_is_better": measure.lower_is_better, "comparison": comparison,
        "low": comparison is not None and measure.worse(value, benchmark),
    }


def unit_report(*, jurisdiction: Jurisdiction, period: Period, kind: str, code: str,
                sort: str | None = None, now: datetime | None = None) -> UnitReport:
    """Everything a unit page shows: its measures against its parent's, rank and change,
    its children (drill-down) and, for a district or the city, its departments; the
    12-month trend; the category breakdown and its problem appeals. NotFound outside."""
    if kind not in UnitKind.values:
        raise NotFound()
    table = scores_for(jurisdiction=jurisdiction, period=period, level=kind, parent_code=code)
    found = next((r for r in table.rows if r.unit_code == code), None)
    if found is None:
        raise NotFound()
    report = UnitReport(kind=kind, code=code, name=found.unit_name or unit_name(kind, code), period=period,
                        row=score_dict(found), final=table.final, as_of=table.as_of)
    chain = formulas.ancestors(kind, code)
    benchmark = {}
    if len(chain) > 1:
        parent_kind, parent_code = chain[1]
        parent_scores = scores_for(jurisdiction=_everyone(), period=period, level=parent_kind, parent_code=parent_code)
        parent_row = next((r for r in parent_scores.rows if r.unit_code == parent_code), None)
        if parent_row is not None:
            benchmark = score_dict(parent_row)
            report.benchmark_name = parent_row.unit_name or unit_name(parent_kind, parent_code)
            if jurisdiction.covers(parent_code):
                report.parent = (parent_kind, parent_code, report.benchmark_name)
    for measure in MEASURES:
        report.measures.append(compare_measure(
            measure=measure, value=report.row.get(measure.key), benchmark=benchmark.get(measure.key),
        ))
    child = CHILD.get(kind)
    if child:
        report.children = unit_table(jurisdiction=jurisdiction, period=period, level=child,
                                     parent_code=None if kind == UnitKind.CITY else code, sort=sort)
    if kind in (UnitKind.CITY, UnitKind.DISTRICT):
        report.departments = unit_table(jurisdiction=jurisdiction, period=period, level=UnitKind.DEPARTMENT,
                                        parent_code=None if kind == UnitKind.CITY else code, sort=sort)
    report.trend = unit_trend(kind=kind, code=code, last_month=month_start(period.last))
    report.flows_as_of, flows_token = flows.flows_state()
    report.categories = category_breakdown(jurisdiction=jurisdiction, period=period, kind=kind, code=code, now=now,
                                           flows_token=flows_token)
    report.problems = problem_appeals(jurisdiction=jurisdiction, period=period, kind=kind, code=code, now=now)
    report.deliberation = deliberation_table(period=period, kind=kind, code=code)
    return report


def unit_trend(*, kind: str, code: str, last_month: date, months: int = 12) -> dict:
    """The stored monthly rates of one unit for the ``months`` months up to ``last_month``
    (one query); a month with no stored score or an empty denominator is null."""
    first = last_month
    for _i in range(months - 1):
        first = previous_month(first)
    stored = {
        m.month: m for m in MonthlyScore.objects.filter(
            unit_kind=kind, unit_code=code, month__gte=first, month__lte=last_month,
        ).only("month", "response_rate", "resolution_rate", "satisfaction_rate", "composite", "due")
    }
    labels, series = [], {"response_rate": [], "resolution_rate": [], "satisfaction_rate": [], "composite": []}
    month = first
    for _i in range(months):
        labels.append(f"{month:%Y-%m}")
        score = stored.get(month)
        for key in series:
            value = getattr(score, key) if score else None
            series[key].append(None if value is None else float(value))
        month = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return {"months": labels, **series}


# The appeal's place column of each level: a unit's appeals are those of its own key
# (a parent key, indexed by appeal_comm_state_created / appeal_street_state_created …), never a LIKE.
_PLACE_KEY = {
    UnitKind.GRID: "grid_id", UnitKind.COMMUNITY: "community_id", UnitKind.STREET: "street_id",
    UnitKind.DISTRICT: "district_id", UnitKind.DEPARTMENT: "handling_department__code",
}


def _unit_appeals(*, jurisdiction: Jurisdiction, period: Period, kind: str, code: str):
    """The appeals due in the period at the unit's place (a department: handled by it),
    inside the jurisdiction: the deadline range and the unit's key (the city: its
    districts' code range, governance.kernel.codes)."""
    start, end = day_window(period.first, period.last)
    qs = appeal_scope(jurisdiction).filter(deadline__gt=start, deadline__lte=end).exclude(
        state__in=(AppealState.WITHDRAWN, AppealState.DECLINED)
    )
    if kind == UnitKind.CITY:
        return qs.filter(descendants_q("district_id", code[:4]))
    return qs.filter(**{_PLACE_KEY[kind]: code})


# The sums stay right as long as the flows' token (renewed by each refresh, every few
# minutes): this only bounds the space.
CATEGORY_CACHE_SECONDS = 3600


def category_breakdown(*, jurisdiction: Jurisdiction, period: Period, kind: str, code: str,
                       now: datetime | None = None, flows_token: str | None = None) -> ReportTable:
    """The unit's flows in the period by category — received, dispatched, resolved,
    closed, escalated, unsatisfied, reworked — and the appeals overdue at its end (or at
    the flows' last refresh): summed from the unit's daily flows (one query, and one for
    the categories' names), by place (a department: the appeals it handles), so it can
    differ slightly from the scores, which count an appeal for the unit holding it at
    its deadline.

    The overdue stock is a running sum over every day up to the period's end, so the query
    reads the unit's rows of its whole history (a street at L: ~50 categories a day, a
    year ≈ 18,000 rows). Given ``flows_token`` (flows.flows_state), the sums are kept in
    the shared cache under it: read once per unit and period between two refreshes."""
    key = None
    if flows_token:
        name = repr(("v1", flows_token, connection.settings_dict["NAME"], kind, code, period.first, period.last))
        key = f"reports:unit-categories:{hashlib.sha256(name.encode()).hexdigest()}"
    found = shared_cache.get(key, what="reports") if key else None
    if found is None:
        found = flows.unit_category_flows(kind=kind, code=code, first=period.first, last=period.last)
        found.sort(key=lambda r: (-r["received"], -r["overdue"], r["category_code"]))
        found = found[:LIST_LIMIT]
        if key:
            shared_cache.put(key, found, CATEGORY_CACHE_SECONDS, what="reports")
    names = dict(Category.objects.filter(code__in=[r["category_code"] for r in found if r["category_code"]])
                 .values_list("code", "name"))
    rows = [{"category_code": r["category_code"], "category": names.get(r["category_code"]) or _("未分类"),
             **{key: r[key] for key in CATEGORY_FLOWS}} for r in found]
    return ReportTable(
        key="categories", title=_("诉求类别分布"), rows=rows,
        columns=[
            Column("category_code", _("类别编码"), "code"), Column("category", _("类别")),
            Column("received", _("受理"), "int"), Column("dispatched", _("派单"), "int"),
            Column("resolved", _("办结"), "int"), Column("closed", _("结案"), "int"),
            Column("escalated", _("升级"), "int"), Column("unsatisfied", _("不满意"), "int"),
            Column("reworked", _("返工"), "int"), Column("overdue", _("期末超期"), "int"),
        ],
    )


def problem_appeals(*, jurisdiction: Jurisdiction, period: Period, kind: str, code: str,
                    now: datetime | None = None) -> ReportTable:
    """The unit's appeals that pull its rates down: overdue, unsatisfied or reworked —
    the most overdue first, at most LIST_LIMIT (one query, and place_texts' one). No personal data."""
    now = now or timezone.now()
    overdue = late_q(now)
    appeals = list(
        _unit_appeals(jurisdiction=jurisdiction, period=period, kind=kind, code=code)
        .filter(overdue | Q(rating=Rating.UNSATISFIED) | Q(rework_count__gt=0))
        .select_related(*PLACE_RELATED).order_by("deadline", "id")[:LIST_LIMIT]
    )
    where = place_texts(appeals)
    # Translated once for the rows, not per row (get_state_display translates every state).
    states, deadline = {k: str(v) for k, v in AppealState.choices}, deadline_formatter(with_year=True)
    rows, links = [], []
    for appeal in appeals:
        place, handler = where(appeal)
        problems = []
        late = (appeal.resolved_at or now) - appeal.deadline
        if late > timedelta(0):
            problems.append(_("超期%(t)s") % {"t": duration_text(late)})
        if appeal.rating == Rating.UNSATISFIED:
            problems.append(_("不满意"))
        if appeal.rework_count:
            problems.append(_("返工%(n)s次") % {"n": appeal.rework_count})
        rows.append({
            "tracking_code": appeal.tracking_code,
            "category": appeal.category.name if appeal.category_id else _("未分类"),
            "place": place, "handler": handler, "state": states.get(appeal.state, appeal.state),
            "deadline": deadline(appeal.deadline, unit_of(appeal)),
            "problem": "、".join(problems),
        })
        links.append({"tracking_code": reverse("appeals:detail", args=[appeal.tracking_code])})
    return ReportTable(
        key="problems", title=_("超期、不满意和返工的诉求"), rows=rows, links=links,
        columns=[
            Column("tracking_code", _("查询码"), "code"), Column("category", _("类别")),
            Column("place", _("地点")), Column("handler", _("办理单位")), Column("state", _("状态")),
            Column("deadline", _("办结时限")), Column("problem", _("问题")),
        ],
    )
