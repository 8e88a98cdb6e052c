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

from appeals import permissions
from appeals.deadlines import deadline_text, extension_working_days
from appeals.enums import AppealAction, DeadlineUnit, ExtensionState, HandlingLevel
from appeals.escalation import appeal_link
from appeals.models import Appeal, ExtensionRequest
from appeals.tasks import SMS_EXTENDED, enqueue_sms
from governance.enums import COMMUNITY_ROLES, NotificationKind, Role
from governance.errors import ActionForbidden, ApplicationError, Conflict
from governance.notifications import Digest, notify_units, notify_users
from governance.selectors import Jurisdiction, jurisdiction_for

A = AppealAction
H = HandlingLevel
REASON_MAX = 1000

_APPROVER_LABEL = {
    H.GRID: "社区", H.COMMUNITY: "街道", H.STREET: "区督查", H.DEPARTMENT: "区督查",
}


def approver_unit(*, level: str, appeal: Appeal) -> tuple[str, str]:
    """The unit key (governance.notifications) of whoever decides a request made at ``level``."""
    if level == H.GRID:
        return ("community", appeal.community_id)
    if level == H.COMMUNITY:
        return ("street", appeal.street_id)
    return ("district", appeal.district_id)


def _handler_post(jurisdiction: Jurisdiction, appeal: Appeal):
    level = appeal.handling_level
    for post in jurisdiction.posts:
        if level == H.GRID and post.role == Role.GRID_WORKER and post.grid.code == appeal.handling_grid_id:
            return post
        if level == H.COMMUNITY and post.role in COMMUNITY_ROLES and post.community.code == appeal.handling_community_id:
            return post
        if level == H.STREET and post.role == Role.STREET_OFFICER and post.street.code == appeal.handling_street_id:
            return post
        if level == H.DEPARTMENT and post.role == Role.DEPARTMENT_HANDLER and post.department_id == appeal.handling_department_id:
            return post
    return None


def _approver_post(jurisdiction: Jurisdiction, extension: ExtensionRequest):
    kind, code = approver_unit(level=extension.level, appeal=extension.appeal)
    for post in jurisdiction.posts:
        if kind == "community" and post.role in COMMUNITY_ROLES and post.community.code == code:
            return post
        if kind == "street" and post.role == Role.STREET_OFFICER and post.street.code == code:
            return post
        if kind == "district" and post.role == Role.SUPERVISOR and post.district_id and post.district.code == code:
            return post
    return None


def _context(*, actor, appeal, post, now, expected_version, jurisdiction):
    from appeals import services

    return services._Context(
        appeal=appeal, actor=actor, label=permissions.actor_label(post), now=now,
        expected_version=expected_version, jurisdiction=jurisdiction, post=post,
    )


def extension_request(
    *, actor, appeal: Appeal, requested_deadline: datetime, reason: str, expected_version: int | None = None,
    now: datetime | None = None,
) -> ExtensionRequest:
    """The handler asks for more time (申请延期).

    Steps: 1. outside the jurisdiction → NotFound; 2. the table (dispatched, in
    progress) → else Conflict; 3. the actor's post is the handling unit itself → else
    ActionForbidden; 4. the deadline has not passed → else ApplicationError; 5. no
    other request is pending → else Conflict; 6. a reason and a new deadline later than
    the current one → else ApplicationError; 7. an ``extend_request`` event (version
    checked) and the request, in one transaction; 8. a message to the deciding unit.
    """
    from appeals import services

    now = now or timezone.now()
    jurisdiction = jurisdiction_for(actor)
    post = extension_request_check(jurisdiction=jurisdiction, appeal=appeal, now=now)
    reason = services._text(reason, field_label=_("延期理由"), required=True, max_length=REASON_MAX)
    if not isinstance(requested_deadline, datetime):
        raise ApplicationError(_("请填写申请延至的时间。"))
    if timezone.is_naive(requested_deadline):
        requested_deadline = timezone.make_aware(requested_deadline)
    if requested_deadline <= appeal.deadline:
        raise ApplicationError(
            _("申请延至的时间须晚于现办结时限（%(d)s）。") % {"d": deadline_text(appeal)}
        )
    ctx = _context(actor=actor, appeal=appeal, post=post, now=now, expected_version=expected_version,
                   jurisdiction=jurisdiction)
    level = appeal.handling_level
    previous = appeal.deadline
    try:
        with transaction.atomic():
            extension = ExtensionRequest.objects.create(
                appeal=appeal, level=level, requested_by=actor, reason=reason, previous_deadline=previous,
                requested_deadline=requested_deadline,
            )
            services._transition(ctx, A.EXTEND_REQUEST, note=reason, data={
                "extension": extension.pk, "requested_deadline": requested_deadline.isoformat(),
                "deadline": previous.isoformat(),
            })
            notify_units(kind=NotificationKind.EXTENSION, digests={
                approver_unit(level=level, appeal=appeal): Digest(
                    title=_("延期申请待审批：%(code)s") % {"code": appeal.tracking_code},
                    body=_("%(who)s申请将办结时限由 %(old)s 延至 %(new)s。理由：%(reason)s") % {
                        "who": ctx.label, "old": deadline_text(previous, appeal.deadline_unit),
                        "new": deadline_text(requested_deadline), "reason": reason,
                    },
                    link=appeal_link(appeal.tracking_code),
                ),
            })
    except IntegrityError:  # a colleague's request got in first
        raise Conflict(_("该诉求已有待审批的延期申请。")) from None
    return extension


def extension_request_check(*, jurisdiction: Jurisdiction, appeal: Appeal, now: datetime | None = None):
    """Steps 1–5 of ``extension_request`` (everything but the input), in its order.
    Returns the handler's post. Pages run it before reading a form."""
    from appeals import services

    now = now or timezone.now()
    permissions.ensure_visible(jurisdiction, appeal)
    services._ensure_table(A.EXTEND_REQUEST, appeal.state)
    post = _handler_post(jurisdiction, appeal)
    if post is None:
        if jurisdiction.posts and all(p.role == Role.SUPERVISOR for p in jurisdiction.posts):
            raise ActionForbidden(_("督查考核账号只读，不能申请延期。"))
        raise ActionForbidden(_("只有当前办理单位可以申请延期。"))
    if appeal.deadline is None or appeal.deadline <= now:
        raise ApplicationError(_("已超过办结时限，不能再申请延期；请尽快办结或上报。"))
    if ExtensionRequest.objects.filter(appeal=appeal, state=ExtensionState.PENDING).exists():
        raise Conflict(_("该诉求已有待审批的延期申请。"))
    return post


def may_request_extension(*, jurisdiction: Jurisdiction, appeal: Appeal, now: datetime | None = None) -> bool:
    """Whether the page may offer 申请延期 (the same checks as extension_request)."""
    try:
        extension_request_check(jurisdiction=jurisdiction, appeal=appeal, now=now)
    except ApplicationError:
        return False
    return True


def extension_pending(*, appeal: Appeal) -> ExtensionRequest | None:
    """The appeal's request waiting for a decision, if any (at most one)."""
    return ExtensionRequest.objects.filter(appeal=appeal, state=ExtensionState.PENDING).select_related(
        "requested_by").first()


def may_decide(*, jurisdiction: Jurisdiction, extension: ExtensionRequest) -> bool:
    """Whether this account decides the request (one level above where it was asked)."""
    return extension.state == ExtensionState.PENDING and _approver_post(jurisdiction, extension) is not None


def decide_check(*, jurisdiction: Jurisdiction, extension: ExtensionRequest, approve: bool):
    """Steps 1–4 of ``extension_approve``/``extension_reject`` (everything but the note),
    in their order. Returns the deciding post. Pages run it before reading a form."""
    from appeals import services

    appeal = extension.appeal
    permissions.ensure_visible(jurisdiction, appeal)
    services._ensure_table(A.EXTEND_APPROVE if approve else A.EXTEND_REJECT, appeal.state)
    if extension.state != ExtensionState.PENDING:
        raise Conflict(_("该延期申请已处理（%(s)s）。") % {"s": extension.get_state_display()})
    post = _approver_post(jurisdiction, extension)
    if post is None:
        raise ActionForbidden(
            _("延期须由上一级审批：该申请由%(unit)s审批。") % {"unit": _APPROVER_LABEL.get(extension.level, "")}
        )
    return post


def _decide(*, actor, extension: ExtensionRequest, approve: bool, note: str, expected_version: int | None,
            now: datetime | None) -> ExtensionRequest:
    from appeals import services

    now = now or timezone.now()
    appeal = extension.appeal
    jurisdiction = jurisdiction_for(actor)
    post = decide_check(jurisdiction=jurisdiction, extension=extension, approve=approve)
    note = services._text(note, field_label=_("驳回理由") if not approve else _("审批意见"), required=not approve,
                          max_length=REASON_MAX)
    ctx = _context(actor=actor, appeal=appeal, post=post, now=now, expected_version=expected_version,
                   jurisdiction=jurisdiction)
    state = ExtensionState.APPROVED if approve else ExtensionState.REJECTED
    with transaction.atomic():
        # Claimed conditionally: two approvers at once, exactly one decides.
        if not ExtensionRequest.objects.filter(pk=extension.pk, state=ExtensionState.PENDING).update(
            state=state, decided_by=actor, decided_at=now, decision_note=note,
        ):
            raise Conflict(_("该延期申请已被他人处理，请刷新后重试。"))
        data = {"extension": extension.pk, "requested_deadline": extension.requested_deadline.isoformat()}
        if approve:
            new = extension.requested_deadline
            level_deadline = max(appeal.level_deadline, new) if appeal.level_deadline else new
            data["deadline"] = [appeal.deadline.isoformat() if appeal.deadline else None, new.isoformat()]
            changes = {"deadline": new, "level_deadline": level_deadline, "deferred": True}
            if appeal.deadline_unit == DeadlineUnit.WORKING_DAYS and appeal.deadline is not None:
                # The deadline's inputs (appeals.deadlines): the extension in working days.
                days = extension_working_days(appeal.deadline, new)
                changes["deadline_extension_days"] = (appeal.deadline_extension_days or 0) + days
                data["extension_days"] = days
            services._transition(ctx, A.EXTEND_APPROVE, note=note, data=data, changes=changes)
            title = _("延期已批准：%(code)s 办结时限延至 %(d)s") % {"code": appeal.tracking_code, "d": deadline_text(new)}
        else:
            services._transition(ctx, A.EXTEND_REJECT, note=note, data=data)
            title = _("延期未批准：%(code)s") % {"code": appeal.tracking_code}
        if extension.requested_by_id:
            notify_users(kind=NotificationKind.EXTENSION, items=[(extension.requested_by, Digest(
                title=title, body=note or title, link=appeal_link(appeal.tracking_code),
            ))])
        if approve and appeal.phone_is_mobile:
            enqueue_sms(appeal_id=appeal.pk, kind=SMS_EXTENDED)
    extension.refresh_from_db()
    return extension


def extension_approve(*, actor, extension: ExtensionRequest, note: str = "", expected_version: int | None = None,
                      now: datetime | None = None) -> ExtensionRequest:
    """Approve (批准延期) one level up.

    Steps: 1. outside the jurisdiction → NotFound; 2. the table (dispatched, in
    progress) → else Conflict; 3. the request is still pending → else Conflict; 4. the
    actor holds the deciding post (one level above the level it was asked at) → else
    ActionForbidden; 5. in one transaction: the request claimed conditionally, the
    deadline moved to the requested one (the level deadline too, if earlier), the
    extension's working days added to the deadline's inputs (a working-day deadline),
    the appeal marked deferred (缓办), an ``extend_approve`` event (version checked);
    6. the requester told in the inbox; the resident by SMS after commit.
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
            q |= Q(level=H.GRID, appeal__community_id=post.community.code)
        elif post.role == Role.STREET_OFFICER:
            q |= Q(level=H.COMMUNITY, appeal__street_id=post.street.code)
        elif post.role == Role.SUPERVISOR and post.district_id:
            q |= Q(level__in=[H.STREET, H.DEPARTMENT], appeal__district_id=post.district.code)
    return (
        ExtensionRequest.objects.filter(q, state=ExtensionState.PENDING)
        .select_related("appeal__category", "requested_by").order_by("created_at", "id")
    )


def extension_get(*, jurisdiction: Jurisdiction, extension_id: int) -> ExtensionRequest:
    """One request, NotFound outside the jurisdiction (by its appeal)."""
    from governance.errors import NotFound

    extension = ExtensionRequest.objects.select_related("appeal__category", "requested_by").filter(pk=extension_id).first()
    if extension is None or not permissions.is_visible(jurisdiction, extension.appeal):
        raise NotFound()
    return extension
