"""Who sees which report levels: the viewer's own units and the levels its tables offer."""

from django.utils.translation import gettext as _

from governance.assessment import formulas
from governance.assessment.enums import UnitKind
from governance.enums import Role
from governance.kernel.errors import ActionForbidden, NotFound
from governance.reports.tables import LEVELS
from governance.staff.selectors import Jurisdiction, jurisdiction_for
from grids.models import UNIT_MODELS, District

_POST_LEVEL = {
    Role.GRID_WORKER: UnitKind.GRID, Role.COMMUNITY_WORKER: UnitKind.COMMUNITY,
    Role.COMMUNITY_SECRETARY: UnitKind.COMMUNITY, Role.STREET_OFFICER: UnitKind.STREET,
}


def can_see_reports(jurisdiction: Jurisdiction) -> bool:
    """Has a territorial unit to report on (the reports' pages refuse the others, the nav
    shows them the link): an administrator or city supervisor, a district supervisor, a
    grid, community or street post. Without a query: ``post_units`` minus departments."""
    return jurisdiction.everything or any(
        p.role in _POST_LEVEL or (p.role == Role.SUPERVISOR and p.district_id) for p in jurisdiction.posts)


def city_codes() -> list[str]:
    """The cities of the districts on record (one query): a city-wide account's units."""
    return sorted({formulas.city_code(c) for c in District.objects.values_list("code", flat=True)})


def post_units(jurisdiction: Jurisdiction) -> list[tuple[str, str, str]]:
    """The viewer's own units as (kind, code, name), top-down; a city-wide account: the city."""
    units = []
    if jurisdiction.everything:
        units += [(UnitKind.CITY, c, _("全市")) for c in city_codes()]
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
    levels = viewer_levels(jurisdiction) if can_see_reports(jurisdiction) else []
    if not levels:
        raise ActionForbidden(_("报表仅供网格、社区、街道工作人员和督查考核人员查看；部门的指标见工作台。"))
    return levels


def default_level(levels: list[str]) -> str:
    """Communities first: "the worst community of the month" is the usual question."""
    for level in (UnitKind.COMMUNITY, UnitKind.GRID, UnitKind.DEPARTMENT):
        if level in levels:
            return level
    return levels[0]


def asked_level(level: str | None, levels: list[str]) -> str:
    """The level a report page or the API is asked for (else the default); 404 for a level
    the viewer does not see."""
    level = level or default_level(levels)
    if level not in levels:
        raise NotFound()
    return level


def units_under(jurisdiction: Jurisdiction, unit: str, model, *fields: str) -> list[dict]:
    """The units of a level inside the jurisdiction and under ``unit`` (a code prefix,
    404 outside the jurisdiction), by code: their ``fields``."""
    if unit and not jurisdiction.covers(unit):
        raise NotFound()
    qs = jurisdiction.scope(model.objects.all(), "code")
    if unit:
        qs = qs.filter(code__startswith=unit)
    return list(qs.order_by("code").values(*fields))


# A territorial unit's level by the length of its code: the ``unit`` a report page is asked for.
KIND_BY_LENGTH = {6: UnitKind.DISTRICT, 9: UnitKind.STREET, 12: UnitKind.COMMUNITY, 15: UnitKind.GRID}


def unit_name(kind: str, code: str) -> str:
    """A unit's name as the reports print it (a grid: with its community's), "" for none."""
    if kind == UnitKind.CITY:
        return _("全市")
    qs = UNIT_MODELS[kind].objects.filter(code=code)
    if kind == UnitKind.GRID:
        found = qs.values_list("community__name", "name").first()
        return f"{found[0]}{found[1]}" if found else ""
    return qs.values_list("name", flat=True).first() or ""


def own_units(jurisdiction: Jurisdiction) -> list[tuple[str, str, str]]:
    """The viewer's own territorial units (``post_units`` without departments), top-down:
    what a report page opens on without ``?unit=``, the first of them."""
    return [u for u in post_units(jurisdiction) if u[0] in LEVELS]


def asked_unit(jurisdiction: Jurisdiction, unit: str) -> tuple[str, str, str]:
    """The territorial unit a report page is asked for, as (kind, code, name): ``unit`` (a
    district's, street's, community's or grid's code; NotFound outside the jurisdiction or
    unknown), else the viewer's own highest unit (a city-wide account: the city)."""
    if not unit:
        own = own_units(jurisdiction)
        if not own:
            raise NotFound()
        return own[0]
    kind = KIND_BY_LENGTH.get(len(unit))
    if kind is None or not jurisdiction.covers(unit):
        raise NotFound()
    name = unit_name(kind, unit)
    if not name:
        raise NotFound()
    return kind, unit, name


def report_viewer(user) -> tuple[Jurisdiction, list[str]]:
    """The account's jurisdiction and the report levels it may read (403 with the reason
    for an account with none): what every report page and API call starts from."""
    jurisdiction = jurisdiction_for(user)
    return jurisdiction, viewer_levels_required(jurisdiction)

