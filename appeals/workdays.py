"""Working days: China's official calendar (chinesecalendar) with admin overrides on top.

The library knows statutory holidays and the adjusted working weekends (调休) only up
to the last year the State Council has announced (2026 for chinesecalendar 1.11) and
raises NotImplementedError beyond it, while deadlines set in December already reach
into the next year. For such years we fall back to "Monday to Friday" and log a
warning; admins enter the announced holidays as WorkdayOverride rows, which win over
both the library and the fallback.

A working-day deadline ends at 24:00 Asia/Shanghai of its last working day, i.e. at
00:00 of the next calendar day (DESIGN.md §4).
"""

import logging
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

from appeals.enums import DeadlineUnit

logger = logging.getLogger(__name__)

CHINA = ZoneInfo("Asia/Shanghai")


@lru_cache(maxsize=64)
def official_workdays(year: int) -> frozenset[date]:
    """The working days of ``year`` by the official calendar (cached per year)."""
    first = date(year, 1, 1)
    days = [first + timedelta(days=i) for i in range((date(year + 1, 1, 1) - first).days)]
    try:
        return frozenset(d for d in days if chinese_calendar.is_workday(d))
    except NotImplementedError:
        logger.warning(
            "chinesecalendar has no data for %s: working days fall back to Monday–Friday; "
            "enter that year's holidays and 调休 days as workday overrides in the admin.",
            year,
        )
        return frozenset(d for d in days if d.weekday() < 5)


def load_overrides(start: date, end: date) -> dict[date, bool]:
    """Admin overrides between two dates, from the process's cached copy of the table
    (appeals.catalog: reloaded when an override is saved or deleted)."""
    from appeals.catalog import workday_overrides

    return workday_overrides(start, end)


def is_workday(day: date, *, overrides: dict[date, bool] | None = None) -> bool:
    if overrides is None:
        overrides = load_overrides(day, day)
    if day in overrides:
        return overrides[day]
    return day in official_workdays(day.year)


def _horizon(n: int) -> int:
    # Calendar days that surely contain n working days: 7 per 5, plus the longest
    # holiday run (Spring Festival / National Day, 9 days) twice, plus slack.
    return n * 7 // 5 + 30


def add_working_days(start: datetime, n: int, *, overrides: dict[date, bool] | None = None) -> datetime:
    """The end (24:00 China time, as an aware datetime) of the n-th working day after
    the calendar day of ``start`` (that day itself does not count).

    Overrides are read once for the whole span (not per day) unless passed in.
    """
    if n < 1:
        raise ValueError("n must be at least 1")
    day = start.astimezone(CHINA).date()
    if overrides is None:
        overrides = load_overrides(day, day + timedelta(days=_horizon(n)))
    counted = 0
    while counted < n:
        day += timedelta(days=1)
        if is_workday(day, overrides=overrides):
            counted += 1
    return datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=CHINA)


def deadline_for(category, start: datetime, *, limit: int | None = None, unit: str | None = None) -> datetime:
    """The resolution deadline of ``category`` for an appeal dispatched at ``start``."""
    limit = limit if limit is not None else category.resolution_limit
    unit = unit or category.resolution_unit
    if unit == DeadlineUnit.HOURS:
        return start + timedelta(hours=limit)
    return add_working_days(start, limit)


def response_deadline_for(category, start: datetime) -> datetime:
    """First contact (先行联系) is counted in calendar hours."""
    return start + timedelta(hours=category.response_hours)
