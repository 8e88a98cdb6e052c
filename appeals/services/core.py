"""The core of the transition service: one row of the table, one event (appeals.services)."""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from appeals import events, permissions, workflow
from appeals.enums import Source
from appeals.images import clean_image
from appeals.models import Appeal, AppealAttachment, AppealEvent
from governance.kernel.errors import ApplicationError, Conflict, ServiceUnavailable
from governance.staff.selectors import Jurisdiction

logger = logging.getLogger(__name__)

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


def _begin(*, actor, appeal: Appeal, action: str, expected_version: int | None = None, now: datetime | None = None,
           extension=None) -> _Context:
    """The context of an action the workflow table permits this actor now (else its
    refusal: 404, 409, 403, or the action's precondition)."""
    now = now or timezone.now()
    permit = workflow.permit(user=actor, appeal=appeal, action=action, now=now, extension=extension)
    return _Context(appeal=appeal, actor=actor, label=permit.label, now=now, expected_version=expected_version,
                    jurisdiction=permit.jurisdiction, post=permit.post)


def _transition(
    ctx: _Context, action: str, *, to_state: str | None = None, changes: dict | None = None,
    note: str = "", data: events.EventData | None = None, messages=(),
) -> AppealEvent:
    """Apply one row of the table to ``ctx.appeal`` and record its event.

    Steps: 1. the table allows the action from the current state; 2. a conditional
    UPDATE on (pk, version, state) bumps the version — no row means someone else got
    there first (Conflict); an action that changes nothing a handler acts on (the row's
    ``keeps_version``: a 督办意见) updates nothing; 3. one AppealEvent, through the event writer (``data``: the
    action's record in appeals.events; none for an action that records nothing more);
    4. the in-memory appeal is refreshed. Must run inside transaction.atomic.
    """
    appeal = ctx.appeal
    from_state = appeal.state
    workflow.ensure_state(action, from_state)
    targets = workflow.TABLE[action].targets
    if targets is None:
        to_state = from_state
    else:
        to_state = to_state or targets[0]
        assert to_state in targets, (action, to_state)
    version = ctx.expected_version if ctx.expected_version is not None else appeal.version
    ctx.expected_version = None  # only the first step of a call is checked against the caller
    if workflow.TABLE[action].keeps_version:
        assert not changes, (action, changes)
    else:
        updated = Appeal.objects.filter(pk=appeal.pk, version=version, state=from_state).update(
            state=to_state, version=F("version") + 1, updated_at=ctx.now, **(changes or {})
        )
        if updated != 1:
            raise Conflict(_changed_message())
    data = data if data is not None else events.DATA_OF[action]()
    assert data.action == action, (action, data)
    event = events.record(events.Event(
        appeal_id=appeal.pk, data=data, from_state=from_state, to_state=to_state, note=note,
        actor_id=getattr(ctx.actor, "pk", None), actor_label=ctx.label, messages=tuple(messages),
    ))
    appeal.refresh_from_db()
    permissions.forget(appeal)
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


@dataclass(frozen=True)
class StoredPhotos:
    names: list[str]  # in the media storage
    failed: list[str]  # the uploads' own names, of the photos that could not be written


def _store_photos(photos: list) -> StoredPhotos:
    """Write cleaned photos to the media storage. A photo that cannot be written (a full
    or read-only disk) is left out and named in ``failed``: the caller decides whether
    its action goes on without it."""
    field = AppealAttachment._meta.get_field("image")
    names, failed = [], []
    for content in photos:
        try:
            names.append(field.storage.save(field.generate_filename(None, content.name), content))
        except OSError:
            logger.exception("a photo could not be stored in the media storage")
            failed.append(getattr(content, "original_name", content.name))
    return StoredPhotos(names=names, failed=failed)


def _attach_stored(appeal: Appeal, event: AppealEvent | int, names: list[str], kind: str) -> None:
    """The appeal's attachments of ``event`` (the row or its id) for photos already stored."""
    event_id = event if isinstance(event, int) else event.pk
    AppealAttachment.objects.bulk_create([
        AppealAttachment(appeal=appeal, event_id=event_id, kind=kind, image=name) for name in names
    ])


def _attach(appeal: Appeal, event: AppealEvent | int, photos: list, kind: str) -> None:
    """Store ``photos`` as the appeal's attachments of ``event``; a photo that cannot be
    written stops the action (ServiceUnavailable, 503: the staff member tries again)."""
    stored = _store_photos(photos)
    if stored.failed:
        for name in stored.names:
            AppealAttachment._meta.get_field("image").storage.delete(name)
        raise ServiceUnavailable(_("照片暂时无法保存，本次操作未生效，请稍后再试。"))
    _attach_stored(appeal, event, stored.names, kind)
