"""Working days (DESIGN.md §4, issue 13): the official calendar (chinesecalendar) with its
holidays and 调休, the law's days for a year the library does not cover (2027 and 2028 in
chinesecalendar 1.11), the administrators' table on top, and the deadline's inputs stored
at dispatch. Expected dates are worked out by hand from the calendar, not recomputed."""

from datetime import date, datetime, timedelta, timezone

import pytest

from appeals.enums import CalendarSource, DeadlineUnit
from appeals.models import CalendarDay, CalendarYear
from appeals.workdays import (
    add_working_days,
    deadline_for,
    is_provisional,
    is_workday,
    law_days,
    statutory_festivals,
)
from governance.kernel.clock import CHINA
from tests.appeals.factories import CategoryFactory, grid_category, receive

pytestmark = pytest.mark.django_db


def cst(y, m, d, h=10, minute=0):
    return datetime(y, m, d, h, minute, tzinfo=CHINA)


def test_national_day_2026_is_skipped():
    # 2026: Oct 1–7 off; Thu Oct 8 is the first working day after Wed Sep 30.
    assert add_working_days(cst(2026, 9, 30), 1) == cst(2026, 10, 9, 0)
    # … and Saturday Oct 10 is a 调休 working day: the third one.
    assert add_working_days(cst(2026, 9, 30), 3) == cst(2026, 10, 11, 0)


def test_adjusted_working_weekend_days_count():
    # Sat Feb 14 2026 is worked (Spring Festival 调休): one working day after Friday ends with it.
    assert add_working_days(cst(2026, 2, 13, 17), 1) == cst(2026, 2, 15, 0)
    # Sun Sep 20 2026 is worked (National Day 调休).
    assert add_working_days(cst(2026, 9, 18), 1) == cst(2026, 9, 21, 0)
    # An ordinary weekend is not.
    assert add_working_days(cst(2026, 11, 20), 1) == cst(2026, 11, 24, 0)


def test_deadline_ends_at_midnight_china_time_whatever_the_start_zone():
    start_utc = datetime(2026, 11, 23, 20, 0, tzinfo=CHINA).astimezone(timezone.utc)
    end = add_working_days(start_utc, 1)
    assert end == cst(2026, 11, 25, 0)
    assert end.astimezone(timezone.utc).hour == 16  # 24:00 Beijing = 16:00 UTC


# --- into 2027, which chinesecalendar 1.11 does not cover --------------------------------------


def test_seven_working_days_from_28_december_2026_end_on_7_january_2027():
    # Tue 29, Wed 30, Thu 31 Dec; Fri 1 Jan is 元旦; Mon 4, Tue 5, Wed 6, Thu 7 Jan.
    assert add_working_days(cst(2026, 12, 28), 7) == cst(2027, 1, 8, 0)  # 2027-01-07 24:00


def test_one_working_day_from_31_december_2026_ends_on_4_january_2027():
    # Fri 1 Jan 元旦, then the weekend: Mon 4 Jan.
    assert add_working_days(cst(2026, 12, 31, 16), 1) == cst(2027, 1, 5, 0)  # 2027-01-04 24:00


def _off(year):
    return sorted(d.date for d in law_days(year))


def test_2027_statutory_days_and_make_up_days_by_the_law():
    assert is_provisional(2027)
    assert _off(2027) == [
        date(2027, 1, 1),  # 元旦 (Fri)
        # 春节: 除夕 Fri 5 Feb to 初三 Mon 8 Feb; Sat 6 and Sun 7 are lost: Tue 9 and Wed 10 make up.
        date(2027, 2, 5), date(2027, 2, 6), date(2027, 2, 7), date(2027, 2, 8), date(2027, 2, 9), date(2027, 2, 10),
        date(2027, 4, 5),  # 清明 (Mon)
        # 劳动节 Sat 1 and Sun 2 May, made up on Mon 3 and Tue 4.
        date(2027, 5, 1), date(2027, 5, 2), date(2027, 5, 3), date(2027, 5, 4),
        date(2027, 6, 9),  # 端午 (Wed)
        date(2027, 9, 15),  # 中秋 (Wed)
        # 国庆 Fri 1 to Sun 3 Oct; Sat and Sun lost: Mon 4 and Tue 5.
        date(2027, 10, 1), date(2027, 10, 2), date(2027, 10, 3), date(2027, 10, 4), date(2027, 10, 5),
    ]
    names = {d.date: d.name for d in law_days(2027)}
    assert names[date(2027, 2, 5)] == "春节" and names[date(2027, 2, 9)] == "春节补假"
    assert {d.source for d in law_days(2027)} == {CalendarSource.LAW}
    for day in _off(2027):
        assert not is_workday(day), day


def test_2028_statutory_days_and_make_up_days_by_the_law():
    assert _off(2028) == [
        date(2028, 1, 1), date(2028, 1, 3),  # 元旦 on a Saturday: made up on Mon 3 Jan
        date(2028, 1, 25), date(2028, 1, 26), date(2028, 1, 27), date(2028, 1, 28),  # 除夕 Tue 25 Jan to 初三
        date(2028, 4, 4),  # 清明 (Tue)
        date(2028, 5, 1), date(2028, 5, 2),  # 劳动节 Mon–Tue
        date(2028, 5, 28), date(2028, 5, 29),  # 端午 on a Sunday, made up on Monday
        # 国庆 Sun 1 to Tue 3 Oct; 中秋 falls on 3 Oct: the Sunday and the overlap make up Wed 4 and Thu 5.
        date(2028, 10, 1), date(2028, 10, 2), date(2028, 10, 3), date(2028, 10, 4), date(2028, 10, 5),
    ]
    names = {d.date: d.name for d in law_days(2028)}
    assert names[date(2028, 10, 3)] == "国庆节、中秋节"


def test_chuxi_is_the_day_before_the_first_of_the_first_month_not_the_thirtieth():
    # 2025: 正月初一 was Wed 29 Jan; 除夕 Tue 28 Jan was 腊月廿九.
    spring = dict(statutory_festivals(2025))["春节"]
    assert spring == [date(2025, 1, 28), date(2025, 1, 29), date(2025, 1, 30), date(2025, 1, 31)]


def test_partial_holidays_and_ordinary_days_are_working_days():
    assert is_workday(date(2027, 3, 8))  # 妇女节 (Mon): half a day off for women only, a working day
    assert is_workday(date(2028, 5, 4))  # 青年节 (Thu)
    assert is_workday(date(2027, 2, 11))  # the day after the Spring Festival block and its make-up days
    assert not is_workday(date(2027, 3, 6))  # an ordinary Saturday
    assert add_working_days(cst(2027, 3, 5), 1) == cst(2027, 3, 9, 0)  # Fri → Mon 8 March, 24:00


def test_entered_days_win_over_the_law_and_the_library():
    # A 调休 Saturday of a (hypothetical) 2027 notice works; a local stoppage does not.
    CalendarDay.objects.create(date=date(2027, 1, 2), is_workday=True, name="元旦调休上班")
    assert add_working_days(cst(2026, 12, 28), 7) == cst(2027, 1, 7, 0)  # 2027-01-06 24:00
    assert add_working_days(cst(2026, 11, 23), 1) == cst(2026, 11, 25, 0)
    CalendarDay.objects.create(date=date(2026, 11, 24), is_workday=False, source=CalendarSource.OVERRIDE,
                               name="临时停工")
    assert not is_workday(date(2026, 11, 24))
    assert add_working_days(cst(2026, 11, 23), 1) == cst(2026, 11, 26, 0)


def test_a_year_marked_official_keeps_only_its_entered_days():
    # Marked official with the notice entered: the law's estimate no longer counts, so a
    # make-up day the notice did not adopt is a working day, and the notice's rows decide.
    CalendarDay.objects.create(date=date(2027, 2, 11), is_workday=False, name="春节")
    CalendarYear.objects.update_or_create(year=2027, defaults={"official_entered": True})
    assert not is_provisional(2027)
    assert is_workday(date(2027, 2, 9))  # the law's 补假, not in the (hypothetical) notice
    assert not is_workday(date(2027, 2, 11))
    assert not is_workday(date(2027, 2, 6))  # weekends stay off


def test_entered_days_are_read_once_per_process_until_one_changes(django_assert_num_queries):
    # The cached reference data: categories, departments, calendar days, official years.
    with django_assert_num_queries(4):
        add_working_days(cst(2026, 1, 5), 15)
    with django_assert_num_queries(0):
        assert add_working_days(cst(2026, 1, 5), 15) == cst(2026, 1, 27, 0)
    CalendarDay.objects.create(date=date(2026, 1, 6), is_workday=False, source=CalendarSource.OVERRIDE,
                               name="临时停工")
    with django_assert_num_queries(4):
        assert add_working_days(cst(2026, 1, 5), 15) == cst(2026, 1, 28, 0)


def test_deadline_for_hours_and_working_days():
    urgent = CategoryFactory(code="09001", resolution_limit=2, resolution_unit=DeadlineUnit.HOURS)
    general = CategoryFactory(code="09002", resolution_limit=7, resolution_unit=DeadlineUnit.WORKING_DAYS)
    start = cst(2026, 9, 30, 23, 30)
    assert deadline_for(urgent, start) == start + timedelta(hours=2)
    # Oct 8, 9, 10 (调休), 12, 13, 14, 15 → ends at 24:00 on Oct 15.
    assert deadline_for(general, start) == cst(2026, 10, 16, 0)


def test_dispatch_sets_both_deadlines_and_stores_their_inputs(city):
    category = grid_category(response_hours=24)
    start = cst(2026, 12, 28, 9, 15)
    appeal = receive(city, category=category, now=start)
    assert appeal.response_deadline == start + timedelta(hours=24)
    assert appeal.deadline == appeal.level_deadline == cst(2027, 1, 8, 0)
    appeal.refresh_from_db()
    assert (appeal.deadline_start, appeal.deadline_limit, appeal.deadline_unit, appeal.deadline_extension_days) == (
        start, 7, DeadlineUnit.WORKING_DAYS, 0)
