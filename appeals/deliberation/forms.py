"""The meeting pages' forms: they parse; appeals.deliberation.services checks the rules."""

from django import forms
from django.utils.translation import gettext_lazy as _

from appeals.deliberation.enums import DecisionKind, DecisionState, MeetingKind, ParticipantRole

PARTICIPANT_ROWS = 8


class ScheduleForm(forms.Form):
    community = forms.ChoiceField(label=_("社区"))
    kind = forms.ChoiceField(label=_("会议类型"), choices=MeetingKind.choices)
    topic = forms.CharField(label=_("议题"), max_length=200)
    place = forms.CharField(label=_("地点"), max_length=200)
    starts_at = forms.DateTimeField(label=_("召开时间"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                    input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])
    estate = forms.CharField(label=_("小区"), max_length=100, required=False,
                             help_text=_("涉及的小区名称（与楼栋的“小区”一致），用于推荐相关诉求。"))
    buildings = forms.MultipleChoiceField(label=_("涉及楼栋"), required=False)
    category = forms.TypedChoiceField(label=_("诉求类别"), required=False, coerce=int, empty_value=None,
                                      help_text=_("推荐同类别的诉求。"))

    def __init__(self, *args, communities=(), buildings=(), categories=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["community"].choices = [(c.code, c.name) for c in communities]
        self.fields["buildings"].choices = [(b.code, b.address) for b in buildings]
        self.fields["category"].choices = [("", _("（不限）"))] + [(c.pk, str(c)) for c in categories]


class LinkForm(forms.Form):
    codes = forms.MultipleChoiceField(label=_("提交议事的诉求"), required=False)
    extra_code = forms.CharField(label=_("其他诉求查询码"), max_length=16, required=False)
    extend_to = forms.DateField(label=_("申请延期至（议定事项预计完成日）"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}),
                                help_text=_("可选：本单位办理的诉求按现有延期流程申请，由上一级审批；不申请则照常计时、超期升级。"))

    def __init__(self, *args, offered=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["codes"].choices = [(a.tracking_code, a.tracking_code) for a in offered]

    def all_codes(self) -> list[str]:
        codes = list(self.cleaned_data.get("codes") or [])
        if self.cleaned_data.get("extra_code"):
            codes.append(self.cleaned_data["extra_code"])
        return codes


class RecordForm(forms.Form):
    residents_count = forms.IntegerField(label=_("参会居民人数"), min_value=0, max_value=100_000)
    minutes = forms.CharField(label=_("会议纪要"), widget=forms.Textarea(attrs={"rows": 6}), max_length=10_000)
    votes_for = forms.IntegerField(label=_("赞成"), min_value=0, required=False)
    votes_against = forms.IntegerField(label=_("反对"), min_value=0, required=False)
    votes_abstain = forms.IntegerField(label=_("弃权"), min_value=0, required=False)
    evaluated_unit = forms.CharField(label=_("被评议单位"), max_length=200, required=False)
    rated_satisfied = forms.IntegerField(label=_("满意"), min_value=0, required=False)
    rated_basically = forms.IntegerField(label=_("基本满意"), min_value=0, required=False)
    rated_unsatisfied = forms.IntegerField(label=_("不满意"), min_value=0, required=False)
    publicity_days = forms.IntegerField(label=_("公示期（天）"), min_value=1, max_value=90, initial=7)

    ROLES = ParticipantRole.choices

    def participants(self, data) -> list[tuple[str, str]]:
        """The rows p-<n>-role / p-<n>-name (parsed here; checked by the service)."""
        return [(data.get(f"p-{n}-role", ""), data.get(f"p-{n}-name", "")) for n in range(PARTICIPANT_ROWS)]


class DecisionForm(forms.Form):
    kind = forms.ChoiceField(label=_("类型"), choices=DecisionKind.choices, initial=DecisionKind.DECISION)
    text = forms.CharField(label=_("事项内容"), max_length=500)
    owner = forms.CharField(label=_("责任单位"), max_length=100)
    due_date = forms.DateField(label=_("完成时限"), widget=forms.DateInput(attrs={"type": "date"}))


class DecisionUpdateForm(forms.Form):
    state = forms.ChoiceField(label=_("状态"), choices=DecisionState.choices)
    progress = forms.CharField(label=_("进展"), max_length=500, required=False)
    resolve_appeals = forms.BooleanField(label=_("以此办结本社区及网格办理中的关联诉求（居民仍将评价）"), required=False)
