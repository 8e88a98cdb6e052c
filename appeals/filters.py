"""Filters of the staff appeals list (django-filter).

They only narrow a queryset that appeals.selectors.appeal_scope has already scoped to
the account, so a filter can never widen what an account sees. Places filter on
``territory_code`` (the most precise known code of the appeal's place), so "in this
district" is one prefix match; a street and a community are their own keys (``street_id``,
``community_id``, the codes), the same rows as their prefixes: the indexes
appeal_street_state_created and appeal_comm_state_created (unit, state, created_at, id)
then give a unit's newest appeals of one state in order, where the prefix made PostgreSQL
walk the city's (created_at, id) index and filter (docs/BENCHMARKS.md, issue 24: 643,000
rows read for 51 at ten million appeals).
"""

import django_filters
from django.core.validators import RegexValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from appeals.enums import AppealState, HandlingLevel, Source
from appeals.models import Appeal
from appeals.selectors import overdue_q, search_q
from grids.filters import under


class AppealFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=AppealState.choices, label=_("状态"))
    category = django_filters.CharFilter(
        field_name="category__code", label=_("类别编码（5 位数字）"),
        validators=[RegexValidator(r"^\d{5}$", _("类别编码须为 5 位数字。"))],
    )
    source = django_filters.ChoiceFilter(choices=Source.choices, label=_("来源"))
    handling_level = django_filters.ChoiceFilter(
        choices=HandlingLevel.choices[:4], label=_("办理层级")
    )
    district = under("district", code_path="territory_code")
    street = under("street", code_path="territory_code", key_path="street_id")
    community = under("community", code_path="territory_code", key_path="community_id")
    grid = under("grid", code_path="territory_code")
    overdue = django_filters.BooleanFilter(
        method="filter_overdue", label=_("true：已过办结时限且尚未办结；false：未超期")
    )
    created_from = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__gte", label=_("受理日期起（含，北京时间）")
    )
    created_to = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__lte", label=_("受理日期止（含，北京时间）")
    )
    search = django_filters.CharFilter(
        method="filter_search", max_length=50, label=_("按查询码、电话或地址查找")
    )

    class Meta:
        model = Appeal
        fields = [
            "state", "category", "source", "handling_level", "district", "street", "community", "grid",
            "overdue", "created_from", "created_to", "search",
        ]

    def filter_overdue(self, queryset, name, value):
        late = overdue_q(timezone.now())
        return queryset.filter(late) if value else queryset.exclude(late)

    def filter_search(self, queryset, name, value):
        q = search_q(value)
        return queryset if q is None else queryset.filter(q)
