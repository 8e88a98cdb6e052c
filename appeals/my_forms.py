"""Forms of 我的诉求 (the phone and its one-time code) and of the tracking page's 补充.
They check what a resident can fix on the spot; the services check everything again."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from appeals.forms import PhotosField
from appeals.phone_proof import CODE_DIGITS
from appeals.public_forms import COMMENT_MAX
from grids.validators import normalize_phone


class PhoneForm(forms.Form):
    phone = forms.CharField(
        label=_("手机号"), max_length=20,
        error_messages={"required": _("请填写提交诉求时所留的手机号。")},
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel", "placeholder": "138 0000 0000"}),
    )

    def clean_phone(self) -> str:
        try:
            return normalize_phone(self.cleaned_data["phone"], allow_landline=False)
        except ValidationError as exc:
            raise ValidationError(exc.messages[0]) from None


class CodeForm(forms.Form):
    code = forms.RegexField(
        label=_("短信验证码"), regex=rf"^\s*\d{{{CODE_DIGITS}}}\s*$",
        error_messages={"required": _("请填写短信中的 6 位验证码。"), "invalid": _("验证码是 6 位数字，请检查后重新填写。")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": CODE_DIGITS,
                                      "pattern": f"[0-9]{{{CODE_DIGITS}}}"}),
    )

    def clean_code(self) -> str:
        return self.cleaned_data["code"].strip()


class SupplementForm(forms.Form):
    text = forms.CharField(
        label=_("补充内容"), required=False, max_length=COMMENT_MAX,
        error_messages={"max_length": _("补充内容不能超过 %(limit_value)d 个字（现有 %(show_value)d 个）。")},
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": COMMENT_MAX,
                                     "placeholder": _("如：问题又出现了、补充具体位置，或上传提交时未能保存的照片")}),
    )
    photos = PhotosField(label=_("照片"))

    def clean(self):
        data = super().clean()
        if not self.errors and not data.get("text", "").strip() and not data.get("photos"):
            raise ValidationError(_("请填写补充内容或选择照片。"))
        return data
