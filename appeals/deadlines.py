"""An appeal's resolution deadline: what it is computed from, and how it reads.

The inputs (DESIGN.md §4, issue 13) are stored on the appeal at its first dispatch —
the start, the limit and its unit — and the working days of every approved extension
are added up, so that a correction of the calendar computes the deadline again
(appeals.recompute). ``deadline_text`` is the one way a deadline is written for people:
pages, the API, exports and SMS.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from appeals.enums import DeadlineUnit
from appeals.workdays import (
    add_working_days,
    deadline_day,
    is_workday,
    load_official_years,
    load_overrides,
    weekday_name,
)
from governance.kernel.clock import CHINA

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class DeadlineInputs:
    start: datetime
    limit: int
    unit: str  # DeadlineUnit
    extension_days: int = 0
    derived: bool = False  # not stored: derived from the history (a row dispatched before issue 13)

    def compute(self) -> datetime:
        """The deadline these inputs give under today's calendar. Hours count on the
        clock; an approved extension of an hour-based deadline is not re-computed."""
        if self.unit == DeadlineUnit.HOURS:
            return self.start + timedelta(hours=self.limit)
        return add_working_days(self.start, self.limit + self.extension_days)

    def as_data(self) -> dict:
        return {"start": self.start.astimezone(CHINA).isoformat(), "limit": self.limit, "unit": str(self.unit),
                "extension_days": self.extension_days, "derived": self.derived}


def inputs_at_dispatch(category, now: datetime) -> dict:
    """The appeal's fields that record what its deadline is computed from."""
    return {
        "deadline_start": now, "deadline_limit": category.resolution_limit,
        "deadline_unit": category.resolution_unit, "deadline_extension_days": 0,
    }


def stored_inputs(appeal) -> DeadlineInputs | None:
    """The inputs stored on the appeal, or None (dispatched before they were stored)."""
    if appeal.deadline_start is None or appeal.deadline_limit is None or not appeal.deadline_unit:
        return None
    return DeadlineInputs(appeal.deadline_start, appeal.deadline_limit, appeal.deadline_unit,
                          appeal.deadline_extension_days or 0)


def extension_working_days(previous: datetime, requested: datetime) -> int:
    """An approved extension from ``previous`` to ``requested``, in whole working days,
    rounded up: the fewest working days after the day of ``previous`` whose end is not
    before ``requested`` (an extension to 18:00 of a working day counts that day; one to
    a Saturday counts up to the next working day). So a deadline computed again from its
    inputs is never earlier than the one approved, under the same calendar."""
    if requested <= previous:
        return 0
    first = deadline_day(previous)
    last = requested.astimezone(CHINA).date()
    overrides = load_overrides(first, last + timedelta(days=40))
    official_years = load_official_years()
    count, day = 0, first
    while True:
        day += ONE_DAY
        if is_workday(day, overrides=overrides, official_years=official_years):
            count += 1
            if day >= deadline_day(requested):
                return count


# --- one text ------------------------------------------------------------------------------------


def unit_of(appeal) -> str | None:
    """The unit of the appeal's resolution limit: stored, else its category's."""
    if getattr(appeal, "deadline_unit", None):
        return appeal.deadline_unit
    category = getattr(appeal, "category", None)
    return category.resolution_unit if category is not None else None


def deadline_text(value, unit: str | None = None, *, with_year: bool = False) -> str:
    """A deadline as people read it: "12月15日（周二）24:00" for a working-day deadline
    (which ends at 24:00 of its last day, stored as the next 00:00), the exact time for
    an hour-based one ("12月15日（周二）14:30"). ``value`` is an appeal (its deadline and
    unit) or an instant; without a unit, an instant at 00:00 is written as 24:00 of the
    day before (the same instant). ``with_year`` for texts read apart from their appeal
    (exports): "2026年12月15日（周二）24:00". "" without a deadline."""
    if value is not None and not isinstance(value, datetime):
        unit = unit or unit_of(value)
        value = value.deadline
    return deadline_formatter(with_year=with_year)(value, unit)


def deadline_formatter(*, with_year: bool = False):
    """``deadline_text`` for many instants at once (a sweep's chunk of notes and digest
    lines): the template and the weekday names are translated once, not per instant.
    Returns ``text(instant, unit=None)``; "—"-free: "" without an instant."""
    template, weekdays = _deadline_words(get_language(), with_year)

    def text(value: datetime | None, unit: str | None = None) -> str:
        if value is None:
            return ""
        local = value.astimezone(CHINA)
        if not (local.hour or local.minute or local.second or local.microsecond) and unit != DeadlineUnit.HOURS:
            day, clock = local.date() - ONE_DAY, "24:00"
        else:  # not strftime: a sweep writes two of these per appeal
            day, clock = local.date(), f"{local.hour:02d}:{local.minute:02d}"
        return template % {"year": day.year, "month": day.month, "day": day.day,
                           "weekday": weekdays[day.weekday()], "time": clock}

    return text


@lru_cache(maxsize=32)
def _deadline_words(language: str | None, with_year: bool) -> tuple[str, tuple[str, ...]]:
    """The template and the weekday names (a Monday first) in ``language``, translated
    once per language (a page of appeals wrote each row's deadline with seven gettext calls
    for the weekdays: 7 % of the supervisor's queue page, 9 % of the API list)."""
    template = (_("%(year)s年%(month)s月%(day)s日（%(weekday)s）%(time)s") if with_year
                else _("%(month)s月%(day)s日（%(weekday)s）%(time)s"))
    return template, tuple(weekday_name(date(2026, 11, 30) + timedelta(days=i)) for i in range(7))


def duration_text(delta: timedelta | float) -> str:
    """A span of time as people read it: "2天3小时", "5小时", "12分钟" (at least 1 minute) —
    the countdowns on the staff pages and the overdue times of the reports."""
    seconds = delta.total_seconds() if isinstance(delta, timedelta) else delta
    minutes = int(max(seconds, 0) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return _("%(d)s天%(h)s小时") % {"d": days, "h": hours}
    if hours:
        return _("%(h)s小时") % {"h": hours}
    return _("%(m)s分钟") % {"m": max(mins, 1)}

