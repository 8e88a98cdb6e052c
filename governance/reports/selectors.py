"""The supervisor reports (issue 5), read-only and scoped to the viewer.

Where the figures come from:
- unit tables, unit pages, trends, rankings and the home card read the stored scores
  (governance.assessment: MonthlyScore for a month, DailyTally sums for a quarter or a
  custom range — sums of numerators and denominators, never averages of rates);
  a page of a month's unit table (the ranking page) is sorted and cut in SQL and loads
  one page of rows, whatever the number of units, then kept in the shared cache until
  the scores are computed again; exports and the API read every row;
- the category breakdown, the list of a unit's problem appeals, the 督办 list and the
  hot spots are bounded, indexed queries on the appeal table: one unit (a code-prefix
  filter on ``territory_code``) or the viewer's jurisdiction, one period of at most a
  year (``deadline``/``created_at`` ranges, both indexed), grouped in SQL and cut to a
  fixed number of rows — never a scan of all appeals in Python;
- the staffing ratio reads the units and the counted posts (four queries).

Scope: everything goes through ``scores_for`` / ``stored_month`` (units inside the
jurisdiction) or ``appeals.selectors.appeal_scope``; a unit outside the jurisdiction is
NotFound (404).
"""

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from urllib.parse import quote

from django.conf import settings
from django.db import connection
from django.db.models import Case, Count, F, Max, Min, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce, Collate, NullIf
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.http import RFC3986_SUBDELIMS, urlencode
from django.utils.translation import gettext as _

from appeals import events
from appeals.deadlines import deadline_text
from appeals.enums import OPEN_STATES, AppealState, EscalationLevel, Rating
from appeals.models import Appeal, AppealEvent
from appeals.selectors import appeal_scope, overdue_q
from governance.assessment import enums as assessment_enums
from governance.assessment import formulas
from governance.assessment.enums import UnitKind
from governance.assessment.models import MonthlyScore
from governance.assessment.periods import (
    CHINA,
    Period,
    day_window,
    month_start,
    previous_month,
    today_local,
)
from governance.assessment.selectors import (
    ScoreRow,
    StoredMonth,
    scores_for,
    scores_token,
    stored_month,
    stored_rows,
)
from governance.enums import Role, staffing_roles
from governance.kernel import shared_cache
from governance.kernel.errors import ActionForbidden, ApplicationError, NotFound
from governance.kernel.privacy import mask_phone
from governance.models import Post
from governance.reports.tables import Column, ReportTable, sort_rows
from governance.staff.selectors import Jurisdiction
from grids.models import Community, Department, District, Grid, Street

# Territorial levels top-down, and what a unit page drills into.
LEVELS = [UnitKind.CITY, UnitKind.DISTRICT, UnitKind.STREET, UnitKind.COMMUNITY, UnitKind.GRID]
CHILD = {
    UnitKind.CITY: UnitKind.DISTRICT, UnitKind.DISTRICT: UnitKind.STREET,
    UnitKind.STREET: UnitKind.COMMUNITY, UnitKind.COMMUNITY: UnitKind.GRID,
}
PAGE_SIZE = 100
LIST_LIMIT = 50  # problem appeals, hot spots: the worst/most frequent first

# --- who sees which levels --------------------------------------------------------------------

_POST_LEVEL = {
    Role.GRID_WORKER: UnitKind.GRID, Role.COMMUNITY_WORKER: UnitKind.COMMUNITY,
    Role.COMMUNITY_SECRETARY: UnitKind.COMMUNITY, Role.STREET_OFFICER: UnitKind.STREET,
}
REPORT_ROLES = {Role.SUPERVISOR, Role.STREET_OFFICER, Role.COMMUNITY_WORKER, Role.COMMUNITY_SECRETARY}


def can_see_reports(jurisdiction: Jurisdiction) -> bool:
    """The nav link: supervisors, street and community staff, administrators."""
    return jurisdiction.everything or bool(jurisdiction.roles & REPORT_ROLES)


def post_units(jurisdiction: Jurisdiction) -> list[tuple[str, str, str]]:
    """The viewer's own units as (kind, code, name), top-down; a city-wide account: the city."""
    units = []
    if jurisdiction.everything:
        codes = sorted({formulas.city_code(c) for c in District.objects.values_list("code", flat=True)})
        units += [(UnitKind.CITY, c, _("全市")) for c in codes]
    for post in jurisdiction.posts:
        if post.role == Role.SUPERVISOR and post.district_id:
            units.append((UnitKind.DISTRICT, post.district.code, post.district.name))
        elif post.role in _POST_LEVEL:
            unit = post.grid or post.community or post.street
            name = f"{post.grid.community.name}{unit.name}" if post.grid_id else unit.name
            units.append((_POST_LEVEL[post.role], unit.code, name))
        elif post.role == Role.DEPARTMENT_HANDLER:
            units.append((UnitKind.DEPARTMENT, post.department.code, post.department.name))
    seen, out = set(), []
    for unit in units:
        if unit[:2] not in seen:
            seen.add(unit[:2])
            out.append(unit)
    order = {k: i for i, k in enumerate([*LEVELS, UnitKind.DEPARTMENT])}
    return sorted(out, key=lambda u: (order[u[0]], u[1]))


def viewer_levels(jurisdiction: Jurisdiction) -> list[str]:
    """The levels the viewer's tables offer: from its highest territorial unit down, and
    departments for city and district supervisors; none for a department handler."""
    units = post_units(jurisdiction)
    if not units:
        return []
    territorial = [LEVELS.index(k) for k, _c, _n in units if k in LEVELS]
    levels = LEVELS[min(territorial):] if territorial else []
    # Departments are compared by the city and district supervisors; a department
    # handler reads its own figures on the home card (its unit has no place to scope by).
    if any(k in (UnitKind.CITY, UnitKind.DISTRICT) for k, _c, _n in units):
        levels.append(UnitKind.DEPARTMENT)
    return levels


def viewer_levels_required(jurisdiction: Jurisdiction) -> list[str]:
    """``viewer_levels``, or — with no unit to report on (a department handler, a
    volunteer) — 403 with the reason: the reports are not theirs, nothing is hidden."""
    levels = viewer_levels(jurisdiction)
    if not levels:
        raise ActionForbidden(_("报表仅供网格、社区、街道工作人员和督查考核人员查看；部门的指标见工作台。"))
    return levels


def default_level(levels: list[str]) -> str:
    """Communities first: "the worst community of the month" is the usual question."""
    for level in (UnitKind.COMMUNITY, UnitKind.GRID, UnitKind.DEPARTMENT):
        if level in levels:
            return level
    return levels[0]


# --- periods ----------------------------------------------------------------------------------


def period_from_params(params, *, now: datetime | None = None) -> Period:
    """``period`` = 2026-10 | 2026Q4 | 2026-10-01..2026-10-15, or ``from``+``to`` dates;
    default this month (to date)."""
    first, last = (params.get("from") or "").strip(), (params.get("to") or "").strip()
    if first or last:
        try:
            return Period.range(date.fromisoformat(first), date.fromisoformat(last))
        except ValueError:
            raise ApplicationError(_("请填写开始和结束日期（YYYY-MM-DD）。")) from None
    value = (params.get("period") or "").strip()
    if value:
        return Period.parse(value)
    today = today_local(now or timezone.now())
    return Period.month(today.year, today.month)


def period_choices(*, now: datetime | None = None) -> list[tuple[str, str]]:
    """The last 12 months and the last 4 quarters, newest first."""
    month = month_start(today_local(now or timezone.now()))
    choices = []
    for _i in range(12):
        choices.append((f"{month:%Y-%m}", _("%(y)s年%(m)s月") % {"y": month.year, "m": month.month}))
        month = previous_month(month)
    today = today_local(now or timezone.now())
    year, quarter = today.year, (today.month + 2) // 3
    for _i in range(4):
        choices.append((f"{year}Q{quarter}", _("%(y)s年第%(q)s季度") % {"y": year, "q": quarter}))
        year, quarter = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
    return choices


def period_label(period: Period) -> str:
    if period.kind == "month":
        return _("%(y)s年%(m)s月") % {"y": period.first.year, "m": period.first.month}
    if period.kind == "quarter":
        return _("%(y)s年第%(q)s季度") % {"y": period.first.year, "q": (period.first.month + 2) // 3}
    return f"{period.first.isoformat()} — {period.last.isoformat()}"


def period_query(period: Period) -> str:
    if period.kind == "range":
        return urlencode({"from": period.first.isoformat(), "to": period.last.isoformat()})
    return urlencode({"period": period.label})


# --- unit tables ------------------------------------------------------------------------------

# The measures' columns: which way is better is said once, in the registry.
MEASURES = assessment_enums.MEASURES


def unit_columns() -> list[Column]:
    return [
        Column("rank", _("排名"), "int", sortable=True),
        Column("peer_count", _("参与排名数"), "int"),
        Column("rank_change", _("名次变化"), "change", sortable=True),
        Column("unit_name", _("单位"), "text", sortable=True),
        Column("unit_code", _("编码"), "code", sortable=True),
        # The first click on a measure's header lists the worst first.
        *[Column(m.key, str(m.label), "rate", sortable=True, first_desc=m.lower_is_better) for m in MEASURES],
        Column("dispatched", _("派单数"), "int", sortable=True),
        Column("due", _("应办结"), "int", sortable=True),
        Column("deferred", _("缓办"), "int", sortable=True),
        Column("resolved", _("办结"), "int", sortable=True),
        Column("resolved_on_time", _("按期办结"), "int", sortable=True),
        Column("evaluated", _("参评"), "int", sortable=True),
        Column("reworked", _("返工"), "int", sortable=True),
        Column("excluded", _("核减"), "int", sortable=True),
        Column("avg_response_hours", _("平均响应(小时)"), "hours", sortable=True),
        Column("avg_resolution_hours", _("平均办结(小时)"), "hours", sortable=True),
    ]


def _hours(seconds: int | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 1)


def score_dict(row: ScoreRow, keys: list[str] | None = None) -> dict:
    """A ScoreRow as the table's plain values. ``keys``: the columns' keys, computed once
    per table (building the translated columns per row cost 0.3 ms × 3,000 communities)."""
    values = {key: getattr(row, key, None) for key in (keys or [c.key for c in unit_columns()])}
    values["peer_count"] = row.peer_count if row.rank is not None else None
    values["avg_response_hours"] = _hours(row.avg_response_seconds)
    values["avg_resolution_hours"] = _hours(row.avg_resolution_seconds)
    values["unit_kind"] = row.unit_kind
    values["previous_rank"] = row.previous_rank
    return values


def parse_sort(value: str | None, *, default: str = "composite") -> tuple[str, bool]:
    """``composite`` ascending (the worst first), ``-composite`` descending."""
    value = (value or default).strip()
    descending = value.startswith("-")
    key = value.lstrip("-")
    if key not in {c.key for c in unit_columns() if c.sortable}:
        raise ApplicationError(_("无法按“%(key)s”排序。") % {"key": key})
    return key, descending


def unit_url(kind: str, code: str, period: Period) -> str:
    return f"{reverse('reports:unit', args=[kind, code])}?{period_query(period)}"


def unit_table(
    *, jurisdiction: Jurisdiction, period: Period, level: str, parent_code: str | None = None,
    sort: str | None = None, page: int | None = None,
) -> ReportTable:
    """The units of ``level`` (under ``parent_code``) inside the jurisdiction, with the
    measures of DESIGN.md §5, counts, average times, rank and its change; sorted by
    ``sort`` (default: 综合得分 ascending, the worst first; empty values last).
    ``page`` (1-based) cuts a page of PAGE_SIZE rows; None: every row (exports, API).

    A page of a month stored for every unit is sorted and cut in SQL, and kept in the
    shared cache until the scores are computed again (_stored_page): its cost does not
    grow with the number of units (3,000 communities for a city supervisor). Otherwise,
    and for every row, the whole table is built and sorted here; both give the same rows
    in the same order (tests/reports/test_paging.py)."""
    key, descending = parse_sort(sort)
    table = ReportTable(
        key=f"units-{level}", title=_("%(level)s考核排名") % {"level": UnitKind(level).label},
        columns=unit_columns(),
    )
    stored = None
    if page is not None:
        stored = stored_month(jurisdiction=jurisdiction, period=period, level=level, parent_code=parent_code)
    if stored is not None:
        table.total, table.final, table.as_of = stored.total, stored.final, stored.as_of  # type: ignore[attr-defined]
        _stored_page(table, stored, key=key, descending=descending, page=page, period=period)
        return table
    scores = scores_for(jurisdiction=jurisdiction, period=period, level=level, parent_code=parent_code)
    keys = [c.key for c in table.columns]
    rows = sort_rows([score_dict(r, keys) for r in scores.rows], key=key, descending=descending)
    table.total = len(rows)
    if page is not None:
        start = (max(page, 1) - 1) * PAGE_SIZE
        rows = rows[start:start + PAGE_SIZE]
    table.rows = rows
    table.final, table.as_of = scores.final, scores.as_of  # type: ignore[attr-defined]
    table.links = _unit_links(level, [r["unit_code"] for r in table.rows], period)
    return table


def _unit_links(level: str, codes: list[str], period: Period) -> list[dict]:
    """{"unit_name": unit_url(level, code, period)} for each code, resolving the URL
    pattern once (a reverse() per row was ~5 ms of a 100-row page); the code is quoted
    as reverse() quotes it."""
    head = reverse("reports:unit", args=[level, "0"]).removesuffix("0/")
    query = period_query(period)
    return [{"unit_name": f"{head}{quote(code, safe=RFC3986_SUBDELIMS + '/~:@')}/?{query}"} for code in codes]


# Sorting stored rows in SQL exactly as sort_rows sorts score_dict's values: text by code
# point (Python's str order; PostgreSQL's "C" collation, SQLite's BINARY), an empty name
# as a missing value. The hours columns are rounded in Python (round(seconds / 3600, 1),
# binary floating point) in a way SQL cannot reproduce for ties, so they are sorted in
# Python from the (code, seconds, rank) of every row — three small columns, not rows.
_HOURS_SOURCE = {"avg_response_hours": "avg_response_seconds", "avg_resolution_hours": "avg_resolution_seconds"}


def _codepoint(expression):
    return Collate(expression, "C" if connection.vendor == "postgresql" else "BINARY")


def _sort_value(key: str):
    if key == "unit_name":
        return _codepoint(NullIf(F("unit_name"), Value("")))
    if key == "unit_code":
        return _codepoint(F("unit_code"))
    return F(key)  # numbers, and rank_change (annotated by stored_month)


def _stored_order(key: str, descending: bool) -> list:
    """ORDER BY for sort_rows' order: values in the direction asked, ties by code in the
    same direction; then the rows without a value, in scores_for's order (ranked before
    unranked, by rank, then by code)."""
    value, code = F("sort_value"), _codepoint(F("unit_code"))
    return [
        value.desc(nulls_last=True) if descending else value.asc(nulls_last=True),
        Case(When(sort_value__isnull=True, then=F("rank"))).asc(nulls_last=True),
        Case(When(sort_value__isnull=True, then=code)).asc(),
        code.desc() if descending else code.asc(),
    ]


PAGE_CACHE_SECONDS = 6 * 3600  # a page stays right as long as the scores' token: this only bounds the space


def _stored_page(table: ReportTable, stored: StoredMonth, *, key: str, descending: bool, page: int,
                 period: Period) -> None:
    """Fill ``table`` with one page of the stored month sorted by ``key``: its rows, links
    and printed cells, kept in the shared cache (Redis in production) under the scores'
    token, which compute_month renews — the same page for the same scope is built once
    per computation of the scores. Without a cache, built every time."""
    cache_key = None
    token = scores_token()
    if token is not None:
        # The database too: two databases (the benchmark's tiers) may share a cache.
        name = repr((token, connection.settings_dict["NAME"], stored.key, key, descending, page, PAGE_SIZE,
                     get_script_prefix()))
        cache_key = f"reports:units-page:{hashlib.sha256(name.encode()).hexdigest()}"
        found = shared_cache.get(cache_key, what="reports")
        if found is not None:
            table.rows, table.links, table.html = found
            return
    table.rows = _stored_page_rows(stored, key=key, descending=descending, page=page)
    table.links = _unit_links(stored.level, [r["unit_code"] for r in table.rows], period)
    table.html = table.html_rows()
    if cache_key is not None:
        shared_cache.put(cache_key, (table.rows, table.links, table.html), PAGE_CACHE_SECONDS, what="reports")


def _stored_page_rows(stored: StoredMonth, *, key: str, descending: bool, page: int) -> list[dict]:
    """One page of the stored month sorted by ``key``, in two queries: the page's ids in
    order (PostgreSQL sorts ids, not rows of 45 columns), then those rows by id."""
    start = (max(page, 1) - 1) * PAGE_SIZE
    if key in _HOURS_SOURCE:
        ordered = sorted(stored.rows.values_list("pk", "unit_code", _HOURS_SOURCE[key], "rank"),
                         key=lambda r: (r[3] is None, r[3] or 0, r[1]))
        values = sort_rows([{"pk": pk, "unit_code": code, key: _hours(seconds)} for pk, code, seconds, _r in ordered],
                           key=key, descending=descending)
        ids = [r["pk"] for r in values[start:start + PAGE_SIZE]]
    else:
        ordered = stored.rows.annotate(sort_value=_sort_value(key)).order_by(*_stored_order(key, descending))
        ids = list(ordered.values_list("pk", flat=True)[start:start + PAGE_SIZE])
    keys = [c.key for c in unit_columns()]
    return [score_dict(row, keys) for row in stored_rows(stored, ids)]


# --- one unit's page --------------------------------------------------------------------------


@dataclass
class UnitReport:
    kind: str
    code: str
    name: str
    period: Period
    row: dict
    final: bool = False
    as_of: datetime | None = None
    parent: tuple[str, str, str] | None = None  # (kind, code, name) when the viewer may open it
    benchmark_name: str = ""
    measures: list[dict] = field(default_factory=list)  # each as compare_measure gives it
    children: ReportTable | None = None
    departments: ReportTable | None = None
    trend: dict = field(default_factory=dict)
    categories: ReportTable | None = None
    problems: ReportTable | None = None


def _unit_name(kind: str, code: str) -> str:
    if kind == UnitKind.CITY:
        return _("全市")
    model = {UnitKind.GRID: Grid, UnitKind.COMMUNITY: Community, UnitKind.STREET: Street,
             UnitKind.DISTRICT: District, UnitKind.DEPARTMENT: Department}[kind]
    qs = model.objects.filter(code=code)
    if kind == UnitKind.GRID:
        found = qs.values_list("community__name", "name").first()
        return f"{found[0]}{found[1]}" if found else ""
    return qs.values_list("name", flat=True).first() or ""


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
    report = UnitReport(kind=kind, code=code, name=found.unit_name or _unit_name(kind, code), period=period,
                        row=score_dict(found), final=table.final, as_of=table.as_of)
    chain = formulas.ancestors(kind, code)
    benchmark = {}
    if len(chain) > 1:
        parent_kind, parent_code = chain[1]
        parent_scores = scores_for(jurisdiction=_everyone(), period=period, level=parent_kind, parent_code=parent_code)
        parent_row = next((r for r in parent_scores.rows if r.unit_code == parent_code), None)
        if parent_row is not None:
            benchmark = score_dict(parent_row)
            report.benchmark_name = parent_row.unit_name or _unit_name(parent_kind, parent_code)
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
    report.categories = category_breakdown(jurisdiction=jurisdiction, period=period, kind=kind, code=code, now=now)
    report.problems = problem_appeals(jurisdiction=jurisdiction, period=period, kind=kind, code=code, now=now)
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


def _unit_appeals(*, jurisdiction: Jurisdiction, period: Period, kind: str, code: str):
    """The appeals due in the period at the unit's place (a department: handled by it),
    inside the jurisdiction: a bounded, indexed query (deadline range + code prefix)."""
    start, end = day_window(period.first, period.last)
    qs = appeal_scope(jurisdiction).filter(deadline__gt=start, deadline__lte=end).exclude(
        state__in=(AppealState.WITHDRAWN, AppealState.DECLINED)
    )
    if kind == UnitKind.DEPARTMENT:
        return qs.filter(handling_department__code=code)
    if kind == UnitKind.CITY:
        return qs.filter(territory_code__startswith=code[:4])
    return qs.filter(territory_code__startswith=code)


def category_breakdown(*, jurisdiction: Jurisdiction, period: Period, kind: str, code: str,
                       now: datetime | None = None) -> ReportTable:
    """Appeals due in the period by category: due, resolved, overdue, unsatisfied, reworked
    (one grouped query). By place, so it can differ slightly from the scores, which count
    an appeal for the unit holding it at its deadline."""
    now = now or timezone.now()
    overdue = Q(resolved_at__isnull=True, deadline__lt=now) | Q(resolved_at__gt=F("deadline"))
    rows = list(
        _unit_appeals(jurisdiction=jurisdiction, period=period, kind=kind, code=code)
        .values("category__code", "category__name")
        .annotate(
            due=Count("id"), resolved=Count("id", filter=Q(resolved_at__isnull=False)),
            overdue=Count("id", filter=overdue),
            unsatisfied=Count("id", filter=Q(rating=Rating.UNSATISFIED)),
            reworked=Count("id", filter=Q(rework_count__gt=0)),
        )
        .order_by("-due", "category__code")[:LIST_LIMIT]
    )
    for row in rows:
        row["category"] = row.pop("category__name") or _("未分类")
        row["category_code"] = row.pop("category__code") or ""
    return ReportTable(
        key="categories", title=_("诉求类别分布"), rows=rows,
        columns=[
            Column("category_code", _("类别编码"), "code"), Column("category", _("类别")),
            Column("due", _("应办结"), "int"), Column("resolved", _("已办结"), "int"),
            Column("overdue", _("超期"), "int"), Column("unsatisfied", _("不满意"), "int"),
            Column("reworked", _("返工"), "int"),
        ],
    )


def _overdue_text(delta: timedelta) -> str:
    hours = int(delta.total_seconds() // 3600)
    days, hours = divmod(max(hours, 0), 24)
    return _("%(d)s天%(h)s小时") % {"d": days, "h": hours} if days else _("%(h)s小时") % {"h": hours}


def _place(appeal: Appeal) -> str:
    parts = [appeal.community.name if appeal.community_id else "", appeal.grid.name if appeal.grid_id else ""]
    return "".join(parts) or (appeal.street.name if appeal.street_id else "")


_PLACE_RELATED = ("category", "street", "community", "grid", "handling_grid__community", "handling_community",
                  "handling_street", "handling_department")


def problem_appeals(*, jurisdiction: Jurisdiction, period: Period, kind: str, code: str,
                    now: datetime | None = None) -> ReportTable:
    """The unit's appeals that pull its rates down: overdue, unsatisfied or reworked —
    the most overdue first, at most LIST_LIMIT (one query). No personal data."""
    now = now or timezone.now()
    overdue = Q(resolved_at__isnull=True, deadline__lt=now) | Q(resolved_at__gt=F("deadline"))
    appeals = (
        _unit_appeals(jurisdiction=jurisdiction, period=period, kind=kind, code=code)
        .filter(overdue | Q(rating=Rating.UNSATISFIED) | Q(rework_count__gt=0))
        .select_related(*_PLACE_RELATED).order_by("deadline", "id")[:LIST_LIMIT]
    )
    rows, links = [], []
    for appeal in appeals:
        problems = []
        late = (appeal.resolved_at or now) - appeal.deadline
        if late > timedelta(0):
            problems.append(_("超期%(t)s") % {"t": _overdue_text(late)})
        if appeal.rating == Rating.UNSATISFIED:
            problems.append(_("不满意"))
        if appeal.rework_count:
            problems.append(_("返工%(n)s次") % {"n": appeal.rework_count})
        rows.append({
            "tracking_code": appeal.tracking_code,
            "category": appeal.category.name if appeal.category_id else _("未分类"),
            "place": _place(appeal), "handler": appeal.handling_unit_name,
            "state": appeal.get_state_display(),
            "deadline": deadline_text(appeal, with_year=True),
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


def heat_data(table: ReportTable) -> dict:
    """Units × measures for the heat table chart: [x, y, colour, value] — ``colour`` on
    the measure's 0 (worst, red) to 100 (best, green) scale (a lower-is-better rate turned
    round: a high 返工率 is red), ``value`` the figure the cell shows; both null for no
    data. The rows keep the table's order (the worst first by default)."""
    units = [r["unit_name"] for r in table.rows]
    cells = []
    for y, row in enumerate(table.rows):
        for x, measure in enumerate(MEASURES):
            value = row.get(measure.key)
            if value is None:
                cells.append([x, y, None, None])
            else:
                cells.append([x, y, float(measure.goodness(Decimal(value))), float(value)])
    return {
        "units": units, "measures": [str(m.label) for m in MEASURES],
        "lower_is_better": [m.lower_is_better for m in MEASURES], "cells": cells,
    }


def ranking_data(table: ReportTable, *, limit: int = 30) -> dict:
    """Composite scores of the ranked rows, best last (bars read bottom-up)."""
    ranked = [r for r in table.rows if r.get("composite") is not None]
    ranked.sort(key=lambda r: r["composite"])
    ranked = ranked[:limit]
    return {"units": [r["unit_name"] for r in ranked], "values": [float(r["composite"]) for r in ranked]}


# --- 督办 list --------------------------------------------------------------------------------


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
    return qs.annotate(supervision_notes=Coalesce(Subquery(notes), 0)).select_related(*_PLACE_RELATED).order_by(
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
        start = (max(page, 1) - 1) * PAGE_SIZE
        qs = qs[start:start + PAGE_SIZE]
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
        "place": _place(appeal), "handler": appeal.handling_unit_name,
        "level": appeal.get_escalation_level_display() or "",
        "state": appeal.get_state_display(),
        "deadline": deadline_text(appeal, with_year=True),
        "overdue": _overdue_text(late) if late > timedelta(0) else "",
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


# --- hot spots (高频诉求) ---------------------------------------------------------------------

HOTSPOT_MIN = 2  # "repeated": at least this many appeals in the period


def _period_appeals(*, jurisdiction: Jurisdiction, period: Period, unit: str):
    """Appeals received in the period (created_at, indexed) inside the jurisdiction."""
    start, end = day_window(period.first, period.last)
    qs = appeal_scope(jurisdiction).filter(created_at__gte=start, created_at__lt=end).exclude(
        state=AppealState.WITHDRAWN
    )
    if unit:
        if not jurisdiction.covers(unit):
            raise NotFound()
        qs = qs.filter(territory_code__startswith=unit)
    return qs


@dataclass
class Hotspots:
    categories: ReportTable
    buildings: ReportTable
    households: ReportTable


def hotspots(*, jurisdiction: Jurisdiction, period: Period, unit: str = "") -> Hotspots:
    """高频诉求: categories, buildings and households (by phone) with at least HOTSPOT_MIN
    appeals received in the period — three grouped queries, each cut to LIST_LIMIT rows.
    Phones are masked; the caller logs the view (personal data)."""
    base = _period_appeals(jurisdiction=jurisdiction, period=period, unit=unit)
    categories = list(
        base.values("category__code", "category__name")
        .annotate(n=Count("id"), buildings=Count("building", distinct=True), communities=Count("community", distinct=True))
        .filter(n__gte=HOTSPOT_MIN).order_by("-n", "category__code")[:LIST_LIMIT]
    )
    buildings = list(
        base.filter(building__isnull=False)
        .values("building__code", "building__address", "building__compound", "community__name")
        .annotate(n=Count("id"), categories=Count("category", distinct=True), last=Max("created_at"))
        .filter(n__gte=HOTSPOT_MIN).order_by("-n", "building__code")[:LIST_LIMIT]
    )
    households = list(
        base.exclude(phone="").values("phone")
        .annotate(n=Count("id"), categories=Count("category", distinct=True), first=Min("created_at"),
                  last=Max("created_at"), community=Max("community__name"), address=Max("building__address"))
        .filter(n__gte=HOTSPOT_MIN).order_by("-n", "phone")[:LIST_LIMIT]
    )

    def day(value):
        return timezone.localtime(value, CHINA).strftime("%Y-%m-%d") if value else ""

    return Hotspots(
        categories=ReportTable(
            key="hotspot-categories", title=_("高频诉求类别"),
            columns=[Column("category_code", _("类别编码"), "code"), Column("category", _("类别")),
                     Column("count", _("诉求数"), "int"), Column("buildings", _("涉及楼栋"), "int"),
                     Column("communities", _("涉及社区"), "int")],
            rows=[{"category_code": r["category__code"] or "", "category": r["category__name"] or _("未分类"),
                   "count": r["n"], "buildings": r["buildings"], "communities": r["communities"]} for r in categories],
        ),
        buildings=ReportTable(
            key="hotspot-buildings", title=_("重复诉求楼栋"),
            columns=[Column("building_code", _("楼栋编码"), "code"), Column("address", _("地址")),
                     Column("compound", _("小区")), Column("community", _("社区")),
                     Column("count", _("诉求数"), "int"), Column("categories", _("类别数"), "int"),
                     Column("last", _("最近诉求"))],
            rows=[{"building_code": r["building__code"], "address": r["building__address"],
                   "compound": r["building__compound"], "community": r["community__name"] or "",
                   "count": r["n"], "categories": r["categories"], "last": day(r["last"])} for r in buildings],
        ),
        households=ReportTable(
            key="hotspot-households", title=_("反复诉求的住户（电话已脱敏）"),
            columns=[Column("phone", _("联系电话"), "code"), Column("community", _("社区")),
                     Column("address", _("楼栋")), Column("count", _("诉求数"), "int"),
                     Column("categories", _("类别数"), "int"), Column("first", _("首次")), Column("last", _("最近"))],
            rows=[{"phone": mask_phone(r["phone"]), "community": r["community"] or "", "address": r["address"] or "",
                   "count": r["n"], "categories": r["categories"], "first": day(r["first"]), "last": day(r["last"])}
                  for r in households],
        ),
    )


# --- staffing ratio ---------------------------------------------------------------------------

_CENTS = Decimal("0.01")


def staffing_figures(*, workers: int, population: int | None, target: int) -> dict:
    """One unit's figures against the target of ``target`` 社区工作者 per 10,000 城镇常住人口:

    - ratio = workers × 10,000 / population, truncated to 2 decimals (17.996… reads 17.99,
      never 18.00: a rounded-up figure would read as met);
    - gap = ceil(target × population / 10,000) − workers, at least 0;
    - meets (达标) = workers × 10,000 ≥ target × population — so "达标" and a gap of 0
      always go together;
    - no population (none, or 0): ratio and gap empty, meets "无数据".
    """
    if not population:
        return {"population": None, "workers": workers, "ratio": None, "meets": _("无数据"), "gap": None}
    needed = -(-target * population // 10000)
    return {
        "population": population, "workers": workers,
        "ratio": (Decimal(workers * 10000) / Decimal(population)).quantize(_CENTS, rounding=ROUND_DOWN),
        "meets": _("达标") if workers * 10000 >= target * population else _("未达标"),
        "gap": max(needed - workers, 0),
    }


def _rolled_up(own: int | None, parts: list[int | None]) -> int | None:
    """A unit's 城镇常住人口: its own figure, else the sum of its units' when every one of
    them has a figure (a partial sum would make the ratio look better than it is)."""
    if own:
        return own
    if parts and all(parts):
        return sum(parts)
    return None


@dataclass
class Staffing:
    target: int
    roles: list[str]  # the counted posts' names
    city: ReportTable  # judged (达标); empty unless the viewer sees the whole city
    districts: ReportTable  # judged (达标)
    streets: ReportTable  # detail
    communities: ReportTable  # detail


def _staffing_columns(parent_label: str | None, *, judged: bool) -> list[Column]:
    cols = [Column("code", _("编码"), "code"), Column("name", _("单位"))]
    if parent_label:
        cols.append(Column("parent", parent_label))
    cols += [
        Column("population", _("城镇常住人口"), "int"), Column("workers", _("社区工作者(人)"), "int"),
        Column("ratio", _("每万城镇常住人口社区工作者"), "rate", empty=_("无数据")),
    ]
    if judged:
        cols.append(Column("meets", _("是否达标")))
    return [*cols, Column("gap", _("距目标缺口(人)"), "int")]


def staffing(*, jurisdiction: Jurisdiction, unit: str = "") -> Staffing:
    """社区工作者 per 10,000 城镇常住人口 against STAFFING_TARGET_PER_10K (18), DESIGN.md §5.

    - Who counts: distinct people (accounts) holding a post of a counted role
      (governance.enums.staffing_roles: STAFFING_ROLES, default the community roles) in
      the unit or below — one person with two posts counts once, in each unit that holds
      one of their posts;
    - the denominator: the units' urban_population, rolled up (_rolled_up);
    - 达标 is judged for the districts and the city; streets and communities are detail.

    Only units inside the jurisdiction (and under ``unit``, a code prefix; NotFound outside)
    are listed, so every listed unit's posts and figures are all counted. Four queries."""
    if unit and not jurisdiction.covers(unit):
        raise NotFound()

    def inside(qs):
        qs = jurisdiction.scope(qs, "code")
        return qs.filter(code__startswith=unit) if unit else qs

    districts = list(inside(District.objects.all()).order_by("code").values("code", "name", "urban_population"))
    streets = list(inside(Street.objects.all()).order_by("code").values(
        "code", "name", "urban_population", "district__name"))
    communities = list(inside(Community.objects.all()).order_by("code").values(
        "code", "name", "urban_population", "street__name"))

    roles = staffing_roles()
    posts = Post.objects.filter(role__in=roles, user__is_active=True).annotate(
        place=Coalesce("grid__code", "community__code", "street__code"),
    )
    place_q = jurisdiction.code_q("place")
    if place_q is not None:
        posts = posts.filter(place_q)
    if unit:
        posts = posts.filter(place__startswith=unit)
    people: dict[str, set[int]] = {}
    for place, user_id in posts.values_list("place", "user_id"):
        for length in (12, 9, 6):
            if len(place) >= length:
                people.setdefault(place[:length], set()).add(user_id)
        people.setdefault(formulas.city_code(place[:6]), set()).add(user_id)

    target = settings.STAFFING_TARGET_PER_10K
    population: dict[str, int | None] = {}
    parts: dict[str, list[int | None]] = {}  # a unit's units' figures, by the unit's code
    for c in communities:
        population[c["code"]] = c["urban_population"] or None
        parts.setdefault(c["code"][:9], []).append(population[c["code"]])
    for s in streets:
        population[s["code"]] = _rolled_up(s["urban_population"], parts.get(s["code"], []))
        parts.setdefault(s["code"][:6], []).append(population[s["code"]])
    for d in districts:
        population[d["code"]] = _rolled_up(d["urban_population"], parts.get(d["code"], []))
        parts.setdefault(formulas.city_code(d["code"]), []).append(population[d["code"]])

    def row(code, name, **extra):
        return {"code": code, "name": name, **extra,
                **staffing_figures(workers=len(people.get(code, ())), population=population[code], target=target)}

    city_rows = []
    if jurisdiction.everything:
        for code in sorted({formulas.city_code(d["code"]) for d in districts}):
            if code.startswith(unit):
                population[code] = _rolled_up(None, parts[code])
                city_rows.append(row(code, _("全市")))
    labels = dict(Role.choices)
    return Staffing(
        target=target,
        roles=[str(labels[r]) for r in Role.values if r in roles],
        city=ReportTable(key="staffing-city", title=_("全市社区工作者配比"),
                         columns=_staffing_columns(None, judged=True), rows=city_rows),
        districts=ReportTable(key="staffing-districts", title=_("各区社区工作者配比"),
                              columns=_staffing_columns(None, judged=True),
                              rows=[row(d["code"], d["name"]) for d in districts]),
        streets=ReportTable(key="staffing-streets", title=_("各街道社区工作者配比（明细）"),
                            columns=_staffing_columns(_("所属区"), judged=False),
                            rows=[row(s["code"], s["name"], parent=s["district__name"]) for s in streets]),
        communities=ReportTable(key="staffing-communities", title=_("各社区社区工作者配比（明细）"),
                                columns=_staffing_columns(_("所属街道"), judged=False),
                                rows=[row(c["code"], c["name"], parent=c["street__name"]) for c in communities]),
    )


# --- the staff home card ----------------------------------------------------------------------


def home_scores(*, jurisdiction: Jurisdiction, now: datetime | None = None) -> list[dict]:
    """This month's stored scores of the viewer's own units (one query)."""
    units = post_units(jurisdiction)
    if not units:
        return []
    month = month_start(today_local(now or timezone.now()))
    q = Q(pk__in=[])
    for kind, code, _name in units:
        q |= Q(unit_kind=kind, unit_code=code)
    stored = {(s.unit_kind, s.unit_code): s for s in MonthlyScore.objects.filter(q, month=month)}
    period = Period.month(month.year, month.month)
    out = []
    for kind, code, name in units:
        score = stored.get((kind, code))
        out.append({
            "kind": kind, "code": code, "name": name, "kind_label": UnitKind(kind).label, "score": score,
            "url": unit_url(kind, code, period) if kind != UnitKind.DEPARTMENT or jurisdiction.covers(code) else "",
        })
    return out


def home_card(*, jurisdiction: Jurisdiction, now: datetime | None = None) -> dict:
    """The home dashboard's card: this month's stored scores of my units and, for those who
    read reports, the overdue appeals in my jurisdiction (the 督办 list's count)."""
    if not (jurisdiction.everything or jurisdiction.posts):
        return {"scores": [], "overdue": None, "reports": False}
    reports = can_see_reports(jurisdiction)
    return {
        "scores": home_scores(jurisdiction=jurisdiction, now=now),
        "overdue": overdue_count(jurisdiction=jurisdiction, now=now) if reports else None,
        "reports": reports,
    }
