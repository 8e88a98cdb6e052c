from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from governance.kernel.params import QueryForm, QueryText, page_field
from grids.enums import CareTag, Gender
from grids.validators import normalize_care_tags, normalize_phone


class HouseholdForm(forms.Form):
    unit = forms.CharField(label=_("单元"), max_length=20, required=False)
    room = forms.CharField(label=_("房号"), max_length=20)
    contact_name = forms.CharField(label=_("联系人"), max_length=50, required=False)
    phone = forms.CharField(label=_("联系电话"), max_length=20, required=False,
                            help_text=_("手机号或带区号的座机号"))
    care_tags = forms.MultipleChoiceField(
        label=_("关怀标签"), choices=CareTag.choices, required=False, widget=forms.CheckboxSelectMultiple
    )

    def clean_phone(self):
        return normalize_phone(self.cleaned_data["phone"])

    def clean_care_tags(self):
        return normalize_care_tags(self.cleaned_data["care_tags"])


class ResidentForm(forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=50)
    gender = forms.ChoiceField(label=_("性别"), choices=[("", "—"), *Gender.choices], required=False)
    birth_year = forms.IntegerField(label=_("出生年份"), required=False, min_value=1900)
    phone = forms.CharField(label=_("手机号"), max_length=20, required=False)
    relation = forms.CharField(label=_("与户主关系"), max_length=20, required=False)
    is_party_member = forms.BooleanField(label=_("党员"), required=False)

    def clean_phone(self):
        return normalize_phone(self.cleaned_data["phone"])

    def clean_birth_year(self):
        year = self.cleaned_data["birth_year"]
        if year and year > timezone.localdate().year:
            raise ValidationError(_("出生年份不能晚于今年。"))
        return year


class MoveOutForm(forms.Form):
    moved_out_on = forms.DateField(label=_("迁出日期"), widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label=_("说明"), max_length=200, required=False)
    confirm = forms.BooleanField(label=_("我已核实该户已迁出"), required=True)

    def clean_moved_out_on(self):
        day = self.cleaned_data["moved_out_on"]
        if day > timezone.localdate():
            raise ValidationError(_("迁出日期不能晚于今天。"))
        return day


class ImportForm(forms.Form):
    file = forms.FileField(label=_("文件（CSV 或 XLSX）"))


class HouseholdImportForm(ImportForm):
    dry_run = forms.BooleanField(label=_("仅校验，不导入"), required=False,
                                 help_text=_("先检查文件有没有错误，不写入任何数据。"))


# --- query strings (governance.kernel.params) -----------------------------------------------


class TerritoryQuery(QueryForm):
    """A unit's or a building's page: a search of its households, the page, moved-out ones."""

    q = QueryText(max_length=50)
    page = page_field()
    moved_out = forms.BooleanField(required=False)


class ExportQuery(QueryForm):
    template = forms.BooleanField(required=False)
