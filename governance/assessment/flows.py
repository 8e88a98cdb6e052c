"""Daily flows (issue 23): per unit × category × day, what happened to appeals that day —
received, dispatched, resolved, closed, escalated, unsatisfied, reworked — and the
appeals that became overdue or stopped being overdue, from the event log. The report
pages sum these rows instead of scanning the appeal table.

Counting rules:
- **Day.** An event counts on its day (Asia/Shanghai). Only events before ``as_of``
  count (the refresh's moment: the pages' "数据截至").
- **Unit.** The appeal's place as it is now: its grid, community, street and district,
  and the city (``formulas.city_code``) — one row per level, so a unit reads its own
  key; and the department handling it now. Its category as it is now ('' for none).
- **Overdue** is the one rule of ``appeals.selectors.overdue_q``: past the deadline and
  in ``OVERDUE_STATES``. An appeal becomes overdue when its deadline passes while it is
  in one of them (counted on the deadline's day, once the deadline is before
  ``as_of``), or when it enters one after its deadline (the event's day); it stops
  being overdue when it leaves them after its deadline. So the overdue appeals at the
  end of day D (or at ``as_of``) are the sum of overdue_in − overdue_out up to D.
  The deadline is the appeal's current one: a deadline moved after the appeal became
  overdue (or a category changed) leaves the old days as counted until they are rebuilt
  (nightly: the last FLOWS_REBUILD_DAYS; older ones with ``manage.py rebuild_flows``).

Writes are set-based: for a range of days, one INSERT … SELECT per refresh computes
every level from the events of those days (a CTE of the appeals' leaf groups, rolled
up by UNION ALL), on PostgreSQL and SQLite alike.
"""

import logging
import time as clock
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Count, F, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from appeals import events as appeal_events
from appeals.archive import frozen_years
from appeals.enums import AppealAction, AppealState, Rating
from appeals.models import Appeal, AppealEvent
from appeals.selectors import OVERDUE_STATES
from governance.assessment.enums import UnitKind
from governance.assessment.models import FLOW_COUNTERS, DailyFlow, FlowRefresh
from governance.assessment.periods import local_midnight, today_local
from governance.kernel.clock import CHINA
from governance.kernel.errors import ApplicationError

logger = logging.getLogger(__name__)

# The refresh catches up from the day of the last one; after an outage longer than
# this, the older days wait for the nightly rebuild (or the command).
CATCH_UP_DAYS = 7
# The leaf groups' columns (prefixed: the appeal's own fields have these names).
_PLACE = ("u_district", "u_street", "u_community", "u_grid", "u_department", "u_category", "day")
# The levels, and the leaf column each is keyed by (the city: its districts' city code).
_LEVELS = (
    (UnitKind.GRID, "u_grid"),
    (UnitKind.COMMUNITY, "u_community"),
    (UnitKind.STREET, "u_street"),
    (UnitKind.DISTRICT, "u_district"),
    (UnitKind.CITY, "SUBSTR(u_district, 1, 4) || '00'"),
    (UnitKind.DEPARTMENT, "u_department"),
)


def _place_values() -> dict:
    return {
        "u_district": F("appeal__district_id"), "u_street": F("appeal__street_id"),
        "u_community": F("appeal__community_id"), "u_grid": F("appeal__grid_id"),
        "u_department": F("appeal__handling_department__code"),
        "u_category": Coalesce(F("appeal__category__code"), Value("")),
    }


def _event_flows(start: datetime, end: datetime):
    """The flows of the events in [start, end), grouped by the appeal's place, category and day."""
    entered = Q(to_state__in=OVERDUE_STATES) & ~Q(from_state__in=OVERDUE_STATES)
    left = Q(from_state__in=OVERDUE_STATES) & ~Q(to_state__in=OVERDUE_STATES)
    late = Q(created_at__gt=F("appeal__deadline"))
    return (
        AppealEvent.objects.filter(created_at__gte=start, created_at__lt=end)
        .annotate(day=TruncDate("created_at", tzinfo=CHINA))
        .values("day", **_place_values())
        .annotate(
            received=Count("pk", filter=Q(action=AppealAction.RECEIVE)),
            dispatched=Count("pk", filter=Q(action=AppealAction.DISPATCH)),
            resolved=Count("pk", filter=Q(action=AppealAction.RESOLVE)),
            closed=Count("pk", filter=Q(to_state=AppealState.CLOSED) & ~Q(from_state=AppealState.CLOSED)),
            escalated=Count("pk", filter=Q(action=AppealAction.ESCALATE)),
            unsatisfied=Count("pk", filter=Q(action=AppealAction.EVALUATE, data__rating=Rating.UNSATISFIED)),
            reworked=Count("pk", filter=appeal_events.REWORK_Q),
            overdue_in=Count("pk", filter=late & entered),
            overdue_out=Count("pk", filter=late & left),
        )
        .order_by()
    )


def _deadline_flows(start: datetime, end: datetime):
    """The appeals whose deadline passed in [start, end) while they were in an overdue
    state (their last event at the deadline says so): they became overdue that day."""
    state_then = Subquery(
        AppealEvent.objects.filter(appeal=OuterRef("pk"), created_at__lte=OuterRef("deadline"))
        .order_by("-created_at", "-id").values("to_state")[:1]
    )
    place = {k: F(v.name.removeprefix("appeal__")) if isinstance(v, F) else v for k, v in _place_values().items()}
    place["u_category"] = Coalesce(F("category__code"), Value(""))
    return (
        # Every state is listed so that PostgreSQL range-scans the (state, deadline) index.
        Appeal.objects.filter(state__in=AppealState.values, deadline__gte=start, deadline__lt=end)
        .annotate(state_then=state_then).filter(state_then__in=OVERDUE_STATES)
        .annotate(day=TruncDate("deadline", tzinfo=CHINA))
        .values("day", **place)
        .annotate(overdue_in=Count("pk"))
        .order_by()
    )


def _insert_sql(start: datetime, end: datetime) -> tuple[str, list]:
    """One INSERT … SELECT of every level's rows for the flows in [start, end)."""
    quote = connection.ops.quote_name
    event_sql, event_params = _event_flows(start, end).query.sql_with_params()
    deadline_sql, deadline_params = _deadline_flows(start, end).query.sql_with_params()
    place = ", ".join(_PLACE)
    counters = ", ".join(FLOW_COUNTERS)
    zeros = ", ".join("0" for _c in FLOW_COUNTERS[:-2])
    leaf = (
        f"SELECT {place}, {counters} FROM ({event_sql}) ev "
        f"UNION ALL SELECT {place}, {zeros}, overdue_in, 0 FROM ({deadline_sql}) dl"
    )
    sums = ", ".join(f"SUM({c})" for c in FLOW_COUNTERS)
    any_flow = " + ".join(f"SUM({c})" for c in FLOW_COUNTERS)
    levels = " UNION ALL ".join(
        f"SELECT '{kind}', {key}, u_category, day, {sums} FROM leaf WHERE {key} IS NOT NULL "
        f"GROUP BY {key}, u_category, day HAVING {any_flow} > 0"
        for kind, key in _LEVELS
    )
    table = quote(DailyFlow._meta.db_table)
    columns = ", ".join(quote(c) for c in ("unit_kind", "unit_code", "category_code", "day", *FLOW_COUNTERS))
    sql = f"WITH leaf AS ({leaf}) INSERT INTO {table} ({columns}) {levels}"
    return sql, [*event_params, *deadline_params]


def _lock() -> None:
    # Two refreshes at once (beat and the command) would both delete and insert the same
    # days; on PostgreSQL the second waits. SQLite serialises writers.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [0x5C0E, 0xF10])


@dataclass
class FlowResult:
    first: date
    last: date
    as_of: datetime
    rows: int = 0
    seconds: float = 0.0


def flows_refresh(*, first: date, last: date, as_of: datetime | None = None) -> FlowResult:
    """Recompute the flows of days first..last as known at ``as_of`` (default: now).

    Steps: 1. the window: from 00:00 of ``first`` to the end of ``last`` or ``as_of``,
    whichever is earlier; 2. in one transaction, under a lock: delete those days' rows,
    insert every level's rows in one statement (_insert_sql); 3. record the refresh
    (FlowRefresh: the pages' "数据截至") when it reaches ``as_of``'s day."""
    as_of = as_of or timezone.now()
    if frozen := sorted(set(range(first.year, last.year + 1)) & frozen_years()):
        # The archive holds those years' events: recounting would replace the stored flows
        # with smaller ones (appeals.archive).
        raise ApplicationError(_("%(year)s 年或其上一年已归档，保留已存的日流量，不再重建。") % {"year": frozen[0]})
    started = clock.monotonic()
    start = local_midnight(first)
    end = min(local_midnight(last + timedelta(days=1)), as_of)
    result = FlowResult(first=first, last=last, as_of=as_of)
    with transaction.atomic():
        _lock()
        DailyFlow.objects.filter(day__gte=first, day__lte=last).delete()
        if end > start:
            sql, params = _insert_sql(start, end)
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                result.rows = cursor.rowcount
            if connection.vendor != "postgresql":  # SQLite gives no row count for WITH … INSERT
                result.rows = DailyFlow.objects.filter(day__gte=first, day__lte=last).count()
        result.seconds = round(clock.monotonic() - started, 3)
        if last >= today_local(as_of):
            FlowRefresh.objects.all().delete()
            FlowRefresh.objects.create(as_of=as_of, first_day=first, last_day=last, rows=result.rows,
                                       seconds=result.seconds, finished_at=timezone.now())
    return result


def flows_refresh_recent(*, now: datetime | None = None) -> FlowResult:
    """The beat's refresh: the days from the last refresh's day (so the refresh after
    midnight completes yesterday) to today, at most CATCH_UP_DAYS (never refreshed: the
    last CATCH_UP_DAYS; the history before is ``rebuild_flows``'s)."""
    now = now or timezone.now()
    today = today_local(now)
    last = FlowRefresh.objects.values_list("as_of", flat=True).first()
    first = today_local(last) if last is not None else today - timedelta(days=CATCH_UP_DAYS)
    first = max(min(first, today), today - timedelta(days=CATCH_UP_DAYS))
    return flows_refresh(first=first, last=today, as_of=now)


def flows_rebuild(*, first: date, last: date, now: datetime | None = None, chunk_days: int = 7,
                  progress: Callable[[int], None] | None = None) -> list[FlowResult]:
    """Recompute days first..last in chunks of ``chunk_days`` (each its own transaction:
    a backfill of years holds no lock for long; a chunk stays within a year); the days of
    archived years and of the years after them are skipped (appeals.archive.frozen_years:
    their stored flows stay); ``progress(days)`` after each chunk."""
    now = now or timezone.now()
    results = []
    day, frozen = first, frozen_years()
    while day <= last:
        if day.year in frozen:  # archived, or the year after one: the stored flows stay
            skipped = min(date(day.year, 12, 31), last)
            if progress is not None:
                progress((skipped - day).days + 1)
            day = skipped + timedelta(days=1)
            continue
        chunk_last = min(day + timedelta(days=chunk_days - 1), last, date(day.year, 12, 31))
        results.append(flows_refresh(first=day, last=chunk_last, as_of=now))
        if progress is not None:
            progress((chunk_last - day).days + 1)
        day = chunk_last + timedelta(days=1)
    return results


def first_event_day() -> date | None:
    """The day of the earliest event (where a full rebuild starts)."""
    first = AppealEvent.objects.order_by("created_at").values_list("created_at", flat=True).first()
    return today_local(first) if first is not None else None


# --- reads ---------------------------------------------------------------------------------------


def flows_as_of() -> datetime | None:
    """The moment the flows count up to (the last refresh), or None if never refreshed."""
    return FlowRefresh.objects.values_list("as_of", flat=True).first()


def flows_state() -> tuple[datetime | None, str]:
    """(as_of, a token of the last refresh): what is cached from the flows is keyed by
    the token, which changes with every refresh (a rebuild of the same moment too)."""
    found = FlowRefresh.objects.values_list("as_of", "finished_at").first()
    if found is None:
        return None, ""
    return found[0], f"{found[0].isoformat()}/{found[1].isoformat()}"


def _summed(rows, first: date, last: date):
    in_period = Q(day__gte=first)
    return rows.filter(day__lte=last).annotate(**{
        name: Coalesce(Sum(name, filter=in_period), 0) for name in FLOW_COUNTERS[:-2]
    }, overdue=Coalesce(Sum(F("overdue_in") - F("overdue_out"), output_field=IntegerField()), 0))


def unit_category_flows(*, kind: str, code: str, first: date, last: date) -> list[dict]:
    """One unit's flows of days first..last per category, and the appeals overdue at the
    end of ``last`` (the running sum up to it): one query over the unit's own rows."""
    rows = DailyFlow.objects.filter(unit_kind=kind, unit_code=code).values("category_code").order_by()
    return [r for r in _summed(rows, first, last) if any(r[n] for n in (*FLOW_COUNTERS[:-2], "overdue"))]


def units_category_flows(*, units: list[tuple[str, str]], first: date, last: date) -> list[dict]:
    """As unit_category_flows, summed over several units (disjoint: no unit under another)."""
    q = Q(pk__in=[])
    for kind, code in units:
        q |= Q(unit_kind=kind, unit_code=code)
    rows = DailyFlow.objects.filter(q).values("category_code").order_by()
    return [r for r in _summed(rows, first, last) if any(r[n] for n in (*FLOW_COUNTERS[:-2], "overdue"))]


def overdue_now(*, units: list[tuple[str, str]]) -> int:
    """The appeals overdue at the last refresh in these (disjoint) units."""
    if not units:
        return 0
    q = Q(pk__in=[])
    for kind, code in units:
        q |= Q(unit_kind=kind, unit_code=code)
    found = DailyFlow.objects.filter(q).aggregate(
        n=Coalesce(Sum(F("overdue_in") - F("overdue_out"), output_field=IntegerField()), 0))
    return found["n"]
