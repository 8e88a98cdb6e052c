"""The event log: what each kind of event records, and the one writer of its rows
(DESIGN.md §4: "the event log is append-only and is the source for every metric").

Writing. Every ``AppealEvent`` row of the code base is written here and nowhere else
(``tests/test_architecture.py`` searches for any other), with the messages to people it
causes (``Event.messages``: SMS, inbox entries, digest items — DESIGN.md §9), which
become outbox rows (governance.kernel.outbox) in the same transaction, keyed by the
event's id (``event:<id>:<n>``: written once, delivered once):
- ``record``: one event, inside a transition (appeals.services.core) — returns the row;
- ``record_many``: many at once in one multi-row INSERT — intake's receive and dispatch,
  a sweep's chunk (escalation, warnings, reminders, auto-close), a deadline correction;
- ``load_history``: seeded histories with their own ids and times (the demo, the
  benchmark's city, the tests' fabricated logs) — COPY on PostgreSQL.

Reading. Each action's ``data`` is one frozen dataclass below (``DATA_OF[action]``):
its fields are the JSON keys stored, a field left ``None`` is not stored, and what the
scoring reads from it is defined beside it (``holder``: the unit that holds the appeal
after a holder-changing event; ``HOLDER_Q``, ``REWORK_Q``, ``TERMINAL_ACTIONS``,
``DEFERRAL_ACTIONS``; for 不出格率 and 不出社区率, ``PATH_Q`` and ``handling``: where the
appeal went after its first dispatch). ``read(action, data)`` turns a stored row back
into its record.
The format has only ever grown keys, so older rows read with the defaults and no stored
event needs rewriting; the one older spelling still read is a dispatch's ``level``
(now ``unit_level``, which every writer here adds).
"""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from functools import cache
from typing import Any, ClassVar, NamedTuple

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from appeals.enums import AppealAction, AppealState, EscalationLevel, HandlingLevel, QueueLevel
from appeals.models import AppealEvent
from governance.kernel import outbox
from governance.kernel.bulk import copy_rows

# Who acted, where no account did (the actor_label of an event without an actor).
SYSTEM_LABEL = "系统"
RESIDENT_LABEL = "居民"


class Unit(NamedTuple):
    """A unit by level and code: grid/community/street/district code, or a department's
    code (names change and repeat — two districts' 城管 — codes do not)."""

    level: str
    code: str


# --- what each kind of event records ----------------------------------------------------------


# Every event kind's data, and their base: immutable, keyword-only (they are read back from
# the stored JSON by key), without a __dict__.
_event_data = dataclass(frozen=True, kw_only=True, slots=True)


@_event_data
class EventData:
    """The data of one event. Subclasses name their ``action`` and their fields; ``KEYS``
    maps a field to its stored key where the two differ (``from`` is a Python keyword)."""

    action: ClassVar[str]
    KEYS: ClassVar[dict[str, str]] = {}

    def stored(self) -> dict:
        """The fields to store, under their keys, None left out; values as they are."""
        out = {}
        for name, key in _stored_keys(type(self)):
            value = getattr(self, name)
            if value is not None:
                out[key] = value
        return out

    def to_json(self) -> dict:
        """The stored form as plain JSON values: enums as their values, instants in ISO
        8601, tuples as lists."""
        return {key: value if type(value) in _PLAIN else _jsonable(value) for key, value in self.stored().items()}

    def to_json_text(self) -> str:
        """``to_json`` as the text the bulk INSERT writes, encoded straight from ``stored``
        (json writes enums, tuples and nested dicts as ``to_json`` has them)."""
        return json.dumps(self.stored(), ensure_ascii=False, default=_instant_text)

    @classmethod
    def from_json(cls, data: dict | None):
        data = data or {}
        values = {}
        for f in fields(cls):
            key = cls.KEYS.get(f.name, f.name)
            if key in data:
                value = data[key]
                values[f.name] = tuple(value) if isinstance(value, list) else value
        return cls(**values)

    @property
    def holder(self) -> Unit | None:
        """The unit holding the appeal after this event, if the event changes the holder."""
        return None


@cache
def _stored_keys(kind: type) -> tuple[tuple[str, str], ...]:
    """A kind's (field, stored key) pairs, found once: ``fields()`` and the key lookup per
    event were a tenth of a 100,000-appeal sweep's Python time."""
    return tuple((f.name, kind.KEYS.get(f.name, f.name)) for f in fields(kind))


_PLAIN = frozenset({str, int, float, bool})  # stored as they are (not str subclasses: enums)


def _instant_text(value) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not stored in an event's data")


def _jsonable(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return str(value) if isinstance(value, str) else value


def _unit(level, code) -> Unit | None:
    return Unit(str(level), str(code)) if level and code else None


@_event_data
class Receive(EventData):
    action = AppealAction.RECEIVE
    source: str
    route: str | None = None  # why automatic dispatch did not route it (it waits in a queue)
    seeded: str | None = None  # a history written by a seed (the demo, the benchmark), not by people
    photos_not_stored: int | None = None  # photos sent that the media storage could not take
    # 智能分拨 (appeals.suggest): filed without a category, the model's first suggestion and
    # its probability; it routed the appeal when at least CATEGORY_SUGGEST_THRESHOLD.
    suggested_category: str | None = None
    suggestion_confidence: float | None = None


@_event_data
class Dispatch(EventData):
    action = AppealAction.DISPATCH
    unit_level: str
    unit_code: str
    unit: str = ""  # the unit's name, for people reading the log
    category: str | None = None
    automatic: bool | None = None
    cooperating_departments: tuple[str, ...] | None = None
    # The category came from the model's suggestion (智能分拨), with this probability.
    suggested: bool | None = None
    confidence: float | None = None

    @classmethod
    def from_json(cls, data):
        data = dict(data or {})
        data.setdefault("unit_level", data.get("level", ""))  # the older spelling
        data.setdefault("unit_code", "")
        return super(Dispatch, cls).from_json(data)

    def stored(self) -> dict:
        # "level" is kept beside unit_level for readers of the older spelling.
        return {**super(Dispatch, self).stored(), "level": self.unit_level}

    @property
    def holder(self):
        return _unit(self.unit_level, self.unit_code)


@_event_data
class Return(EventData):
    """退单: back to whoever dispatched it; the queue's unit holds it (community or street)."""

    action = AppealAction.RETURN
    queue: str
    unit_level: str
    unit_code: str
    returned_by: str = ""

    @property
    def holder(self):
        return _unit(self.unit_level, self.unit_code)


@_event_data
class Reroute(EventData):
    """改派: a new category (codes before, after), a new handler (names before, after, and
    the new one by code), or a waiting appeal moved to the street's dispatch centre."""

    action = AppealAction.REROUTE
    category: tuple[str | None, str] | None = None
    unit: tuple[str, str] | None = None
    queue: tuple[str, str] | None = None
    unit_level: str | None = None
    unit_code: str | None = None

    @property
    def holder(self):
        if self.unit is None and self.queue is None:
            return None  # the category only
        return _unit(self.unit_level, self.unit_code)

    @property
    def moves_handler(self) -> bool:
        """A new handling unit (not only the category, or the queue a waiting appeal is in)."""
        return self.unit is not None


@_event_data
class Escalate(EventData):
    """升级 by the sweep or 上报 by hand: the escalation level ``from_level`` → ``to_level``;
    ``handler`` ({"from": [level, code], "to": [level, code]}) when the handler moves up;
    ``unit_level``/``unit_code`` the unit it went up to (the new handler, or the district
    for its 督办)."""

    action = AppealAction.ESCALATE
    KEYS = {"from_level": "from", "to_level": "to"}
    from_level: str
    to_level: str
    automatic: bool
    level_deadline: datetime | str
    skipped: bool | None = None
    handler: dict | None = None
    unit_level: str | None = None
    unit_code: str | None = None

    @property
    def holder(self):
        if not self.handler:
            return None  # the district 督办: the handler keeps it
        target = self.handler.get("to")
        if isinstance(target, list | tuple) and len(target) == 2:
            return _unit(*target)
        return None

    @property
    def beyond_community(self) -> bool:
        """Up to the street or the district (督办): out of the community (大事不出社区)."""
        return self.to_level in ABOVE_COMMUNITY


@_event_data
class Evaluate(EventData):
    action = AppealAction.EVALUATE
    solved: bool
    rating: str
    comment: str = ""
    rework: bool | None = None
    rework_limit_reached: bool | None = None


@_event_data
class Sign(EventData):
    action = AppealAction.SIGN
    contact: bool = False


@_event_data
class Contact(EventData):
    action = AppealAction.CONTACT
    first: bool = False


@_event_data
class Resolve(EventData):
    action = AppealAction.RESOLVE
    photos: int = 0


@_event_data
class Feedback(EventData):
    action = AppealAction.FEEDBACK
    method: str


@_event_data
class Merge(EventData):
    action = AppealAction.MERGE
    merged_into: str  # the other appeal's tracking code


@_event_data
class Note(EventData):
    action = AppealAction.NOTE
    supervision: bool | None = None  # older rows: a supervisor's 督办意见 (now ``supervise``)


@_event_data
class Whistle(EventData):
    action = AppealAction.WHISTLE
    departments: tuple[str, ...]  # names
    codes: tuple[str, ...]


@_event_data
class Checkin(EventData):
    action = AppealAction.CHECKIN
    department: str
    department_id: int


@_event_data
class Claim(EventData):
    action = AppealAction.CLAIM
    volunteer_id: int
    volunteer: str


@_event_data
class Warn(EventData):
    action = AppealAction.WARN
    level: str
    level_deadline: datetime | str


@_event_data
class Remind(EventData):
    action = AppealAction.REMIND
    level_deadline: datetime | str


@_event_data
class ExtendRequest(EventData):
    action = AppealAction.EXTEND_REQUEST
    extension: int
    requested_deadline: datetime | str
    deadline: datetime | str  # the deadline when it was asked


@_event_data
class ExtendApprove(EventData):
    action = AppealAction.EXTEND_APPROVE
    extension: int
    requested_deadline: datetime | str
    deadline: tuple  # [before, after]
    extension_days: int | None = None  # working days added (a working-day deadline)


@_event_data
class ExtendReject(EventData):
    action = AppealAction.EXTEND_REJECT
    extension: int
    requested_deadline: datetime | str


@_event_data
class Publish(EventData):
    """公开摘要: the summary the public reads (the event's note; empty: withdrawn) and
    the photos marked public (their ids)."""

    action = AppealAction.PUBLISH
    photos: tuple[int, ...] = ()


@_event_data
class DeadlineCorrect(EventData):
    """时限校正: the working-day calendar changed and the deadline was computed again from its
    inputs (appeals.recompute): [before, after] in China time, what the new calendar gives
    (``computed``; later when ``guarded`` by the next working day), why, and from what."""

    action = AppealAction.DEADLINE_CORRECT
    deadline: tuple
    computed: str
    year: int
    reason: str
    inputs: dict
    guarded: bool | None = None
    level_deadline: tuple | None = None


@_event_data
class Supplement(EventData):
    """居民补充: the resident's text is the event's note; ``photos`` how many came with it."""

    action = AppealAction.SUPPLEMENT
    photos: int = 0


@_event_data
class Deliberate(EventData):
    """提交议事: the community meeting the appeal is put to (appeals.deliberation)."""

    action = AppealAction.DELIBERATE
    meeting: int
    kind: str  # deliberation.enums.MeetingKind
    starts_at: datetime | str


@_event_data
class DeliberationNote(EventData):
    """议事决定: a decision of the meeting, attached to an appeal it does not resolve (held
    outside the community); the decision's text is the note."""

    action = AppealAction.DELIBERATION_NOTE
    meeting: int
    decision: int
    state: str  # deliberation.enums.DecisionState


def _plain(action_value: str) -> type[EventData]:
    """The data of an action that records nothing beyond its row (who, when, states, note)."""
    cls = dataclass(frozen=True, kw_only=True, slots=True)(type(f"Plain_{action_value}", (EventData,), {}))
    cls.action = action_value
    return cls


Supervise = _plain(AppealAction.SUPERVISE)
Decline = _plain(AppealAction.DECLINE)
Withdraw = _plain(AppealAction.WITHDRAW)
VerifyPass = _plain(AppealAction.VERIFY_PASS)
VerifyFail = _plain(AppealAction.VERIFY_FAIL)
CloseUnevaluated = _plain(AppealAction.CLOSE_UNEVALUATED)

DATA_OF: dict[str, type[EventData]] = {
    cls.action: cls for cls in (
        Receive, Dispatch, Return, Reroute, Escalate, Evaluate, Sign, Contact, Resolve, Feedback, Merge, Note,
        Whistle, Checkin, Claim, Warn, Remind, ExtendRequest, ExtendApprove, ExtendReject, DeadlineCorrect,
        Publish, Supervise, Decline, Withdraw, VerifyPass, VerifyFail, CloseUnevaluated, Supplement,
        Deliberate, DeliberationNote,
    )
}
assert set(DATA_OF) == set(AppealAction), "every action needs its data in appeals.events"


def read(action: str, data: dict | None) -> EventData:
    """A stored event's data as its record."""
    return DATA_OF[action].from_json(data)


# --- what the scoring reads (governance.assessment) ------------------------------------------

# The events that may change who holds an appeal (the ``holder`` of their data says
# whether and to whom): dispatch, return, a reroute of the handler or of the queue, and
# an escalation that moves the handler up. The query is a superset; ``holder`` decides.
HOLDER_Q = (
    Q(action__in=(AppealAction.DISPATCH, AppealAction.RETURN))
    | Q(action=AppealAction.REROUTE, data__has_key="unit")
    | Q(action=AppealAction.REROUTE, data__has_key="queue")
    | Q(action=AppealAction.ESCALATE, data__has_key="handler")
)
# 返工: the resident was unsatisfied and the appeal went back to work, or the on-site
# verification failed.
REWORK_Q = Q(action=AppealAction.VERIFY_FAIL) | Q(action=AppealAction.EVALUATE, to_state=AppealState.IN_PROGRESS)
# The appeal left the workflow without a result: not scored.
TERMINAL_ACTIONS = (AppealAction.WITHDRAW, AppealAction.DECLINE, AppealAction.MERGE)
# An approved extension (延期 → 缓办).
DEFERRAL_ACTIONS = (AppealAction.EXTEND_APPROVE,)
# A supervisor's 督办意见 (older rows: a note with ``supervision``).
SUPERVISION_NOTE_Q = Q(action=AppealAction.SUPERVISE) | Q(action=AppealAction.NOTE, data__has_key="supervision")


# --- where an appeal went: 小事不出格、大事不出社区 (issue 15) -------------------------------------

# The escalation levels above a community.
ABOVE_COMMUNITY = frozenset({EscalationLevel.STREET, EscalationLevel.DISTRICT})
_TERRITORIAL = frozenset({HandlingLevel.GRID, HandlingLevel.COMMUNITY, HandlingLevel.STREET, HandlingLevel.DISTRICT})
# The events that say where an appeal went: those that may change its holder (HOLDER_Q),
# every escalation (升级 by the sweep, 上报 by hand; also those to the district 督办, which
# leave the handler in place) and 吹哨. ``handling`` reads them, in order.
PATH_Q = HOLDER_Q | Q(action__in=(AppealAction.ESCALATE, AppealAction.WHISTLE))


@dataclass(frozen=True, slots=True)
class Handling:
    """Where an appeal went after its first dispatch, as 不出格率 and 不出社区率 read it.

    - ``first``: the unit of its first dispatch (派单) — the unit these measures count for;
    - ``redispatched_elsewhere``: a later 派单 (after 退单) sent it to another unit: the
      first dispatch does not stand, and the appeal leaves both measures' denominators;
    - ``escalated``: any escalation, by the sweep or 上报 by hand; ``beyond_community``:
      one to the street or the district (督办); ``whistled``: 吹哨 summoned departments;
    - ``handlers``: the units that handled it since by 改派 or by an escalation that moved
      it up (a return's queue handles nothing: it waits for the dispatcher).
    """

    first: Unit | None = None
    redispatched_elsewhere: bool = False
    escalated: bool = False
    beyond_community: bool = False
    whistled: bool = False
    handlers: tuple[Unit, ...] = ()

    def handled_within(self, unit: Unit) -> bool:
        """Every unit that handled it since its first dispatch lies within ``unit``: a grid
        is only itself; a community, itself and its grids (codes nest; a department's code
        lies within no community)."""
        return all(h.level in _TERRITORIAL and h.code.startswith(unit.code) for h in self.handlers)

    @property
    def kept_in_grid(self) -> bool:
        """小事不出格: no escalation, 上报 or 吹哨, and handled by its grid alone."""
        return (self.first is not None and not (self.escalated or self.whistled)
                and self.handled_within(self.first))

    def kept_in_community(self, community_code: str) -> bool:
        """大事不出社区: nothing took it above the community (an escalation to the street or
        the district, 吹哨), and only the community and its grids handled it."""
        return not (self.beyond_community or self.whistled) and self.handled_within(
            Unit(HandlingLevel.COMMUNITY, community_code))


def handling(records: Iterable[EventData]) -> Handling:
    """The Handling of an appeal from the records of its PATH_Q events, in order."""
    first, elsewhere, escalated, beyond, whistled, handlers = None, False, False, False, False, []
    for record in records:
        if isinstance(record, Dispatch):
            unit = record.holder
            if first is None:
                first = unit
            elif unit != first:
                elsewhere = True
        elif first is None:
            continue  # nothing is handled before the first dispatch (a queue moved to the street)
        elif isinstance(record, Whistle):
            whistled = True
        elif isinstance(record, Escalate):
            escalated = True
            beyond = beyond or record.beyond_community
            if record.holder is not None:
                handlers.append(record.holder)
        elif isinstance(record, Reroute) and record.moves_handler and record.holder is not None:
            handlers.append(record.holder)
    return Handling(first=first, redispatched_elsewhere=elsewhere, escalated=escalated, beyond_community=beyond,
                    whistled=whistled, handlers=tuple(handlers))


def queue_unit(*, queue: str, community_code: str | None, street_code: str) -> Unit:
    """The unit whose queue an undispatched appeal waits in: its community's, or the
    street's dispatch centre."""
    if queue == QueueLevel.COMMUNITY and community_code:
        return Unit(HandlingLevel.COMMUNITY, community_code)
    return Unit(HandlingLevel.STREET, street_code)


# --- the writer ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Event:
    """One event to write."""

    appeal_id: int
    data: EventData
    from_state: str
    to_state: str
    note: str = ""
    actor_id: int | None = None
    actor_label: str = SYSTEM_LABEL
    at: datetime | None = None  # None: the moment it is written
    id: int | None = None  # only seeded histories number their rows themselves
    messages: tuple[outbox.Message, ...] = ()  # what the event tells people (the outbox)

    @property
    def action(self) -> str:
        return self.data.action


_COLUMNS = ("appeal_id", "action", "actor_id", "actor_label", "from_state", "to_state", "note", "data", "created_at")


def _row(event: Event, now) -> list:
    """One event's INSERT parameters; ``now`` is already adapted for the database."""
    return [
        event.appeal_id, str(event.data.action), event.actor_id, event.actor_label[:100], str(event.from_state),
        str(event.to_state), event.note, event.data.to_json_text(),
        connection.ops.adapt_datetimefield_value(event.at) if event.at else now,
    ]


def _write_messages(events: Sequence[Event], ids: Sequence[int], *, kick: bool) -> None:
    messages, keys = [], []
    for event, event_id in zip(events, ids, strict=True):
        for n, message in enumerate(event.messages):
            messages.append(message)
            keys.append(f"event:{event_id}:{n}")
    outbox.write(messages, keys=keys, kick=kick)


def record(event: Event) -> AppealEvent:
    """Write one event now, with its messages, and return its row (the transition service
    attaches photos to it). Must run inside the caller's transaction when it has messages."""
    assert event.at is None and event.id is None, "record() writes events as they happen"
    row = AppealEvent.objects.create(
        appeal_id=event.appeal_id, action=event.data.action, actor_id=event.actor_id,
        actor_label=event.actor_label[:100], from_state=event.from_state, to_state=event.to_state,
        note=event.note, data=event.data.to_json(),
    )
    _write_messages([event], [row.pk], kick=True)
    return row


def record_many(events: Sequence[Event], *, returning_ids: bool = False, kick: bool = True) -> list[int]:
    """Write events in one multi-row INSERT through Django's cursor (counted like any
    query; no model instance per event: at city scale those were a sixth of a sweep's
    time), and their messages in one more. Returns their ids, in order, when asked
    (intake attaches its photos to the receive event). ``kick``: kick the outbox's
    relay after the commit (a sweep kicks once, when it is done)."""
    if not events:
        return []
    returning_ids = returning_ids or any(event.messages for event in events)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    params: list[Any] = []
    for event in events:
        params += _row(event, now)
    table = connection.ops.quote_name(AppealEvent._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in _COLUMNS)
    values = ", ".join(["(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"] * len(events))
    sql = f"INSERT INTO {table} ({columns}) VALUES {values}"
    with connection.cursor() as cursor:
        if not returning_ids:
            cursor.execute(sql, params)
            return []
        cursor.execute(sql + " RETURNING id", params)
        ids = [row[0] for row in cursor.fetchall()]
    _write_messages(events, ids, kick=kick)
    return ids


def load_history(events: Sequence[Event]) -> int:
    """Load a seeded history (ids and times given by the seed) in bulk: COPY on
    PostgreSQL, executemany elsewhere. Returns how many were written."""
    rows = []
    for event in events:
        assert event.at is not None, "a history gives each event its time"
        rows.append({
            **({"id": event.id} if event.id is not None else {}),
            "appeal_id": event.appeal_id, "action": str(event.data.action), "actor_id": event.actor_id,
            "actor_label": event.actor_label[:100], "from_state": str(event.from_state),
            "to_state": str(event.to_state), "note": event.note, "data": event.data.to_json(),
            "created_at": event.at,
        })
    return copy_rows(AppealEvent, rows)
