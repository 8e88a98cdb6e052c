"""The staff login page: a good login, the lockout after repeated failures, idle expiry.

With django-axes every login goes through authenticate(request=…), so these tests
post to the login page rather than calling client.login().
"""

import time
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from governance.kernel.middleware import SESSION_REFRESHED_KEY

pytestmark = pytest.mark.django_db

PASSWORD = "pw-123456"  # tests/factories.UserFactory


def log_in(client, username, password=PASSWORD, **data):
    return client.post(reverse("login"), {"username": username, "password": password, **data})


def test_good_login_redirects_home(city, client):
    response = log_in(client, "community_worker")
    assert response.status_code == 302
    assert response.url == reverse("home")
    assert client.get(reverse("home")).status_code == 200


def test_login_follows_next_inside_the_site(city, client):
    territory = reverse("territory-root")
    response = log_in(client, "community_worker", next=territory)
    assert response.url == territory
    # …but never to another site.
    client.logout()
    response = log_in(client, "community_worker", next="https://evil.example/")
    assert response.url == reverse("home")


def test_wrong_password_shows_the_form_again(city, client):
    response = log_in(client, "community_worker", "wrong")
    assert response.status_code == 200
    assert "工作人员登录" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_repeated_failures_lock_the_username_even_with_the_right_password(city, client):
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        assert log_in(client, "grid_worker", "wrong").status_code == 200
    locked = log_in(client, "grid_worker", "wrong")
    assert locked.status_code == 429
    assert "登录失败次数过多" in locked.content.decode()
    assert "账号已被暂时锁定" in locked.content.decode()
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    assert f"请 {minutes} 分钟后再试" in locked.content.decode()

    right = log_in(client, "grid_worker")
    assert right.status_code == 429
    assert "登录失败次数过多" in right.content.decode()
    assert "_auth_user_id" not in client.session
    # Other accounts behind the same address are not locked (one NAT per street office).
    assert log_in(client, "grid_worker2").status_code == 302


def test_lockout_ends_after_the_cool_off(city, client):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "grid_worker", "wrong")
    assert log_in(client, "grid_worker").status_code == 429
    # The cool-off is counted from the last failure: move it into the past.
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(minutes=1)
    )
    assert log_in(client, "grid_worker").status_code == 302


def test_a_good_login_clears_earlier_failures(city, client):
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        log_in(client, "grid_worker", "wrong")
    assert log_in(client, "grid_worker").status_code == 302
    client.post(reverse("logout"))
    for _ in range(limit - 1):
        log_in(client, "grid_worker", "wrong")
    assert log_in(client, "grid_worker").status_code == 302


def _expiry_soon(client) -> Session:
    session = Session.objects.get(session_key=client.session.session_key)
    session.expire_date = timezone.now() + timedelta(seconds=30)
    session.save(update_fields=["expire_date"])
    return session


def _last_saved(client, seconds_ago: int) -> Session:
    """The session as if last saved ``seconds_ago``, its expiry 30 s away."""
    store = SessionStore(session_key=client.session.session_key)
    store[SESSION_REFRESHED_KEY] = int(time.time()) - seconds_ago
    store.save()
    return _expiry_soon(client)


def _session_writes(client) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("home")).status_code == 200
    return [q["sql"] for q in queries.captured_queries
            if "django_session" in q["sql"] and not q["sql"].lstrip().upper().startswith("SELECT")]


def test_a_request_pushes_the_idle_expiry_forward(city, client):
    assert settings.SESSION_SAVE_EVERY_REQUEST is False
    log_in(client, "community_worker")
    session = _last_saved(client, settings.SESSION_REFRESH_SECONDS)

    assert client.get(reverse("home")).status_code == 200
    session.refresh_from_db()
    expected = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE)
    assert abs((session.expire_date - expected).total_seconds()) < 60


def test_the_session_is_saved_at_most_once_per_refresh_interval(city, client):
    log_in(client, "community_worker")
    # The login saved it: the pages after it do not, within the interval.
    session = _expiry_soon(client)
    assert _session_writes(client) == []
    assert _session_writes(client) == []
    session.refresh_from_db()
    assert (session.expire_date - timezone.now()).total_seconds() < 31  # not pushed

    _last_saved(client, settings.SESSION_REFRESH_SECONDS)
    assert len(_session_writes(client)) >= 1
    assert _session_writes(client) == []


def test_a_token_login_is_not_stamped_into_a_session(city, client):
    """The API's token login logs no one into a session: the refresh stamp stays out.
    (django-axes itself creates an empty session to hash for its access log.)"""
    response = client.post("/api/v1/auth/token/", {"username": "community_worker", "password": PASSWORD},
                           content_type="application/json")
    assert response.status_code == 200, response.content
    assert [s.get_decoded() for s in Session.objects.all()] in ([], [{}])


@override_settings(SESSION_COOKIE_AGE=60, SESSION_REFRESH_SECONDS=60)
def test_the_refresh_interval_is_at_most_a_tenth_of_the_idle_time(city, client):
    log_in(client, "community_worker")
    client.get(reverse("home"))
    store = SessionStore(session_key=client.session.session_key)
    store[SESSION_REFRESHED_KEY] = int(time.time()) - 6  # a tenth of 60 s ago
    store.save()
    session = _expiry_soon(client)
    assert client.get(reverse("home")).status_code == 200
    session.refresh_from_db()
    assert (session.expire_date - timezone.now()).total_seconds() > 50


def test_an_idle_session_expires(city, client):
    log_in(client, "community_worker")
    # The idle time has passed: the stored expiry lies behind us.
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_the_session_cookie_dies_with_the_browser_and_hides_from_scripts(city, client):
    response = log_in(client, "community_worker")
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"]
    assert not cookie["max-age"]  # a browser-session cookie; the server enforces the idle limit
