"""民主协商 in the staff API (/api/v1/meetings/, /api/v1/meeting-decisions/): reading the
meetings and their decisions through the pages' selectors (appeals.deliberation.selectors).

Who reads: the staff of the meeting's community and the officers of its street; outside the
jurisdiction a meeting does not exist (404); supervisors (read-only posts) see the figures
in the reports, not the records (403). Scheduling, linking, the record and the decisions'
progress stay on the pages for now.
"""

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from appeals.deliberation import selectors
from appeals.deliberation.enums import DecisionKind, DecisionState, MeetingKind, MeetingState, ParticipantRole
from appeals.deliberation.models import Meeting, MeetingDecision
from governance.staff.apis import JurisdictionListAPI
from governance.staff.selectors import jurisdiction_for

TAGS = ["deliberation"]
_FORBIDDEN = OpenApiResponse(description=gettext_lazy(
    "民主协商由社区工作人员组织，街道工作人员可查看；督查考核账号只看议事统计（报表）。"))
_NOT_FOUND = OpenApiResponse(description=gettext_lazy("不存在，或不在您的辖区内。"))


class MeetingDecisionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    meeting = serializers.IntegerField(source="meeting_id")
    kind = serializers.ChoiceField(choices=DecisionKind.choices)
    kind_label = serializers.CharField(source="get_kind_display")
    text = serializers.CharField()
    owner = serializers.CharField(help_text=gettext_lazy("责任单位"))
    due_date = serializers.DateField(help_text=gettext_lazy("完成时限"))
    state = serializers.ChoiceField(choices=DecisionState.choices)
    state_label = serializers.CharField(source="get_state_display")
    progress = serializers.CharField()
    done_at = serializers.DateTimeField(allow_null=True)
    done_on_time = serializers.BooleanField()


class MeetingDecisionRowOutputSerializer(MeetingDecisionOutputSerializer):
    community = serializers.CharField(source="meeting.community_id", help_text=gettext_lazy("社区编码"))
    meeting_topic = serializers.CharField(source="meeting.topic")


class MeetingOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    community = serializers.CharField(source="community_id", help_text=gettext_lazy("社区编码"))
    community_name = serializers.CharField(source="community.name")
    kind = serializers.ChoiceField(choices=MeetingKind.choices)
    kind_label = serializers.CharField(source="get_kind_display")
    topic = serializers.CharField()
    place = serializers.CharField()
    starts_at = serializers.DateTimeField()
    state = serializers.ChoiceField(choices=MeetingState.choices)
    state_label = serializers.CharField(source="get_state_display")


class MeetingRowOutputSerializer(MeetingOutputSerializer):
    appeal_count = serializers.IntegerField(source="n_appeals", help_text=gettext_lazy("关联诉求数"))
    open_decision_count = serializers.IntegerField(source="n_open", help_text=gettext_lazy("未完成的议定事项数"))


class MeetingParticipantOutputSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=ParticipantRole.choices)
    role_label = serializers.CharField(source="get_role_display")
    name = serializers.CharField()


class MeetingAppealOutputSerializer(serializers.Serializer):
    tracking_code = serializers.CharField()
    state = serializers.CharField()
    state_label = serializers.CharField(source="get_state_display")
    category = serializers.CharField(source="category.name", default="")


class MeetingDetailOutputSerializer(MeetingOutputSerializer):
    estate = serializers.CharField(help_text=gettext_lazy("小区"))
    category = serializers.CharField(source="category.code", default=None, allow_null=True)
    held_at = serializers.DateTimeField(allow_null=True)
    residents_count = serializers.IntegerField(allow_null=True, help_text=gettext_lazy("参会居民人数"))
    minutes = serializers.CharField(help_text=gettext_lazy("会议纪要"))
    votes_for = serializers.IntegerField(allow_null=True)
    votes_against = serializers.IntegerField(allow_null=True)
    votes_abstain = serializers.IntegerField(allow_null=True)
    evaluated_unit = serializers.CharField()
    rated_satisfied = serializers.IntegerField(allow_null=True)
    rated_basically = serializers.IntegerField(allow_null=True)
    rated_unsatisfied = serializers.IntegerField(allow_null=True)
    publicity_days = serializers.IntegerField(help_text=gettext_lazy("公示期（天）"))
    participants = MeetingParticipantOutputSerializer(many=True, source="participant_list")
    appeals = MeetingAppealOutputSerializer(many=True, source="appeal_list", help_text=gettext_lazy("关联诉求"))
    decisions = MeetingDecisionOutputSerializer(many=True, source="decision_list")


@extend_schema_view(get=extend_schema(tags=TAGS, summary=gettext_lazy("议事会议列表（本社区或本街道），新的在前"),
                                       responses={200: MeetingRowOutputSerializer(many=True), 403: _FORBIDDEN}))
class MeetingListAPI(JurisdictionListAPI):
    model = Meeting
    serializer_class = MeetingRowOutputSerializer

    def rows(self, jurisdiction):
        return selectors.meetings_for(jurisdiction).order_by("-starts_at", "-id")


class MeetingDetailAPI(APIView):
    @extend_schema(tags=TAGS, summary=gettext_lazy("议事会议：参会人员、纪要、关联诉求和议定事项"),
                   responses={200: MeetingDetailOutputSerializer, 403: _FORBIDDEN, 404: _NOT_FOUND})
    def get(self, request, pk: int):
        meeting = selectors.meeting_get(jurisdiction=jurisdiction_for(request.user), pk=pk)
        meeting.participant_list = list(meeting.participants.all())
        meeting.appeal_list = selectors.linked_appeals(meeting)
        meeting.decision_list = list(meeting.decisions.all())
        return Response(MeetingDetailOutputSerializer(meeting).data)


@extend_schema_view(get=extend_schema(
    tags=TAGS, summary=gettext_lazy("议定事项列表（本社区或本街道的会议），按完成时限"),
    responses={200: MeetingDecisionRowOutputSerializer(many=True), 403: _FORBIDDEN}))
class MeetingDecisionListAPI(JurisdictionListAPI):
    model = MeetingDecision
    serializer_class = MeetingDecisionRowOutputSerializer

    def rows(self, jurisdiction):
        return selectors.decisions_for(jurisdiction)


class MeetingDecisionDetailAPI(APIView):
    @extend_schema(tags=TAGS, summary=gettext_lazy("一项议定事项"),
                   responses={200: MeetingDecisionRowOutputSerializer, 403: _FORBIDDEN, 404: _NOT_FOUND})
    def get(self, request, pk: int):
        decision = selectors.decision_get(jurisdiction=jurisdiction_for(request.user), pk=pk)
        return Response(MeetingDecisionRowOutputSerializer(decision).data)
