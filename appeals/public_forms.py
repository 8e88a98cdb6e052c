"""Forms of the residents' pages. They check what a resident can fix on the spot and
say so in Chinese next to the field; the rules themselves stay in appeals.services,
which checks everything again."""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from appeals.enums import Rating
from appeals.forms import PhotosField
from appeals.images import ALLOWED_FORMATS, MEDIA_TYPES, clean_image
from appeals.models import DESCRIPTION_MAX, normalize_tracking_code
from appeals.selectors import category_list
from appeals.suggest.records import parse_suggested
from governance.kernel.errors import ApplicationError
from governance.kernel.params import QueryForm, QueryText
from grids.locate import building_with_place
from grids.models import Community, Street
from grids.validators import LANDLINE_RE, normalize_phone

NOT_SURE = "other"  # "不确定": the appeal waits for staff to pick the category
# The description's counter turns to a warning this close to the limit (the field's max_length).
COUNTER_WARN_SHARE = 0.9
COMMENT_MAX = 2000  # the service's limit for notes and comments
ADDRESS_MAX = 200


class ResidentText(forms.CharField):
    """A textarea's text as the resident typed it: browsers send each line break as CRLF but
    count it (and the page's counter counts it) as one character; so does the limit."""

    def to_python(self, value):
        value = super().to_python(value)
        return value.replace("\r\n", "\n") if isinstance(value, str) else value


class AppealSubmitForm(forms.Form):
    # The place: codes picked from the lists (street → community → building); the
    # *_q fields only narrow those lists and are not saved.
    street_q = forms.CharField(required=False, max_length=50)
    street = forms.CharField(required=False, max_length=9)
    community_q = forms.CharField(required=False, max_length=50)
    community = forms.CharField(required=False, max_length=12)
    building_q = forms.CharField(required=False, max_length=50)
    building = forms.CharField(required=False, max_length=19)
    # The pin (WGS-84; the page converts from the map's tiles before filling these): where
    # the resident says it is, kept as given; it places the appeal when no building is chosen.
    latitude = forms.DecimalField(required=False, max_digits=12, decimal_places=9, min_value=-90, max_value=90,
                                  widget=forms.HiddenInput)
    longitude = forms.DecimalField(required=False, max_digits=12, decimal_places=9, min_value=-180, max_value=180,
                                   widget=forms.HiddenInput)
    address_text = forms.CharField(
        label=_("具体位置"), required=False, max_length=ADDRESS_MAX,
        error_messages={"max_length": _("具体位置不能超过 %(limit_value)d 个字。")},
        widget=forms.TextInput(attrs={"placeholder": _("如：和平里小区东门外垃圾站、3单元楼道")}),
    )
    category = forms.CharField(
        label=_("问题类别"), error_messages={"required": _("请选择问题类别；不确定时可选“不确定，由工作人员分类”。")},
    )
    description = ResidentText(
        label=_("问题描述"), max_length=DESCRIPTION_MAX,
        error_messages={
            "required": _("请填写问题描述：发生了什么、在哪里、持续多久。"),
            "max_length": _("问题描述不能超过 %(limit_value)d 个字（现有 %(show_value)d 个）。"),
        },
        widget=forms.Textarea(attrs={"rows": 6, "maxlength": DESCRIPTION_MAX,
                                     "placeholder": _("请写清楚发生了什么、具体位置、持续多久、希望怎样解决。")}),
    )
    photos = PhotosField(label=_("照片"))
    # The three categories the page suggested ("v<model version>:<code>,<code>,<code>"),
    # sent back so that the choice is recorded against what was shown (appeals.suggest).
    suggested = forms.CharField(required=False, max_length=60, widget=forms.HiddenInput)
    name = forms.CharField(
        label=_("姓名"), required=False, max_length=50,
        error_messages={"max_length": _("姓名不能超过 %(limit_value)d 个字。")},
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    anonymous = forms.BooleanField(label=_("匿名反映"), required=False)
    phone = forms.CharField(
        label=_("手机号"), max_length=20,
        error_messages={"required": _("请填写手机号：办理结果和评价链接将以短信发给您。")},
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel", "placeholder": "138 0000 0000"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The browser checks each photo before upload against the server's own limits
        # (appeals.images, the settings) and says it in the server's words (static/js/public.js).
        mb = settings.APPEAL_PHOTO_MAX_BYTES // (1024 * 1024)
        formats = " 或 ".join(ALLOWED_FORMATS)
        self.fields["photos"].widget.attrs.update({
            "data-max-count": settings.APPEAL_PHOTO_MAX_COUNT, "data-max-bytes": settings.APPEAL_PHOTO_MAX_BYTES,
            "data-types": ",".join(MEDIA_TYPES.values()),
            "data-msg-size": _("照片“{name}”超过 %(mb)s MB，没有选上：请压缩后再选择。") % {"mb": mb},
            "data-msg-type": _("文件“{name}”不是 %(formats)s 照片，没有选上。") % {"formats": formats},
            "data-msg-count": _("最多上传 {n} 张照片（您选择了 {m} 张），请重新选择。"),
            "data-msg-kept": _("其余 {n} 张照片已选好，提交时上传。"),
            "aria-describedby": "id_photos_helptext",
        })

    @property
    def counter_warn_at(self) -> int:
        return int(self.fields["description"].max_length * COUNTER_WARN_SHARE)

    def clean_phone(self) -> str:
        value = self.cleaned_data["phone"]
        compact = value.strip().replace(" ", "")
        if LANDLINE_RE.match(compact):
            raise ValidationError(_("网上反映请填写手机号，不接受座机：办理结果和评价链接要以短信发送。"))
        try:
            return normalize_phone(value, allow_landline=False)
        except ValidationError as exc:
            raise ValidationError(exc.messages[0]) from None

    def clean_category(self):
        value = self.cleaned_data["category"]
        if value == NOT_SURE:
            return None
        category = category_list().filter(pk=value).first() if value.isdigit() else None
        if category is None:
            raise ValidationError(_("所选类别不存在或已停用，请重新选择。"))
        return category

    def clean_suggested(self) -> tuple[int, list[str]] | None:
        """(model version, codes shown) or None; anything malformed counts as nothing shown."""
        return parse_suggested(self.cleaned_data.get("suggested"))

    def clean_photos(self) -> list:
        photos = self.cleaned_data.get("photos") or []
        limit = settings.APPEAL_PHOTO_MAX_COUNT
        if len(photos) > limit:
            raise ValidationError(_("最多上传 %(n)s 张照片（您选择了 %(m)s 张）。") % {"n": limit, "m": len(photos)})
        errors = []
        for photo in photos:
            # The same check the service runs, here so that the message sits next to
            # the field before anything is counted against the rate limit.
            try:
                clean_image(photo)
            except ApplicationError as exc:
                errors.append(exc.message)
            photo.seek(0)
        if errors:
            raise ValidationError(errors)
        return photos

    def clean(self):
        data = super().clean()
        street = community = building = None
        if data.get("building"):
            building = building_with_place(data["building"])
            if building is None:
                self.add_error("building", _("所选楼栋不存在，请重新选择。"))
        if data.get("community"):
            community = Community.objects.select_related("street").filter(code=data["community"]).first()
            if community is None:
                self.add_error("community", _("所选社区不存在，请重新选择。"))
        if data.get("street"):
            street = Street.objects.filter(code=data["street"]).first()
            if street is None:
                self.add_error("street", _("所选街道不存在，请重新选择。"))
        if building is not None:
            building_community = building.grid.community
            if community is not None and community.code != building_community.code:
                self.add_error("building", _("所选楼栋不在所选社区内，请重新选择楼栋。"))
            elif street is not None and street.code != building_community.street_id:
                self.add_error("building", _("所选楼栋不在所选街道内，请重新选择楼栋。"))
            community, street = building_community, building_community.street
        else:
            # A pin places the appeal by itself (appeals.services: building > pin > words).
            pinned = data.get("latitude") is not None and data.get("longitude") is not None
            if street is None and not pinned and "street" not in self.errors:
                self.add_error("street", _("请在地图上标出位置，或选择街道（可输入名称搜索）；能找到楼栋时请选择楼栋。"))
            if community is not None and street is not None and community.street_id != street.code:
                self.add_error("community", _("所选社区不在所选街道内，请重新选择社区。"))
            if not data.get("address_text") and not pinned and "address_text" not in self.errors:
                self.add_error("address_text", _("没有选择楼栋时，请用文字描述具体位置（小区、门牌或附近的标志）。"))
        data["street_obj"], data["community_obj"], data["building_obj"] = street, community, building
        if data.get("anonymous"):
            data["name"] = ""
        return data

    def address_for_service(self) -> str:
        """With a building, any words the resident added go after its address."""
        text = self.cleaned_data.get("address_text", "")
        building = self.cleaned_data.get("building_obj")
        if building is None:
            return text
        return f"{building.address} {text}".strip()[:ADDRESS_MAX] if text else ""


class TrackForm(forms.Form):
    tracking_code = forms.CharField(
        label=_("查询码"), max_length=40,
        error_messages={"required": _("请填写短信中的查询码。")},
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
    )
    phone_last4 = forms.RegexField(
        label=_("手机号后四位"), regex=r"^\d{4}$",
        error_messages={"required": _("请填写手机号后四位。"), "invalid": _("请填写手机号的后四位数字。")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "maxlength": 4, "autocomplete": "off",
                                      "pattern": "[0-9]{4}"}),
    )

    def clean_tracking_code(self) -> str:
        code = normalize_tracking_code(self.cleaned_data["tracking_code"])
        if not code:
            raise ValidationError(_("请填写短信中的查询码。"))
        return code


class LastFourForm(forms.Form):
    phone_last4 = TrackForm.base_fields["phone_last4"]


class EvaluationForm(forms.Form):
    solved = forms.TypedChoiceField(
        label=_("问题是否已解决"), choices=[("yes", _("已解决")), ("no", _("未解决"))],
        coerce=lambda v: v == "yes", widget=forms.RadioSelect,
        error_messages={"required": _("请选择问题是否已解决。")},
    )
    rating = forms.ChoiceField(
        label=_("满意度"), choices=Rating.choices, widget=forms.RadioSelect,
        error_messages={"required": _("请选择满意、基本满意或不满意。")},
    )
    comment = forms.CharField(
        label=_("评价意见"), required=False, max_length=COMMENT_MAX,
        error_messages={"max_length": _("评价意见不能超过 %(limit_value)d 个字。")},
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": COMMENT_MAX,
                                     "placeholder": _("选填：对办理结果的意见或建议")}),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label=_("撤回原因"), required=False, max_length=COMMENT_MAX,
        error_messages={"max_length": _("撤回原因不能超过 %(limit_value)d 个字。")},
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": COMMENT_MAX, "placeholder": _("选填，如：问题已自行解决")}),
    )
    confirm = forms.BooleanField(
        label=_("我确认撤回这条诉求，撤回后不再办理"),
        error_messages={"required": _("请勾选确认后再撤回。")},
    )


# --- query strings (governance.kernel.params) -----------------------------------------------------


class PlaceQuery(QueryForm):
    """The place pickers' lists (htmx or JSON) and the values a re-shown submit form
    narrows them by: codes and searches as text of their length, never a NUL."""

    q = QueryText(max_length=50)
    street_q = QueryText(max_length=50)
    community_q = QueryText(max_length=50)
    building_q = QueryText(max_length=50)
    street = QueryText(max_length=9)
    community = QueryText(max_length=12)
    building = QueryText(max_length=19)
    category = QueryText(max_length=10)
    format = forms.ChoiceField(required=False, choices=[("", "html"), ("json", "json")])


class TrackQuery(QueryForm):
    code = QueryText(max_length=30)
