"""The services of appeals (DESIGN.md §4): every change of an appeal goes through here.

- ``appeal_receive`` (``intake``): intake from every channel, with automatic dispatch;
- one typed service per staff action (``actions``): ``appeal_dispatch``,
  ``appeal_decline``, ``appeal_merge``, ``appeal_sign``, ``appeal_contact``,
  ``appeal_return``, ``appeal_reroute``, ``appeal_resolve``, ``appeal_verify_pass``,
  ``appeal_verify_fail``, ``appeal_feedback``, ``appeal_note``, ``appeal_whistle``,
  ``appeal_checkin``, ``appeal_supervise`` (a supervisor's 督办意见), ``appeal_publish`` (公开摘要); and ``appeal_act`` to take one by name (a page's or the API's
  URL); 上报 is ``appeals.escalation.appeal_escalate``, 延期
  ``appeals.extensions.extension_request``/``extension_approve``/``extension_reject``;
- the resident's (``resident``): ``appeal_withdraw_by_resident``, ``appeal_evaluate``,
  ``appeal_supplement`` (补充), by
  tracking code + the phone's last 4 digits; the volunteer's ``appeal_claim``; the
  system's ``appeal_close_unevaluated``.

Who may take which action in which state is the workflow table's (appeals.workflow),
asked first by every service; each change is one conditional UPDATE and one event,
through ``core._transition`` and the event writer (appeals.events).
"""

from appeals.services.actions import (
    SERVICES,
    appeal_act,
    appeal_checkin,
    appeal_contact,
    appeal_decline,
    appeal_dispatch,
    appeal_feedback,
    appeal_merge,
    appeal_note,
    appeal_publish,
    appeal_reroute,
    appeal_resolve,
    appeal_return,
    appeal_sign,
    appeal_supervise,
    appeal_verify_fail,
    appeal_verify_pass,
    appeal_whistle,
)
from appeals.services.core import MOBILE_REQUIRED_SOURCES, NOTE_MAX, _begin, _Context, _text, _transition
from appeals.services.intake import appeal_receive
from appeals.services.resident import (
    appeal_claim,
    appeal_close_unevaluated,
    appeal_evaluate,
    appeal_for_resident,
    appeal_supplement,
    appeal_withdraw_by_resident,
)
from appeals.services.routing import Route, department_for, route_for, unit_from_code

__all__ = [
    "MOBILE_REQUIRED_SOURCES", "NOTE_MAX", "SERVICES", "Route", "_Context", "_begin", "_text",
    "_transition", "appeal_act", "appeal_checkin", "appeal_claim", "appeal_close_unevaluated", "appeal_contact",
    "appeal_decline", "appeal_dispatch", "appeal_evaluate", "appeal_feedback", "appeal_for_resident", "appeal_merge",
    "appeal_note", "appeal_publish", "appeal_receive", "appeal_reroute", "appeal_resolve", "appeal_return", "appeal_sign", "appeal_supervise", "appeal_supplement",
    "appeal_verify_fail", "appeal_verify_pass", "appeal_whistle", "appeal_withdraw_by_resident", "department_for",
    "route_for", "unit_from_code",
]
