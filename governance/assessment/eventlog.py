"""Who held an appeal and where it went, as the scoring reads it from the event log.

The event log (appeals.AppealEvent) is append-only and the source of every measure.
What each kind of event records, which of them change the holder, and where an appeal
went after its first dispatch are defined once in ``appeals.events`` (its ``holder`` per
record, ``HOLDER_Q``, ``PATH_Q`` and ``handling``, ``REWORK_Q``, ``TERMINAL_ACTIONS``,
``DEFERRAL_ACTIONS``); this module only turns those units into the assessment's unit
kinds:
- dispatch, return (the queue's unit), a reroute of the handler or of the queue, and an
  escalation that moves the handler up change the holder; an escalation that keeps the
  handler (to the district 督办, or a department's appeal) does not;
- every such event names the unit by level and code.
"""

from datetime import datetime

from appeals import events
from appeals.enums import HandlingLevel
from governance.assessment.enums import UnitKind

# What the scoring filters the log by (defined with the events).
PATH_Q = events.PATH_Q
REWORK_Q = events.REWORK_Q
TERMINAL_ACTIONS = events.TERMINAL_ACTIONS
DEFERRAL_ACTIONS = events.DEFERRAL_ACTIONS

_KIND = {
    HandlingLevel.GRID: UnitKind.GRID,
    HandlingLevel.COMMUNITY: UnitKind.COMMUNITY,
    HandlingLevel.STREET: UnitKind.STREET,
    HandlingLevel.DISTRICT: UnitKind.DISTRICT,
    HandlingLevel.DEPARTMENT: UnitKind.DEPARTMENT,
}
_PLACE_FIELD = {
    UnitKind.GRID: "grid_id", UnitKind.COMMUNITY: "community_id",
    UnitKind.STREET: "street_id", UnitKind.DISTRICT: "district_id",
}


def _place(row: dict, kind: str) -> tuple[str, str] | None:
    code = row.get(_PLACE_FIELD[kind])
    return (kind, code) if code else None


def unit_key(unit: events.Unit | None) -> tuple[str, str] | None:
    """An event's unit as the assessment's (kind, code), or None."""
    if unit is None or unit.level not in _KIND:
        return None
    return _KIND[unit.level], unit.code


def read_path(rows, *, deadline: datetime) -> tuple[tuple[str, str] | None, events.Handling]:
    """From one appeal's PATH_Q events in order (``rows``: (created_at, action, data)):
    the unit (kind, code) holding it after its last holder-changing event at or before
    ``deadline`` (None if there is none), and where it went (``events.handling``)."""
    holder, records = None, []
    for created_at, action, data in rows:
        record = events.read(action, data)
        records.append(record)
        if created_at <= deadline and record.holder is not None:
            holder = record.holder
    return unit_key(holder), events.handling(records)


def current_holder(row: dict) -> tuple[str, str] | None:
    """The fallback when the log has no holder event before the deadline: who holds the
    appeal now (its handler, or the queue it waits in)."""
    level = row.get("handling_level")
    if level == HandlingLevel.DEPARTMENT and row.get("handling_department__code"):
        return UnitKind.DEPARTMENT, row["handling_department__code"]
    if level in _KIND:
        return _place(row, _KIND[level])
    unit = events.queue_unit(queue=row.get("queue_level") or "", community_code=row.get("community_id"),
                             street_code=row.get("street_id") or "")
    return _place(row, _KIND[unit.level])


def place(row: dict) -> tuple[str, str] | None:
    """The most precise unit of the appeal's place: its grid, community or street."""
    return _place(row, UnitKind.GRID) or _place(row, UnitKind.COMMUNITY) or _place(row, UnitKind.STREET)
