"""What the assessment reads from the appeals' event log, in one place.

The event log (appeals.AppealEvent) is append-only and the source of every measure.
This module names the actions that matter and reads their data, so that a change in
how the appeals app records something is adapted here and nowhere else.

Holder-changing events (who holds an appeal):
- ``dispatch``: data["level"] (grid/community/street/department), data["unit"] (name);
- ``reroute`` with data["unit"] = [before, after] (names) — a new handler; with
  data["queue"] = [from, to] — a waiting appeal moved to the street's dispatch centre;
  a reroute that only corrects the category changes nobody;
- ``return`` (退单): data["queue"] = the queue it waits in (community/street);
- ``escalate`` (上报 or the sweep, appeals.escalation) when it moves the handler:
  data["handler"] = {"from": [level, code], "to": [level, code]}. An escalation that
  keeps the handler (to the district 督办, or a department's appeal) changes nobody:
  the handler still holds it, under supervision.
Since the appeals app records it, every holder-changing event also names the unit by
code: data["unit_level"] and data["unit_code"] (grid/community/street/district code, or
the department's code). They win over names, which change and repeat (two departments
of one district may share a name); names are read only for older events.
"""

from django.db.models import Q

from appeals.enums import AppealAction, AppealState, HandlingLevel, QueueLevel
from governance.assessment.enums import UnitKind

A = AppealAction
ESCALATE = "escalate"

HOLDER_Q = (
    Q(action__in=(A.DISPATCH, A.RETURN))
    | Q(action=A.REROUTE, data__has_key="unit")
    | Q(action=A.REROUTE, data__has_key="queue")
    | Q(action=ESCALATE, data__has_key="handler")
)
# 返工: the resident was unsatisfied and the appeal went back to work, or the on-site
# verification failed.
REWORK_Q = Q(action=A.VERIFY_FAIL) | Q(action=A.EVALUATE, to_state=AppealState.IN_PROGRESS)
# An appeal that left the workflow without a result (withdrawn by the resident,
# declined or merged after a return) is not scored.
TERMINAL_ACTIONS = (A.WITHDRAW, A.DECLINE, A.MERGE)
# An approved extension (延期 → 缓办).
DEFERRAL_ACTIONS = ("extend_approve",)

_TERRITORY = {
    HandlingLevel.GRID: UnitKind.GRID,
    HandlingLevel.COMMUNITY: UnitKind.COMMUNITY,
    HandlingLevel.STREET: UnitKind.STREET,
    HandlingLevel.DISTRICT: UnitKind.DISTRICT,
}
_PLACE_FIELD = {
    UnitKind.GRID: "grid_id", UnitKind.COMMUNITY: "community_id",
    UnitKind.STREET: "street_id", UnitKind.DISTRICT: "district_id",
}


def _place(row: dict, kind: str) -> tuple[str, str] | None:
    # A territorial handler is always the appeal's own grid/community/street (the
    # dispatch service refuses any other), and the place only ever gets more precise,
    # so the appeal's place names the unit at every moment of its history.
    code = row.get(_PLACE_FIELD[kind])
    return (kind, code) if code else None


def _escalation_handler(data: dict) -> tuple[str, str] | None:
    target = (data.get("handler") or {}).get("to")
    if isinstance(target, list | tuple) and len(target) == 2 and target[0] in _TERRITORY and target[1]:
        return _TERRITORY[target[0]], str(target[1])
    return None


def _by_name(row: dict, name: str | None, departments: dict) -> tuple[str, str] | None:
    if not name:
        return None
    for kind, field in (("grid", "grid__name"), ("community", "community__name"), ("street", "street__name")):
        if row.get(field) == name:
            return _place(row, kind)
    code = departments.get((row.get("district_id"), name))
    return (UnitKind.DEPARTMENT, code) if code else None


def holder(row: dict, departments: dict) -> tuple[str, str] | None:
    """The unit (kind, code) that held the appeal after its last holder-changing event.

    ``row`` has the appeal's place (grid_id … district_id, their names) and the event's
    ``h_action``/``h_data``; ``departments`` maps (district code, name) → department code.
    A waiting appeal (returned, or moved to a queue) is held by the queue's unit: the
    community, or the street's dispatch centre.
    """
    action, data = row.get("h_action"), row.get("h_data") or {}
    level, code = data.get("unit_level"), data.get("unit_code")
    if level and code:
        if level == HandlingLevel.DEPARTMENT:
            return UnitKind.DEPARTMENT, str(code)
        return (_TERRITORY[level], str(code)) if level in _TERRITORY else None
    if action == A.DISPATCH:
        level = data.get("level")
        if level == HandlingLevel.DEPARTMENT:
            return _by_name(row, data.get("unit"), departments)
        return _place(row, _TERRITORY[level]) if level in _TERRITORY else None
    if action == ESCALATE:
        return _escalation_handler(data)
    if action == A.RETURN:
        return _queue(row, data.get("queue"))
    if action == A.REROUTE:
        unit = data.get("unit")
        if isinstance(unit, list) and unit:
            return _by_name(row, unit[-1], departments)
        return _place(row, UnitKind.STREET)  # moved to the street's dispatch centre
    return None


def current_holder(row: dict) -> tuple[str, str] | None:
    """The fallback when the log has no holder event before the deadline (data created
    outside the services): who holds the appeal now."""
    level = row.get("handling_level")
    if level == HandlingLevel.DEPARTMENT and row.get("handling_department__code"):
        return UnitKind.DEPARTMENT, row["handling_department__code"]
    if level in _TERRITORY:
        return _place(row, _TERRITORY[level])
    return _queue(row, row.get("queue_level"))


def _queue(row: dict, queue: str | None) -> tuple[str, str] | None:
    if queue == QueueLevel.COMMUNITY:
        return _place(row, UnitKind.COMMUNITY) or _place(row, UnitKind.STREET)
    return _place(row, UnitKind.STREET)
