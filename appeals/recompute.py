"""Correcting open deadlines when the working-day calendar changes (issue 13, DESIGN.md §4).

What starts a run for a year:
- saving or deleting a CalendarDay, or changing whether a CalendarYear's official
  schedule is entered (the signals below): the year is marked pending
  (CalendarYear.recompute_requested_at) in the same transaction, and the job is queued
  after the commit (robust: a broker that is down is logged, not raised);
- the beat (``appeals.tasks.recompute_pending_deadlines``) runs every year still marked
  pending a while later, so a job lost to a broker outage is caught up from the database;
- ``python manage.py workdays --year Y --apply`` runs a year at once (e.g. after a
  chinesecalendar upgrade brought the year's official schedule).

A run (``deadlines_recompute``) re-computes the deadline of every open appeal whose span
(first dispatch → deadline) reaches into the year, from the inputs stored on it
(appeals.deadlines) or, for a row dispatched before they were stored, from its history:
the first dispatch event's time and category, and its approved extensions. Hour-based
deadlines do not depend on the calendar and are left alone. A deadline moves only to
another day (an extension approved to 18:00 stays where it is while its day is right),
never to before the end of the next working day (nobody becomes overdue after the
fact), and moving it also moves the level deadline of an appeal still at its first level
(never escalated, its level deadline the deadline); nothing is un-escalated. Each moved
appeal gets a ``deadline_correct`` event with old → new and why, written in bulk.

Rows are taken in chunks, each locked in its own transaction (waiting for a handler's
short transaction rather than skipping the row: a skipped row would keep a wrong
deadline). Running twice moves nothing the second time.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from django.utils.translation import gettext as _

from appeals import catalog, events
from appeals.deadlines import DeadlineInputs, deadline_text, extension_working_days, stored_inputs
from appeals.enums import AppealAction, DeadlineUnit, ExtensionState
from appeals.models import Appeal, AppealEvent, CalendarDay, CalendarYear, ExtensionRequest
from appeals.selectors import deadlines_reaching_into
from appeals.workdays import add_working_days, deadline_day
from governance.kernel.bulk import chunked
from governance.kernel.clock import CHINA

logger = logging.getLogger(__name__)

REASON_MAX = 200

_FIELDS = (
    "id", "version", "state", "deadline", "level_deadline", "escalated_at", "deferred", "dispatched_at",
    "deadline_start", "deadline_limit", "deadline_unit", "deadline_extension_days",
    "category__resolution_limit", "category__resolution_unit",
)


@dataclass
class RecomputeResult:
    year: int
    checked: int = 0
    moved: int = 0
    guarded: int = 0  # moved, but not as early as the calendar says (the next working day's end)
    unknown: int = 0  # no inputs and no history to derive them from: left alone


# --- what starts a run ----------------------------------------------------------------------------


def recompute_request(*, year: int, reason: str) -> None:
    """Mark ``year`` pending and queue its re-computation after the commit."""
    now = timezone.now()
    CalendarYear.objects.bulk_create([CalendarYear(year=year)], ignore_conflicts=True)  # no signals
    row = CalendarYear.objects.filter(year=year).values("recompute_requested_at", "recompute_reason").get()
    reasons = row["recompute_reason"].split("；") if row["recompute_requested_at"] and row["recompute_reason"] else []
    reasons = [r for r in reasons if r != reason] + [reason]
    CalendarYear.objects.filter(year=year).update(recompute_requested_at=now, recompute_reason=_joined(reasons))
    transaction.on_commit(partial(_enqueue, year), robust=True)


def _joined(reasons: list[str]) -> str:
    """The pending changes' reasons, the newest kept when they no longer fit."""
    text = "；".join(reasons)
    while len(text) > REASON_MAX and len(reasons) > 1:
        reasons = reasons[1:]
        text = "…；" + "；".join(reasons)
    return text[:REASON_MAX]


def _enqueue(year: int) -> None:
    from appeals.tasks import recompute_deadlines

    try:
        recompute_deadlines.delay(year=year)
    except Exception:  # the broker is down: the year stays pending, the beat catches up
        logger.exception("could not queue the deadline re-computation of %s", year)


def _day_reason(day: CalendarDay, *, deleted: bool = False) -> str:
    what = _("上班") if day.is_workday else _("休息")
    if deleted:
        return _("删除 %(date)s（%(what)s）") % {"date": day.date.isoformat(), "what": what}
    return _("%(date)s 设为%(what)s（%(name)s，%(source)s）") % {
        "date": day.date.isoformat(), "what": what, "name": day.name or "—", "source": day.get_source_display(),
    }


def _day_saved(sender, instance: CalendarDay, **kwargs) -> None:
    years = {instance.date.year}
    loaded = getattr(instance, "loaded_date", None)
    if loaded is not None and loaded != instance.date:
        years.add(loaded.year)
    for year in sorted(years):
        recompute_request(year=year, reason=_day_reason(instance))


def _day_deleted(sender, instance: CalendarDay, **kwargs) -> None:
    recompute_request(year=instance.date.year, reason=_day_reason(instance, deleted=True))


def _year_saved(sender, instance: CalendarYear, created: bool, **kwargs) -> None:
    before = getattr(instance, "loaded_official_entered", False if created else None)
    if before == instance.official_entered:
        return
    reason = _("标记已录入国办通知") if instance.official_entered else _("取消“已录入国办通知”标记")
    recompute_request(year=instance.year, reason=reason)


post_save.connect(_day_saved, sender=CalendarDay, dispatch_uid="recompute-day-saved")
post_delete.connect(_day_deleted, sender=CalendarDay, dispatch_uid="recompute-day-deleted")
post_save.connect(_year_saved, sender=CalendarYear, dispatch_uid="recompute-year-saved")


# --- a run ----------------------------------------------------------------------------------------


def year_recompute(*, year: int, force: bool = False, reason: str = "", now: datetime | None = None):
    """Run the re-computation of ``year`` if it is pending (or ``force``), then clear the
    pending mark unless a newer change came in meanwhile. None when nothing was pending."""
    started = timezone.now()
    row = CalendarYear.objects.filter(year=year).values("recompute_requested_at", "recompute_reason").first()
    pending = row is not None and row["recompute_requested_at"] is not None
    if not (pending or force):
        return None
    if not reason:
        reason = row["recompute_reason"] if pending and row["recompute_reason"] else _("工作日历重新核对")
    result = deadlines_recompute(year=year, reason=reason, now=now)
    CalendarYear.objects.bulk_create([CalendarYear(year=year)], ignore_conflicts=True)
    CalendarYear.objects.filter(year=year).update(recomputed_at=timezone.now())
    CalendarYear.objects.filter(year=year, recompute_requested_at__lte=started).update(
        recompute_requested_at=None, recompute_reason="",
    )
    return result


def pending_years(*, older_than: timedelta = timedelta(0)) -> list[int]:
    """The years marked pending at least ``older_than`` ago (the beat leaves the queued
    job its time)."""
    cutoff = timezone.now() - older_than
    return list(CalendarYear.objects.filter(recompute_requested_at__lte=cutoff).order_by("year")
                .values_list("year", flat=True))


def deadlines_recompute(*, year: int, reason: str, now: datetime | None = None,
                        size: int | None = None) -> RecomputeResult:
    """Re-compute the open deadlines that reach into ``year`` under today's calendar.

    Steps: 1. a fresh snapshot of the calendar (the change was committed by another
    process a moment ago); 2. the candidates: open appeals with a deadline after 1
    January of the year that were received before the next 1 January, hour-based ones
    excepted; 3. in chunks, each locked in one transaction: the inputs (stored, or
    derived from the history), the deadline they give, the guards, one bulk update and
    one event per moved appeal. ``now`` is passed in (frozen time in tests is honest).
    """
    now = now or timezone.now()
    size = size or settings.ESCALATION_CHUNK_SIZE
    snapshot = catalog.reload()
    calendar = _Calendar(overrides=snapshot.overrides, official_years=snapshot.official_years)
    floor = calendar.add(now, 1)
    result = RecomputeResult(year=year)
    qs = deadlines_reaching_into(year)
    ids = list(qs.order_by("pk").values_list("pk", flat=True))
    why = _("%(year)s年工作日历变更：%(reason)s") % {"year": year, "reason": reason}
    for chunk in chunked(ids, size):
        with transaction.atomic():
            rows = list(qs.filter(pk__in=chunk).order_by("pk")
                        .select_for_update(of=("self",)).values(*_FIELDS))
            _process(rows, calendar=calendar, floor=floor, now=now, why=why, year=year, result=result)
    if result.moved or result.unknown:
        logger.info("deadline re-computation: %s", result)
    return result


@dataclass
class _Calendar:
    """The entered days read once for a run, and the deadlines it computed (many appeals
    share a start day and a limit)."""

    overrides: dict[date, bool]
    official_years: frozenset[int]

    def __post_init__(self):
        self.memo: dict[tuple[date, int], datetime] = {}

    def add(self, start: datetime, n: int) -> datetime:
        key = (start.astimezone(CHINA).date(), n)
        if key not in self.memo:
            self.memo[key] = add_working_days(start, n, overrides=self.overrides, official_years=self.official_years)
        return self.memo[key]

    def compute(self, inputs: DeadlineInputs) -> datetime:
        if inputs.unit == DeadlineUnit.HOURS:
            return inputs.compute()
        return self.add(inputs.start, inputs.limit + inputs.extension_days)


def _target(*, old: datetime, computed: datetime, floor: datetime) -> datetime | None:
    """Where the deadline goes, or None when it stays: another day only; later freely;
    earlier, never before ``floor`` (the end of the next working day)."""
    if deadline_day(computed) == deadline_day(old):
        return None
    if computed > old:
        return computed
    target = max(computed, min(old, floor))
    if target >= old or deadline_day(target) == deadline_day(old):
        return None
    return target


def _process(rows: list[dict], *, calendar: _Calendar, floor: datetime, now: datetime, why: str, year: int,
             result: RecomputeResult) -> None:
    result.checked += len(rows)
    derived = _derive_inputs([r for r in rows if _inputs_of(r) is None])
    updates, written = [], []
    for row in rows:
        inputs = _inputs_of(row) or derived.get(row["id"])
        if inputs is None:
            result.unknown += 1
            continue
        if inputs.unit == DeadlineUnit.HOURS:
            continue
        computed = calendar.compute(inputs)
        target = _target(old=row["deadline"], computed=computed, floor=floor)
        if target is None:
            continue
        first_level = row["escalated_at"] is None and row["level_deadline"] == row["deadline"]
        level_deadline = target if first_level else row["level_deadline"]
        updates.append(Appeal(
            pk=row["id"], deadline=target, level_deadline=level_deadline, version=row["version"] + 1,
            updated_at=now, deadline_start=inputs.start, deadline_limit=inputs.limit, deadline_unit=inputs.unit,
            deadline_extension_days=inputs.extension_days,
        ))
        written.append(_event(row, inputs=inputs, computed=computed, target=target, level_deadline=level_deadline,
                             why=why, year=year))
        result.moved += 1
        result.guarded += target != computed
    if updates:
        # The chunk's rows are locked since they were read: matching by id is enough.
        Appeal.objects.bulk_update(updates, [
            "deadline", "level_deadline", "version", "updated_at", "deadline_start", "deadline_limit",
            "deadline_unit", "deadline_extension_days",
        ])
        events.record_many(written)


def _inputs_of(row: dict) -> DeadlineInputs | None:
    return stored_inputs(_RowView(row))


class _RowView:
    """A row of ``values()`` read as an appeal by appeals.deadlines."""

    def __init__(self, row: dict):
        self.deadline_start = row["deadline_start"]
        self.deadline_limit = row["deadline_limit"]
        self.deadline_unit = row["deadline_unit"]
        self.deadline_extension_days = row["deadline_extension_days"]


def _derive_inputs(rows: list[dict]) -> dict[int, DeadlineInputs]:
    """The inputs of rows dispatched before they were stored, from their history: the
    first dispatch set the deadline (a return and a new dispatch reset ``dispatched_at``
    but not the deadline), at that event's time, by the category it names (a re-route
    changes the category, not the deadline); the approved extensions add their working
    days. Two queries for a chunk."""
    if not rows:
        return {}
    ids = [r["id"] for r in rows]
    first: dict[int, dict] = {}
    for event in (AppealEvent.objects.filter(appeal_id__in=ids, action=AppealAction.DISPATCH)
                  .order_by("appeal_id", "created_at", "id").values("appeal_id", "created_at", "data")):
        first.setdefault(event["appeal_id"], event)
    extension_days: dict[int, int] = defaultdict(int)
    deferred = [r["id"] for r in rows if r["deferred"]]
    if deferred:
        for ext in ExtensionRequest.objects.filter(appeal_id__in=deferred, state=ExtensionState.APPROVED).values(
                "appeal_id", "previous_deadline", "requested_deadline"):
            extension_days[ext["appeal_id"]] += extension_working_days(ext["previous_deadline"],
                                                                       ext["requested_deadline"])
    derived = {}
    for row in rows:
        event = first.get(row["id"])
        start = event["created_at"] if event else row["dispatched_at"]
        limit, unit = row["category__resolution_limit"], row["category__resolution_unit"]
        code = events.read(AppealAction.DISPATCH, event["data"]).category if event else None
        category = catalog.category_by_code(code) if code else None
        if category is not None:
            limit, unit = category.resolution_limit, category.resolution_unit
        if start is None or limit is None or not unit:
            continue
        derived[row["id"]] = DeadlineInputs(start, limit, unit, extension_days[row["id"]], derived=True)
    return derived


def _event(row: dict, *, inputs: DeadlineInputs, computed: datetime, target: datetime,
           level_deadline: datetime | None, why: str, year: int) -> events.Event:
    unit = inputs.unit
    note = _("办结时限由 %(old)s 校正为 %(new)s。原因：%(why)s。") % {
        "old": deadline_text(row["deadline"], unit), "new": deadline_text(target, unit), "why": why,
    }
    guarded = target != computed
    if guarded:
        note += _("按新日历应为 %(computed)s，但时限不早于下一个工作日结束（%(floor)s）。") % {
            "computed": deadline_text(computed, unit), "floor": deadline_text(target, unit),
        }
    moved_level = level_deadline != row["level_deadline"]
    data = events.DeadlineCorrect(
        deadline=(_iso(row["deadline"]), _iso(target)), computed=_iso(computed), year=year, reason=why,
        inputs=inputs.as_data(), guarded=True if guarded else None,
        level_deadline=(_iso(row["level_deadline"]) if row["level_deadline"] else None, _iso(level_deadline))
        if moved_level else None,
    )
    return events.Event(appeal_id=row["id"], data=data, from_state=row["state"], to_state=row["state"], note=note)


def _iso(moment: datetime) -> str:
    """China time, as people and the event's note read it."""
    return moment.astimezone(CHINA).isoformat()
