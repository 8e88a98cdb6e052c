"""Visit plans: the natural periods and which household is due (issue 22).

- A care tag's rule (``VisitRule``, edited in the admin) says its period — a week
  (Monday to Sunday), a fortnight (two weeks from a fixed Monday, so every household's
  fortnights fall alike) or a calendar month — and whether a phone visit counts as done.
- A household takes the most frequent of its tags' rules; between two rules of the same
  period, the stricter one (a phone visit does not count) wins.
- A visit is due once per period, by the period's last day. A visit at home counts as
  done; by phone only when the rule says so; 未见到 never.
- A household owes the periods that end on or after the day it was registered.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from appeals.visits.enums import PERIOD_ORDER, VisitMethod, VisitPeriod
from appeals.visits.models import VisitRule

# A Monday: fortnights are counted from it.
FORTNIGHT_EPOCH = date(2024, 1, 1)


@dataclass(frozen=True)
class Plan:
    period: str
    phone_counts: bool
    checklist: tuple[str, ...]
    tags: tuple[str, ...]  # the tags whose rules are the plan's (the household's tags)
    category_id: int | None = None  # pre-filled when a need found becomes an appeal

    @property
    def period_label(self) -> str:
        return str(VisitPeriod(self.period).label)


def period_bounds(kind: str, day: date) -> tuple[date, date]:
    """The natural period of ``kind`` holding ``day``: (first day, last day)."""
    if kind == VisitPeriod.WEEK:
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=6)
    if kind == VisitPeriod.FORTNIGHT:
        start = day - timedelta(days=(day - FORTNIGHT_EPOCH).days % 14)
        return start, start + timedelta(days=13)
    start = day.replace(day=1)
    following = (start + timedelta(days=32)).replace(day=1)
    return start, following - timedelta(days=1)


def previous_period(kind: str, bounds: tuple[date, date]) -> tuple[date, date]:
    return period_bounds(kind, bounds[0] - timedelta(days=1))


def periods_ending_in(kind: str, first: date, last: date) -> list[tuple[date, date]]:
    """The periods of ``kind`` whose last day falls in [first, last]."""
    found = []
    bounds = period_bounds(kind, first)
    while bounds[1] < first:
        bounds = period_bounds(kind, bounds[1] + timedelta(days=1))
    while bounds[1] <= last:
        found.append(bounds)
        bounds = period_bounds(kind, bounds[1] + timedelta(days=1))
    return found


def rules() -> dict[str, VisitRule]:
    """{care tag: its rule} (one query)."""
    return {r.care_tag: r for r in VisitRule.objects.all()}


def plan_for(tags, rule_map: dict[str, VisitRule]) -> Plan | None:
    """The household's plan from its tags: the most frequent rule; a tie goes to the
    stricter one (phone visits not counted). None when no tag has a rule."""
    found = [rule_map[t] for t in tags if t in rule_map]
    if not found:
        return None
    best = min(found, key=lambda r: (PERIOD_ORDER.index(r.period), r.phone_counts))
    return Plan(period=best.period, phone_counts=best.phone_counts, checklist=tuple(best.checklist_items),
                tags=tuple(t for t in tags if t in rule_map),
                category_id=best.category_id or next((r.category_id for r in found if r.category_id), None))


def counts_done(method: str, plan: Plan) -> bool:
    return method == VisitMethod.HOME or (method == VisitMethod.PHONE and plan.phone_counts)


class Status:
    DONE = "done"          # 本期已访
    DUE_TODAY = "today"    # 今日到期
    DUE = "due"            # 本期待访 (later in the period)
    OVERDUE = "overdue"    # 已逾期: the previous period passed without a visit
    LONG_OVERDUE = "long"  # 逾期超过一个周期: two periods passed without a visit


@dataclass(frozen=True)
class Due:
    status: str
    due_date: date  # the current period's last day
    last_done: date | None


def due_status(plan: Plan, *, today: date, registered: date, done_days: list[date]) -> Due:
    """Where a household stands today: ``done_days`` are the days of its visits that count
    (any order); ``registered`` the day the household was registered."""
    current = period_bounds(plan.period, today)
    last_done = max(done_days) if done_days else None

    def owed_and_missed(bounds):
        return registered <= bounds[1] and not any(bounds[0] <= d <= bounds[1] for d in done_days)

    if last_done is not None and current[0] <= last_done <= current[1]:
        return Due(Status.DONE, current[1], last_done)
    previous = previous_period(plan.period, current)
    if owed_and_missed(previous):
        before = previous_period(plan.period, previous)
        status = Status.LONG_OVERDUE if owed_and_missed(before) else Status.OVERDUE
        return Due(status, current[1], last_done)
    return Due(Status.DUE_TODAY if current[1] == today else Status.DUE, current[1], last_done)
