"""Dispatch: the fields that make a unit the handler, checked against the appeal's place,
the dispatch transition (by staff, or automatic at intake), and the return an appeal
waiting for re-dispatch carries (``pending_return``: the page shows its reason at the top;
dispatching back to the unit that returned it needs a confirmation and a note)."""

from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext as _

from appeals import events, notices
from appeals.deadlines import inputs_at_dispatch
from appeals.enums import AppealAction, AppealState, EscalationLevel, HandlingLevel
from appeals.models import Appeal, AppealEvent, Category
from appeals.services.core import _Context, _transition
from appeals.workdays import deadline_for, response_deadline_for
from governance.kernel.errors import ApplicationError
from grids.models import unit_level

_HANDLING_LEVELS = (HandlingLevel.GRID, HandlingLevel.COMMUNITY, HandlingLevel.STREET, HandlingLevel.DEPARTMENT)


def _level_of(unit) -> str:
    try:
        level = unit_level(unit)
    except ValueError:
        level = ""
    if level not in _HANDLING_LEVELS:
        raise ApplicationError(_("请选择办理单位：网格、社区、街道或职能部门。"))
    return HandlingLevel(level)


_ESCALATION_OF = {
    HandlingLevel.GRID: EscalationLevel.GRID,
    HandlingLevel.COMMUNITY: EscalationLevel.COMMUNITY,
    HandlingLevel.STREET: EscalationLevel.STREET,
    # Departments are not above streets; a late department appeal goes straight to the
    # district 督办 (the sweep's business), so it starts without a level.
    HandlingLevel.DEPARTMENT: "",
}


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


def _dispatch_changes(
    appeal: Appeal, *, unit, category: Category | None, dispatcher_level: str, actor, now,
    automatic: bool = False, cooperating: tuple[str, ...] = (),
) -> tuple[dict, events.Dispatch]:
    """What dispatching ``appeal`` to ``unit`` changes, and the dispatch event's data.

    Raises ApplicationError without a category, for an inactive one, or for a unit
    outside the appeal's place. The deadlines run from the first dispatch: a return
    and a new dispatch do not give the appeal more time (only an approved extension
    or a correction of the calendar moves the deadline). What the deadline is computed
    from is stored with it (appeals.deadlines).
    """
    category = category or appeal.category
    if category is None:
        raise ApplicationError(_("请先选择诉求类别，再派单。"))
    if not category.active:
        raise ApplicationError(_("类别“%(c)s”已停用。") % {"c": category})
    changes = _handling_changes(appeal, unit)
    changes.update(
        category=category, dispatcher_level=dispatcher_level, dispatched_by=actor, dispatched_at=now,
        escalation_level=_ESCALATION_OF[changes["handling_level"]],
    )
    if appeal.deadline is None:
        changes["response_deadline"] = response_deadline_for(category, now)
        changes["deadline"] = deadline_for(category, now)
        changes["level_deadline"] = changes["deadline"]
        changes.update(inputs_at_dispatch(category, now))
    else:
        changes["level_deadline"] = appeal.deadline
    data = events.Dispatch(
        unit_level=changes["handling_level"], unit_code=unit.code, unit=str(unit), category=category.code,
        automatic=True if automatic else None, cooperating_departments=tuple(cooperating) or None,
    )
    return changes, data


def _dispatch(ctx: _Context, *, unit, category: Category | None, dispatcher_level: str, note: str) -> AppealEvent:
    """The dispatch transition, with the message that asks the unit to act."""
    appeal = ctx.appeal
    changes, data = _dispatch_changes(
        appeal, unit=unit, category=category, dispatcher_level=dispatcher_level, actor=ctx.actor, now=ctx.now,
    )
    messages = notices.dispatched(
        appeal, level=changes["handling_level"], unit=unit, category=changes["category"], note=note,
        deadline=changes.get("deadline") or appeal.deadline,
        deadline_unit=changes.get("deadline_unit") or appeal.deadline_unit, by=ctx.label, actor=ctx.actor,
    )
    return _transition(ctx, AppealAction.DISPATCH, changes=changes, note=note, data=data, messages=messages)


# --- a return waiting for re-dispatch ---------------------------------------------------------

# The last holder-changing events read to find who returned an appeal (a return follows
# the dispatch, 改派 or escalation that made the returning unit the handler).
_RETURN_LOOKBACK = 6


@dataclass(frozen=True)
class PendingReturn:
    """The 退单 an appeal waits on: who returned it (the unit, by level and code, and its
    name), why, when and by whom."""

    unit: events.Unit | None
    unit_name: str
    reason: str
    at: datetime
    actor_label: str

    def is_unit(self, unit) -> bool:
        """Whether ``unit`` (a grid, community, street or department) is the one that returned it."""
        if self.unit is None or unit is None:
            return False
        try:
            level = _level_of(unit)
        except ApplicationError:
            return False
        return (self.unit.level, self.unit.code) == (str(level), str(unit.code))


def pending_return(appeal: Appeal) -> PendingReturn | None:
    """The return the appeal waits on, while it waits for re-dispatch (state received,
    its last holder-changing event a 退单); else None. One query."""
    if appeal.state != AppealState.RECEIVED:
        return None
    rows = list(AppealEvent.objects.filter(events.HOLDER_Q, appeal_id=appeal.pk)
                .order_by("-created_at", "-id")[:_RETURN_LOOKBACK])
    if not rows or rows[0].action != AppealAction.RETURN:
        return None
    back = rows[0]
    returned_by = None
    for row in rows[1:]:
        returned_by = events.read(row.action, row.data).holder
        if returned_by is not None:
            break
    record = events.read(back.action, back.data)
    return PendingReturn(unit=returned_by, unit_name=record.returned_by, reason=back.note, at=back.created_at,
                         actor_label=back.actor_label)


def ensure_redispatch_confirmed(appeal: Appeal, *, unit, confirm: bool, note: str) -> None:
    """Dispatching back to the unit that just returned the appeal: only with an explicit
    confirmation and a note saying why it is still that unit's (ApplicationError, 400)."""
    back = pending_return(appeal)
    if back is None or not back.is_unit(unit):
        return
    if not confirm or not note:
        raise ApplicationError(
            _("该诉求刚被“%(unit)s”退回（退单理由：%(reason)s）。如确需再派给它，请勾选“确认派回退单单位”并在说明中写明理由。")
            % {"unit": back.unit_name or unit, "reason": back.reason})
