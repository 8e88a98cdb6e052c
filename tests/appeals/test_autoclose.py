"""Appeals awaiting evaluation for 7 days are closed, unevaluated, by the daily task."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from appeals import services, tasks
from appeals.enums import AppealAction, AppealState
from appeals.escalation import close_unevaluated_sweep
from appeals.models import Appeal, AppealEvent
from tests.appeals.factories import grid_category, receive

A = AppealAction
pytestmark = pytest.mark.django_db


def awaiting(city):
    appeal = receive(city, category=grid_category())
    appeal = services.appeal_act(actor=city.users.grid_worker, appeal=appeal, action=A.SIGN)
    appeal = services.appeal_act(actor=city.users.grid_worker, appeal=appeal, action=A.RESOLVE, result="已清运")
    assert appeal.state == AppealState.AWAITING_EVALUATION  # the result SMS was the feedback
    return appeal


def test_closed_after_seven_days_not_before_and_once(city, settings):
    settings.APPEAL_AUTO_CLOSE_DAYS = 7
    appeal = awaiting(city)
    fed_back = appeal.feedback_at
    assert close_unevaluated_sweep(now=fed_back + timedelta(days=6, hours=23)) == 0
    appeal.refresh_from_db()
    assert appeal.state == AppealState.AWAITING_EVALUATION

    now = fed_back + timedelta(days=7, minutes=1)
    assert close_unevaluated_sweep(now=now) == 1
    assert close_unevaluated_sweep(now=now) == 0
    appeal.refresh_from_db()
    assert (appeal.state, appeal.closed_at, appeal.rating) == (AppealState.CLOSED, now, "")
    event = appeal.events.get(action=A.CLOSE_UNEVALUATED)
    assert (event.from_state, event.to_state, event.actor_label) == ("awaiting_evaluation", "closed", "系统")
    assert "7 天内未评价" in event.note


def test_the_daily_task_takes_a_date_and_its_queries_do_not_grow(city):
    appeals = [awaiting(city) for _ in range(6)]
    Appeal.objects.filter(pk__in=[a.pk for a in appeals[:2]]).update(
        feedback_at=appeals[0].feedback_at - timedelta(days=8))
    assert tasks.close_unevaluated.delay(now=appeals[0].feedback_at.isoformat()).get() == 2
    rest = Appeal.objects.filter(state=AppealState.AWAITING_EVALUATION)
    assert rest.count() == 4
    later = appeals[-1].feedback_at + timedelta(days=8)
    with CaptureQueriesContext(connection) as few:
        assert close_unevaluated_sweep(now=later, size=2) == 4  # two chunks of 2
    # Per chunk: savepoint, (PostgreSQL: SET LOCAL synchronous_commit), select, update,
    # insert, release; and a last empty look.
    assert len(few) <= 6 * 3
    assert AppealEvent.objects.filter(action=A.CLOSE_UNEVALUATED).count() == 6
    assert tasks.close_unevaluated.delay().get() == 0  # nothing left; safe to run again
