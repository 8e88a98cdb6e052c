"""The staffing ratio: 社区工作者 per 10,000 城镇常住人口 (DESIGN.md §5)."""

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from governance.assessment import formulas
from governance.enums import Role, staffing_roles
from governance.models import Post
from governance.reports import tables
from governance.reports.scope import units_under
from governance.reports.tables import Column, ReportTable
from governance.staff.selectors import Jurisdiction
from grids.models import Community, District, Street

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
    communities: ReportTable  # detail: one page of them (``page``), or all; ``total`` all of them
    page: int | None = None
    pages: int = 1


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


def staffing(*, jurisdiction: Jurisdiction, unit: str = "", page: int | None = None) -> Staffing:
    """社区工作者 per 10,000 城镇常住人口 against STAFFING_TARGET_PER_10K (18), DESIGN.md §5.

    - Who counts: distinct people (accounts) holding a post of a counted role
      (governance.enums.staffing_roles: STAFFING_ROLES, default the community roles) in
      the unit or below — one person with two posts counts once, in each unit that holds
      one of their posts;
    - the denominator: the units' urban_population, rolled up (_rolled_up);
    - 达标 is judged for the districts and the city; streets and communities are detail.

    Only units inside the jurisdiction (and under ``unit``, a code prefix; NotFound outside)
    are listed, so every listed unit's posts and figures are all counted. ``page``: the
    communities' rows of that page only (PAGE_SIZE, by code; a city has thousands of them:
    3,000 rows were 1 MB and 60 ms of a page), every community still counted in the
    figures above; None: every row (exports, API). Four queries."""
    districts = units_under(jurisdiction, unit, District, "code", "name", "urban_population")
    streets = units_under(jurisdiction, unit, Street, "code", "name", "urban_population", "district__name")
    communities = units_under(jurisdiction, unit, Community, "code", "name", "urban_population", "street__name")

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
    listed = communities
    if page is not None:
        start = (page - 1) * tables.PAGE_SIZE
        listed = communities[start:start + tables.PAGE_SIZE]
    return Staffing(
        page=page, pages=max((len(communities) - 1) // tables.PAGE_SIZE + 1, 1),
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
                                rows=[row(c["code"], c["name"], parent=c["street__name"]) for c in listed],
                                total=len(communities) if page is not None else None),
    )
