"""Deadlines and escalation (DESIGN.md §4 "Deadlines and escalation").

An appeal has two clocks: its ``deadline`` (the resident's and the assessment's; only
an approved extension moves it, appeals.extensions) and its ``level_deadline`` (the
time the current level has; escalation resets it).

Escalation is a change of level, not of state: grid → community → street → district
督办. Going up to the community or the street, that unit takes the appeal over (it
becomes the handler, in the same state: a dispatched appeal waits for its sign-for).
At the district the handler stays (there is no district handling unit): the appeal is
on the district's 督办 list (``escalation_level = district``) and the district's
supervisors and the handler get a 催办 each day it stays overdue. Department-handled
appeals go straight to the district 督办 (departments are not above streets). Urgent
categories skip a level (grid → street, community → district) unless
ESCALATION_URGENT_SKIP is off.

The fresh level deadline is ``now`` + the level's hours (ESCALATION_COMMUNITY_HOURS,
ESCALATION_STREET_HOURS, ESCALATION_DISTRICT_HOURS), or the category's resolution limit
when that is given in hours and shorter (an emergency of 2 h gets 2 h at each level).
The resolution limit in working days is not reused: the appeal is already late, and a
level gets calendar hours to act.

The sweep (``escalation_sweep``, a beat task every ESCALATION_SWEEP_SECONDS) is
set-based: it reads the ids of the due appeals, then takes them in chunks of
ESCALATION_CHUNK_SIZE with ``select_for_update(skip_locked=True)`` (on SQLite the
IMMEDIATE transaction serialises writers instead), updates each chunk in bulk
conditionally (on the level each appeal had; the rows stay locked until the chunk
commits), bulk-creates one event per appeal, each with its digest item (an outbox row
naming the units to tell, in the chunk's transaction). The items are held until the sweep
ends; then the relay groups them into one digest notification per unit and kind
(``deliver_digests``). A sweep killed midway loses no notice: what it committed carries
its items, which the next sweep releases (or the hold's end). Its queries are
O(number of chunks). It is
idempotent: a second run finds nothing due, and two sweeps at once never take the same
row. It derives its work from the database alone, so after a broker outage the next
run catches up.

Warnings (临期预警) and reminders (催办) record an event but do not bump the appeal's
version: they change nothing a handler acts on, and must not turn a form the handler
has open into "already changed".
"""

import logging
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from appeals import events, workflow
from appeals.deadlines import deadline_formatter
from appeals.enums import (
    AppealAction,
    DeadlineUnit,
    EscalationLevel,
    HandlingLevel,
)
from appeals.models import Appeal
from governance.enums import NotificationKind
from governance.kernel import outbox
from governance.kernel.bulk import chunked
from governance.staff.notifications import Digest, UnitKey, deliver_to_units

logger = logging.getLogger(__name__)


LEVEL_ORDER = (EscalationLevel.GRID, EscalationLevel.COMMUNITY, EscalationLevel.STREET, EscalationLevel.DISTRICT)
APPEALS_LINK = "/appeals/"


def appeal_link(tracking_code: str) -> str:
    """The staff page of one appeal (a path; emails prefix the site's address)."""
    return f"/appeals/{tracking_code}/"


# --- settings ------------------------------------------------------------------------------
# The "--- Escalation ---" block of governance/settings.py, read at call time (tests and
# override_settings change them).

_LEVEL_HOURS = {
    EscalationLevel.COMMUNITY: "ESCALATION_COMMUNITY_HOURS", EscalationLevel.STREET: "ESCALATION_STREET_HOURS",
    EscalationLevel.DISTRICT: "ESCALATION_DISTRICT_HOURS",
}


def level_hours(level: str) -> int:
    return getattr(settings, _LEVEL_HOURS[level])


# --- the next level -------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    from_level: str  # the escalation level before ("" for a department's appeal)
    to_level: str
    handler: str | None  # the handling level it moves to (community/street); None: same handler
    skipped: bool = False


def next_step(*, escalation_level: str, handling_level: str, urgent: bool) -> Step | None:
    """Where an appeal goes up to; None at the district (nothing is above 督办)."""
    if escalation_level == EscalationLevel.DISTRICT or not handling_level:
        return None
    if handling_level == HandlingLevel.DEPARTMENT:
        return Step(escalation_level, EscalationLevel.DISTRICT, None)
    current = escalation_level or handling_level
    index = LEVEL_ORDER.index(current)
    jump = 2 if urgent and settings.ESCALATION_URGENT_SKIP else 1
    target = LEVEL_ORDER[min(index + jump, len(LEVEL_ORDER) - 1)]
    handler = None
    if target in (EscalationLevel.COMMUNITY, EscalationLevel.STREET) and LEVEL_ORDER.index(target) > LEVEL_ORDER.index(handling_level):
        handler = target
    return Step(escalation_level, target, handler, skipped=LEVEL_ORDER.index(target) - index > 1)


def fresh_level_deadline(*, to_level: str, now: datetime, unit: str | None, limit: int | None) -> datetime:
    hours = level_hours(to_level)
    if unit == DeadlineUnit.HOURS and limit:
        hours = min(hours, limit)
    return now + timedelta(hours=hours)


def _changes(step: Step, *, now: datetime, level_deadline: datetime) -> dict:
    """The UPDATE of one escalation; the new handler comes from the appeal's own place
    (a grid's appeal always has its community, and every appeal its street)."""
    changes = {
        "escalation_level": step.to_level, "level_deadline": level_deadline, "escalated_at": now,
        "warned_level_deadline": None, "last_reminded_at": None,
    }
    if step.handler == HandlingLevel.COMMUNITY:
        changes.update(handling_level=HandlingLevel.COMMUNITY, handling_grid=None, handling_community=F("community"))
    elif step.handler == HandlingLevel.STREET:
        changes.update(handling_level=HandlingLevel.STREET, handling_grid=None, handling_community=None,
                       handling_street=F("street"))
    return changes


def _handler_key(row: dict) -> UnitKey:
    level = row["handling_level"]
    return (level, row[f"handling_{level}_id"])


def _receivers(row: dict, step: Step) -> list[UnitKey]:
    """Who is told of an escalation: the unit it went up to; at the district, the
    district's supervisors and the handler (which keeps it, now under 督办)."""
    if step.to_level == EscalationLevel.DISTRICT:
        return [("district", row["district_id"]), _handler_key(row)]
    return [(step.to_level, row["community_id"] if step.to_level == EscalationLevel.COMMUNITY else row["street_id"])]


def _event_data(row: dict, step: Step, level_deadline: datetime, *, automatic: bool) -> events.Escalate:
    handler = None
    if step.handler:
        new = row["community_id"] if step.handler == HandlingLevel.COMMUNITY else row["street_id"]
        handler = {"from": list(map(str, _handler_key(row))), "to": [step.handler, new]}
    return events.Escalate(
        from_level=step.from_level, to_level=step.to_level, automatic=automatic, level_deadline=level_deadline,
        skipped=True if step.skipped else None, handler=handler,
        # The unit it went up to, by code (the new handler, or the district for its 督办).
        unit_level=str(step.to_level), unit_code=row[f"{step.to_level}_id"],
    )


def _level_label(level: str) -> str:
    return str(EscalationLevel(level).label) if level else str(HandlingLevel.DEPARTMENT.label)


# --- digests ------------------------------------------------------------------------------------


DIGEST = "digest"
# A sweep's digest items wait until the sweep ends (``outbox.release``), so that a unit gets
# one digest for the sweep, not one per relay round that ran meanwhile; at the longest
# this long (more than the sweep task's time limit), should the sweep be killed and no
# other sweep release them.
DIGEST_HOLD = timedelta(seconds=300)


def _item(kind: str, units: list[UnitKey], row: dict, line: str, *, hold: bool) -> outbox.Message:
    """One appeal's line for the digests of ``units`` (an outbox message)."""
    return outbox.Message(
        channel=DIGEST, template=str(kind), subject=f"appeal:{row['id']}",
        params={"units": [[level, code] for level, code in units], "code": row["tracking_code"], "line": line},
        not_before=timezone.now() + DIGEST_HOLD if hold else None,
    )


@dataclass
class _Told:
    """The (kind, unit) pairs a sweep wrote digest items for (its workers add at once)."""

    pairs: set = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, units) -> None:
        with self.lock:
            self.pairs.update((kind, tuple(unit)) for unit in units)


def deliver_digests(rows) -> None:
    """The outbox's ``digest`` channel (local: in the relay's transaction): the items of a
    delivery round grouped into one inbox message per unit and kind."""
    by_kind: dict[str, dict] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        for level, code in row.params["units"]:
            by_kind[row.template][(level, code)].append((row.params["code"], row.params["line"]))
    for kind, by_unit in by_kind.items():
        deliver_to_units(digests={key: _digest(kind, items) for key, items in by_unit.items()}, kind=kind)


_TITLES = {
    NotificationKind.WARNING: gettext_noop("临期预警：%(n)s 件诉求即将超过本级办理时限"),
    NotificationKind.ESCALATION: gettext_noop("超期升级：%(n)s 件诉求已升级至本单位或列入区督办"),
    NotificationKind.REMINDER: gettext_noop("督办催办：%(n)s 件区督办诉求仍未办结"),
}


def _digest(kind: str, items: list) -> Digest:
    codes = [code for code, _line in items]
    return Digest(
        title=_(_TITLES[kind]) % {"n": len(items)},
        body="\n".join(line for _code, line in items),
        link=appeal_link(codes[0]) if len(codes) == 1 else APPEALS_LINK,
    )


def _when_formatter():
    """Level deadlines and deadlines in notes and digests: the one deadline text
    (appeals.deadlines; a level deadline is an exact time), translated once per chunk."""
    text = deadline_formatter()
    return lambda dt, unit=DeadlineUnit.HOURS: text(dt, unit) if dt else "—"


def _line(row: dict, text: str, unclassified: str | None = None) -> str:
    category = row.get("category__name") or unclassified or _("未分类")
    return f"· {row['tracking_code']} {category}：{text}"


# --- the sweep ------------------------------------------------------------------------------------

_ROW_FIELDS = (
    "id", "version", "state", "tracking_code", "escalation_level", "handling_level", "handling_grid_id",
    "handling_community_id", "handling_street_id", "handling_department_id", "community_id", "street_id",
    "district_id", "deadline", "level_deadline", "escalated_at", "dispatched_at",
    "category__name", "category__urgent", "category__resolution_unit", "category__resolution_limit",
)


def _in_chunks(qs: QuerySet, process, size: int) -> int:
    """Run ``process(rows)`` on the rows of ``qs`` in chunks, each in its own
    transaction with the chunk's rows locked (rows another sweep holds are skipped).

    The ids of the matching rows are read first, in one query; each chunk then locks
    its ids with ``qs``'s conditions checked again (PostgreSQL re-checks them on the
    row's latest version once it holds the lock), so a row another sweep or a handler
    changed in between drops out, and no row is taken twice. Reading a chunk by its ids
    costs the same for the first chunk and the last. (Keyset pages of ``qs`` in id
    order re-read every due row through the deadline index for each chunk, and sorted
    them: at city scale two thirds of the sweep's time.) Rows that become due after
    the ids were read wait for the next sweep.

    With ESCALATION_SWEEP_WORKERS > 1, that many threads, each on its own connection,
    take one contiguous share of the ids each. Not inside a transaction: the other
    connections could not see what it has not committed, so there the chunks run on
    the caller's connection. Returns the sum of what ``process`` returns."""
    ids = list(qs.order_by("pk").values_list("pk", flat=True))
    if not ids:
        return 0
    workers = min(settings.ESCALATION_SWEEP_WORKERS, -(-len(ids) // size))
    if workers <= 1 or connection.in_atomic_block:
        return _chunk_loop(qs, ids, process, size)
    share = -(-len(ids) // workers)

    def run(part: int) -> int:
        try:
            return _chunk_loop(qs, ids[part * share:(part + 1) * share], process, size)
        finally:
            connections.close_all()  # this thread's connection

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="escalation") as pool:
        return sum(pool.map(run, range(workers)))


def _chunk_loop(qs: QuerySet, ids: list[int], process, size: int) -> int:
    total = 0
    asynchronous = connection.vendor == "postgresql"
    for chunk in chunked(ids, size):
        with transaction.atomic():
            if asynchronous:
                # The chunk's commit does not wait for its WAL to reach the disk (one fsync
                # per chunk was a third of the sweep's time at city scale). Safe here: the
                # appeals and their events commit or vanish together, and a sweep lost to a
                # crash in the next ~0.6 s is redone by the next sweep, which derives its
                # work from the table.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
            rows = list(
                qs.filter(pk__in=chunk).order_by("pk")
                .select_for_update(skip_locked=True, of=("self",))
                .values(*_ROW_FIELDS)
            )
            if rows:
                total += process(rows)
    return total


@dataclass
class SweepResult:
    warned: int = 0
    escalated: int = 0
    reminded: int = 0
    units_told: int = 0


def escalation_sweep(*, now: datetime | None = None, size: int | None = None) -> SweepResult:
    """Warn, escalate and remind, for every open appeal whose clock says so.

    Steps: 1. warnings (临期预警) for level deadlines coming within
    min(ESCALATION_WARN_HOURS, ESCALATION_WARN_PERCENT of the level's time), once per
    level deadline; 2. escalation of every appeal past its level deadline, one level
    up (urgent: two) with a fresh level deadline; 3. a 催办 for district-level appeals
    still overdue, at most once per ESCALATION_REMIND_HOURS; each event with its digest
    item, held; 4. the items released and the relay kicked: one digest per unit and kind.
    ``now`` is passed into every query (frozen time in tests is honest).
    """
    now = now or timezone.now()
    size = size or settings.ESCALATION_CHUNK_SIZE
    told = _Told()
    result = SweepResult()
    result.warned = _warn(now, size, told)
    result.escalated = _escalate(now, size, told)
    result.reminded = _remind(now, size, told)
    result.units_told = len(told.pairs)
    # The items of this sweep (and of one killed before it) are due now: one kick.
    outbox.release(channel=DIGEST)
    outbox.kick_after_commit()
    if result.escalated or result.reminded:
        logger.info("escalation sweep: %s", result)
    return result


def _warn(now: datetime, size: int, told: _Told) -> int:
    horizon = timedelta(hours=settings.ESCALATION_WARN_HOURS)
    if not horizon:
        return 0
    share = settings.ESCALATION_WARN_PERCENT / 100
    qs = Appeal.objects.filter(
        state__in=workflow.sources(AppealAction.WARN), level_deadline__gt=now, level_deadline__lte=now + horizon,
    ).filter(Q(warned_level_deadline__isnull=True) | ~Q(warned_level_deadline=F("level_deadline")))

    def process(rows: list[dict]) -> int:
        when = _when_formatter()
        due = []
        for row in rows:
            start = row["escalated_at"] or row["dispatched_at"]
            window = horizon
            if start and share:
                window = min(horizon, (row["level_deadline"] - start) * share)
            if row["level_deadline"] - now <= window:
                due.append(row)
        if not due:
            return 0
        Appeal.objects.filter(pk__in=[r["id"] for r in due]).update(warned_level_deadline=F("level_deadline"))
        kind = NotificationKind.WARNING
        events.record_many([
            events.Event(
                appeal_id=r["id"], from_state=r["state"], to_state=r["state"],
                note=_("本级办理时限将于 %(t)s 到期。") % {"t": when(r["level_deadline"])},
                data=events.Warn(level=r["escalation_level"] or r["handling_level"], level_deadline=r["level_deadline"]),
                messages=(_item(kind, [_handler_key(r)], r, _line(r, _("本级时限 %(t)s") % {
                    "t": when(r["level_deadline"])}), hold=True),),
            )
            for r in due
        ], kick=False)
        told.add(kind, [_handler_key(r) for r in due])
        return len(due)

    return _in_chunks(qs, process, size)


def _escalate(now: datetime, size: int, told: _Told) -> int:
    qs = (
        Appeal.objects.filter(state__in=workflow.sources(AppealAction.ESCALATE), level_deadline__lte=now)
        .exclude(handling_level="").exclude(escalation_level=EscalationLevel.DISTRICT)
    )

    def process(rows: list[dict]) -> int:
        groups: dict[tuple, list[dict]] = defaultdict(list)
        plans = {}
        for row in rows:
            step = next_step(escalation_level=row["escalation_level"], handling_level=row["handling_level"],
                             urgent=bool(row["category__urgent"]))
            if step is None:
                continue
            deadline = fresh_level_deadline(to_level=step.to_level, now=now, unit=row["category__resolution_unit"],
                                            limit=row["category__resolution_limit"])
            plans[row["id"]] = (step, deadline)
            groups[(step, row["handling_level"], deadline)].append(row)
        done = []
        for (step, handling_level, deadline), group in groups.items():
            # The chunk's rows are locked since they were read (on SQLite the IMMEDIATE
            # transaction holds the database), so no handler's action can come between:
            # matching by id, on the level each had, is enough. (Matching by (id, version)
            # pairs built one Q per appeal: a tenth of the sweep's time at city scale.)
            ids = [r["id"] for r in group]
            updated = Appeal.objects.filter(
                pk__in=ids, escalation_level=step.from_level, handling_level=handling_level,
                state__in=workflow.sources(AppealAction.ESCALATE),
            ).update(version=F("version") + 1, updated_at=now, **_changes(step, now=now, level_deadline=deadline))
            if updated == len(group):
                done.extend(group)
            else:
                changed = set(Appeal.objects.filter(pk__in=ids, escalated_at=now,
                                                    escalation_level=step.to_level).values_list("pk", flat=True))
                done.extend(r for r in group if r["id"] in changed)
        # Texts translated once per chunk, not per appeal.
        note_text = _("本级办理时限（%(t)s）已过，自动由%(from)s升级至%(to)s。")
        line_text = _("由%(from)s升级，本级时限 %(t)s")
        labels = {level: _level_label(level) for level in ("", *EscalationLevel.values)}
        unclassified = _("未分类")
        when = _when_formatter()
        written = []
        kind = NotificationKind.ESCALATION
        for row in done:
            step, deadline = plans[row["id"]]
            from_label = labels[step.from_level]
            line = _line(row, line_text % {"from": from_label, "t": when(deadline)}, unclassified)
            receivers = _receivers(row, step)
            written.append(events.Event(
                appeal_id=row["id"], from_state=row["state"], to_state=row["state"],
                note=note_text % {"t": when(row["level_deadline"]), "from": from_label, "to": labels[step.to_level]},
                data=_event_data(row, step, deadline, automatic=True),
                messages=(_item(kind, receivers, row, line, hold=True),),
            ))
            told.add(kind, receivers)
        events.record_many(written, kick=False)
        return len(done)

    return _in_chunks(qs, process, size)


def _remind(now: datetime, size: int, told: _Told) -> int:
    qs = Appeal.objects.filter(
        state__in=workflow.sources(AppealAction.REMIND), escalation_level=EscalationLevel.DISTRICT, level_deadline__lte=now,
    ).filter(Q(last_reminded_at__isnull=True) | Q(last_reminded_at__lte=now - timedelta(hours=settings.ESCALATION_REMIND_HOURS)))

    def process(rows: list[dict]) -> int:
        when = _when_formatter()
        Appeal.objects.filter(pk__in=[r["id"] for r in rows]).update(last_reminded_at=now)
        kind = NotificationKind.REMINDER
        written = []
        for r in rows:
            line = _line(r, _("督办时限 %(t)s 已过，办结时限 %(d)s") % {
                "t": when(r["level_deadline"]), "d": when(r["deadline"], r["category__resolution_unit"])})
            receivers = [_handler_key(r), ("district", r["district_id"])]
            written.append(events.Event(
                appeal_id=r["id"], from_state=r["state"], to_state=r["state"],
                note=_("区督办：本级时限 %(t)s 已过，请尽快办结。") % {"t": when(r["level_deadline"])},
                data=events.Remind(level_deadline=r["level_deadline"]),
                messages=(_item(kind, receivers, r, line, hold=True),),
            ))
            told.add(kind, receivers)
        events.record_many(written, kick=False)
        return len(rows)

    return _in_chunks(qs, process, size)


# --- escalation by hand (上报) ------------------------------------------------------------------


def _step_of(appeal: Appeal) -> Step | None:
    return next_step(escalation_level=appeal.escalation_level, handling_level=appeal.handling_level,
                     urgent=bool(appeal.category and appeal.category.urgent))


def appeal_escalate(
    *, actor, appeal: Appeal, reason: str, expected_version: int | None = None, now: datetime | None = None,
) -> Appeal:
    """The handler escalates (上报) what its level cannot solve: the same step as the sweep.

    Steps: 1. the workflow table permits it (appeals.workflow: outside the jurisdiction
    404; not dispatched or in progress 409; not the handler — whoever may resolve it —
    403; already at the district 督办 409); 2. a reason is required → else
    ApplicationError; 3. a conditional update on the version (stale → Conflict "already
    changed") with the new level, handler and level deadline, and one ``escalate``
    event with its digest item for the unit it went up to (delivered by the relay after
    the commit). Returns the appeal afterwards.
    """
    from appeals import services

    ctx = services._begin(actor=actor, appeal=appeal, action=AppealAction.ESCALATE, expected_version=expected_version, now=now)
    step = _step_of(appeal)
    reason = services._text(reason, field_label=_("上报理由"), required=True)
    category = appeal.category
    deadline = fresh_level_deadline(to_level=step.to_level, now=ctx.now,
                                    unit=category.resolution_unit if category else None,
                                    limit=category.resolution_limit if category else None)
    row = {
        "id": appeal.pk, "handling_level": appeal.handling_level, "handling_grid_id": appeal.handling_grid_id,
        "handling_community_id": appeal.handling_community_id, "handling_street_id": appeal.handling_street_id,
        "handling_department_id": appeal.handling_department_id, "community_id": appeal.community_id,
        "street_id": appeal.street_id, "district_id": appeal.district_id, "tracking_code": appeal.tracking_code,
        "category__name": category.name if category else "",
    }
    line = _line(row, _("%(unit)s上报：%(reason)s") % {"unit": ctx.post.unit_name, "reason": reason})
    item = _item(NotificationKind.ESCALATION, _receivers(row, step), row, line, hold=False)
    with transaction.atomic():
        services._transition(ctx, AppealAction.ESCALATE, changes=_changes(step, now=ctx.now, level_deadline=deadline),
                             note=reason, data=_event_data(row, step, deadline, automatic=False), messages=[item])
    return ctx.appeal


# --- auto-close -------------------------------------------------------------------------------------


def close_unevaluated_sweep(*, now: datetime | None = None, size: int | None = None) -> int:
    """Close (unevaluated) every appeal awaiting evaluation for APPEAL_AUTO_CLOSE_DAYS
    since its feedback, set-based: the same rule and event as
    ``services.appeal_close_unevaluated``, in locked chunks with a conditional bulk
    update and bulk-created events. Idempotent; returns how many were closed."""
    now = now or timezone.now()
    days = settings.APPEAL_AUTO_CLOSE_DAYS
    sources = workflow.sources(AppealAction.CLOSE_UNEVALUATED)
    (target,) = workflow.TABLE[AppealAction.CLOSE_UNEVALUATED].targets
    qs = Appeal.objects.filter(state__in=sources, feedback_at__lte=now - timedelta(days=days))
    note = _("居民 %(n)s 天内未评价，自动结案。") % {"n": days}

    def process(rows: list[dict]) -> int:
        # The chunk's rows are locked since they were read: matching by id is enough (as
        # in _escalate; one Q per (id, version) cost a tenth of the sweep there).
        updated = Appeal.objects.filter(pk__in=[r["id"] for r in rows], state__in=sources).update(
            state=target, closed_at=now, updated_at=now, version=F("version") + 1,
        )
        done = rows
        if updated != len(rows):
            closed = set(Appeal.objects.filter(pk__in=[r["id"] for r in rows], state=target, closed_at=now)
                         .values_list("pk", flat=True))
            done = [r for r in rows if r["id"] in closed]
        events.record_many([
            events.Event(appeal_id=r["id"], data=events.CloseUnevaluated(), from_state=r["state"], to_state=target,
                         note=note)
            for r in done
        ])
        return len(done)

    return _in_chunks(qs, process, size or settings.ESCALATION_CHUNK_SIZE)
