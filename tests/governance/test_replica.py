"""The read replica's rules (governance.kernel.replica), without a replica: which alias a
read goes to, the pin after a user's own write, the lag check and its cache, /healthz.
tests/replica/ proves the same on a real primary and hot standby."""

import threading
import time

import pytest
from django.contrib.sessions.models import Session
from django.db import transaction
from django.test import RequestFactory

from appeals.models import Appeal
from governance.kernel import replica
from governance.kernel.replica import ReplicaRouter, carried, replica_reads
from tests.governance.test_settings import KEY, show, start

router = ReplicaRouter()


@pytest.fixture
def with_replica(monkeypatch, settings):
    """As if DATABASE_REPLICA_URL were set, with a replica in the given state."""
    settings.REPLICA_PIN_SECONDS = 5
    settings.REPLICA_MAX_LAG_BYTES = 1000
    settings.REPLICA_CHECK_SECONDS = 5
    measured = []
    current = {"state": replica.OK, "lag_bytes": 10}

    def measure():
        measured.append(1)
        return {**current, "checked_at": int(time.time())}

    monkeypatch.setattr(replica, "configured", lambda: True)
    monkeypatch.setattr(replica, "measure", measure)
    monkeypatch.setattr(replica, "_connectable", lambda: True)
    replica.forget_state()
    yield type("Replica", (), {"measured": measured, "current": current})
    replica.forget_state()


def test_without_a_replica_nothing_changes(tmp_path, monkeypatch):
    found = show(tmp_path, ["DATABASES", "DATABASE_ROUTERS"], SECRET_KEY=KEY,
                 DATABASE_URL="postgres://postgres@127.0.0.1:5432/gongzhi")
    assert list(found["DATABASES"]) == ["default"] and found["DATABASE_ROUTERS"] == []
    monkeypatch.setattr(replica, "configured", lambda: False)
    with replica_reads() as on_replica:
        assert on_replica is False
        assert router.db_for_read(Appeal) is None


def test_the_replica_alias_is_a_test_mirror_of_the_primary(tmp_path):
    found = show(tmp_path, ["DATABASES", "DATABASE_ROUTERS", "REPLICA_PIN_SECONDS"], SECRET_KEY=KEY,
                 DATABASE_URL="postgres://postgres@127.0.0.1:5432/gongzhi",
                 DATABASE_REPLICA_URL="postgres://reader@10.0.0.2:5433/gongzhi", REPLICA_PIN_SECONDS="7")
    alias = found["DATABASES"]["replica"]
    assert (alias["HOST"], alias["PORT"], alias["USER"]) == ("10.0.0.2", 5433, "reader")
    assert alias["TEST"]["MIRROR"] == "default"  # pytest-django creates no database on the standby
    assert alias["OPTIONS"]["connect_timeout"] == 2 and alias["CONN_HEALTH_CHECKS"] is True
    assert found["DATABASE_ROUTERS"] == ["governance.kernel.replica.ReplicaRouter"]
    assert found["REPLICA_PIN_SECONDS"] == 7


def test_a_replica_needs_postgresql(tmp_path):
    result = start(tmp_path, "import django; django.setup()", SECRET_KEY=KEY,
                   DATABASE_REPLICA_URL="postgres://reader@10.0.0.2:5433/gongzhi")
    assert result.returncode != 0
    assert "DATABASE_REPLICA_URL needs PostgreSQL" in result.stderr


def test_lsn_positions_are_bytes():
    assert replica._lsn("0/0") == 0
    assert replica._lsn("16/B374D848") == (0x16 << 32) + 0xB374D848
    assert replica._lsn("1/0") - replica._lsn("0/FFFFFFFF") == 1
    assert replica._lsn(None) is None


@pytest.mark.django_db(transaction=True)
def test_reads_go_to_the_replica_only_inside_replica_reads_and_outside_atomic_blocks(with_replica):
    assert router.db_for_read(Appeal) is None  # Django's default: the primary
    with replica_reads() as on_replica:
        assert on_replica is True
        assert router.db_for_read(Appeal) == "replica"
        # The transition service reads inside its transaction: the primary's rows.
        with transaction.atomic():
            assert router.db_for_read(Appeal) == "default"
        assert router.db_for_read(Appeal) == "replica"
        # Sessions, lockouts and tokens: always the primary.
        assert router.db_for_read(Session) == "default"
        assert router.db_for_write(Appeal) == "default"
    assert router.db_for_read(Appeal) is None
    assert router.allow_migrate("replica", "appeals") is False
    assert router.allow_migrate("default", "appeals") is None


def test_the_choice_is_per_thread(with_replica):
    seen = {}
    with replica_reads():
        assert replica.reading()
        thread = threading.Thread(target=lambda: seen.update(other=replica.reading()))
        thread.start()
        thread.join()
    assert seen == {"other": False}
    assert not replica.reading()


def test_a_streamed_export_reads_where_its_view_read(with_replica):
    def rows():
        for n in range(3):
            yield (n, replica.reading())

    with replica_reads():
        stream = carried(rows())
    # Iterated after the view returned, as a StreamingHttpResponse is.
    assert list(stream) == [(0, True), (1, True), (2, True)]
    assert not replica.reading()


def test_lagging_or_down_replicas_are_not_read_and_the_check_is_shared(with_replica):
    with replica_reads() as on_replica:
        assert on_replica
    with replica_reads():
        pass
    assert len(with_replica.measured) == 1  # kept REPLICA_CHECK_SECONDS
    replica.forget_state()  # another process: the shared cache answers
    with replica_reads():
        pass
    assert len(with_replica.measured) == 1

    replica.forget_state()
    replica.shared_cache.put(replica.STATE_KEY, None, 1, what="test")
    with_replica.current.update(state=replica.LAGGING, lag_bytes=5000)
    with replica_reads() as on_replica:
        assert on_replica is False
        assert router.db_for_read(Appeal) is None

    replica.forget_state()
    replica.shared_cache.put(replica.STATE_KEY, None, 1, what="test")
    with_replica.current.update(state=replica.DOWN, lag_bytes=None)
    with replica_reads() as on_replica:
        assert on_replica is False


def test_measure_compares_replay_and_current_lsn(monkeypatch, settings):
    settings.REPLICA_MAX_LAG_BYTES = 100
    answers = {"replica": (True, "0/1000"), "default": ("0/1050",)}

    class Cursor:
        def __init__(self, alias):
            self.alias = alias

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def execute(self, sql):
            self.sql = sql

        def fetchone(self):
            return answers[self.alias]

    class Connection:
        def __init__(self, alias):
            self.alias = alias

        def close_if_health_check_failed(self):
            pass

        def cursor(self):
            return Cursor(self.alias)

    monkeypatch.setattr(replica, "connections", {"replica": Connection("replica"), "default": Connection("default")})
    assert replica.measure() | {"checked_at": 0} == {"state": "ok", "lag_bytes": 0x50, "checked_at": 0}
    answers["default"] = ("0/1100",)
    assert replica.measure()["state"] == "lagging"
    answers["replica"] = (False, None)  # promoted: its rows may differ from the primary's
    assert replica.measure()["state"] == "not_standby"


@pytest.mark.django_db
def test_a_users_own_write_pins_them_to_the_primary(with_replica, city, client, settings):
    client.force_login(city.users.supervisor)
    session = client.session
    assert not session.get(replica.PIN_SESSION_KEY)

    # A refused write pins nothing.
    response = client.post("/reports/supervision/")
    assert response.status_code == 405
    assert not client.session.get(replica.PIN_SESSION_KEY)

    response = client.post("/notifications/preferences/", {})
    assert response.status_code < 400, response.status_code
    until = client.session.get(replica.PIN_SESSION_KEY)
    assert until and 0 < until - time.time() <= settings.REPLICA_PIN_SECONDS

    request = RequestFactory().get("/reports/")
    request.session = client.session
    assert replica.pinned(request)
    request.session[replica.PIN_SESSION_KEY] = int(time.time()) - 1  # the seconds have passed
    assert not replica.pinned(request)


@pytest.mark.django_db
def test_an_anonymous_post_pins_nothing(with_replica, client):
    client.post("/track/", {"code": "X", "phone_last4": "1234"})
    assert not client.session.get(replica.PIN_SESSION_KEY)


def test_an_api_tokens_write_pins_that_token(with_replica):
    writer = RequestFactory().post("/api/v1/appeals/", HTTP_AUTHORIZATION="Token abc")
    other = RequestFactory().get("/api/v1/reports/units/", HTTP_AUTHORIZATION="Token def")
    replica.pin(writer)
    assert replica.pinned(RequestFactory().get("/api/v1/reports/units/", HTTP_AUTHORIZATION="Token abc"))
    assert not replica.pinned(other)


@pytest.mark.django_db
def test_healthz_names_a_replica_that_is_down_and_stays_200(with_replica, client, monkeypatch):
    from governance import views

    monkeypatch.setattr(views, "_broker_ok", lambda: True)
    with_replica.current.update(state=replica.DOWN, lag_bytes=None)
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["replica"]["state"] == "down" and "primary" in body["replica"]["warning"]

    replica.forget_state()
    replica.shared_cache.put(replica.STATE_KEY, None, 1, what="test")
    with_replica.current.update(state=replica.OK, lag_bytes=120)
    body = client.get("/healthz").json()
    assert body["replica"] | {"checked_at": 0} == {"state": "ok", "lag_bytes": 120, "max_lag_bytes": 1000,
                                                    "checked_at": 0}
