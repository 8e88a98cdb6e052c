"""What an appeal's events ask staff to do: the inbox messages each action hands the event
writer (appeals.events), in one place. governance.staff.notifications routes them to the
accounts of a unit, writes the inbox rows and the copies each account chose (email, SMS)
through the outbox (DESIGN.md §9): written in the event's transaction, delivered by the
relay.

Who is told, by event:
- 派单 (by staff, automatic at intake, 改派 to a new unit) → the unit that now handles it;
- waiting for dispatch (intake could not route it, 改派 to the street) → the queue's unit;
- 退单 → the queue it goes back to (the community, or the street's dispatch centre);
- 吹哨 → each department summoned, to report (报到);
- 返工 (the resident's 不满意, a failed 核查) → the handling unit;
- 督办意见 → the handling unit;
- 延期 requested → the deciding unit; decided → the requester (appeals.extensions);
- escalation, warnings, reminders → the sweeps' digests (appeals.escalation).
The actor is never told what they did themselves. Every message is about one appeal
(subject ``appeal:<id>``), so the inbox groups an appeal's messages on one line.
"""

from django.utils.translation import gettext as _

from appeals.deadlines import deadline_text
from appeals.enums import HandlingLevel
from appeals.escalation import appeal_link
from governance.enums import NotificationKind
from governance.kernel import outbox
from governance.staff.notifications import Digest, UnitKey, unit_messages

BODY_NOTE_MAX = 300


def subject(appeal) -> str:
    return f"appeal:{appeal.pk}"


def unit_key(level: str, unit) -> UnitKey:
    """The notifications key of a handling unit: departments by id, the others by code."""
    return ("department", unit.pk) if level == HandlingLevel.DEPARTMENT else (str(level), unit.code)


def _what(appeal, category=None) -> str:
    """The appeal in a few words: its category and its place (no resident's details)."""
    category = category or appeal.category
    parts = [str(category.name) if category is not None else _("未分类")]
    place = appeal.place_name
    if place:
        parts.append(place)
    return " · ".join(parts)


def _cut(text: str) -> str:
    text = (text or "").strip()
    return text if len(text) <= BODY_NOTE_MAX else text[:BODY_NOTE_MAX - 1] + "…"


def _to(kind: str, appeal, key: UnitKey | None, *, title: str, lines: list[str], actor=None) -> list[outbox.Message]:
    if key is None:
        return []
    body = "\n".join(line for line in lines if line)
    return unit_messages(kind=kind, subject=subject(appeal), exclude=(actor,), digests={
        key: Digest(title=title, body=body, link=appeal_link(appeal.tracking_code))})


def dispatched(appeal, *, level: str, unit, deadline=None, deadline_unit=None, category=None, note: str = "",
               by: str = "", actor=None, rerouted: bool = False) -> list[outbox.Message]:
    """派单 (or 改派) to ``unit``: the unit is asked to sign for it and handle it."""
    code = appeal.tracking_code
    title = (_("改派至本单位：诉求 %(code)s") if rerouted else _("新派单：诉求 %(code)s")) % {"code": code}
    when = deadline_text(deadline, deadline_unit) if deadline else ""
    return _to(NotificationKind.DISPATCH, appeal, unit_key(level, unit), title=title, actor=actor, lines=[
        _what(appeal, category),
        (_("%(by)s派至%(unit)s，请签收办理。") % {"by": by, "unit": unit}) if by else
        (_("已派至%(unit)s，请签收办理。") % {"unit": unit}),
        (_("办结时限：%(d)s") % {"d": when}) if when else "",
        (_("说明：%(n)s") % {"n": _cut(note)}) if note else "",
    ])


def awaiting_dispatch(appeal, *, key: UnitKey, reason: str = "", actor=None) -> list[outbox.Message]:
    """An appeal waits in a unit's queue (community, or the street's dispatch centre)."""
    return _to(NotificationKind.DISPATCH, appeal, key, actor=actor,
               title=_("待派单：诉求 %(code)s") % {"code": appeal.tracking_code}, lines=[
                   _what(appeal), _("请核实后派单。"),
                   (_("原因：%(r)s") % {"r": _cut(reason)}) if reason else "",
               ])


def returned(appeal, *, key: UnitKey, returned_by: str, reason: str, actor=None) -> list[outbox.Message]:
    """退单: back in the dispatcher's queue, to be dispatched again."""
    return _to(NotificationKind.RETURN, appeal, key, actor=actor,
               title=_("退单待重新派单：诉求 %(code)s（%(unit)s退回）") % {"code": appeal.tracking_code, "unit": returned_by},
               lines=[_what(appeal), _("退单理由：%(r)s") % {"r": _cut(reason)}, _("请重新派单。")])


def whistled(appeal, *, departments, by: str, note: str = "", actor=None) -> list[outbox.Message]:
    """吹哨: each department summoned is asked to report (报到) and help."""
    messages = []
    for department in departments:
        messages += _to(NotificationKind.WHISTLE, appeal, ("department", department.pk), actor=actor,
                        title=_("吹哨报到：诉求 %(code)s") % {"code": appeal.tracking_code}, lines=[
                            _what(appeal),
                            _("%(by)s吹哨，请%(dept)s到诉求页面报到并协同办理。") % {"by": by, "dept": department.name},
                            (_("说明：%(n)s") % {"n": _cut(note)}) if note else "",
                        ])
    return messages


def reworked(appeal, *, why: str, note: str = "", level_deadline=None, actor=None) -> list[outbox.Message]:
    """返工: the resident was not satisfied, or the on-site check failed; the handling unit
    works on it again."""
    return _to(NotificationKind.REWORK, appeal, appeal.handler_key, actor=actor,
               title=_("返工：诉求 %(code)s %(why)s") % {"code": appeal.tracking_code, "why": why}, lines=[
                   _what(appeal),
                   (_("意见：%(n)s") % {"n": _cut(note)}) if note else "",
                   _("请重新办理。") + ((_("本级时限：%(d)s") % {"d": deadline_text(level_deadline)})
                                       if level_deadline else ""),
               ])


def supervised(appeal, *, note: str, actor=None) -> list[outbox.Message]:
    """A supervisor's 督办意见 to the handling unit."""
    return _to(NotificationKind.SUPERVISION, appeal, appeal.handler_key, actor=actor,
               title=_("督办意见：诉求 %(code)s") % {"code": appeal.tracking_code}, lines=[note])
