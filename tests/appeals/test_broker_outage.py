"""A broker outage never loses an appeal, a transition or a message (DESIGN.md §4, §9).

The broker is a real unreachable server (nothing listens on 127.0.0.1:1), not a mock:
intake, staff actions and escalation by hand still succeed and are saved with their
messages in the outbox; the failed kick is logged once and not tried again for a while;
once the broker is back, the relay delivers each message once and the sweeps catch up.
"""

import logging
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.core import mail

from appeals import escalation, services
from appeals.enums import AppealAction, EscalationLevel
from appeals.models import Appeal, AppealEvent
from governance.celery import app as celery_app
from governance.kernel import outbox
from governance.models import Notification, OutboxMessage
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


def test_intake_and_actions_succeed_with_the_broker_down_and_the_relay_catches_up(
    city, caplog, sms_outbox, django_capture_on_commit_callbacks,
):
    u = city.users
    u.community_worker.email = "cw@example.com"
    u.community_worker.save()
    started = time.monotonic()
    with broker_down(), caplog.at_level(logging.WARNING, logger="governance.kernel.outbox"):
        with django_capture_on_commit_callbacks(execute=True):
            appeal = receive(city, category=grid_category())  # its SMS is an outbox row; the kick fails
        with django_capture_on_commit_callbacks(execute=True):
            other = receive(city, category=grid_category())
            other = services.appeal_act(actor=u.grid_worker, appeal=other, action=A.SIGN)
            # Escalation by hand: its notice to the community is an outbox row too.
            other = escalation.appeal_escalate(actor=u.grid_worker, appeal=other, reason="网格协调不了")
    elapsed = time.monotonic() - started

    assert Appeal.objects.filter(pk__in=[appeal.pk, other.pk]).count() == 2  # saved
    assert other.escalation_level == EscalationLevel.COMMUNITY and other.state == "in_progress"
    assert list(other.events.values_list("action", flat=True)) == ["receive", "dispatch", "sign", "escalate"]
    # One failed publish, then no kick for OUTBOX_KICK_PAUSE_SECONDS: the later commits
    # did not each wait for the broker.
    assert caplog.text.count("could not queue the relay") == 1
    assert sms_outbox == [] and not Notification.objects.exists()  # nothing went out yet
    assert elapsed < 30
    waiting = OutboxMessage.objects.filter(status="pending")
    # Each appeal's SMS and the grid's inbox message (新派单), the escalation's digest item.
    assert sorted(waiting.values_list("channel", flat=True)) == ["digest", "inbox", "inbox", "sms", "sms"]

    # The broker is back: the beat's relay (run here in-process) delivers every message once.
    celery_app.conf.task_always_eager = True
    result = outbox.relay()
    assert result.delivered == 6  # 2 SMS, 2 inbox messages, the digest item, the email copy it wrote
    assert sorted(m.params["code"] for m in sms_outbox) == sorted([appeal.tracking_code, other.tracking_code])
    notice = Notification.objects.get(recipient=u.community_worker)
    assert other.tracking_code in notice.body and notice.kind == "escalation"
    assert [m.to for m in mail.outbox] == [["cw@example.com"]]
    assert not OutboxMessage.objects.exclude(status="delivered").exists()
    assert outbox.relay().delivered == 0  # run again, nothing is sent twice
    assert len(sms_outbox) == 2 and len(mail.outbox) == 1

    # The sweeps catch up from the database too.
    now = appeal.level_deadline + timedelta(minutes=1)
    assert escalation.escalation_sweep(now=now).escalated == 2  # both: the other one's community time is up too
    appeal.refresh_from_db()
    assert appeal.escalation_level == EscalationLevel.COMMUNITY
    assert AppealEvent.objects.filter(appeal=appeal, action=A.ESCALATE).count() == 1
