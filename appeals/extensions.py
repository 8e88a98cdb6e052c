"""Extensions (延期, DESIGN.md §4): asked by the handler before the deadline, decided
one level up; approval moves the deadline and marks the appeal deferred (缓办).

Who decides, by the handling level when the request was made:
- grid → the community (its workers or secretary);
- community → the street (its officers);
- street → the district: a supervisor post of the appeal's district (督查). Supervisors
  are otherwise read-only; deciding a street's extension is the one 督办 act they take,
  because there is no district handling unit above the street;
- department → the district's supervisors as well (departments are not below streets).

Only the unit at the handling level may ask (a community worker does not ask for its
grid's appeal: it would then approve its own request). At most one request of an
appeal is pending (a partial unique constraint backs the check).
"""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from appeals import events, permissions, sms
from appeals.deadlines import deadline_text, extension_working_days
from appeals.enums import AppealAction, DeadlineUnit, ExtensionState, HandlingLevel
from appeals.escalation import appeal_link
from appeals.models import Appeal, ExtensionRequest
from appeals.tasks import SMS_EXTENDED
from governance.enums import COMMUNITY_ROLES, NotificationKind, Role
from governance.kernel.errors import ApplicationError, Conflict, NotFound
from governance.staff.notifications import Digest, unit_messages, user_message
from governance.staff.selectors import Jurisdiction

REASON_MAX = 1000


def extension_request(
    *, actor, appeal: Appeal, requested_deadline: datetime, reason: str, expected_version: int | None = None,
    now: datetime | None = None,
) -> ExtensionRequest:
    """The handler asks for more time (申请延期).

    Steps: 1. the workflow table permits it (appeals.workflow: outside the jurisdiction
    404; not dispatched or in progress 409; not the handling unit itself 403; the
    deadline passed 400; another request pending 409); 2. a reason and a new deadline
    later than the current one → else ApplicationError; 3. an ``extend_request`` event
    (version checked) and the request, in one transaction; 4. a message to the deciding
    unit.
    """
    from appeals import services

    ctx = services._begin(actor=actor, appeal=appeal, action=AppealAction.EXTEND_REQUEST, expected_version=expected_version,
                          now=now)
    reason = services._text(reason, field_label=_("延期理由"), required=True, max_length=REASON_MAX)
    if not isinstance(requested_deadline, datetime):
        raise ApplicationError(_("请填写申请延至的时间。"))
    if timezone.is_naive(requested_deadline):
        requested_deadline = timezone.make_aware(requested_deadline)
    if requested_deadline <= appeal.deadline:
        raise ApplicationError(
            _("申请延至的时间须晚于现办结时限（%(d)s）。") % {"d": deadline_text(appeal)}
        )
    level = appeal.handling_level
    previous = appeal.deadline
    try:
        with transaction.atomic():
            extension = ExtensionRequest.objects.create(
                appeal=appeal, level=level, requested_by=actor, reason=reason, previous_deadline=previous,
                requested_deadline=requested_deadline,
            )
            messages = unit_messages(kind=NotificationKind.EXTENSION, subject=f"appeal:{appeal.pk}", digests={
                permissions.approver_unit(level=level, appeal=appeal): Digest(
                    title=_("延期申请待审批：%(code)s") % {"code": appeal.tracking_code},
                    body=_("%(who)s申请将办结时限由 %(old)s 延至 %(new)s。理由：%(reason)s") % {
                        "who": ctx.label, "old": deadline_text(previous, appeal.deadline_unit),
                        "new": deadline_text(requested_deadline), "reason": reason,
                    },
                    link=appeal_link(appeal.tracking_code),
                ),
            })
            services._transition(ctx, AppealAction.EXTEND_REQUEST, note=reason, data=events.ExtendRequest(
                extension=extension.pk, requested_deadline=requested_deadline, deadline=previous,
            ), messages=messages)
    except IntegrityError:  # a colleague's request got in first
        raise Conflict(_("该诉求已有待审批的延期申请。")) from None
    return extension


def _decide(*, actor, extension: ExtensionRequest, approve: bool, note: str, expected_version: int | None,
            now: datetime | None) -> ExtensionRequest:
    from appeals import services

    appeal = extension.appeal
    action = AppealAction.EXTEND_APPROVE if approve else AppealAction.EXTEND_REJECT
    ctx = services._begin(actor=actor, appeal=appeal, action=action, expected_version=expected_version, now=now,
                          extension=extension)
    note = services._text(note, field_label=_("驳回理由") if not approve else _("审批意见"), required=not approve,
                          max_length=REASON_MAX)
    state = ExtensionState.APPROVED if approve else ExtensionState.REJECTED
    now = ctx.now
    with transaction.atomic():
        # Claimed conditionally: two approvers at once, exactly one decides.
        if not ExtensionRequest.objects.filter(pk=extension.pk, state=ExtensionState.PENDING).update(
            state=state, decided_by=actor, decided_at=now, decision_note=note,
        ):
            raise Conflict(_("该延期申请已被他人处理，请刷新后重试。"))
        if approve:
            new = extension.requested_deadline
            level_deadline = max(appeal.level_deadline, new) if appeal.level_deadline else new
            changes = {"deadline": new, "level_deadline": level_deadline, "deferred": True}
            days = None
            if appeal.deadline_unit == DeadlineUnit.WORKING_DAYS and appeal.deadline is not None:
                # The deadline's inputs (appeals.deadlines): the extension in working days.
                days = extension_working_days(appeal.deadline, new)
                changes["deadline_extension_days"] = (appeal.deadline_extension_days or 0) + days
            data = events.ExtendApprove(extension=extension.pk, requested_deadline=new,
                                        deadline=(appeal.deadline, new), extension_days=days)
            title = _("延期已批准：%(code)s 办结时限延至 %(d)s") % {"code": appeal.tracking_code, "d": deadline_text(new)}
        else:
            data = events.ExtendReject(extension=extension.pk, requested_deadline=extension.requested_deadline)
            changes = None
            title = _("延期未批准：%(code)s") % {"code": appeal.tracking_code}
        messages = []
        if extension.requested_by_id:
            messages.append(user_message(kind=NotificationKind.EXTENSION, user=extension.requested_by,
                                         subject=f"appeal:{appeal.pk}", digest=Digest(
                                             title=title, body=note or title, link=appeal_link(appeal.tracking_code))))
        if approve:
            # The resident's SMS tells the new deadline.
            messages += sms.messages_for(appeal, SMS_EXTENDED, deadline=deadline_text(new, appeal.deadline_unit))
        services._transition(ctx, action, note=note, data=data, changes=changes, messages=messages)
    extension.refresh_from_db()
    return extension


def extension_approve(*, actor, extension: ExtensionRequest, note: str = "", expected_version: int | None = None,
                      now: datetime | None = None) -> ExtensionRequest:
    """Approve (批准延期) one level up.

    Steps: 1. the workflow table permits it (appeals.workflow: outside the
    jurisdiction 404; not dispatched or in progress 409; the request no longer pending
    409; not the deciding post — one level above the level it was asked at — 403);
    2. in one transaction: the request claimed conditionally, the
    deadline moved to the requested one (the level deadline too, if earlier), the
    extension's working days added to the deadline's inputs (a working-day deadline),
    the appeal marked deferred (缓办), an ``extend_approve`` event (version checked);
    3. the requester told in the inbox; the resident by SMS after commit.
    """
    return _decide(actor=actor, extension=extension, approve=True, note=note, expected_version=expected_version,
                   now=now)


def extension_reject(*, actor, extension: ExtensionRequest, note: str, expected_version: int | None = None,
                     now: datetime | None = None) -> ExtensionRequest:
    """Turn a request down (驳回延期): as ``extension_approve``, with a reason required,
    possible in any open state, and the deadline unchanged."""
    return _decide(actor=actor, extension=extension, approve=False, note=note, expected_version=expected_version,
                   now=now)


def extensions_to_decide(*, jurisdiction: Jurisdiction) -> QuerySet[ExtensionRequest]:
    """The pending requests this account decides, oldest first."""
    q = Q(pk__in=[])
    for post in jurisdiction.posts:
        if post.role in COMMUNITY_ROLES:
            q |= Q(level=HandlingLevel.GRID, appeal__community_id=post.community.code)
        elif post.role == Role.STREET_OFFICER:
            q |= Q(level=HandlingLevel.COMMUNITY, appeal__street_id=post.street.code)
        elif post.role == Role.SUPERVISOR and post.district_id:
            q |= Q(level__in=[HandlingLevel.STREET, HandlingLevel.DEPARTMENT], appeal__district_id=post.district.code)
    return (
        ExtensionRequest.objects.filter(q, state=ExtensionState.PENDING)
        .select_related("appeal__category", "requested_by").order_by("created_at", "id")
    )


def extension_get(*, jurisdiction: Jurisdiction, extension_id: int) -> ExtensionRequest:
    """One request, NotFound outside the jurisdiction (by its appeal)."""
    extension = ExtensionRequest.objects.select_related("appeal__category", "requested_by").filter(pk=extension_id).first()
    if extension is None or not permissions.is_visible(jurisdiction, extension.appeal):
        raise NotFound()
    return extension
