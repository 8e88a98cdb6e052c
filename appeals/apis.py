"""Appeals API (DESIGN.md §4, §7): the same selectors and services as the pages.

- ``POST /appeals/`` public intake, ``GET /appeals/`` the staff list (scoped, masked);
- ``GET /appeals/{tracking_code}/`` staff detail with the timeline and the actions;
- ``GET /appeals/{tracking_code}/photos/{id}/`` a photo, to accounts that see the appeal;
- ``POST /appeals/{tracking_code}/{action}/`` one class per staff action;
- ``GET``/``POST /track/{tracking_code}/`` the resident's status, evaluation, withdrawal;
- ``GET /categories/`` the responsibility list.

One class per operation, each with its own input serializer. Serializer classes have
unique names (``Appeal…``/``Track…``): drf-spectacular names components after them.
Domain errors (400/403/404/409/429) are mapped once by governance/api/errors.py.
"""

import inspect

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.encoding import smart_str
from django.utils.functional import lazy
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from appeals import catalog, filters, ratelimit, selectors, services, tracking, workflow
from appeals.enums import STAFF_FEEDBACK_METHODS, AppealAction, FeedbackMethod, HandlingLevel, Rating, Source
from appeals.images import photo_response, photo_rule
from appeals.models import Category
from appeals.serializers import (
    AppealActionOutputSerializer,
    AppealCategoryOutputSerializer,
    AppealDetailOutputSerializer,
    AppealListOutputSerializer,
    TrackOutputSerializer,
    TrackRefusedOutputSerializer,
    TrackStatusOutputSerializer,
)
from governance.kernel.api.negotiation import AnyAccept
from governance.kernel.api.pagination import KeysetPagination
from governance.kernel.api.responses import BAD_INPUT as _BAD
from governance.kernel.api.responses import FORBIDDEN as _FORBIDDEN
from governance.kernel.api.responses import NOT_FOUND as _NOT_FOUND
from governance.kernel.errors import ApplicationError
from governance.kernel.network import client_ip
from governance.staff.selectors import Jurisdiction, jurisdiction_for
from grids.locate import building_with_place
from grids.models import Building, Community, Department, Street
from grids.validators import normalize_phone

TAGS = ["appeals"]
PUBLIC_TAGS = ["appeals-public"]
_CONFLICT = OpenApiResponse(description=gettext_lazy("当前状态不允许此操作，或诉求已被他人处理（已变更）。"))
_RATE_LIMITED = OpenApiResponse(description=gettext_lazy("请求过于频繁，请稍后再试。"))
_PARSERS = [JSONParser, MultiPartParser, FormParser]

class _CategoryCodeField(serializers.SlugRelatedField):
    """A category by its code, found in the process's cached responsibility list
    (appeals.catalog) instead of a query; the answers are SlugRelatedField's."""

    def to_internal_value(self, data):
        category = catalog.category_by_code(str(data))
        if category is None:
            self.fail("does_not_exist", slug_name=self.slug_field, value=smart_str(data))
        return category


class _BuildingCodeField(serializers.SlugRelatedField):
    """A building by its code with its grid, community and street, in one query written
    out (grids.locate.building_with_place); the answers are SlugRelatedField's."""

    def to_internal_value(self, data):
        building = building_with_place(data)
        if building is None:
            self.fail("does_not_exist", slug_name=self.slug_field, value=smart_str(data))
        return building


def _code_field(model_label, queryset, *, field_class=serializers.SlugRelatedField, **kwargs):
    """A unit or category given by its code; an unknown code is a field error that names it."""
    return field_class(
        slug_field="code", queryset=queryset,
        error_messages={
            "does_not_exist": gettext_lazy("找不到编码为“{value}”的%(what)s。") % {"what": model_label},
            "invalid": gettext_lazy("%(what)s编码无效。") % {"what": model_label},
        },
        **kwargs,
    )


def _text(*, required: bool = False, missing: str = "", help_text: str = "") -> serializers.CharField:
    if required:
        messages = {"required": missing, "blank": missing, "null": missing}
        return serializers.CharField(help_text=help_text, error_messages=messages)
    return serializers.CharField(required=False, allow_blank=True, default="", help_text=help_text)


def _photos_field() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.FileField(allow_empty_file=False), required=False, default=list,
        help_text=format_lazy("{}{}", gettext_lazy("照片（multipart，可重复此字段）："), lazy(photo_rule, str)()),
    )


# --- intake and the staff list --------------------------------------------------------------


class AppealCollectionAPI(generics.ListAPIView):
    """/appeals/ carries two operations on one path: the public intake (POST) and the
    staff list (GET). Each method has its own authentication and permission."""

    serializer_class = AppealListOutputSerializer
    filterset_class = filters.AppealFilter
    parser_classes = _PARSERS
    # Keyset pages in the lists' orders (page 1–100 or a cursor; the count capped).
    pagination_class = KeysetPagination
    keyset_sorts = selectors.APPEAL_SORTS
    keyset_default = selectors.BROWSE_SORT

    class AppealIntakeInputSerializer(serializers.Serializer):
        category = _code_field(
            gettext_lazy("诉求类别"), Category.objects.all(), field_class=_CategoryCodeField, required=False,
            allow_null=True,
            help_text=gettext_lazy("类别编码（见 /api/v1/categories/）；不确定可不填，由社区分类派单"),
        )
        building = _code_field(
            gettext_lazy("楼栋"), Building.objects.all(), field_class=_BuildingCodeField, required=False,
            allow_null=True, help_text=gettext_lazy("楼栋编码（19 位）；填了楼栋就不必填街道和社区"),
        )
        community = _code_field(
            gettext_lazy("社区"), Community.objects.select_related("street"), required=False, allow_null=True,
            help_text=gettext_lazy("社区编码（12 位），未选楼栋时填写"),
        )
        street = _code_field(
            gettext_lazy("街道"), Street.objects.all(), required=False, allow_null=True,
            help_text=gettext_lazy("街道编码（9 位），未选楼栋时至少填写街道"),
        )
        address_text = _text(help_text=gettext_lazy("地址描述，未选楼栋且未给出位置时必填（不超过 200 字）"))
        latitude = serializers.DecimalField(
            max_digits=12, decimal_places=9, min_value=-90, max_value=90, required=False, allow_null=True,
            help_text=gettext_lazy("位置纬度（WGS-84）：未选楼栋时按位置确定所在网格，原样保存"),
        )
        longitude = serializers.DecimalField(
            max_digits=12, decimal_places=9, min_value=-180, max_value=180, required=False, allow_null=True,
            help_text=gettext_lazy("位置经度（WGS-84），与 latitude 同时提供"),
        )
        description = _text(
            required=True, missing=gettext_lazy("请填写诉求内容。"),
            help_text=gettext_lazy("诉求内容，不超过 4000 字"),
        )
        name = _text(help_text=gettext_lazy("姓名，可不填"))
        anonymous = serializers.BooleanField(default=False, help_text=gettext_lazy("匿名：不保存姓名"))
        phone = _text(
            required=True, missing=gettext_lazy("请填写手机号：办理结果和评价链接将以短信发送。"),
            help_text=gettext_lazy("11 位手机号：查询码、办理结果和评价链接以短信发送"),
        )
        photos = _photos_field()

    class AppealIntakeOutputSerializer(serializers.Serializer):
        tracking_code = serializers.CharField(help_text=gettext_lazy("查询码：凭它和手机号后四位查询进度、评价"))
        state = serializers.CharField(help_text=gettext_lazy("received 已受理 / dispatched 已派单"))
        state_label = serializers.CharField(source="get_state_display")
        handling_unit = serializers.CharField(source="handling_unit_name")
        photos_not_stored = serializers.ListField(
            child=serializers.CharField(),
            help_text=gettext_lazy("未能保存的照片（文件名）：诉求已受理，但这些照片需重新提交"),
        )

    def get_authenticators(self):
        # The intake files an appeal for nobody's account: no session is read, so
        # anonymous JSON clients are not held to Django's CSRF check.
        if self._method() == "POST":
            return []
        return super().get_authenticators()

    def get_permissions(self):
        if self._method() == "POST":
            return [AllowAny()]
        return super().get_permissions()

    def _method(self) -> str:
        request = getattr(self, "request", None)
        return request.method if request is not None else ""

    def get_queryset(self):
        # Category and place joined, the other units filled in by a few small queries
        # (selectors.with_units): planning a seven-table join cost more than running it.
        # The street and community filters (filters.AppealFilter checks the codes) are given
        # to the scope, which then needs no territory prefix where the account covers the unit.
        units = {key: self.request.query_params.get(key) or None for key in ("street", "community")}
        return selectors.listed(selectors.appeal_scope(jurisdiction_for(self.request.user), **units))

    @extend_schema(
        tags=TAGS, summary=gettext_lazy("诉求列表（限本辖区，电话脱敏）"),
        description=gettext_lazy(
            "按 ordering 排序，同值按 id 排。翻页：沿返回的 next / previous 链接（cursor 参数，已签名），"
            "翻多深都一样快；page 只支持前 100 页，更深答 400。count 最多计到 10000，"
            "count_capped 为 true 表示实际更多。"),
        responses={200: AppealListOutputSerializer(many=True), 400: _BAD},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=PUBLIC_TAGS, summary=gettext_lazy("居民提交诉求（无需登录）"),
        description=gettext_lazy(
            "JSON 或 multipart（带照片）。与网上提交表单的校验和频率限制相同；返回查询码。"
        ),
        request=AppealIntakeInputSerializer,
        responses={201: AppealIntakeOutputSerializer, 400: _BAD, 429: _RATE_LIMITED},
        auth=[],
    )
    def post(self, request, *args, **kwargs):
        serializer = self.AppealIntakeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        ip, phone = client_ip(request), _phone_key(data["phone"])
        ratelimit.ensure_intake_allowed(ip=ip, phone=phone)
        appeal = services.appeal_receive(source=Source.API, **data)
        if not appeal.photos_not_stored:  # charged for what was saved whole
            ratelimit.charge_intake(ip=ip, phone=phone)
        return Response(self.AppealIntakeOutputSerializer(appeal).data, status=status.HTTP_201_CREATED)


def _phone_key(phone: str) -> str:
    """The number as the form counts it, so that spelling it differently dodges nothing."""
    try:
        return normalize_phone(phone, allow_landline=False) or phone
    except DjangoValidationError:
        return phone


# --- the staff detail -------------------------------------------------------------------------


def _api_actions(user, jurisdiction: Jurisdiction, appeal) -> list[str]:
    """The actions this account may take now, as their URL segments (ENDPOINTS): verify_pass
    and verify_fail are both POSTed to verify/."""
    names = []
    for action in workflow.offered(user=user, appeal=appeal, jurisdiction=jurisdiction,
                                   actions=workflow.STAFF_ACTIONS):
        name = ENDPOINTS[action]
        if name not in names:
            names.append(name)
    return names


class AppealDetailAPI(APIView):
    @extend_schema(
        tags=TAGS, summary=gettext_lazy("诉求详情：办理记录、协办部门和本账号可进行的操作"),
        description=gettext_lazy("办理人员可见完整电话，每次查看记入个人信息访问记录。"),
        responses={200: AppealDetailOutputSerializer, 404: _NOT_FOUND},
    )
    def get(self, request, tracking_code: str):
        jurisdiction = jurisdiction_for(request.user)
        appeal = selectors.appeal_get(jurisdiction=jurisdiction, tracking_code=tracking_code)
        appeal.timeline = selectors.appeal_timeline(appeal)
        appeal.co_handler_list = selectors.appeal_co_handlers(appeal)
        appeal.actions = _api_actions(request.user, jurisdiction, appeal)
        appeal.contact = selectors.resident_contact(user=request.user, appeal=appeal, jurisdiction=jurisdiction,
                                                    request=request)
        context = {"request": request, "tracking_code": appeal.tracking_code}
        return Response(AppealDetailOutputSerializer(appeal, context=context).data)


class AppealPhotoAPI(APIView):
    content_negotiation_class = AnyAccept

    @extend_schema(
        tags=TAGS, summary=gettext_lazy("诉求照片（限本辖区）"),
        description=gettext_lazy("照片只经此接口（核对辖区）提供，没有公开的 /media/ 地址。"),
        responses={(200, "image/jpeg"): OpenApiTypes.BINARY, 404: _NOT_FOUND},
    )
    def get(self, request, tracking_code: str, pk: int):
        attachment = selectors.appeal_photo(jurisdiction=jurisdiction_for(request.user), tracking_code=tracking_code,
                                            pk=pk)
        return photo_response(attachment.image.open("rb"))


class AppealPhoneOutputSerializer(serializers.Serializer):
    phone = serializers.CharField(help_text=gettext_lazy("居民的完整联系电话"))


class AppealPhoneRevealAPI(APIView):
    """匿名's "拨打/显示号码" (the page's appeals:phone-reveal): the same selector, the same
    access-log entry (``appeal:<code>:phone``), one per call."""

    @extend_schema(
        tags=TAGS, summary=gettext_lazy("显示居民的完整联系电话（记入个人信息访问记录）"),
        description=gettext_lazy("参与办理的工作人员在办理期间可以查看（匿名诉求详情中只显示脱敏号码）；"
                                 "每次调用记入个人信息访问记录。"),
        request=None,
        responses={200: AppealPhoneOutputSerializer, 403: _FORBIDDEN, 404: _NOT_FOUND},
    )
    def post(self, request, tracking_code: str):
        jurisdiction = jurisdiction_for(request.user)
        appeal = selectors.appeal_get(jurisdiction=jurisdiction, tracking_code=tracking_code)
        phone = selectors.resident_phone_reveal(user=request.user, appeal=appeal, jurisdiction=jurisdiction,
                                                request=request)
        response = Response(AppealPhoneOutputSerializer({"phone": phone}).data)
        response["Cache-Control"] = "no-store"
        return response


# --- staff actions ------------------------------------------------------------------------------


class AppealActionInputSerializer(serializers.Serializer):
    """What every action accepts; each action's serializer adds its own data."""

    expected_version = serializers.IntegerField(
        required=False, min_value=1,
        help_text=gettext_lazy("您看到的诉求版本（详情中的 version）；若诉求已被他人处理则返回 409"),
    )


_UNIT_LEVELS = [(level, label) for level, label in HandlingLevel.choices if level != HandlingLevel.DISTRICT]


class _UnitInput(AppealActionInputSerializer):
    """A handling unit given as a level and a code (appeals.services.unit_from_code)."""

    unit_required = True
    unit_level = serializers.ChoiceField(
        choices=_UNIT_LEVELS, required=False, help_text=gettext_lazy("办理单位层级：grid / community / street / department")
    )
    unit_code = serializers.CharField(
        required=False, help_text=gettext_lazy("办理单位编码：网格 15 位、社区 12 位、街道 9 位，部门如 110101-CG")
    )

    def validate(self, attrs):
        level, code = attrs.pop("unit_level", None), attrs.pop("unit_code", None)
        if not level and not code:
            if self.unit_required:
                raise serializers.ValidationError({"unit_code": [_("请选择办理单位：填写 unit_level 和 unit_code。")]})
            return attrs
        if not level or not code:
            missing = "unit_level" if not level else "unit_code"
            raise serializers.ValidationError({missing: [_("办理单位须同时填写 unit_level 和 unit_code。")]})
        try:
            attrs["unit"] = services.unit_from_code(level=level, code=code)
        except ApplicationError as exc:
            raise serializers.ValidationError({"unit_code": [exc.message]}) from None
        return attrs


def _category_field(**kwargs):
    return _code_field(gettext_lazy("诉求类别"), Category.objects.all(), field_class=_CategoryCodeField,
                       required=False, allow_null=True, **kwargs)


class _AppealActionAPI(APIView):
    """POST one staff action. Checks in the order of the transition service: outside the
    jurisdiction 404, then the state 409, then the role 403, then the input 400."""

    action: str
    input_serializer: type[serializers.Serializer]

    def service_action(self, data: dict | None) -> str:
        return self.action

    def post(self, request, tracking_code: str):
        jurisdiction = jurisdiction_for(request.user)
        appeal = selectors.appeal_get(jurisdiction=jurisdiction, tracking_code=tracking_code)
        serializer = self.input_serializer(data=request.data)
        if not serializer.is_valid():
            # The table's answer comes before the input's: a refused state or role first.
            workflow.permit(user=request.user, appeal=appeal, action=self.service_action(None),
                            jurisdiction=jurisdiction)
            raise serializers.ValidationError(serializer.errors)
        data = dict(serializer.validated_data)
        action = self.service_action(data)
        appeal = services.appeal_act(actor=request.user, appeal=appeal, action=action, **data)
        appeal.actions = _api_actions(request.user, jurisdiction, appeal)
        return Response(AppealActionOutputSerializer(appeal).data)


def _documented(summary, description=""):
    """The schema of an action class, from its input serializer. Without a ``description``,
    the class's own docstring (inherited: _AppealActionAPI's), named here because
    drf-spectacular reads the ``action`` attribute as a viewset's and would take the
    docstring of the method of that name: for 派单, DRF's ``APIView.dispatch``."""

    def decorate(cls):
        return extend_schema_view(
            post=extend_schema(
                tags=TAGS, summary=summary, description=description or inspect.getdoc(cls),
                request=cls.input_serializer,
                responses={200: AppealActionOutputSerializer, 400: _BAD, 403: _FORBIDDEN, 404: _NOT_FOUND,
                           409: _CONFLICT},
            )
        )(cls)

    return decorate


@_documented(gettext_lazy("派单（待派队列：社区或街道分中心）"))
class AppealDispatchAPI(_AppealActionAPI):
    action = AppealAction.DISPATCH

    class AppealDispatchInputSerializer(_UnitInput):
        category = _category_field(help_text=gettext_lazy("类别编码；诉求尚无类别时必填"))
        note = _text(help_text=gettext_lazy("说明"))
        confirm_return = serializers.BooleanField(
            required=False, default=False,
            help_text=gettext_lazy("派回刚退单的单位时须为 true，并在 note 中写明理由"))

    input_serializer = AppealDispatchInputSerializer


@_documented(gettext_lazy("不予受理（须填理由）"))
class AppealDeclineAPI(_AppealActionAPI):
    action = AppealAction.DECLINE

    class AppealDeclineInputSerializer(AppealActionInputSerializer):
        reason = _text(required=True, missing=gettext_lazy("请填写不予受理的理由。"))

    input_serializer = AppealDeclineInputSerializer


@_documented(gettext_lazy("并案：并入另一件诉求"))
class AppealMergeAPI(_AppealActionAPI):
    action = AppealAction.MERGE

    class AppealMergeInputSerializer(AppealActionInputSerializer):
        target = _text(
            required=True, missing=gettext_lazy("请填写要并入的诉求查询码。"),
            help_text=gettext_lazy("要并入的诉求的查询码"),
        )
        note = _text()

    input_serializer = AppealMergeInputSerializer


@_documented(gettext_lazy("签收（可同时记录先行联系）"))
class AppealSignAPI(_AppealActionAPI):
    action = AppealAction.SIGN

    class AppealSignInputSerializer(AppealActionInputSerializer):
        contact = serializers.BooleanField(default=False, help_text=gettext_lazy("签收时已先行联系居民"))
        note = _text()

    input_serializer = AppealSignInputSerializer


@_documented(gettext_lazy("记录先行联系"))
class AppealContactAPI(_AppealActionAPI):
    action = AppealAction.CONTACT

    class AppealContactInputSerializer(AppealActionInputSerializer):
        note = _text(help_text=gettext_lazy("联系情况"))

    input_serializer = AppealContactInputSerializer


@_documented(gettext_lazy("退单（非本单位职责，须填理由）"))
class AppealReturnAPI(_AppealActionAPI):
    action = AppealAction.RETURN

    class AppealReturnInputSerializer(AppealActionInputSerializer):
        reason = _text(required=True, missing=gettext_lazy("请填写退单理由。"))

    input_serializer = AppealReturnInputSerializer


@_documented(
    gettext_lazy("改派：更正类别或办理单位"),
    gettext_lazy("至少填写新类别、新办理单位（已派单时）或 to_street（待派时转街道分中心）之一。"),
)
class AppealRerouteAPI(_AppealActionAPI):
    action = AppealAction.REROUTE

    class AppealRerouteInputSerializer(_UnitInput):
        unit_required = False
        reason = _text(required=True, missing=gettext_lazy("请填写改派理由。"))
        category = _category_field(help_text=gettext_lazy("新的类别编码"))
        to_street = serializers.BooleanField(default=False, help_text=gettext_lazy("转街道分中心派单（待派时）"))

    input_serializer = AppealRerouteInputSerializer


@_documented(gettext_lazy("办结（须填办理结果，可附照片）"), gettext_lazy("JSON，或 multipart 带照片。"))
class AppealResolveAPI(_AppealActionAPI):
    action = AppealAction.RESOLVE
    parser_classes = _PARSERS

    class AppealResolveInputSerializer(AppealActionInputSerializer):
        result = _text(required=True, missing=gettext_lazy("请填写办理结果。"))
        photos = _photos_field()

    input_serializer = AppealResolveInputSerializer


@_documented(gettext_lazy("现场核查：通过，或未通过（退回返工，须填原因）"))
class AppealVerifyAPI(_AppealActionAPI):
    action = AppealAction.VERIFY_PASS

    class AppealVerifyInputSerializer(AppealActionInputSerializer):
        passed = serializers.BooleanField(
            error_messages={"required": gettext_lazy("请说明核查是否通过：passed 为 true 或 false。")},
            help_text=gettext_lazy("核查是否通过"),
        )
        note = _text(help_text=gettext_lazy("核查情况"))
        reason = _text(help_text=gettext_lazy("未通过的原因（未通过时必填）"))

        def validate(self, attrs):
            if not attrs["passed"] and not (attrs.get("reason") or attrs.get("note")):
                raise serializers.ValidationError({"reason": [_("请填写核查未通过的原因。")]})
            return attrs

    input_serializer = AppealVerifyInputSerializer

    def service_action(self, data: dict | None) -> str:
        """verify_pass takes the note; verify_fail the reason (or the note as its reason)."""
        if data is None or data.pop("passed"):
            if data is not None:
                data.pop("reason", None)
            return AppealAction.VERIFY_PASS
        data["reason"] = data.get("reason") or data.pop("note", "")
        data.pop("note", None)
        return AppealAction.VERIFY_FAIL


@_documented(gettext_lazy("记录反馈（电话或上门回访）"))
class AppealFeedbackAPI(_AppealActionAPI):
    action = AppealAction.FEEDBACK

    class AppealFeedbackInputSerializer(AppealActionInputSerializer):
        method = serializers.ChoiceField(
            choices=[(m.value, m.label) for m in STAFF_FEEDBACK_METHODS], default=FeedbackMethod.PHONE
        )
        note = _text(help_text=gettext_lazy("反馈情况"))

    input_serializer = AppealFeedbackInputSerializer


@_documented(gettext_lazy("记录办理进展"))
class AppealNoteAPI(_AppealActionAPI):
    action = AppealAction.NOTE

    class AppealNoteInputSerializer(AppealActionInputSerializer):
        note = _text(required=True, missing=gettext_lazy("请填写办理进展。"))

    input_serializer = AppealNoteInputSerializer


@_documented(gettext_lazy("吹哨：街道召集职能部门协办"))
class AppealWhistleAPI(_AppealActionAPI):
    action = AppealAction.WHISTLE

    class AppealWhistleInputSerializer(AppealActionInputSerializer):
        departments = _code_field(
            gettext_lazy("职能部门"), Department.objects.all(), many=True, allow_empty=False,
            help_text=gettext_lazy("职能部门编码列表，如 [\"110101-CG\"]"),
        )
        note = _text()

    input_serializer = AppealWhistleInputSerializer


@_documented(gettext_lazy("部门报到（被吹哨的职能部门）"))
class AppealCheckinAPI(_AppealActionAPI):
    action = AppealAction.CHECKIN

    class AppealCheckinInputSerializer(AppealActionInputSerializer):
        department = _code_field(
            gettext_lazy("职能部门"), Department.objects.all(), required=False, allow_null=True,
            help_text=gettext_lazy("报到的部门编码；账号只属一个被吹哨部门时可不填"),
        )
        note = _text()

    input_serializer = AppealCheckinInputSerializer


@_documented(gettext_lazy("督办意见（督查考核人员）"), gettext_lazy("不改变诉求状态和版本，通知办理单位。"))
class AppealSuperviseAPI(_AppealActionAPI):
    action = AppealAction.SUPERVISE

    class AppealSuperviseInputSerializer(AppealActionInputSerializer):
        note = _text(required=True, missing=gettext_lazy("请填写督办意见。"))

    input_serializer = AppealSuperviseInputSerializer


@_documented(
    gettext_lazy("公开摘要：撰写或审定可公开的描述，并选择可公开的照片"),
    gettext_lazy("仅限可公开类别（代登记的诉求须居民同意公开）。摘要经 Open311 公开，另经自动脱敏；留空即撤下。"
                 "不改变诉求状态和版本。"),
)
class AppealPublishAPI(_AppealActionAPI):
    action = AppealAction.PUBLISH

    class AppealPublishInputSerializer(AppealActionInputSerializer):
        summary = _text(help_text=gettext_lazy("公开摘要，不超过 1000 字；留空即撤下"))
        photos = serializers.ListField(
            child=serializers.IntegerField(min_value=1), required=False, default=list, max_length=20,
            help_text=gettext_lazy("可公开的照片 id（见详情 timeline 中的 photos）；未列出的照片不公开"),
        )

    input_serializer = AppealPublishInputSerializer


# The URL segment of each action (appeals/api_urls.py); 上报 and 延期 are in appeals/apis_jobs.py.
ACTIONS = {
    "dispatch": AppealDispatchAPI,
    "decline": AppealDeclineAPI,
    "merge": AppealMergeAPI,
    "sign": AppealSignAPI,
    "contact": AppealContactAPI,
    "return": AppealReturnAPI,
    "reroute": AppealRerouteAPI,
    "resolve": AppealResolveAPI,
    "verify": AppealVerifyAPI,
    "feedback": AppealFeedbackAPI,
    "note": AppealNoteAPI,
    "whistle": AppealWhistleAPI,
    "checkin": AppealCheckinAPI,
    "supervise": AppealSuperviseAPI,
    "publish": AppealPublishAPI,
}
# The URL segment each offered action is POSTed to.
ENDPOINTS = {
    **{str(action): str(action) for action in workflow.STAFF_ACTIONS},
    AppealAction.VERIFY_PASS: "verify", AppealAction.VERIFY_FAIL: "verify",
    AppealAction.ESCALATE: "escalate", AppealAction.EXTEND_REQUEST: "extensions",
}


# --- the resident's tracking ----------------------------------------------------------------------


_LAST4 = serializers.RegexField(
    r"^\d{4}$", help_text=gettext_lazy("提交诉求时所留手机号的后四位"),
    error_messages={"invalid": gettext_lazy("请填写手机号后四位数字。"), "required": gettext_lazy("请填写手机号后四位数字。")},
)
_TRACK_REFUSED = OpenApiResponse(
    TrackRefusedOutputSerializer,
    description=gettext_lazy(
        "本网络查询错误次数过多（code: rate_limited），或该查询码输错次数过多、验证已暂停"
        "（code: tracking_paused，paused_until 为恢复时间）；Retry-After 为需等待的秒数。"
    ),
)
_TRACK_WRONG = OpenApiResponse(
    TrackRefusedOutputSerializer,
    description=gettext_lazy("查询码或手机号后四位不正确；tries_left 为本小时还可尝试的次数。"),
)


class TrackAPI(APIView):
    """The resident's side: no account; the tracking code and the phone's last 4 digits,
    always in the body (a query string would leave them in every log on the way)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    class TrackActInputSerializer(serializers.Serializer):
        phone_last4 = _LAST4
        withdraw = serializers.BooleanField(default=False, help_text=gettext_lazy("true：撤回诉求（签收前）"))
        reason = _text(help_text=gettext_lazy("撤回原因"))
        solved = serializers.BooleanField(
            required=False, allow_null=True, help_text=gettext_lazy("评价：问题是否已解决")
        )
        rating = serializers.ChoiceField(
            choices=Rating.choices, required=False, help_text=gettext_lazy("评价：satisfied 满意 / basically 基本满意 / unsatisfied 不满意")
        )
        comment = _text(help_text=gettext_lazy("评价意见"))
        expected_version = serializers.IntegerField(required=False, min_value=1)
        supplement = _text(help_text=gettext_lazy("补充：补充说明（诉求办理期间；照片请在查询页上传）"))

        def validate(self, attrs):
            # Only the digits: a look-up. solved or rating: an evaluation, which needs both.
            if attrs["withdraw"] or (attrs.get("solved") is None and not attrs.get("rating")):
                return attrs
            errors = {}
            if attrs.get("solved") is None:
                errors["solved"] = [_("请选择问题是否已解决。")]
            if not attrs.get("rating"):
                errors["rating"] = [_("请选择满意、基本满意或不满意。")]
            if errors:
                raise serializers.ValidationError(errors)
            return attrs

    @extend_schema(
        tags=PUBLIC_TAGS, summary=gettext_lazy("（已停用）请改用 POST 提交手机号后四位"),
        description=gettext_lazy("查询码和手机号后四位不放在网址里：一律以 400 拒绝，请 POST {\"phone_last4\": …}。"),
        responses={400: _BAD}, auth=[], deprecated=True,
    )
    def get(self, request, tracking_code: str):
        raise ApplicationError(_("请用 POST 提交手机号后四位（{\"phone_last4\": \"1234\"}），不要放在网址里。"))

    @extend_schema(
        tags=PUBLIC_TAGS, summary=gettext_lazy("居民查询进度、评价办理结果或撤回诉求（查询码 + 手机号后四位）"),
        description=gettext_lazy(
            "查询：{\"phone_last4\": …}。评价：另加 solved、rating、comment（待评价时）。"
            "撤回：另加 {\"withdraw\": true, \"reason\": …}（签收前）。"
            "补充：另加 {\"supplement\": …}（办理期间；办理单位会收到提醒）。"
            "每个查询码每小时可输错的次数有限（默认 10 次），之后暂停验证到整点；每个网络每小时可输错的次数也有限（默认 100 次）。"
            "每次回答都带 tries_left（还可输错的次数）。"
        ),
        request=TrackActInputSerializer,
        responses={200: TrackStatusOutputSerializer, 400: _BAD, 404: _TRACK_WRONG, 409: _CONFLICT,
                   429: _TRACK_REFUSED},
        auth=[],
    )
    def post(self, request, tracking_code: str):
        serializer = self.TrackActInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        last4 = data["phone_last4"]

        def act_and_read():
            if data["withdraw"]:
                services.appeal_withdraw_by_resident(tracking_code=tracking_code, phone_last4=last4, reason=data["reason"])
            elif data["supplement"]:
                services.appeal_supplement(tracking_code=tracking_code, phone_last4=last4, text=data["supplement"])
            elif data.get("rating"):
                services.appeal_evaluate(
                    tracking_code=tracking_code, phone_last4=last4, solved=data["solved"], rating=data["rating"],
                    comment=data["comment"], expected_version=data.get("expected_version"),
                )
            return selectors.appeal_track(tracking_code=tracking_code, phone_last4=last4)

        view, left = tracking.guarded(tracking_code=tracking_code, ip=client_ip(request), read=act_and_read)
        return Response({**TrackOutputSerializer(view).data, "tries_left": left})


# --- the responsibility list ------------------------------------------------------------------------


class AppealCategoryListAPI(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=PUBLIC_TAGS, summary=gettext_lazy("诉求类别（职责清单），含时限"),
        responses={200: AppealCategoryOutputSerializer(many=True)}, auth=[],
    )
    def get(self, request):
        categories = selectors.category_list(active_only=True)
        return Response(AppealCategoryOutputSerializer(categories, many=True).data)
