"""A broker outage never loses an appeal or a transition (DESIGN.md §4).

The broker is a real unreachable server (nothing listens on 127.0.0.1:1), not a mock:
intake, staff actions and escalation by hand still succeed and are saved, the failed
queuing is logged; once the broker is back, the sweeps catch up from the database.
"""

import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.core import mail

from appeals import escalation, services
from appeals.enums import AppealAction, EscalationLevel
from appeals.models import Appeal, AppealEvent
from governance.celery import app as celery_app
from governance.models import Notification
from governance.tasks import send_notification_emails
from tests.appeals.factories import grid_category, receive

A = AppealAction

# Real publishing (tests/conftest.py runs tasks in-process otherwise).
pytestmark = [pytest.mark.live_celery, pytest.mark.django_db]


@contextmanager
def broker_down():
    conf = celery_app.conf
    saved = (conf.broker_url, conf.broker_transport_options, conf.broker_connection_timeout)

    def reset_pools():
        # The app caches its connection and producer pools for the URL it first used.
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    conf.broker_url = "redis://127.0.0.1:1/0"
    conf.broker_transport_options = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
    conf.broker_connection_timeout = 0.5
    reset_pools()
    try:
        yield
    finally:
        conf.broker_url, conf.broker_transport_options, conf.broker_connection_timeout = saved
        reset_pools()


def test_intake_and_actions_succeed_with_the_broker_down_and_the_sweeps_catch_up(
    city, caplog, sms_outbox, django_capture_on_commit_callbacks,
):
    u = city.users
    u.community_worker.email = "cw@example.com"
    u.community_worker.save()
    started = time.monotonic()
    with broker_down():
        with django_capture_on_commit_callbacks(execute=True):
            appeal = receive(city, category=grid_category())  # queues the receipt SMS after commit
        with django_capture_on_commit_callbacks(execute=True):
            other = receive(city, category=grid_category())
            other = services.appeal_act(actor=u.grid_worker, appeal=other, action=A.SIGN)
            # Escalation by hand writes an inbox message and queues its email.
            other = escalation.appeal_escalate(actor=u.grid_worker, appeal=other, reason="网格协调不了")
    elapsed = time.monotonic() - started

    assert Appeal.objects.filter(pk__in=[appeal.pk, other.pk]).count() == 2  # saved
    assert other.escalation_level == EscalationLevel.COMMUNITY and other.state == "in_progress"
    assert list(other.events.values_list("action", flat=True)) == ["receive", "dispatch", "sign", "escalate"]
    assert "could not queue" in caplog.text  # logged, not raised
    assert sms_outbox == []  # nothing went out while the broker was down
    assert elapsed < 30
    pending = Notification.objects.get(recipient=u.community_worker)
    assert pending.email_pending and pending.emailed_at is None

    # The broker is back (tasks run in-process here, as a worker would run them): the
    # next runs derive their work from the database and catch up.
    celery_app.conf.task_always_eager = True
    now = appeal.level_deadline + timedelta(minutes=1)
    assert escalation.escalation_sweep(now=now).escalated == 2  # both: the other one's community time is up too
    appeal.refresh_from_db()
    assert appeal.escalation_level == EscalationLevel.COMMUNITY
    assert AppealEvent.objects.filter(appeal=appeal, action=A.ESCALATE).count() == 1
    assert send_notification_emails.delay().get() >= 1
    assert "cw@example.com" in [m.to[0] for m in mail.outbox]
    pending.refresh_from_db()
    assert pending.emailed_at is not None
