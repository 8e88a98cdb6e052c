"""The reports' API under /api/v1/reports/: the same tables as the pages, scoped the same
way (a unit outside the jurisdiction: 404). Rows are objects keyed by the columns'
``key``; rates are percentages (2 decimals), null when the denominator is empty."""

from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.enums import AccessAction
from governance.kernel import keyset
from governance.kernel.access import access_log_record
from governance.kernel.api import responses
from governance.kernel.api.pagination import (
    COUNT_CAPPED_DESCRIPTION,
    COUNT_DESCRIPTION,
    CURSOR_DESCRIPTION,
    MAX_OFFSET_PAGE,
    NEXT_DESCRIPTION,
    PAGE_DESCRIPTION,
    PREVIOUS_DESCRIPTION,
    KeysetPagination,
)
from governance.reports import hotspots as hotspot_selectors
from governance.reports import scope, tables, unit_page, units
from governance.reports import staffing as staffing_selectors
from governance.reports import supervision as supervision_selectors
from governance.reports.forms import ReportQuery, supervision_filters

TAGS = ["reports"]
RETRY_SECONDS = 5  # a pending answer's Retry-After (the hot spots' buildings and households)
_NOT_FOUND = responses.NOT_FOUND
_BAD = OpenApiResponse(description=_("参数有误（时间段、层级或排序）。"))
PERIOD_PARAMS = [
    OpenApiParameter("period", str, description=_("2026-10（月）、2026Q4（季度）或 2026-10-01..2026-10-15；默认本月")),
    OpenApiParameter("from", OpenApiTypes.DATE, description=_("自定义开始日期（与 to 同用）")),
    OpenApiParameter("to", OpenApiTypes.DATE, description=_("自定义结束日期（含）")),
]


class ReportColumnSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    kind = serializers.CharField(help_text=_("text、code、int、rate、hours、change"))


class ReportTableSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    columns = ReportColumnSerializer(many=True)
    rows = serializers.ListField(child=serializers.DictField(), help_text=_("每行一个对象，键为列的 key"))
    total = serializers.IntegerField(allow_null=True)


class ReportSupervisionOutputSerializer(ReportTableSerializer):
    """A page of the 督办 list: the table of its rows, paged as API v1's lists
    (governance.kernel.api.pagination.KeysetPagination)."""

    total = serializers.IntegerField(help_text=_("同 count（旧字段）"))
    count = serializers.IntegerField(help_text=COUNT_DESCRIPTION)
    count_capped = serializers.BooleanField(help_text=COUNT_CAPPED_DESCRIPTION)
    next = serializers.URLField(allow_null=True, help_text=NEXT_DESCRIPTION)
    previous = serializers.URLField(allow_null=True, help_text=PREVIOUS_DESCRIPTION)


class ReportUnitsOutputSerializer(serializers.Serializer):
    period = serializers.CharField()
    level = serializers.CharField()
    final = serializers.BooleanField()
    as_of = serializers.DateTimeField(allow_null=True)
    table = ReportTableSerializer()


class ReportMeasureSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    benchmark = serializers.FloatField(allow_null=True, help_text=_("上级单位的同一指标"))
    lower_is_better = serializers.BooleanField(help_text=_("越低越好的指标（如返工率）"))
    comparison = serializers.ChoiceField(
        choices=["higher", "lower", "equal"], allow_null=True,
        help_text=_("与上级相比：higher 高于上级，lower 低于上级，equal 持平；缺数据为 null"),
    )
    low = serializers.BooleanField(help_text=_("比上级差：越高越好的指标低于上级，或越低越好的指标高于上级"))


class ReportTrendSerializer(serializers.Serializer):
    months = serializers.ListField(child=serializers.CharField())
    response_rate = serializers.ListField(child=serializers.FloatField(allow_null=True))
    resolution_rate = serializers.ListField(child=serializers.FloatField(allow_null=True))
    satisfaction_rate = serializers.ListField(child=serializers.FloatField(allow_null=True))
    composite = serializers.ListField(child=serializers.FloatField(allow_null=True))


class ReportUnitDetailOutputSerializer(serializers.Serializer):
    kind = serializers.CharField()
    code = serializers.CharField()
    name = serializers.CharField()
    period = serializers.CharField()
    final = serializers.BooleanField()
    row = serializers.DictField()
    measures = ReportMeasureSerializer(many=True)
    trend = ReportTrendSerializer()
    children = ReportTableSerializer(allow_null=True)
    departments = ReportTableSerializer(allow_null=True)
    categories = ReportTableSerializer()
    problems = ReportTableSerializer()
    deliberation = ReportTableSerializer(allow_null=True)  # 民主协商 (governance.reports.deliberation)


class ReportHotspotsOutputSerializer(serializers.Serializer):
    period = serializers.CharField()
    pending = serializers.BooleanField(help_text=_(
        "true（HTTP 202）：本期诉求较多，楼栋和住户正在后台统计，buildings、households 为 null，"
        "类别的 buildings、communities 为 null；稍后（Retry-After 秒后）再请求同一地址"))
    appeals = serializers.IntegerField(help_text=_("本期受理的诉求数（每日流量，约数）"))
    categories = ReportTableSerializer()
    buildings = ReportTableSerializer(allow_null=True)
    households = ReportTableSerializer(allow_null=True)


class ReportStaffingOutputSerializer(serializers.Serializer):
    target = serializers.FloatField(help_text=_("每万城镇常住人口社区工作者目标数"))
    roles = serializers.ListField(child=serializers.CharField(), help_text=_("计入的岗位"))
    city = ReportTableSerializer(help_text=_("全市（仅全市账号）；判断是否达标"))
    districts = ReportTableSerializer()
    streets = ReportTableSerializer()
    communities = ReportTableSerializer()


def _plain(value):
    return float(value) if isinstance(value, Decimal) else value


def table_json(table) -> dict | None:
    if table is None:
        return None
    return {
        "key": table.key, "title": str(table.title),
        "columns": [{"key": c.key, "label": str(c.label), "kind": c.kind} for c in table.columns],
        "rows": [{c.key: _plain(row.get(c.key)) for c in table.columns} for row in table.rows],
        "total": table.total,
    }


def _viewer(request):
    return scope.report_viewer(request.user)


class ReportUnitsAPI(APIView):
    @extend_schema(
        tags=TAGS, operation_id="reports_units_list", summary=_("单位考核排名表（与报表页相同）"), responses={200: ReportUnitsOutputSerializer, 400: _BAD, 404: _NOT_FOUND},
        parameters=[*PERIOD_PARAMS,
                    OpenApiParameter("level", str, description=_("city、district、street、community、grid、department")),
                    OpenApiParameter("parent", str, description=_("只看该单位下的单位（编码）")),
                    OpenApiParameter("sort", str, description=_("列 key，前加 - 为降序；默认 composite（最差在前）"))],
    )
    def get(self, request):
        jurisdiction, levels = _viewer(request)
        params = ReportQuery.parse(request.query_params)
        period = params["period"]
        level = scope.asked_level(params["level"], levels)
        table = units.unit_table(
            jurisdiction=jurisdiction, period=period, level=level,
            parent_code=params["parent"] or None, sort=params["sort"] or None,
        )
        data = {"period": period.label, "level": level, "final": table.final, "as_of": table.as_of,
                "table": table_json(table)}
        return Response(ReportUnitsOutputSerializer(data).data)


class ReportUnitDetailAPI(APIView):
    @extend_schema(tags=TAGS, operation_id="reports_unit_retrieve", summary=_("单位考核报表：指标、上级对比、下级、趋势、类别和问题诉求"),
                   parameters=PERIOD_PARAMS, responses={200: ReportUnitDetailOutputSerializer, 400: _BAD, 404: _NOT_FOUND})
    def get(self, request, kind: str, code: str):
        jurisdiction, _levels = _viewer(request)
        period = ReportQuery.parse(request.query_params)["period"]
        report = unit_page.unit_report(jurisdiction=jurisdiction, period=period, kind=kind, code=code)
        row = {k: _plain(v) for k, v in report.row.items()}
        data = {
            "kind": kind, "code": code, "name": report.name, "period": period.label, "final": report.final,
            "row": row, "measures": [{**m, "value": _plain(m["value"]), "benchmark": _plain(m["benchmark"])}
                                     for m in report.measures],
            "trend": report.trend, "children": table_json(report.children),
            "departments": table_json(report.departments), "categories": table_json(report.categories),
            "problems": table_json(report.problems), "deliberation": table_json(report.deliberation),
        }
        return Response(ReportUnitDetailOutputSerializer(data).data)


class SupervisionPagination(KeysetPagination):
    """API v1's keyset pages (cursor; page up to MAX_OFFSET_PAGE; a capped count), of the
    list's PAGE_SIZE rows."""

    page_size = tables.PAGE_SIZE
    page_cap_message = _("页码最多为 %(n)s。请加筛选条件缩小范围（如 unit、category、min_days、district_only），"
                         "或沿返回结果中的 next 链接（cursor 参数）继续向后翻页，翻多深都一样快。") % {"n": MAX_OFFSET_PAGE}


class ReportSupervisionAPI(APIView):
    # The one order of the list (the pagination's ``ordering``): the most overdue first.
    keyset_sorts = {supervision_selectors.SUPERVISION_SORT.key: supervision_selectors.SUPERVISION_SORT}
    keyset_default = supervision_selectors.SUPERVISION_SORT.key

    @extend_schema(
        tags=TAGS, operation_id="reports_supervision_list", summary=_("督办清单（区督办层级和其他超期诉求）"),
        responses={200: ReportSupervisionOutputSerializer, 400: _BAD, 404: _NOT_FOUND},
        parameters=[OpenApiParameter("unit", str, description=_("单位编码前缀")),
                    OpenApiParameter("category", str, description=_("类别编码")),
                    OpenApiParameter("min_days", int, description=_("超期至少（天）")),
                    OpenApiParameter("max_days", int, description=_("超期不足（天）")),
                    OpenApiParameter("district_only", bool, description=_("仅区督办层级")),
                    OpenApiParameter("cursor", str, description=CURSOR_DESCRIPTION),
                    OpenApiParameter("page", int, description=PAGE_DESCRIPTION),
                    OpenApiParameter("page_size", int, description=_("每页条数，默认 %(d)s，最多 %(n)s") % {
                        "d": SupervisionPagination.page_size, "n": SupervisionPagination.max_page_size})],
    )
    def get(self, request):
        jurisdiction, _levels = _viewer(request)
        params = ReportQuery.parse(request.query_params)
        filters = supervision_filters(params)
        now = timezone.now()
        # A page as API v1 pages its lists (cursor, or page up to MAX_OFFSET_PAGE; the count
        # capped): the whole list is the export's (streamed, or a job).
        paginator = SupervisionPagination()
        appeals = paginator.paginate_queryset(
            supervision_selectors.supervision_queryset(jurisdiction=jurisdiction, filters=filters, now=now),
            request, view=self)
        paged = paginator.get_paginated_response([]).data
        table = supervision_selectors.supervision_rows(appeals, now=now, total=min(paginator.count, keyset.COUNT_CAP))
        data = {**table_json(table), **{k: paged[k] for k in ("count", "count_capped", "next", "previous")}}
        return Response(ReportSupervisionOutputSerializer(data).data)


class ReportHotspotsAPI(APIView):
    @extend_schema(
        tags=TAGS, operation_id="reports_hotspots_retrieve", summary=_("高频诉求：类别、楼栋、住户（电话脱敏，记入个人信息访问记录）"),
        parameters=[*PERIOD_PARAMS, OpenApiParameter("unit", str, description=_("单位编码前缀"))],
        responses={
            200: ReportHotspotsOutputSerializer,
            202: OpenApiResponse(ReportHotspotsOutputSerializer, description=_(
                "本期诉求较多，楼栋和住户正在后台统计（pending 为 true，buildings、households 为 null）："
                "类别已给出；按 Retry-After 头的秒数后再请求。")),
            400: _BAD, 404: _NOT_FOUND,
        },
    )
    def get(self, request):
        jurisdiction, _levels = _viewer(request)
        params = ReportQuery.parse(request.query_params)
        period, unit = params["period"], params["unit"]
        found = hotspot_selectors.hotspots(jurisdiction=jurisdiction, period=period, unit=unit)
        if found.households is not None and found.households.rows:
            access_log_record(user=request.user, action=AccessAction.VIEW, subject=f"hotspots:{unit or 'all'}:{period.label}",
                              record_count=len(found.households.rows), request=request)
        data = {"period": period.label, "pending": found.pending, "appeals": found.appeals,
                "categories": table_json(found.categories),
                "buildings": table_json(found.buildings), "households": table_json(found.households)}
        if found.pending:
            return Response(ReportHotspotsOutputSerializer(data).data, status=202,
                            headers={"Retry-After": str(RETRY_SECONDS)})
        return Response(ReportHotspotsOutputSerializer(data).data)


class ReportStaffingAPI(APIView):
    @extend_schema(
        tags=TAGS, operation_id="reports_staffing_retrieve", summary=_("社区工作者配比（每万城镇常住人口）"),
        parameters=[OpenApiParameter("unit", str, description=_("单位编码前缀"))],
        responses={200: ReportStaffingOutputSerializer, 404: _NOT_FOUND},
    )
    def get(self, request):
        jurisdiction, _levels = _viewer(request)
        found = staffing_selectors.staffing(jurisdiction=jurisdiction, unit=ReportQuery.parse(request.query_params)["unit"])
        data = {"target": float(found.target), "roles": found.roles, "city": table_json(found.city),
                "districts": table_json(found.districts),
                "streets": table_json(found.streets), "communities": table_json(found.communities)}
        return Response(ReportStaffingOutputSerializer(data).data)
