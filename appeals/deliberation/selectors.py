"""Who reads what of residents' deliberation, and what the public notice (公示) shows.

- The staff of the meeting's community act on it (schedule, link, record, follow its
  decisions); the street's officers read it; outside the jurisdiction a meeting does not
  exist (404). Supervisors (read-only posts) see the figures in the reports, never the
  records: participants' names and minutes (403).
- The public notice of a community shows topic, kind, place and time, and once held the
  decisions' text, due date and state (and a hearing's show of hands, an evaluation's
  ratings) for the 公示 period after the meeting. It names nobody: no participants, no
  minutes, no owners.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from appeals.deliberation.enums import DecisionState, MeetingState
from appeals.deliberation.models import Meeting, MeetingDecision
from appeals.enums import OPEN_STATES
from appeals.models import Appeal
from governance.enums import COMMUNITY_ROLES, Role
from governance.kernel.clock import CHINA
from governance.kernel.errors import ActionForbidden, NotFound
from governance.staff.selectors import Jurisdiction

RELATED_DAYS = 90  # related open appeals: received within this many days
RELATED_LIMIT = 30
LIST_PAGE = 50


def acting_post(jurisdiction: Jurisdiction, community_code: str):
    """The account's community post (worker or secretary) of that community, or None."""
    return next((p for p in jurisdiction.acting_posts
                 if p.role in COMMUNITY_ROLES and p.community_id is not None and p.community.code == community_code),
                None)


def schedulable_communities(jurisdiction: Jurisdiction) -> list:
    """The communities whose meetings the account schedules."""
    return [p.community for p in jurisdiction.acting_posts if p.role in COMMUNITY_ROLES and p.community_id]


def may_read_meetings(jurisdiction: Jurisdiction) -> bool:
    """Has meetings to read (民主协商): community staff and street officers."""
    return any(p.role in (*COMMUNITY_ROLES, Role.STREET_OFFICER) for p in jurisdiction.acting_posts)


def ensure_reader(jurisdiction: Jurisdiction) -> None:
    if not may_read_meetings(jurisdiction):
        if jurisdiction.read_only and (jurisdiction.posts or jurisdiction.everything):
            raise ActionForbidden(_("督查考核账号只看议事统计（报表），不看会议记录。"))
        raise ActionForbidden(_("民主协商由社区工作人员组织，街道工作人员可查看。"))


def _read_q(jurisdiction: Jurisdiction, path: str = "community__code") -> Q:
    """The meetings the account reads, as a filter on their community code at ``path``."""
    ensure_reader(jurisdiction)
    prefixes = [p.community.code for p in jurisdiction.acting_posts if p.role in COMMUNITY_ROLES and p.community_id]
    prefixes += [p.street.code for p in jurisdiction.acting_posts if p.role == Role.STREET_OFFICER and p.street_id]
    q = Q(pk__in=[])
    for prefix in prefixes:
        q |= Q(**{f"{path}__startswith": prefix})
    return q


def meetings_for(jurisdiction: Jurisdiction) -> QuerySet:
    """The meetings the account reads (its communities', its streets'), newest first."""
    return (Meeting.objects.filter(_read_q(jurisdiction)).select_related("community")
            .annotate(n_appeals=Count("links", distinct=True),
                      n_open=Count("decisions", filter=~Q(decisions__state=DecisionState.DONE), distinct=True)))


def meeting_get(*, jurisdiction: Jurisdiction, pk: int, act: bool = False) -> Meeting:
    """One meeting: 404 outside the jurisdiction, 403 for a reader who may not (act: only
    the staff of its community)."""
    meeting = Meeting.objects.select_related("community", "category", "scheduled_by").filter(pk=pk).first()
    if meeting is None or not jurisdiction.covers(meeting.community_id):
        raise NotFound()
    ensure_reader(jurisdiction)
    if act and acting_post(jurisdiction, meeting.community_id) is None:
        raise ActionForbidden(_("只有本社区的社区工作者或社区书记可以操作议事会议。"))
    if not act and acting_post(jurisdiction, meeting.community_id) is None and not any(
            p.role == Role.STREET_OFFICER and meeting.community_id.startswith(p.street.code)
            for p in jurisdiction.acting_posts):
        raise ActionForbidden(_("民主协商由社区工作人员组织，街道工作人员可查看。"))
    return meeting


def decisions_for(jurisdiction: Jurisdiction) -> QuerySet:
    """The decisions of the meetings the account reads, by due date."""
    return (MeetingDecision.objects.filter(_read_q(jurisdiction, "meeting__community__code"))
            .select_related("meeting__community").order_by("due_date", "id"))


def decision_get(*, jurisdiction: Jurisdiction, pk: int) -> MeetingDecision:
    """One decision, as its meeting is read (``meeting_get``: 404 outside, 403 for those
    who read no records)."""
    decision = MeetingDecision.objects.filter(pk=pk).first()
    if decision is None:
        raise NotFound()
    decision.meeting = meeting_get(jurisdiction=jurisdiction, pk=decision.meeting_id)
    return decision


def linked_appeals(meeting: Meeting) -> list:
    return list(Appeal.objects.filter(meeting_links__meeting=meeting)
                .select_related("category", "building", "handling_grid", "handling_community", "handling_street",
                                "handling_department", "community", "grid")
                .order_by("created_at"))


def related_open_appeals(meeting: Meeting, *, now=None) -> list:
    """Open appeals the meeting might address: its community's, of the same category (if
    the meeting names one) and estate or buildings (if it names them), received within
    RELATED_DAYS days, not linked yet."""
    now = now or timezone.now()
    qs = Appeal.objects.filter(community_id=meeting.community_id, state__in=OPEN_STATES,
                               created_at__gte=now - timedelta(days=RELATED_DAYS))
    if meeting.category_id:
        qs = qs.filter(category_id=meeting.category_id)
    place = Q()
    if meeting.estate:
        place |= Q(building__compound=meeting.estate)
    building_codes = [b.code for b in meeting.buildings.all()]
    if building_codes:
        place |= Q(building_id__in=building_codes)
    if place:
        qs = qs.filter(place)
    return list(qs.exclude(meeting_links__meeting=meeting).select_related("category", "building")
                .order_by("-created_at")[:RELATED_LIMIT])


def overdue_decisions(*, jurisdiction: Jurisdiction, today=None, limit: int = 5) -> tuple[int, list]:
    """The community's decisions past their due date and not done (the home card)."""
    codes = [c.code for c in schedulable_communities(jurisdiction)]
    if not codes:
        return 0, []
    today = today or timezone.now().astimezone(CHINA).date()
    qs = MeetingDecision.objects.filter(meeting__community_id__in=codes, due_date__lt=today).exclude(
        state=DecisionState.DONE)
    return qs.count(), list(qs.select_related("meeting").order_by("due_date", "id")[:limit])


# --- the public notice (公示) --------------------------------------------------------------------


@dataclass(frozen=True)
class NoticeItem:
    meeting: Meeting
    decisions: list


def public_notice(*, community_code: str, now=None) -> list[NoticeItem]:
    """What the 公示 page shows: meetings not cancelled, from scheduling until the 公示
    period after the meeting (its ``publicity_days`` from the later of its time and its
    record) has passed; decisions with their state. No names (module docstring)."""
    now = now or timezone.now()
    horizon = now - timedelta(days=90)  # no publicity period is longer (the field's cap)
    meetings = (Meeting.objects.filter(community_id=community_code, starts_at__gte=horizon)
                .exclude(state=MeetingState.CANCELLED)
                .only("id", "kind", "topic", "place", "starts_at", "state", "held_at", "publicity_days",
                      "votes_for", "votes_against", "votes_abstain", "rated_satisfied", "rated_basically",
                      "rated_unsatisfied", "community_id")
                .prefetch_related(Prefetch("decisions", queryset=MeetingDecision.objects.only(
                    "id", "meeting_id", "kind", "text", "due_date", "state", "done_at")))
                .order_by("-starts_at", "-id"))
    items = []
    for meeting in meetings:
        since = max(meeting.starts_at, meeting.held_at or meeting.starts_at)
        if meeting.state == MeetingState.HELD and since + timedelta(days=meeting.publicity_days) < now:
            continue
        items.append(NoticeItem(meeting=meeting, decisions=list(meeting.decisions.all())))
    return items
