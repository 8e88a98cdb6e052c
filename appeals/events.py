"""The event log: what each kind of event records, and the one writer of its rows
(DESIGN.md §4: "the event log is append-only and is the source for every metric").

Writing. Every ``AppealEvent`` row of the code base is written here and nowhere else
(``tests/test_architecture.py`` searches for any other):
- ``record``: one event, inside a transition (appeals.services.core) — returns the row;
- ``record_many``: many at once in one multi-row INSERT — intake's receive and dispatch,
  a sweep's chunk (escalation, warnings, reminders, auto-close), a deadline correction;
- ``load_history``: seeded histories with their own ids and times (the demo, the
  benchmark's city, the tests' fabricated logs) — COPY on PostgreSQL.

Reading. Each action's ``data`` is one frozen dataclass below (``DATA_OF[action]``):
its fields are the JSON keys stored, a field left ``None`` is not stored, and what the
scoring reads from it is defined beside it (``holder``: the unit that holds the appeal
after a holder-changing event; ``HOLDER_Q``, ``REWORK_Q``, ``TERMINAL_ACTIONS``,
``DEFERRAL_ACTIONS``). ``read(action, data)`` turns a stored row back into its record.
The format has only ever grown keys, so older rows read with the defaults and no stored
event needs rewriting; the one older spelling still read is a dispatch's ``level``
(now ``unit_level``, which every writer here adds).
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, ClassVar, NamedTuple

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from appeals.enums import AppealAction, AppealState, HandlingLevel, QueueLevel
from appeals.models import AppealEvent
from governance.kernel.bulk import copy_rows

A = AppealAction

# Who acted, where no account did (the actor_label of an event without an actor).
SYSTEM_LABEL = "系统"
RESIDENT_LABEL = "居民"


class Unit(NamedTuple):
    """A unit by level and code: grid/community/street/district code, or a department's
    code (names change and repeat — two districts' 城管 — codes do not)."""

    level: str
    code: str


# --- what each kind of event records ----------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class EventData:
    """The data of one event. Subclasses name their ``action`` and their fields; ``KEYS``
    maps a field to its stored key where the two differ (``from`` is a Python keyword)."""

    action: ClassVar[str]
    KEYS: ClassVar[dict[str, str]] = {}

    def to_json(self) -> dict:
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            out[self.KEYS.get(f.name, f.name)] = _jsonable(value)
        return out

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


@dataclass(frozen=True, kw_only=True, slots=True)
class Receive(EventData):
    action = A.RECEIVE
    source: str
    route: str | None = None  # why automatic dispatch did not route it (it waits in a queue)
    seeded: str | None = None  # a history written by a seed (the demo, the benchmark), not by people


@dataclass(frozen=True, kw_only=True, slots=True)
class Dispatch(EventData):
    action = A.DISPATCH
    unit_level: str
    unit_code: str
    unit: str = ""  # the unit's name, for people reading the log
    category: str | None = None
    automatic: bool | None = None
    cooperating_departments: tuple[str, ...] | None = None

    @classmethod
    def from_json(cls, data):
        data = dict(data or {})
        data.setdefault("unit_level", data.get("level", ""))  # the older spelling
        data.setdefault("unit_code", "")
        return super(Dispatch, cls).from_json(data)

    def to_json(self) -> dict:
        # "level" is kept beside unit_level for readers of the older spelling.
        return {**super(Dispatch, self).to_json(), "level": self.unit_level}

    @property
    def holder(self):
        return _unit(self.unit_level, self.unit_code)


@dataclass(frozen=True, kw_only=True, slots=True)
class Return(EventData):
    """退单: back to whoever dispatched it; the queue's unit holds it (community or street)."""

    action = A.RETURN
    queue: str
    unit_level: str
    unit_code: str
    returned_by: str = ""

    @property
    def holder(self):
        return _unit(self.unit_level, self.unit_code)


@dataclass(frozen=True, kw_only=True, slots=True)
class Reroute(EventData):
    """改派: a new category (codes before, after), a new handler (names before, after, and
    the new one by code), or a waiting appeal moved to the street's dispatch centre."""

    action = A.REROUTE
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


@dataclass(frozen=True, kw_only=True, slots=True)
class Escalate(EventData):
    """升级 by the sweep or 上报 by hand: the escalation level ``from_level`` → ``to_level``;
    ``handler`` ({"from": [level, code], "to": [level, code]}) when the handler moves up;
    ``unit_level``/``unit_code`` the unit it went up to (the new handler, or the district
    for its 督办)."""

    action = A.ESCALATE
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


@dataclass(frozen=True, kw_only=True, slots=True)
class Evaluate(EventData):
    action = A.EVALUATE
    solved: bool
    rating: str
    comment: str = ""
    rework: bool | None = None
    rework_limit_reached: bool | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Sign(EventData):
    action = A.SIGN
    contact: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class Contact(EventData):
    action = A.CONTACT
    first: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class Resolve(EventData):
    action = A.RESOLVE
    photos: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class Feedback(EventData):
    action = A.FEEDBACK
    method: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Merge(EventData):
    action = A.MERGE
    merged_into: str  # the other appeal's tracking code


@dataclass(frozen=True, kw_only=True, slots=True)
class Note(EventData):
    action = A.NOTE
    supervision: bool | None = None  # older rows: a supervisor's 督办意见 (now ``supervise``)


@dataclass(frozen=True, kw_only=True, slots=True)
class Whistle(EventData):
    action = A.WHISTLE
    departments: tuple[str, ...]  # names
    codes: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class Checkin(EventData):
    action = A.CHECKIN
    department: str
    department_id: int


@dataclass(frozen=True, kw_only=True, slots=True)
class Claim(EventData):
    action = A.CLAIM
    volunteer_id: int
    volunteer: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Warn(EventData):
    action = A.WARN
    level: str
    level_deadline: datetime | str


@dataclass(frozen=True, kw_only=True, slots=True)
class Remind(EventData):
    action = A.REMIND
    level_deadline: datetime | str


@dataclass(frozen=True, kw_only=True, slots=True)
class ExtendRequest(EventData):
    action = A.EXTEND_REQUEST
    extension: int
    requested_deadline: datetime | str
    deadline: datetime | str  # the deadline when it was asked


@dataclass(frozen=True, kw_only=True, slots=True)
class ExtendApprove(EventData):
    action = A.EXTEND_APPROVE
    extension: int
    requested_deadline: datetime | str
    deadline: tuple  # [before, after]
    extension_days: int | None = None  # working days added (a working-day deadline)


@dataclass(frozen=True, kw_only=True, slots=True)
class ExtendReject(EventData):
    action = A.EXTEND_REJECT
    extension: int
    requested_deadline: datetime | str


@dataclass(frozen=True, kw_only=True, slots=True)
class Publish(EventData):
    """公开摘要: the summary the public reads (the event's note; empty: withdrawn) and
    the photos marked public (their ids)."""

    action = A.PUBLISH
    photos: tuple[int, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class DeadlineCorrect(EventData):
    """时限校正: the working-day calendar changed and the deadline was computed again from its
    inputs (appeals.recompute): [before, after] in China time, what the new calendar gives
    (``computed``; later when ``guarded`` by the next working day), why, and from what."""

    action = A.DEADLINE_CORRECT
    deadline: tuple
    computed: str
    year: int
    reason: str
    inputs: dict
    guarded: bool | None = None
    level_deadline: tuple | None = None


def _plain(action_value: str) -> type[EventData]:
    """The data of an action that records nothing beyond its row (who, when, states, note)."""
    cls = dataclass(frozen=True, kw_only=True, slots=True)(type(f"Plain_{action_value}", (EventData,), {}))
    cls.action = action_value
    return cls


Supervise = _plain(A.SUPERVISE)
Decline = _plain(A.DECLINE)
Withdraw = _plain(A.WITHDRAW)
VerifyPass = _plain(A.VERIFY_PASS)
VerifyFail = _plain(A.VERIFY_FAIL)
CloseUnevaluated = _plain(A.CLOSE_UNEVALUATED)

DATA_OF: dict[str, type[EventData]] = {
    cls.action: cls for cls in (
        Receive, Dispatch, Return, Reroute, Escalate, Evaluate, Sign, Contact, Resolve, Feedback, Merge, Note,
        Whistle, Checkin, Claim, Warn, Remind, ExtendRequest, ExtendApprove, ExtendReject, DeadlineCorrect,
        Publish, Supervise, Decline, Withdraw, VerifyPass, VerifyFail, CloseUnevaluated,
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
    Q(action__in=(A.DISPATCH, A.RETURN))
    | Q(action=A.REROUTE, data__has_key="unit")
    | Q(action=A.REROUTE, data__has_key="queue")
    | Q(action=A.ESCALATE, data__has_key="handler")
)
# 返工: the resident was unsatisfied and the appeal went back to work, or the on-site
# verification failed.
REWORK_Q = Q(action=A.VERIFY_FAIL) | Q(action=A.EVALUATE, to_state=AppealState.IN_PROGRESS)
# The appeal left the workflow without a result: not scored.
TERMINAL_ACTIONS = (A.WITHDRAW, A.DECLINE, A.MERGE)
# An approved extension (延期 → 缓办).
DEFERRAL_ACTIONS = (A.EXTEND_APPROVE,)
# A supervisor's 督办意见 (older rows: a note with ``supervision``).
SUPERVISION_NOTE_Q = Q(action=A.SUPERVISE) | Q(action=A.NOTE, data__has_key="supervision")


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

    @property
    def action(self) -> str:
        return self.data.action


_COLUMNS = ("appeal_id", "action", "actor_id", "actor_label", "from_state", "to_state", "note", "data", "created_at")


def _row(event: Event, now) -> list:
    return [
        event.appeal_id, str(event.data.action), event.actor_id, event.actor_label[:100], str(event.from_state),
        str(event.to_state), event.note, json.dumps(event.data.to_json(), ensure_ascii=False),
        event.at or now,
    ]


def record(event: Event) -> AppealEvent:
    """Write one event now and return its row (the transition service attaches photos to it)."""
    assert event.at is None and event.id is None, "record() writes events as they happen"
    return AppealEvent.objects.create(
        appeal_id=event.appeal_id, action=event.data.action, actor_id=event.actor_id,
        actor_label=event.actor_label[:100], from_state=event.from_state, to_state=event.to_state,
        note=event.note, data=event.data.to_json(),
    )


def record_many(events: Sequence[Event], *, returning_ids: bool = False) -> list[int]:
    """Write events in one multi-row INSERT through Django's cursor (counted like any
    query; no model instance per event: at city scale those were a sixth of a sweep's
    time). Returns their ids, in order, when asked (intake attaches its photos to the
    receive event)."""
    if not events:
        return []
    now = timezone.now()
    params: list[Any] = []
    for event in events:
        params += _row(event, now)
    params = [connection.ops.adapt_datetimefield_value(p) if isinstance(p, datetime) else p for p in params]
    table = connection.ops.quote_name(AppealEvent._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in _COLUMNS)
    values = ", ".join(["(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"] * len(events))
    sql = f"INSERT INTO {table} ({columns}) VALUES {values}"
    with connection.cursor() as cursor:
        if returning_ids:
            cursor.execute(sql + " RETURNING id", params)
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(sql, params)
    return []


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
