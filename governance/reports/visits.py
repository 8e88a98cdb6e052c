"""走访 figures (issue 22) beside the appeal measures: 走访完成率 (visits done on time /
visits due) and 走访发现问题数 (appeals raised from visits), per street, community and grid
for a period. Figures only: no household, no name — street officers and supervisors see
them; the records stay with the grid's workers and the community's staff."""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from appeals.visits.selectors import visit_month_figures
from governance.assessment.formulas import rate
from governance.assessment.periods import Period
from governance.reports.scope import units_under
from governance.reports.tables import Column, ReportTable
from governance.staff.selectors import Jurisdiction
from grids.models import Community, Grid, Street


@dataclass
class VisitReport:
    streets: ReportTable
    communities: ReportTable
    grids: ReportTable


def _columns(parent_label: str | None) -> list[Column]:
    cols = [Column("code", _("编码"), "code"), Column("name", _("单位"))]
    if parent_label:
        cols.append(Column("parent", parent_label))
    return cols + [
        Column("due", _("应走访(户次)"), "int"), Column("on_time", _("按期走访(户次)"), "int"),
        Column("rate", _("走访完成率(%)"), "rate"), Column("found", _("走访发现问题数"), "int"),
    ]


def visit_report(*, jurisdiction: Jurisdiction, period: Period, unit: str = "") -> VisitReport:
    """The units inside the jurisdiction (under ``unit``; NotFound outside), each with the
    sums of its grids' figures (appeals.visits.selectors.visit_month_figures)."""
    streets = units_under(jurisdiction, unit, Street, "code", "name", "district__name")
    communities = units_under(jurisdiction, unit, Community, "code", "name", "street__name")
    grids = units_under(jurisdiction, unit, Grid, "code", "name", "community__name")
    # The figures of every grid inside: one pass per code prefix the viewer reaches (the
    # whole city in one for a city-wide account).
    by_grid = {}
    prefixes = [unit] if unit else ([""] if jurisdiction.everything else sorted(jurisdiction.prefixes))
    for prefix in prefixes:
        by_grid.update(visit_month_figures(first=period.first, last=period.last, within=prefix))

    # Rolled up by code prefix: a grid's code starts with its community's (12) and street's (9).
    totals: dict[str, list[int]] = {}
    for grid_code, figures in by_grid.items():
        for code in {grid_code, grid_code[:12], grid_code[:9]}:
            total = totals.setdefault(code, [0, 0, 0])
            total[0] += figures["due"]
            total[1] += figures["on_time"]
            total[2] += figures["found"]

    def row(code, name, parent):
        due, on_time, found = totals.get(code, (0, 0, 0))
        return {"code": code, "name": name, "parent": parent, "due": due, "on_time": on_time,
                "rate": rate(on_time, due), "found": found}

    return VisitReport(
        streets=ReportTable(key="visits-streets", title=_("各街道入户走访"), columns=_columns(_("所属区")),
                            rows=[row(s["code"], s["name"], s["district__name"]) for s in streets]),
        communities=ReportTable(key="visits-communities", title=_("各社区入户走访"), columns=_columns(_("所属街道")),
                                rows=[row(c["code"], c["name"], c["street__name"]) for c in communities]),
        grids=ReportTable(key="visits-grids", title=_("各网格入户走访"), columns=_columns(_("所属社区")),
                          rows=[row(g["code"], g["name"], g["community__name"]) for g in grids]),
    )
