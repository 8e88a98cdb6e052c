"""API of the deadline work (appeals.escalation, appeals.extensions), under /api/v1/:

- ``POST appeals/{tracking_code}/escalate/`` 上报 by the handler: {reason, expected_version?};
- ``POST appeals/{tracking_code}/extensions/`` 申请延期: {requested_deadline, reason, expected_version?};
- ``POST extensions/{id}/approve/`` and ``extensions/{id}/reject/``: {note, expected_version?}.

Checks in the services' order: outside the jurisdiction 404, state 409, role 403,
input 400, stale version 409 (mapped once by governance/api/errors.py).
"""

from django.urls import path
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from appeals import escalation, extensions, selectors
from appeals.serializers import DeadlineTextField
from governance.kernel.api import responses
from governance.staff.selectors import jurisdiction_for

TAGS = ["appeals"]
_ERRORS = {
    400: responses.BAD_INPUT, 403: responses.FORBIDDEN, 404: responses.NOT_FOUND,
    409: OpenApiResponse(description=gettext_lazy("当前状态不允许此操作，或已被他人处理（已变更）。")),
}


class AppealDeadlineOutputSerializer(serializers.Serializer):
    tracking_code = serializers.CharField()
    state = serializers.CharField()
    handling_level = serializers.CharField()
    handling_unit = serializers.CharField(source="handling_unit_name")
    escalation_level = serializers.CharField()
    level_deadline = serializers.DateTimeField(allow_null=True)
    deadline = serializers.DateTimeField(allow_null=True)
    deadline_text = DeadlineTextField()
    deferred = serializers.BooleanField()
    version = serializers.IntegerField()


class AppealExtensionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    tracking_code = serializers.CharField(source="appeal.tracking_code")
    level = serializers.CharField()
    state = serializers.CharField()
    reason = serializers.CharField()
    previous_deadline = serializers.DateTimeField()
    requested_deadline = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_note = serializers.CharField()
    appeal_version = serializers.IntegerField(source="appeal.version")


def _input(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _documented(summary, *, status: int = 200):
    """Documents the post of an API below from its class: input, output and the errors."""
    def document(cls):
        return extend_schema_view(post=extend_schema(
            tags=TAGS, summary=summary, request=cls.input_serializer,
            responses={status: cls.output_serializer, **_ERRORS},
        ))(cls)
    return document


# A deadline action on an appeal of the jurisdiction, by its tracking code (no docstring:
# drf-spectacular would show it as each operation's description).
class _AppealJobAPI(APIView):
    input_serializer: type[serializers.Serializer]
    output_serializer: type[serializers.Serializer]
    status = 200

    def act(self, *, actor, appeal, **data):
        raise NotImplementedError

    def post(self, request, tracking_code: str):
        appeal = selectors.appeal_get(jurisdiction=jurisdiction_for(request.user), tracking_code=tracking_code)
        done = self.act(actor=request.user, appeal=appeal, **_input(self.input_serializer, request))
        return Response(self.output_serializer(done).data, status=self.status)


@_documented(gettext_lazy("上报（升级至上一级；区督办为最高）"))
class AppealEscalateAPI(_AppealJobAPI):
    class AppealEscalateInputSerializer(serializers.Serializer):
        # Required, but checked by the service after the state and the role (their
        # answer comes first).
        reason = serializers.CharField(required=False, allow_blank=True, default="",
                                       help_text=gettext_lazy("上报理由（必填）"))
        expected_version = serializers.IntegerField(required=False, allow_null=True, default=None)

    input_serializer = AppealEscalateInputSerializer
    output_serializer = AppealDeadlineOutputSerializer

    def act(self, **arguments):
        return escalation.appeal_escalate(**arguments)


@_documented(gettext_lazy("申请延期（办结时限前，由上一级审批）"), status=201)
class AppealExtensionRequestAPI(_AppealJobAPI):
    class AppealExtensionRequestInputSerializer(serializers.Serializer):
        requested_deadline = serializers.DateTimeField(required=False, allow_null=True, default=None,
                                                       help_text=gettext_lazy("申请延至（ISO 8601，必填）"))
        reason = serializers.CharField(required=False, allow_blank=True, default="",
                                       help_text=gettext_lazy("延期理由（必填）"))
        expected_version = serializers.IntegerField(required=False, allow_null=True, default=None)

    input_serializer = AppealExtensionRequestInputSerializer
    output_serializer = AppealExtensionOutputSerializer
    status = 201

    def act(self, **arguments):
        return extensions.extension_request(**arguments)


class _ExtensionDecisionAPI(APIView):
    approve: bool

    class AppealExtensionDecisionInputSerializer(serializers.Serializer):
        note = serializers.CharField(required=False, allow_blank=True, default="",
                                     help_text=gettext_lazy("审批意见（驳回时必填）"))
        expected_version = serializers.IntegerField(required=False, allow_null=True, default=None,
                                                    help_text=gettext_lazy("诉求的版本号"))

    input_serializer = AppealExtensionDecisionInputSerializer
    output_serializer = AppealExtensionOutputSerializer

    def post(self, request, pk: int):
        extension = extensions.extension_get(jurisdiction=jurisdiction_for(request.user), extension_id=pk)
        data = _input(self.AppealExtensionDecisionInputSerializer, request)
        decide = extensions.extension_approve if self.approve else extensions.extension_reject
        extension = decide(actor=request.user, extension=extension, **data)
        return Response(AppealExtensionOutputSerializer(extension).data)


@_documented(gettext_lazy("批准延期（上一级）"))
class AppealExtensionApproveAPI(_ExtensionDecisionAPI):
    approve = True


@_documented(gettext_lazy("驳回延期（上一级，须填理由）"))
class AppealExtensionRejectAPI(_ExtensionDecisionAPI):
    approve = False


urlpatterns = [
    path("appeals/<str:tracking_code>/escalate/", AppealEscalateAPI.as_view(), name="api-appeal-escalate"),
    path("appeals/<str:tracking_code>/extensions/", AppealExtensionRequestAPI.as_view(),
         name="api-appeal-extension-request"),
    path("extensions/<int:pk>/approve/", AppealExtensionApproveAPI.as_view(), name="api-extension-approve"),
    path("extensions/<int:pk>/reject/", AppealExtensionRejectAPI.as_view(), name="api-extension-reject"),
]
