"""API token login: end to end, and under the same lockout as the login page."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
PASSWORD = "pw-123456"  # tests/factories.UserFactory


def ask_token(client, username, password=PASSWORD, **extra):
    return client.post(TOKEN_URL, {"username": username, "password": password}, **extra)


def test_token_login_end_to_end(city, client):
    response = ask_token(client, "community_worker")
    assert response.status_code == 200
    token = response.json()["token"]
    assert Token.objects.get(user=city.users.community_worker).key == token

    headers = {"HTTP_AUTHORIZATION": f"Token {token}"}
    api = Client()  # no session cookie: only the token
    grids = api.get(reverse("api-grids-list"), **headers)
    assert grids.status_code == 200
    assert [g["code"] for g in grids.json()["results"]] == [city.grid_a1.code, city.grid_a2.code]
    # The token carries the account's jurisdiction: another community is a 404.
    assert api.get(reverse("api-grids-detail", args=[city.grid_c1.code]), **headers).status_code == 404
    # Asking again gives the same token.
    assert ask_token(client, "community_worker").json()["token"] == token


def test_token_login_accepts_json(city, client):
    response = client.post(
        TOKEN_URL, {"username": "grid_worker", "password": PASSWORD}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["token"]


def test_wrong_password_is_400_in_chinese(city, client):
    response = ask_token(client, "community_worker", "wrong")
    assert response.status_code == 400
    assert response.json() == {"detail": "用户名或密码不正确。", "code": "invalid_credentials"}
    assert not Token.objects.exists()


def test_missing_field_is_400_naming_it(city, client):
    response = client.post(TOKEN_URL, {"username": "community_worker"})
    assert response.status_code == 400
    assert "password" in response.json()


def test_inactive_account_gets_no_token(city, client):
    city.users.grid_worker.is_active = False
    city.users.grid_worker.save(update_fields=["is_active"])
    assert ask_token(client, "grid_worker").status_code == 400


def test_bad_or_missing_token_is_refused(city, client):
    assert client.get(reverse("api-households-list")).status_code == 401
    response = client.get(reverse("api-households-list"), HTTP_AUTHORIZATION="Token not-a-token")
    assert response.status_code == 401


def test_failed_token_logins_lock_the_username_out(city, client):
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        assert ask_token(client, "grid_worker", "wrong").status_code == 400
    locked = ask_token(client, "grid_worker", "wrong")
    assert locked.status_code == 429
    assert locked.json()["code"] == "locked_out"
    assert "账号已被暂时锁定" in locked.json()["detail"]
    # Even the right password is refused now, and no token is issued.
    right = ask_token(client, "grid_worker")
    assert right.status_code == 429
    assert not Token.objects.filter(user=city.users.grid_worker).exists()
    # Only that username: a colleague still gets in.
    assert ask_token(client, "grid_worker2").status_code == 200


def test_login_page_failures_and_token_failures_add_up(city, client):
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        client.post(reverse("login"), {"username": "grid_worker", "password": "wrong"})
    assert ask_token(client, "grid_worker", "wrong").status_code == 429
    # And the login page now refuses the right password as well.
    page = client.post(reverse("login"), {"username": "grid_worker", "password": PASSWORD})
    assert page.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_successful_token_login_resets_the_failures(city, client):
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        ask_token(client, "grid_worker", "wrong")
    assert ask_token(client, "grid_worker").status_code == 200
    for _ in range(limit - 1):
        assert ask_token(client, "grid_worker", "wrong").status_code == 400
    assert ask_token(client, "grid_worker").status_code == 200
