"""Working days (DESIGN.md §4): China's official calendar, and the law where the official
schedule is not known yet.

Whether a day is worked is decided by the first of these that knows it:

1. the administrators' table (CalendarDay): the State Council's schedule (国办通知) as
   entered, a statutory day pinned by hand (法定), a local adjustment (调整);
2. the chinesecalendar library, which carries the State Council's schedules of the years
   it covers (2004–2026 in 1.11), with their 调休 working weekends;
3. for a year the library does not cover:
   - while the year is provisional (its CalendarYear not marked "official schedule
     entered"): the law, 《全国年节及纪念日放假办法》 (2024 revision). 第二条's days — 元旦,
     春节 (除夕 to 正月初三), 清明 (the solar term), 劳动节 (1–2 May), 端午 (五月初五), 中秋
     (八月十五), 国庆 (1–3 October) — from the lunar calendar (lunardate) and the solar
     terms (chinese_calendar.get_solar_terms), nothing typed in by hand; and 第六条's
     make-up days (补假): each of those days that falls on a Saturday, a Sunday or another
     statutory day adds the first weekday after the holiday block that is not already off.
     Partial holidays (妇女节, 青年节 …) are working days;
   - once the year is marked official: the entered rows (1.) and the weekends, nothing
     computed (the notice, not the law's estimate, says which days are off);
4. otherwise Monday to Friday.

A working-day deadline ends at 24:00 Asia/Shanghai of its last working day, stored as
00:00 of the next calendar day.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import chinese_calendar
from chinese_calendar.solar_terms import SolarTerms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from lunardate import LunarDate

from appeals.enums import CalendarSource, DeadlineUnit
from governance.kernel.clock import CHINA

ONE_DAY = timedelta(days=1)
_WEEKDAY_NAMES = (
    gettext_noop("周一"), gettext_noop("周二"), gettext_noop("周三"), gettext_noop("周四"), gettext_noop("周五"),
    gettext_noop("周六"), gettext_noop("周日"),
)

# The library's names of its holidays (its tables hold the English value), in Chinese.
_LIBRARY_NAMES = {
    chinese_calendar.Holiday.new_years_day.value: "元旦",
    chinese_calendar.Holiday.spring_festival.value: "春节",
    chinese_calendar.Holiday.tomb_sweeping_day.value: "清明节",
    chinese_calendar.Holiday.labour_day.value: "劳动节",
    chinese_calendar.Holiday.dragon_boat_festival.value: "端午节",
    chinese_calendar.Holiday.national_day.value: "国庆节",
    chinese_calendar.Holiday.mid_autumn_festival.value: "中秋节",
    chinese_calendar.Holiday.anti_fascist_70th_day.value: "抗战胜利70周年纪念日",
}


@dataclass(frozen=True)
class Day:
    """A day that is not an ordinary weekday or weekend, and why."""

    date: date
    workday: bool
    name: str
    source: str  # CalendarSource


# --- the library -------------------------------------------------------------------------------


def _library_years() -> tuple[int, int]:
    return min(chinese_calendar.holidays).year, max(chinese_calendar.holidays).year


def library_covers(year: int) -> bool:
    """Whether chinesecalendar carries the official schedule of ``year``."""
    first, last = _library_years()
    return first <= year <= last


def _library_days(year: int) -> dict[date, Day]:
    days = {}
    for day, holiday in chinese_calendar.holidays.items():
        if day.year == year:
            days[day] = Day(day, False, _LIBRARY_NAMES.get(holiday, str(holiday)), CalendarSource.OFFICIAL)
    for day, holiday in chinese_calendar.workdays.items():
        if day.year == year:
            name = _LIBRARY_NAMES.get(holiday, str(holiday))
            days[day] = Day(day, True, f"{name}调休上班", CalendarSource.OFFICIAL)
    return days


# --- the law -----------------------------------------------------------------------------------


def _qingming(year: int) -> date:
    name = SolarTerms.pure_brightness.value[1]
    (day,) = [d for d, term in chinese_calendar.get_solar_terms(date(year, 4, 1), date(year, 4, 30)) if term == name]
    return day


def statutory_festivals(year: int) -> list[tuple[str, list[date]]]:
    """第二条 of 《全国年节及纪念日放假办法》 (2024): each festival and its days in ``year``."""
    new_year = LunarDate(year, 1, 1).to_solar_date()  # 正月初一
    return [
        ("元旦", [date(year, 1, 1)]),
        # 除夕 is the day before 正月初一 (not always 腊月三十: in 2025 it was 廿九).
        ("春节", [new_year - ONE_DAY, new_year, new_year + ONE_DAY, new_year + 2 * ONE_DAY]),
        ("清明节", [_qingming(year)]),
        ("劳动节", [date(year, 5, 1), date(year, 5, 2)]),
        ("端午节", [LunarDate(year, 5, 5).to_solar_date()]),
        ("中秋节", [LunarDate(year, 8, 15).to_solar_date()]),
        ("国庆节", [date(year, 10, 1), date(year, 10, 2), date(year, 10, 3)]),
    ]


def weekday_name(day: date) -> str:
    """周一 … 周日."""
    return _(_WEEKDAY_NAMES[day.weekday()])


def _is_weekend(day: date) -> bool:
    return day.weekday() >= 5


@lru_cache(maxsize=64)
def law_days(year: int) -> tuple[Day, ...]:
    """The statutory days of ``year`` and their make-up days (第六条), in date order.

    Festivals are taken in date order. Each of a festival's days that falls on a Saturday
    or Sunday, or on a day already statutory for another festival (中秋 on 国庆), is lost;
    each lost day adds a make-up day: the first weekday after the festival's holiday
    block (its run of consecutive statutory days) that is not already off.
    """
    festivals = sorted(statutory_festivals(year), key=lambda item: item[1][0])
    names: dict[date, str] = {}
    losses: list[tuple[str, list[date], int]] = []
    for name, days in festivals:
        lost = 0
        for day in days:
            if day in names:
                names[day] = f"{names[day]}、{name}"
                lost += 1
                continue
            names[day] = name
            if _is_weekend(day):
                lost += 1
        losses.append((name, days, lost))
    makeup: dict[date, str] = {}
    for name, days, lost in losses:
        end = max(days)
        while end + ONE_DAY in names:
            end += ONE_DAY
        day = end
        while lost:
            day += ONE_DAY
            if _is_weekend(day) or day in names or day in makeup:
                continue
            makeup[day] = f"{name}补假"
            lost -= 1
    result = [Day(d, False, n, CalendarSource.LAW) for d, n in names.items()]
    result += [Day(d, False, n, CalendarSource.LAW) for d, n in makeup.items()]
    return tuple(sorted(result, key=lambda d: d.date))


# --- a year's days before the administrators' table ---------------------------------------------


@lru_cache(maxsize=128)
def base_days(year: int, official_entered: bool) -> dict[date, Day]:
    """The named days of ``year`` that the table does not say: the library's (a covered
    year), the law's (a provisional year) or none (a year marked official: its rows say)."""
    if library_covers(year):
        return _library_days(year)
    if official_entered:
        return {}
    return {day.date: day for day in law_days(year)}


@lru_cache(maxsize=128)
def _base_workdays(year: int, official_entered: bool) -> frozenset[date]:
    named = base_days(year, official_entered)
    first = date(year, 1, 1)
    days = (first + timedelta(days=i) for i in range((date(year + 1, 1, 1) - first).days))
    return frozenset(d for d in days if (named[d].workday if d in named else not _is_weekend(d)))


def clear_caches() -> None:
    """After an upgrade of the libraries in a running process (tests)."""
    law_days.cache_clear()
    base_days.cache_clear()
    _base_workdays.cache_clear()


# --- the entered part, from the cached catalog --------------------------------------------------


def load_overrides(start: date, end: date) -> dict[date, bool]:
    """The administrators' days between two dates, from the process's cached copy of the
    table (appeals.catalog: reloaded when a day is saved or deleted)."""
    from appeals.catalog import workday_overrides

    return workday_overrides(start, end)


def load_official_years() -> frozenset[int]:
    """The years whose official schedule an administrator marked entered (cached)."""
    from appeals.catalog import official_years

    return official_years()


def is_provisional(year: int, *, official_years: frozenset[int] | None = None) -> bool:
    """A year whose days come from the law's computation: the library does not cover it
    and no administrator has marked its official schedule entered."""
    if library_covers(year):
        return False
    if official_years is None:
        official_years = load_official_years()
    return year not in official_years


def is_workday(
    day: date, *, overrides: dict[date, bool] | None = None, official_years: frozenset[int] | None = None,
) -> bool:
    if overrides is None:
        overrides = load_overrides(day, day)
    if day in overrides:
        return overrides[day]
    if official_years is None:
        official_years = load_official_years()
    return day in _base_workdays(day.year, day.year in official_years)


def _horizon(n: int) -> int:
    # Calendar days that surely contain n working days: 7 per 5, plus the longest
    # holiday run (Spring Festival / National Day, 9 days) twice, plus slack.
    return n * 7 // 5 + 30


def add_working_days(
    start: datetime, n: int, *, overrides: dict[date, bool] | None = None,
    official_years: frozenset[int] | None = None,
) -> datetime:
    """The end (24:00 China time, as an aware datetime) of the n-th working day after
    the calendar day of ``start`` (that day itself does not count).

    The entered days are read once for the whole span (not per day) unless passed in.
    """
    if n < 1:
        raise ValueError("n must be at least 1")
    day = start.astimezone(CHINA).date()
    if overrides is None:
        overrides = load_overrides(day, day + timedelta(days=_horizon(n)))
    if official_years is None:
        official_years = load_official_years()
    counted = 0
    while counted < n:
        day += ONE_DAY
        if is_workday(day, overrides=overrides, official_years=official_years):
            counted += 1
    return end_of_day(day)


def end_of_day(day: date) -> datetime:
    """24:00 China time of ``day`` (00:00 of the next day), aware."""
    return datetime.combine(day + ONE_DAY, time(0, 0), tzinfo=CHINA)


def deadline_day(deadline: datetime) -> date:
    """The China day a deadline falls in: 24:00 (the next 00:00) belongs to the day before."""
    return (deadline - timedelta(microseconds=1)).astimezone(CHINA).date()


def working_days_between(after: date, until: date) -> int:
    """The working days d with after < d <= until (0 when until <= after)."""
    if until <= after:
        return 0
    overrides = load_overrides(after, until)
    official_years = load_official_years()
    count, day = 0, after
    while day < until:
        day += ONE_DAY
        if is_workday(day, overrides=overrides, official_years=official_years):
            count += 1
    return count


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


# --- a year for people ----------------------------------------------------------------------------


def year_days(year: int) -> list[Day]:
    """The days of ``year`` an operator checks: every non-working day that is not an
    ordinary weekend, every statutory day (also on a weekend), every working weekend day
    (调休), and every day an administrator entered; with its name and source. Reads the
    table itself (not the cached catalog): the names are only there."""
    from appeals.models import CalendarDay, CalendarYear

    official = CalendarYear.objects.filter(year=year, official_entered=True).exists()
    days = dict(base_days(year, official))
    for row in CalendarDay.objects.filter(date__year=year):
        name = row.name or (_("调休上班") if row.is_workday else _("休息"))
        days[row.date] = Day(row.date, row.is_workday, name, row.source)
    return sorted(days.values(), key=lambda d: d.date)
