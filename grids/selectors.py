"""Reads of territory and people, always through the account's jurisdiction."""

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from governance.staff.selectors import Jurisdiction
from grids.enums import HouseholdStatus
from grids.models import Building, Community, Department, District, Grid, Household, Resident, Street

# The path to the territory code of each model: the one field jurisdiction filters on.
CODE_PATH = {
    District: "code",
    Street: "code",
    Community: "code",
    Grid: "code",
    Building: "code",
    Household: "building__code",
    Resident: "household__building__code",
}


def scoped(model, jurisdiction: Jurisdiction) -> QuerySet:
    return jurisdiction.scope(model.objects.all(), CODE_PATH[model])


def unit_get(model, jurisdiction: Jurisdiction, code: str):
    """One unit by code; 404 outside the jurisdiction, as if it did not exist."""
    related = {
        Street: ["district"],
        Community: ["street__district"],
        Grid: ["community__street__district"],
        Building: ["grid__community__street__district"],
    }.get(model, [])
    return get_object_or_404(scoped(model, jurisdiction).select_related(*related), code=code)


def household_get(jurisdiction: Jurisdiction, pk: int) -> Household:
    return get_object_or_404(
        scoped(Household, jurisdiction).select_related("building__grid__community__street__district"),
        pk=pk,
    )


def district_list(jurisdiction: Jurisdiction) -> QuerySet:
    return scoped(District, jurisdiction).annotate(child_count=Count("streets")).order_by("code")


def street_list(jurisdiction: Jurisdiction, *, district: District) -> QuerySet:
    return scoped(Street, jurisdiction).filter(district=district).annotate(child_count=Count("communities")).order_by("code")


def community_list(jurisdiction: Jurisdiction, *, street: Street) -> QuerySet:
    return (
        scoped(Community, jurisdiction).filter(street=street).annotate(child_count=Count("grids")).order_by("code")
    )


def grid_list(jurisdiction: Jurisdiction, *, community: Community) -> QuerySet:
    return scoped(Grid, jurisdiction).filter(community=community).annotate(child_count=Count("buildings")).order_by("code")


def building_list(jurisdiction: Jurisdiction, *, grid: Grid) -> QuerySet:
    return (
        scoped(Building, jurisdiction)
        .filter(grid=grid)
        .annotate(
            child_count=Count("households", filter=Q(households__status=HouseholdStatus.ACTIVE))
        )
        .order_by("code")
    )


def household_list(
    jurisdiction: Jurisdiction,
    *,
    within: str,
    query: str = "",
    include_moved_out: bool = False,
) -> QuerySet:
    """Households under a territory code, optionally searched by address, name or phone."""
    qs = scoped(Household, jurisdiction).filter(building__code__startswith=within)
    if not include_moved_out:
        qs = qs.filter(status=HouseholdStatus.ACTIVE)
    query = query.strip()
    if query:
        resident_match = Resident.objects.filter(household=OuterRef("pk")).filter(
            Q(name__icontains=query) | Q(phone__contains=query)
        )
        qs = qs.filter(
            Q(building__address__icontains=query)
            | Q(building__compound__icontains=query)
            | Q(contact_name__icontains=query)
            | Q(phone__contains=query)
            | Q(room__icontains=query)
            | Exists(resident_match)
        )
    return qs.select_related("building").annotate(resident_count=Count("residents")).order_by(
        "building__code", "unit", "room"
    )


def household_count(jurisdiction: Jurisdiction, *, within: str) -> int:
    return scoped(Household, jurisdiction).filter(
        building__code__startswith=within, status=HouseholdStatus.ACTIVE
    ).count()


def resident_count(jurisdiction: Jurisdiction, *, within: str) -> int:
    return scoped(Resident, jurisdiction).filter(
        household__building__code__startswith=within,
        household__status=HouseholdStatus.ACTIVE,
    ).count()


def department_list(jurisdiction: Jurisdiction) -> QuerySet:
    qs = Department.objects.select_related("district")
    if jurisdiction.everything:
        return qs
    q = Q(pk__in=jurisdiction.department_ids)
    for prefix in jurisdiction.prefixes:
        if len(prefix) == 6:  # a district supervisor sees the district's departments
            q |= Q(district_id=prefix)
    return qs.filter(q)


# --- API reads -----------------------------------------------------------------------
# The API lists every level flat (filtered by parent code), so each row carries its
# parent's code (the FK value itself, no join) and a count of its children. The counts
# are correlated subqueries rather than JOIN + GROUP BY: they run for the rows of one
# page only, and the paginator's COUNT(*) drops them instead of grouping the table.


def _children(model, link: str, *, outer: str = "code", **filters) -> Coalesce:
    """How many ``model`` rows point at the outer row through ``link`` (its field ``outer``)."""
    counted = (
        model.objects.filter(**{link: OuterRef(outer)}, **filters)
        .order_by()
        .values(link)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted), 0)


def unit_api_list(model, jurisdiction: Jurisdiction) -> QuerySet:
    """Units of one level inside the jurisdiction, with ``child_count``, ordered by code."""
    child_count = {
        District: lambda: _children(Street, "district"),
        Street: lambda: _children(Community, "street"),
        Community: lambda: _children(Grid, "community"),
        Grid: lambda: _children(Building, "grid"),
        Building: lambda: _children(Household, "building", outer="pk", status=HouseholdStatus.ACTIVE),
    }[model]()
    return scoped(model, jurisdiction).annotate(child_count=child_count).order_by("code")


def household_api_list(jurisdiction: Jurisdiction) -> QuerySet:
    """Every household inside the jurisdiction (moved-out ones too), with ``resident_count``."""
    return (
        scoped(Household, jurisdiction)
        .select_related("building")
        .annotate(resident_count=_children(Resident, "household", outer="pk"))
        .order_by("building__code", "unit", "room", "pk")
    )


def household_search(jurisdiction: Jurisdiction, queryset: QuerySet, *, query: str) -> QuerySet:
    """Narrow ``queryset`` to the households the staff search matches.

    The match is household_list's (address, compound, contact, phone, room, a resident's
    name or phone), so that the pages and the API find the same households.
    """
    matches = household_list(jurisdiction, within="", query=query, include_moved_out=True)
    return queryset.filter(pk__in=matches.order_by().values("pk"))


def household_api_get(jurisdiction: Jurisdiction, pk: int) -> Household:
    """One household with its residents; 404 outside the jurisdiction."""
    return get_object_or_404(
        scoped(Household, jurisdiction)
        .select_related("building")
        .prefetch_related("residents"),
        pk=pk,
    )
