"""/healthz: 200 when the database and the broker answer, 503 naming the failing part."""

import time

import pytest
from django.conf import settings

from governance.celery import app as celery_app

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
    assert response.json() == {
        "status": "ok", "checks": {"database": "ok", "broker": "ok"}, "failing": [],
        "calendar": {"provisional_years": []},  # no open deadline reaches into a provisional year
    }
    assert "no-cache" in response["Cache-Control"]


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
    assert client.get("/healthz").status_code == 200


def test_healthz_needs_no_login_and_only_answers_get(client):
    assert client.get("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405
