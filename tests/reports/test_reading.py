"""Issue 19 §5: reports that read at a glance — the default period is the last final month
(its cutoff passed: governance.assessment.periods), not this month's provisional days."""

from datetime import date

import pytest
from django.utils import timezone

from governance.assessment import periods
from tests.assessment.fabricate import at

pytestmark = pytest.mark.django_db


def test_the_last_final_month_turns_at_the_cutoff(settings):
    settings.SCORE_CUTOFF_DAY = 5
    assert periods.last_final_month(at(2026, 12, 4, 23)) == date(2026, 10, 1)  # November is still provisional
    assert periods.last_final_month(at(2026, 12, 5, 0)) == date(2026, 11, 1)  # from the cutoff on, final
    assert periods.last_final_month(at(2027, 1, 20)) == date(2026, 12, 1)
    assert periods.is_final(date(2026, 11, 1), at(2026, 12, 5, 0))
    assert not periods.is_final(date(2026, 12, 1), at(2026, 12, 31, 23))


def test_choices_mark_the_months_not_final(settings):
    settings.SCORE_CUTOFF_DAY = 5
    choices = dict(periods.period_choices(now=at(2026, 12, 3)))
    assert choices["2026-12"] == "2026年12月（临时）" and choices["2026-11"] == "2026年11月（临时）"
    assert choices["2026-10"] == "2026年10月"


def test_the_report_page_opens_on_the_last_final_month(city, login):
    response = login(city.users.supervisor).get("/reports/")
    assert response.status_code == 200
    expected = periods.last_final_month(timezone.now())
    period = response.context["period"]
    assert (period.kind, period.first) == ("month", expected)
    assert period.first != timezone.localdate().replace(day=1)
