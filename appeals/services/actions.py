"""Staff actions (appeal_act), and the automatic feedback after resolve and verify."""

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from appeals import events, permissions
from appeals.enums import OPEN_STATES, STAFF_ACTIONS, AppealAction, AttachmentKind, HandlingLevel, QueueLevel
from appeals.models import DESCRIPTION_MAX, Appeal, AppealCoHandler, Category, normalize_tracking_code
from appeals.services.core import (
    A,
    S,
    SYSTEM_LABEL,
    _Context,
    _attach,
    _changed_message,
    _clean_photos,
    _ensure_table,
    _text,
    _transition,
)
from appeals.services.dispatch import _ESCALATION_OF, _dispatch, _handling_changes
from appeals.tasks import SMS_FEEDBACK, enqueue_sms
from appeals.workdays import deadline_for
from governance.enums import Role
from governance.errors import ActionForbidden, ApplicationError, Conflict, NotFound
from governance.selectors import jurisdiction_for
from grids.models import Department


def _auto_feedback(ctx: _Context) -> None:
    """The result notification is the feedback step for appeals with a mobile number."""
    appeal = ctx.appeal
    if not appeal.phone_is_mobile:
        return
    if appeal.category and appeal.category.needs_verification and not appeal.verified:
        return
    system = _Context(appeal=appeal, actor=None, label=SYSTEM_LABEL, now=ctx.now)
    _transition(system, A.FEEDBACK, changes={"feedback_at": ctx.now},
                note=_("已向居民发送办理结果和评价链接短信。"), data=events.Feedback(method="sms"))
    enqueue_sms(appeal_id=appeal.pk, kind=SMS_FEEDBACK)


def appeal_act(*, actor, appeal: Appeal, action: str, expected_version: int | None = None, **data) -> Appeal:
    """Take one staff action on an appeal; returns the appeal as it is afterwards.

    Steps: 1. outside the actor's jurisdiction → NotFound (the volunteer who claimed
    the appeal sees it: appeals.permissions.claimant_may_act); 2. the transition table
    allows the action in the current state → else Conflict; 3. the actor's post may take
    it (role + unit; the claimant: contact, note, resolve) → else ActionForbidden with
    the reason; 4. the action's own input
    is validated → else ApplicationError; 5. a conditional update + one event (plus an
    automatic feedback event after resolve/verify for appeals with a mobile); 6. SMS
    after commit.

    ``expected_version``: the version the user saw (a hidden form field); defaults to
    ``appeal.version``. ``data`` per action (all optional unless marked):
      dispatch: unit* (Grid/Community/Street/Department), category, note
      decline: reason*
      merge: target* (Appeal or tracking code), note
      sign: contact (bool: the first contact happened with the sign-for), note
      contact: note
      return: reason*
      reroute: reason*, category, unit (only when dispatched), to_street (bool: a
               community's queue hands an appeal to the street's dispatch centre)
      resolve: result*, photos (uploaded files, ≤ APPEAL_PHOTO_MAX_COUNT)
      verify_pass: note;  verify_fail: reason*
      feedback: method ("phone" | "visit"), note
      note: note*
      whistle: departments* (iterable of Department), note
      checkin: department (when the account has several), note
    """
    if action not in AppealAction.values:
        raise ApplicationError(_("未知的操作“%(a)s”。") % {"a": action})
    if action not in STAFF_ACTIONS:
        jur = jurisdiction_for(actor)
        permissions.ensure_visible(jur, appeal)
        permissions.ensure_may_act(jur, appeal, action)  # always refuses: not a staff action
    handler = _HANDLERS[action]
    jurisdiction = jurisdiction_for(actor)
    # The volunteer who claimed the appeal acts without a post (contact, note, resolve).
    as_claimant = permissions.claimant_may_act(jurisdiction, actor, appeal, action)
    if not as_claimant:
        permissions.ensure_visible(jurisdiction, appeal)
    _ensure_table(action, appeal.state)
    post = None if as_claimant else permissions.ensure_may_act(jurisdiction, appeal, action)
    label = permissions.claimant_label(appeal.claimed_by) if as_claimant else permissions.actor_label(post)
    ctx = _Context(
        appeal=appeal, actor=actor, label=label, now=timezone.now(),
        expected_version=expected_version, jurisdiction=jurisdiction, post=post,
    )
    with transaction.atomic():
        handler(ctx, **data)
    return ctx.appeal


def _do_dispatch(ctx: _Context, *, unit=None, category: Category | None = None, note: str = "") -> None:
    if unit is None:
        raise ApplicationError(_("请选择办理单位。"))
    note = _text(note, field_label=_("说明"), required=False)
    level = QueueLevel.STREET if ctx.post.role == Role.STREET_OFFICER else QueueLevel.COMMUNITY
    _dispatch(ctx, unit=unit, category=category, dispatcher_level=level, note=note)


def _do_decline(ctx: _Context, *, reason: str = "", note: str = "") -> None:
    reason = _text(reason or note, field_label=_("不予受理的理由"), required=True)
    _transition(ctx, A.DECLINE, note=reason)


def _do_merge(ctx: _Context, *, target=None, note: str = "") -> None:
    if target is None or target == "":
        raise ApplicationError(_("请填写要并入的诉求查询码。"))
    if isinstance(target, str):
        code = normalize_tracking_code(target)
        target = Appeal.objects.filter(tracking_code=code).first()
        if target is None or not permissions.is_visible(ctx.jurisdiction, target):
            raise ApplicationError(_("找不到查询码为“%(code)s”的诉求，或不在您的辖区内。") % {"code": code})
    elif not permissions.is_visible(ctx.jurisdiction, target):
        raise NotFound()
    if target.pk == ctx.appeal.pk:
        raise ApplicationError(_("不能把诉求并入它自己。"))
    if target.state not in OPEN_STATES or target.merged_into_id:
        raise ApplicationError(_("诉求 %(code)s 已结束，不能并入。") % {"code": target.tracking_code})
    note = _text(note, field_label=_("说明"), required=False)
    _transition(ctx, A.MERGE, changes={"merged_into": target}, note=note,
                data=events.Merge(merged_into=target.tracking_code))


def _do_sign(ctx: _Context, *, contact: bool = False, note: str = "") -> None:
    note = _text(note, field_label=_("说明"), required=False)
    changes = {}
    if contact and ctx.appeal.first_contact_at is None:
        changes["first_contact_at"] = ctx.now
    _transition(ctx, A.SIGN, changes=changes, note=note, data=events.Sign(contact=bool(contact)))


def _do_contact(ctx: _Context, *, note: str = "") -> None:
    note = _text(note, field_label=_("联系情况"), required=False)
    first = ctx.appeal.first_contact_at is None
    _transition(ctx, A.CONTACT, changes={"first_contact_at": ctx.now} if first else {}, note=note,
                data=events.Contact(first=first))


def _do_return(ctx: _Context, *, reason: str = "", note: str = "") -> None:
    """Back to whoever dispatched it: a community's dispatch returns to the community's
    queue (unless the community itself returns it); automatic and street dispatch
    return to the street's dispatch centre, which reviews returns."""
    reason = _text(reason or note, field_label=_("退单理由"), required=True)
    appeal = ctx.appeal
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
    _transition(ctx, A.RETURN, changes=changes, note=reason, data=events.Return(
        queue=queue, unit_level=unit.level, unit_code=unit.code, returned_by=str(appeal.handling_unit)))


def _do_reroute(ctx: _Context, *, reason: str = "", note: str = "", category: Category | None = None,
                unit=None, to_street: bool = False) -> None:
    reason = _text(reason or note, field_label=_("改派理由"), required=True)
    appeal = ctx.appeal
    changes: dict = {}
    data: dict = {}
    if category is not None and category.pk != appeal.category_id:
        if not category.active:
            raise ApplicationError(_("类别“%(c)s”已停用。") % {"c": category})
        changes["category"] = category
        data["category"] = (appeal.category.code if appeal.category else None, category.code)
    if appeal.state == S.RECEIVED:
        if unit is not None:
            raise ApplicationError(_("待派单的诉求请直接派单。"))
        if to_street and appeal.queue_level != QueueLevel.STREET:
            changes["queue_level"] = QueueLevel.STREET
            data.update(queue=(appeal.queue_level, QueueLevel.STREET), unit_level=HandlingLevel.STREET,
                        unit_code=appeal.street_id)
    elif unit is not None:
        before = str(appeal.handling_unit)
        handling = _handling_changes(appeal, unit)
        if handling["handling_level"] != appeal.handling_level or appeal.handling_unit != unit:
            changes.update(handling)
            changes["escalation_level"] = _ESCALATION_OF[handling["handling_level"]]
            data.update(unit=(before, str(unit)), unit_level=handling["handling_level"], unit_code=unit.code)
    if not data:
        raise ApplicationError(_("请选择新的类别或办理单位。"))
    _transition(ctx, A.REROUTE, changes=changes, note=reason, data=events.Reroute(**data))


def _do_resolve(ctx: _Context, *, result: str = "", photos=(), note: str = "") -> None:
    result = _text(result or note, field_label=_("办理结果"), required=True, max_length=DESCRIPTION_MAX)
    clean = _clean_photos(photos)
    event = _transition(ctx, A.RESOLVE, changes={"result": result, "resolved_at": ctx.now, "verified": False},
                        note=result, data=events.Resolve(photos=len(clean)))
    _attach(ctx.appeal, event, clean, AttachmentKind.RESULT)
    _auto_feedback(ctx)


def _ensure_needs_verification(appeal: Appeal) -> None:
    if not (appeal.category and appeal.category.needs_verification):
        raise Conflict(_("该类别无需现场核查。"))
    if appeal.verified:
        raise Conflict(_("该诉求已核查通过。"))


def _do_verify_pass(ctx: _Context, *, note: str = "") -> None:
    _ensure_needs_verification(ctx.appeal)
    note = _text(note, field_label=_("核查情况"), required=False)
    _transition(ctx, A.VERIFY_PASS, changes={"verified": True}, note=note)
    _auto_feedback(ctx)


def _do_verify_fail(ctx: _Context, *, reason: str = "", note: str = "") -> None:
    _ensure_needs_verification(ctx.appeal)
    reason = _text(reason or note, field_label=_("核查未通过的原因"), required=True)
    level_deadline = deadline_for(ctx.appeal.category, ctx.now)
    _transition(ctx, A.VERIFY_FAIL, changes={"resolved_at": None, "level_deadline": level_deadline}, note=reason)


FEEDBACK_METHODS = {"phone": "电话回访", "visit": "上门回访", "sms": "短信"}


def _do_feedback(ctx: _Context, *, method: str = "phone", note: str = "") -> None:
    appeal = ctx.appeal
    if appeal.category and appeal.category.needs_verification and not appeal.verified:
        raise Conflict(_("该类别须先现场核查通过，才能反馈。"))
    if method not in ("phone", "visit"):
        raise ApplicationError(_("请选择反馈方式：电话回访或上门回访。"))
    note = _text(note, field_label=_("反馈情况"), required=False)
    _transition(ctx, A.FEEDBACK, changes={"feedback_at": ctx.now}, note=note, data=events.Feedback(method=method))


def _do_note(ctx: _Context, *, note: str = "") -> None:
    note = _text(note, field_label=_("办理进展"), required=True)
    _transition(ctx, A.NOTE, note=note)


def _do_whistle(ctx: _Context, *, departments=(), note: str = "") -> None:
    appeal = ctx.appeal
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
    _transition(ctx, A.WHISTLE, note=note, data=events.Whistle(
        departments=tuple(d.name for d in new), codes=tuple(d.code for d in new)))
    AppealCoHandler.objects.bulk_create(
        [AppealCoHandler(appeal=appeal, department=d, summoned_by=ctx.actor, note=note) for d in new]
    )


def _do_checkin(ctx: _Context, *, department: Department | None = None, note: str = "") -> None:
    appeal = ctx.appeal
    pending = {d for d, checked in permissions.cohandler_departments(appeal).items() if not checked}
    mine = [p.department_id for p in ctx.jurisdiction.posts
            if p.role == Role.DEPARTMENT_HANDLER and p.department_id in pending]
    dept_id = department.pk if department is not None else (mine[0] if mine else None)
    if dept_id not in mine:
        raise ActionForbidden(_("该部门未被吹哨，或已报到。"))
    note = _text(note, field_label=_("说明"), required=False, max_length=200)
    # Claim the 报到 conditionally as well: two colleagues of one department at once.
    if not AppealCoHandler.objects.filter(appeal=appeal, department_id=dept_id, checked_in_at__isnull=True).update(
        checked_in_at=ctx.now, note=note or F("note")
    ):
        raise Conflict(_changed_message())
    name = Department.objects.filter(pk=dept_id).values_list("name", flat=True).first()
    _transition(ctx, A.CHECKIN, note=note, data=events.Checkin(department=name, department_id=dept_id))


_HANDLERS = {
    A.DISPATCH: _do_dispatch, A.DECLINE: _do_decline, A.MERGE: _do_merge, A.SIGN: _do_sign,
    A.CONTACT: _do_contact, A.RETURN: _do_return, A.REROUTE: _do_reroute, A.RESOLVE: _do_resolve,
    A.VERIFY_PASS: _do_verify_pass, A.VERIFY_FAIL: _do_verify_fail, A.FEEDBACK: _do_feedback,
    A.NOTE: _do_note, A.WHISTLE: _do_whistle, A.CHECKIN: _do_checkin,
}
assert set(_HANDLERS) == set(STAFF_ACTIONS)
