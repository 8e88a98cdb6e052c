"""Dispatch: the fields that make a unit the handler, checked against the appeal's place,
and the dispatch transition (by staff, or automatic at intake)."""

from django.utils.translation import gettext as _

from appeals import events
from appeals.deadlines import inputs_at_dispatch
from appeals.enums import AppealAction, EscalationLevel, HandlingLevel
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
    changes, data = _dispatch_changes(
        ctx.appeal, unit=unit, category=category, dispatcher_level=dispatcher_level, actor=ctx.actor, now=ctx.now,
    )
    return _transition(ctx, AppealAction.DISPATCH, changes=changes, note=note, data=data)
