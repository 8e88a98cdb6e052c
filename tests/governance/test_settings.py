"""Settings from the environment: a bad value stops start-up with a message naming it.

Settings are read once per process, so each configuration is tried in a fresh Python
process (as the web server, the worker or manage.py would start).
"""

import json
import os
import secrets
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from governance import env

ROOT = Path(__file__).resolve().parents[2]
# Variables the settings read: none may leak from the shell running the tests.
SETTINGS_VARIABLES = {
    "DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS", "SESSION_IDLE_MINUTES",
    "SECURE_COOKIES", "LOGIN_FAILURE_LIMIT", "LOGIN_LOCKOUT_MINUTES", "DJANGO_SETTINGS_MODULE",
    "OPEN311_FALLBACK_STREET", "STAFFING_ROLES", "CELERY_BROKER_URL", "CACHE_URL", "GONGZHI_HTTPS", "MAP_TILE_URLS",
    "LOGIN_IP_ALLOWLIST", "TRUSTED_PROXY_HEADER", "TRUSTED_PROXY_COUNT", "API_TOKEN_DAYS",
    "DJANGO_ALLOW_ASYNC_UNSAFE",  # set by the browser tests in this process; never in deployment
    "DATABASE_REPLICA_URL", "REPLICA_PIN_SECONDS", "REPLICA_MAX_LAG_BYTES", "REPLICA_CHECK_SECONDS",
    "REPLICA_CONNECT_TIMEOUT",
}
# A key fit for production (64 random characters), as make test, CI and the bench make one.
KEY = secrets.token_urlsafe(48)

SHOW = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({name: getattr(settings, name, None) for name in %r}, default=str))
"""


def start(tmp_path, code: str, **variables: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    environment.update(
        DJANGO_SETTINGS_MODULE="governance.settings",
        GONGZHI_VAR_DIR=str(tmp_path / "var"),
        PYTHONPATH=str(ROOT),
        **variables,
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment,
        capture_output=True, text=True, timeout=60,
    )


def show(tmp_path, names: list[str], **variables: str) -> dict:
    result = start(tmp_path, SHOW % names, **variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


BAD = [
    ({"DEBUG": "flase", "SECRET_KEY": KEY}, "DEBUG='flase' is not a boolean"),
    ({"DATABASE_URL": "nonsense://x", "SECRET_KEY": KEY}, "DATABASE_URL="),
    ({"DATABASE_URL": "mysql://u@h/db", "SECRET_KEY": KEY}, "DATABASE_URL="),
    ({"REDIS_URL": "http://x", "SECRET_KEY": KEY}, "REDIS_URL='http://x' is not a Redis URL"),
    ({"SESSION_IDLE_MINUTES": "abc", "SECRET_KEY": KEY}, "SESSION_IDLE_MINUTES='abc' is not a whole number"),
    ({"SESSION_IDLE_MINUTES": "0", "SECRET_KEY": KEY}, "SESSION_IDLE_MINUTES='0' must be at least 1"),
    ({"LOGIN_FAILURE_LIMIT": "five", "SECRET_KEY": KEY}, "LOGIN_FAILURE_LIMIT="),
    ({"DEBUG": "0"}, "SECRET_KEY is not set"),
    ({"ESCALATION_STREET_HOURS": "两天", "SECRET_KEY": KEY}, "ESCALATION_STREET_HOURS='两天' is not a whole number"),
    ({"ESCALATION_URGENT_SKIP": "maybe", "SECRET_KEY": KEY}, "ESCALATION_URGENT_SKIP='maybe' is not a boolean"),
    ({"ESCALATION_WARN_PERCENT": "150", "SECRET_KEY": KEY}, "ESCALATION_WARN_PERCENT=150 must be between 0 and 100"),
    ({"ESCALATION_SWEEP_SECONDS": "5", "SECRET_KEY": KEY}, "ESCALATION_SWEEP_SECONDS='5' must be at least 10"),
    ({"OPEN311_FALLBACK_STREET": "东华门街道", "SECRET_KEY": KEY}, "OPEN311_FALLBACK_STREET='东华门街道' is not a street code"),
    ({"STAFFING_ROLES": "community_worker,supervisor", "SECRET_KEY": KEY}, "STAFFING_ROLES='community_worker,supervisor'"),
    ({"SECRET_KEY": "changeme"}, "SECRET_KEY is not fit for production: it has 8 characters, fewer than 50"),
    ({"SECRET_KEY": "ab" * 40}, "SECRET_KEY is not fit for production: it has fewer than 5 distinct characters"),
    ({"SECRET_KEY": "django-insecure-" + KEY}, "SECRET_KEY is not fit for production: it contains the placeholder 'insecure'"),
    ({"SECRET_KEY": KEY + "-changeme"}, "it contains the placeholder 'changeme'"),
    ({"SECRET_KEY": KEY, "MAP_TILE_URLS": "ftp://tiles.local/{z}/{x}/{y}.png"}, "MAP_TILE_URLS: "),
    ({"SECRET_KEY": KEY, "MAP_TILE_URLS": "https://tiles.{s}.local/{z}/{x}/{y}.png"}, "only the first label"),
    ({"SECRET_KEY": KEY, "LOGIN_IP_ALLOWLIST": "10.0.0.0/8,office"}, "LOGIN_IP_ALLOWLIST: 'office'"),
]


def test_bad_values_stop_start_up_naming_the_variable(tmp_path):
    # One process each, run side by side: each costs a Django start-up.
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(
            lambda case: start(tmp_path, "import django; django.setup()", **case[0]), BAD
        ))
    for (variables, message), result in zip(BAD, results):
        assert result.returncode != 0, f"{variables} started"
        assert "ImproperlyConfigured" in result.stderr, result.stderr
        assert message in result.stderr, f"{variables}: {result.stderr[-500:]}"


def test_production_cookies_are_secure_and_idle_minutes_are_read(tmp_path):
    values = show(
        tmp_path,
        ["DEBUG", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SESSION_COOKIE_AGE",
         "SESSION_SAVE_EVERY_REQUEST", "AXES_FAILURE_LIMIT"],
        DEBUG="0", SECRET_KEY=KEY, SESSION_IDLE_MINUTES="45", LOGIN_FAILURE_LIMIT="3",
    )
    assert values == {
        "DEBUG": False, "SESSION_COOKIE_SECURE": True, "CSRF_COOKIE_SECURE": True,
        "SESSION_COOKIE_AGE": 45 * 60, "SESSION_SAVE_EVERY_REQUEST": False, "AXES_FAILURE_LIMIT": 3,
    }


def test_embedded_defaults_and_redis_databases(tmp_path):
    defaults = show(tmp_path, ["DEBUG", "SECRET_KEY", "SESSION_COOKIE_AGE", "CELERY_BROKER_URL"], DEBUG="1")
    assert defaults["DEBUG"] is True
    assert defaults["SECRET_KEY"]  # a development key, only with DEBUG on
    assert defaults["SESSION_COOKIE_AGE"] == 30 * 60
    assert defaults["CELERY_BROKER_URL"] == "filesystem://"
    assert (tmp_path / "var" / "celery" / "queue").is_dir()

    redis = show(tmp_path, ["CELERY_BROKER_URL", "CACHES"], SECRET_KEY=KEY, REDIS_URL="redis://cache.local:6380/7")
    # The broker and the cache never share a database: a cache.clear() must not drop tasks.
    assert redis["CELERY_BROKER_URL"] == "redis://cache.local:6380/0"
    assert redis["CACHES"]["default"]["LOCATION"] == "redis://cache.local:6380/1"

    # The broker and the cache on servers of their own; each alone defaults from REDIS_URL.
    apart = show(tmp_path, ["CELERY_BROKER_URL", "CACHES"], SECRET_KEY=KEY, REDIS_URL="redis://both:6379",
                 CELERY_BROKER_URL="redis://broker:6379/0", CACHE_URL="redis://cache:6379/3")
    assert apart["CELERY_BROKER_URL"] == "redis://broker:6379/0"
    assert apart["CACHES"]["default"]["LOCATION"] == "redis://cache:6379/3"
    cache_only = show(tmp_path, ["CELERY_BROKER_URL", "CACHES"], SECRET_KEY=KEY, REDIS_URL="redis://both:6379",
                      CACHE_URL="redis://cache:6379/3")
    assert cache_only["CELERY_BROKER_URL"] == "redis://both:6379/0"
    assert start(tmp_path, "import django; django.setup()", SECRET_KEY=KEY,
                 CACHE_URL="http://nope").returncode != 0  # a bad URL stops start-up


# --- governance/env.py, function by function ---------------------------------------

@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("true", True), (" Yes ", True), ("ON", True),
     ("0", False), ("false", False), ("no", False), ("off", False), ("", False)],
)
def test_env_bool_accepts_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("GZ_FLAG", raw)
    assert env.env_bool("GZ_FLAG", not expected) is expected


@pytest.mark.parametrize("raw", ["flase", "2", "y", "enabled"])
def test_env_bool_refuses_anything_else(monkeypatch, raw):
    monkeypatch.setenv("GZ_FLAG", raw)
    with pytest.raises(ImproperlyConfigured, match="GZ_FLAG"):
        env.env_bool("GZ_FLAG", False)


def test_env_bool_default_when_unset(monkeypatch):
    monkeypatch.delenv("GZ_FLAG", raising=False)
    assert env.env_bool("GZ_FLAG", True) is True


def test_env_int(monkeypatch):
    monkeypatch.delenv("GZ_N", raising=False)
    assert env.env_int("GZ_N", 7) == 7
    monkeypatch.setenv("GZ_N", " 12 ")
    assert env.env_int("GZ_N", 7, minimum=1) == 12
    monkeypatch.setenv("GZ_N", "")
    assert env.env_int("GZ_N", 7) == 7
    monkeypatch.setenv("GZ_N", "1.5")
    with pytest.raises(ImproperlyConfigured, match="GZ_N='1.5' is not a whole number"):
        env.env_int("GZ_N", 7)
    monkeypatch.setenv("GZ_N", "-1")
    with pytest.raises(ImproperlyConfigured, match="GZ_N='-1' must be at least 0"):
        env.env_int("GZ_N", 7, minimum=0)


def test_env_str_and_list(monkeypatch):
    monkeypatch.delenv("GZ_S", raising=False)
    assert env.env_str("GZ_S") is None
    assert env.env_str("GZ_S", "d") == "d"
    monkeypatch.setenv("GZ_S", "  value ")
    assert env.env_str("GZ_S") == "value"
    monkeypatch.setenv("GZ_S", "a.example, b.example,,")
    assert env.env_list("GZ_S", []) == ["a.example", "b.example"]
    monkeypatch.delenv("GZ_S")
    assert env.env_list("GZ_S", ["localhost"]) == ["localhost"]


def test_env_redis_url(monkeypatch):
    monkeypatch.delenv("GZ_R", raising=False)
    assert env.env_redis_url("GZ_R") is None
    monkeypatch.setenv("GZ_R", "")
    assert env.env_redis_url("GZ_R") is None
    monkeypatch.setenv("GZ_R", "rediss://:pw@redis.example:6380/3")
    assert env.env_redis_url("GZ_R") == "rediss://:pw@redis.example:6380/3"
    for bad in ("http://x", "redis://", "localhost:6379"):
        monkeypatch.setenv("GZ_R", bad)
        with pytest.raises(ImproperlyConfigured, match="GZ_R=.* is not a Redis URL"):
            env.env_redis_url("GZ_R")


def test_redis_url_with_db():
    assert env.redis_url_with_db("redis://h:6379", 1) == "redis://h:6379/1"
    assert env.redis_url_with_db("redis://:pw@h:6379/5", 0) == "redis://:pw@h:6379/0"


def test_escalation_settings_are_read_from_the_environment(tmp_path):
    names = ["ESCALATION_STREET_HOURS", "ESCALATION_URGENT_SKIP", "ESCALATION_CHUNK_SIZE", "STAFF_BASE_URL",
             "CELERY_BEAT_SCHEDULE", "ESCALATION_SWEEP_WORKERS"]
    values = show(tmp_path, names, SECRET_KEY=KEY, ESCALATION_STREET_HOURS="12", ESCALATION_URGENT_SKIP="off",
                  STAFF_BASE_URL="https://staff.example.cn", ESCALATION_SWEEP_SECONDS="120")
    assert values["ESCALATION_STREET_HOURS"] == 12 and values["ESCALATION_URGENT_SKIP"] is False
    assert values["ESCALATION_CHUNK_SIZE"] == 500 and values["STAFF_BASE_URL"] == "https://staff.example.cn"
    assert values["ESCALATION_SWEEP_WORKERS"] == 1  # SQLite: one writer at a time
    on_postgresql = show(tmp_path, ["ESCALATION_SWEEP_WORKERS"], SECRET_KEY=KEY, DATABASE_URL="postgres://u@h/db")
    assert on_postgresql["ESCALATION_SWEEP_WORKERS"] == 2
    assert values["CELERY_BEAT_SCHEDULE"]["appeals-escalation-sweep"]["schedule"] == 120.0


# --- issue 18: keys, HTTPS, headers ---------------------------------------------------------

HTTPS_NAMES = ["SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD",
               "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_REDIRECT_EXEMPT"]


def test_production_is_https_only_with_a_year_of_hsts(tmp_path):
    values = show(tmp_path, [*HTTPS_NAMES, "CONTENT_SECURITY_POLICY"], SECRET_KEY=KEY)
    csp = values.pop("CONTENT_SECURITY_POLICY")["DIRECTIVES"]
    assert values == {
        "SECURE_SSL_REDIRECT": True, "SECURE_HSTS_SECONDS": 31_536_000, "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
        "SECURE_HSTS_PRELOAD": False, "SESSION_COOKIE_SECURE": True, "CSRF_COOKIE_SECURE": True,
        "SECURE_REDIRECT_EXEMPT": [r"^healthz$"],  # load balancers ask over plain http
    }
    # No map tile host named: images from this site only.
    assert csp["img-src"] == ["'self'", "data:", "blob:"] and csp["script-src"] == ["'self'"]


@pytest.mark.parametrize("variables", [{"GONGZHI_HTTPS": "false", "SECRET_KEY": KEY},
                                       {"DEBUG": "true", "SECRET_KEY": "changeme"}])
def test_plain_http_for_localhost_runs_and_debug(tmp_path, variables):
    values = show(tmp_path, HTTPS_NAMES[:2] + HTTPS_NAMES[4:6] + ["SECRET_KEY"], **variables)
    # While debugging, a placeholder key is fine.
    assert values == {"SECURE_SSL_REDIRECT": False, "SECURE_HSTS_SECONDS": 0, "SESSION_COOKIE_SECURE": False,
                      "CSRF_COOKIE_SECURE": False, "SECRET_KEY": variables["SECRET_KEY"]}


@pytest.mark.parametrize(("key", "problem"), [
    ("x" * 49 + "abcd", None),
    ("a" * 49, "it has 49 characters, fewer than 50"),
    ("abcd" * 20, "it has fewer than 5 distinct characters"),
    ("Your-Secret-Key-" + "q1w2e3r4t5" * 5, "it contains the placeholder 'your-secret'"),
])
def test_secret_key_problem(key, problem):
    assert env.secret_key_problem(key) == problem


def test_deploy_check_prints_only_the_two_silenced_warnings(tmp_path):
    production = {"SECRET_KEY": KEY, "ALLOWED_HOSTS": "gongzhi.gov.cn"}
    deploy_check = ("from django.core.management import execute_from_command_line; "
                    "execute_from_command_line(['manage.py', 'check', '--deploy'])")
    unsilenced = ("import django; django.setup(); from django.conf import settings; "
                  "from django.core import checks; settings.SILENCED_SYSTEM_CHECKS = []; "
                  "print(sorted(m.id for m in checks.run_checks(include_deployment_checks=True)))")
    with ThreadPoolExecutor(max_workers=2) as pool:
        result, all_found = pool.map(lambda code: start(tmp_path, code, **production), [deploy_check, unsilenced])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "System check identified no issues (2 silenced)."
    # Silenced are exactly these two: HSTS for subdomains and preloading (not ours to commit).
    assert all_found.returncode == 0, all_found.stderr
    assert all_found.stdout.strip().splitlines()[-1] == "['security.W005', 'security.W021']"


def test_the_map_tile_host_joins_img_src(tmp_path):
    tiles = "https://t{s}.tianditu.gov.cn/vec_w/wmts?x={x}&y={y}&l={z},https://tiles.gov.local:8443/{z}/{x}/{y}.png"
    csp = show(tmp_path, ["CONTENT_SECURITY_POLICY"], SECRET_KEY=KEY, MAP_TILE_URLS=tiles,
               MAP_TILE_ATTRIBUTION="天地图 GS(2024)0650号")["CONTENT_SECURITY_POLICY"]
    assert csp["DIRECTIVES"]["img-src"] == ["'self'", "data:", "blob:", "https://*.tianditu.gov.cn",
                                            "https://tiles.gov.local:8443"]
