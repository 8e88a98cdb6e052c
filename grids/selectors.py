"""Reads of territory and people, always through the account's jurisdiction."""

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.shortcuts import get_object_or_404

from governance.selectors import Jurisdiction
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
