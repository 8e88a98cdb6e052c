"""The staff's actions on one appeal, one typed service each, and the automatic feedback
after resolve and verify.

Each function: 1. asks the workflow table whether the actor may take the action now
(appeals.workflow.permit: 404, 409, 403 or the action's precondition, in that order);
2. validates its own input (400) — so a required input defaults to empty and is refused
here, after the table's answer; 3. applies the table's row through the transition
service, in one transaction (a stale ``expected_version`` → 409 "already changed");
4. side effects after commit. ``expected_version`` is the version the user saw (a hidden
form field, the API's field); by default the appeal's own.

``appeal_act`` takes an action by name (pages and the API post to one URL per action).
"""

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from appeals import events, notices, permissions, sms, workflow
from appeals.enums import (
    OPEN_STATES,
    STAFF_FEEDBACK_METHODS,
    AppealAction,
    AppealState,
    AttachmentKind,
    FeedbackMethod,
    HandlingLevel,
    QueueLevel,
)
from appeals.events import SYSTEM_LABEL
from appeals.models import DESCRIPTION_MAX, Appeal, AppealAttachment, AppealCoHandler, Category, normalize_tracking_code
from appeals.services.core import (
    _attach,
    _begin,
    _changed_message,
    _clean_photos,
    _Context,
    _text,
    _transition,
)
from appeals.services.dispatch import _ESCALATION_OF, _dispatch, _handling_changes, ensure_redispatch_confirmed
from appeals.suggest import records as suggestion_records
from appeals.tasks import SMS_FEEDBACK
from appeals.workdays import deadline_for
from governance.enums import Role
from governance.kernel.errors import ActionForbidden, ApplicationError, Conflict, NotFound
from grids.models import Department


def _auto_feedback(ctx: _Context) -> None:
    """The result notification is the feedback step for appeals with a mobile number."""
    appeal = ctx.appeal
    if not appeal.phone_is_mobile or appeal.state != AppealState.RESOLVED:
        return
    if workflow.needs_verification(appeal) and not appeal.verified:
        return
    system = _Context(appeal=appeal, actor=None, label=SYSTEM_LABEL, now=ctx.now)
    _transition(system, AppealAction.FEEDBACK, changes={"feedback_at": ctx.now},
                note=_("已向居民发送办理结果和评价链接短信。"), data=events.Feedback(method=FeedbackMethod.SMS),
                messages=[sms.message(appeal, SMS_FEEDBACK)])


def _with_note(*, actor, appeal: Appeal, action: str, expected_version: int | None, note: str, field_label) -> Appeal:
    """An action whose one input is its required text (不予受理's reason, 办理进展)."""
    ctx = _begin(actor=actor, appeal=appeal, action=action, expected_version=expected_version)
    note = _text(note, field_label=field_label, required=True)
    with transaction.atomic():
        _transition(ctx, action, note=note)
    return ctx.appeal


def appeal_dispatch(*, actor, appeal: Appeal, unit=None, category: Category | None = None, note: str = "",
                    confirm_return: bool = False, expected_version: int | None = None) -> Appeal:
    """派单 from the queue the appeal waits in (community, or the street's dispatch centre)
    to a unit of its place or a department of its district; the deadlines start here.
    Back to the unit that just returned it (退单): only with ``confirm_return`` and a
    note (appeals.services.dispatch.ensure_redispatch_confirmed). The unit is told in
    its inbox."""
    ctx = _begin(actor=actor, appeal=appeal, action=AppealAction.DISPATCH, expected_version=expected_version)
    if unit is None:
        raise ApplicationError(_("请选择办理单位。"))
    note = _text(note, field_label=_("说明"), required=False)
    ensure_redispatch_confirmed(appeal, unit=unit, confirm=bool(confirm_return), note=note)
    level = QueueLevel.STREET if ctx.post.role == Role.STREET_OFFICER else QueueLevel.COMMUNITY
    with transaction.atomic():
        _dispatch(ctx, unit=unit, category=category, dispatcher_level=level, note=note)
        if category is not None:
            suggestion_records.category_corrected(appeal_id=appeal.pk, code=category.code)
    return ctx.appeal


def appeal_decline(*, actor, appeal: Appeal, reason: str = "", expected_version: int | None = None) -> Appeal:
    """不予受理, with the reason the resident reads."""
    return _with_note(actor=actor, appeal=appeal, action=AppealAction.DECLINE, expected_version=expected_version,
                      note=reason, field_label=_("不予受理的理由"))


def appeal_merge(*, actor, appeal: Appeal, target=None, note: str = "", expected_version: int | None = None) -> Appeal:
    """并案 into another open appeal of the jurisdiction (``target``: the appeal, or its tracking code)."""
    ctx = _begin(actor=actor, appeal=appeal, action=AppealAction.MERGE, expected_version=expected_version)
    if target is None or target == "":
        raise ApplicationError(_("请填写要并入的诉求查询码。"))
    if isinstance(target, str):
        code = normalize_tracking_code(target)
        target = Appeal.objects.filter(tracking_code=code).first()
        if target is None or not permissions.is_visible(ctx.jurisdiction, target):
            raise ApplicationError(_("找不到查询码为“%(code)s”的诉求，或不在您的辖区内。") % {"code": code})
    elif not permissions.is_visible(ctx.jurisdiction, target):
        raise NotFound()
    if target.pk == appeal.pk:
        raise ApplicationError(_("不能把诉求并入它自己。"))
    if target.state not in OPEN_STATES or target.merged_into_id:
        raise ApplicationError(_("诉求 %(code)s 已结束，不能并入。") % {"code": target.tracking_code})
    note = _text(note, field_label=_("说明"), required=False)
    with transaction.atomic():
        _transition(ctx, AppealAction.MERGE, changes={"merged_into": target}, note=note,
                    data=events.Merge(merged_into=target.tracking_code))
    return ctx.appeal


def appeal_sign(*, actor, appeal: Appeal, contact: bool = False, note: str = "",
                expected_version: int | None = None) -> Appeal:
    """签收, recording the first contact with the resident (先行联系) when it happened with it."""
    ctx = _begin(actor=actor, appeal=appeal, action=AppealAction.SIGN, expected_version=expected_version)
    note = _text(note, field_label=_("说明"), required=False)
    changes = {}
    if contact and appeal.first_contact_at is None:
        changes["first_contact_at"] = ctx.now
    with transaction.atomic():
        _transition(ctx, AppealAction.SIGN, changes=changes, note=note, data=events.Sign(contact=bool(contact)))
    return ctx.appeal


def appeal_contact(*, actor, appeal: Appeal, note: str = "", expected_version: int | None = None) -> Appeal:
    """先行联系 (the response the response rate measures), or a later contact."""
    ctx = _begin(actor=actor, appeal=appeal, action=AppealAction.CONTACT, expected_version=expected_version)
    note = _text(note, field_label=_("联系情况"), required=False)
    first = appeal.first_contact_at is None
    with transaction.atomic():
        _transition(ctx, AppealAction.CONTACT, changes={"first_contact_at": ctx.now} if first else {}, note=note,
                    data=events.Contact(first=first))
    return ctx.appeal


def appeal_return(*, actor, appeal: Appeal, reason: str = "", expected_version: int | None = None) -> Appeal:
    """退单: back to whoever dispatched it. A community's dispatch returns to the
    community's queue (unless the community itself returns it); automatic and street
    dispatch return to the street's dispatch centre, which reviews returns."""
    ctx = _begin(actor=actor, appeal=appeal, action=AppealAction.RETURN, expected_version=expected_version)
    reason = _text(reason, field_label=_("退单理由"), required=True)
    back_to_community = (
        appeal.dispatcher_level == QueueLevel.COMMUNITY
        and appeal.handling_level != HandlingLevel.COMMUNITY
        and appeal.community_id
    )
    queue = QueueLevel.COMMUNITY if back_to_community else QueueLevel.STREET
    changes = {
        "handling_level": "", "handling_grid": None, "handling_community": None, "handling_street": None,
        "handling_department": None, "queue_level": queue,
    }
    unit = events.queue_unit(queue=queue, community_code=appeal.community_id, street_code=appeal.street_id)
    returned_by = str(appeal.handling_unit)
    messages = notices.returned(appeal, key=(unit.level, unit.code), returned_by=returned_by, reason=reason,
                                actor=actor)
    with transaction.atomic():
        _transition(ctx, AppealAction.RETURN, changes=changes, note=reason, data=events.Return(
            queue=queue, unit_level=unit.level, unit_code=unit.code, returned_by=returned_by), messages=messages)
    return ctx.appeal


def appeal_reroute(*, actor, appeal: Appeal, reason: str = "", category: Category | None = None, unit=None,
                   to_street: bool = False, expected_version: int | None = None) -> Appeal:
    """改派 by the dispatcher: a new category, a new handling unit (when dispatched), or a
    waiting appeal handed to the street's dispatch centre (``to_street``)."""
    ctx = _begin(actor=actor, appeal=appeal, action=AppealAction.REROUTE, expected_version=expected_version)
    reason = _text(reason, field_label=_("改派理由"), required=True)
    changes: dict = {}
    data: dict = {}
    messages: list = []
    if category is not None and category.pk != appeal.category_id:
        if not category.active:
            raise ApplicationError(_("类别“%(c)s”已停用。") % {"c": category})
        changes["category"] = category
        data["category"] = (appeal.category.code if appeal.category else None, category.code)
    if appeal.state == AppealState.RECEIVED:
        if unit is not None:
            raise ApplicationError(_("待派单的诉求请直接派单。"))
        if to_street and appeal.queue_level != QueueLevel.STREET:
            changes["queue_level"] = QueueLevel.STREET
            data.update(queue=(appeal.queue_level, QueueLevel.STREET), unit_level=HandlingLevel.STREET,
                        unit_code=appeal.street_id)
            messages = notices.awaiting_dispatch(appeal, key=(HandlingLevel.STREET, appeal.street_id), reason=reason,
                                                 actor=actor)
    elif unit is not None:
        before = str(appeal.handling_unit)
        handling = _handling_changes(appeal, unit)
        if handling["handling_level"] != appeal.handling_level or appeal.handling_unit != unit:
            changes.update(handling)
            changes["escalation_level"] = _ESCALATION_OF[handling["handling_level"]]
            data.update(unit=(before, str(unit)), unit_level=handling["handling_level"], unit_code=unit.code)
            messages = notices.dispatched(appeal, level=handling["handling_level"], unit=unit,
                                          category=changes.get("category"), deadline=appeal.deadline,
                                          deadline_unit=appeal.deadline_unit, note=reason, by=ctx.label,
                                          actor=actor, rerouted=True)
    if not data:
        raise ApplicationError(_("请选择新的类别或办理单位。"))
    with transaction.atomic():
        _transition(ctx, AppealAction.REROUTE, changes=changes, note=reason, data=events.Reroute(**data),
                    messages=messages)
        if "category" in changes:
            # 智能分拨: a category the intake chose by suggestion, corrected, is overridden.
            suggestion_records.category_corrected(appeal_id=appeal.pk, code=changes["category"].code)
    return ctx.appeal


def appeal_resolve(*, actor, appeal: Appeal, result: str = "", photos=(), expected_version: int | None = None) -> Appeal:
    """办结 with the result (and photos); for an appeal with a mobile that needs no on-site
    check, the result SMS with the evaluation link is the feedback (automatic)."""
    ctx = _begin(actor=actor, appeal=appeal, action=AppealAction.RESOLVE, expected_version=expected_version)
    result = _text(result, field_label=_("办理结果"), required=True, max_length=DESCRIPTION_MAX)
    clean = _clean_photos(photos)
    with transaction.atomic():
        event = _transition(ctx, AppealAction.RESOLVE, note=result, data=events.Resolve(photos=len(clean)),
                            changes={"result": result, "resolved_at": ctx.now, "verified": False})
        _attach(ctx.appeal, event, clean, AttachmentKind.RESULT)
        _auto_feedback(ctx)
    return ctx.appeal


def appeal_verify_pass(*, actor, appeal: Appeal, note: str = "", expected_version: int | None = None) -> Appeal:
    """核查通过 on site. Steps: 1. the table's answer (the guard: the appeal needs 核查 and
    is not verified yet); 2. verified, and the state the table's row leads to
    (workflow.verify_pass_target): a 主动发现 appeal with no resident's phone is closed
    here — no feedback, no evaluation; any other stays resolved and 3. the feedback
    follows (automatic for a mobile)."""
    ctx = _begin(actor=actor, appeal=appeal, action=AppealAction.VERIFY_PASS, expected_version=expected_version)
    note = _text(note, field_label=_("核查情况"), required=False)
    to_state = workflow.verify_pass_target(appeal)
    changes = {"verified": True}
    if to_state == AppealState.CLOSED:
        changes["closed_at"] = ctx.now
    with transaction.atomic():
        _transition(ctx, AppealAction.VERIFY_PASS, to_state=to_state, changes=changes, note=note)
        _auto_feedback(ctx)
    return ctx.appeal


def appeal_verify_fail(*, actor, appeal: Appeal, reason: str = "", expected_version: int | None = None) -> Appeal:
    """核查未通过: back to work (返工) with a fresh level deadline."""
    ctx = _begin(actor=actor, appeal=appeal, action=AppealAction.VERIFY_FAIL, expected_version=expected_version)
    reason = _text(reason, field_label=_("核查未通过的原因"), required=True)
    level_deadline = deadline_for(appeal.category, ctx.now)
    messages = notices.reworked(appeal, why=_("核查未通过"), note=reason, level_deadline=level_deadline, actor=actor)
    with transaction.atomic():
        _transition(ctx, AppealAction.VERIFY_FAIL, changes={"resolved_at": None, "level_deadline": level_deadline},
                    note=reason, messages=messages)
    return ctx.appeal


def appeal_feedback(*, actor, appeal: Appeal, method: str = FeedbackMethod.PHONE, note: str = "",
                    expected_version: int | None = None) -> Appeal:
    """反馈/回访 recorded by staff after a call or a visit (appeals without a mobile)."""
    ctx = _begin(actor=actor, appeal=appeal, action=AppealAction.FEEDBACK, expected_version=expected_version)
    if method not in STAFF_FEEDBACK_METHODS:
        raise ApplicationError(_("请选择反馈方式：%(methods)s。") % {
            "methods": "、".join(str(m.label) for m in STAFF_FEEDBACK_METHODS)})
    note = _text(note, field_label=_("反馈情况"), required=False)
    with transaction.atomic():
        _transition(ctx, AppealAction.FEEDBACK, changes={"feedback_at": ctx.now}, note=note,
                    data=events.Feedback(method=method))
    return ctx.appeal


def appeal_note(*, actor, appeal: Appeal, note: str = "", expected_version: int | None = None) -> Appeal:
    """办理进展, by a unit taking part in the handling (or the claimant)."""
    return _with_note(actor=actor, appeal=appeal, action=AppealAction.NOTE, expected_version=expected_version,
                      note=note, field_label=_("办理进展"))


SUPERVISION_NOTE_MAX = 1000


def appeal_supervise(*, actor, appeal: Appeal, note: str = "", expected_version: int | None = None) -> Appeal:
    """A supervisor's 督办意见 (DESIGN.md §3: their one write). It changes nothing a handler
    acts on, so the appeal's version is left alone (the table's ``keeps_version``) and no
    handler's open form goes stale; the handling unit is told in its inbox."""
    ctx = _begin(actor=actor, appeal=appeal, action=AppealAction.SUPERVISE)
    note = _text(note, field_label=_("督办意见"), required=True, max_length=SUPERVISION_NOTE_MAX)
    messages = notices.supervised(appeal, note=note, actor=actor)
    with transaction.atomic():
        _transition(ctx, AppealAction.SUPERVISE, note=note, messages=messages)
    return ctx.appeal


PUBLIC_SUMMARY_MAX = 1000


def appeal_publish(*, actor, appeal: Appeal, summary: str = "", photos=(), expected_version: int | None = None) -> Appeal:
    """公开摘要 (DESIGN.md §8): what the public reads of the appeal instead of the resident's
    own words — written by staff, or the description approved as edited — and which of its
    photos the public may see. An empty summary withdraws it (the public description is
    empty again).

    Steps: 1. the table (404, 409 declined/withdrawn, 403, then a public category and, for
    staff intake, the resident's consent); 2. the text (≤ 1,000) and the photos, which
    must be this appeal's; 3. in one transaction: the summary, every photo's public flag,
    the event (its note is the summary). The version is kept: nothing a handler acts on
    changes, so no open form goes stale (the table's ``keeps_version``)."""
    ctx = _begin(actor=actor, appeal=appeal, action=AppealAction.PUBLISH)
    summary = _text(summary, field_label=_("公开摘要"), required=False, max_length=PUBLIC_SUMMARY_MAX)
    try:
        chosen = sorted({int(p.pk if hasattr(p, "pk") else p) for p in photos or ()})
    except (TypeError, ValueError):
        raise ApplicationError(_("请选择该诉求的照片。")) from None
    own = set(AppealAttachment.objects.filter(appeal=appeal).values_list("pk", flat=True))
    if not set(chosen) <= own:
        raise ApplicationError(_("所选照片不属于该诉求。"))
    with transaction.atomic():
        Appeal.objects.filter(pk=appeal.pk).update(public_summary=summary, updated_at=ctx.now)
        AppealAttachment.objects.filter(appeal=appeal, pk__in=chosen).update(public=True)
        AppealAttachment.objects.filter(appeal=appeal).exclude(pk__in=chosen).update(public=False)
        _transition(ctx, AppealAction.PUBLISH, note=summary or _("已撤下公开摘要。"),
                    data=events.Publish(photos=tuple(chosen)))
    return ctx.appeal


def appeal_whistle(*, actor, appeal: Appeal, departments=(), note: str = "",
                   expected_version: int | None = None) -> Appeal:
    """吹哨: the street summons departments of its district to the appeal; each reports (报到)."""
    ctx = _begin(actor=actor, appeal=appeal, action=AppealAction.WHISTLE, expected_version=expected_version)
    departments = list(departments or ())
    if not departments:
        raise ApplicationError(_("请选择要吹哨的职能部门。"))
    for dept in departments:
        if dept.district_id != appeal.district_id:
            raise ApplicationError(_("“%(d)s”不是本区的职能部门。") % {"d": dept})
    already = set(permissions.cohandler_departments(appeal))
    new = [d for d in departments if d.pk not in already]
    if not new:
        raise ApplicationError(_("所选部门均已吹哨，请等待其报到。"))
    note = _text(note, field_label=_("说明"), required=False, max_length=200)
    messages = notices.whistled(appeal, departments=new, by=ctx.label, note=note, actor=actor)
    with transaction.atomic():
        _transition(ctx, AppealAction.WHISTLE, note=note, data=events.Whistle(
            departments=tuple(d.name for d in new), codes=tuple(d.code for d in new)), messages=messages)
        AppealCoHandler.objects.bulk_create(
            [AppealCoHandler(appeal=appeal, department=d, summoned_by=actor, note=note) for d in new]
        )
    return ctx.appeal


def appeal_checkin(*, actor, appeal: Appeal, department: Department | None = None, note: str = "",
                   expected_version: int | None = None) -> Appeal:
    """报到 of a whistled department (``department`` when the account serves several)."""
    ctx = _begin(actor=actor, appeal=appeal, action=AppealAction.CHECKIN, expected_version=expected_version)
    pending = {d for d, checked in permissions.cohandler_departments(appeal).items() if not checked}
    mine = [p.department_id for p in ctx.jurisdiction.posts
            if p.role == Role.DEPARTMENT_HANDLER and p.department_id in pending]
    dept_id = department.pk if department is not None else (mine[0] if mine else None)
    if dept_id not in mine:
        raise ActionForbidden(_("该部门未被吹哨，或已报到。"))
    note = _text(note, field_label=_("说明"), required=False, max_length=200)
    with transaction.atomic():
        # Claim the 报到 conditionally as well: two colleagues of one department at once.
        if not AppealCoHandler.objects.filter(appeal=appeal, department_id=dept_id, checked_in_at__isnull=True).update(
            checked_in_at=ctx.now, note=note or F("note")
        ):
            raise Conflict(_changed_message())
        name = Department.objects.filter(pk=dept_id).values_list("name", flat=True).first()
        _transition(ctx, AppealAction.CHECKIN, note=note, data=events.Checkin(department=name, department_id=dept_id))
    return ctx.appeal


def _escalate(**kwargs):
    from appeals.escalation import appeal_escalate

    return appeal_escalate(**kwargs)


def _extend(**kwargs):
    from appeals.extensions import extension_request

    extension_request(**kwargs)
    return kwargs["appeal"]


# The service of each action a page or the API offers (appeals.workflow.OFFERED_ORDER).
SERVICES = {
    AppealAction.DISPATCH: appeal_dispatch, AppealAction.DECLINE: appeal_decline, AppealAction.MERGE: appeal_merge,
    AppealAction.SIGN: appeal_sign, AppealAction.CONTACT: appeal_contact, AppealAction.RETURN: appeal_return,
    AppealAction.REROUTE: appeal_reroute, AppealAction.RESOLVE: appeal_resolve,
    AppealAction.VERIFY_PASS: appeal_verify_pass, AppealAction.VERIFY_FAIL: appeal_verify_fail,
    AppealAction.FEEDBACK: appeal_feedback, AppealAction.NOTE: appeal_note, AppealAction.WHISTLE: appeal_whistle,
    AppealAction.CHECKIN: appeal_checkin, AppealAction.ESCALATE: _escalate, AppealAction.EXTEND_REQUEST: _extend,
    AppealAction.SUPERVISE: appeal_supervise, AppealAction.PUBLISH: appeal_publish,
}
assert set(SERVICES) == set(workflow.STAFF_ACTIONS)


def appeal_act(*, actor, appeal: Appeal, action: str, expected_version: int | None = None, **data) -> Appeal:
    """Take the action named ``action`` (a page's or the API's URL) with its own input;
    returns the appeal as it is afterwards. An action that is not the staff's answers
    with the table's refusal (403), after the jurisdiction (404) and the state (409)."""
    if action not in AppealAction.values:
        raise ApplicationError(_("未知的操作“%(a)s”。") % {"a": action})
    service = SERVICES.get(action)
    if service is None:
        workflow.permit(user=actor, appeal=appeal, action=action)
        raise ActionForbidden(str(workflow.TABLE[action].refusal))  # pragma: no cover - permit refuses first
    return service(actor=actor, appeal=appeal, expected_version=expected_version, **data)
