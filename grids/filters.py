"""Filters of the territory API (django-filter).

They only narrow a queryset the selectors have already scoped to the account, so a
filter can never widen what an account sees.
"""

import django_filters
from django.core.validators import RegexValidator
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from governance.staff.selectors import jurisdiction_for
from grids import selectors
from grids.enums import CareTag, HouseholdStatus
from grids.models import Building, Community, District, Grid, Household, Street

# Digits of each level's code (DESIGN.md §2).
CODE_DIGITS = {"district": 6, "street": 9, "community": 12, "grid": 15, "building": 19}
LEVEL_NAMES = {"district": _("区"), "street": _("街道"), "community": _("社区"), "grid": _("网格"), "building": _("楼栋")}


def under(level: str, *, code_path: str, key_path: str | None = None) -> django_filters.CharFilter:
    """Everything under one unit. Codes are hierarchical, so "under" is a code prefix;
    the code must be complete, or ``1101`` would match several districts. ``key_path``: a
    column that holds the unit's own code at that level (a denormalised key, such as
    Appeal.community): the filter is then equality on it — the same rows as the prefix,
    as every code extends its parent's — which an index leading with that key serves,
    with the list's order after it."""
    digits = CODE_DIGITS[level]
    return django_filters.CharFilter(
        field_name=key_path or code_path,
        lookup_expr="exact" if key_path else "startswith",
        label=_("%(level)s编码（%(digits)s 位数字）：只列出其下的记录") % {"level": LEVEL_NAMES[level], "digits": digits},
        validators=[
            RegexValidator(
                rf"^\d{{{digits}}}$",
                _("%(level)s编码须为 %(digits)s 位数字。") % {"level": LEVEL_NAMES[level], "digits": digits},
            )
        ],
    )


def _search_units(queryset: QuerySet, name: str, value: str) -> QuerySet:
    value = value.strip()
    if not value:
        return queryset
    return queryset.filter(Q(name__icontains=value) | Q(code__startswith=value))


_UNIT_SEARCH_LABEL = _("按名称或编码开头查找")


class DistrictFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(method=_search_units, label=_UNIT_SEARCH_LABEL, max_length=50)

    class Meta:
        model = District
        fields = ["search"]


class StreetFilter(django_filters.FilterSet):
    district = under("district", code_path="code")
    search = django_filters.CharFilter(method=_search_units, label=_UNIT_SEARCH_LABEL, max_length=50)

    class Meta:
        model = Street
        fields = ["district", "search"]


class CommunityFilter(django_filters.FilterSet):
    district = under("district", code_path="code")
    street = under("street", code_path="code")
    search = django_filters.CharFilter(method=_search_units, label=_UNIT_SEARCH_LABEL, max_length=50)

    class Meta:
        model = Community
        fields = ["district", "street", "search"]


class GridFilter(django_filters.FilterSet):
    district = under("district", code_path="code")
    street = under("street", code_path="code")
    community = under("community", code_path="code")
    search = django_filters.CharFilter(method=_search_units, label=_UNIT_SEARCH_LABEL, max_length=50)

    class Meta:
        model = Grid
        fields = ["district", "street", "community", "search"]


class BuildingFilter(django_filters.FilterSet):
    district = under("district", code_path="code")
    street = under("street", code_path="code")
    community = under("community", code_path="code")
    grid = under("grid", code_path="code")
    search = django_filters.CharFilter(method="filter_search", label=_("按地址、小区或楼栋编码开头查找"), max_length=50)

    class Meta:
        model = Building
        fields = ["district", "street", "community", "grid", "search"]

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(address__icontains=value) | Q(compound__icontains=value) | Q(code__startswith=value)
        )


class HouseholdFilter(django_filters.FilterSet):
    district = under("district", code_path="building__code")
    street = under("street", code_path="building__code")
    community = under("community", code_path="building__code")
    grid = under("grid", code_path="building__code")
    building = under("building", code_path="building__code")
    search = django_filters.CharFilter(
        method="filter_search", label=_("按地址、房号、联系人、居民姓名或电话查找"), max_length=50
    )
    status = django_filters.ChoiceFilter(choices=HouseholdStatus.choices, label=_("状态"))
    care_tag = django_filters.ChoiceFilter(
        choices=CareTag.choices, method="filter_care_tag", label=_("关怀标签")
    )

    class Meta:
        model = Household
        fields = ["district", "street", "community", "grid", "building", "search", "status", "care_tag"]

    def filter_search(self, queryset, name, value):
        if not value.strip():
            return queryset
        return selectors.household_search(jurisdiction_for(self.request.user), queryset, query=value)

    def filter_care_tag(self, queryset, name, value):
        # Care tags are sensitive (PIPL): the filter finds only the households whose tags the
        # account sees (Jurisdiction.sees_care), so a street officer learns nothing from it.
        queryset = queryset.filter(jurisdiction_for(self.request.user).care_code_q("building__code"))
        # care_tags is a comma-separated list: match whole tags, not substrings.
        return queryset.filter(
            Q(care_tags=value)
            | Q(care_tags__startswith=f"{value},")
            | Q(care_tags__endswith=f",{value}")
            | Q(care_tags__contains=f",{value},")
        )
