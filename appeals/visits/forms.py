"""The forms of 入户走访: they parse; the rules live in appeals.visits.services."""

from django import forms
from django.utils.translation import gettext_lazy as _

from appeals.forms import PhotosField, _category_field
from appeals.visits.enums import CheckAnswer, VisitMethod

CHECK_PREFIX = "check_"


class VisitForm(forms.Form):
    method = forms.ChoiceField(label=_("走访方式"), choices=VisitMethod.choices, widget=forms.RadioSelect,
                               error_messages={"required": _("请选择走访方式：在家、电话或未见到。")})
    companions = forms.CharField(label=_("同行人员"), required=False, max_length=100,
                                 help_text=_("如 社区民警、楼栋长，可不填"))
    notes = forms.CharField(label=_("走访记录"), required=False, max_length=2000,
                            widget=forms.Textarea(attrs={"rows": 3}))
    photos = PhotosField(label=_("照片"), camera=True)

    def __init__(self, *args, checklist=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.items = list(checklist)
        for index, item in enumerate(self.items):
            self.fields[f"{CHECK_PREFIX}{index}"] = forms.ChoiceField(
                label=item, choices=CheckAnswer.choices, required=False, widget=forms.RadioSelect)

    def checklist(self) -> dict:
        return {item: self.cleaned_data[f"{CHECK_PREFIX}{i}"] for i, item in enumerate(self.items)
                if self.cleaned_data.get(f"{CHECK_PREFIX}{i}")}

    def check_fields(self):
        return [self[f"{CHECK_PREFIX}{i}"] for i in range(len(self.items))]


class VisitAppealForm(forms.Form):
    """A need found on the visit, as an appeal: the rest (building, household, source 走访,
    the finder) comes from the visit."""

    category = _category_field()
    description = forms.CharField(label=_("发现的需求"), max_length=4000, widget=forms.Textarea(attrs={"rows": 4}),
                                  error_messages={"required": _("请描述走访中发现的需求。")})
    photos = PhotosField(label=_("现场照片"), camera=True)
