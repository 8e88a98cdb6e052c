"""The staff inbox pages (governance.staff.notifications): the list grouped by appeal or
kind (one group unfolded on its own page), mark one, a group or all read, and the
account's choice of email and SMS copies."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from governance.enums import NotificationKind
from governance.kernel.errors import ApplicationError, NotFound
from governance.kernel.params import QueryForm, QueryText, page_field
from governance.kernel.phones import normalize_phone
from governance.staff.notifications import (
    DEFAULT_EMAIL_KINDS,
    DEFAULT_SMS_KINDS,
    GROUP_MAX,
    inbox_group_items,
    inbox_groups,
    inbox_lines,
    inbox_unread_by_kind,
    notification_list,
    notification_mark_all_read,
    notification_mark_group_read,
    notification_mark_read,
    preference_for,
    preference_save,
)

PER_PAGE = 30


class InboxQuery(QueryForm):
    page = page_field()
    kind = forms.ChoiceField(required=False, choices=[("", "")] + NotificationKind.choices)
    group = QueryText(max_length=GROUP_MAX)
    before = forms.IntegerField(required=False, min_value=1)  # the groups older than this message


def _safe_link(request, link: str) -> bool:
    return bool(link) and url_has_allowed_host_and_scheme(link, allowed_hosts={request.get_host()})


@login_required
@require_GET
def notifications(request):
    """The inbox: one line per group (an appeal's messages, or a kind's digests) with its
    count, newest first, PER_PAGE a page (keyset: ``before`` the oldest line shown);
    ``group`` shows one group's messages; ``kind`` filters."""
    params = InboxQuery.parse(request.GET)
    kind, group = params["kind"] or None, params["group"] or None
    unread_by_kind = inbox_unread_by_kind(user=request.user)
    # The header's count is the same sum: no second query (governance.context_processors).
    request._unread_notifications = sum(unread_by_kind.values())
    kinds = [{"value": value, "label": label, "unread": unread_by_kind.get(value, 0)}
             for value, label in NotificationKind.choices if value in unread_by_kind or value == kind]
    context = {"kind": kind, "group": group, "kinds": kinds}
    if group:
        context["page"] = Paginator(notification_list(user=request.user, group=group, kind=kind),
                                    PER_PAGE).get_page(params["page"])
        context["extra_qs"] = urlencode({k: v for k, v in (("group", group), ("kind", kind)) if v}) + "&"
    else:
        rows = inbox_groups(user=request.user, kind=kind)
        if params["before"]:
            rows = rows.filter(latest_id__lt=params["before"])
        rows = list(rows[:PER_PAGE + 1])
        groups = inbox_group_items(user=request.user, rows=rows[:PER_PAGE], kind=kind)
        context["groups"] = groups
        # Filtered by kind, every line is that kind: no runs to collapse.
        context["lines"] = groups if kind else inbox_lines(groups)
        if len(rows) > PER_PAGE and groups:
            query = {"before": rows[PER_PAGE - 1]["latest_id"], **({"kind": kind} if kind else {})}
            context["older"] = f"?{urlencode(query)}"
        context["first_page"] = not params["before"]
    return render(request, "governance/notifications.html", context)


@login_required
@require_POST
def notification_read(request, pk: int):
    """Mark one message read (someone else's: 404); ``open`` follows its link."""
    notification = notification_mark_read(user=request.user, notification_id=pk)
    link = notification.link
    if request.POST.get("open") and _safe_link(request, link):
        return redirect(link)
    return redirect("notifications")


@login_required
@require_POST
def notification_group_read(request):
    """Mark the messages of a line read — a group, or a run of them (none of the
    account's: 404); ``open`` follows the newest one's link."""
    groups = [g.strip() for g in request.POST.getlist("group") if g.strip()]
    if not groups or len(groups) > PER_PAGE or any(len(g) > GROUP_MAX for g in groups):
        raise ApplicationError(_("请指定要标为已读的消息分组。"))
    latest = notification_mark_group_read(user=request.user, group=groups)
    if latest is None:
        raise NotFound()
    if request.POST.get("open") and _safe_link(request, latest.link):
        return redirect(latest.link)
    return redirect("notifications")


@login_required
@require_POST
def notifications_read_all(request):
    n = notification_mark_all_read(user=request.user)
    messages.success(request, _("已将 %(n)s 条消息标为已读。") % {"n": n})
    return redirect("notifications")


# --- preferences ------------------------------------------------------------------------


class PreferenceForm(forms.Form):
    """The copies an account wants, by kind: ``email_<kind>`` and ``sms_<kind>`` boxes."""

    email = forms.EmailField(label=gettext_lazy("邮箱"), required=False, max_length=254,
                             help_text=gettext_lazy("邮件提醒发往此地址；留空则不发邮件。"))
    mobile = forms.CharField(label=gettext_lazy("手机号"), required=False, max_length=20,
                             help_text=gettext_lazy("短信提醒发往此号码（11位手机号）；留空则不发短信。"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for value, label in NotificationKind.choices:
            for channel, name in (("email", _("邮件")), ("sms", _("短信"))):
                self.fields[f"{channel}_{value}"] = forms.BooleanField(
                    label=label, required=False, widget=forms.CheckboxInput(attrs={"aria-label": f"{label} · {name}"}))

    def clean_mobile(self):
        try:
            return normalize_phone(self.cleaned_data["mobile"], allow_landline=False)
        except ValidationError as exc:
            raise ValidationError(exc.messages[0]) from None

    def kinds(self, channel: str) -> list[str]:
        return [value for value in NotificationKind.values if self.cleaned_data.get(f"{channel}_{value}")]

    def rows(self) -> list[dict]:
        return [{"label": label, "email": self[f"email_{value}"], "sms": self[f"sms_{value}"]}
                for value, label in NotificationKind.choices]


def _initial(user) -> dict:
    preference = preference_for(user=user)
    initial = {"email": user.email, "mobile": preference.mobile}
    for value in NotificationKind.values:
        initial[f"email_{value}"] = value in preference.email_kinds
        initial[f"sms_{value}"] = value in preference.sms_kinds
    return initial


@login_required
@require_http_methods(["GET", "POST"])
def notification_preferences(request):
    """消息提醒设置: which kinds also go by email and by SMS (the inbox has them all)."""
    if request.method == "POST":
        form = PreferenceForm(request.POST)
        if form.is_valid():
            try:
                preference_save(user=request.user, email_kinds=form.kinds("email"), sms_kinds=form.kinds("sms"),
                                mobile=form.cleaned_data["mobile"], email=form.cleaned_data["email"])
            except ApplicationError as exc:
                form.add_error("mobile", exc.message)
            else:
                messages.success(request, _("消息提醒设置已保存。"))
                return redirect(reverse("notification-preferences"))
        return render(request, "governance/notification_preferences.html", {"form": form}, status=400)
    form = PreferenceForm(initial=_initial(request.user))
    defaults = {
        "email": [label for value, label in NotificationKind.choices if value in DEFAULT_EMAIL_KINDS],
        "sms": [label for value, label in NotificationKind.choices if value in DEFAULT_SMS_KINDS],
    }
    return render(request, "governance/notification_preferences.html", {"form": form, "defaults": defaults})
