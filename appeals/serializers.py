"""Output of the appeals API, shared by several endpoints (the input serializers sit in
their API classes in appeals/apis.py).

Every class has its own name starting with ``Appeal`` or ``Track``: drf-spectacular
names schema components after them. States, levels and types go out as plain codes
plus a ``…_label`` in Chinese, so that no two endpoints define clashing enums.
"""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from appeals.deadlines import deadline_text
from appeals.enums import AppealState
from appeals.models import Appeal, AppealAttachment, AppealCoHandler, AppealEvent, Category
from appeals.selectors import is_overdue, masked_contact

DEADLINE_TEXT_HELP = _("办结时限的文字：工作日时限为当日24:00，如“12月15日（周二）24:00”；小时时限为准确时刻")


@extend_schema_field(OpenApiTypes.STR)
class DeadlineTextField(serializers.Field):
    """An appeal's deadline in words (appeals.deadlines.deadline_text), read-only."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, help_text=DEADLINE_TEXT_HELP, **kwargs)

    def to_representation(self, appeal) -> str:
        return deadline_text(appeal)


STATE_HELP = _("状态：") + " / ".join(f"{value} {label}" for value, label in AppealState.choices)


class AppealCategoryOutputSerializer(serializers.ModelSerializer):
    type = serializers.CharField(read_only=True, help_text=_("event 事件 / component 部件 / service 服务 / enquiry 咨询"))
    type_label = serializers.CharField(source="get_type_display", read_only=True)
    default_level = serializers.CharField(read_only=True, help_text=_("grid / community / street / department"))
    resolution_unit = serializers.CharField(read_only=True, help_text=_("hours 小时 / working_days 工作日"))
    limit_label = serializers.CharField(read_only=True, help_text=_("办结时限，如“7工作日”"))
    cooperating_departments = serializers.ListField(
        child=serializers.CharField(), source="cooperating_kinds", read_only=True, help_text=_("协办部门简码")
    )

    class Meta:
        model = Category
        fields = [
            "code", "class_name", "name", "type", "type_label", "default_level", "department_kind",
            "cooperating_departments", "urgent", "needs_verification", "volunteer_suitable",
            "response_hours", "resolution_limit", "resolution_unit", "limit_label",
        ]


class AppealCategoryBriefOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["code", "class_name", "name"]


class _AppealFields(serializers.ModelSerializer):
    """What every staff view of an appeal shows: where it is and who has it."""

    state = serializers.CharField(read_only=True, help_text=STATE_HELP)
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    source = serializers.CharField(read_only=True, help_text=_("web / phone / walk_in / grid_patrol / api / open311"))
    category = AppealCategoryBriefOutputSerializer(read_only=True, allow_null=True)
    building = serializers.CharField(source="building.code", read_only=True, allow_null=True, help_text=_("楼栋编码（19 位）"))
    district = serializers.CharField(source="district_id", read_only=True, allow_null=True)
    street = serializers.CharField(source="street_id", read_only=True, allow_null=True)
    community = serializers.CharField(source="community_id", read_only=True, allow_null=True)
    grid = serializers.CharField(source="grid_id", read_only=True, allow_null=True)
    handling_level = serializers.CharField(
        read_only=True, help_text=_("grid / community / street / department；空：在待派队列中")
    )
    handling_unit = serializers.CharField(source="handling_unit_name", read_only=True, help_text=_("办理单位名称"))
    queue_level = serializers.CharField(read_only=True, help_text=_("待派队列：community / street；已派单时为空"))
    escalation_level = serializers.CharField(read_only=True, help_text=_("督办层级：grid / community / street / district"))
    overdue = serializers.SerializerMethodField(help_text=_("已过办结时限且尚未办结"))
    deadline_text = DeadlineTextField()
    # Lists and action answers show the resident masked (lists are read over shoulders);
    # the detail shows what appeals.selectors.resident_contact allows this account.
    name = serializers.SerializerMethodField(help_text=_("居民姓名（脱敏；匿名时为“匿名”）"))
    phone = serializers.SerializerMethodField(help_text=_("脱敏后的联系电话"))

    class Meta:
        model = Appeal
        fields = [
            "tracking_code", "state", "state_label", "source", "category", "description", "address_text",
            "address_unclear", "latitude", "longitude", "building", "district", "street", "community", "grid",
            "handling_level", "handling_unit", "queue_level", "escalation_level", "response_deadline", "deadline",
            "deadline_text", "level_deadline", "overdue",
            "first_contact_at", "created_at", "updated_at", "name", "phone", "rework_count", "version",
        ]

    def get_overdue(self, appeal: Appeal) -> bool:
        return is_overdue(appeal)

    def _contact(self, appeal: Appeal):
        # name and phone are read one after the other for each row: masked once.
        last = getattr(self, "_last_contact", None)
        if last is None or last[0] is not appeal:
            last = self._last_contact = (appeal, getattr(appeal, "contact", None) or masked_contact(appeal))
        return last[1]

    def get_name(self, appeal: Appeal) -> str:
        return self._contact(appeal).name

    def get_phone(self, appeal: Appeal) -> str:
        return self._contact(appeal).phone


class AppealListOutputSerializer(_AppealFields):
    """A row of the list: the resident masked."""

    class Meta(_AppealFields.Meta):
        pass


class AppealPhotoOutputSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text=_("照片地址：本接口的照片端点，凭同一令牌、核对辖区后提供"))
    kind = serializers.CharField(read_only=True, help_text=_("intake 受理照片 / result 办结照片"))
    public = serializers.BooleanField(read_only=True, help_text=_("已随公开摘要公开（Open311 的 media_url）"))

    class Meta:
        model = AppealAttachment
        fields = ["id", "kind", "url", "public", "created_at"]

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, attachment: AppealAttachment) -> str:
        # Media is never public: the photo comes through the API's jurisdiction check.
        code = self.context.get("tracking_code") or attachment.appeal.tracking_code
        url = reverse("api-appeal-photo", args=[code, attachment.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url


class AppealEventOutputSerializer(serializers.ModelSerializer):
    action = serializers.CharField(read_only=True)
    action_label = serializers.CharField(source="get_action_display", read_only=True)
    actor_label = serializers.CharField(read_only=True, help_text=_("居民、系统，或“单位·岗位”"))
    from_state = serializers.CharField(read_only=True)
    to_state = serializers.CharField(read_only=True)
    to_state_label = serializers.CharField(source="get_to_state_display", read_only=True)
    photos = AppealPhotoOutputSerializer(source="attachments", many=True, read_only=True)

    class Meta:
        model = AppealEvent
        fields = [
            "id", "created_at", "action", "action_label", "actor_label", "from_state", "to_state",
            "to_state_label", "note", "data", "photos",
        ]


class AppealCoHandlerOutputSerializer(serializers.ModelSerializer):
    department = serializers.CharField(source="department.code", read_only=True, help_text=_("部门编码"))
    department_name = serializers.CharField(source="department.name", read_only=True)

    class Meta:
        model = AppealCoHandler
        fields = ["department", "department_name", "summoned_at", "checked_in_at", "note"]


class AppealDetailOutputSerializer(_AppealFields):
    """One appeal for staff, with the timeline and the actions this account may take.
    The full phone and name go to those who take part in handling it while it is open
    (appeals.selectors.resident_contact; the view is logged); others see them masked."""

    phone = serializers.SerializerMethodField(help_text=_("联系电话（参与办理的工作人员在办理期间可见完整号码，其余脱敏）"))
    result = serializers.CharField(read_only=True)
    rating = serializers.CharField(read_only=True, help_text=_("satisfied / basically / unsatisfied；空：未评价"))
    merged_into = serializers.CharField(source="merged_into.tracking_code", read_only=True, allow_null=True, default=None)
    timeline = AppealEventOutputSerializer(many=True, read_only=True)
    co_handlers = AppealCoHandlerOutputSerializer(source="co_handler_list", many=True, read_only=True)
    actions = serializers.ListField(
        child=serializers.CharField(), read_only=True,
        help_text=_("本账号现在可进行的操作，即可以 POST 的 /api/v1/appeals/{tracking_code}/{action}/"),
    )

    class Meta(_AppealFields.Meta):
        fields = [
            *_AppealFields.Meta.fields, "dispatched_at", "resolved_at", "feedback_at", "closed_at", "result",
            "verified", "solved", "rating", "evaluation_comment", "flagged_for_supervisor", "merged_into",
            "public_consent", "public_summary", "co_handlers", "timeline", "actions",
        ]


class AppealActionOutputSerializer(_AppealFields):
    """The appeal after an action: its new state, version and the next actions."""

    actions = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta(_AppealFields.Meta):
        fields = [*_AppealFields.Meta.fields, "public_summary", "actions"]


# --- the resident's view -------------------------------------------------------------------


class TrackStepOutputSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    action = serializers.CharField()
    action_label = serializers.CharField()
    unit = serializers.CharField(help_text=_("办理单位名称（不含工作人员个人信息）"))
    state = serializers.CharField()
    state_label = serializers.CharField()
    note = serializers.CharField(allow_blank=True)


class TrackOutputSerializer(serializers.Serializer):
    tracking_code = serializers.CharField()
    state = serializers.CharField(help_text=STATE_HELP)
    state_label = serializers.CharField()
    category = serializers.CharField(allow_blank=True)
    description = serializers.CharField()
    handling_unit = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    deadline = serializers.DateTimeField(allow_null=True)
    deadline_text = serializers.CharField(allow_blank=True, help_text=DEADLINE_TEXT_HELP)
    result = serializers.CharField(allow_blank=True)
    rating = serializers.CharField(allow_blank=True)
    can_evaluate = serializers.BooleanField()
    can_withdraw = serializers.BooleanField()
    version = serializers.IntegerField(help_text=_("评价时可作为 expected_version 回传"))
    steps = TrackStepOutputSerializer(many=True)


class TrackStatusOutputSerializer(TrackOutputSerializer):
    tries_left = serializers.IntegerField(help_text=_("本小时还可输错手机号后四位的次数"))


class TrackRefusedOutputSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()
    tries_left = serializers.IntegerField(help_text=_("本小时还可输错手机号后四位的次数"))
    retry_after = serializers.IntegerField(required=False, help_text=_("暂停时：需等待的秒数（同 Retry-After）"))
    paused_until = serializers.DateTimeField(required=False, help_text=_("该查询码暂停验证时：恢复时间"))
