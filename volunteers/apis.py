"""Volunteers API: the pages' operations with the same selectors, services and checks.

One class per operation. Serializer names carry a ``Volunteer…`` prefix so that
drf-spectacular's component names stay unique across the project.
"""

from django.utils import timezone
from django.utils.functional import lazy
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from appeals.enums import AppealAction
from appeals.images import photo_rule
from appeals.selectors import resident_contact
from appeals.serializers import DeadlineTextField
from appeals.services import appeal_act
from governance.kernel.api import responses
from governance.kernel.api.pagination import PAGE_PARAMETERS, StandardPagination, paginated
from volunteers import selectors, services
from volunteers.forms import ActivityListQuery, OverviewQuery
from volunteers.models import Activity, Signup

TAGS = ["volunteers"]
_NOT_FOUND = OpenApiResponse(description=_("不存在，或不在您的社区/辖区内。"))
_CONFLICT = OpenApiResponse(description=_("状态不允许（名额已满、已报名、积分不足、已兑完等）。"))
_FORBIDDEN = OpenApiResponse(description=_("无权进行此操作（附原因）。"))
_BAD = responses.BAD_INPUT
_VOLUNTEER_ONLY = OpenApiResponse(description=_("仅限已登记的志愿者：工作人员等未登记账号为 403（附原因）。"))


# --- Serializers ----------------------------------------------------------------------

class VolunteerActivityOutputSerializer(serializers.ModelSerializer):
    community_name = serializers.CharField(source="community.name", read_only=True)
    places_left = serializers.IntegerField(read_only=True)
    # Plain strings: choice fields named "status" collide in the schema's enum names.
    status = serializers.CharField(read_only=True, help_text="open 报名中 / cancelled 已取消 / finished 已结束")

    class Meta:
        model = Activity
        fields = ["id", "community", "community_name", "title", "description", "place", "starts_at", "ends_at",
                  "capacity_min", "capacity_max", "signed_up_count", "places_left", "status", "organiser"]


class VolunteerActivityManageOutputSerializer(VolunteerActivityOutputSerializer):
    class Meta(VolunteerActivityOutputSerializer.Meta):
        fields = [*VolunteerActivityOutputSerializer.Meta.fields, "checkin_code"]


class VolunteerActivityCreateInputSerializer(serializers.Serializer):
    community = serializers.RegexField(r"^\d{12}$", help_text=_("社区编码（12 位）"))
    title = serializers.CharField(max_length=100)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    place = serializers.CharField(max_length=200)
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    capacity_min = serializers.IntegerField(min_value=1, default=1)
    capacity_max = serializers.IntegerField(min_value=1, max_value=1000)


class VolunteerSignupOutputSerializer(serializers.ModelSerializer):
    volunteer_name = serializers.CharField(source="volunteer.name", read_only=True)
    status = serializers.CharField(read_only=True, help_text="signed_up 已报名 / cancelled 已取消 / checked_in 已签到 / attended 已签退")
    hours_credited = serializers.DecimalField(max_digits=9, decimal_places=2, read_only=True,
                                              help_text=_("认定时长（小时），即 minutes_credited / 60"))

    class Meta:
        model = Signup
        fields = ["id", "activity", "volunteer", "volunteer_name", "status", "signed_up_at", "cancelled_at",
                  "checked_in_at", "checked_out_at", "minutes_credited", "hours_credited"]


class VolunteerSelfCheckInputSerializer(serializers.Serializer):
    code = serializers.RegexField(r"^\d{6}$", help_text=_("组织者出示的 6 位签到码"))
    direction = serializers.ChoiceField(choices=[("in", _("签到")), ("out", _("签退"))])


class VolunteerQrCheckInputSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=500, help_text=_("签到二维码中的令牌"))


class VolunteerAttendanceInputSerializer(serializers.Serializer):
    at = serializers.DateTimeField(required=False, allow_null=True, help_text=_("留空为现在；补登时填实际时间"))


class VolunteerRegistrationOutputSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    work_unit = serializers.CharField()
    organization = serializers.CharField(source="organization.name", allow_null=True, default=None)
    hours_target = serializers.IntegerField()
    reported_at = serializers.DateField(allow_null=True)
    rating = serializers.CharField(allow_blank=True)


class VolunteerMeOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    community = serializers.CharField(source="community_id")
    community_name = serializers.CharField(source="community.name")
    skills = serializers.ListField(child=serializers.CharField(), source="skill_list")
    status = serializers.CharField()
    joined_on = serializers.DateField()
    points_balance = serializers.IntegerField()
    hours_year = serializers.DecimalField(max_digits=9, decimal_places=2, help_text=_("本年服务时长（双报到计此数）"))
    hours_total = serializers.DecimalField(max_digits=9, decimal_places=2, help_text=_("累计服务时长"))
    points_hours_total = serializers.DecimalField(
        max_digits=9, decimal_places=2, help_text=_("累计计积分时长：每次活动最多计 VOLUNTEER_MAX_HOURS_PER_ACTIVITY 小时"))
    registration = VolunteerRegistrationOutputSerializer(allow_null=True)


class VolunteerPointsEntryOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    delta = serializers.IntegerField()
    accrued = serializers.IntegerField(help_text=_("志愿活动明细：按积分规则应计的变动（余额上限前）"))
    balance_after = serializers.IntegerField()
    kind = serializers.CharField(help_text="earn 获得 / redeem 兑换 / adjust 调整 / reversal 冲正")
    source = serializers.CharField()
    activity = serializers.IntegerField(source="activity_id", allow_null=True)
    appeal_code = serializers.CharField(allow_blank=True)
    note = serializers.CharField(allow_blank=True)


class VolunteerRewardOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    cost = serializers.IntegerField()
    stock = serializers.IntegerField()
    community = serializers.CharField(source="community_id", allow_null=True)


class VolunteerRedemptionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reward = serializers.IntegerField(source="reward_id")
    reward_name = serializers.CharField(source="reward.name")
    cost = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    points_balance = serializers.IntegerField(source="volunteer.points_balance")


class VolunteerHoursOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    community = serializers.CharField(source="community_id")
    status = serializers.CharField()
    skills = serializers.ListField(child=serializers.CharField(), source="skill_list")
    hours_year = serializers.DecimalField(max_digits=9, decimal_places=2)
    activities_year = serializers.IntegerField()
    points_balance = serializers.IntegerField()


class VolunteerMemberProgressOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    volunteer = serializers.IntegerField(source="volunteer_id")
    name = serializers.CharField(source="volunteer.name")
    community = serializers.CharField(source="community_id")
    year = serializers.IntegerField()
    work_unit = serializers.CharField()
    organization = serializers.IntegerField(source="organization_id", allow_null=True)
    reported_at = serializers.DateField(allow_null=True)
    hours_target = serializers.IntegerField()
    hours_year = serializers.DecimalField(max_digits=9, decimal_places=2)
    rating = serializers.CharField(allow_blank=True)


class VolunteerOrganizationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="organization.id")
    name = serializers.CharField(source="organization.name")
    work_unit = serializers.CharField(source="organization.work_unit")
    community = serializers.CharField(source="organization.community_id")
    members = serializers.IntegerField()
    hours = serializers.DecimalField(max_digits=11, decimal_places=2)
    met = serializers.IntegerField(help_text=_("达到年度目标的党员人数"))


def _paginated(request, view, qs, serializer_class, transform=None):
    paginator = StandardPagination()
    page = paginator.paginate_queryset(qs, request, view=view)
    rows = transform(page) if transform else page
    return paginator.get_paginated_response(serializer_class(rows, many=True).data)


# --- Volunteers -----------------------------------------------------------------------

def _own_list(summary, operation_id: str, *, not_found: bool = True):
    """Documents the get of an _OwnListAPI: a page of its rows, 403 for an account that is
    no volunteer."""
    def document(cls):
        responses = {403: _VOLUNTEER_ONLY, 200: paginated(cls.output_serializer)}
        if not_found:
            responses[404] = _NOT_FOUND
        return extend_schema_view(get=extend_schema(
            tags=TAGS, summary=summary, parameters=PAGE_PARAMETERS, operation_id=operation_id, responses=responses,
        ))(cls)
    return document


# A list of the volunteer's own: their points, sign-ups, shop, hall, appeals (a comment:
# drf-spectacular would show a docstring as each operation's description).
class _OwnListAPI(APIView):
    output_serializer: type[serializers.Serializer]

    def rows(self, volunteer):
        raise NotImplementedError

    def get(self, request):
        volunteer = selectors.volunteer_require(request.user)
        return _paginated(request, self, self.rows(volunteer), self.output_serializer)


class VolunteerMeAPI(APIView):
    @extend_schema(tags=TAGS, summary=_("我的志愿者信息、时长和积分"), responses={403: _VOLUNTEER_ONLY, 200: VolunteerMeOutputSerializer, 404: _NOT_FOUND})
    def get(self, request):
        volunteer = selectors.volunteer_require(request.user)
        year = timezone.localdate().year
        volunteer.minutes_year = selectors.service_minutes(volunteer=volunteer, year=year)  # → hours_year
        volunteer.hours_total = selectors.hours_total(volunteer=volunteer)
        volunteer.points_hours_total = selectors.points_hours_total(volunteer=volunteer)
        volunteer.registration = selectors.registration_for(volunteer=volunteer, year=year)
        return Response(VolunteerMeOutputSerializer(volunteer).data)


@_own_list(_("我的积分明细（新的在前）"), "v1_volunteers_me_points_list", not_found=False)
class VolunteerMePointsAPI(_OwnListAPI):
    output_serializer = VolunteerPointsEntryOutputSerializer

    def rows(self, volunteer):
        return selectors.points_history(volunteer=volunteer)


@_own_list(_("我报名的活动"), "v1_volunteers_me_signups_list", not_found=False)
class VolunteerMeSignupsAPI(_OwnListAPI):
    output_serializer = VolunteerSignupOutputSerializer

    def rows(self, volunteer):
        return selectors.my_signups(volunteer=volunteer).select_related("volunteer")


class VolunteerActivityListAPI(APIView):
    @extend_schema(
        tags=TAGS, summary=_("活动列表"),
        description=_("志愿者：本社区可报名的活动；工作人员：辖区内和自己组织的活动。"),
        parameters=[OpenApiParameter("q", str, description=_("按名称或地点搜索（工作人员）")),
                    OpenApiParameter("status", str, description=_("open / cancelled / finished（工作人员）")),
                    *PAGE_PARAMETERS],
        operation_id="v1_volunteers_activities_list", responses={200: paginated(VolunteerActivityOutputSerializer)},
    )
    def get(self, request):
        volunteer = selectors.volunteer_for_user(request.user)
        if volunteer is not None and not selectors.is_staff_viewer(request.user):
            qs = selectors.activity_open_list(volunteer=volunteer)
        else:
            params = ActivityListQuery.parse(request.query_params)
            qs = selectors.activity_manage_list(request.user, query=params["q"], status=params["status"])
        return _paginated(request, self, qs, VolunteerActivityOutputSerializer)

    @extend_schema(
        tags=TAGS, summary=_("发起志愿活动（社区、网格、街道工作人员）"),
        request=VolunteerActivityCreateInputSerializer,
        responses={201: VolunteerActivityManageOutputSerializer, 400: OpenApiResponse(description=_("输入有误")),
                   403: _FORBIDDEN, 404: _NOT_FOUND},
    )
    def post(self, request):
        serializer = VolunteerActivityCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        community = selectors.community_get(request.user, data.pop("community"))
        selectors.ensure_can_organise(request.user, community)
        activity = services.activity_create(organiser=request.user, community=community, **data)
        return Response(VolunteerActivityManageOutputSerializer(activity).data, status=status.HTTP_201_CREATED)


class VolunteerActivityDetailAPI(APIView):
    @extend_schema(tags=TAGS, summary=_("活动详情（组织者可见签到码）"),
                   responses={200: VolunteerActivityManageOutputSerializer, 404: _NOT_FOUND})
    def get(self, request, pk: int):
        activity = selectors.activity_get(request.user, pk)
        if selectors.can_manage_activity(request.user, activity):
            return Response(VolunteerActivityManageOutputSerializer(activity).data)
        return Response(VolunteerActivityOutputSerializer(activity).data)


class VolunteerSignupAPI(APIView):
    @extend_schema(tags=TAGS, summary=_("报名活动"), request=None,
                   responses={201: VolunteerSignupOutputSerializer, 403: _FORBIDDEN, 404: _NOT_FOUND, 409: _CONFLICT})
    def post(self, request, pk: int):
        activity = selectors.activity_get(request.user, pk)
        volunteer = selectors.volunteer_require(request.user)
        signup = services.signup_create(activity=activity, volunteer=volunteer)
        return Response(VolunteerSignupOutputSerializer(signup).data, status=status.HTTP_201_CREATED)


class VolunteerSignupCancelAPI(APIView):
    @extend_schema(tags=TAGS, summary=_("取消报名（活动开始前）"), request=None,
                   responses={403: _VOLUNTEER_ONLY, 200: VolunteerSignupOutputSerializer, 404: _NOT_FOUND, 409: _CONFLICT})
    def post(self, request, pk: int):
        activity = selectors.activity_get(request.user, pk)
        volunteer = selectors.volunteer_require(request.user)
        signup = services.signup_cancel(activity=activity, volunteer=volunteer)
        return Response(VolunteerSignupOutputSerializer(signup).data)


class VolunteerSelfCheckAPI(APIView):
    @extend_schema(tags=TAGS, summary=_("志愿者凭签到码签到或签退"), request=VolunteerSelfCheckInputSerializer,
                   responses={403: _VOLUNTEER_ONLY, 200: VolunteerSignupOutputSerializer,
                              400: OpenApiResponse(description=_("签到码不正确，或当前不在签到时间内（两者同一回答）")),
                              404: _NOT_FOUND, 409: _CONFLICT,
                              429: OpenApiResponse(description=_("签到码输错次数过多，请稍后再试或扫码签到"))})
    def post(self, request, pk: int):
        activity = selectors.activity_get(request.user, pk)
        volunteer = selectors.volunteer_require(request.user)
        serializer = VolunteerSelfCheckInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        signup = services.signup_self_check(activity=activity, volunteer=volunteer, **serializer.validated_data)
        return Response(VolunteerSignupOutputSerializer(signup).data)


class VolunteerQrCheckAPI(APIView):
    @extend_schema(tags=TAGS, summary=_("志愿者扫码签到或签退（二维码中的令牌）"), request=VolunteerQrCheckInputSerializer,
                   responses={403: _VOLUNTEER_ONLY, 200: VolunteerSignupOutputSerializer, 400: OpenApiResponse(description=_("二维码无效或已过期")),
                              404: _NOT_FOUND, 409: _CONFLICT})
    def post(self, request):
        volunteer = selectors.volunteer_require(request.user)  # 403 for staff, before the input
        serializer = VolunteerQrCheckInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        activity_id, direction = services.checkin_token_read(token=serializer.validated_data["token"])
        activity = selectors.activity_get(request.user, activity_id)
        signup = services.signup_self_check(activity=activity, volunteer=volunteer, direction=direction)
        return Response(VolunteerSignupOutputSerializer(signup).data)


# --- Organisers ------------------------------------------------------------------------

def _managed(request, pk: int) -> Activity:
    activity = selectors.activity_get(request.user, pk)
    selectors.ensure_can_manage_activity(request.user, activity)
    return activity


class VolunteerActivitySignupListAPI(APIView):
    @extend_schema(tags=TAGS, summary=_("活动报名名单（组织者）"),
                   parameters=PAGE_PARAMETERS, operation_id="v1_volunteers_activities_signups_list", responses={200: paginated(VolunteerSignupOutputSerializer), 403: _FORBIDDEN, 404: _NOT_FOUND})
    def get(self, request, pk: int):
        activity = _managed(request, pk)
        return _paginated(request, self, selectors.signup_list(activity=activity), VolunteerSignupOutputSerializer)


class _AttendanceAPI(APIView):
    direction: str

    def post(self, request, pk: int, signup_pk: int):
        activity = _managed(request, pk)
        signup = selectors.signup_get(activity=activity, pk=signup_pk)
        serializer = VolunteerAttendanceInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        at = serializer.validated_data.get("at")
        signup = services.signup_attendance(activity=activity, volunteer=signup.volunteer, direction=self.direction,
                                            at=at, actor=request.user)
        return Response(VolunteerSignupOutputSerializer(signup).data)


_ATTENDANCE_RESPONSES = {200: VolunteerSignupOutputSerializer, 403: _FORBIDDEN, 404: _NOT_FOUND, 409: _CONFLICT}


def _attendance(summary):
    return extend_schema_view(post=extend_schema(
        tags=TAGS, summary=summary, request=VolunteerAttendanceInputSerializer, responses=_ATTENDANCE_RESPONSES))


@_attendance(_("组织者为志愿者签到"))
class VolunteerCheckInAPI(_AttendanceAPI):
    direction = services.CHECK_IN


@_attendance(_("组织者为志愿者签退（认定时长和积分）"))
class VolunteerCheckOutAPI(_AttendanceAPI):
    direction = services.CHECK_OUT


class VolunteerActivityFinishAPI(APIView):
    @extend_schema(tags=TAGS, summary=_("结束活动（在场者自动签退）"), request=None,
                   responses={200: VolunteerActivityManageOutputSerializer, 403: _FORBIDDEN, 404: _NOT_FOUND, 409: _CONFLICT})
    def post(self, request, pk: int):
        activity = services.activity_finish(activity=_managed(request, pk), actor=request.user)
        return Response(VolunteerActivityManageOutputSerializer(activity).data)


class VolunteerActivityCancelAPI(APIView):
    @extend_schema(tags=TAGS, summary=_("取消活动（开始前）"), request=None,
                   responses={200: VolunteerActivityManageOutputSerializer, 403: _FORBIDDEN, 404: _NOT_FOUND, 409: _CONFLICT})
    def post(self, request, pk: int):
        activity = services.activity_cancel(activity=_managed(request, pk))
        return Response(VolunteerActivityManageOutputSerializer(activity).data)


# --- Points shop ---------------------------------------------------------------------------

@_own_list(_("积分超市商品（本社区和全市通用）"), "v1_volunteers_rewards_list")
class VolunteerRewardListAPI(_OwnListAPI):
    output_serializer = VolunteerRewardOutputSerializer

    def rows(self, volunteer):
        return selectors.reward_list(volunteer=volunteer)


class VolunteerRewardRedeemAPI(APIView):
    @extend_schema(tags=TAGS, summary=_("兑换商品"), request=None,
                   responses={201: VolunteerRedemptionOutputSerializer, 403: _FORBIDDEN, 404: _NOT_FOUND, 409: _CONFLICT})
    def post(self, request, pk: int):
        volunteer = selectors.volunteer_require(request.user)
        reward = selectors.reward_get(volunteer=volunteer, pk=pk)
        redemption = services.reward_redeem(volunteer=volunteer, reward=reward, actor=request.user)
        return Response(VolunteerRedemptionOutputSerializer(redemption).data, status=status.HTTP_201_CREATED)


# --- Overview for community workers --------------------------------------------------------

YEAR_RANGE = (2000, 2100)
_OVERVIEW_PARAMS = [
    OpenApiParameter("year", {"type": "integer", "minimum": YEAR_RANGE[0], "maximum": YEAR_RANGE[1]},
                     description=_("年度，默认今年")),
    OpenApiParameter("q", str, description=_("搜索")),
    OpenApiParameter("community", str, description=_("社区编码（须在辖区内）")),
    *PAGE_PARAMETERS,
]


def _overview_args(request) -> dict:
    selectors.ensure_staff_viewer(request.user)
    params = OverviewQuery.parse(request.query_params)
    code = params["community"]
    if code:
        selectors.community_get(request.user, code)
    return {"year": params["year"], "query": params["q"], "community_code": code}


def _overview_tab(summary, operation_id: str):
    def document(cls):
        return extend_schema_view(get=extend_schema(
            tags=TAGS, summary=summary, parameters=_OVERVIEW_PARAMS, operation_id=operation_id,
            responses={400: _BAD, 403: _FORBIDDEN, 200: paginated(cls.output_serializer), 404: _NOT_FOUND},
        ))(cls)
    return document


class _OverviewAPI(APIView):
    tab: str
    output_serializer: type[serializers.Serializer]

    def get(self, request):
        args = _overview_args(request)
        qs = selectors.overview_list(request.user, self.tab, **args)
        transform = None
        if self.tab == "organizations":
            def transform(page):
                return selectors.organization_participation(page, year=args["year"])
        return _paginated(request, self, qs, self.output_serializer, transform=transform)


@_overview_tab(_("辖区志愿者年度服务时长"), "v1_volunteers_overview_volunteers_list")
class VolunteerOverviewHoursAPI(_OverviewAPI):
    tab, output_serializer = "volunteers", VolunteerHoursOutputSerializer


@_overview_tab(_("双报到在职党员年度进度"), "v1_volunteers_overview_party_members_list")
class VolunteerOverviewMembersAPI(_OverviewAPI):
    tab, output_serializer = "members", VolunteerMemberProgressOutputSerializer


@_overview_tab(_("双报到单位党组织参与情况"), "v1_volunteers_overview_organizations_list")
class VolunteerOverviewOrganizationsAPI(_OverviewAPI):
    tab, output_serializer = "organizations", VolunteerOrganizationOutputSerializer


# --- Service appeals: the order hall (接单大厅) and my claimed appeals ------------------------

class VolunteerHallAppealOutputSerializer(serializers.Serializer):
    tracking_code = serializers.CharField()
    category = serializers.CharField(source="category.code")
    category_name = serializers.CharField(source="category.name")
    description = serializers.CharField()
    community = serializers.CharField(source="community_id")
    address = serializers.SerializerMethodField()
    dispatched_at = serializers.DateTimeField(allow_null=True)
    deadline = serializers.DateTimeField(allow_null=True)
    deadline_text = DeadlineTextField()
    version = serializers.IntegerField(help_text=_("接单时作为 expected_version 传回"))

    def get_address(self, appeal) -> str:
        return appeal.building.address if appeal.building_id else appeal.address_text


class VolunteerMyAppealRowOutputSerializer(VolunteerHallAppealOutputSerializer):
    state = serializers.CharField(help_text="in_progress 办理中 / resolved 已办结 / awaiting_evaluation 待评价 / closed 已结案")
    result = serializers.CharField(allow_blank=True)
    rating = serializers.CharField(allow_blank=True, help_text=_("居民评价，决定积分"))


class VolunteerServiceAppealOutputSerializer(VolunteerMyAppealRowOutputSerializer):
    resident_name = serializers.CharField(source="contact.name")
    phone = serializers.SerializerMethodField(help_text=_("居民电话：办理期间可见（查看记入个人信息访问日志）"))

    def get_phone(self, appeal) -> str:
        return appeal.contact.phone if appeal.contact.full else ""


class VolunteerClaimInputSerializer(serializers.Serializer):
    expected_version = serializers.IntegerField(
        min_value=1, required=False, allow_null=True, help_text=_("接单大厅中看到的版本；已变更则 409"),
    )


class VolunteerServiceNoteInputSerializer(VolunteerClaimInputSerializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class VolunteerServiceResolveInputSerializer(VolunteerClaimInputSerializer):
    result = serializers.CharField(max_length=4000, error_messages={"required": _("请填写办理结果。"), "blank": _("请填写办理结果。")})
    photos = serializers.ListField(
        child=serializers.FileField(allow_empty_file=False), required=False, default=list,
        help_text=format_lazy("{}{}", _("办结照片（multipart，可重复此字段）："), lazy(photo_rule, str)()),
    )


def _service_appeal_response(request, appeal, *, code: int = status.HTTP_200_OK) -> Response:
    appeal.contact = resident_contact(user=request.user, appeal=appeal, request=request)
    return Response(VolunteerServiceAppealOutputSerializer(appeal).data, status=code)


@_own_list(_("接单大厅：本社区待接的服务诉求（不含居民电话）"), "v1_volunteers_hall_list")
class VolunteerHallAPI(_OwnListAPI):
    output_serializer = VolunteerHallAppealOutputSerializer

    def rows(self, volunteer):
        return selectors.order_hall(volunteer=volunteer)


class VolunteerHallItemAPI(APIView):
    @extend_schema(tags=TAGS, summary=_("接单大厅中的一件诉求"),
                   responses={403: _VOLUNTEER_ONLY, 200: VolunteerHallAppealOutputSerializer, 404: _NOT_FOUND})
    def get(self, request, tracking_code: str):
        volunteer = selectors.volunteer_require(request.user)
        appeal = selectors.hall_appeal_get(volunteer=volunteer, tracking_code=tracking_code)
        return Response(VolunteerHallAppealOutputSerializer(appeal).data)


class VolunteerHallClaimAPI(APIView):
    @extend_schema(
        tags=TAGS, summary=_("接单（先到先得）"), request=VolunteerClaimInputSerializer,
        responses={200: VolunteerServiceAppealOutputSerializer, 403: _FORBIDDEN, 404: _NOT_FOUND,
                   409: OpenApiResponse(description=_("已被其他志愿者接单，或诉求已变更"))},
    )
    def post(self, request, tracking_code: str):
        volunteer = selectors.volunteer_require(request.user)
        appeal = selectors.hall_appeal_for_claim(volunteer=volunteer, tracking_code=tracking_code)
        serializer = VolunteerClaimInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        appeal = services.service_appeal_claim(user=request.user, appeal=appeal,
                              expected_version=serializer.validated_data.get("expected_version"))
        return _service_appeal_response(request, appeal)


@_own_list(_("我接的服务诉求"), "v1_volunteers_my_appeals_list")
class VolunteerMyAppealListAPI(_OwnListAPI):
    output_serializer = VolunteerMyAppealRowOutputSerializer

    def rows(self, volunteer):
        # The list carries no phones; the detail does (and is logged).
        return selectors.my_service_appeals(volunteer=volunteer)


class VolunteerMyAppealDetailAPI(APIView):
    @extend_schema(tags=TAGS, summary=_("我接的一件诉求（含居民电话）"),
                   responses={403: _VOLUNTEER_ONLY, 200: VolunteerServiceAppealOutputSerializer, 404: _NOT_FOUND})
    def get(self, request, tracking_code: str):
        volunteer = selectors.volunteer_require(request.user)
        appeal = selectors.my_service_appeal_get(volunteer=volunteer, tracking_code=tracking_code)
        return _service_appeal_response(request, appeal)


class _VolunteerServiceActionAPI(APIView):
    action: str
    input_serializer: type[serializers.Serializer]

    def post(self, request, tracking_code: str):
        volunteer = selectors.volunteer_require(request.user)
        appeal = selectors.my_service_appeal_get(volunteer=volunteer, tracking_code=tracking_code)
        serializer = self.input_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        expected = data.pop("expected_version", None)
        appeal = appeal_act(actor=request.user, appeal=appeal, action=self.action, expected_version=expected, **data)
        return _service_appeal_response(request, appeal)


_SERVICE_ACTION_RESPONSES = {
    200: VolunteerServiceAppealOutputSerializer, 400: OpenApiResponse(description=_("输入有误")),
    403: _FORBIDDEN, 404: _NOT_FOUND, 409: OpenApiResponse(description=_("状态不允许，或诉求已变更")),
}


def _service_action(summary):
    """Documents the post of a _VolunteerServiceActionAPI (its input is the class's)."""
    def document(cls):
        return extend_schema_view(post=extend_schema(
            tags=TAGS, summary=summary, request=cls.input_serializer, responses=_SERVICE_ACTION_RESPONSES,
        ))(cls)
    return document


@_service_action(_("记录已联系居民（先行联系）"))
class VolunteerMyAppealContactAPI(_VolunteerServiceActionAPI):
    action = AppealAction.CONTACT
    input_serializer = VolunteerServiceNoteInputSerializer


@_service_action(_("记录办理进展"))
class VolunteerMyAppealNoteAPI(_VolunteerServiceActionAPI):
    action = AppealAction.NOTE
    input_serializer = VolunteerServiceNoteInputSerializer


@_service_action(_("办结（须填办理结果，可附照片）"))
class VolunteerMyAppealResolveAPI(_VolunteerServiceActionAPI):
    action = AppealAction.RESOLVE
    input_serializer = VolunteerServiceResolveInputSerializer
    parser_classes = [JSONParser, MultiPartParser, FormParser]
