"""The one transition service of appeals (DESIGN.md §4).

Every change of an appeal's state or handling goes through ``_transition``, which
1. checks the transition table (anything else: Conflict, 409),
2. updates the row conditionally on (version, state) — of two concurrent actions
   exactly one changes a row, the other gets Conflict "already changed",
3. writes exactly one AppealEvent in the same transaction,
and side effects (SMS) are queued with ``transaction.on_commit(..., robust=True)``.

Public entry points (all keyword-only):
- ``appeal_receive``: intake from every channel, with automatic dispatch;
- ``appeal_act``: every staff action (dispatch, decline, merge, sign, contact, return,
  reroute, resolve, verify_pass, verify_fail, feedback, note, whistle, checkin);
- ``appeal_withdraw_by_resident`` and ``appeal_evaluate``: the resident's, by tracking
  code + the phone's last 4 digits;
- ``appeal_close_unevaluated``: the system's, after APPEAL_AUTO_CLOSE_DAYS.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from appeals import permissions
from appeals.enums import (
    OPEN_STATES,
    PUBLIC_SOURCES,
    STAFF_ACTIONS,
    TRANSITIONS,
    AppealAction,
    AppealState,
    AttachmentKind,
    CategoryType,
    EscalationLevel,
    HandlingLevel,
    QueueLevel,
    Rating,
    Source,
)
from appeals.images import clean_image
from appeals.models import (
    DESCRIPTION_MAX,
    Appeal,
    AppealAttachment,
    AppealCoHandler,
    AppealEvent,
    Category,
    normalize_tracking_code,
)
from appeals.tasks import SMS_FEEDBACK, SMS_RECEIVED, enqueue_sms
from appeals.workdays import deadline_for, response_deadline_for
from governance.enums import Role
from governance.errors import ActionForbidden, ApplicationError, Conflict, NotFound
from governance.selectors import Jurisdiction, jurisdiction_for
from grids.models import Building, Community, Department, Grid, Street
from grids.validators import normalize_phone

logger = logging.getLogger(__name__)

A = AppealAction
S = AppealState

RESIDENT_LABEL = "居民"
SYSTEM_LABEL = "系统"
NOTE_MAX = 2000
# The web form and the REST API promise the tracking code and the result by SMS, so
# they need a mobile. Open311 (GeoReport v2) makes the phone optional: it may be absent
# or a landline; an SMS goes out only to a mobile, as for staff intake.
MOBILE_REQUIRED_SOURCES = frozenset({Source.WEB, Source.API})


def _changed_message() -> str:
    return _("该诉求已被他人处理（已变更），请刷新后重试。")


# --- the core -------------------------------------------------------------------------


@dataclass
class _Context:
    appeal: Appeal
    actor: object | None
    label: str
    now: datetime
    expected_version: int | None = None
    jurisdiction: Jurisdiction | None = None
    post: object | None = None
    extra_events: list = field(default_factory=list)


def _state_label(state: str) -> str:
    return str(AppealState(state).label) if state else ""


def _ensure_table(action: str, state: str) -> None:
    if state not in TRANSITIONS[action].sources:
        raise Conflict(
            _("诉求当前为“%(state)s”，不能进行“%(action)s”。")
            % {"state": _state_label(state), "action": AppealAction(action).label}
        )


def _transition(
    ctx: _Context, action: str, *, to_state: str | None = None, changes: dict | None = None,
    note: str = "", data: dict | None = None,
) -> AppealEvent:
    """Apply one row of the table to ``ctx.appeal`` and record its event.

    Steps: 1. the table allows the action from the current state; 2. a conditional
    UPDATE on (pk, version, state) bumps the version — no row means someone else got
    there first (Conflict); 3. one AppealEvent; 4. the in-memory appeal is refreshed.
    Must run inside transaction.atomic.
    """
    appeal = ctx.appeal
    from_state = appeal.state
    _ensure_table(action, from_state)
    targets = TRANSITIONS[action].targets
    if targets is None:
        to_state = from_state
    else:
        to_state = to_state or targets[0]
        assert to_state in targets, (action, to_state)
    version = ctx.expected_version if ctx.expected_version is not None else appeal.version
    ctx.expected_version = None  # only the first step of a call is checked against the caller
    updated = Appeal.objects.filter(pk=appeal.pk, version=version, state=from_state).update(
        state=to_state, version=F("version") + 1, updated_at=ctx.now, **(changes or {})
    )
    if updated != 1:
        raise Conflict(_changed_message())
    event = AppealEvent.objects.create(
        appeal=appeal, action=action, actor=ctx.actor, actor_label=ctx.label[:100],
        from_state=from_state, to_state=to_state, note=note, data=data or {},
    )
    appeal.refresh_from_db()
    if hasattr(appeal, "_cohandler_departments"):
        del appeal._cohandler_departments
    return event


def _text(value, *, field_label: str, required: bool, max_length: int = NOTE_MAX) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ApplicationError(_("请填写%(field)s。") % {"field": field_label})
    if len(value) > max_length:
        raise ApplicationError(
            _("%(field)s不能超过 %(n)s 个字（现有 %(len)s 个）。") % {"field": field_label, "n": max_length, "len": len(value)}
        )
    return value


def _clean_photos(photos) -> list:
    photos = [p for p in (photos or ()) if p]
    limit = settings.APPEAL_PHOTO_MAX_COUNT
    if len(photos) > limit:
        raise ApplicationError(_("最多上传 %(n)s 张照片。") % {"n": limit})
    return [clean_image(p) for p in photos]


def _attach(appeal: Appeal, event: AppealEvent, photos: list, kind: str) -> None:
    for content in photos:
        attachment = AppealAttachment(appeal=appeal, event=event, kind=kind)
        attachment.image.save(content.name, content, save=False)
        attachment.save()


# --- routing -----------------------------------------------------------------------------


def department_for(*, kind: str, district_id: str | None) -> Department | None:
    """The department of ``kind`` (e.g. "CG") in the district: code "<district>-<kind>"."""
    if not kind or not district_id:
        return None
    return Department.objects.filter(code=f"{district_id}-{kind}").first()


@dataclass(frozen=True)
class Route:
    unit: object | None  # Grid, Community, Street or Department; None: wait for dispatch by hand
    reason: str = ""
    cooperating: tuple[str, ...] = ()


def route_for(appeal: Appeal) -> Route:
    """Where automatic dispatch sends an appeal, by the responsibility list and the place.

    - Without a category, or without a precise place (a building, or a grid given by
      the worker on patrol), it waits for dispatch by hand.
    - Grid/community/street categories go to that unit of the appeal's place.
    - Department categories: the department is the one of the category's kind in the
      appeal's district. Owner vs. locality ("部件先属主、后属地；事件先属地、后属主"):
      a 部件 (public component) has an owner, the department, so it goes there first;
      an 事件 (event) goes to the locality first — the community, which can whistle the
      department in — with the department noted as cooperating; 服务/咨询 go to the
      department. No such department in the district: dispatch by hand.
    """
    category = appeal.category
    if category is None:
        return Route(None, _("未选择诉求类别"))
    if appeal.building_id is None and appeal.grid_id is None:
        return Route(None, _("地址为文字描述，需人工派单"))
    level = category.default_level
    if level == HandlingLevel.GRID:
        return Route(appeal.grid)
    if level == HandlingLevel.COMMUNITY:
        return Route(appeal.community)
    if level == HandlingLevel.STREET:
        return Route(appeal.street)
    department = department_for(kind=category.department_kind, district_id=appeal.district_id)
    if department is None:
        return Route(None, _("本区未设置该类别的责任部门，需人工派单"))
    if category.type == CategoryType.EVENT and appeal.community_id:
        return Route(appeal.community, _("事件先属地：由社区办理，责任部门协办"), (department.code,))
    return Route(department)


def unit_from_code(*, level: str, code: str):
    """A dispatch target from a (level, code) pair, e.g. from an API body or a form.

    level: grid | community | street | department; raises ApplicationError if unknown.
    """
    model = {HandlingLevel.GRID: Grid, HandlingLevel.COMMUNITY: Community,
             HandlingLevel.STREET: Street, HandlingLevel.DEPARTMENT: Department}.get(level)
    unit = model.objects.filter(code=code).first() if model else None
    if unit is None:
        raise ApplicationError(_("找不到办理单位“%(code)s”。") % {"code": code})
    return unit


def _level_of(unit) -> str:
    if isinstance(unit, Grid):
        return HandlingLevel.GRID
    if isinstance(unit, Community):
        return HandlingLevel.COMMUNITY
    if isinstance(unit, Street):
        return HandlingLevel.STREET
    if isinstance(unit, Department):
        return HandlingLevel.DEPARTMENT
    raise ApplicationError(_("请选择办理单位：网格、社区、街道或职能部门。"))


_ESCALATION_OF = {
    HandlingLevel.GRID: EscalationLevel.GRID,
    HandlingLevel.COMMUNITY: EscalationLevel.COMMUNITY,
    HandlingLevel.STREET: EscalationLevel.STREET,
    # Departments are not above streets; a late department appeal goes straight to the
    # district 督办 (the sweep's business), so it starts without a level.
    HandlingLevel.DEPARTMENT: "",
}


def _target(level: str, code: str) -> dict:
    """The event data naming the unit an appeal went to by level and code: names change
    and repeat (two districts' 城管), codes do not (governance.assessment.eventlog)."""
    return {"unit_level": str(level), "unit_code": code}


def _handling_changes(appeal: Appeal, unit) -> dict:
    """The fields that make ``unit`` the handler, checked against the appeal's place;
    a more precise unit also fills in the place (the dispatcher knows where it is)."""
    level = _level_of(unit)
    changes = {
        "handling_level": level, "handling_grid": None, "handling_community": None,
        "handling_street": None, "handling_department": None, "queue_level": "",
    }
    changes[f"handling_{level}"] = unit
    wrong_place = _("“%(unit)s”不在该诉求所在地（%(place)s），不能派给它。")
    if level == HandlingLevel.DEPARTMENT:
        if unit.district_id != appeal.district_id:
            raise ApplicationError(wrong_place % {"unit": unit, "place": appeal.district})
        return changes
    if level == HandlingLevel.STREET:
        if unit.code != appeal.street_id:
            raise ApplicationError(wrong_place % {"unit": unit, "place": appeal.street})
        return changes
    if level == HandlingLevel.COMMUNITY:
        if unit.street_id != appeal.street_id or (appeal.community_id and unit.code != appeal.community_id):
            raise ApplicationError(wrong_place % {"unit": unit, "place": appeal.community or appeal.street})
        if not appeal.community_id:
            changes.update(community=unit, territory_code=unit.code)
        return changes
    # A grid.
    if not unit.code.startswith(appeal.community_id or appeal.street_id) or (
        appeal.grid_id and unit.code != appeal.grid_id
    ):
        raise ApplicationError(wrong_place % {"unit": unit, "place": appeal.grid or appeal.community or appeal.street})
    if not appeal.grid_id:
        changes.update(grid=unit, community_id=unit.community_id, territory_code=unit.code)
    return changes


def _dispatch(ctx: _Context, *, unit, category: Category | None, dispatcher_level: str, note: str, data: dict) -> AppealEvent:
    appeal = ctx.appeal
    category = category or appeal.category
    if category is None:
        raise ApplicationError(_("请先选择诉求类别，再派单。"))
    if not category.active:
        raise ApplicationError(_("类别“%(c)s”已停用。") % {"c": category})
    changes = _handling_changes(appeal, unit)
    changes.update(
        category=category, dispatcher_level=dispatcher_level, dispatched_by=ctx.actor, dispatched_at=ctx.now,
        escalation_level=_ESCALATION_OF[changes["handling_level"]],
    )
    # The deadlines run from the first dispatch: a return and a new dispatch do not
    # give the appeal more time (only an approved extension moves the deadline).
    if appeal.deadline is None:
        changes["response_deadline"] = response_deadline_for(category, ctx.now)
        changes["deadline"] = deadline_for(category, ctx.now)
        changes["level_deadline"] = changes["deadline"]
    else:
        changes["level_deadline"] = appeal.deadline
    data = {**data, "unit": str(unit), "level": changes["handling_level"], "category": category.code,
            **_target(changes["handling_level"], unit.code)}
    return _transition(ctx, A.DISPATCH, changes=changes, note=note, data=data)


def _auto_feedback(ctx: _Context) -> None:
    """The result notification is the feedback step for appeals with a mobile number."""
    appeal = ctx.appeal
    if not appeal.phone_is_mobile:
        return
    if appeal.category and appeal.category.needs_verification and not appeal.verified:
        return
    system = _Context(appeal=appeal, actor=None, label=SYSTEM_LABEL, now=ctx.now)
    _transition(system, A.FEEDBACK, changes={"feedback_at": ctx.now},
                note=_("已向居民发送办理结果和评价链接短信。"), data={"method": "sms"})
    enqueue_sms(appeal_id=appeal.pk, kind=SMS_FEEDBACK)


# --- intake ------------------------------------------------------------------------------


def _staff_label(actor) -> tuple[str, object | None]:
    jur = jurisdiction_for(actor)
    posts = [p for p in jur.posts if p.role != Role.SUPERVISOR]
    if not posts:
        raise ActionForbidden(_("只有网格员、社区、街道或部门工作人员可以代居民登记诉求。"))
    return permissions.actor_label(posts[0]), posts[0]


def appeal_receive(
    *, source: str, description: str, phone: str = "", category: Category | None = None,
    building: Building | None = None, address_text: str = "", name: str = "", anonymous: bool = False,
    actor=None, grid: Grid | None = None, community: Community | None = None, street: Street | None = None,
    photos=(), now: datetime | None = None,
) -> Appeal:
    """Receive (受理) an appeal from any channel, then try automatic dispatch.

    Steps: 1. validate (source; description ≤ 4,000; phone — a mobile for web and
    API; optional, a landline accepted, for Open311 and staff sources; a place:
    building, or grid/community/street with the address in words; photos); 2. fill
    the denormalised place from the most precise unit given; 3. create the appeal, waiting in its community's queue (or
    the street's dispatch centre) with a receive event; 4. dispatch automatically when
    ``route_for`` finds a unit; 5. after commit: the tracking code by SMS.
    Staff sources need ``actor`` (a staff account); public sources (web, API,
    Open311) take none.
    Returns the appeal (state received or dispatched). Raises ApplicationError (400) on
    bad input, ActionForbidden if the actor is not staff.
    """
    if source not in Source.values:
        raise ApplicationError(_("未知的诉求来源“%(s)s”。") % {"s": source})
    public = source in PUBLIC_SOURCES
    if public:
        actor = None
        label, post = RESIDENT_LABEL, None
    else:
        if actor is None:
            raise ActionForbidden(_("电话、来访和巡查诉求须由工作人员登记。"))
        label, post = _staff_label(actor)
    description = _text(description, field_label=_("诉求内容"), required=True, max_length=DESCRIPTION_MAX)
    mobile_required = source in MOBILE_REQUIRED_SOURCES
    try:
        phone = normalize_phone(phone, allow_landline=not mobile_required)
    except ValidationError as exc:
        raise ApplicationError(exc.messages[0]) from None
    if mobile_required and not phone:
        raise ApplicationError(_("请填写手机号：办理结果和评价链接将以短信发送。"))
    if category is not None and not category.active:
        raise ApplicationError(_("类别“%(c)s”已停用，请重新选择。") % {"c": category})
    address_text = _text(address_text, field_label=_("地址"), required=False, max_length=200)
    name = "" if anonymous else _text(name, field_label=_("姓名"), required=False, max_length=50)

    # The place, from the most precise unit given; the coarser ones must agree.
    if building is not None:
        if grid is not None and grid.code != building.grid_id:
            raise ApplicationError(_("所选楼栋不在所选网格内。"))
        grid = building.grid
    if grid is not None:
        if community is not None and community.code != grid.community_id:
            raise ApplicationError(_("所选网格不在所选社区内。"))
        community = grid.community
    if community is not None:
        if street is not None and street.code != community.street_id:
            raise ApplicationError(_("所选社区不在所选街道内。"))
        street = community.street
    if street is None:
        raise ApplicationError(_("请选择诉求所在的街道和社区，或直接选择楼栋。"))
    if building is None and not address_text:
        raise ApplicationError(_("未选择楼栋时，请用文字填写具体地址。"))
    territory = building or grid or community or street
    clean_photos = _clean_photos(photos)

    now = now or timezone.now()
    with transaction.atomic():
        appeal = _create_appeal(
            category=category, description=description, source=source, building=building,
            address_text=address_text or (building.address if building else ""),
            district_id=street.district_id, street=street, community=community, grid=grid,
            territory_code=territory.code, name=name, anonymous=anonymous, phone=phone,
            queue_level=QueueLevel.COMMUNITY if community else QueueLevel.STREET,
        )
        route = route_for(appeal)
        event = AppealEvent.objects.create(
            appeal=appeal, action=A.RECEIVE, actor=actor, actor_label=label, from_state="",
            to_state=S.RECEIVED, data={"source": source, **({"route": route.reason} if route.unit is None else {})},
        )
        _attach(appeal, event, clean_photos, AttachmentKind.INTAKE)
        if route.unit is not None:
            ctx = _Context(appeal=appeal, actor=None, label=SYSTEM_LABEL, now=now)
            data = {"automatic": True}
            if route.cooperating:
                data["cooperating_departments"] = list(route.cooperating)
            _dispatch(ctx, unit=route.unit, category=None, dispatcher_level="", note=route.reason, data=data)
        if appeal.phone_is_mobile:
            enqueue_sms(appeal_id=appeal.pk, kind=SMS_RECEIVED)
    return appeal


def _create_appeal(**fields) -> Appeal:
    # A tracking-code collision is astronomically unlikely; retry rather than fail.
    for attempt in range(3):
        try:
            with transaction.atomic():
                return Appeal.objects.create(**fields)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


# --- staff actions --------------------------------------------------------------------------


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
    _dispatch(ctx, unit=unit, category=category, dispatcher_level=level, note=note, data={})


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
                data={"merged_into": target.tracking_code})


def _do_sign(ctx: _Context, *, contact: bool = False, note: str = "") -> None:
    note = _text(note, field_label=_("说明"), required=False)
    changes = {}
    if contact and ctx.appeal.first_contact_at is None:
        changes["first_contact_at"] = ctx.now
    _transition(ctx, A.SIGN, changes=changes, note=note, data={"contact": bool(contact)})


def _do_contact(ctx: _Context, *, note: str = "") -> None:
    note = _text(note, field_label=_("联系情况"), required=False)
    first = ctx.appeal.first_contact_at is None
    _transition(ctx, A.CONTACT, changes={"first_contact_at": ctx.now} if first else {}, note=note,
                data={"first": first})


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
    queue_unit = (HandlingLevel.COMMUNITY, appeal.community_id) if back_to_community else (
        HandlingLevel.STREET, appeal.street_id)
    _transition(ctx, A.RETURN, changes=changes, note=reason,
                data={"returned_by": str(appeal.handling_unit), "queue": queue, **_target(*queue_unit)})


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
        data["category"] = [appeal.category.code if appeal.category else None, category.code]
    if appeal.state == S.RECEIVED:
        if unit is not None:
            raise ApplicationError(_("待派单的诉求请直接派单。"))
        if to_street and appeal.queue_level != QueueLevel.STREET:
            changes["queue_level"] = QueueLevel.STREET
            data["queue"] = [appeal.queue_level, QueueLevel.STREET]
            data.update(_target(HandlingLevel.STREET, appeal.street_id))
    elif unit is not None:
        before = str(appeal.handling_unit)
        handling = _handling_changes(appeal, unit)
        if handling["handling_level"] != appeal.handling_level or appeal.handling_unit != unit:
            changes.update(handling)
            changes["escalation_level"] = _ESCALATION_OF[handling["handling_level"]]
            data["unit"] = [before, str(unit)]
            data.update(_target(handling["handling_level"], unit.code))
    if not data:
        raise ApplicationError(_("请选择新的类别或办理单位。"))
    _transition(ctx, A.REROUTE, changes=changes, note=reason, data=data)


def _do_resolve(ctx: _Context, *, result: str = "", photos=(), note: str = "") -> None:
    result = _text(result or note, field_label=_("办理结果"), required=True, max_length=DESCRIPTION_MAX)
    clean = _clean_photos(photos)
    event = _transition(ctx, A.RESOLVE, changes={"result": result, "resolved_at": ctx.now, "verified": False},
                        note=result, data={"photos": len(clean)})
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
    _transition(ctx, A.FEEDBACK, changes={"feedback_at": ctx.now}, note=note, data={"method": method})


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
    _transition(ctx, A.WHISTLE, note=note, data={"departments": [d.name for d in new], "codes": [d.code for d in new]})
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
    _transition(ctx, A.CHECKIN, note=note, data={"department": name, "department_id": dept_id})


_HANDLERS = {
    A.DISPATCH: _do_dispatch, A.DECLINE: _do_decline, A.MERGE: _do_merge, A.SIGN: _do_sign,
    A.CONTACT: _do_contact, A.RETURN: _do_return, A.REROUTE: _do_reroute, A.RESOLVE: _do_resolve,
    A.VERIFY_PASS: _do_verify_pass, A.VERIFY_FAIL: _do_verify_fail, A.FEEDBACK: _do_feedback,
    A.NOTE: _do_note, A.WHISTLE: _do_whistle, A.CHECKIN: _do_checkin,
}
assert set(_HANDLERS) == set(STAFF_ACTIONS)


# --- the resident's and the system's actions ---------------------------------------------------


def appeal_for_resident(*, tracking_code: str, phone_last4: str) -> Appeal:
    """The appeal whose tracking code and phone's last 4 digits match; NotFound otherwise
    (the same answer for both, so a guess learns nothing). Callers throttle guesses."""
    code = normalize_tracking_code(tracking_code)
    last4 = (phone_last4 or "").strip()
    appeal = Appeal.objects.filter(tracking_code=code).select_related("category").first() if code else None
    if appeal is None or len(last4) != 4 or not appeal.phone or not appeal.phone.endswith(last4):
        raise NotFound(_("查询码或手机号后四位不正确。"))
    return appeal


def appeal_withdraw_by_resident(*, tracking_code: str, phone_last4: str, reason: str = "") -> Appeal:
    """The resident withdraws (撤回) an appeal not yet signed for. Conflict after that."""
    appeal = appeal_for_resident(tracking_code=tracking_code, phone_last4=phone_last4)
    reason = _text(reason, field_label=_("撤回原因"), required=False)
    ctx = _Context(appeal=appeal, actor=None, label=RESIDENT_LABEL, now=timezone.now())
    with transaction.atomic():
        _transition(ctx, A.WITHDRAW, note=reason)
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
    data = {"solved": solved, "rating": rating, "comment": comment}
    closing = {"solved": solved, "rating": rating, "evaluation_comment": comment, "closed_at": now}
    with transaction.atomic():
        if rating != Rating.UNSATISFIED:
            _transition(ctx, A.EVALUATE, to_state=S.CLOSED, changes=closing, note=comment, data=data)
            _credit_claimant(appeal, rating)
        elif appeal.rework_count < settings.APPEAL_REWORK_LIMIT:
            level_deadline = deadline_for(appeal.category, now) if appeal.category else appeal.level_deadline
            _transition(
                ctx, A.EVALUATE, to_state=S.IN_PROGRESS, note=comment, data={**data, "rework": True},
                changes={"rework_count": F("rework_count") + 1, "resolved_at": None, "feedback_at": None,
                         "verified": False, "level_deadline": level_deadline},
            )
        else:
            _transition(ctx, A.EVALUATE, to_state=S.CLOSED, note=comment,
                        changes={**closing, "flagged_for_supervisor": True},
                        data={**data, "rework_limit_reached": True})
            _credit_claimant(appeal, rating)
    return appeal


def _credit_claimant(appeal: Appeal, rating: str) -> None:
    """The evaluation that closes a claimed appeal decides the volunteer's points, in the
    same transaction (once per appeal: volunteers.services.points_award_for_service_appeal).
    A rework round earns nothing: the appeal goes back to the volunteer, and the
    evaluation that finally closes it (at the rework limit: 不满意, 0 by default) decides."""
    if appeal.claimed_by_id is None:
        return
    from volunteers.services import points_award_for_service_appeal  # volunteers depends on appeals, not back

    points_award_for_service_appeal(
        volunteer=appeal.claimed_by, appeal_id=appeal.pk, rating=rating, appeal_code=appeal.tracking_code,
    )


def appeal_claim(*, volunteer_user, appeal: Appeal, expected_version: int | None = None) -> Appeal:
    """A volunteer claims (接单) an appeal from their community's order hall: 平台派单、党员接单.

    Steps: 1. the account is a volunteer of the appeal's community and the category is
    volunteer-suitable → else NotFound; 2. already claimed → Conflict "已被其他志愿者接单";
    3. the table allows claim (dispatched) → else Conflict; the handler is the community
    or one of its grids → else Conflict; 4. the volunteer is active → else
    ActionForbidden; 5. the conditional update on (version, state) sets ``claimed_by``
    and moves the appeal to in_progress with one claim event. Of concurrent claims
    exactly one row changes; the others get Conflict "已被其他志愿者接单". The handling
    unit stays responsible (deadlines, feedback); the volunteer may then contact, note
    and resolve through ``appeal_act``.
    """
    from volunteers.enums import VolunteerStatus  # volunteers depends on appeals, not back
    from volunteers.models import Volunteer

    volunteer = Volunteer.objects.select_related("community").filter(user=volunteer_user).first() if (
        volunteer_user is not None and volunteer_user.is_authenticated) else None
    if volunteer is None or not permissions.in_order_hall_community(appeal, volunteer.community_id):
        raise NotFound()
    taken = _("该诉求已被其他志愿者接单。")
    if appeal.claimed_by_id is not None:
        raise Conflict(_("您已接下该诉求。") if appeal.claimed_by_id == volunteer.pk else taken)
    _ensure_table(A.CLAIM, appeal.state)
    if appeal.handling_level not in (HandlingLevel.GRID, HandlingLevel.COMMUNITY):
        raise Conflict(_("该诉求已不在本社区的接单大厅。"))
    if volunteer.status != VolunteerStatus.ACTIVE:
        raise ActionForbidden(_("您的志愿者身份已暂停或退出，不能接单。"))
    ctx = _Context(
        appeal=appeal, actor=volunteer_user, label=permissions.claimant_label(volunteer), now=timezone.now(),
        expected_version=expected_version,
    )
    try:
        with transaction.atomic():
            _transition(ctx, A.CLAIM, changes={"claimed_by": volunteer},
                        data={"volunteer_id": volunteer.pk, "volunteer": volunteer.name})
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
    if appeal.state == S.AWAITING_EVALUATION and not due:
        raise Conflict(_("反馈后未满 %(n)s 天，不能按未评价结案。") % {"n": settings.APPEAL_AUTO_CLOSE_DAYS})
    ctx = _Context(appeal=appeal, actor=None, label=SYSTEM_LABEL, now=now)
    with transaction.atomic():
        _transition(ctx, A.CLOSE_UNEVALUATED, changes={"closed_at": now},
                    note=_("居民 %(n)s 天内未评价，自动结案。") % {"n": settings.APPEAL_AUTO_CLOSE_DAYS})
    return appeal
