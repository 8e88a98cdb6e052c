"""Shared fixtures: a small city with fixed users (an owner, a colleague, an outsider),
and the markers for tests that need PostgreSQL, Redis or Chromium.

Without those, such tests skip with a printed reason; under .ci/run
(GONGZHI_NO_SKIP=1) any skip fails the run.
"""

import os
import shutil

import pytest
from celery.signals import task_postrun
from django.conf import settings

from tests.factories import make_city

NO_SKIP = os.environ.get("GONGZHI_NO_SKIP") == "1"
CHROMIUM = "/usr/bin/chromium"


def pytest_configure(config):
    # Real hashing costs ~0.3 s a user; the tests create many.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    if "replica" in settings.DATABASES:
        # DATABASE_REPLICA_URL set: the alias is a test mirror of the primary (pytest-django
        # creates no database on a hot standby) and every read stays on the primary's test
        # database. The routing is proven by tests/governance/test_replica.py and, on a real
        # standby, tests/replica/.
        from django.db import router

        settings.DATABASE_ROUTERS = []
        router.__dict__.pop("routers", None)
    if not settings.CACHE_URL:
        # Tests must not share the demo's file cache (lockouts, rate limits).
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    else:
        # A key prefix of this run's own: another run on the same Redis (a developer's
        # second terminal) neither sees nor wipes our rate-limit counters.
        settings.CACHES["default"]["KEY_PREFIX"] = f"gongzhi-test-{os.getpid()}"


def _clear_cache() -> None:
    from django.core.cache import cache

    if not settings.CACHE_URL:
        cache.clear()
        return
    client = cache._cache.get_client(write=True)
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    keys = list(client.scan_iter(match=f"{prefix}:*", count=500))
    if keys:
        client.delete(*keys)


def _need(condition: bool, reason: str):
    if condition:
        return
    if NO_SKIP:
        pytest.fail(f"required in CI but missing: {reason}")
    pytest.skip(reason)


def pytest_runtest_setup(item):
    if item.get_closest_marker("postgres"):
        _need(settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
              "needs PostgreSQL: set DATABASE_URL=postgres://…")
    if item.get_closest_marker("redis"):
        _need(bool(settings.REDIS_URL), "needs Redis: set REDIS_URL=redis://…")
    if item.get_closest_marker("browser"):
        _need(os.path.exists(CHROMIUM) or bool(shutil.which("chromium")),
              "needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium)")


def pytest_sessionfinish(session, exitstatus):
    if not NO_SKIP:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped:
        print(f"\nGONGZHI_NO_SKIP: {skipped} test(s) skipped; CI requires every test to run.")
        session.exitstatus = 1


@pytest.fixture(autouse=True)
def _isolated(request, settings, tmp_path):
    """Each test: its own media folder, an empty cache and per-process rate counts, SMS into appeals.sms.sent, and
    Celery tasks run in-process when enqueued (after commit), as a worker would run
    them — the outbox's relay, kicked after a commit, too. Tests marked ``live_celery``
    keep real publishing, for a real worker. No process-wide pause (the kick's, the rate
    limits' cache, /healthz's broker answer) carries over from another test."""
    from appeals import sms
    from appeals.suggest import services as suggest_services
    from appeals.suggest import similar
    from governance import views
    from governance.celery import app as celery_app
    from governance.kernel import counters, local_rate, outbox

    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.SMS_BACKEND = "appeals.sms.LocmemSmsBackend"
    _clear_cache()
    sms.sent.clear()
    outbox.reset_kick_pause()
    counters.reset_cache_pause()
    views.forget_broker_check()
    local_rate.reset()  # the public reads' per-process counts
    suggest_services.forget_loaded()  # 智能分拨's model and its "which is current", kept per process
    similar.forget_windows()  # and 类案参考's feature rows per street
    live = request.node.get_closest_marker("live_celery") is not None
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = not live
    if live:
        # An in-process worker runs tasks in its own thread, whose database connection
        # would outlive the test and keep the test database from being dropped.
        task_postrun.connect(_close_worker_connection, weak=False)
    yield
    if live:
        task_postrun.disconnect(_close_worker_connection)
    celery_app.conf.task_always_eager = eager
    sms.sent.clear()
    outbox.reset_kick_pause()
    counters.reset_cache_pause()
    views.forget_broker_check()


def _close_worker_connection(**kwargs):
    import threading

    from django.db import connections

    # Only the worker's thread: an eager task in the test's thread keeps its connection.
    if threading.current_thread() is not threading.main_thread():
        connections.close_all()


@pytest.fixture
def sms_outbox():
    """The SMS the locmem backend was handed (appeals.sms.sent)."""
    from appeals import sms

    return sms.sent


@pytest.fixture
def relay():
    """Run the outbox's relay now (in the test's transaction: what a test wrote is due),
    as the kick after a commit would; returns its result."""
    from governance.kernel import outbox

    return outbox.relay


@pytest.fixture
def city(db):
    """A small city: see tests/factories.make_city for who is who."""
    return make_city()


@pytest.fixture
def login(client):
    def _login(user):
        client.force_login(user)
        return client

    return _login
