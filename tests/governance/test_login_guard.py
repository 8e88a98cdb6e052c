"""Issue 18 §1: failed logins lock an account from one address, and an address that fails
across many usernames is throttled — never a whole office, never a colleague elsewhere."""

import ipaddress

import pytest
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse

from governance.kernel.network import client_ip
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pw-123456"  # tests/factories.UserFactory
IP1, IP2 = "198.51.100.1", "198.51.100.2"


def log_in(username, password=PASSWORD, *, ip=IP1, path=None, **extra):
    return Client(REMOTE_ADDR=ip).post(path or reverse("login"), {"username": username, "password": password}, **extra)


def test_five_failures_lock_the_account_from_that_address_only(city):
    for _ in range(4):
        assert log_in("grid_worker", "wrong", ip=IP1).status_code == 200
    locked = log_in("grid_worker", "wrong", ip=IP1)
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) in range(880, 901)  # 15 minutes from the failure that set the lock
    assert "该账号已被暂时锁定，请 15 分钟后再试" in locked.content.decode()
    # The right password from IP1 is refused too…
    assert log_in("grid_worker", ip=IP1).status_code == 429
    # …but the same account from another address is not locked (nobody can lock a colleague out),
    assert log_in("grid_worker", ip=IP2).status_code == 302
    # and another account behind IP1 (the same office NAT) is not locked either.
    assert log_in("grid_worker2", ip=IP1).status_code == 302


def test_failures_across_usernames_throttle_the_address_with_the_wait(city):
    # 25 names × 2 failures = 50 failures from one address, no account reaching its own limit.
    for n in range(25):
        for _ in range(2):
            assert log_in(f"guess{n}", "wrong", ip=IP1).status_code == 200
    refused = log_in("community_worker", ip=IP1)  # the right password, from the throttled address
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) in range(880, 901)
    assert "您所在网络的登录失败次数过多" in refused.content.decode()
    assert "请 15 分钟后再试" in refused.content.decode()
    # The throttle is the address's: the same account elsewhere logs in.
    assert log_in("community_worker", ip=IP2).status_code == 302


def test_49_failures_from_one_address_are_not_throttled(city):
    for n in range(49):
        log_in(f"guess{n}", "wrong", ip=IP1)
    assert log_in("community_worker", ip=IP1).status_code == 302


def test_the_admin_login_and_the_token_login_share_the_address_throttle(city):
    for n in range(25):
        for _ in range(2):
            log_in(f"guess{n}", "wrong", ip=IP1, path="/admin/login/")
    token = Client(REMOTE_ADDR=IP1).post("/api/v1/auth/token/", {"username": "community_worker", "password": PASSWORD})
    assert token.status_code == 429
    assert token.json()["code"] == "address_throttled"
    assert "您所在网络的登录失败次数过多" in token.json()["detail"]
    assert int(token["Retry-After"]) in range(880, 901)


@override_settings(LOGIN_IP_ALLOWLIST=(ipaddress.ip_network("198.51.100.0/24"),))
def test_an_allowlisted_office_address_is_not_throttled_but_accounts_still_lock(city):
    for n in range(30):
        for _ in range(2):
            log_in(f"guess{n}", "wrong", ip=IP1)
    assert log_in("community_worker", ip=IP1).status_code == 302
    for _ in range(5):
        log_in("grid_worker", "wrong", ip=IP1)
    assert log_in("grid_worker", ip=IP1).status_code == 429


def test_the_token_login_locks_the_account_from_that_address_only(city):
    api = Client(REMOTE_ADDR=IP1)
    for _ in range(5):
        api.post("/api/v1/auth/token/", {"username": "grid_worker", "password": "wrong"})
    locked = api.post("/api/v1/auth/token/", {"username": "grid_worker", "password": PASSWORD})
    assert locked.status_code == 429
    assert locked.json()["code"] == "locked_out"
    assert int(locked["Retry-After"]) in range(880, 901)
    other = Client(REMOTE_ADDR=IP2).post("/api/v1/auth/token/", {"username": "grid_worker", "password": PASSWORD})
    assert other.status_code == 200


@override_settings(TRUSTED_PROXY_HEADER="HTTP_X_FORWARDED_FOR", TRUSTED_PROXY_COUNT=1)
def test_behind_the_proxy_the_lock_follows_the_client_not_the_proxy_nor_a_forged_header(city):
    proxy = "10.0.0.1"
    # Five failures from the client 203.0.113.9, each with a different forged left-most entry.
    for n in range(5):
        Client(REMOTE_ADDR=proxy).post(reverse("login"), {"username": "grid_worker", "password": "wrong"},
                                       HTTP_X_FORWARDED_FOR=f"1.2.3.{n}, 203.0.113.9")
    locked = Client(REMOTE_ADDR=proxy).post(reverse("login"), {"username": "grid_worker", "password": PASSWORD},
                                            HTTP_X_FORWARDED_FOR="9.9.9.9, 203.0.113.9")
    assert locked.status_code == 429
    # A colleague behind the same proxy, from another client address, is not locked.
    other = Client(REMOTE_ADDR=proxy).post(reverse("login"), {"username": "grid_worker", "password": PASSWORD},
                                           HTTP_X_FORWARDED_FOR="203.0.113.10")
    assert other.status_code == 302


@pytest.mark.parametrize(("header", "count", "forwarded", "expected"), [
    ("", 1, "1.1.1.1", "10.0.0.1"),  # no proxy configured: the socket's address
    ("HTTP_X_FORWARDED_FOR", 1, "6.6.6.6, 203.0.113.9", "203.0.113.9"),  # the right-most: what our proxy saw
    ("HTTP_X_FORWARDED_FOR", 2, "6.6.6.6, 203.0.113.9, 10.2.0.1", "203.0.113.9"),  # two proxies
    ("HTTP_X_REAL_IP", 1, "203.0.113.9", "203.0.113.9"),
    ("HTTP_X_REAL_IP", 1, "not-an-address", "10.0.0.1"),
])
def test_client_ip_is_the_one_the_trusted_proxy_saw(settings, header, count, forwarded, expected):
    settings.TRUSTED_PROXY_HEADER = header
    settings.TRUSTED_PROXY_COUNT = count
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", **({header: forwarded} if header else {}))
    assert client_ip(request) == expected


def test_a_new_account_is_not_locked_by_someone_elses_failures(city):
    UserFactory(username="newcomer")
    for _ in range(5):
        log_in("grid_worker", "wrong", ip=IP1)
    assert log_in("newcomer", ip=IP1).status_code == 302


@override_settings(TRUSTED_PROXY_HEADER="HTTP_X_FORWARDED_FOR", TRUSTED_PROXY_COUNT=1)
def test_the_personal_data_access_log_records_the_client_behind_the_proxy(city):
    from governance.models import AccessLog

    client = Client(REMOTE_ADDR="10.0.0.1")
    client.force_login(city.users.community_worker)
    response = client.get(f"/api/v1/households/{city.household_a1.pk}/", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    assert response.status_code == 200
    assert AccessLog.objects.get(subject=f"household:{city.household_a1.pk}").ip_address == "203.0.113.9"
