"""Reads of the volunteers app, always through the account.

Who sees an activity: staff whose jurisdiction covers its community, its organiser,
and the volunteers of its community. Anyone else gets 404, as if it did not exist.
Who manages it (sign-up list, check-in, QR screen): its organiser, and staff with a
grid, community or street post covering it; supervisors read only (403).
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Least
from django.utils import timezone
from django.utils.translation import gettext as _

from appeals.enums import AppealAction, AppealState, HandlingLevel
from appeals.models import Appeal, normalize_tracking_code
from governance.enums import Role
from governance.kernel.errors import ActionForbidden, NotFound
from governance.staff.selectors import Jurisdiction, jurisdiction_for
from grids.models import Community
from volunteers.enums import ActivityStatus, PointsSource, SignupStatus, VolunteerStatus
from volunteers.models import (
    Activity,
    PairedOrganization,
    PartyMemberRegistration,
    PointsEntry,
    Redemption,
    Reward,
    Signup,
    Volunteer,
    minutes_to_hours,
)

# Posts that may organise activities and run their attendance.
ORGANISING_ROLES = {Role.GRID_WORKER, Role.COMMUNITY_WORKER, Role.COMMUNITY_SECRETARY, Role.STREET_OFFICER}


def volunteer_for_user(user) -> Volunteer | None:
    """The account's volunteer row (the volunteer role), if any."""
    if user is None or not user.is_authenticated:
        return None
    # Not cached on the user: the balance on it must be fresh after every write.
    return Volunteer.objects.select_related("community").filter(user=user).first()


def volunteer_require(user) -> Volunteer:
    """The account's volunteer row, for the volunteers' own actions (sign up, check in,
    points, the order hall). An account without one — staff included — may not take
    them: 403 with the reason (nothing is hidden: the action is simply not theirs)."""
    volunteer = volunteer_for_user(user)
    if volunteer is None:
        raise ActionForbidden(_("该操作仅限已登记的志愿者：您的账号没有登记为志愿者，请联系所在社区登记。"))
    return volunteer


def is_staff_viewer(user) -> bool:
    """Has a post that sees communities (not a department-only post), or is an admin."""
    return jurisdiction_for(user).sees_territory


def ensure_staff_viewer(user) -> None:
    """The overview of a jurisdiction's volunteers is for its staff: anyone else — a
    volunteer, a department handler — is told so (403), there is no object to hide."""
    if not is_staff_viewer(user):
        raise ActionForbidden(_("志愿服务统计仅供社区、网格、街道工作人员和督查人员查看。"))


def _community_covers(jur: Jurisdiction, community_code: str) -> bool:
    return jur.covers(community_code)


def can_manage_activity(user, activity: Activity) -> bool:
    if activity.organiser_id == user.pk:
        return True
    jur = jurisdiction_for(user)
    if user.is_superuser:
        return True
    return any(
        p.role in ORGANISING_ROLES and _post_covers(p, activity.community_id) for p in jur.posts
    )


def _post_covers(post, community_code: str) -> bool:
    if post.role == Role.GRID_WORKER:
        # A grid worker organises for the community its grid belongs to.
        return post.grid.community_id == community_code
    if post.role in (Role.COMMUNITY_WORKER, Role.COMMUNITY_SECRETARY):
        return post.community.code == community_code
    if post.role == Role.STREET_OFFICER:
        return community_code.startswith(post.street.code)
    return False


def ensure_can_manage_activity(user, activity: Activity) -> None:
    if can_manage_activity(user, activity):
        return
    jurisdiction = jurisdiction_for(user)
    if jurisdiction.posts and jurisdiction.read_only:
        raise ActionForbidden(_("督查考核账号只读，不能管理志愿活动。"))
    raise ActionForbidden(_("只有活动组织者或本社区工作人员可以管理签到签退。"))


def organisable_communities(user) -> QuerySet:
    """Communities the account may create activities in (grid, community and street posts)."""
    jur = jurisdiction_for(user)
    if user.is_superuser:
        return Community.objects.all()
    q = Q(pk__in=[])
    for p in jur.posts:
        if p.role == Role.GRID_WORKER:
            q |= Q(code=p.grid.community_id)
        elif p.role in (Role.COMMUNITY_WORKER, Role.COMMUNITY_SECRETARY):
            q |= Q(code=p.community.code)
        elif p.role == Role.STREET_OFFICER:
            q |= Q(street_id=p.street.code)
    return Community.objects.filter(q).order_by("code")


def ensure_can_organise(user, community: Community) -> None:
    if not organisable_communities(user).filter(pk=community.pk).exists():
        raise ActionForbidden(_("只有本社区（或所在网格、街道）的工作人员可以发起志愿活动。"))


def community_get(user, code: str) -> Community:
    """A community inside the account's jurisdiction; 404 otherwise."""
    jur = jurisdiction_for(user)
    community = Community.objects.filter(code=code).first()
    if community is None or not jur.covers(community.code):
        raise NotFound()
    return community


def _visible_q(user) -> Q:
    jur = jurisdiction_for(user)
    q = Q(organiser_id=user.pk)
    code_q = jur.code_q("community__code")
    q |= Q() if code_q is None else code_q
    volunteer = volunteer_for_user(user)
    if volunteer is not None:
        q |= Q(community_id=volunteer.community_id)
    return q


def activity_visible(user) -> QuerySet:
    """Every activity the account may see (see the module docstring)."""
    jur = jurisdiction_for(user)
    if jur.everything:
        return Activity.objects.all()
    return Activity.objects.filter(_visible_q(user))


def signup_get(*, activity: Activity, pk: int) -> Signup:
    """A sign-up of the activity (the organiser's pages and API; 404 for another's)."""
    signup = Signup.objects.filter(activity=activity, pk=pk).select_related("volunteer").first()
    if signup is None:
        raise NotFound()
    return signup


def activity_get(user, pk: int) -> Activity:
    activity = activity_visible(user).select_related("community", "organiser").filter(pk=pk).first()
    if activity is None:
        raise NotFound()
    return activity


def activity_open_list(*, volunteer: Volunteer) -> QuerySet:
    """The open activities of the volunteer's community that have not ended, soonest first."""
    return (
        Activity.objects.filter(community_id=volunteer.community_id, status=ActivityStatus.OPEN, ends_at__gt=timezone.now())
        .select_related("community")
        .order_by("starts_at", "id")
    )


def activity_manage_list(user, *, query: str = "", status: str = "") -> QuerySet:
    """The organiser's and the jurisdiction's activities (the 活动管理 page), newest first."""
    jur = jurisdiction_for(user)
    q = Q(organiser_id=user.pk)
    code_q = jur.code_q("community__code")
    qs = Activity.objects.all() if code_q is None else Activity.objects.filter(q | code_q)
    if query:
        qs = qs.filter(Q(title__icontains=query) | Q(place__icontains=query))
    if status:
        qs = qs.filter(status=status)
    return qs.select_related("community", "organiser").order_by("-starts_at", "-id")


def signup_list(*, activity: Activity) -> QuerySet:
    return (
        Signup.objects.filter(activity=activity)
        .select_related("volunteer")
        .order_by("status", "signed_up_at", "id")
    )


def signup_for(*, activity: Activity, volunteer: Volunteer | None) -> Signup | None:
    if volunteer is None:
        return None
    return Signup.objects.filter(activity=activity, volunteer=volunteer).first()


def my_signups(*, volunteer: Volunteer) -> QuerySet:
    return (
        Signup.objects.filter(volunteer=volunteer)
        .exclude(status=SignupStatus.CANCELLED)
        .select_related("activity__community")
        .order_by("-activity__starts_at", "-id")
    )


def year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    """The year in the portal's time zone, as aware datetimes."""
    tz = ZoneInfo(settings.TIME_ZONE)
    return dt.datetime(year, 1, 1, tzinfo=tz), dt.datetime(year + 1, 1, 1, tzinfo=tz)


def _attended(volunteer: Volunteer, year: int | None) -> QuerySet:
    qs = Signup.objects.filter(volunteer=volunteer, status=SignupStatus.ATTENDED)
    if year is not None:
        start, end = year_bounds(year)
        qs = qs.filter(checked_out_at__gte=start, checked_out_at__lt=end)
    return qs


def _capped_minutes(path: str = "minutes_credited"):
    """An attendance's minutes as the points rule counts them (capped per activity)."""
    return Least(path, Value(settings.VOLUNTEER_MAX_HOURS_PER_ACTIVITY * 60))


def service_minutes(*, volunteer: Volunteer, year: int | None = None) -> int:
    """Credited minutes, uncapped: the 双报到 figure."""
    return _attended(volunteer, year).aggregate(m=Coalesce(Sum("minutes_credited"), 0))["m"]


def hours_total(*, volunteer: Volunteer, year: int | None = None) -> Decimal:
    """Service hours (the credited minutes, uncapped): the 双报到 figure."""
    return minutes_to_hours(service_minutes(volunteer=volunteer, year=year))


def points_hours_total(*, volunteer: Volunteer, year: int | None = None) -> Decimal:
    """The hours the points rule counts: each activity capped at VOLUNTEER_MAX_HOURS_PER_ACTIVITY."""
    return minutes_to_hours(_attended(volunteer, year).aggregate(m=Coalesce(Sum(_capped_minutes()), 0))["m"])


@dataclass(frozen=True)
class PointsDrift:
    volunteer_id: int
    due: int  # the rule's activity points (services.activity_points_due)
    accrued: int  # what the activity lines of the ledger accrued


def activity_points_drift() -> list[PointsDrift]:
    """Every volunteer whose activity lines have not accrued what the points rule gives
    for their attendance (e.g. after the rule changed), in two grouped queries."""
    minutes = dict(
        Signup.objects.filter(status=SignupStatus.ATTENDED).order_by().values("volunteer_id")
        .annotate(m=Sum(_capped_minutes())).values_list("volunteer_id", "m")
    )
    accrued = dict(
        PointsEntry.objects.filter(source=PointsSource.ACTIVITY).order_by().values("volunteer_id")
        .annotate(a=Sum("accrued")).values_list("volunteer_id", "a")
    )
    rate = settings.VOLUNTEER_POINTS_PER_HOUR
    drift = []
    for pk in sorted(set(minutes) | set(accrued)):
        due = (minutes.get(pk) or 0) * rate // 60
        if due != (accrued.get(pk) or 0):
            drift.append(PointsDrift(volunteer_id=pk, due=due, accrued=accrued.get(pk) or 0))
    return drift


def points_history(*, volunteer: Volunteer) -> QuerySet:
    return PointsEntry.objects.filter(volunteer=volunteer).select_related("activity").order_by("-created_at", "-id")


def reward_list(*, volunteer: Volunteer) -> QuerySet:
    """Active rewards for the volunteer's community and city-wide ones, cheapest first."""
    return (
        Reward.objects.filter(Q(community__isnull=True) | Q(community_id=volunteer.community_id), active=True)
        .order_by("cost", "name")
    )


def reward_get(*, volunteer: Volunteer, pk: int) -> Reward:
    reward = Reward.objects.filter(Q(community__isnull=True) | Q(community_id=volunteer.community_id), pk=pk).first()
    if reward is None:
        raise NotFound()
    return reward


def redemption_list(*, volunteer: Volunteer) -> QuerySet:
    return Redemption.objects.filter(volunteer=volunteer).select_related("reward").order_by("-created_at")


def registration_for(*, volunteer: Volunteer, year: int) -> PartyMemberRegistration | None:
    return PartyMemberRegistration.objects.filter(volunteer=volunteer, year=year).select_related("organization").first()


# --- Overview for community workers ------------------------------------------------------

def _minutes_subquery(year: int, minutes, volunteer_ref: str = "volunteer_id") -> Subquery:
    start, end = year_bounds(year)
    return Subquery(
        Signup.objects.filter(
            volunteer_id=OuterRef(volunteer_ref), status=SignupStatus.ATTENDED, checked_out_at__gte=start,
            checked_out_at__lt=end,
        )
        .order_by()
        .values("volunteer_id")
        .annotate(m=Sum(minutes))
        .values("m"),
        output_field=IntegerField(),
    )


def overview_list(user, tab: str, *, year: int, query: str = "", community_code: str = "") -> QuerySet:
    """A tab of the community workers' overview (page and API): ``volunteers`` (hours of
    the year), ``members`` (双报到 progress of the year) or ``organizations`` (per year:
    organization_participation of the page shown)."""
    if tab == "organizations":
        return organization_list(user, query=query, community_code=community_code)
    rows = {"volunteers": volunteer_hours_list, "members": member_progress_list}[tab]
    return rows(user, year=year, query=query, community_code=community_code)


def registration_list_with_hours(qs: QuerySet, *, year: int) -> QuerySet:
    """Registrations annotated with ``minutes_year`` (credited minutes checked out in the
    year: the 双报到 hours, ``hours_year``) and ``points_minutes_year`` (the same, each
    activity capped as the points rule counts it: ``points_hours_year``)."""
    return qs.annotate(
        minutes_year=Coalesce(_minutes_subquery(year, "minutes_credited"), 0),
        points_minutes_year=Coalesce(_minutes_subquery(year, _capped_minutes()), 0),
    )


def _overview_rows(user, qs: QuerySet, *, community_code: str, query: Q | str) -> QuerySet:
    """The overview's rows inside the viewer's jurisdiction (keyed by community), of one
    community if given, matching the search ``query`` if any."""
    qs = jurisdiction_for(user).scope(qs, "community__code")
    if community_code:
        qs = qs.filter(community_id=community_code)
    return qs.filter(query) if query else qs


def volunteer_hours_list(user, *, year: int, query: str = "", community_code: str = "") -> QuerySet:
    """Volunteers in the jurisdiction with their hours and activities of the year, most hours first."""
    qs = _overview_rows(user, Volunteer.objects.all(), community_code=community_code,
                        query=query and Q(name__icontains=query) | Q(phone__contains=query))
    start, end = year_bounds(year)
    in_year = Q(signups__status=SignupStatus.ATTENDED, signups__checked_out_at__gte=start, signups__checked_out_at__lt=end)
    return (
        qs.annotate(
            minutes_year=Coalesce(Sum("signups__minutes_credited", filter=in_year), 0),
            activities_year=Count("signups", filter=in_year),
        )
        .select_related("community")
        .order_by("-minutes_year", "name", "id")
    )


def member_progress_list(user, *, year: int, query: str = "", community_code: str = "") -> QuerySet:
    """双报到 party members of the year in the jurisdiction, with their hours towards the target."""
    qs = _overview_rows(user, PartyMemberRegistration.objects.filter(year=year), community_code=community_code,
                        query=query and Q(volunteer__name__icontains=query) | Q(work_unit__icontains=query))
    return (
        registration_list_with_hours(qs, year=year)
        .select_related("volunteer", "organization", "community")
        .order_by("minutes_year", "volunteer__name", "id")
    )


def organization_list(user, *, query: str = "", community_code: str = "") -> QuerySet:
    qs = _overview_rows(user, PairedOrganization.objects.all(), community_code=community_code,
                        query=query and Q(name__icontains=query) | Q(work_unit__icontains=query))
    return qs.select_related("community").order_by("community_id", "name")


def organization_participation(organizations, *, year: int) -> list[dict]:
    """Each organisation's members of the year summed: members, hours, members meeting the target.

    Two queries whatever the number of organisations (the page's).
    """
    organizations = list(organizations)
    totals = {o.pk: {"organization": o, "members": 0, "hours": Decimal(0), "met": 0} for o in organizations}
    members = registration_list_with_hours(
        PartyMemberRegistration.objects.filter(year=year, organization_id__in=list(totals)), year=year,
    ).values("organization_id", "minutes_year", "hours_target")
    minutes = dict.fromkeys(totals, 0)
    for m in members:
        row = totals[m["organization_id"]]
        row["members"] += 1
        minutes[m["organization_id"]] += m["minutes_year"]
        row["met"] += m["minutes_year"] >= m["hours_target"] * 60
    for pk, row in totals.items():
        row["hours"] = minutes_to_hours(minutes[pk])
    return list(totals.values())


def participation_summary(user, *, year: int, community_code: str = "") -> dict:
    """Headline figures for the overview: volunteers, hours, members vs target."""
    jur = jurisdiction_for(user)
    volunteers = jur.scope(Volunteer.objects.filter(status=VolunteerStatus.ACTIVE), "community__code")
    registrations = jur.scope(PartyMemberRegistration.objects.filter(year=year), "community__code")
    signups = jur.scope(Signup.objects.filter(status=SignupStatus.ATTENDED), "volunteer__community__code")
    if community_code:
        volunteers = volunteers.filter(community_id=community_code)
        registrations = registrations.filter(community_id=community_code)
        signups = signups.filter(volunteer__community_id=community_code)
    start, end = year_bounds(year)
    with_hours = registration_list_with_hours(registrations, year=year)
    return {
        "volunteers": volunteers.count(),
        "hours": minutes_to_hours(signups.filter(checked_out_at__gte=start, checked_out_at__lt=end).aggregate(
            m=Coalesce(Sum("minutes_credited"), 0))["m"]),
        "members": registrations.count(),
        "members_met": with_hours.filter(minutes_year__gte=F("hours_target") * 60).count(),
    }


# --- Service appeals: the community's order hall (接单大厅) ----------------------------------
# 平台派单、党员接单、居民评单. Routing is unchanged (appeals.services.route_for): a
# volunteer-suitable appeal goes to the community or grid its category names; while it
# waits there unsigned (dispatched) it is also listed in its community's hall. The first
# claim — a volunteer's, or the handling unit's own sign-for — takes it out.

def _hall_scope(*, volunteer: Volunteer) -> QuerySet:
    return Appeal.objects.filter(community_id=volunteer.community_id, category__volunteer_suitable=True)


def _open_in_hall_q() -> Q:
    return Q(
        state=AppealState.DISPATCHED, claimed_by__isnull=True,
        handling_level__in=[HandlingLevel.GRID, HandlingLevel.COMMUNITY],
    )


def order_hall(*, volunteer: Volunteer) -> QuerySet:
    """The appeals an active volunteer may claim: dispatched to their community (or one of
    its grids), of a volunteer-suitable category, not signed for or claimed yet. Soonest
    deadline first."""
    if volunteer.status != VolunteerStatus.ACTIVE:
        return _hall_scope(volunteer=volunteer).none()
    return (
        _hall_scope(volunteer=volunteer).filter(_open_in_hall_q())
        .select_related("category", "building", "grid")
        .order_by("deadline", "dispatched_at", "id")
    )


def hall_appeal_get(*, volunteer: Volunteer, tracking_code: str):
    """One appeal of the hall as the volunteer may see it: still open for claims, or
    claimed by them. NotFound otherwise (another community's, not volunteer-suitable, or
    someone else's claim)."""
    appeal = (
        _hall_scope(volunteer=volunteer)
        .filter(_open_in_hall_q() | Q(claimed_by=volunteer), tracking_code=normalize_tracking_code(tracking_code))
        .select_related("category", "building", "grid", "community").first()
    )
    if appeal is None:
        raise NotFound()
    return appeal


def hall_appeal_for_claim(*, volunteer: Volunteer, tracking_code: str):
    """The appeal a claim names, if it belongs to the volunteer's hall at all (NotFound
    otherwise); whether it is still open is appeals.services.appeal_claim's answer (409)."""
    appeal = _hall_scope(volunteer=volunteer).filter(tracking_code=normalize_tracking_code(tracking_code)).first()
    if appeal is None:
        raise NotFound()
    return appeal


def my_service_appeals(*, volunteer: Volunteer) -> QuerySet:
    """The appeals the volunteer claimed: still being handled first, then the newest."""
    return (
        volunteer.claimed_appeals.select_related("category", "building", "grid")
        .annotate(open_first=Case(When(state=AppealState.IN_PROGRESS, then=0), default=1, output_field=IntegerField()))
        .order_by("open_first", "-updated_at", "-id")
    )


def my_service_appeal_get(*, volunteer: Volunteer, tracking_code: str):
    """One appeal the volunteer claimed; NotFound for any other."""
    appeal = (
        volunteer.claimed_appeals.filter(tracking_code=normalize_tracking_code(tracking_code))
        .select_related("category", "building", "grid", "community", "claimed_by__community").first()
    )
    if appeal is None:
        raise NotFound()
    return appeal


@dataclass(frozen=True)
class ServiceStep:
    at: dt.datetime
    action_label: str
    unit: str
    note: str


def service_appeal_steps(appeal: Appeal, *, user) -> list[ServiceStep]:
    """The appeal's steps as the claiming volunteer sees them: the action and the unit
    of each, with the notes of their own steps and of the resident's evaluation — not
    staff's internal notes or names."""
    steps = []
    for event in appeal.events.order_by("created_at", "id"):
        own = event.actor_id is not None and event.actor_id == user.pk
        steps.append(ServiceStep(
            at=event.created_at, action_label=str(AppealAction(event.action).label),
            unit=event.actor_label.split("·", 1)[0] if not own else _("我"),
            note=event.note if own or event.action == AppealAction.EVALUATE else "",
        ))
    return steps
