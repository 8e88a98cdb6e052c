"""Writes of the reports: 督办 notes (supervisors' only write, DESIGN.md §3)."""

from django.db import transaction
from django.utils.translation import gettext as _

from appeals import events
from appeals.enums import OPEN_STATES
from appeals.models import Appeal, AppealEvent
from appeals.permissions import actor_label, is_visible
from governance.enums import Role
from governance.errors import ActionForbidden, ApplicationError, Conflict, NotFound
from governance.notifications import Digest, notify_units
from governance.selectors import jurisdiction_for

NOTE_MAX = 1000


def _handler_key(appeal: Appeal):
    # The notifications' unit keys: territorial units by code, departments by id.
    if appeal.handling_grid_id:
        return ("grid", appeal.handling_grid_id)
    if appeal.handling_community_id:
        return ("community", appeal.handling_community_id)
    if appeal.handling_street_id:
        return ("street", appeal.handling_street_id)
    if appeal.handling_department_id:
        return ("department", appeal.handling_department_id)
    return None


def supervision_note_add(*, actor, appeal: Appeal, note: str) -> AppealEvent:
    """A supervisor's 督办意见 on an appeal.

    Steps: 1. the appeal must be visible to the actor (else NotFound); 2. only a
    supervisor (or an administrator) writes 督办 notes (ActionForbidden); 3. the appeal
    must still be open (Conflict) and the note non-empty (ApplicationError); 4. one
    AppealEvent ``note`` carrying data["supervision"], so it appears on the appeal's
    timeline — it changes neither state nor handler, so the appeal's version is left
    alone and no handler's open form goes stale; 5. an inbox message to the handling
    unit's staff, in the same transaction (email after commit).
    """
    jurisdiction = jurisdiction_for(actor)
    if not is_visible(jurisdiction, appeal):
        raise NotFound()
    supervisor_post = next((p for p in jurisdiction.posts if p.role == Role.SUPERVISOR), None)
    if supervisor_post is None and not actor.is_superuser:
        raise ActionForbidden(_("只有督查考核人员可以添加督办意见。"))
    note = (note or "").strip()
    if not note:
        raise ApplicationError(_("请填写督办意见。"))
    if len(note) > NOTE_MAX:
        raise ApplicationError(_("督办意见不能超过 %(n)s 字。") % {"n": NOTE_MAX})
    if appeal.state not in OPEN_STATES:
        raise Conflict(_("该诉求已办结或关闭，不能再督办。"))
    label = actor_label(supervisor_post) if supervisor_post else _("系统管理员")
    with transaction.atomic():
        event = events.record(events.Event(
            appeal_id=appeal.pk, data=events.Note(supervision=True), actor_id=actor.pk,
            actor_label=f"{label}（{_('督办')}）", from_state=appeal.state, to_state=appeal.state, note=note,
        ))
        key = _handler_key(appeal)
        if key is not None:
            from django.urls import reverse

            notify_units(
                digests={key: Digest(
                    title=_("督办意见：诉求 %(code)s") % {"code": appeal.tracking_code},
                    body=note, link=reverse("appeals:detail", args=[appeal.tracking_code]),
                )},
                kind="reminder",
            )
    return event
