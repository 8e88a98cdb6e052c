"""The resident's actions (withdraw, evaluate), the volunteer's claim (接单) and the
system's close of an appeal not evaluated in time."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from appeals import events, notices, permissions, workflow
from appeals.archive import AppealArchived, archived_appeal
from appeals.enums import AppealAction, AppealState, AttachmentKind, HandlingLevel, Rating
from appeals.events import RESIDENT_LABEL, SYSTEM_LABEL
from appeals.hooks import CLAIMED_APPEAL_CLOSED
from appeals.models import Appeal, normalize_tracking_code
from appeals.services.core import (
    _attach,
    _clean_photos,
    _Context,
    _text,
    _transition,
)
from appeals.workdays import deadline_for
from governance.enums import NotificationKind
from governance.kernel import hooks
from governance.kernel.errors import ActionForbidden, ApplicationError, Conflict, NotFound
from governance.staff.notifications import Digest, unit_messages


def appeal_for_resident(*, tracking_code: str, phone_last4: str) -> Appeal:
    """The appeal whose tracking code and phone's last 4 digits match; NotFound otherwise
    (the same answer for both, so a guess learns nothing); AppealArchived (with its year)
    when they match an archived one (appeals.archive). Callers throttle guesses."""
    code = normalize_tracking_code(tracking_code)
    last4 = (phone_last4 or "").strip()
    appeal = Appeal.objects.filter(tracking_code=code).select_related("category").first() if code else None
    if appeal is None and len(last4) == 4 and (archived := archived_appeal(code)) and archived.phone.endswith(last4):
        raise AppealArchived(archived.year)
    if appeal is None or len(last4) != 4 or not appeal.phone or not appeal.phone.endswith(last4):
        raise NotFound(_("查询码或手机号后四位不正确。"))
    return appeal


def appeal_withdraw_by_resident(*, tracking_code: str, phone_last4: str, reason: str = "") -> Appeal:
    """The resident withdraws (撤回) an appeal not yet signed for. Conflict after that."""
    appeal = appeal_for_resident(tracking_code=tracking_code, phone_last4=phone_last4)
    reason = _text(reason, field_label=_("撤回原因"), required=False)
    ctx = _Context(appeal=appeal, actor=None, label=RESIDENT_LABEL, now=timezone.now())
    with transaction.atomic():
        _transition(ctx, AppealAction.WITHDRAW, note=reason)
    return appeal


def _supplement_messages(appeal: Appeal, *, text: str, photos: int) -> list:
    """The inbox message of a 补充 to the unit that holds the appeal: its handling unit, or
    the queue it waits in (community or street dispatch centre)."""
    from appeals.escalation import appeal_link

    key = appeal.handler_key
    if key is None and appeal.street_id:
        unit = events.queue_unit(queue=appeal.queue_level, community_code=appeal.community_id,
                                 street_code=appeal.street_id)
        key = (unit.level, unit.code)
    if key is None:
        return []
    parts = [text[:120] + ("…" if len(text) > 120 else "")] if text else []
    if photos:
        parts.append(_("附照片 %(n)s 张。") % {"n": photos})
    digest = Digest(
        title=_("居民补充：诉求 %(code)s") % {"code": appeal.tracking_code},
        body="\n".join(parts), link=appeal_link(appeal.tracking_code),
    )
    return unit_messages(kind=NotificationKind.SUPPLEMENT, digests={key: digest},
                         subject=f"appeal:{appeal.pk}")


def appeal_supplement(*, tracking_code: str, phone_last4: str, text: str = "", photos=()) -> Appeal:
    """The resident adds text or photos (补充) to an open appeal — also the way to send a
    photo that could not be stored at submission.

    Steps: 1. find the appeal by tracking code + last 4 digits (NotFound); 2. the table
    allows a 补充 in the appeal's state (open; Conflict otherwise); 3. text (≤ NOTE_MAX)
    or at least one photo, each checked and re-encoded without metadata as at intake;
    4. in one transaction: the event (its note the text, its data the photo count,
    the version untouched: no handler's open form goes stale), the photos attached to it
    (a photo that cannot be stored stops it: 503, the resident tries again), and the
    inbox message to the unit holding the appeal (the outbox).
    """
    appeal = appeal_for_resident(tracking_code=tracking_code, phone_last4=phone_last4)
    workflow.ensure_state(AppealAction.SUPPLEMENT, appeal.state)
    text = _text(text, field_label=_("补充内容"), required=False)
    clean = _clean_photos(photos)
    if not text and not clean:
        raise ApplicationError(_("请填写补充内容或选择照片。"))
    ctx = _Context(appeal=appeal, actor=None, label=RESIDENT_LABEL, now=timezone.now())
    with transaction.atomic():
        event = _transition(ctx, AppealAction.SUPPLEMENT, note=text, data=events.Supplement(photos=len(clean)),
                            messages=_supplement_messages(appeal, text=text, photos=len(clean)))
        _attach(appeal, event, clean, AttachmentKind.SUPPLEMENT)
    return appeal


def appeal_evaluate(
    *, tracking_code: str, phone_last4: str, solved: bool, rating: str, comment: str = "",
    expected_version: int | None = None,
) -> Appeal:
    """The resident evaluates (评价) the result.

    Steps: 1. find the appeal by tracking code + last 4 digits; 2. satisfied or basically
    satisfied → closed; 3. unsatisfied → rework (返工): back to in_progress with
    rework_count + 1 and a fresh level deadline, unless APPEAL_REWORK_LIMIT reworks have
    been done: then closed and flagged for supervisors. The evaluation is kept in the
    event's data (and on the appeal when it closes).
    """
    appeal = appeal_for_resident(tracking_code=tracking_code, phone_last4=phone_last4)
    if rating not in Rating.values:
        raise ApplicationError(_("请选择满意、基本满意或不满意。"))
    if solved not in (True, False):
        raise ApplicationError(_("请选择问题是否已解决。"))
    comment = _text(comment, field_label=_("评价意见"), required=False)
    now = timezone.now()
    ctx = _Context(appeal=appeal, actor=None, label=RESIDENT_LABEL, now=now, expected_version=expected_version)
    evaluation = dict(solved=solved, rating=rating, comment=comment)
    closing = {"solved": solved, "rating": rating, "evaluation_comment": comment, "closed_at": now}
    with transaction.atomic():
        if rating != Rating.UNSATISFIED:
            _transition(ctx, AppealAction.EVALUATE, to_state=AppealState.CLOSED, changes=closing, note=comment,
                        data=events.Evaluate(**evaluation))
            _credit_claimant(appeal, rating)
        elif appeal.rework_count < settings.APPEAL_REWORK_LIMIT:
            level_deadline = deadline_for(appeal.category, now) if appeal.category else appeal.level_deadline
            # The handling unit is told to work on it again (返工).
            messages = notices.reworked(appeal, why=_("居民不满意"), note=comment, level_deadline=level_deadline)
            _transition(
                ctx, AppealAction.EVALUATE, to_state=AppealState.IN_PROGRESS, note=comment, data=events.Evaluate(**evaluation, rework=True),
                changes={"rework_count": F("rework_count") + 1, "resolved_at": None, "feedback_at": None,
                         "verified": False, "level_deadline": level_deadline},
                messages=messages,
            )
        else:
            _transition(ctx, AppealAction.EVALUATE, to_state=AppealState.CLOSED, note=comment,
                        changes={**closing, "flagged_for_supervisor": True},
                        data=events.Evaluate(**evaluation, rework_limit_reached=True))
            _credit_claimant(appeal, rating)
    return appeal


def _credit_claimant(appeal: Appeal, rating: str) -> None:
    """The evaluation that closes a claimed appeal decides the volunteer's points, in the
    same transaction, through the hook the volunteers app registers. A rework round earns
    nothing: the appeal goes back to the volunteer, and the evaluation that finally closes
    it (at the rework limit: 不满意, 0 by default) decides."""
    if appeal.claimed_by_id is None:
        return
    hooks.fire(CLAIMED_APPEAL_CLOSED, appeal=appeal, rating=rating)


def appeal_claim(*, actor, appeal: Appeal, volunteer, active: bool, expected_version: int | None = None) -> Appeal:
    """A volunteer claims (接单) an appeal from their community's order hall: 平台派单、党员接单
    (``volunteer``: the claiming volunteer, found by the volunteers app; ``active``: whether
    their status lets them claim).

    Steps: 1. the volunteer is of the appeal's community and the category is
    volunteer-suitable → else NotFound; 2. already claimed → Conflict "已被其他志愿者接单";
    3. the table allows claim (dispatched) → else Conflict; the handler is the community
    or one of its grids → else Conflict; 4. the volunteer is active → else
    ActionForbidden; 5. the conditional update on (version, state) sets ``claimed_by``
    and moves the appeal to in_progress with one claim event. Of concurrent claims
    exactly one row changes; the others get Conflict "已被其他志愿者接单". The handling
    unit stays responsible (deadlines, feedback); the volunteer may then contact, note
    and resolve through ``appeal_act``.
    """
    if volunteer is None or not permissions.in_order_hall_community(appeal, volunteer.community_id):
        raise NotFound()
    taken = _("该诉求已被其他志愿者接单。")
    if appeal.claimed_by_id is not None:
        raise Conflict(_("您已接下该诉求。") if appeal.claimed_by_id == volunteer.pk else taken)
    workflow.ensure_state(AppealAction.CLAIM, appeal.state)
    if appeal.handling_level not in (HandlingLevel.GRID, HandlingLevel.COMMUNITY):
        raise Conflict(_("该诉求已不在本社区的接单大厅。"))
    if not active:
        raise ActionForbidden(_("您的志愿者身份已暂停或退出，不能接单。"))
    ctx = _Context(
        appeal=appeal, actor=actor, label=permissions.claimant_label(volunteer), now=timezone.now(),
        expected_version=expected_version,
    )
    try:
        with transaction.atomic():
            _transition(ctx, AppealAction.CLAIM, changes={"claimed_by": volunteer},
                        data=events.Claim(volunteer_id=volunteer.pk, volunteer=volunteer.name))
    except Conflict:
        claimed_by = Appeal.objects.filter(pk=appeal.pk).values_list("claimed_by_id", flat=True).first()
        if claimed_by is not None and claimed_by != volunteer.pk:
            raise Conflict(taken) from None
        raise
    return appeal


def appeal_close_unevaluated(*, appeal: Appeal, now: datetime | None = None) -> Appeal:
    """The system closes an appeal the resident did not evaluate within
    APPEAL_AUTO_CLOSE_DAYS of the feedback. Conflict if it is not due (or changed)."""
    now = now or timezone.now()
    due = appeal.feedback_at and appeal.feedback_at <= now - timedelta(days=settings.APPEAL_AUTO_CLOSE_DAYS)
    if appeal.state == AppealState.AWAITING_EVALUATION and not due:
        raise Conflict(_("反馈后未满 %(n)s 天，不能按未评价结案。") % {"n": settings.APPEAL_AUTO_CLOSE_DAYS})
    ctx = _Context(appeal=appeal, actor=None, label=SYSTEM_LABEL, now=now)
    with transaction.atomic():
        _transition(ctx, AppealAction.CLOSE_UNEVALUATED, changes={"closed_at": now},
                    note=_("居民 %(n)s 天内未评价，自动结案。") % {"n": settings.APPEAL_AUTO_CLOSE_DAYS})
    return appeal
