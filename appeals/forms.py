"""Forms of the staff dashboard: the queue's filters, one small form per action, and
intake on a resident's behalf (phone, walk-in, grid patrol).

Forms only parse; the rules (who may act, required reasons, photos) live in
appeals.services, whose ApplicationError the views show next to the form.
"""

import html

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.functional import lazy
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from appeals.deadlines import deadline_text
from appeals.enums import STAFF_FEEDBACK_METHODS, AppealAction, AppealState, HandlingLevel, Source
from appeals.images import MEDIA_TYPES, photo_rule
from appeals.public_policy import redact
from appeals.selectors import APPEAL_SORTS, category_list
from governance.enums import COMMUNITY_ROLES, Role
from governance.kernel.errors import ApplicationError
from governance.kernel.keyset import CURSOR_MAX_LENGTH
from governance.kernel.params import QueryCode, QueryDate, QueryForm, QueryText, draft_query
from governance.staff.selectors import Jurisdiction
from grids.models import UNIT_MODELS, Building, Community, Department, Grid
from grids.selectors import scoped
from grids.validators import normalize_phone


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Several photos under one name (Django's documented pattern), for every form that
    takes them (staff actions, intake, patrol, the public form); the service checks each
    by content and the limits (appeals.images). Its help text and the browser's count
    check read the same settings."""

    def __init__(self, *args, camera: bool = False, **kwargs):
        attrs = {"accept": ",".join(MEDIA_TYPES.values()), "multiple": True,
                 "data-max-count": settings.APPEAL_PHOTO_MAX_COUNT, "data-max-bytes": settings.APPEAL_PHOTO_MAX_BYTES}
        if camera:
            # On a phone this opens the back camera directly.
            attrs.update(accept="image/*", capture="environment")
        kwargs.setdefault("widget", MultipleFileInput(attrs=attrs))
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", lazy(photo_rule, str)())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


def _category_field(**kwargs) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        queryset=category_list().order_by("code"), required=False, label=_("诉求类别"),
        empty_label=_("— 请选择 —"), **kwargs,
    )


def _suggested_field() -> forms.CharField:
    """The three categories the page suggested (智能分拨), sent back to record the choice
    against them (appeals.suggest.records): "v<version>:<code>,<code>,<code>"."""
    return forms.CharField(required=False, max_length=60, widget=forms.HiddenInput)


# --- the queue -------------------------------------------------------------------------------


class QuickSelect(forms.Select):
    """A <select> written in Python. Django's renders a template include per option (and
    format_html would cost nearly as much): 5.8 ms for the queue's 51 categories, 0.3 ms
    this way. The same markup: options and optgroups, attributes as attrs.html writes them."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [f'<select name="{_escape(widget["name"])}"{_attrs(widget["attrs"])}>']
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                parts.append(f'\n  <optgroup label="{_escape(group_name)}">')
            parts += [f'\n  <option value="{_escape(o["value"])}"{_attrs(o["attrs"])}>{_escape(o["label"])}</option>'
                      for o in options]
            if group_name:
                parts.append("\n  </optgroup>")
        parts.append("\n</select>")
        return mark_safe("".join(parts))  # every value in it is escaped above


def _escape(value) -> str:
    # django.utils.html.conditional_escape without its lazy-string wrappers.
    return value.__html__() if hasattr(value, "__html__") else html.escape(str(value))


def _attrs(attrs: dict) -> str:
    # As django/forms/widgets/attrs.html: False left out, True as a bare name.
    return "".join(f" {name}" if value is True else f' {name}="{_escape(value)}"'
                   for name, value in attrs.items() if value is not False)


class QueueFilterForm(QueryForm):
    """The queue's filters, shown on the page, and its query string (the order, the page,
    the scope)."""

    state = forms.ChoiceField(required=False, label=_("状态"),
                              choices=[("", _("全部待办"))] + list(AppealState.choices))
    category = forms.ModelChoiceField(queryset=category_list().order_by("code"), required=False,
                                      label=_("类别"), empty_label=_("全部类别"), widget=QuickSelect)
    grid = QueryText(label=_("网格"), max_length=19)
    date_from = QueryDate(label=_("受理日期从"), widget=forms.DateInput(attrs={"type": "date"}))
    date_to = QueryDate(label=_("至"), widget=forms.DateInput(attrs={"type": "date"}))
    overdue = forms.BooleanField(required=False, label=_("只看超期"))
    q = QueryText(label=_("搜索"), max_length=100,
                  widget=forms.TextInput(attrs={"type": "search", "placeholder": _("查询码、电话或地址")}))
    sort = forms.ChoiceField(required=False, label=_("排序"),
                             choices=[("", _("默认"))] + [(s.key, s.label) for s in APPEAL_SORTS.values()])
    # The page: a keyset cursor (governance.kernel.keyset), checked when it is read.
    cursor = QueryText(max_length=CURSOR_MAX_LENGTH, widget=forms.HiddenInput)
    scope = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, grids=None, **kwargs):
        super().__init__(*args, **kwargs)
        if grids is not None:
            self.fields["grid"] = forms.ChoiceField(
                required=False, label=_("网格"), widget=QuickSelect,
                choices=[("", _("全部网格"))] + [(g.code, f"{g.community.name}{g.name}") for g in grids],
            )

    def selector_filters(self) -> dict:
        """The cleaned filters as appeal_queue / appeal_browse keyword arguments."""
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "category": data.get("category"),
            "grid": data.get("grid") or None,
            "overdue": True if data.get("overdue") else None,
            "search": data.get("q") or None,
            "date_from": data.get("date_from"),
            "date_to": data.get("date_to"),
        }


class BuildingSearchQuery(QueryForm):
    """The intake pages' building search (htmx, or the page reloaded with the search)."""

    bq = QueryText(max_length=50)
    building = QueryText(max_length=19)
    within = QueryCode(lengths=(6, 9, 12, 15))


# --- actions on one appeal ---------------------------------------------------------------------


class ActionForm(forms.Form):
    """Every action form carries the version the user saw, so a stale page gets 409."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args, appeal=None, **kwargs):
        self.appeal = appeal
        super().__init__(*args, **kwargs)

    def service_data(self) -> dict:
        """Keyword arguments for appeals.services.appeal_act (without expected_version, and
        without what the page only records: the suggestions it showed)."""
        return {k: v for k, v in self.cleaned_data.items() if k not in ("expected_version", "suggested")}


def _note(label=_("说明"), required=False):
    return forms.CharField(label=label, required=required, max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 2}))


def _reason(label):
    return forms.CharField(label=label, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
                           error_messages={"required": _("请填写%(label)s。") % {"label": label}})


def unit_choices_for(appeal) -> list[tuple[str, str]]:
    """Dispatch targets: the units of the appeal's own place (the service refuses others)
    and the departments of its district, as "level:code" values."""
    choices = []
    if appeal.street_id:
        choices.append((f"{HandlingLevel.STREET}:{appeal.street_id}", f"{_('街道')} · {appeal.street}"))
    if appeal.community_id:
        communities = [appeal.community]
    elif appeal.street_id:
        communities = list(Community.objects.filter(street_id=appeal.street_id).order_by("code"))
    else:
        communities = []
    choices += [(f"{HandlingLevel.COMMUNITY}:{c.code}", f"{_('社区')} · {c.name}") for c in communities]
    if appeal.grid_id:
        grids = [appeal.grid]
    else:
        grids = list(Grid.objects.filter(community_id__in=[c.code for c in communities]).select_related("community").order_by("code"))
    choices += [(f"{HandlingLevel.GRID}:{g.code}", f"{_('网格')} · {g.community.name}{g.name}") for g in grids]
    if appeal.district_id:
        choices += [
            (f"{HandlingLevel.DEPARTMENT}:{d.code}", f"{_('职能部门')} · {d.name}")
            for d in Department.objects.filter(district_id=appeal.district_id).order_by("code")
        ]
    return choices


def _unit_from_choice(value: str):
    from appeals.services import unit_from_code

    level, _sep, code = (value or "").partition(":")
    return unit_from_code(level=level, code=code)


class DispatchForm(ActionForm):
    """派单. While the appeal waits after a 退单, the unit that returned it is marked in the
    list, and choosing it again opens a confirmation step (``confirm_step``): the box
    "确认派回退单单位" and a note, both required (appeals.services.dispatch)."""

    unit = forms.ChoiceField(label=_("派往"))
    category = _category_field()
    suggested = _suggested_field()
    note = _note()
    confirm_return = forms.BooleanField(label=_("确认派回退单单位"), required=False)

    def __init__(self, *args, **kwargs):
        from appeals.services.dispatch import pending_return

        super().__init__(*args, **kwargs)
        self.pending_return = pending_return(self.appeal)
        self.confirm_step = False
        choices = unit_choices_for(self.appeal)
        back = self.pending_return
        if back is not None and back.unit is not None:
            returned = f"{back.unit.level}:{back.unit.code}"  # the choices' "level:code"
            choices = [(value, f"{label}（{_('刚退回')}）" if value == returned else label) for value, label in choices]
            self.fields["confirm_return"].label = _("确认仍派回退单单位“%(unit)s”") % {"unit": back.unit_name}
            self.fields["confirm_return"].help_text = _("该单位已以“%(reason)s”为由退回；仍派给它须勾选此项并在说明中写明理由。") % {
                "reason": back.reason}
        self.fields["unit"].choices = [("", _("— 请选择办理单位 —"))] + choices
        if self.appeal.category_id:
            self.fields["category"].initial = self.appeal.category_id
            self.fields["category"].help_text = _("可更正类别；不选则沿用当前类别。")

    def clean_unit(self):
        return _unit_from_choice(self.cleaned_data["unit"])

    def clean(self):
        from appeals.services.dispatch import ensure_redispatch_confirmed

        data = super().clean()
        unit = data.get("unit")
        if unit is None or self.pending_return is None or not self.pending_return.is_unit(unit):
            return data
        self.confirm_step = True
        try:
            ensure_redispatch_confirmed(self.appeal, unit=unit, confirm=data.get("confirm_return", False),
                                        note=(data.get("note") or "").strip())
        except ApplicationError as exc:
            self.add_error("confirm_return" if not data.get("confirm_return") else "note", exc.message)
        return data


class DeclineForm(ActionForm):
    reason = _reason(_("不予受理的理由"))


class ReturnForm(ActionForm):
    reason = _reason(_("退单理由"))


class VerifyFailForm(ActionForm):
    reason = _reason(_("核查未通过的原因"))


class MergeForm(ActionForm):
    target = forms.CharField(label=_("并入诉求的查询码"), max_length=30)
    note = _note()


class SignForm(ActionForm):
    contact = forms.BooleanField(label=_("已先行联系居民"), required=False)
    note = _note()


class ContactForm(ActionForm):
    note = _note(_("联系情况"))


class NoteForm(ActionForm):
    note = _note(_("办理进展"), required=True)


class VerifyPassForm(ActionForm):
    note = _note(_("核查情况"))


class ResolveForm(ActionForm):
    result = forms.CharField(label=_("办理结果"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3}),
                             error_messages={"required": _("请填写办理结果。")})
    photos = PhotosField(label=_("办结照片"), camera=True)


class FeedbackForm(ActionForm):
    method = forms.ChoiceField(label=_("反馈方式"), choices=[(m.value, m.label) for m in STAFF_FEEDBACK_METHODS],
                               widget=forms.RadioSelect, initial="phone")
    note = _note(_("反馈情况"))


class RerouteForm(ActionForm):
    reason = _reason(_("改派理由"))
    category = _category_field()
    suggested = _suggested_field()
    unit = forms.ChoiceField(label=_("改派给"), required=False)
    to_street = forms.BooleanField(label=_("转街道分中心派单"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.appeal.state == AppealState.RECEIVED:
            del self.fields["unit"]
        else:
            del self.fields["to_street"]
            self.fields["unit"].choices = [("", _("— 不改办理单位 —"))] + unit_choices_for(self.appeal)

    def clean_unit(self):
        value = self.cleaned_data.get("unit")
        return _unit_from_choice(value) if value else None


class WhistleForm(ActionForm):
    departments = forms.ModelMultipleChoiceField(
        queryset=Department.objects.none(), label=_("吹哨部门"), widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("请选择要吹哨的职能部门。")},
    )
    note = forms.CharField(label=_("说明"), required=False, max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["departments"].queryset = Department.objects.filter(
            district_id=self.appeal.district_id
        ).exclude(pk__in=self.appeal.co_handlers.values("department_id")).order_by("code")


class CheckinForm(ActionForm):
    note = forms.CharField(label=_("说明"), required=False, max_length=200)


class PublishForm(ActionForm):
    """公开摘要: the text offered is the one published, else the resident's description with
    the automatic redaction applied — staff edit it (or approve it as it is)."""

    summary = forms.CharField(
        label=_("公开摘要"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("公开后经 Open311 向社会展示。请只写问题本身，删去姓名、门牌、电话、车牌、微信等能认出个人的内容；"
                    "留空并提交即撤下公开摘要。"),
    )
    photos = forms.MultipleChoiceField(label=_("可公开的照片"), required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        appeal = self.appeal
        self.fields["summary"].initial = appeal.public_summary or redact(appeal.description, names=(appeal.name,))
        photos = list(appeal.attachments.order_by("created_at", "id"))
        counts: dict[str, int] = {}
        choices = []
        for photo in photos:
            counts[photo.kind] = counts.get(photo.kind, 0) + 1
            choices.append((str(photo.pk), f"{photo.get_kind_display()} {counts[photo.kind]}"))
        self.fields["photos"].choices = choices
        self.fields["photos"].initial = [str(p.pk) for p in photos if p.public]
        if not choices:
            del self.fields["photos"]


# --- deadline work (appeals.escalation, appeals.extensions) -------------------------------------------


class EscalateForm(ActionForm):
    # Required by the service, which says so after the state and the role.
    reason = forms.CharField(label=_("上报理由"), required=False, max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 2}),
                             help_text=_("本级无法解决的原因；上报后由上一级接手或列入区督办。"))


class ExtensionRequestForm(ActionForm):
    requested_deadline = forms.DateTimeField(
        label=_("申请延至"), required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages={"invalid": _("请填写有效的日期和时间。")},
    )
    reason = forms.CharField(label=_("延期理由"), required=False, max_length=1000,
                             widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.appeal is not None and self.appeal.deadline:
            current = deadline_text(self.appeal)
            self.fields["requested_deadline"].help_text = _("现办结时限 %(d)s；由上一级审批。") % {"d": current}


class ExtensionDecisionForm(forms.Form):
    """Approve or reject one request; ``expected_version`` is the appeal's version."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    # Required to reject: the service says so after checking who decides.
    note = forms.CharField(label=_("审批意见（驳回时必填）"), required=False, max_length=1000,
                           widget=forms.Textarea(attrs={"rows": 2}))


# The form of each action the appeal page offers (appeals.workflow.OFFERED_ORDER).
ACTION_FORMS: dict[str, type[ActionForm]] = {
    AppealAction.DISPATCH: DispatchForm, AppealAction.DECLINE: DeclineForm, AppealAction.MERGE: MergeForm, AppealAction.SIGN: SignForm,
    AppealAction.CONTACT: ContactForm, AppealAction.RETURN: ReturnForm, AppealAction.REROUTE: RerouteForm, AppealAction.RESOLVE: ResolveForm,
    AppealAction.VERIFY_PASS: VerifyPassForm, AppealAction.VERIFY_FAIL: VerifyFailForm, AppealAction.FEEDBACK: FeedbackForm,
    AppealAction.NOTE: NoteForm, AppealAction.WHISTLE: WhistleForm, AppealAction.CHECKIN: CheckinForm,
    AppealAction.ESCALATE: EscalateForm, AppealAction.EXTEND_REQUEST: ExtensionRequestForm, AppealAction.PUBLISH: PublishForm,
}


# --- intake on a resident's behalf ----------------------------------------------------------------


def intake_places(jurisdiction: Jurisdiction) -> list[tuple[str, str]]:
    """Where an appeal without a building can be placed: the account's own units and
    those just below ("level:code")."""
    choices: list[tuple[str, str]] = []
    for post in jurisdiction.posts:
        if post.role == Role.GRID_WORKER:
            choices.append((f"grid:{post.grid.code}", f"{post.grid.community.name}{post.grid.name}"))
        elif post.role in COMMUNITY_ROLES:
            choices.append((f"community:{post.community.code}", post.community.name))
            choices += [(f"grid:{g.code}", f"{post.community.name}{g.name}")
                        for g in Grid.objects.filter(community=post.community).order_by("code")]
        elif post.role == Role.STREET_OFFICER:
            choices.append((f"street:{post.street.code}", post.street.name))
            choices += [(f"community:{c.code}", f"{post.street.name}{c.name}")
                        for c in Community.objects.filter(street=post.street).order_by("code")]
    return choices


class _PlaceMixin:
    """A building chosen from a search within the jurisdiction, or a unit plus the
    address in words."""

    jurisdiction: Jurisdiction

    def clean_building(self):
        code = (self.cleaned_data.get("building") or "").strip()
        if not code:
            return None
        building = scoped(Building, self.jurisdiction).select_related("grid__community__street").filter(code=code).first()
        if building is None:
            raise ValidationError(_("找不到该楼栋，或不在您的辖区内。"))
        return building

    def clean_place(self):
        value = self.cleaned_data.get("place") or ""
        if not value:
            return {}
        level, _sep, code = value.partition(":")
        if not self.jurisdiction.covers(code):
            raise ValidationError(_("所选地点不在您的辖区内。"))
        if level not in ("grid", "community", "street"):
            raise ValidationError(_("请选择网格、社区或街道。"))
        return {level: UNIT_MODELS[level].objects.get(code=code)}

    def clean(self):
        data = super().clean()
        if data.get("building") or "building" in self.errors:
            return data
        if "place" in self.fields and not data.get("place") and "place" not in self.errors:
            self.add_error("place", _("请选择楼栋，或选择所在网格/社区并用文字填写地址。"))
        pinned = data.get("latitude") is not None and data.get("longitude") is not None
        if not pinned and not (data.get("address_text") or "").strip():
            self.add_error("address_text", _("未选择楼栋时，请用文字填写具体地址。"))
        return data


class IntakeForm(_PlaceMixin, forms.Form):
    source = forms.ChoiceField(label=_("来源"), choices=[(Source.PHONE, _("电话")), (Source.WALK_IN, _("来访"))],
                               widget=forms.RadioSelect, initial=Source.PHONE)
    phone = forms.CharField(label=_("联系电话"), required=False, max_length=20,
                            help_text=_("手机或带区号的座机，如 010-12345678；留手机号的居民会收到查询码和办理结果短信。"))
    name = forms.CharField(label=_("姓名"), required=False, max_length=50)
    anonymous = forms.BooleanField(label=_("居民要求匿名"), required=False)
    building = forms.CharField(label=_("楼栋"), required=False, max_length=30)
    place = forms.ChoiceField(label=_("所在网格/社区（未选楼栋时）"), required=False)
    address_text = forms.CharField(label=_("地址描述"), required=False, max_length=200)
    category = _category_field()
    description = forms.CharField(label=_("诉求内容"), max_length=4000, widget=forms.Textarea(attrs={"rows": 4}),
                                  error_messages={"required": _("请填写诉求内容。")})
    photos = PhotosField(label=_("照片"))
    public_consent = forms.BooleanField(
        label=_("居民同意公开"), required=False,
        help_text=_("请询问居民：本诉求可否公开（仅限可公开的类别；公开时只显示工作人员审定的公开摘要和街道、小区，不含姓名电话）。"),
    )

    def __init__(self, *args, jurisdiction: Jurisdiction, **kwargs):
        self.jurisdiction = jurisdiction
        super().__init__(*args, **kwargs)
        self.fields["place"].choices = [("", _("— 请选择 —"))] + intake_places(jurisdiction)

    def clean_phone(self):
        try:
            return normalize_phone(self.cleaned_data.get("phone", ""), allow_landline=True)
        except ValidationError as exc:
            raise ValidationError(exc.messages[0]) from None


class PatrolForm(_PlaceMixin, forms.Form):
    category = _category_field()
    description = forms.CharField(label=_("发现的问题"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3}),
                                  error_messages={"required": _("请描述发现的问题。")})
    building = forms.CharField(label=_("楼栋"), required=False, max_length=30)
    address_text = forms.CharField(label=_("位置描述"), required=False, max_length=200,
                                   help_text=_("未选楼栋时必填，如“3号楼东侧绿地”。"))
    photos = PhotosField(label=_("现场照片"), camera=True)
    public_consent = forms.BooleanField(
        label=_("可以公开"), required=False,
        help_text=_("公共问题（如设施损坏）可公开；公开时只显示审定的公开摘要和街道、小区。涉及居民个人的不要勾选。"),
    )
    # The phone's position (WGS-84), filled by the page's "使用手机定位": it places the
    # appeal when no building is chosen (appeals.services: building > pin > words).
    latitude = forms.DecimalField(required=False, max_digits=12, decimal_places=9, min_value=-90, max_value=90,
                                  widget=forms.HiddenInput)
    longitude = forms.DecimalField(required=False, max_digits=12, decimal_places=9, min_value=-180, max_value=180,
                                   widget=forms.HiddenInput)

    def __init__(self, *args, jurisdiction: Jurisdiction, grids: list, **kwargs):
        self.jurisdiction = jurisdiction
        super().__init__(*args, **kwargs)
        if len(grids) > 1:
            self.fields["grid"] = forms.ChoiceField(
                label=_("网格"), choices=[(g.code, f"{g.community.name}{g.name}") for g in grids],
            )
        self.grids = {g.code: g for g in grids}

    def clean_grid(self):
        return self.grids[self.cleaned_data["grid"]]


# What the intake pages re-show from their query string: the no-JavaScript building search
# reloads the page with everything typed so far (governance.kernel.params.draft_query).
IntakeDraftQuery = draft_query(IntakeForm, bq=QueryText(max_length=50), search=forms.BooleanField(required=False))
PatrolDraftQuery = draft_query(PatrolForm, bq=QueryText(max_length=50), search=forms.BooleanField(required=False),
                               grid=QueryCode(lengths=(15,)))
