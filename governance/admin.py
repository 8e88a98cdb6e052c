import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from governance.enums import NotificationKind, OutboxStatus
from governance.kernel import outbox
from governance.kernel.choices import labels_text
from governance.kernel.errors import ApplicationError
from governance.kernel.phones import normalize_phone
from governance.kernel.privacy import mask_phone, mask_tracking_code
from governance.models import AccessLog, ExportJob, Notification, NotificationPreference, OutboxMessage, Post
from governance.staff import notifications


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ("user", "role", "unit_name", "title")
    list_filter = ("role",)
    search_fields = ("user__username", "user__first_name", "title")
    autocomplete_fields = ("user", "district", "street", "community", "grid", "department")
    list_select_related = ("user", "district", "street", "community", "grid", "department")


@admin.register(AccessLog)
class AccessLogAdmin(admin.ModelAdmin):
    """Read-only: the log of personal-data access is append-only."""

    list_display = ("created_at", "user", "action", "subject", "record_count", "ip_address")
    list_filter = ("action",)
    search_fields = ("user__username", "subject")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in AccessLog._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ExportJob)
class ExportJobAdmin(admin.ModelAdmin):
    """Read-only: what was exported by whom, how far it got; the link token is not shown
    (the file is served to the requester's scope only, through its page)."""

    list_display = ("created_at", "user", "kind", "fmt", "state", "done_rows", "total", "expires_at")
    list_filter = ("state", "kind", "fmt")
    search_fields = ("user__username", "title")
    date_hierarchy = "created_at"
    exclude = ("token",)
    readonly_fields = [f.name for f in ExportJob._meta.fields if f.name != "token"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "recipient", "kind", "title", "read_at")
    list_filter = ("kind",)
    search_fields = ("recipient__username", "title")
    date_hierarchy = "created_at"
    list_select_related = ("recipient",)
    readonly_fields = [f.name for f in Notification._meta.fields]

    def has_add_permission(self, request):
        return False


class NotificationPreferenceForm(forms.ModelForm):
    """The kinds as boxes with their labels (stored as the keys' list); the mobile checked as
    the preferences page checks it; SMS without a mobile refused by the service's rule."""

    email_kinds = forms.MultipleChoiceField(
        label=gettext_lazy("发邮件的消息类型"), choices=NotificationKind.choices, required=False,
        widget=forms.CheckboxSelectMultiple)
    sms_kinds = forms.MultipleChoiceField(
        label=gettext_lazy("发短信的消息类型"), choices=NotificationKind.choices, required=False,
        widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = NotificationPreference
        fields = ("mobile", "email_kinds", "sms_kinds")

    def clean_mobile(self):
        try:
            return normalize_phone(self.cleaned_data["mobile"], allow_landline=False)
        except ValidationError as exc:
            raise ValidationError(exc.messages[0]) from None

    def clean(self):
        data = super().clean()
        try:
            notifications.ensure_sms_has_mobile(sms_kinds=data.get("sms_kinds"), mobile=data.get("mobile", ""))
        except ApplicationError as exc:
            self.add_error("mobile", exc.message)
        return data


class KindChosenFilter(admin.SimpleListFilter):
    """The accounts that chose a copy of one kind (by email or SMS)."""

    title = gettext_lazy("选择的消息类型")
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return NotificationKind.choices

    def queryset(self, request, queryset):
        if self.value() in NotificationKind.values:
            return queryset.filter(Q(email_kinds__contains=[self.value()]) | Q(sms_kinds__contains=[self.value()]))
        return queryset


class SmsChosenFilter(admin.SimpleListFilter):
    title = gettext_lazy("短信提醒")
    parameter_name = "sms"

    def lookups(self, request, model_admin):
        return [("yes", _("有短信提醒")), ("no", _("无短信提醒"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(sms_kinds=[])
        if self.value() == "no":
            return queryset.filter(sms_kinds=[])
        return queryset


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    """消息提醒设置: the copies each account chose on /notifications/preferences/ (no row: the
    defaults). Set by the account there; corrected here. The mobile is masked in the list."""

    form = NotificationPreferenceForm
    list_display = ("user", "user_name", "masked_mobile", "email_labels", "sms_labels", "updated_at")
    list_filter = (SmsChosenFilter, KindChosenFilter)
    search_fields = ("user__username", "user__first_name", "user__last_name")
    list_select_related = ("user",)
    date_hierarchy = "updated_at"
    ordering = ("-updated_at",)
    readonly_fields = ("user", "updated_at")
    fields = ("user", "mobile", "email_kinds", "sms_kinds", "updated_at")

    @admin.display(description=gettext_lazy("姓名"), ordering="user__first_name")
    def user_name(self, obj: NotificationPreference) -> str:
        return obj.user.get_full_name()

    @admin.display(description=gettext_lazy("接收短信的手机号"))
    def masked_mobile(self, obj: NotificationPreference) -> str:
        return mask_phone(obj.mobile) if obj.mobile else "-"

    @admin.display(description=gettext_lazy("发邮件的消息类型"))
    def email_labels(self, obj: NotificationPreference) -> str:
        return labels_text(",".join(obj.email_kinds or ()), NotificationKind.choices) or "-"

    @admin.display(description=gettext_lazy("发短信的消息类型"))
    def sms_labels(self, obj: NotificationPreference) -> str:
        return labels_text(",".join(obj.sms_kinds or ()), NotificationKind.choices) or "-"

    def has_add_permission(self, request):
        return False  # each account sets its own (the defaults until then)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        notifications.preference_save(user=obj.user, email_kinds=data["email_kinds"], sms_kinds=data["sms_kinds"],
                                      mobile=data["mobile"])


class DeliveryFilter(admin.SimpleListFilter):
    """Undelivered messages (waiting, sending, failed) by default: what an operator acts on."""

    title = gettext_lazy("投递情况")
    parameter_name = "delivery"

    def lookups(self, request, model_admin):
        return [
            ("undelivered", _("未送达（待发送、发送中、失败）")), ("failed", _("发送失败")),
            ("delivered", _("已送达")), ("all", _("全部")),
        ]

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": (self.value() or "undelivered") == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value() or "undelivered"
        if value == "undelivered":
            return queryset.exclude(status=OutboxStatus.DELIVERED)
        if value == "failed":
            return queryset.filter(status=OutboxStatus.FAILED)
        if value == "delivered":
            return queryset.filter(status=OutboxStatus.DELIVERED)
        return queryset


def _masked_params(params: dict, template: str = "") -> dict:
    """The parameters as the admin shows them: a tracking code masked, also inside links;
    a one-time code (appeals.tasks.SMS_PHONE_CODE, 我的诉求) entirely."""
    code = params.get("code") if isinstance(params, dict) else None
    if not code:
        return params
    if template == "phone_code":
        return {**params, "code": "*" * len(str(code))}
    hidden = mask_tracking_code(code)
    return {k: v.replace(code, hidden) if isinstance(v, str) else v for k, v in params.items()}


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    """The outbox: what waits, what failed, and sending it again. Phones and tracking codes
    are masked (the full number is in the appeal, behind its access log)."""

    list_display = ("created_at", "channel", "status", "masked_recipient", "template_label", "subject", "attempts",
                    "next_attempt_at", "last_error")
    list_filter = (DeliveryFilter, "channel", "status")
    search_fields = ("subject", "key")
    date_hierarchy = "created_at"
    ordering = ("-id",)
    actions = ["resend"]
    fields = ("channel", "status", "key", "masked_recipient", "template_label", "masked_params", "subject", "attempts",
              "next_attempt_at", "claimed_at", "delivered_at", "last_error", "created_at")
    readonly_fields = fields

    @admin.display(description=gettext_lazy("接收方"))
    def masked_recipient(self, obj: OutboxMessage) -> str:
        if "@" in obj.recipient:
            name, _at, domain = obj.recipient.partition("@")
            return f"{name[:1]}***@{domain}"
        return mask_phone(obj.recipient)

    @admin.display(description=gettext_lazy("模板"), ordering="template")
    def template_label(self, obj: OutboxMessage) -> str:
        """A notification kind by its label (派单待办), an SMS template by its code."""
        return str(dict(NotificationKind.choices).get(obj.template, obj.template))

    @admin.display(description=gettext_lazy("参数"))
    def masked_params(self, obj: OutboxMessage) -> str:
        return json.dumps(_masked_params(obj.params, obj.template), ensure_ascii=False, indent=1)

    @admin.action(description=gettext_lazy("重新发送所选消息"))
    def resend(self, request, queryset):
        count = outbox.resend(ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, _("已重新排队 %(n)s 条消息（已送达的不再发送）。") % {"n": count}, messages.SUCCESS)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
