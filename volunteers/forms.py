from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from governance.kernel.params import QueryCode, QueryForm, QueryText, page_field, year_field
from grids.models import Community
from volunteers.enums import ActivityStatus


class ActivityForm(forms.Form):
    community = forms.ModelChoiceField(label=_("社区"), queryset=Community.objects.none(), to_field_name="code")
    title = forms.CharField(label=_("活动名称"), max_length=100)
    description = forms.CharField(label=_("活动内容"), widget=forms.Textarea(attrs={"rows": 4}), required=False)
    place = forms.CharField(label=_("地点"), max_length=200)
    starts_at = forms.DateTimeField(label=_("开始时间"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    ends_at = forms.DateTimeField(label=_("结束时间"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    capacity_min = forms.IntegerField(label=_("最少人数"), min_value=1, initial=1)
    capacity_max = forms.IntegerField(label=_("最多人数"), min_value=1, max_value=1000, initial=10)

    def __init__(self, *args, communities, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["community"].queryset = communities
        first_two = list(communities[:2])
        if len(first_two) == 1:
            self.fields["community"].initial = first_two[0].code


class AttendanceForm(forms.Form):
    """The organiser's check-in/check-out of one volunteer; the time defaults to now."""

    at = forms.DateTimeField(
        label=_("时间（留空为现在）"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )


class AttendanceCorrectionForm(forms.Form):
    """The organiser corrects a checked-out volunteer's times (更正签到签退)."""

    checked_in_at = forms.DateTimeField(label=_("签到时间"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    checked_out_at = forms.DateTimeField(label=_("签退时间"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    reason = forms.CharField(label=_("更正原因"), max_length=100)


class CheckinCodeForm(forms.Form):
    code = forms.CharField(label=_("签到码"), max_length=6, min_length=6)
    direction = forms.ChoiceField(choices=[("in", _("签到")), ("out", _("签退"))])


# --- query strings (governance.kernel.params) -----------------------------------------------


class PageQuery(QueryForm):
    page = page_field()


class ActivityListQuery(PageQuery):
    q = QueryText(max_length=50)
    status = forms.ChoiceField(required=False, choices=[("", "")] + list(ActivityStatus.choices))


class OverviewQuery(PageQuery):
    """The community workers' overview: a community of the jurisdiction, the year, a search."""

    community = QueryCode(lengths=(12,))
    year = year_field()
    q = QueryText(max_length=50)

    def clean_year(self):
        return self.cleaned_data.get("year") or timezone.localdate().year


class QrQuery(QueryForm):
    d = forms.ChoiceField(required=False, choices=[("", ""), ("in", _("签到")), ("out", _("签退"))])
