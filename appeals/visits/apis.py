"""入户走访 in the staff API (/api/v1/visits/): the same selectors and service as the pages
(appeals.visits.selectors, appeals.visits.services).

- ``GET /visits/plans/`` the 走访 list: each household with a plan, its status and due date;
- ``GET /visits/households/{id}/`` a household's plan and its visits;
- ``POST /visits/households/{id}/visits/`` record a visit (the server's time, the visitor's post);
- ``GET /visits/`` the visits the account sees, newest first (paged); ``GET /visits/{id}/`` one.

Care tags and visit records are sensitive personal information (DESIGN.md §11): only the
grid's workers and the community's staff see them (``Jurisdiction.sees_care``, asked by the
selectors): 404 outside the jurisdiction, 403 inside it for those who see figures only.
Every answer that shows them writes an access-log entry, with the pages' subjects.
"""

from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from appeals.images import photo_response
from appeals.visits import plans, selectors, services
from appeals.visits.enums import CheckAnswer, VisitMethod, VisitPeriod
from appeals.visits.models import Visit
from appeals.visits.retention import past_retention
from governance.enums import AccessAction
from governance.kernel.access import access_log_record
from governance.kernel.api.negotiation import AnyAccept
from governance.staff.apis import JurisdictionListAPI
from governance.staff.selectors import jurisdiction_for

TAGS = ["visits"]
_BAD = OpenApiResponse(description=gettext_lazy("输入有误：按提示修改后重试。"))
_FORBIDDEN = OpenApiResponse(description=gettext_lazy(
    "关怀标签和走访记录仅本网格网格员和本社区工作人员可见；其他账号在报表中查看走访统计。"))
_NOT_FOUND = OpenApiResponse(description=gettext_lazy("不存在，或不在您的辖区内。"))
STATUS_LABELS = {
    plans.Status.LONG_OVERDUE: gettext_lazy("逾期超过一个周期"), plans.Status.OVERDUE: gettext_lazy("已逾期"),
    plans.Status.DUE_TODAY: gettext_lazy("今日到期"), plans.Status.DUE: gettext_lazy("本期待访"),
    plans.Status.DONE: gettext_lazy("本期已访"),
}


class VisitHouseholdOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    building = serializers.CharField(source="building_id", help_text=gettext_lazy("楼栋编码"))
    address = serializers.CharField(source="building.address")
    label = serializers.CharField(help_text=gettext_lazy("单元和房号"))
    grid = serializers.CharField(source="building.grid_id", help_text=gettext_lazy("网格编码"))
    care_tags = serializers.ListField(child=serializers.CharField(), source="care_tag_list",
                                      help_text=gettext_lazy("关怀标签（键）"))
    care_tag_labels = serializers.ListField(child=serializers.CharField())


class VisitPlanOutputSerializer(serializers.Serializer):
    period = serializers.ChoiceField(choices=VisitPeriod.choices, help_text=gettext_lazy("走访频次"))
    period_label = serializers.CharField()
    phone_counts = serializers.BooleanField(help_text=gettext_lazy("电话走访计为完成"))
    checklist = serializers.ListField(child=serializers.CharField(), help_text=gettext_lazy("走访检查项"))


class VisitPlanRowOutputSerializer(serializers.Serializer):
    household = VisitHouseholdOutputSerializer()
    plan = VisitPlanOutputSerializer()
    status = serializers.ChoiceField(choices=list(STATUS_LABELS.items()),
                                     help_text=gettext_lazy("本期状态：long_overdue / overdue / due_today / due / done"))
    status_label = serializers.CharField()
    due_date = serializers.DateField(help_text=gettext_lazy("本期最后一天"))
    last_done = serializers.DateField(allow_null=True, help_text=gettext_lazy("最近一次计为完成的走访日期"))


class VisitOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    household = serializers.IntegerField(source="household_id")
    address = serializers.SerializerMethodField()
    visited_at = serializers.DateTimeField()
    visitor = serializers.CharField(source="visitor_label", help_text=gettext_lazy("走访人（岗位）"))
    companions = serializers.CharField()
    method = serializers.ChoiceField(choices=VisitMethod.choices)
    method_label = serializers.CharField(source="get_method_display")
    counts_done = serializers.BooleanField(help_text=gettext_lazy("计为本期完成"))
    checklist = serializers.DictField(child=serializers.ChoiceField(choices=CheckAnswer.choices),
                                      help_text=gettext_lazy("检查项 → good 正常 / concern 需关注"))
    notes = serializers.CharField()
    photo_count = serializers.SerializerMethodField()
    appeals = serializers.SerializerMethodField(help_text=gettext_lazy("走访发现并发起的诉求（查询码）"))
    cleared = serializers.SerializerMethodField(
        help_text=gettext_lazy("已超过保存期限：走访记录、检查情况、同行人员和照片已清除（时间和方式保留用于统计）"))

    def get_address(self, visit) -> str:
        household = visit.household
        return f"{household.building.address} {household.label}"

    def get_photo_count(self, visit) -> int:
        return len(visit.photos)

    def get_cleared(self, visit) -> bool:
        return past_retention(visit)

    def get_appeals(self, visit) -> list[str]:
        return [a.tracking_code for a in visit.appeals.all()]


class VisitHouseholdDetailOutputSerializer(serializers.Serializer):
    household = VisitHouseholdOutputSerializer()
    plan = VisitPlanOutputSerializer(allow_null=True)
    visits = VisitOutputSerializer(many=True, help_text=gettext_lazy("最近 50 次走访，新的在前"))


def _plan(plan) -> dict | None:
    if plan is None:
        return None
    return {"period": plan.period, "period_label": plan.period_label, "phone_counts": plan.phone_counts,
            "checklist": list(plan.checklist)}


class VisitPlanListAPI(APIView):
    @extend_schema(
        tags=TAGS, summary=gettext_lazy("走访清单：本人负责的关怀户，逾期的在前"),
        description=gettext_lazy("与走访清单页相同；每次查看记入个人信息访问记录。"),
        responses={200: VisitPlanRowOutputSerializer(many=True), 403: _FORBIDDEN},
    )
    def get(self, request):
        sections = selectors.visit_list(jurisdiction=jurisdiction_for(request.user))
        rows = [{"household": household, "plan": _plan(plan), "status": due.status,
                 "status_label": STATUS_LABELS[due.status], "due_date": due.due_date, "last_done": due.last_done}
                for entries in sections.values() for household, plan, due in entries]
        access_log_record(user=request.user, action=AccessAction.VIEW, subject="visits:list", record_count=len(rows),
                          request=request)
        return Response(VisitPlanRowOutputSerializer(rows, many=True).data)


class VisitHouseholdAPI(APIView):
    @extend_schema(
        tags=TAGS, summary=gettext_lazy("关怀户的走访计划和走访记录"),
        description=gettext_lazy("每次查看记入个人信息访问记录。"),
        responses={200: VisitHouseholdDetailOutputSerializer, 403: _FORBIDDEN, 404: _NOT_FOUND},
    )
    def get(self, request, pk: int):
        household = selectors.care_household_get(jurisdiction=jurisdiction_for(request.user), pk=pk)
        visits = selectors.household_visits(household=household)
        for visit in visits:
            visit.household = household
        access_log_record(user=request.user, action=AccessAction.VIEW, subject=f"visits:household:{household.pk}",
                          record_count=1 + len(visits), request=request)
        plan = plans.plan_for(household.care_tag_list, plans.rules())
        body = {"household": household, "plan": _plan(plan), "visits": visits}
        return Response(VisitHouseholdDetailOutputSerializer(body).data)


class VisitRecordAPI(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    class VisitRecordInputSerializer(serializers.Serializer):
        method = serializers.ChoiceField(
            choices=VisitMethod.choices,
            error_messages={"required": gettext_lazy("请选择走访方式：在家、电话或未见到。"),
                            "invalid_choice": gettext_lazy("请选择走访方式：在家、电话或未见到。")},
            help_text=gettext_lazy("home 在家 / phone 电话 / not_found 未见到"))
        companions = serializers.CharField(required=False, allow_blank=True, default="", max_length=100,
                                           help_text=gettext_lazy("同行人员，如 社区民警、楼栋长"))
        checklist = serializers.DictField(
            child=serializers.CharField(), required=False, default=dict,
            help_text=gettext_lazy("检查项 → good 正常 / concern 需关注（检查项见走访计划的 checklist）"))
        notes = serializers.CharField(required=False, allow_blank=True, default="",
                                      help_text=gettext_lazy("走访记录，不超过 2000 字"))
        photos = serializers.ListField(
            child=serializers.FileField(allow_empty_file=False), required=False, default=list,
            help_text=gettext_lazy("照片（multipart，可重复此字段）"))

    @extend_schema(
        tags=TAGS, summary=gettext_lazy("记录一次入户走访"),
        description=gettext_lazy("走访时间为服务器时间；与走访页同一服务（本网格网格员、本社区工作人员）。"
                                 "JSON，或 multipart 带照片。"),
        request=VisitRecordInputSerializer,
        responses={201: VisitOutputSerializer, 400: _BAD, 403: _FORBIDDEN, 404: _NOT_FOUND},
    )
    def post(self, request, pk: int):
        household = selectors.care_household_get(jurisdiction=jurisdiction_for(request.user), pk=pk)
        serializer = self.VisitRecordInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        visit = services.visit_record(actor=request.user, household=household, **serializer.validated_data)
        visit.household = household
        return Response(VisitOutputSerializer(visit).data, status=status.HTTP_201_CREATED)


class VisitListAPI(JurisdictionListAPI):
    model = Visit
    serializer_class = VisitOutputSerializer

    def rows(self, jurisdiction):
        return selectors.visits_in_care(jurisdiction=jurisdiction)

    @extend_schema(
        tags=TAGS, summary=gettext_lazy("走访记录列表（本人负责的网格或社区），新的在前"),
        description=gettext_lazy("每次查看记入个人信息访问记录。"),
        responses={200: VisitOutputSerializer(many=True), 403: _FORBIDDEN},
    )
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        access_log_record(user=request.user, action=AccessAction.VIEW, subject="visits:records",
                          record_count=len(response.data.get("results", [])), request=request)
        return response


class VisitPhotoAPI(APIView):
    content_negotiation_class = AnyAccept

    @extend_schema(
        tags=TAGS, summary=gettext_lazy("走访照片（index 从 0 开始，共 photo_count 张）"),
        description=gettext_lazy("照片只经此接口（核对关怀可见范围）提供，没有公开的 /media/ 地址。"),
        responses={(200, "image/jpeg"): OpenApiTypes.BINARY, 403: _FORBIDDEN, 404: _NOT_FOUND},
    )
    def get(self, request, pk: int, index: int):
        visit = selectors.visit_get(jurisdiction=jurisdiction_for(request.user), pk=pk)
        return photo_response(selectors.visit_photo_open(visit, index))


class VisitDetailAPI(APIView):
    @extend_schema(
        tags=TAGS, summary=gettext_lazy("一次走访的记录"),
        description=gettext_lazy("每次查看记入个人信息访问记录。"),
        responses={200: VisitOutputSerializer, 403: _FORBIDDEN, 404: _NOT_FOUND},
    )
    def get(self, request, pk: int):
        visit = selectors.visit_get(jurisdiction=jurisdiction_for(request.user), pk=pk)
        access_log_record(user=request.user, action=AccessAction.VIEW, subject=f"visit:{visit.pk}", request=request)
        return Response(VisitOutputSerializer(visit).data)

