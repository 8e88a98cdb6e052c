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
from governance.kernel.errors import NotFound
from governance.staff.selectors import jurisdiction_for
from grids import filters, selectors, serializers
from grids.models import Building, Community, District, Grid, Street

TAGS = ["territory"]
_NOT_FOUND = OpenApiResponse(description=_("不存在，或不在您的辖区内。"))
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


@_unit_schema(_("区列表（限本辖区）"), _("区详情"), serializers.DistrictOutputSerializer)
class DistrictViewSet(_UnitViewSet):
    model = District
    serializer_class = serializers.DistrictOutputSerializer
    filterset_class = filters.DistrictFilter


@_unit_schema(_("街道列表（限本辖区）"), _("街道详情"), serializers.StreetOutputSerializer)
class StreetViewSet(_UnitViewSet):
    model = Street
    serializer_class = serializers.StreetOutputSerializer
    filterset_class = filters.StreetFilter


@_unit_schema(_("社区列表（限本辖区）"), _("社区详情"), serializers.CommunityOutputSerializer)
class CommunityViewSet(_UnitViewSet):
    model = Community
    serializer_class = serializers.CommunityOutputSerializer
    filterset_class = filters.CommunityFilter


@_unit_schema(_("网格列表（限本辖区）"), _("网格详情"), serializers.GridOutputSerializer)
class GridViewSet(_UnitViewSet):
    model = Grid
    serializer_class = serializers.GridOutputSerializer
    filterset_class = filters.GridFilter


@_unit_schema(_("楼栋列表（限本辖区）"), _("楼栋详情"), serializers.BuildingOutputSerializer)
class BuildingViewSet(_UnitViewSet):
    model = Building
    serializer_class = serializers.BuildingOutputSerializer
    filterset_class = filters.BuildingFilter


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
