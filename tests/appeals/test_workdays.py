"""Working-day deadlines: the official calendar (holidays and 调休), admin overrides,
and the weekends-only fallback for years the library does not cover."""

import logging
from datetime import date, datetime, timedelta, timezone

import pytest

from appeals.enums import DeadlineUnit
from appeals.models import WorkdayOverride
from appeals.workdays import CHINA, add_working_days, deadline_for, is_workday, official_workdays
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


def test_seven_working_days_from_late_december_2026_into_2027(caplog):
    official_workdays.cache_clear()
    with caplog.at_level(logging.WARNING, logger="appeals.workdays"):
        # Without 2027 data: Mon–Fri, so Fri Jan 1 2027 would count.
        assert add_working_days(cst(2026, 12, 28), 7) == cst(2027, 1, 7, 0)
    assert any("2027" in r.getMessage() for r in caplog.records)
    # The admin enters 2027's New Year holiday: it is honoured.
    WorkdayOverride.objects.create(date=date(2027, 1, 1), is_workday=False, note="元旦")
    assert add_working_days(cst(2026, 12, 28), 7) == cst(2027, 1, 8, 0)
    # And a 2027 调休 Saturday works.
    WorkdayOverride.objects.create(date=date(2027, 1, 2), is_workday=True, note="调休上班")
    assert add_working_days(cst(2026, 12, 28), 7) == cst(2027, 1, 7, 0)


def test_override_turns_a_weekday_into_a_holiday():
    assert add_working_days(cst(2026, 11, 23), 1) == cst(2026, 11, 25, 0)
    WorkdayOverride.objects.create(date=date(2026, 11, 24), is_workday=False, note="临时停工")
    assert not is_workday(date(2026, 11, 24))
    assert add_working_days(cst(2026, 11, 23), 1) == cst(2026, 11, 26, 0)


def test_overrides_are_read_once_per_process_until_one_changes(django_assert_num_queries):
    with django_assert_num_queries(3):  # the cached reference data: categories, departments, overrides
        add_working_days(cst(2026, 1, 5), 15)
    with django_assert_num_queries(0):
        assert add_working_days(cst(2026, 1, 5), 15) == cst(2026, 1, 27, 0)
    WorkdayOverride.objects.create(date=date(2026, 1, 6), is_workday=False, note="临时停工")
    with django_assert_num_queries(3):
        assert add_working_days(cst(2026, 1, 5), 15) == cst(2026, 1, 28, 0)


def test_deadline_for_hours_and_working_days():
    urgent = CategoryFactory(code="09001", resolution_limit=2, resolution_unit=DeadlineUnit.HOURS)
    general = CategoryFactory(code="09002", resolution_limit=7, resolution_unit=DeadlineUnit.WORKING_DAYS)
    start = cst(2026, 9, 30, 23, 30)
    assert deadline_for(urgent, start) == start + timedelta(hours=2)
    # Oct 8, 9, 10 (调休), 12, 13, 14, 15 → ends at 24:00 on Oct 15.
    assert deadline_for(general, start) == cst(2026, 10, 16, 0)


def test_dispatch_sets_both_deadlines(city):
    category = grid_category(response_hours=24)
    appeal = receive(city, category=category)
    assert appeal.response_deadline == appeal.dispatched_at + timedelta(hours=24)
    assert appeal.deadline == add_working_days(appeal.dispatched_at, 7)
    assert appeal.deadline.astimezone(CHINA).time().hour == 0
