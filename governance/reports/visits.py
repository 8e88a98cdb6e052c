"""走访 figures (issue 22) beside the appeal measures: 走访完成率 (visits done on time /
visits due) and 走访发现问题数 (appeals raised from visits) for a period. Figures only: no
household, no name — street officers and supervisors see them; the records stay with the
grid's workers and the community's staff.

The page shows one unit (the viewer's own, or one inside his jurisdiction drilled into):
its totals and its units one level down (the city: its districts; a district: its
streets; a street: its communities; a community: its grids), a page of them at a time,
each linking to its own page — never the city's 30,000 grids in one page (issue 24). The
export carries every level under the unit, every row."""

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from appeals.visits.selectors import visit_month_figures
from governance.assessment import formulas
from governance.assessment.enums import UnitKind
from governance.assessment.formulas import rate
from governance.assessment.periods import Period, period_query
from governance.reports import tables
from governance.reports.scope import asked_unit, own_units, unit_name, units_under
from governance.reports.tables import CHILD, LEVELS, Column, ReportTable
from governance.staff.selectors import Jurisdiction
from grids.models import UNIT_MODELS

# A level's parent named beside its units in the export (所属区, 所属街道, 所属社区).
_PARENT = {
    UnitKind.STREET: ("district__name", gettext_lazy("所属区")),
    UnitKind.COMMUNITY: ("street__name", gettext_lazy("所属街道")),
    UnitKind.GRID: ("community__name", gettext_lazy("所属社区")),
}


@dataclass
class VisitReport:
    kind: str
    code: str
    name: str
    totals: ReportTable  # one row: the unit itself
    children: ReportTable | None  # one page of the units one level down (None: a grid)
    parent: tuple[str, str, str] | None = None  # (kind, code, name) when the viewer may open it
    page: int = 1
    pages: int = 1
    # The viewer's own units when there are several (posts in two communities…), to choose
    # among; empty for one.
    own: list[tuple[str, str, str]] = field(default_factory=list)


def _columns(parent_label: str | None = None) -> list[Column]:
    cols = [Column("code", _("编码"), "code"), Column("name", _("单位"))]
    if parent_label:
        cols.append(Column("parent", parent_label))
    return cols + [
        Column("due", _("应走访(户次)"), "int"), Column("on_time", _("按期走访(户次)"), "int"),
        Column("rate", _("走访完成率(%)"), "rate"), Column("found", _("走访发现问题数"), "int"),
    ]


def _prefix(kind: str, code: str) -> str:
    """The code prefix of the unit's grids (a city's code is its districts' first four digits
    and two zeros: 110100)."""
    return code[:4] if kind == UnitKind.CITY else code


def _figures(*, kind: str, code: str, period: Period) -> dict[str, dict]:
    """Per grid under the unit: its figures (appeals.visits.selectors.visit_month_figures)."""
    return visit_month_figures(first=period.first, last=period.last, within=_prefix(kind, code))


def _row(code: str, name: str, figures: list[dict], parent: str = "") -> dict:
    due = sum(f["due"] for f in figures)
    on_time = sum(f["on_time"] for f in figures)
    return {"code": code, "name": name, "parent": parent, "due": due, "on_time": on_time,
            "rate": rate(on_time, due), "found": sum(f["found"] for f in figures)}


def _rolled_up(by_grid: dict[str, dict], length: int) -> dict[str, list[dict]]:
    """The grids' figures by the code of their unit whose codes are ``length`` long: a
    grid's code starts with its community's, street's and district's."""
    out: dict[str, list[dict]] = {}
    for grid_code, figures in by_grid.items():
        out.setdefault(grid_code[:length], []).append(figures)
    return out


def _level_units(jurisdiction: Jurisdiction, kind: str, code: str, level: str, *fields: str) -> list[dict]:
    """The units of ``level`` under the unit (inside the jurisdiction: all of them), by code."""
    return units_under(jurisdiction, _prefix(kind, code), UNIT_MODELS[level], "code", "name", *fields)


def visit_link(code: str, period: Period) -> str:
    """The visits report of one unit (its drill-down)."""
    return f"{reverse('reports:visits')}?{urlencode({'unit': code})}&{period_query(period)}"


def _totals(kind: str, code: str, name: str, by_grid: dict[str, dict]) -> ReportTable:
    return ReportTable(key="visits-total", title=_("%(name)s合计") % {"name": name}, columns=_columns(),
                       rows=[_row(code, name, list(by_grid.values()))])


def visit_report(*, jurisdiction: Jurisdiction, period: Period, unit: str = "", page: int = 1) -> VisitReport:
    """The unit asked for (``unit``, a code; else the viewer's own; NotFound outside the
    jurisdiction): its totals, and a page of its units one level down with theirs — the
    sums of their grids' figures, so the totals are the sum of the units'."""
    kind, code, name = asked_unit(jurisdiction, unit)
    by_grid = _figures(kind=kind, code=code, period=period)
    report = VisitReport(kind=kind, code=code, name=name, totals=_totals(kind, code, name, by_grid), children=None)
    if len(jurisdiction.posts) > 1:  # one post is one unit: nothing to choose, nor to read
        own = own_units(jurisdiction)
        report.own = own if len(own) > 1 else []
    chain = formulas.ancestors(kind, code)
    if len(chain) > 1 and jurisdiction.covers(chain[1][1]):
        parent_kind, parent_code = chain[1]
        report.parent = (parent_kind, parent_code, unit_name(parent_kind, parent_code))
    child = CHILD.get(kind)
    if child is None:
        return report
    units = _level_units(jurisdiction, kind, code, child)
    report.pages = max((len(units) - 1) // tables.PAGE_SIZE + 1, 1)
    report.page = min(max(page, 1), report.pages)
    start = (report.page - 1) * tables.PAGE_SIZE
    shown = units[start:start + tables.PAGE_SIZE]
    length = len(shown[0]["code"]) if shown else 0
    summed = _rolled_up(by_grid, length)
    report.children = ReportTable(
        key=f"visits-{child}", title=_("各%(level)s入户走访") % {"level": UnitKind(child).label},
        columns=_columns(), rows=[_row(u["code"], u["name"], summed.get(u["code"], [])) for u in shown],
        links=[{"name": visit_link(u["code"], period)} for u in shown], total=len(units),
    )
    return report


def visit_export(*, jurisdiction: Jurisdiction, period: Period, unit: str = "") -> list[ReportTable]:
    """The export of the unit's report: its totals and every level under it, every row
    (the city: 16 districts down to 30,000 grids), each with its parent's name."""
    kind, code, name = asked_unit(jurisdiction, unit)
    by_grid = _figures(kind=kind, code=code, period=period)
    out = [_totals(kind, code, name, by_grid)]
    for level in LEVELS[LEVELS.index(kind) + 1:]:
        parent_field, parent_label = _PARENT.get(level, (None, None))
        units = _level_units(jurisdiction, kind, code, level, *([parent_field] if parent_field else []))
        summed = _rolled_up(by_grid, len(units[0]["code"])) if units else {}
        out.append(ReportTable(
            key=f"visits-{level}", title=_("各%(level)s入户走访") % {"level": UnitKind(level).label},
            columns=_columns(str(parent_label) if parent_label else None),
            rows=[_row(u["code"], u["name"], summed.get(u["code"], []), u.get(parent_field, "")) for u in units],
        ))
    return out
