"""/healthz: 200 when the database and the broker answer, 503 naming the failing part; the
broker proven by publishing a task (at most once a minute), when a worker last ran one,
and the age of the oldest undelivered message of the outbox."""

import time
from datetime import timedelta

import pytest
from celery.signals import task_prerun
from django.conf import settings
from django.utils import timezone

from governance import views
from governance.celery import app as celery_app
from governance.kernel import outbox
from governance.models import OutboxMessage

pytestmark = pytest.mark.django_db

# Nothing listens on port 1: a real, unreachable Redis server.
UNREACHABLE_BROKER = "redis://127.0.0.1:1/0"


@pytest.fixture
def broker_down():
    original = celery_app.conf.broker_url
    celery_app.conf.broker_url = UNREACHABLE_BROKER
    try:
        yield
    finally:
        celery_app.conf.broker_url = original


def test_healthy(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    # The ping published to prove the broker ran (in-process here): the worker's time.
    assert 0 <= body.pop("worker")["seconds_ago"] <= 5
    assert body == {
        "status": "ok", "checks": {"database": "ok", "broker": "ok"}, "failing": [],
        "outbox": {"oldest_undelivered_seconds": 0, "undelivered": 0, "failed": 0},
        "calendar": {"provisional_years": []},  # no open deadline reaches into a provisional year
    }
    assert "no-cache" in response["Cache-Control"]


def test_the_oldest_undelivered_message_is_reported_with_a_warning_when_old(client, settings):
    outbox.write([outbox.Message(channel="nobody", recipient="x")], keys=["k1"], kick=False)
    OutboxMessage.objects.update(created_at=timezone.now() - timedelta(seconds=700))
    OutboxMessage.objects.create(channel="sms", key="k2", status="failed", next_attempt_at=timezone.now(),
                                 created_at=timezone.now())
    body = client.get("/healthz").json()
    assert body["checks"] == {"database": "ok", "broker": "ok"}  # a warning, not a 503
    found = body["outbox"]
    assert 700 <= found["oldest_undelivered_seconds"] <= 705 and found["undelivered"] == 1 and found["failed"] == 1
    assert "is the relay running" in found["warning"]


def test_the_broker_is_proven_at_most_once_a_minute(client):
    ran = []

    def seen(sender=None, **kwargs):
        if sender.name == "governance.tasks.health_ping":
            ran.append(sender.name)

    task_prerun.connect(seen, weak=False)
    try:
        for _i in range(3):
            assert client.get("/healthz").status_code == 200
    finally:
        task_prerun.disconnect(seen)
    assert ran == ["governance.tasks.health_ping"]  # one ping for three probes


def test_broker_down_is_503_naming_the_broker_and_answers_quickly(client, broker_down):
    started = time.monotonic()
    response = client.get("/healthz")
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["broker"]
    assert body["checks"] == {"database": "ok", "broker": "error"}
    # A refused connection fails at once: one attempt, no retry sleep (kombu's default
    # retry would add 2 s, a black-holed host is bounded by the 2 s connect timeout).
    assert elapsed < 1.5, f"healthz took {elapsed:.1f} s with the broker down"


def test_healthy_again_when_the_broker_is_back(client, broker_down):
    assert client.get("/healthz").status_code == 503
    celery_app.conf.broker_url = settings.CELERY_BROKER_URL
    assert client.get("/healthz").status_code == 503  # the answer is kept for a minute
    views.forget_broker_check()  # the minute is over
    assert client.get("/healthz").status_code == 200


def test_healthz_needs_no_login_and_only_answers_get(client):
    assert client.get("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405
