"""Intake (受理) from every channel, with automatic dispatch."""

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from appeals import events, notices, permissions, sms, workflow
from appeals.enums import (
    PUBLIC_SOURCES,
    SELF_FOUND_SOURCES,
    AppealAction,
    AppealState,
    AttachmentKind,
    HandlingLevel,
    QueueLevel,
    Source,
)
from appeals.events import RESIDENT_LABEL, SYSTEM_LABEL
from appeals.models import DESCRIPTION_MAX, Appeal, Category, new_tracking_code
from appeals.services.core import (
    MOBILE_REQUIRED_SOURCES,
    _attach_stored,
    _clean_photos,
    _store_photos,
    _text,
)
from appeals.services.dispatch import _dispatch_changes
from appeals.services.routing import Route, route_for
from appeals.suggest import records
from appeals.suggest.models import SuggestionPlace
from appeals.suggest.services import suggest
from appeals.tasks import SMS_RECEIVED
from governance.kernel.errors import ActionForbidden, ApplicationError
from governance.staff.selectors import jurisdiction_for
from grids.locate import locate
from grids.models import Building, Community, Grid, Street
from grids.validators import normalize_phone


def _staff_posts(actor) -> list:
    """The posts the staff account acts through (its first one labels the receive event)."""
    posts = jurisdiction_for(actor).acting_posts
    if not posts:
        raise ActionForbidden(_("只有网格员、社区、街道或部门工作人员可以代居民登记诉求。"))
    return list(posts)


def appeal_receive(
    *, source: str, description: str, phone: str = "", category: Category | None = None,
    building: Building | None = None, address_text: str = "", name: str = "", anonymous: bool = False,
    actor=None, grid: Grid | None = None, community: Community | None = None, street: Street | None = None,
    photos=(), now: datetime | None = None, address_unclear: bool = False,
    latitude: Decimal | None = None, longitude: Decimal | None = None, public_consent: bool = False,
) -> Appeal:
    """Receive (受理) an appeal from any channel, then try automatic dispatch.

    Steps: 1. validate (source; description ≤ 4,000; phone — a mobile for web and
    API; optional, a landline accepted, for Open311 and staff sources; photos);
    2. the place, by precedence: a chosen ``building``; else the reported point
    (``latitude``/``longitude``, WGS-84) where grids.locate places it — the grid whose
    boundary holds it, or the nearest building within LOCATE_FALLBACK_M; else the
    grid/community/street given, with the address in words; the denormalised place is
    filled from the most precise unit; 3. the appeal waits in its
    community's queue (or the street's dispatch centre) with a receive event; 4. or,
    when ``route_for`` finds a unit, it is dispatched automatically: inserted already
    dispatched, with the receive and the dispatch event (``_dispatch_before_insert``);
    filed without a category, the model's first suggestion (appeals.suggest) routes it
    when its probability reaches CATEGORY_SUGGEST_THRESHOLD (``_suggested_route``): the
    receive event records the suggestion and its probability either way, the dispatch
    event ``suggested`` and ``confidence``, and a CategorySuggestion row (intake) is
    written with the appeal;
    5. a 主动发现 appeal (SELF_FOUND_SOURCES) dispatched to the finder's own grid starts in
    progress: the finder's sign-for follows the dispatch (``_sign_before_insert``), with
    no 先行联系 (there is no resident to contact: the finder is the one who reported it);
    6. the SMS with the tracking code, an outbox row beside the receive event.
    Staff sources need ``actor`` (a staff account); public sources (web, API,
    Open311) take none. ``address_unclear`` (地址不明) and a reported ``latitude`` /
    ``longitude`` are kept as given.
    Photos are written to the media storage first; one that cannot be written is left
    out and the appeal saved without it: the returned appeal's ``photos_not_stored``
    names those (the receive event counts them).
    Returns the appeal (state received or dispatched). Raises ApplicationError (400) on
    bad input, ActionForbidden if the actor is not staff.
    """
    if source not in Source.values:
        raise ApplicationError(_("未知的诉求来源“%(s)s”。") % {"s": source})
    public = source in PUBLIC_SOURCES
    posts: list = []
    if public:
        actor = None
        label = RESIDENT_LABEL
    else:
        if actor is None:
            raise ActionForbidden(_("电话、来访和巡查诉求须由工作人员登记。"))
        posts = _staff_posts(actor)
        label = permissions.actor_label(posts[0])
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

    # The place: a chosen building, then the pin, then the units named with the words.
    located = False
    if building is None and latitude is not None and longitude is not None:
        location = locate(lat=float(latitude), lon=float(longitude))
        if location is not None:
            building, grid, community, street = location.building, location.grid, location.community, location.street
            located = True
    # From the most precise unit given; the coarser ones must agree.
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
    if building is None and not located and not address_text:
        raise ApplicationError(_("未选择楼栋时，请用文字填写具体地址。"))
    territory = building or grid or community or street
    clean_photos = _clean_photos(photos)

    now = now or timezone.now()
    appeal = Appeal(
        category=category, description=description, source=source, building=building,
        address_text=address_text or (building.address if building else ""),
        district_id=street.district_id, street=street, community=community, grid=grid,
        territory_code=territory.code, name=name, anonymous=anonymous, phone=phone,
        queue_level=QueueLevel.COMMUNITY if community else QueueLevel.STREET,
        address_unclear=address_unclear, latitude=latitude, longitude=longitude,
        public_consent=bool(public_consent) and not public,
    )
    route = route_for(appeal)
    suggestion, routed_by = _suggested_route(appeal) if category is None else (None, None)
    if routed_by is not None:
        route = routed_by
    # The photos first, outside the transaction: one that cannot be written (a full or
    # read-only disk) is left out, and the appeal is saved without it (the resident is told).
    stored = _store_photos(clean_photos)
    # The events are written once the appeal has its id (``_insert``).
    plan = [dict(data=events.Receive(source=source, route=route.reason if route.unit is None else None,
                                     photos_not_stored=len(stored.failed) or None,
                                     suggested_category=suggestion.first.code if suggestion else None,
                                     suggestion_confidence=round(suggestion.confidence, 4) if suggestion else None),
                 from_state="", to_state=AppealState.RECEIVED, actor_id=getattr(actor, "pk", None), actor_label=label)]
    if route.unit is not None:
        plan.append(_dispatch_before_insert(appeal, route, now))
        if routed_by is not None:
            plan[-1]["data"] = replace(plan[-1]["data"], suggested=True, confidence=round(suggestion.confidence, 4))
        finder = _finder_handling(appeal, posts) if source in SELF_FOUND_SOURCES else None
        if finder is not None:
            plan.append(_sign_before_insert(appeal, actor=actor, post=finder))
        else:
            # The unit it was routed to is asked to sign for it (built once the appeal
            # has its id and final tracking code, in ``_insert``).
            plan[-1]["notify"] = lambda a: notices.dispatched(
                a, level=a.handling_level, unit=route.unit, deadline=a.deadline, deadline_unit=a.deadline_unit,
                note=route.reason, actor=actor)
    else:
        # It waits in a queue: the community, or the street's dispatch centre, dispatches it.
        plan[0]["notify"] = lambda a: notices.awaiting_dispatch(
            a, key=tuple(events.queue_unit(queue=a.queue_level, community_code=a.community_id,
                                           street_code=a.street_id)),
            reason=route.reason, actor=actor)
    after = None
    if routed_by is not None:
        def after(a):
            records.suggestion_record(appeal=a, place=SuggestionPlace.INTAKE, shown=suggestion.codes,
                                      chosen=suggestion.first.code, version=suggestion.version,
                                      confidence=suggestion.confidence)
    _insert(appeal, plan, stored.names, after=after)
    appeal.photos_not_stored = tuple(stored.failed)
    return appeal


def _suggested_route(appeal: Appeal):
    """智能分拨 for an appeal filed without a category: (the suggestion or None, the route
    its first category gives or None). The route is taken only when the suggestion's
    probability reaches CATEGORY_SUGGEST_THRESHOLD and the category routes the appeal to a
    unit (a precise place); otherwise the appeal waits for dispatch as without a model."""
    suggestion = suggest(appeal.description)
    if suggestion is None or suggestion.first is None:
        return None, None
    if suggestion.confidence < settings.CATEGORY_SUGGEST_THRESHOLD:
        return suggestion, None
    appeal.category = suggestion.first
    route = route_for(appeal)
    if route.unit is None:
        appeal.category = None
        return suggestion, None
    note = _("按智能分拨建议自动分类（置信度 %(p)s）") % {"p": f"{suggestion.confidence:.0%}"}
    return suggestion, replace(route, reason=f"{route.reason}；{note}" if route.reason else note)


def _finder_handling(appeal: Appeal, posts: list):
    """The finder's post that is the grid the appeal was just dispatched to (their own
    grid), or None."""
    if appeal.handling_level != HandlingLevel.GRID:
        return None
    return next((p for p in posts if permissions.is_handling_unit(p, appeal)), None)


def _sign_before_insert(appeal: Appeal, *, actor, post) -> dict:
    """The finder signs for (签收) the 主动发现 appeal just dispatched to their own grid,
    before it is written (as ``_dispatch_before_insert``): the sign event the transition
    would write, by the finder through their grid post — they take it on themselves, so
    the history says who, not "系统" — with no 先行联系 recorded (``contact`` false,
    ``first_contact_at`` left empty)."""
    workflow.ensure_state(AppealAction.SIGN, appeal.state)
    from_state, appeal.state = appeal.state, AppealState.IN_PROGRESS
    appeal.version += 1
    return dict(data=events.Sign(contact=False), from_state=from_state, to_state=appeal.state,
                note=_("主动发现，由发现人所在网格直接办理。"), actor_id=actor.pk, actor_label=permissions.actor_label(post))


def _dispatch_before_insert(appeal: Appeal, route: Route, now: datetime) -> dict:
    """Automatic dispatch of an appeal not written yet: its fields become the dispatched
    ones and the dispatch event is returned, the one ``_transition`` would write (by the
    system, received → dispatched, version + 1). The appeal is then inserted already
    dispatched, with both events in the same transaction: one INSERT instead of an
    INSERT, a conditional UPDATE (at city scale a second version of the row, every index
    written again) and a re-read. No one else can hold a row that does not exist yet,
    so the condition on (version, state) has nothing to guard."""
    workflow.ensure_state(AppealAction.DISPATCH, appeal.state)
    changes, data = _dispatch_changes(
        appeal, unit=route.unit, category=None, dispatcher_level="", actor=None, now=now,
        automatic=True, cooperating=route.cooperating,
    )
    for name, value in changes.items():
        setattr(appeal, name, value)
    from_state, appeal.state = appeal.state, AppealState.DISPATCHED
    appeal.version += 1
    return dict(data=data, from_state=from_state, to_state=appeal.state, note=route.reason, actor_label=SYSTEM_LABEL)


class _TrackingCodeTaken(Exception):
    pass


def _insert(appeal: Appeal, plan: list[dict], photos: list[str], *, after=None) -> None:
    """Write a new appeal with its events (``plan``: appeals.events.Event's fields but
    the appeal's id), the SMS with the tracking code (an outbox row, delivered by the
    relay after the commit) and its photos' attachments (``photos``: already in the
    media storage) in one transaction.

    The appeal's INSERT comes first, so a tracking-code collision (astronomically
    unlikely) has written nothing yet: the transaction is rolled back and tried again
    with a new code (up to 3 times), with no savepoint around the INSERT. ``after(appeal)``
    writes rows that belong with the appeal (the suggestion's record) in that transaction.
    """
    for attempt in range(3):
        try:
            with transaction.atomic():
                try:
                    appeal.save(force_insert=True)
                except IntegrityError as exc:
                    raise _TrackingCodeTaken from exc
                # The receive event carries the SMS with the tracking code (an outbox row
                # in this transaction: saved with the appeal, or not at all).
                written = []
                for entry in plan:
                    entry = dict(entry)
                    notify = entry.pop("notify", None)
                    written.append(events.Event(appeal_id=appeal.pk, messages=tuple(notify(appeal)) if notify else (),
                                                **entry))
                written[0] = replace(written[0], messages=(*sms.messages_for(appeal, SMS_RECEIVED), *written[0].messages))
                ids = events.record_many(written, returning_ids=bool(photos))
                if photos:
                    _attach_stored(appeal, ids[0], photos, AttachmentKind.INTAKE)
                if after is not None:
                    after(appeal)
            return
        except _TrackingCodeTaken as exc:
            if attempt == 2:
                raise exc.__cause__ from None
            appeal.tracking_code = new_tracking_code()
