"""The one transition service of appeals (DESIGN.md §4).

Every change of an appeal's state or handling goes through ``_transition``, which
1. checks the transition table (anything else: Conflict, 409),
2. updates the row conditionally on (version, state) — of two concurrent actions
   exactly one changes a row, the other gets Conflict "already changed",
3. writes exactly one AppealEvent in the same transaction,
and side effects (SMS) are queued with ``transaction.on_commit(..., robust=True)``.
Intake is the one exception to step 2: an appeal that automatic dispatch routes is
inserted already dispatched, with the same two events (receive, dispatch) in the same
transaction — there is no row yet for anyone else to change (services.intake).

Public entry points (all keyword-only):
- ``appeal_receive``: intake from every channel, with automatic dispatch;
- ``appeal_act``: every staff action (dispatch, decline, merge, sign, contact, return,
  reroute, resolve, verify_pass, verify_fail, feedback, note, whistle, checkin);
- ``appeal_withdraw_by_resident`` and ``appeal_evaluate``: the resident's, by tracking
  code + the phone's last 4 digits;
- ``appeal_close_unevaluated``: the system's, after APPEAL_AUTO_CLOSE_DAYS.

The package's modules: ``core`` (the context, ``_transition``, input helpers),
``routing`` (``route_for``, ``department_for``, ``unit_from_code``), ``dispatch`` (the
handler's fields and the dispatch transition), ``intake`` (``appeal_receive``),
``actions`` (``appeal_act``), ``resident`` (the resident's, the volunteer's claim and
the system's). Everything is imported here: callers keep ``from appeals import services``
(appeals.escalation and appeals.extensions use ``_Context``, ``_transition``, ``_text``
and ``_ensure_table``).
"""

from appeals.services.actions import FEEDBACK_METHODS, appeal_act
from appeals.services.core import (
    A,
    MOBILE_REQUIRED_SOURCES,
    NOTE_MAX,
    RESIDENT_LABEL,
    S,
    SYSTEM_LABEL,
    _attach,
    _changed_message,
    _clean_photos,
    _Context,
    _ensure_table,
    _state_label,
    _text,
    _transition,
)
from appeals.services.dispatch import _dispatch, _dispatch_changes, _handling_changes, _level_of
from appeals.services.intake import appeal_receive
from appeals.services.resident import (
    appeal_claim,
    appeal_close_unevaluated,
    appeal_evaluate,
    appeal_for_resident,
    appeal_withdraw_by_resident,
)
from appeals.services.routing import Route, department_for, route_for, unit_from_code

__all__ = [
    "A", "FEEDBACK_METHODS", "MOBILE_REQUIRED_SOURCES", "NOTE_MAX", "RESIDENT_LABEL", "S", "SYSTEM_LABEL", "Route",
    "_Context", "_attach", "_changed_message", "_clean_photos", "_dispatch", "_dispatch_changes", "_ensure_table", "_handling_changes",
    "_level_of", "_state_label", "_text", "_transition", "appeal_act", "appeal_claim",
    "appeal_close_unevaluated", "appeal_evaluate", "appeal_for_resident", "appeal_receive",
    "appeal_withdraw_by_resident", "department_for", "route_for", "unit_from_code",
]
