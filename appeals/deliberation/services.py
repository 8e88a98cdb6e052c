"""Residents' deliberation (民主协商): every change of a meeting and its decisions, and what
each writes on the appeals it addresses (DESIGN.md §4: appeals change only through the
workflow table and the event writer).

The staff of the meeting's community act (selectors.meeting_get(act=True) and
``_community_post``); the linked appeals' events go through the transition service
(appeals.services.core), their 延期 through appeals.extensions, their 办结 through the
existing resolve action (appeals.services.appeal_resolve: the resident is told and
evaluates as for any result).
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from appeals import events, extensions, permissions, workflow
from appeals.deliberation import selectors
from appeals.deliberation.enums import DecisionKind, DecisionState, MeetingKind, MeetingState, ParticipantRole
from appeals.deliberation.models import MAX_COUNT, Meeting, MeetingAppeal, MeetingDecision, MeetingParticipant
from appeals.enums import OPEN_STATES, AppealAction, AppealState
from appeals.models import Appeal, Category
from appeals.services import appeal_resolve
from appeals.services.core import _Context, _text, _transition
from governance.kernel.clock import CHINA
from governance.kernel.errors import ActionForbidden, ApplicationError, Conflict
from governance.staff.selectors import jurisdiction_for
from grids.models import Building, Community

TOPIC_MAX, PLACE_MAX, MINUTES_MAX, DECISION_MAX, NAME_MAX = 200, 200, 10_000, 500, 100
PARTICIPANTS_MAX = 60


def _community_post(actor, community_code: str):
    post = selectors.acting_post(jurisdiction_for(actor), community_code)
    if post is None:
        raise ActionForbidden(_("只有本社区的社区工作者或社区书记可以操作议事会议。"))
    return post


def _count(value, label: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise ApplicationError(_("%(f)s须为整数。") % {"f": label}) from None
    if n < 0 or n > MAX_COUNT:
        raise ApplicationError(_("%(f)s须在 0 到 %(n)s 之间。") % {"f": label, "n": MAX_COUNT})
    return n


def meeting_schedule(*, actor, community_code: str, kind: str, topic: str, place: str, starts_at: datetime,
                     estate: str = "", building_codes=(), category_id: int | None = None) -> Meeting:
    """安排议事会议. Steps: 1. the actor is staff of that community (403); 2. the type, the
    topic, the place, a time, buildings of the community → else 400; 3. the meeting."""
    _community_post(actor, community_code)
    community = Community.objects.get(code=community_code)
    if kind not in MeetingKind.values:
        raise ApplicationError(_("请选择会议类型。"))
    topic = _text(topic, field_label=_("议题"), required=True, max_length=TOPIC_MAX)
    place = _text(place, field_label=_("地点"), required=True, max_length=PLACE_MAX)
    estate = _text(estate, field_label=_("小区"), required=False, max_length=100)
    if not isinstance(starts_at, datetime):
        raise ApplicationError(_("请填写召开时间。"))
    buildings = list(Building.objects.filter(code__in=list(building_codes), grid__community=community))
    if len(buildings) != len(set(building_codes)):
        raise ApplicationError(_("所选楼栋须属于本社区。"))
    category = Category.objects.filter(pk=category_id).first() if category_id else None
    with transaction.atomic():
        meeting = Meeting.objects.create(community=community, kind=kind, topic=topic, place=place,
                                         starts_at=starts_at, estate=estate, category=category, scheduled_by=actor)
        meeting.buildings.set(buildings)
    return meeting


@dataclass
class LinkOutcome:
    linked: list[str] = field(default_factory=list)  # tracking codes
    extension_requested: list[str] = field(default_factory=list)
    extension_refused: list[tuple[str, str]] = field(default_factory=list)  # (code, why)


def _meeting_label(meeting: Meeting) -> str:
    when = meeting.starts_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
    return f"{meeting.get_kind_display()}「{meeting.topic}」（{when}，{meeting.place}）"


def extension_deadline(day: date) -> datetime:
    """The end of ``day`` in China time: what 延期至 a decision's due date asks for."""
    return datetime.combine(day, time(23, 59), tzinfo=CHINA)


def meeting_link(*, actor, meeting: Meeting, codes, extend_to: date | None = None,
                 now: datetime | None = None) -> LinkOutcome:
    """提交议事: link open appeals of the community to the meeting.

    Steps: 1. staff of the meeting's community (403), a meeting not cancelled (409);
    2. the appeals by tracking code: of the meeting's community (400), open (409, the
    table's states of ``deliberate``); 3. per appeal, once: the link and an event
    ``deliberate`` through the transition service, in one transaction — no state changes,
    the clock runs on; 4. if ``extend_to`` (the decision's expected due date) is given,
    a 延期 request to that day for each appeal whose handling unit the actor is, through
    appeals.extensions (approved one level up as always); the others are named with the
    reason (their handler may ask, or they escalate as usual).
    """
    post = _community_post(actor, meeting.community_id)
    now = now or timezone.now()
    if meeting.state == MeetingState.CANCELLED:
        raise Conflict(_("会议已取消，不能提交诉求。"))
    codes = list(dict.fromkeys(c.strip().upper() for c in codes if c and c.strip()))
    if not codes:
        raise ApplicationError(_("请选择要提交议事的诉求。"))
    appeals = {a.tracking_code: a for a in Appeal.objects.filter(tracking_code__in=codes)}
    outside = [c for c in codes if c not in appeals or appeals[c].community_id != meeting.community_id]
    if outside:
        raise ApplicationError(_("以下诉求不属于本社区，不能提交本会议：%(c)s") % {"c": "、".join(outside)})
    for code in codes:
        workflow.ensure_state(AppealAction.DELIBERATE, appeals[code].state)
    if extend_to is not None and extend_to <= now.astimezone(CHINA).date():
        raise ApplicationError(_("延期至的日期须晚于今天。"))
    outcome = LinkOutcome()
    label = permissions.actor_label(post)
    with transaction.atomic():
        for code in codes:
            appeal = appeals[code]
            _link, created = MeetingAppeal.objects.get_or_create(meeting=meeting, appeal=appeal,
                                                                 defaults={"linked_by": actor})
            if not created:
                continue
            ctx = _Context(appeal=appeal, actor=actor, label=label, now=now)
            _transition(ctx, AppealAction.DELIBERATE, note=_("提交%(m)s") % {"m": _meeting_label(meeting)},
                        data=events.Deliberate(meeting=meeting.pk, kind=meeting.kind, starts_at=meeting.starts_at))
            outcome.linked.append(code)
    if extend_to is None:
        return outcome
    requested = extension_deadline(extend_to)
    reason = _("已提交%(m)s，待议定事项落实（预计 %(d)s 前）。") % {"m": _meeting_label(meeting), "d": extend_to.isoformat()}
    for code in outcome.linked:
        appeal = Appeal.objects.get(tracking_code=code)
        try:
            if appeal.deadline is not None and requested <= appeal.deadline:
                raise ApplicationError(_("现办结时限已不早于该日期，无需延期。"))
            extensions.extension_request(actor=actor, appeal=appeal, requested_deadline=requested, reason=reason,
                                         now=now)
            outcome.extension_requested.append(code)
        except ApplicationError as exc:
            outcome.extension_refused.append((code, exc.message))
    return outcome


def meeting_record(*, actor, meeting: Meeting, residents_count, minutes: str, participants=(),
                   votes=(None, None, None), evaluated_unit: str = "", ratings=(None, None, None),
                   publicity_days=None, now: datetime | None = None) -> Meeting:
    """记录会议. Steps: 1. staff of its community (403), not cancelled (409); 2. residents
    counted (never named), the others named by role, the minutes; a 民意听证会's show of
    hands (意见表决, not the owners' decision), a 民主评议会's unit and ratings — each only
    for its type (400 otherwise); 3. the record replaces any earlier one, and the meeting
    is held."""
    _community_post(actor, meeting.community_id)
    now = now or timezone.now()
    if meeting.state == MeetingState.CANCELLED:
        raise Conflict(_("会议已取消，不能记录。"))
    residents = _count(residents_count, _("参会居民人数"))
    if residents is None:
        raise ApplicationError(_("请填写参会居民人数（居民只计人数，不记姓名）。"))
    minutes = _text(minutes, field_label=_("会议纪要"), required=True, max_length=MINUTES_MAX)
    rows = []
    for role, name in participants:
        name = (name or "").strip()
        if not name:
            continue
        if role not in ParticipantRole.values:
            raise ApplicationError(_("参会人员的身份不正确。"))
        rows.append(MeetingParticipant(meeting=meeting, role=role,
                                       name=_text(name, field_label=_("参会人员"), required=True, max_length=NAME_MAX)))
    if len(rows) > PARTICIPANTS_MAX:
        raise ApplicationError(_("参会人员最多 %(n)s 项。") % {"n": PARTICIPANTS_MAX})
    votes = [_count(v, label) for v, label in zip(votes, (_("赞成"), _("反对"), _("弃权")), strict=True)]
    ratings = [_count(v, label) for v, label in zip(ratings, (_("满意"), _("基本满意"), _("不满意")), strict=True)]
    if any(v is not None for v in votes) and meeting.kind != MeetingKind.HEARING:
        raise ApplicationError(_("意见表决只用于民意听证会。"))
    if meeting.kind == MeetingKind.EVALUATION:
        evaluated_unit = _text(evaluated_unit, field_label=_("被评议单位"), required=True, max_length=200)
        if any(r is None for r in ratings):
            raise ApplicationError(_("请填写满意、基本满意、不满意的人数。"))
    elif any(r is not None for r in ratings) or (evaluated_unit or "").strip():
        raise ApplicationError(_("评议结果只用于民主评议会。"))
    days = meeting.publicity_days if publicity_days in (None, "") else _count(publicity_days, _("公示期"))
    if not 1 <= days <= 90:
        raise ApplicationError(_("公示期须在 1 到 90 天之间。"))
    with transaction.atomic():
        meeting.participants.all().delete()
        MeetingParticipant.objects.bulk_create(rows)
        meeting.residents_count, meeting.minutes, meeting.publicity_days = residents, minutes, days
        meeting.votes_for, meeting.votes_against, meeting.votes_abstain = votes
        meeting.evaluated_unit = (evaluated_unit or "").strip()
        meeting.rated_satisfied, meeting.rated_basically, meeting.rated_unsatisfied = ratings
        meeting.state = MeetingState.HELD
        meeting.held_at = meeting.held_at or now
        meeting.save()
    return meeting


def decision_add(*, actor, meeting: Meeting, kind: str, text: str, owner: str, due_date: date | None) -> MeetingDecision:
    """议定事项 (or a 民主评议会's 整改事项): text, the unit that owns it, a due date."""
    _community_post(actor, meeting.community_id)
    if meeting.state != MeetingState.HELD:
        raise Conflict(_("请先记录会议，再添加议定事项。"))
    if kind not in DecisionKind.values:
        raise ApplicationError(_("请选择事项类型。"))
    if kind == DecisionKind.RECTIFICATION and meeting.kind != MeetingKind.EVALUATION:
        raise ApplicationError(_("整改事项只用于民主评议会。"))
    text = _text(text, field_label=_("事项内容"), required=True, max_length=DECISION_MAX)
    owner = _text(owner, field_label=_("责任单位"), required=True, max_length=NAME_MAX)
    if not isinstance(due_date, date):
        raise ApplicationError(_("请填写完成时限。"))
    return MeetingDecision.objects.create(meeting=meeting, kind=kind, text=text, owner=owner, due_date=due_date)


@dataclass
class DoneOutcome:
    resolved: list[str] = field(default_factory=list)
    noted: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


NEXT_STATES = {DecisionState.OPEN: {DecisionState.IN_PROGRESS, DecisionState.DONE},
               DecisionState.IN_PROGRESS: {DecisionState.DONE}, DecisionState.DONE: set()}


def decision_update(*, actor, decision: MeetingDecision, state: str, progress: str = "",
                    resolve_appeals: bool = False, now: datetime | None = None) -> DoneOutcome:
    """Follow a decision: 落实中 with its progress, or 已完成.

    Steps: 1. staff of the meeting's community (403); 2. the state moves forward only
    (open → in progress → done; 409), claimed conditionally (of two at once one wins);
    3. when done, each linked open appeal: if ``resolve_appeals`` and it is in progress
    and held by the community or its grids (the table's resolve: the actor's post
    handles it), 办结 through appeals.services.appeal_resolve with the decision as its
    result — the resident is told and evaluates as usual; every other open appeal (held
    elsewhere, or not chosen) gets the decision attached as a ``deliberation_note``
    event. An appeal that cannot be resolved (changed meanwhile) gets the note instead.
    """
    meeting = decision.meeting
    post = _community_post(actor, meeting.community_id)
    now = now or timezone.now()
    if state not in DecisionState.values:
        raise ApplicationError(_("请选择事项状态。"))
    if state not in NEXT_STATES[decision.state]:
        raise Conflict(_("该事项当前为“%(s)s”，不能改为“%(t)s”。") % {
            "s": decision.get_state_display(), "t": DecisionState(state).label})
    progress = _text(progress, field_label=_("进展"), required=state == DecisionState.IN_PROGRESS,
                     max_length=DECISION_MAX)
    changes = {"state": state, "progress": progress or decision.progress}
    if state == DecisionState.DONE:
        changes["done_at"] = now
    if not MeetingDecision.objects.filter(pk=decision.pk, state=decision.state).update(**changes):
        raise Conflict(_("该事项已被他人更新，请刷新后重试。"))
    decision.refresh_from_db()
    outcome = DoneOutcome()
    if state != DecisionState.DONE:
        return outcome
    result = _("依据%(m)s议定：%(t)s（责任单位：%(o)s，已完成）") % {
        "m": _meeting_label(meeting), "t": decision.text, "o": decision.owner}
    jurisdiction = jurisdiction_for(actor)
    label = permissions.actor_label(post)
    for appeal in Appeal.objects.filter(meeting_links__meeting=meeting, state__in=OPEN_STATES).order_by("id"):
        if resolve_appeals and appeal.state == AppealState.IN_PROGRESS and workflow.allowed(
                user=actor, appeal=appeal, action=AppealAction.RESOLVE, jurisdiction=jurisdiction, now=now):
            try:
                appeal_resolve(actor=actor, appeal=appeal, result=result)
                outcome.resolved.append(appeal.tracking_code)
                continue
            except ApplicationError as exc:
                outcome.failed.append((appeal.tracking_code, str(exc)))
                appeal.refresh_from_db()
                if appeal.state not in OPEN_STATES:
                    continue
        decision_note(actor=actor, decision=decision, appeal=appeal, note=result, label=label, now=now)
        outcome.noted.append(appeal.tracking_code)
    return outcome


def decision_note(*, actor, decision: MeetingDecision, appeal: Appeal, note: str, label: str | None = None,
                  now: datetime | None = None) -> None:
    """议事决定 attached to a linked appeal: one ``deliberation_note`` event through the
    transition service (409 outside the table's states: a closed appeal takes nothing)."""
    label = label or permissions.actor_label(_community_post(actor, decision.meeting.community_id))
    with transaction.atomic():
        _transition(_Context(appeal=appeal, actor=actor, label=label, now=now or timezone.now()),
                    AppealAction.DELIBERATION_NOTE, note=note,
                    data=events.DeliberationNote(meeting=decision.meeting_id, decision=decision.pk, state=decision.state))


def meeting_cancel(*, actor, meeting: Meeting) -> Meeting:
    _community_post(actor, meeting.community_id)
    if not Meeting.objects.filter(pk=meeting.pk, state=MeetingState.SCHEDULED).update(state=MeetingState.CANCELLED):
        raise Conflict(_("只有待召开的会议可以取消。"))
    meeting.refresh_from_db()
    return meeting
