"""Writes of the volunteers app: registry, activities and attendance, points.

Every number others could race on changes by a conditional UPDATE inside one
transaction, with a CHECK constraint behind it: an activity's ``signed_up_count``
(never above ``capacity_max``), a volunteer's ``points_balance`` and a reward's
``stock`` (never below zero). On PostgreSQL the UPDATE locks the row until commit; on
SQLite the IMMEDIATE transaction mode serialises writers. The ledger row is written
in the same transaction as the balance it explains.
"""

import datetime as dt
import hmac
from decimal import Decimal

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import F, Sum, Value
from django.db.models.functions import Coalesce, Least
from django.utils import timezone
from django.utils.translation import gettext as _

from appeals import ratelimit
from appeals.enums import Rating
from appeals.services import appeal_claim
from governance.kernel.errors import ActionForbidden, ApplicationError, Conflict, NotFound
from grids.models import Community, Resident
from volunteers.enums import (
    RATING_ORDER,
    ActivityStatus,
    PointsKind,
    PointsSource,
    SignupStatus,
    Skill,
    VolunteerStatus,
    YearlyRating,
)
from volunteers.models import (
    Activity,
    PairedOrganization,
    PartyMemberRegistration,
    PointsEntry,
    Redemption,
    Reward,
    Signup,
    Volunteer,
)

CHECK_IN = "in"
CHECK_OUT = "out"
_TOKEN_SALT = "volunteers.checkin"
_CODE_SCOPE = "checkin-code-fail"


# --- Registry -------------------------------------------------------------------------

def _clean_skills(skills) -> str:
    unknown = [s for s in skills if s not in Skill.values]
    if unknown:
        raise ApplicationError(_("未知的技能：%(skills)s") % {"skills": "、".join(unknown)})
    return ",".join(dict.fromkeys(skills))


def volunteer_register(
    *, community: Community, name: str = "", user=None, resident: Resident | None = None,
    phone: str = "", skills: list[str] | tuple[str, ...] = (), joined_on: dt.date | None = None,
) -> Volunteer:
    """Register a volunteer.

    Steps: 1. require an account or a resident (or both); 2. a resident must live in
    the community; 3. the name and phone default to the resident's; 4. save.
    """
    if user is None and resident is None:
        raise ApplicationError(_("志愿者须关联居民或账号。"))
    if resident is not None:
        building_code = resident.household.building.code
        if not building_code.startswith(community.code):
            raise ApplicationError(_("该居民不住在%(community)s。") % {"community": community.name})
        name = name or resident.name
        phone = phone or resident.phone
    if user is not None:
        name = name or user.get_full_name() or user.username
        if Volunteer.objects.filter(user=user).exists():
            raise Conflict(_("该账号已登记为志愿者。"))
    if resident is not None and Volunteer.objects.filter(resident=resident).exists():
        raise Conflict(_("该居民已登记为志愿者。"))
    return Volunteer.objects.create(
        community=community, name=name, user=user, resident=resident, phone=phone,
        skills=_clean_skills(skills), joined_on=joined_on or timezone.localdate(),
    )


def paired_organization_register(
    *, community: Community, name: str, work_unit: str = "", contact_name: str = "", phone: str = "",
    reported_at: dt.date | None = None,
) -> PairedOrganization:
    """An in-service party organisation reports to its paired community (单位党组织报到)."""
    if PairedOrganization.objects.filter(community=community, name=name).exists():
        raise Conflict(_("“%(name)s”已向本社区报到。") % {"name": name})
    return PairedOrganization.objects.create(
        community=community, name=name, work_unit=work_unit, contact_name=contact_name, phone=phone,
        reported_at=reported_at or timezone.localdate(),
    )


def party_member_register(
    *, volunteer: Volunteer, work_unit: str, year: int, organization: PairedOrganization | None = None,
    reported_at: dt.date | None = None, hours_target: int | None = None,
) -> PartyMemberRegistration:
    """An in-service party member registers with the community where they live (在职党员报到).

    Steps: 1. the community is the volunteer's; 2. one registration per member and
    year; 3. the target defaults to VOLUNTEER_YEARLY_HOURS_TARGET.
    """
    if PartyMemberRegistration.objects.filter(volunteer=volunteer, year=year).exists():
        raise Conflict(_("%(name)s %(year)s 年已登记报到。") % {"name": volunteer.name, "year": year})
    return PartyMemberRegistration.objects.create(
        volunteer=volunteer, community_id=volunteer.community_id, year=year, work_unit=work_unit,
        organization=organization, reported_at=reported_at,
        hours_target=hours_target or settings.VOLUNTEER_YEARLY_HOURS_TARGET,
    )


def party_member_report(*, registration: PartyMemberRegistration, on: dt.date | None = None) -> PartyMemberRegistration:
    """Record the member's 报到 for the year (only the first one counts)."""
    on = on or timezone.localdate()
    PartyMemberRegistration.objects.filter(pk=registration.pk, reported_at__isnull=True).update(reported_at=on)
    registration.refresh_from_db(fields=["reported_at"])
    return registration


# --- Activities -----------------------------------------------------------------------

def activity_create(
    *, organiser, community: Community, title: str, place: str, starts_at: dt.datetime, ends_at: dt.datetime,
    capacity_max: int, capacity_min: int = 1, description: str = "",
) -> Activity:
    """Create an open activity. The caller has checked that ``organiser`` may organise here."""
    if ends_at <= starts_at:
        raise ApplicationError(_("结束时间须晚于开始时间。"))
    if starts_at <= timezone.now():
        raise ApplicationError(_("开始时间须晚于现在。"))
    if capacity_max < 1 or capacity_min < 1:
        raise ApplicationError(_("人数须至少为 1。"))
    if capacity_min > capacity_max:
        raise ApplicationError(_("最少人数不能多于最多人数。"))
    return Activity.objects.create(
        community=community, organiser=organiser, title=title, place=place, description=description,
        starts_at=starts_at, ends_at=ends_at, capacity_min=capacity_min, capacity_max=capacity_max,
    )


def _activity_status_change(activity: Activity, *, to: str) -> Activity:
    changed = Activity.objects.filter(pk=activity.pk, status=ActivityStatus.OPEN).update(status=to)
    if not changed:
        raise Conflict(_("活动状态已变化（%(status)s），请刷新后再试。") % {"status": activity.get_status_display()})
    activity.status = to
    return activity


@transaction.atomic
def activity_cancel(*, activity: Activity) -> Activity:
    """Cancel an open activity that has not started; the sign-ups stay as a record."""
    if activity.starts_at <= timezone.now():
        raise Conflict(_("活动已开始，不能取消。"))
    return _activity_status_change(activity, to=ActivityStatus.CANCELLED)


@transaction.atomic
def activity_finish(*, activity: Activity, actor=None) -> Activity:
    """Close an activity after its start.

    Steps: 1. open → finished (conditionally); 2. everyone still checked in is checked
    out at the earlier of now and the scheduled end, with hours and points.
    """
    now = timezone.now()
    if activity.starts_at > now:
        raise Conflict(_("活动尚未开始，不能结束；如不再举办请取消活动。"))
    _activity_status_change(activity, to=ActivityStatus.FINISHED)
    for signup in Signup.objects.filter(activity=activity, status=SignupStatus.CHECKED_IN).select_related("volunteer"):
        signup.activity = activity
        _check_out(signup, at=min(now, activity.ends_at), actor=actor)
    return activity


@transaction.atomic
def signup_create(*, activity: Activity, volunteer: Volunteer) -> Signup:
    """Take a place in an activity; never more places than ``capacity_max``.

    Steps: 1. the volunteer is active and of the activity's community; 2. not signed
    up already; 3. take a place by a conditional increment (open, not started, not
    full), which locks the activity row until commit; 4. create the sign-up, or
    revive a cancelled one. Any failure after step 3 rolls the place back.
    """
    if volunteer.community_id != activity.community_id:
        raise ActionForbidden(_("只能报名本社区的活动。"))
    if volunteer.status != VolunteerStatus.ACTIVE:
        raise ActionForbidden(_("您的志愿者身份已暂停或退出，不能报名。"))
    existing = Signup.objects.filter(activity=activity, volunteer=volunteer).first()
    if existing is not None and existing.status != SignupStatus.CANCELLED:
        raise Conflict(_("您已报名该活动。"))
    now = timezone.now()
    taken = Activity.objects.filter(
        pk=activity.pk, status=ActivityStatus.OPEN, starts_at__gt=now,
        signed_up_count__lt=F("capacity_max"),
    ).update(signed_up_count=F("signed_up_count") + 1)
    if not taken:
        activity.refresh_from_db()
        if activity.status != ActivityStatus.OPEN:
            raise Conflict(_("活动%(status)s，不能报名。") % {"status": activity.get_status_display()})
        if activity.starts_at <= now:
            raise Conflict(_("活动已开始，报名已截止。"))
        raise Conflict(_("名额已满。"))
    if existing is not None:
        revived = Signup.objects.filter(pk=existing.pk, status=SignupStatus.CANCELLED).update(
            status=SignupStatus.SIGNED_UP, signed_up_at=now, cancelled_at=None,
        )
        if not revived:
            raise Conflict(_("您已报名该活动。"))
        existing.refresh_from_db()
        signup = existing
    else:
        try:
            with transaction.atomic():
                signup = Signup.objects.create(activity=activity, volunteer=volunteer, signed_up_at=now)
        except IntegrityError:
            # The same volunteer signed up twice at once; the other request won.
            raise Conflict(_("您已报名该活动。")) from None
    activity.signed_up_count += 1
    return signup


@transaction.atomic
def signup_cancel(*, activity: Activity, volunteer: Volunteer) -> Signup:
    """Give the place back, before the activity starts.

    Steps: 1. the sign-up exists and the activity has not started; 2. signed_up →
    cancelled (conditionally); 3. the activity's counter goes down by one.
    """
    signup = Signup.objects.filter(activity=activity, volunteer=volunteer).first()
    if signup is None or signup.status == SignupStatus.CANCELLED:
        raise NotFound(_("您没有报名该活动。"))
    if activity.starts_at <= timezone.now():
        raise Conflict(_("活动已开始，不能取消报名。"))
    changed = Signup.objects.filter(pk=signup.pk, status=SignupStatus.SIGNED_UP).update(
        status=SignupStatus.CANCELLED, cancelled_at=timezone.now(),
    )
    if not changed:
        raise Conflict(_("已签到，不能取消报名。"))
    Activity.objects.filter(pk=activity.pk, signed_up_count__gt=0).update(signed_up_count=F("signed_up_count") - 1)
    signup.refresh_from_db()
    return signup


def _signup_for(activity: Activity, volunteer: Volunteer) -> Signup:
    signup = Signup.objects.filter(activity=activity, volunteer=volunteer).select_related("volunteer").first()
    if signup is None or signup.status == SignupStatus.CANCELLED:
        raise ApplicationError(_("%(name)s 没有报名该活动。") % {"name": volunteer.name})
    signup.activity = activity
    return signup


def credited_minutes(*, activity: Activity, checked_in_at: dt.datetime, checked_out_at: dt.datetime) -> int:
    """The whole minutes an attendance is credited with: from the later of the check-in
    and the activity's start to the earlier of the check-out and the scheduled end plus
    VOLUNTEER_CHECKOUT_GRACE_MINUTES (a forgotten check-out earns no more than that), at
    least 0. These are the 双报到 hours; the points rule caps them (activity_points_due)."""
    grace = dt.timedelta(minutes=settings.VOLUNTEER_CHECKOUT_GRACE_MINUTES)
    start = max(checked_in_at, activity.starts_at)
    end = min(checked_out_at, activity.ends_at + grace)
    return max(0, int((end - start).total_seconds()) // 60)


def activity_points_due(*, volunteer: Volunteer) -> int:
    """The activity points the rule gives for the volunteer's whole attendance:
    floor(Σ min(mᵢ, VOLUNTEER_MAX_HOURS_PER_ACTIVITY × 60) × VOLUNTEER_POINTS_PER_HOUR / 60)
    over their attended sign-ups' credited minutes mᵢ — summed before rounding, so two
    30-minute activities give 1 point and four 15-minute ones 1, not 2 and 0."""
    cap = settings.VOLUNTEER_MAX_HOURS_PER_ACTIVITY * 60
    minutes = Signup.objects.filter(volunteer=volunteer, status=SignupStatus.ATTENDED).aggregate(
        m=Coalesce(Sum(Least("minutes_credited", Value(cap))), 0),
    )["m"]
    return minutes * settings.VOLUNTEER_POINTS_PER_HOUR // 60


def _activity_points_settle(
    *, volunteer: Volunteer, note: str, actor=None, signup: Signup | None = None,
    activity: Activity | None = None, record_zero: bool = False,
) -> PointsEntry | None:
    """Bring the volunteer's activity points to what the rule gives, inside the caller's
    transaction, after the attendance it follows from has been written.

    Steps: 1. lock the volunteer row — settlements of one volunteer run one after the
    other, and each reads the attendance and entries committed before it; 2. the rule's
    points (activity_points_due) less the points already accrued by activity lines;
    3. more: an earning line crediting the difference up to the balance cap; less: a
    reversing line (冲正) taking it back, never below a zero balance; none: a 0 line only
    when ``record_zero`` (a check-out is always on the ledger). The line's ``accrued``
    is the rule's difference, its ``delta`` what the balance moved; the note says when
    they differ. Past lines are never changed.
    """
    locked = Volunteer.objects.select_for_update().only("points_balance").get(pk=volunteer.pk)
    accrued = PointsEntry.objects.filter(volunteer=volunteer, source=PointsSource.ACTIVITY).aggregate(
        a=Coalesce(Sum("accrued"), 0),
    )["a"]
    difference = activity_points_due(volunteer=volunteer) - accrued
    if difference == 0 and not record_zero:
        return None
    balance = locked.points_balance
    if difference >= 0:
        cap = settings.VOLUNTEER_POINTS_BALANCE_CAP
        delta, kind = max(0, min(difference, cap - balance)), PointsKind.EARN
        if delta < difference:
            note = f"{note}；" + _("已达积分上限 %(cap)s，%(lost)s 分未计入") % {"cap": cap, "lost": difference - delta}
    else:
        delta, kind = -min(-difference, balance), PointsKind.REVERSAL
        if delta > difference:
            note = f"{note}；" + _("余额不足，%(n)s 分未能扣回") % {"n": delta - difference}
    balance += delta
    if delta:
        Volunteer.objects.filter(pk=volunteer.pk).update(points_balance=balance)
    volunteer.points_balance = balance
    return PointsEntry.objects.create(
        volunteer=volunteer, delta=delta, accrued=difference, balance_after=balance, kind=kind,
        source=PointsSource.ACTIVITY, signup=signup, activity=activity or (signup.activity if signup else None),
        note=note[:200], created_by=actor,
    )


def _attendance_time(activity: Activity, at: dt.datetime | None) -> dt.datetime:
    now = timezone.now()
    if at is None:
        return now
    if at > now:
        raise ApplicationError(_("签到/签退时间不能晚于现在。"))
    opens = activity.starts_at - dt.timedelta(minutes=settings.VOLUNTEER_CHECKIN_OPENS_MINUTES)
    if at < opens:
        raise ApplicationError(_("签到/签退时间不能早于活动开始前 %(m)s 分钟。") % {"m": settings.VOLUNTEER_CHECKIN_OPENS_MINUTES})
    return at


def _check_in(signup: Signup, *, at: dt.datetime) -> Signup:
    if signup.status == SignupStatus.CHECKED_IN:
        raise Conflict(_("%(name)s 已签到。") % {"name": signup.volunteer.name})
    if signup.status == SignupStatus.ATTENDED:
        raise Conflict(_("%(name)s 已签退。") % {"name": signup.volunteer.name})
    changed = Signup.objects.filter(pk=signup.pk, status=SignupStatus.SIGNED_UP).update(
        status=SignupStatus.CHECKED_IN, checked_in_at=at,
    )
    if not changed:
        raise Conflict(_("报名状态已变化，请刷新后再试。"))
    signup.status, signup.checked_in_at = SignupStatus.CHECKED_IN, at
    return signup


def _check_out(signup: Signup, *, at: dt.datetime, actor=None) -> Signup:
    if signup.status == SignupStatus.SIGNED_UP:
        raise Conflict(_("%(name)s 尚未签到，不能签退。") % {"name": signup.volunteer.name})
    if signup.status == SignupStatus.ATTENDED:
        raise Conflict(_("%(name)s 已签退。") % {"name": signup.volunteer.name})
    if at < signup.checked_in_at:
        raise ApplicationError(_("签退时间不能早于签到时间。"))
    minutes = credited_minutes(activity=signup.activity, checked_in_at=signup.checked_in_at, checked_out_at=at)
    changed = Signup.objects.filter(pk=signup.pk, status=SignupStatus.CHECKED_IN).update(
        status=SignupStatus.ATTENDED, checked_out_at=at, minutes_credited=minutes,
    )
    if not changed:
        raise Conflict(_("报名状态已变化，请刷新后再试。"))
    signup.status, signup.checked_out_at, signup.minutes_credited = SignupStatus.ATTENDED, at, minutes
    _activity_points_settle(
        volunteer=signup.volunteer, signup=signup, actor=actor, record_zero=True,
        note=_("参加“%(title)s” %(m)s 分钟") % {"title": signup.activity.title, "m": minutes},
    )
    return signup


def _ensure_attendance_open(activity: Activity) -> None:
    if activity.status == ActivityStatus.CANCELLED:
        raise Conflict(_("活动已取消。"))


@transaction.atomic
def signup_check_in(*, activity: Activity, volunteer: Volunteer, at: dt.datetime | None = None) -> Signup:
    """The organiser checks a volunteer in, now or at an earlier time (补登 from a paper sheet)."""
    _ensure_attendance_open(activity)
    return _check_in(_signup_for(activity, volunteer), at=_attendance_time(activity, at))


@transaction.atomic
def signup_check_out(*, activity: Activity, volunteer: Volunteer, at: dt.datetime | None = None, actor=None) -> Signup:
    """The organiser checks a volunteer out: the attended hours (capped) and their points are credited."""
    _ensure_attendance_open(activity)
    return _check_out(_signup_for(activity, volunteer), at=_attendance_time(activity, at), actor=actor)


def signup_attendance(*, activity: Activity, volunteer: Volunteer, direction: str, at: dt.datetime | None = None,
                      actor=None) -> Signup:
    """The organiser checks a volunteer in or out (``direction``: CHECK_IN or CHECK_OUT)."""
    if direction == CHECK_IN:
        return signup_check_in(activity=activity, volunteer=volunteer, at=at)
    return signup_check_out(activity=activity, volunteer=volunteer, at=at, actor=actor)


@transaction.atomic
def signup_correct_attendance(
    *, activity: Activity, volunteer: Volunteer, checked_in_at: dt.datetime, checked_out_at: dt.datetime,
    reason: str, actor,
) -> Signup:
    """Correct an attended sign-up's check-in and check-out (更正签到签退), with a reason.

    Steps: 1. a reason; the sign-up has been checked out; the times are in order, not in
    the future, not before check-in opens; 2. the sign-up's times and credited minutes
    change, conditionally on the times read (of two corrections at once, one wins);
    3. the points follow (_activity_points_settle): the difference is a new ledger line —
    a reversing one (冲正) when the correction takes points back — never an edit of a
    past line. The caller has checked that ``actor`` may manage the activity.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("更正签到签退须写明原因。"))
    signup = _signup_for(activity, volunteer)
    if signup.status != SignupStatus.ATTENDED:
        raise Conflict(_("%(name)s 尚未签退，不能更正；请直接签到、签退。") % {"name": volunteer.name})
    checked_in_at = _attendance_time(activity, checked_in_at)
    checked_out_at = _attendance_time(activity, checked_out_at)
    if checked_out_at < checked_in_at:
        raise ApplicationError(_("签退时间不能早于签到时间。"))
    minutes = credited_minutes(activity=activity, checked_in_at=checked_in_at, checked_out_at=checked_out_at)
    changed = Signup.objects.filter(
        pk=signup.pk, status=SignupStatus.ATTENDED, checked_in_at=signup.checked_in_at,
        checked_out_at=signup.checked_out_at,
    ).update(checked_in_at=checked_in_at, checked_out_at=checked_out_at, minutes_credited=minutes)
    if not changed:
        raise Conflict(_("签到签退记录已被他人更正，请刷新后再试。"))
    before = signup.minutes_credited
    signup.checked_in_at, signup.checked_out_at, signup.minutes_credited = checked_in_at, checked_out_at, minutes
    _activity_points_settle(
        volunteer=volunteer, activity=activity, actor=actor,
        note=_("更正“%(title)s”签到签退：%(before)s 分钟 → %(after)s 分钟（%(reason)s）") % {
            "title": activity.title, "before": before, "after": minutes, "reason": reason[:60]},
    )
    return signup


@transaction.atomic
def activity_points_reconcile(*, volunteer: Volunteer, actor=None) -> PointsEntry | None:
    """Bring a volunteer's activity points to the rule (activity_points_due) with one new
    ledger line for the difference — e.g. after the points rule changed (before issue 13
    each activity's hours were rounded on their own: two 30-minute activities gave 2
    points). Nothing to do: None. Safe to run twice."""
    return _activity_points_settle(volunteer=volunteer, actor=actor, note=_("按积分规则重新核算志愿活动积分"))


def _check_code(*, activity: Activity, volunteer: Volunteer, direction: str, code: str, now: dt.datetime) -> None:
    """A 6-digit code is guessable: a volunteer's wrong tries at one activity are limited
    (VOLUNTEER_CHECKIN_CODE_FAILURES), and a wrong code, an activity that is not open and
    a closed check-in window get one answer — and count alike — so that no answer tells a
    right code from a wrong one."""
    ident = f"{activity.pk}:{volunteer.pk}"
    rate = ratelimit.Rate.parse(settings.VOLUNTEER_CHECKIN_CODE_FAILURES)
    if ratelimit.over(_CODE_SCOPE, ident, rate):
        raise ratelimit.RateLimited(_("签到码输错次数过多，请稍后再试，或扫描组织者屏幕上的二维码。"))
    opens = activity.starts_at - dt.timedelta(minutes=settings.VOLUNTEER_CHECKIN_OPENS_MINUTES)
    usable = (
        hmac.compare_digest(code.strip().encode(), activity.checkin_code.encode())
        and activity.status == ActivityStatus.OPEN
        and (direction == CHECK_OUT or opens <= now < activity.ends_at)
    )
    if not usable:
        ratelimit.hit(_CODE_SCOPE, ident, rate)
        raise ApplicationError(
            _("签到码不正确，或当前不在签到时间内（活动开始前 %(m)s 分钟至活动结束）。")
            % {"m": settings.VOLUNTEER_CHECKIN_OPENS_MINUTES}
        )


@transaction.atomic
def signup_self_check(*, activity: Activity, volunteer: Volunteer, direction: str, code: str | None = None) -> Signup:
    """A volunteer checks in or out themselves: with the activity's code, or (code None)
    after the caller verified a signed QR token for this activity.

    Steps: 1. the volunteer signed up; 2. with a code: within the tries, the code right,
    the activity open and (for check-in) within its window — one answer for any of these
    failing (_check_code); with a QR token: the activity open and within the window, each
    said plainly; 3. check in or out now.
    """
    if direction not in (CHECK_IN, CHECK_OUT):
        raise ApplicationError(_("未知的操作。"))
    signup = _signup_for(activity, volunteer)
    now = timezone.now()
    if code is not None:
        _check_code(activity=activity, volunteer=volunteer, direction=direction, code=code, now=now)
    elif activity.status != ActivityStatus.OPEN:
        raise Conflict(_("活动%(status)s，不能自助签到签退。") % {"status": activity.get_status_display()})
    if direction == CHECK_IN:
        opens = activity.starts_at - dt.timedelta(minutes=settings.VOLUNTEER_CHECKIN_OPENS_MINUTES)
        if now < opens:
            raise Conflict(_("签到尚未开始：活动开始前 %(m)s 分钟起可签到。") % {"m": settings.VOLUNTEER_CHECKIN_OPENS_MINUTES})
        if now >= activity.ends_at:
            raise Conflict(_("活动已结束，请联系组织者补登。"))
        return _check_in(signup, at=now)
    return _check_out(signup, at=now, actor=volunteer.user)


def checkin_token_make(*, activity: Activity, direction: str) -> str:
    """A signed token for the QR code on the organiser's screen (expires, see checkin_token_read)."""
    return signing.dumps({"a": activity.pk, "d": direction}, salt=_TOKEN_SALT, compress=True)


def checkin_token_read(*, token: str) -> tuple[int, str]:
    """(activity id, direction) of a token younger than VOLUNTEER_CHECKIN_TOKEN_SECONDS."""
    try:
        data = signing.loads(token, salt=_TOKEN_SALT, max_age=settings.VOLUNTEER_CHECKIN_TOKEN_SECONDS)
    except signing.SignatureExpired:
        raise ApplicationError(_("二维码已过期，请扫描组织者屏幕上的最新二维码。")) from None
    except signing.BadSignature:
        raise ApplicationError(_("二维码无效。")) from None
    if data.get("d") not in (CHECK_IN, CHECK_OUT) or not isinstance(data.get("a"), int):
        raise ApplicationError(_("二维码无效。"))
    return data["a"], data["d"]


# --- Points ---------------------------------------------------------------------------

def _points_earn(
    *, volunteer: Volunteer, points: int, source: str, note: str, signup: Signup | None = None,
    activity: Activity | None = None, appeal_id: int | None = None, appeal_code: str = "", actor=None,
) -> PointsEntry:
    """Credit points up to the balance cap, with the ledger row. Runs inside the caller's transaction."""
    locked = Volunteer.objects.select_for_update().only("points_balance").get(pk=volunteer.pk)
    cap = settings.VOLUNTEER_POINTS_BALANCE_CAP
    credited = max(0, min(points, cap - locked.points_balance))
    if credited < points:
        note = f"{note}；" + _("已达积分上限 %(cap)s，%(lost)s 分未计入") % {"cap": cap, "lost": points - credited}
    balance = locked.points_balance + credited
    if credited:
        Volunteer.objects.filter(pk=volunteer.pk).update(points_balance=balance)
    volunteer.points_balance = balance
    return PointsEntry.objects.create(
        volunteer=volunteer, delta=credited, balance_after=balance, kind=PointsKind.EARN, source=source,
        signup=signup, activity=activity, appeal_id=appeal_id, appeal_code=appeal_code, note=note[:200],
        created_by=actor,
    )


def points_for_appeal_rating(rating: str) -> int:
    """Points for a service appeal by the resident's rating (VOLUNTEER_APPEAL_RATING_POINTS)."""
    table = settings.VOLUNTEER_APPEAL_RATING_POINTS
    if rating not in table:
        raise ApplicationError(_("未知的评价：%(rating)s") % {"rating": rating})
    return int(table[rating])


@transaction.atomic
def points_award_for_service_appeal(
    *, volunteer: Volunteer, appeal_id: int, rating: str, appeal_code: str = "", actor=None,
) -> PointsEntry:
    """Credit a volunteer for a service appeal they resolved, once per appeal.

    Steps: 1. points from the rating (VOLUNTEER_APPEAL_RATING_POINTS; 不满意 earns 0 by
    default and is still recorded); 2. if this appeal was already credited to this
    volunteer, return that entry (the evaluation may be delivered twice); 3. credit up to
    the balance cap, with the ledger row.

    Called through the appeals' hook CLAIMED_APPEAL_CLOSED (registered in volunteers.apps),
    in the evaluation's transaction, when the evaluation closes an appeal a volunteer
    claimed (接单). A rework round (不满意 with
    reworks left) earns nothing: the appeal goes back to the same volunteer, and the
    evaluation that finally closes it decides — at the rework limit that is 不满意.
    An appeal closed without an evaluation earns nothing.
    """
    points = points_for_appeal_rating(rating)
    existing = PointsEntry.objects.filter(volunteer=volunteer, appeal_id=appeal_id, kind=PointsKind.EARN).first()
    if existing is not None:
        return existing
    label = appeal_code or str(appeal_id)
    try:
        with transaction.atomic():
            return _points_earn(
                volunteer=volunteer, points=points, source=PointsSource.SERVICE_APPEAL, appeal_id=appeal_id,
                appeal_code=appeal_code, actor=actor,
                note=_("服务接单 %(code)s，居民评价：%(rating)s") % {"code": label, "rating": rating_label(rating)},
            )
    except IntegrityError:
        # A concurrent delivery of the same evaluation won.
        return PointsEntry.objects.get(volunteer=volunteer, appeal_id=appeal_id, kind=PointsKind.EARN)


def rating_label(rating: str) -> str:
    return str(Rating(rating).label) if rating in Rating.values else rating


@transaction.atomic
def points_adjust(*, volunteer: Volunteer, delta: int, note: str, actor) -> PointsEntry:
    """A manual correction by staff (a reason is required); never below zero, never above the cap."""
    if not note.strip():
        raise ApplicationError(_("人工调整须写明原因。"))
    if delta == 0:
        raise ApplicationError(_("调整分值不能为 0。"))
    cap = settings.VOLUNTEER_POINTS_BALANCE_CAP
    if delta > 0:
        changed = Volunteer.objects.filter(pk=volunteer.pk, points_balance__lte=cap - delta).update(
            points_balance=F("points_balance") + delta)
    else:
        changed = Volunteer.objects.filter(pk=volunteer.pk, points_balance__gte=-delta).update(
            points_balance=F("points_balance") + delta)
    if not changed:
        raise Conflict(_("调整后积分须在 0 到 %(cap)s 之间。") % {"cap": cap})
    balance = Volunteer.objects.values_list("points_balance", flat=True).get(pk=volunteer.pk)
    volunteer.points_balance = balance
    return PointsEntry.objects.create(
        volunteer=volunteer, delta=delta, balance_after=balance, kind=PointsKind.ADJUST,
        source=PointsSource.MANUAL, note=note.strip()[:200], created_by=actor,
    )


@transaction.atomic
def reward_redeem(*, volunteer: Volunteer, reward: Reward, actor=None) -> Redemption:
    """Redeem a reward from the points shop: never overdraws, never oversells.

    Steps: 1. the reward is for the volunteer's community or city-wide, and the
    volunteer is active; 2. take one from stock by a conditional decrement (locks the
    reward row); 3. take the cost from the balance by a conditional decrement, only if
    the balance reaches both the cost and VOLUNTEER_REDEMPTION_THRESHOLD (locks the
    volunteer row); 4. write the redemption and the ledger row. A failure at step 3
    rolls back step 2. The reward row is always locked before the volunteer row, so
    two redemptions never wait on each other in a cycle.
    """
    if reward.community_id not in (None, volunteer.community_id):
        raise NotFound()
    if volunteer.status != VolunteerStatus.ACTIVE:
        raise ActionForbidden(_("您的志愿者身份已暂停或退出，不能兑换。"))
    took = Reward.objects.filter(pk=reward.pk, active=True, stock__gte=1).update(stock=F("stock") - 1)
    if not took:
        raise Conflict(_("“%(name)s”已兑完或已下架。") % {"name": reward.name})
    threshold = settings.VOLUNTEER_REDEMPTION_THRESHOLD
    paid = Volunteer.objects.filter(
        pk=volunteer.pk, points_balance__gte=max(reward.cost, threshold),
    ).update(points_balance=F("points_balance") - reward.cost)
    if not paid:
        balance = Volunteer.objects.values_list("points_balance", flat=True).get(pk=volunteer.pk)
        if balance < threshold:
            raise Conflict(_("积分满 %(t)s 分才能兑换，您当前有 %(b)s 分。") % {"t": threshold, "b": balance})
        raise Conflict(_("积分不足：需要 %(cost)s 分，您当前有 %(b)s 分。") % {"cost": reward.cost, "b": balance})
    balance = Volunteer.objects.values_list("points_balance", flat=True).get(pk=volunteer.pk)
    volunteer.points_balance = balance
    redemption = Redemption.objects.create(volunteer=volunteer, reward=reward, cost=reward.cost)
    PointsEntry.objects.create(
        volunteer=volunteer, delta=-reward.cost, balance_after=balance, kind=PointsKind.REDEEM,
        source=PointsSource.REWARD, redemption=redemption, created_by=actor,
        note=_("兑换“%(name)s”") % {"name": reward.name},
    )
    reward.stock -= 1
    return redemption


# --- Yearly evaluation of 双报到 party members ----------------------------------------

def yearly_rating(*, hours: Decimal, target: int, reported: bool) -> str:
    """The rule (documented in README of the app and the admin):

    - 优秀: at least 150 % of the target; 良好: the target met; 合格: at least half of
      it; 不合格: less than half.
    - A member who never reported to the community that year (no 报到 date) is rated
      no better than 合格, whatever the hours.
    """
    if target <= 0:
        rating = YearlyRating.EXCELLENT
    elif hours >= Decimal(target) * Decimal("1.5"):
        rating = YearlyRating.EXCELLENT
    elif hours >= target:
        rating = YearlyRating.GOOD
    elif hours * 2 >= target:
        rating = YearlyRating.QUALIFIED
    else:
        rating = YearlyRating.UNQUALIFIED
    if not reported and RATING_ORDER.index(rating) < RATING_ORDER.index(YearlyRating.QUALIFIED):
        rating = YearlyRating.QUALIFIED
    return rating


def party_members_evaluate(*, year: int, batch_size: int = 1000) -> int:
    """Evaluate every 双报到 registration of ``year``; returns how many were evaluated.

    Steps: 1. select the year's registrations with their credited minutes of that year
    (one query per batch, summed in SQL); 2. compute below_target and the rating
    (yearly_rating); 3. write them in bulk. Running it twice gives the same result.
    """
    from volunteers.selectors import registration_list_with_hours

    now = timezone.now()
    evaluated = 0
    last_pk = 0
    while True:
        batch = list(
            registration_list_with_hours(
                PartyMemberRegistration.objects.filter(year=year, pk__gt=last_pk).order_by("pk"), year=year,
            )[:batch_size]
        )
        if not batch:
            break
        for reg in batch:
            hours = reg.hours_year  # the credited minutes, uncapped by the points rule
            reg.hours_done = hours
            reg.below_target = reg.minutes_year < reg.hours_target * 60
            reg.rating = yearly_rating(hours=Decimal(reg.minutes_year) / 60, target=reg.hours_target,
                                       reported=reg.reported_at is not None)
            reg.evaluated_at = now
        with transaction.atomic():
            PartyMemberRegistration.objects.bulk_update(batch, ["hours_done", "below_target", "rating", "evaluated_at"])
        evaluated += len(batch)
        last_pk = batch[-1].pk
    return evaluated


# --- the order hall (接单大厅): claiming a service appeal ------------------------------------


def service_appeal_claim(*, user, appeal, expected_version: int | None = None):
    """A volunteer claims a service appeal of their community (平台派单、党员接单): the
    volunteer behind the account, then appeals.services.appeal_claim (NotFound outside
    the community's order hall, Conflict when taken or no longer open, ActionForbidden
    when the volunteer is suspended or has left)."""
    volunteer = None
    if user is not None and user.is_authenticated:
        volunteer = Volunteer.objects.select_related("community").filter(user=user).first()
    return appeal_claim(actor=user, appeal=appeal, volunteer=volunteer, expected_version=expected_version,
                        active=volunteer is not None and volunteer.status == VolunteerStatus.ACTIVE)


def _award_on_claimed_appeal_closed(*, appeal, rating: str) -> None:
    points_award_for_service_appeal(volunteer=appeal.claimed_by, appeal_id=appeal.pk, rating=rating,
                                    appeal_code=appeal.tracking_code)



def _refuse_removing_a_volunteer_without_account(*, resident) -> None:
    """Before a resident is removed from a household (grids.hooks.RESIDENT_REMOVING): a
    volunteer with an account keeps it and is detached from the resident; one without an
    account would be left as neither, so the removal is refused with what to do first."""
    if Volunteer.objects.filter(resident=resident, user__isnull=True).exists():
        raise Conflict(_(
            "居民“%(n)s”登记为志愿者且没有登录账号，移除会使其志愿者记录无所归属：请先由管理员为其开通账号，"
            "或在后台删除其志愿者登记，再移除该居民。"
        ) % {"n": resident.name})
