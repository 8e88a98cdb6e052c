"""Volunteer pages: for volunteers (activities, sign-up, hours and points, the points
shop, the order hall of service appeals and their claimed appeals), for organisers (their activities, the sign-up list, attendance, the QR screen)
and for community workers (the overview). Thin: selectors scope, services act.
"""

from contextlib import contextmanager

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from appeals.enums import AppealAction
from appeals.forms import ContactForm, NoteForm, ResolveForm
from appeals.selectors import ResidentContact, resident_contact, resident_phone_reveal
from appeals.services import appeal_act
from governance.kernel.errors import ActionForbidden, ApplicationError
from volunteers import selectors, services
from volunteers.enums import ActivityStatus, SignupStatus
from volunteers.forms import (
    ActivityForm,
    ActivityListQuery,
    AttendanceCorrectionForm,
    AttendanceForm,
    CheckinCodeForm,
    OverviewQuery,
    PageQuery,
    QrQuery,
)
from volunteers.models import Signup


def _page(request, qs, params: dict | None = None):
    """A page of ``qs``; ``params``: the view's query, parsed already (else only ?page=)."""
    params = params if params is not None else PageQuery.parse(request.GET)
    return Paginator(qs, settings.PAGE_SIZE).get_page(params["page"])


def _flash_error(request, exc: ApplicationError) -> None:
    messages.error(request, exc.message)


@contextmanager
def _refusal_flashed(request):
    """A service's refusal becomes a message on the page the view goes to; "not found"
    stays a 404."""
    try:
        yield
    except ApplicationError as exc:
        if exc.status_code == 404:
            raise
        _flash_error(request, exc)


# --- Volunteers -----------------------------------------------------------------------

@login_required
def home(request):
    """My activities, hours and points; staff without a volunteer row go to 活动管理."""
    volunteer = selectors.volunteer_for_user(request.user)
    if volunteer is None:
        if selectors.is_staff_viewer(request.user):
            return redirect("volunteers:manage")
        return render(request, "volunteers/not_registered.html")
    year = timezone.localdate().year
    signups = list(selectors.my_signups(volunteer=volunteer)[:50])
    now = timezone.now()
    return render(request, "volunteers/home.html", {
        "volunteer": volunteer,
        "upcoming": [s for s in signups if s.activity.ends_at > now and s.status != SignupStatus.ATTENDED],
        "past": [s for s in signups if not (s.activity.ends_at > now and s.status != SignupStatus.ATTENDED)],
        "hours_year": selectors.hours_total(volunteer=volunteer, year=year),
        "hours_all": selectors.hours_total(volunteer=volunteer),
        "points_hours_all": selectors.points_hours_total(volunteer=volunteer),
        "registration": selectors.registration_for(volunteer=volunteer, year=year),
        "year": year,
        "recent_points": selectors.points_history(volunteer=volunteer)[:5],
        "is_staff_viewer": selectors.is_staff_viewer(request.user),
    })


@login_required
def activity_list(request):
    volunteer = selectors.volunteer_require(request.user)
    activities = _page(request, selectors.activity_open_list(volunteer=volunteer))
    signed = set(
        Signup.objects.filter(volunteer=volunteer, activity__in=[a.pk for a in activities])
        .exclude(status=SignupStatus.CANCELLED).values_list("activity_id", flat=True)
    )
    return render(request, "volunteers/activity_list.html", {
        "volunteer": volunteer, "activities": activities, "signed": signed,
    })


@login_required
def activity_detail(request, pk: int):
    activity = selectors.activity_get(request.user, pk)
    volunteer = selectors.volunteer_for_user(request.user)
    if volunteer is not None and volunteer.community_id != activity.community_id:
        volunteer = None  # sees it as staff or organiser, not as a participant
    signup = selectors.signup_for(activity=activity, volunteer=volunteer)
    now = timezone.now()
    active_signup = signup is not None and signup.status != SignupStatus.CANCELLED
    return render(request, "volunteers/activity_detail.html", {
        "activity": activity,
        "volunteer": volunteer,
        "signup": signup if active_signup else None,
        "can_sign_up": volunteer is not None and not active_signup and activity.status == ActivityStatus.OPEN
        and activity.starts_at > now and activity.places_left > 0,
        "can_cancel": active_signup and signup.status == SignupStatus.SIGNED_UP and activity.starts_at > now,
        "can_self_check": active_signup and signup.status in (SignupStatus.SIGNED_UP, SignupStatus.CHECKED_IN)
        and activity.status == ActivityStatus.OPEN,
        "can_manage": selectors.can_manage_activity(request.user, activity),
        "code_form": CheckinCodeForm(initial={
            "direction": "out" if active_signup and signup.status == SignupStatus.CHECKED_IN else "in"}),
    })


def _signup_change(request, pk: int, change, said):
    activity = selectors.activity_get(request.user, pk)
    volunteer = selectors.volunteer_require(request.user)
    with _refusal_flashed(request):
        change(activity=activity, volunteer=volunteer)
        messages.success(request, said(activity))
    return redirect("volunteers:activity-detail", pk)


@login_required
@require_POST
def activity_signup(request, pk: int):
    return _signup_change(request, pk, services.signup_create,
                          lambda activity: _("报名成功：%(title)s") % {"title": activity.title})


@login_required
@require_POST
def activity_signup_cancel(request, pk: int):
    return _signup_change(request, pk, services.signup_cancel, lambda activity: _("已取消报名。"))


@login_required
@require_POST
def activity_self_check(request, pk: int):
    """Check in or out with the code shown by the organiser."""
    activity = selectors.activity_get(request.user, pk)
    volunteer = selectors.volunteer_require(request.user)
    form = CheckinCodeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请输入 6 位签到码。"))
        return redirect("volunteers:activity-detail", pk)
    with _refusal_flashed(request):
        signup = services.signup_self_check(
            activity=activity, volunteer=volunteer, direction=form.cleaned_data["direction"],
            code=form.cleaned_data["code"],
        )
        messages.success(request, _attendance_message(signup))
    return redirect("volunteers:activity-detail", pk)


def _attendance_message(signup: Signup) -> str:
    if signup.status == SignupStatus.ATTENDED:
        return _("%(name)s 签退成功，认定时长 %(m)s 分钟。") % {"name": signup.volunteer.name, "m": signup.minutes_credited}
    return _("%(name)s 签到成功。") % {"name": signup.volunteer.name}


@login_required
def qr_checkin(request, token: str):
    """Where the QR code on the organiser's screen leads: confirm, then check in or out."""
    activity_id, direction = services.checkin_token_read(token=token)
    activity = selectors.activity_get(request.user, activity_id)
    volunteer = selectors.volunteer_require(request.user)
    if request.method == "POST":
        # The token was read again above: it may have expired while the page was open.
        with _refusal_flashed(request):
            signup = services.signup_self_check(activity=activity, volunteer=volunteer, direction=direction)
            messages.success(request, _attendance_message(signup))
        return redirect("volunteers:activity-detail", activity.pk)
    return render(request, "volunteers/qr_confirm.html", {
        "activity": activity, "direction": direction, "volunteer": volunteer,
    })


@login_required
def points(request):
    volunteer = selectors.volunteer_require(request.user)
    return render(request, "volunteers/points.html", {
        "volunteer": volunteer,
        "hours_all": selectors.hours_total(volunteer=volunteer),
        "points_hours_all": selectors.points_hours_total(volunteer=volunteer),
        "max_hours": settings.VOLUNTEER_MAX_HOURS_PER_ACTIVITY,
        "points_per_hour": settings.VOLUNTEER_POINTS_PER_HOUR,
        "entries": _page(request, selectors.points_history(volunteer=volunteer)),
        "redemptions": selectors.redemption_list(volunteer=volunteer)[:20],
    })


@login_required
def rewards(request):
    volunteer = selectors.volunteer_require(request.user)
    return render(request, "volunteers/rewards.html", {
        "volunteer": volunteer,
        "rewards": _page(request, selectors.reward_list(volunteer=volunteer)),
        "threshold": settings.VOLUNTEER_REDEMPTION_THRESHOLD,
    })


@login_required
@require_POST
def reward_redeem(request, pk: int):
    volunteer = selectors.volunteer_require(request.user)
    reward = selectors.reward_get(volunteer=volunteer, pk=pk)
    with _refusal_flashed(request):
        services.reward_redeem(volunteer=volunteer, reward=reward, actor=request.user)
        messages.success(request, _("兑换成功：%(name)s，请到社区领取。") % {"name": reward.name})
    return redirect("volunteers:rewards")


# --- Organisers ------------------------------------------------------------------------

@login_required
def manage(request):
    params = ActivityListQuery.parse(request.GET)
    query, status = params["q"], params["status"]
    return render(request, "volunteers/manage_list.html", {
        "activities": _page(request, selectors.activity_manage_list(request.user, query=query, status=status), params),
        "query": query,
        "status": status,
        "statuses": ActivityStatus.choices,
        "can_create": selectors.organisable_communities(request.user).exists(),
        "extra_qs": f"status={status}&" if status else "",
    })


@login_required
def activity_create(request):
    communities = selectors.organisable_communities(request.user)
    if not communities.exists():
        raise ActionForbidden(_("只有社区、网格、街道工作人员可以发起志愿活动：您没有可发起活动的社区。"))
    form = ActivityForm(request.POST or None, communities=communities)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        selectors.ensure_can_organise(request.user, data["community"])
        try:
            activity = services.activity_create(organiser=request.user, **data)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("活动已发布。"))
            return redirect("volunteers:manage-detail", activity.pk)
    return render(request, "volunteers/form.html", {
        "form": form, "title": _("发起志愿活动"), "back": reverse("volunteers:manage"),
    })


def _managed(request, pk: int):
    activity = selectors.activity_get(request.user, pk)
    selectors.ensure_can_manage_activity(request.user, activity)
    return activity


@login_required
def manage_detail(request, pk: int):
    activity = _managed(request, pk)
    signups = list(selectors.signup_list(activity=activity))
    return render(request, "volunteers/manage_detail.html", {
        "activity": activity,
        "signups": signups,
        "checked_in": sum(s.status == SignupStatus.CHECKED_IN for s in signups),
        "attended": sum(s.status == SignupStatus.ATTENDED for s in signups),
        "attendance_form": AttendanceForm(),
        "grace_minutes": settings.VOLUNTEER_CHECKOUT_GRACE_MINUTES,
        "now": timezone.now(),
    })


@login_required
@require_POST
def manage_attendance(request, pk: int, signup_pk: int, direction: str):
    activity = _managed(request, pk)
    signup = selectors.signup_get(activity=activity, pk=signup_pk)
    form = AttendanceForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("时间格式不正确。"))
        return redirect("volunteers:manage-detail", pk)
    at = form.cleaned_data["at"]
    with _refusal_flashed(request):
        signup = services.signup_attendance(activity=activity, volunteer=signup.volunteer, direction=direction, at=at,
                                            actor=request.user)
        messages.success(request, _attendance_message(signup))
    return redirect("volunteers:manage-detail", pk)


@login_required
@require_POST
def manage_correct(request, pk: int, signup_pk: int):
    """Correct a checked-out volunteer's times; the points follow as a new ledger line."""
    activity = _managed(request, pk)
    signup = selectors.signup_get(activity=activity, pk=signup_pk)
    form = AttendanceCorrectionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写签到、签退时间和更正原因。"))
        return redirect("volunteers:manage-detail", pk)
    with _refusal_flashed(request):
        signup = services.signup_correct_attendance(
            activity=activity, volunteer=signup.volunteer, actor=request.user, **form.cleaned_data,
        )
        messages.success(request, _("已更正 %(name)s 的签到签退，认定时长 %(m)s 分钟；积分按规则补记或冲正。") % {
            "name": signup.volunteer.name, "m": signup.minutes_credited})
    return redirect("volunteers:manage-detail", pk)


@login_required
@require_POST
def manage_status(request, pk: int, action: str):
    activity = _managed(request, pk)
    with _refusal_flashed(request):
        if action == "finish":
            services.activity_finish(activity=activity, actor=request.user)
            messages.success(request, _("活动已结束，仍在场的志愿者已自动签退。"))
        else:
            services.activity_cancel(activity=activity)
            messages.success(request, _("活动已取消。"))
    return redirect("volunteers:manage-detail", pk)


def _qr_context(request, activity, direction: str) -> dict:
    import segno

    token = services.checkin_token_make(activity=activity, direction=direction)
    url = request.build_absolute_uri(reverse("volunteers:qr-checkin", args=[token]))
    svg = segno.make(url, error="m").svg_inline(scale=6, border=2, dark="#1f2328")
    return {"activity": activity, "direction": direction, "svg": svg, "url": url,
            "refresh_seconds": max(30, settings.VOLUNTEER_CHECKIN_TOKEN_SECONDS // 2)}


def _direction(request) -> str:
    return services.CHECK_OUT if QrQuery.parse(request.GET)["d"] == services.CHECK_OUT else services.CHECK_IN


@login_required
def manage_qr(request, pk: int):
    """The screen the organiser shows: a QR code that expires and refreshes itself, and the code."""
    activity = _managed(request, pk)
    return render(request, "volunteers/qr_screen.html", _qr_context(request, activity, _direction(request)))


@login_required
@require_GET
def manage_qr_svg(request, pk: int):
    activity = _managed(request, pk)
    return render(request, "volunteers/_qr.html", _qr_context(request, activity, _direction(request)))


# --- Community workers: overview ---------------------------------------------------------

def _overview_context(request) -> dict:
    selectors.ensure_staff_viewer(request.user)
    params = OverviewQuery.parse(request.GET)
    community_code, year, query = params["community"], params["year"], params["q"]
    community = selectors.community_get(request.user, community_code) if community_code else None
    extra = f"year={year}&" + (f"community={community_code}&" if community_code else "")
    return {
        "params": params, "year": year, "query": query, "community": community, "community_code": community_code,
        "extra_qs": extra,
        "summary": selectors.participation_summary(request.user, year=year, community_code=community_code),
    }


def _overview(request, tab: str):
    context = _overview_context(request)
    page = _page(request, selectors.overview_list(
        request.user, tab, year=context["year"], query=context["query"], community_code=context["community_code"],
    ), context["params"])
    context.update({"tab": tab, tab: page})
    if tab == "organizations":
        context["organization_rows"] = selectors.organization_participation(page, year=context["year"])
    return render(request, "volunteers/overview.html", context)


@login_required
def overview(request):
    return _overview(request, "volunteers")


@login_required
def overview_members(request):
    return _overview(request, "members")


@login_required
def overview_organizations(request):
    return _overview(request, "organizations")


# --- Service appeals: the order hall (接单大厅) and my service appeals ----------------------

def _expected_version(request) -> int | None:
    try:
        return int(request.POST.get("expected_version", ""))
    except ValueError:
        return None


@login_required
def hall(request):
    volunteer = selectors.volunteer_require(request.user)
    return render(request, "volunteers/hall.html", {
        "volunteer": volunteer, "appeals": _page(request, selectors.order_hall(volunteer=volunteer)),
    })


@login_required
def hall_detail(request, code: str):
    """An appeal's card in the hall: what is needed, where — no resident's phone before the claim."""
    volunteer = selectors.volunteer_require(request.user)
    appeal = selectors.hall_appeal_get(volunteer=volunteer, tracking_code=code)
    if appeal.claimed_by_id == volunteer.pk:
        return redirect("volunteers:my-appeal", appeal.tracking_code)
    return render(request, "volunteers/hall_detail.html", {"volunteer": volunteer, "appeal": appeal})


@login_required
@require_POST
def hall_claim(request, code: str):
    volunteer = selectors.volunteer_require(request.user)
    appeal = selectors.hall_appeal_for_claim(volunteer=volunteer, tracking_code=code)
    try:
        services.service_appeal_claim(user=request.user, appeal=appeal, expected_version=_expected_version(request))
    except ApplicationError as exc:
        if exc.status_code == 404:
            raise
        _flash_error(request, exc)
        return redirect("volunteers:hall")
    messages.success(request, _("接单成功，请尽快联系居民。"))
    return redirect("volunteers:my-appeal", appeal.tracking_code)


@login_required
def my_appeals(request):
    volunteer = selectors.volunteer_require(request.user)
    return render(request, "volunteers/my_appeals.html", {
        "volunteer": volunteer, "appeals": _page(request, selectors.my_service_appeals(volunteer=volunteer)),
    })


_SERVICE_FORMS = {AppealAction.CONTACT: ContactForm, AppealAction.NOTE: NoteForm, AppealAction.RESOLVE: ResolveForm}


@login_required
def my_appeal(request, code: str):
    """A claimed appeal: the resident's phone while it is open (logged as a view of personal
    data), the steps, and the forms to record contact, progress and the result."""
    volunteer = selectors.volunteer_require(request.user)
    appeal = selectors.my_service_appeal_get(volunteer=volunteer, tracking_code=code)
    contact = resident_contact(user=request.user, appeal=appeal, request=request)
    return _my_appeal_page(request, volunteer, appeal, contact)


def _my_appeal_page(request, volunteer, appeal, contact):
    initial = {"expected_version": appeal.version}
    return render(request, "volunteers/my_appeal_detail.html", {
        "volunteer": volunteer, "appeal": appeal, "contact": contact,
        "steps": selectors.service_appeal_steps(appeal, user=request.user),
        "can_contact": appeal.state == "in_progress",
        "contact_form": ContactForm(initial=initial, prefix="contact"),
        "note_form": NoteForm(initial=initial, prefix="note"),
        "resolve_form": ResolveForm(initial=initial, prefix="resolve"),
    })


@login_required
@require_POST
def my_appeal_phone(request, code: str):
    """匿名's "拨打/显示号码" for the volunteer who claimed the appeal: the full phone, one
    access-log entry (appeals.selectors.resident_phone_reveal); the page shows it (never
    a flash message: those may travel in a cookie)."""
    volunteer = selectors.volunteer_require(request.user)
    appeal = selectors.my_service_appeal_get(volunteer=volunteer, tracking_code=code)
    phone = resident_phone_reveal(user=request.user, appeal=appeal, request=request)
    contact = ResidentContact(phone=phone, name=appeal.display_name, full=True)
    return _my_appeal_page(request, volunteer, appeal, contact)


@login_required
@require_POST
def my_appeal_act(request, code: str, action: str):
    volunteer = selectors.volunteer_require(request.user)
    appeal = selectors.my_service_appeal_get(volunteer=volunteer, tracking_code=code)
    form = _SERVICE_FORMS[action](request.POST, request.FILES, appeal=appeal, prefix=action)
    if not form.is_valid():
        messages.error(request, next(iter(form.errors.values()))[0])
        return redirect("volunteers:my-appeal", appeal.tracking_code)
    with _refusal_flashed(request):
        appeal_act(actor=request.user, appeal=appeal, action=action,
                   expected_version=form.cleaned_data["expected_version"], **form.service_data())
        messages.success(request, {
            AppealAction.CONTACT: _("已记录联系情况。"), AppealAction.NOTE: _("已记录办理进展。"),
            AppealAction.RESOLVE: _("已办结，等待居民评价。"),
        }[action])
    return redirect("volunteers:my-appeal", appeal.tracking_code)
