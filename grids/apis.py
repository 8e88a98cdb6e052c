"""Territory API (read-only): districts → streets → communities → grids → buildings → households.

One viewset per resource. Querysets come from grids.selectors, already scoped to the
account: outside its jurisdiction an object does not exist (404) and lists leave it
out. Lists mask phone numbers; a household's detail shows them and is logged.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.response import Response

from governance.enums import AccessAction
from governance.kernel.access import access_log_record
from governance.kernel.api import responses
from governance.kernel.errors import NotFound
from governance.staff.selectors import jurisdiction_for
from grids import filters, selectors, serializers
from grids.filters import BuildingFilter, CommunityFilter, DistrictFilter, GridFilter, StreetFilter
from grids.models import Building, Community, District, Grid, Street
from grids.serializers import (
    BuildingOutputSerializer,
    CommunityOutputSerializer,
    DistrictOutputSerializer,
    GridOutputSerializer,
    StreetOutputSerializer,
)

TAGS = ["territory"]
_NOT_FOUND = responses.NOT_FOUND
_BAD = OpenApiResponse(description=_("筛选条件有误（附说明）。"))


def _unit_schema(list_summary, detail_summary, serializer):
    return extend_schema_view(
        list=extend_schema(tags=TAGS, summary=list_summary, responses={200: serializer(many=True), 400: _BAD}),
        retrieve=extend_schema(tags=TAGS, summary=detail_summary, responses={200: serializer, 404: _NOT_FOUND}),
    )


# A territory level, looked up by its code.
class _UnitViewSet(viewsets.ReadOnlyModelViewSet):
    model: type
    lookup_field = "code"

    def get_queryset(self):
        return selectors.unit_api_list(self.model, jurisdiction_for(self.request.user))


def _unit_viewset(model, serializer, filterset, list_summary, detail_summary):
    viewset = type(f"{model.__name__}ViewSet", (_UnitViewSet,), {
        "__module__": __name__, "model": model, "serializer_class": serializer, "filterset_class": filterset,
    })
    return _unit_schema(list_summary, detail_summary, serializer)(viewset)


DistrictViewSet = _unit_viewset(District, DistrictOutputSerializer, DistrictFilter, _("区列表（限本辖区）"), _("区详情"))
StreetViewSet = _unit_viewset(Street, StreetOutputSerializer, StreetFilter, _("街道列表（限本辖区）"), _("街道详情"))
CommunityViewSet = _unit_viewset(Community, CommunityOutputSerializer, CommunityFilter, _("社区列表（限本辖区）"), _("社区详情"))
GridViewSet = _unit_viewset(Grid, GridOutputSerializer, GridFilter, _("网格列表（限本辖区）"), _("网格详情"))
BuildingViewSet = _unit_viewset(Building, BuildingOutputSerializer, BuildingFilter, _("楼栋列表（限本辖区）"), _("楼栋详情"))


@extend_schema_view(
    list=extend_schema(tags=TAGS, summary=_("住户列表（限本辖区，电话脱敏）"),
                       responses={200: serializers.HouseholdListOutputSerializer(many=True), 400: _BAD}),
    retrieve=extend_schema(
        tags=TAGS,
        summary=_("住户详情（含居民和完整电话，记入个人信息访问记录）"),
        responses={200: serializers.HouseholdDetailOutputSerializer, 404: _NOT_FOUND},
    ),
)
class HouseholdViewSet(viewsets.ReadOnlyModelViewSet):
    filterset_class = filters.HouseholdFilter

    def get_queryset(self):
        return selectors.household_api_list(jurisdiction_for(self.request.user))

    def get_serializer_class(self):
        if self.action == "retrieve":
            return serializers.HouseholdDetailOutputSerializer
        return serializers.HouseholdListOutputSerializer

    def retrieve(self, request, pk: str):
        if not pk.isdigit():
            raise NotFound()
        household = selectors.household_api_get(jurisdiction_for(request.user), int(pk))
        residents = household.residents.all()
        access_log_record(
            user=request.user, action=AccessAction.VIEW, subject=f"household:{household.pk}",
            record_count=1 + len(residents), request=request,
        )
        return Response(serializers.HouseholdDetailOutputSerializer(household, context={"request": request}).data)


# The URL prefix of each resource (grids/api_urls.py).
RESOURCES = {
    "districts": DistrictViewSet,
    "streets": StreetViewSet,
    "communities": CommunityViewSet,
    "grids": GridViewSet,
    "buildings": BuildingViewSet,
    "households": HouseholdViewSet,
}
