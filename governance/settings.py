"""Settings of Gongzhi, read from the environment (see README "Configuration").

Embedded defaults (no variables set): SQLite under var/, a filesystem Celery broker
under var/, DEBUG off. ``make run`` turns DEBUG on for the demo.
"""

import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from governance.env import (
    env_bool,
    env_float,
    env_int,
    env_list,
    env_networks,
    env_redis_url,
    env_str,
    redis_url_with_db,
    secret_key_problem,
    tile_sources,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("GONGZHI_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment (DEBUG is off, so there is "
            "no development default)."
        )
    SECRET_KEY = "django-insecure-gongzhi-development-only"
elif not DEBUG and (_key_problem := secret_key_problem(SECRET_KEY)):
    # Sessions, CSRF tokens, tracking links and rate-limit keys are only as good as the key.
    raise ImproperlyConfigured(
        f"SECRET_KEY is not fit for production: {_key_problem}. Generate one, e.g. "
        "python -c 'import secrets; print(secrets.token_urlsafe(48))' (64 characters)."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Which surfaces this deployment serves (DESIGN.md §1): the public pages face the
# internet, the staff pages sit on the government network.
PUBLIC_SITE_ENABLED = env_bool("GONGZHI_PUBLIC_SITE", True)
STAFF_SITE_ENABLED = env_bool("GONGZHI_STAFF_SITE", True)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "governance",
    "governance.assessment",
    "governance.reports",
    "grids",
    "appeals",
    "appeals.open311",
    "volunteers",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "governance.kernel.middleware.PermissionsPolicyMiddleware",
    "governance.kernel.middleware.RejectNulMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "governance.kernel.middleware.SessionRefreshMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    # After the user is known: pins a user who just wrote to the primary (does nothing
    # without DATABASE_REPLICA_URL).
    "governance.kernel.replica.ReplicaPinMiddleware",
    "governance.kernel.middleware.ApplicationErrorMiddleware",
    "governance.kernel.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "governance.urls"
WSGI_APPLICATION = "governance.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "governance.context_processors.portal",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------
_DEFAULT_DB = f"sqlite:///{VAR_DIR / 'gongzhi.sqlite3'}"
_database_url = env_str("DATABASE_URL") or _DEFAULT_DB
try:
    _db = dj_database_url.parse(_database_url, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))
except Exception as exc:  # dj-database-url raises several types for a bad URL
    raise ImproperlyConfigured(f"DATABASE_URL={_database_url!r} is not a database URL: {exc}") from None
if _db["ENGINE"] not in ("django.db.backends.sqlite3", "django.db.backends.postgresql"):
    raise ImproperlyConfigured(
        f"DATABASE_URL={_database_url!r}: only sqlite:// and postgres:// are supported."
    )
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # web + worker + beat share one file: WAL, IMMEDIATE transactions and a busy
    # timeout keep "database is locked" away (ENGINEERING_NOTES.md).
    _db["CONN_MAX_AGE"] = 0
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    _db["CONN_HEALTH_CHECKS"] = True
    _db.setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
DATABASES = {"default": _db}
# A PostgreSQL streaming replica for the reports' reads (governance.kernel.replica): reads
# go to it only inside replica_reads(), outside the primary's atomic blocks, for users who
# have not just written, and while it is within REPLICA_MAX_LAG_BYTES of the primary.
REPLICA_PIN_SECONDS = env_int("REPLICA_PIN_SECONDS", 5, minimum=0)
REPLICA_MAX_LAG_BYTES = env_int("REPLICA_MAX_LAG_BYTES", 16 * 1024 * 1024, minimum=0)
REPLICA_CHECK_SECONDS = env_int("REPLICA_CHECK_SECONDS", 5, minimum=1)
_replica_url = env_str("DATABASE_REPLICA_URL")
if _replica_url:
    try:
        _replica = dj_database_url.parse(_replica_url, conn_max_age=_db.get("CONN_MAX_AGE", 60))
    except Exception as exc:
        raise ImproperlyConfigured(f"DATABASE_REPLICA_URL={_replica_url!r} is not a database URL: {exc}") from None
    if _replica["ENGINE"] != "django.db.backends.postgresql" or _db["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URL needs PostgreSQL for both DATABASE_URL and the replica (streaming replication)."
        )
    _replica["CONN_HEALTH_CHECKS"] = True
    # Short: a replica that does not answer costs a report its offload, not seconds of waiting.
    _replica.setdefault("OPTIONS", {})["connect_timeout"] = env_int("REPLICA_CONNECT_TIMEOUT", 2, minimum=1)
    # Tests run against the primary's test database through this alias too (pytest-django
    # would otherwise try to create a test database on the hot standby).
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES["replica"] = _replica
    DATABASE_ROUTERS = ["governance.kernel.replica.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: broker and cache ------------------------------------------------------
# They may sit on separate servers (CELERY_BROKER_URL, CACHE_URL); each defaults from
# REDIS_URL, the broker on /0 and the cache on /1 (a cache.clear() must never wipe the queue).
REDIS_URL = env_redis_url("REDIS_URL")
CACHE_URL = env_redis_url("CACHE_URL") or (redis_url_with_db(REDIS_URL, 1) if REDIS_URL else None)
_broker_url = env_redis_url("CELERY_BROKER_URL") or (redis_url_with_db(REDIS_URL, 0) if REDIS_URL else None)
CELERY_BROKER_DIR = VAR_DIR / "celery"
if _broker_url:
    CELERY_BROKER_URL = _broker_url
    CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 5}
else:
    # kombu's filesystem transport needs its folders to exist, the same one for in
    # and out; created here so that every entry point (not only make) has them.
    (CELERY_BROKER_DIR / "queue").mkdir(parents=True, exist_ok=True)
    (CELERY_BROKER_DIR / "processed").mkdir(parents=True, exist_ok=True)
    (CELERY_BROKER_DIR / "control").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        # Broadcast (pidbox) messages; kombu's default is ./control in the working directory.
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "governance.kernel.redis_cache.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "gongzhi",
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 600, minimum=1)
CELERY_TASK_SOFT_TIME_LIMIT = max(1, CELERY_TASK_TIME_LIMIT - 30)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Queues by kind of work, so that workers on several hosts can be split by what they serve
# (README "Deployment"): the sweeps over the appeals, the messages (the outbox's relay),
# the scoring; everything else on Celery's default queue. Every worker consumes all of
# them unless told otherwise (-Q); the Procfile, docker-compose and the tests' workers
# name them all.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_QUEUES_ALL = ("celery", "sweeps", "messages", "scoring")
CELERY_TASK_QUEUES = {name: {"exchange": name, "routing_key": name} for name in CELERY_QUEUES_ALL}
CELERY_TASK_ROUTES = {
    "appeals.tasks.escalation_sweep": {"queue": "sweeps"},
    "appeals.tasks.close_unevaluated": {"queue": "sweeps"},
    "appeals.tasks.recompute_deadlines": {"queue": "sweeps"},
    "appeals.tasks.recompute_pending_deadlines": {"queue": "sweeps"},
    "appeals.visits.tasks.visit_reminders": {"queue": "sweeps"},
    "governance.tasks.retention_purge": {"queue": "sweeps"},
    "governance.tasks.outbox_purge": {"queue": "sweeps"},
    "governance.tasks.outbox_relay": {"queue": "messages"},
    "governance.tasks.export_purge": {"queue": "sweeps"},
    "governance.assessment.tasks.compute_scores": {"queue": "scoring"},
    "governance.assessment.tasks.refresh_flows": {"queue": "scoring"},
    "governance.assessment.tasks.rebuild_flows": {"queue": "scoring"},
    "governance.reports.tasks.hotspot_repeats": {"queue": "scoring"},
    "appeals.suggest.tasks.train_category_model": {"queue": "scoring"},
    "volunteers.tasks.yearly_evaluation": {"queue": "scoring"},
    # An export job a supervisor waits for: the default queue, beside the other requests' work.
    "governance.tasks.export_run": {"queue": "celery"},
}
# The beat schedule lives in one place: governance/schedule.py.
from governance.schedule import BEAT_SCHEDULE as CELERY_BEAT_SCHEDULE  # noqa: E402, F401

# --- Auth, sessions, lockout ------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Failed logins (governance.kernel.login_guard): LOGIN_FAILURE_LIMIT failures lock a
# username *from that address* (username and address together: nobody can lock a
# colleague out from elsewhere, and one street office behind one NAT address is not
# locked as a whole); LOGIN_IP_FAILURE_LIMIT failures from one address across usernames
# refuse that address (429 with the wait), except the addresses of LOGIN_IP_ALLOWLIST
# (offices' egress addresses). Both for LOGIN_LOCKOUT_MINUTES after the last counted failure.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# A refused attempt does not count (nor restart the lock's minutes).
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_HANDLER = "governance.kernel.login_guard.LoginGuardHandler"
AXES_LOCKOUT_CALLABLE = "governance.kernel.login_guard.lockout_response"
# The one client-address rule (trusted proxy header), also for rate limits and the access log.
AXES_CLIENT_IP_CALLABLE = "governance.kernel.network.client_ip"
LOGIN_IP_FAILURE_LIMIT = env_int("LOGIN_IP_FAILURE_LIMIT", 50, minimum=1)
LOGIN_IP_ALLOWLIST = env_networks("LOGIN_IP_ALLOWLIST")
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# Idle sessions expire: a request pushes the expiry forward when the session was last
# saved SESSION_REFRESH_SECONDS ago or more (governance.kernel.middleware.SessionRefreshMiddleware),
# not on every request (an UPDATE per page).
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_MINUTES", 30, minimum=1) * 60
SESSION_SAVE_EVERY_REQUEST = False
SESSION_REFRESH_SECONDS = 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True

# --- HTTPS and the browser's security headers ------------------------------------------
# HTTPS is on wherever DEBUG is off, unless GONGZHI_HTTPS=false (make test, the bench, the
# browser tests and docker-compose on localhost, which serve plain http): every http
# request is redirected to https (except /healthz, which load balancers ask over http), and
# browsers are told to use https only for a year (HSTS). Not for subdomains and no preload
# list: a government domain's other hosts are not ours to commit (check --deploy's W005 and
# W021, silenced below for that reason).
GONGZHI_HTTPS = env_bool("GONGZHI_HTTPS", True) and not DEBUG
SECURE_SSL_REDIRECT = GONGZHI_HTTPS
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = 365 * 24 * 3600 if GONGZHI_HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = False
SECURE_HSTS_PRELOAD = False
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", GONGZHI_HTTPS)
CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", GONGZHI_HTTPS)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SILENCED_SYSTEM_CHECKS = [
    "security.W005",  # HSTS for subdomains: other hosts of the (government) domain are not ours
    "security.W021",  # HSTS preload: the same, and hard to undo
]

# Content-Security-Policy (django-csp): scripts and styles from this site only — no inline
# script, no eval (htmx runs with allowEval=false, includeIndicatorStyles=false; the API
# docs use Swagger's split view) — and images from here plus the map's tile host when
# MAP_TILE_URLS names one (comma list of tile URL templates, read below with the map's
# settings; {s} in the first label).
_SELF, _NONE = "'self'", "'none'"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [_SELF],
        "script-src": [_SELF],
        "style-src": [_SELF],
        "img-src": [_SELF, "data:", "blob:", *tile_sources("MAP_TILE_URLS")],  # from the environment
        "font-src": [_SELF],
        "connect-src": [_SELF],
        "object-src": [_NONE],
        "base-uri": [_NONE],
        "form-action": [_SELF],
        "frame-ancestors": [_NONE],
    },
}
# Permissions-Policy (governance.kernel.middleware.PermissionsPolicyMiddleware): the map's
# "my position" needs geolocation on this site; every other powerful feature is off.
PERMISSIONS_POLICY = {
    "geolocation": [_SELF],
    **{feature: [] for feature in (
        "accelerometer", "autoplay", "bluetooth", "camera", "display-capture", "encrypted-media", "fullscreen",
        "gyroscope", "hid", "idle-detection", "magnetometer", "microphone", "midi", "payment",
        "picture-in-picture", "publickey-credentials-get", "screen-wake-lock", "serial", "usb", "web-share",
        "xr-spatial-tracking",
    )},
}

# --- Language and time -------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]

# --- Static files --------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = VAR_DIR / "media"
# The manifest storage only where collectstatic ran (production images): tests and
# the demo run with DEBUG off or on and no manifest (ENGINEERING_NOTES.md).
_manifest = env_bool("STATIC_MANIFEST", False)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if _manifest
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: an anonymous call to an endpoint that needs an account is answered 401
    # with WWW-Authenticate: Token (DRF asks the first class for the header). The session
    # serves the pages' own calls (with CSRF).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "governance.kernel.api.tokens.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "governance.kernel.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "governance.kernel.api.errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("API_ANON_RATE", "120/minute"),
        "user": env_str("API_USER_RATE", "1200/minute"),
    },
}
# API tokens expire this many days after they are issued (governance.kernel.api.tokens).
API_TOKEN_DAYS = env_int("API_TOKEN_DAYS", 30, minimum=1)
SPECTACULAR_SETTINGS = {
    "TITLE": "共治 Gongzhi API",
    "DESCRIPTION": "社区网格化治理平台接口 (community grid governance portal API)",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Every operation that needs an account documents its 401 (governance.kernel.api.schema).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "governance.kernel.api.schema.document_access",
    ],
    # Several models have a "status"/"state" field; name each enum after its model.
    "ENUM_NAME_OVERRIDES": {
        "HouseholdStatusEnum": "grids.enums.HouseholdStatus",
        "VisitMethodEnum": "appeals.visits.enums.VisitMethod",
        "MeetingKindEnum": "appeals.deliberation.enums.MeetingKind",
        "MeetingStateEnum": "appeals.deliberation.enums.MeetingState",
        "DecisionKindEnum": "appeals.deliberation.enums.DecisionKind",
        "DecisionStateEnum": "appeals.deliberation.enums.DecisionState",
    },
}

# --- Portal rules ---------------------------------------------------------------------
PAGE_SIZE = env_int("PAGE_SIZE", 30, minimum=5)
# Browsing a scope, the tab counts of the final states (closed, declined, withdrawn) are
# kept this long in the shared cache (appeals.selectors.queue_counts); 0: counted each time.
QUEUE_FINAL_COUNTS_SECONDS = env_int("QUEUE_FINAL_COUNTS_SECONDS", 60, minimum=0)
IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", 50_000, minimum=1)
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_MB", 20, minimum=1) * 1024 * 1024
# An XLSX is a zip of XML: before anything is parsed, its parts may unpack to at most
# this much, and hold at most this many cells and shared strings (grids.io.reader).
IMPORT_MAX_UNPACKED_BYTES = env_int("IMPORT_MAX_UNPACKED_MB", 200, minimum=1) * 1024 * 1024
IMPORT_MAX_CELLS = env_int("IMPORT_MAX_CELLS", 1_000_000, minimum=100)
DATA_UPLOAD_MAX_MEMORY_SIZE = IMPORT_MAX_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "noreply@gongzhi.local")

# Personal data never goes to the logs: the access log is a table (governance.AccessLog),
# and every line passes governance.kernel.logmask (codes and tokens in paths, searches,
# phones, ID numbers, a database error's DETAIL rows). Django's own loggers (the request
# and the development server's access lines) come here too, not to Django's default handlers.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_secrets": {"()": "governance.kernel.logmask.MaskSecrets"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["mask_secrets"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        # Django's own loggers (its default config gives them handlers of their own, without
        # the mask) and runserver's request lines: through the same handler.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
# Celery's own handlers get the same filter (governance.celery).

# --- Appeals ---
# Dotted path of the SMS backend (appeals.sms): console logs masked numbers; locmem
# keeps an outbox for tests.
SMS_BACKEND = env_str("SMS_BACKEND", "appeals.sms.ConsoleSmsBackend")
# The public address used in SMS links (evaluation, tracking).
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://localhost:8000")
APPEAL_REWORK_LIMIT = env_int("APPEAL_REWORK_LIMIT", 2, minimum=0)
APPEAL_AUTO_CLOSE_DAYS = env_int("APPEAL_AUTO_CLOSE_DAYS", 7, minimum=1)
APPEAL_PHOTO_MAX_BYTES = env_int("APPEAL_PHOTO_MAX_MB", 5, minimum=1) * 1024 * 1024
APPEAL_PHOTO_MAX_COUNT = env_int("APPEAL_PHOTO_MAX_COUNT", 3, minimum=0)
# Public rate limits ("N/second|minute|hour|day"), shared by the form, the API and Open311.
APPEAL_INTAKE_RATE_PER_IP = env_str("APPEAL_INTAKE_RATE_PER_IP", "20/hour")
APPEAL_INTAKE_RATE_PER_PHONE = env_str("APPEAL_INTAKE_RATE_PER_PHONE", "5/day")
# Wrong tracking tries (appeals.tracking): per code, then its last-4 check pauses until the
# window ends (the SMS link still works); per address across codes, then 429. A housing
# estate shares one NAT address: the address's number is high on purpose.
APPEAL_TRACK_FAILURES_PER_CODE = env_str("APPEAL_TRACK_FAILURES_PER_CODE", "10/hour")
APPEAL_TRACK_FAILURES_PER_IP = env_str("APPEAL_TRACK_FAILURES_PER_IP", "100/hour")
# 我的诉求 (appeals.phone_proof): a one-time code by SMS proves the phone. One code per
# PHONE_CODE_INTERVAL_SECONDS and PHONE_CODE_RATE_PER_PHONE per phone, PHONE_CODE_RATE_PER_IP
# per client address; a code lives PHONE_CODE_TTL_SECONDS and takes PHONE_CODE_MAX_TRIES
# tries; the proof lasts MY_APPEALS_SESSION_HOURS at most and shows MY_APPEALS_MONTHS back.
PHONE_CODE_INTERVAL_SECONDS = env_int("PHONE_CODE_INTERVAL_SECONDS", 60, minimum=1)
PHONE_CODE_RATE_PER_PHONE = env_str("PHONE_CODE_RATE_PER_PHONE", "10/day")
PHONE_CODE_RATE_PER_IP = env_str("PHONE_CODE_RATE_PER_IP", "30/hour")
PHONE_CODE_TTL_SECONDS = env_int("PHONE_CODE_TTL_SECONDS", 300, minimum=30)
PHONE_CODE_MAX_TRIES = env_int("PHONE_CODE_MAX_TRIES", 5, minimum=1)
MY_APPEALS_SESSION_HOURS = env_int("MY_APPEALS_SESSION_HOURS", 24, minimum=1)
MY_APPEALS_MONTHS = env_int("MY_APPEALS_MONTHS", 12, minimum=1)
# Public reads (Open311 GETs, the public photos, the submit form's place lists) per
# client address, counted in each web process's memory (appeals.public_policy).
PUBLIC_READ_RATE_PER_IP = env_str("PUBLIC_READ_RATE_PER_IP", "120/minute")
# The header that carries the client address when a trusted reverse proxy is in front
# (HTTP_X_REAL_IP or HTTP_X_FORWARDED_FOR), and how many proxies append to it: the
# client's address is that many from the right (governance.kernel.network.client_ip).
TRUSTED_PROXY_HEADER = env_str("TRUSTED_PROXY_HEADER", "")
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 1, minimum=1)

# --- 智能分拨 (appeals.suggest, issue 26) ---
# An appeal filed with no category ("不确定") is routed by the model's first suggestion
# when its probability is at least this; below it, the appeal waits for dispatch by hand.
CATEGORY_SUGGEST_THRESHOLD = env_float("CATEGORY_SUGGEST_THRESHOLD", 0.6, minimum=0.0, maximum=1.0)
# Training reads at most this many closed appeals, the most recent (with the corpus): at
# tier M (1,000,000 appeals) this keeps the nightly job within minutes.
CATEGORY_MODEL_MAX_APPEALS = env_int("CATEGORY_MODEL_MAX_APPEALS", 200_000, minimum=0)
# 类案参考: the similar appeals are searched among this many most recent closed appeals of the
# appeal's street (one query, one sparse product: the cost is bounded by this number).
CATEGORY_SIMILAR_WINDOW = env_int("CATEGORY_SIMILAR_WINDOW", 500, minimum=1)
# The public form's suggestions (the description typed so far) per client address.
CATEGORY_SUGGEST_RATE_PER_IP = env_str("CATEGORY_SUGGEST_RATE_PER_IP", "60/minute")

# --- Retention (个人信息保护法 第十九条: no longer than the purpose needs) ---
# Days after an appeal ended (closed, declined, withdrawn) until its phone and name are
# masked, and until its photos are deleted; the appeal itself stays (appeals.retention).
APPEAL_CONTACT_RETENTION_DAYS = env_int("APPEAL_CONTACT_RETENTION_DAYS", 365, minimum=1)
APPEAL_PHOTO_RETENTION_DAYS = env_int("APPEAL_PHOTO_RETENTION_DAYS", 365, minimum=1)
# Days after a home visit until its notes, checklist, companions and photos are cleared; the
# visit's date, method and counting stay for the figures (appeals.visits.retention).
VISIT_RECORD_RETENTION_DAYS = env_int("VISIT_RECORD_RETENTION_DAYS", 365, minimum=1)
# The personal-data access log (three years: PIPL 第五十六条) and the login logs (at least six
# months: 网络安全法 第二十一条) (governance.kernel.retention).
ACCESS_LOG_RETENTION_DAYS = env_int("ACCESS_LOG_RETENTION_DAYS", 3 * 365, minimum=1)
LOGIN_LOG_RETENTION_DAYS = env_int("LOGIN_LOG_RETENTION_DAYS", 180, minimum=1)
# Archiving past years (docs/OPERATIONS.md): a calendar year (China time) may be moved out of
# the hot tables by `manage.py archive_year` once it is older than this many years (year <
# this year − the setting); its stored scores and daily flows stay (appeals.archive).
APPEAL_ARCHIVE_AFTER_YEARS = env_int("APPEAL_ARCHIVE_AFTER_YEARS", 3, minimum=2)

# --- Volunteers ---
# 双报到: the yearly service target of an in-service party member, in hours.
VOLUNTEER_YEARLY_HOURS_TARGET = env_int("VOLUNTEER_YEARLY_HOURS_TARGET", 50, minimum=1)
# An attendance is credited from the later of the check-in and the activity's start to
# the earlier of the check-out and the scheduled end plus this many minutes (a forgotten
# check-out earns no more); those minutes are the 双报到 hours.
VOLUNTEER_CHECKOUT_GRACE_MINUTES = env_int("VOLUNTEER_CHECKOUT_GRACE_MINUTES", 30, minimum=0)
# Points: floor(Σ min(minutes, this × 60) × VOLUNTEER_POINTS_PER_HOUR / 60) over a
# volunteer's lifetime attendance, less the activity points already earned.
VOLUNTEER_MAX_HOURS_PER_ACTIVITY = env_int("VOLUNTEER_MAX_HOURS_PER_ACTIVITY", 8, minimum=1)
VOLUNTEER_POINTS_PER_HOUR = env_int("VOLUNTEER_POINTS_PER_HOUR", 1, minimum=0)
# Earning stops at the cap (the rest is noted in the ledger, not credited).
VOLUNTEER_POINTS_BALANCE_CAP = env_int("VOLUNTEER_POINTS_BALANCE_CAP", 1000, minimum=1)
# A balance below the threshold cannot redeem anything.
VOLUNTEER_REDEMPTION_THRESHOLD = env_int("VOLUNTEER_REDEMPTION_THRESHOLD", 10, minimum=0)
# Points for a service appeal claimed by a volunteer, by the resident's rating.
VOLUNTEER_APPEAL_RATING_POINTS = {
    "satisfied": env_int("VOLUNTEER_APPEAL_POINTS_SATISFIED", 5, minimum=0),
    "basically": env_int("VOLUNTEER_APPEAL_POINTS_BASICALLY", 3, minimum=0),
    "unsatisfied": env_int("VOLUNTEER_APPEAL_POINTS_UNSATISFIED", 0, minimum=0),
}
# Self check-in opens this long before the start; the QR token expires after this many seconds.
VOLUNTEER_CHECKIN_OPENS_MINUTES = env_int("VOLUNTEER_CHECKIN_OPENS_MINUTES", 60, minimum=0)
VOLUNTEER_CHECKIN_TOKEN_SECONDS = env_int("VOLUNTEER_CHECKIN_TOKEN_SECONDS", 300, minimum=30)
# Wrong check-in codes a volunteer may type at one activity ("N/second|minute|hour|day");
# then 429 (the QR code still works). A wrong code and a closed window answer alike.
VOLUNTEER_CHECKIN_CODE_FAILURES = env_str("VOLUNTEER_CHECKIN_CODE_FAILURES", "10/hour")

# --- The map (issue 21, DESIGN.md §10) ---
# A point outside every boundary is placed on the nearest registered building within this
# many metres (grids.locate), for the web form, patrol and Open311 lat/long alike; none
# that near: the appeal waits for dispatch by hand. OPEN311_MAX_DISTANCE_M is its older name.
LOCATE_FALLBACK_M = env_int("LOCATE_FALLBACK_M", env_int("OPEN311_MAX_DISTANCE_M", 300, minimum=1), minimum=1)
OPEN311_MAX_DISTANCE_M = LOCATE_FALLBACK_M
# Imported boundaries: how far (metres) a child may stick out of its parent, and two
# siblings overlap, before the import refuses the file (grids.boundaries).
BOUNDARY_TOLERANCE_M = env_int("BOUNDARY_TOLERANCE_M", 5, minimum=0)
# The base layer: tile URL templates ({z}/{x}/{y}, {s} for MAP_TILE_SUBDOMAINS), drawn in
# order — 天地图 needs its base layer and its label layer, each with the key (tk=…) in the
# URL. Empty: no tile server; staff maps draw boundaries, buildings and labels on a plain
# background, and public pages draw no administrative boundaries.
MAP_TILE_URLS = env_list("MAP_TILE_URLS", [])
MAP_TILE_SUBDOMAINS = env_str("MAP_TILE_SUBDOMAINS", "")
# The tiles' coordinate system: wgs84 (天地图, an intranet server in CGCS2000) or gcj02
# (most Chinese web maps): positions are converted for display, and a pin dropped on
# GCJ-02 tiles is converted back to WGS-84 before it is sent.
MAP_TILE_CRS = env_str("MAP_TILE_CRS", "wgs84").lower()
if MAP_TILE_CRS not in ("wgs84", "gcj02"):
    raise ImproperlyConfigured(f"MAP_TILE_CRS={MAP_TILE_CRS!r} must be wgs84 or gcj02.")
# The provider's attribution with its 审图号 (e.g. "天地图 GS(2024)0650号"). Public pages draw
# administrative boundaries only over tiles whose attribution carries a 审图号.
MAP_TILE_ATTRIBUTION = env_str("MAP_TILE_ATTRIBUTION", "")
MAP_TILE_MAX_ZOOM = env_int("MAP_TILE_MAX_ZOOM", 18, minimum=1)
if MAP_TILE_URLS and not MAP_TILE_ATTRIBUTION:
    raise ImproperlyConfigured("MAP_TILE_URLS is set without MAP_TILE_ATTRIBUTION: name the provider and its 审图号.")

# --- Open311 ---
# POST requests per API key ("N/second|minute|hour|day"); over it: 429 with the spec's
# error body. The per-phone intake limit above applies too; the per-address one does
# not (one client app relays many residents from one address).
OPEN311_RATE_PER_KEY = env_str("OPEN311_RATE_PER_KEY", "600/hour")
# The street (9-digit code) whose dispatch centre receives a request whose address_string
# names no single building and no one street (地址不明, e.g. only a district). Unset:
# such a request is answered 400. A code that is not 9 digits stops start-up here; one
# that names no street fails the database check (appeals.open311.checks) run by migrate.
OPEN311_FALLBACK_STREET = env_str("OPEN311_FALLBACK_STREET", "")
if OPEN311_FALLBACK_STREET and not re.fullmatch(r"\d{9}", OPEN311_FALLBACK_STREET):
    raise ImproperlyConfigured(
        f"OPEN311_FALLBACK_STREET={OPEN311_FALLBACK_STREET!r} is not a street code (9 digits, e.g. 110101001)."
    )
# The service discovery document (/open311/v2/discovery.json): how to reach the operators
# and how to get a key.
OPEN311_CONTACT = env_str("OPEN311_CONTACT", "请联系本平台运维部门（12345 热线受理中心）。")
OPEN311_KEY_SERVICE = env_str(
    "OPEN311_KEY_SERVICE", "接口密钥由平台管理员签发：python manage.py open311_key create 应用名称。",
)

# --- Assessment ---
# A month's scores become final at 00:00 on this day of the next month (DESIGN.md §5);
# events from then on never change it.
SCORE_CUTOFF_DAY = env_int("SCORE_CUTOFF_DAY", 5, minimum=1)
if SCORE_CUTOFF_DAY > 28:
    raise ImproperlyConfigured("SCORE_CUTOFF_DAY must be between 1 and 28 (every month has that day).")
# 综合得分 = 100 × (response × 响应率 + resolution × 解决率 + satisfaction × 满意率).
SCORE_WEIGHTS = {
    "response": env_str("SCORE_WEIGHT_RESPONSE", "0.1"),
    "resolution": env_str("SCORE_WEIGHT_RESOLUTION", "0.5"),
    "satisfaction": env_str("SCORE_WEIGHT_SATISFACTION", "0.4"),
}
# 满意率 = (满意 + this × 基本满意) / 参评数.
SCORE_BASICALLY_SATISFIED_WEIGHT = env_str("SCORE_BASICALLY_SATISFIED_WEIGHT", "0.9")
for _name, _weight in [*SCORE_WEIGHTS.items(), ("basically", SCORE_BASICALLY_SATISFIED_WEIGHT)]:
    try:
        float(_weight)
    except ValueError:
        raise ImproperlyConfigured(f"The score weight {_name}={_weight!r} is not a number.") from None
# The nightly scoring task's hard time limit, in seconds.
SCORE_TASK_TIME_LIMIT = env_int("SCORE_TASK_TIME_LIMIT", 3600, minimum=60)
# The daily flows the report pages read (governance.assessment.flows, issue 23): the
# nightly rebuild recounts this many days (a category or deadline changed afterwards; a
# whole year at tier M takes 4–15 min: `manage.py rebuild_flows` for older changes).
FLOWS_REBUILD_DAYS = env_int("FLOWS_REBUILD_DAYS", 35, minimum=1)
# 高频诉求 (issue 24): the buildings and households are grouped from the period's appeals;
# above this many appeals received in the period (the daily flows' count, no scan) a page
# does not group them inside the request (≈5 s per million at tier M) but has a Celery
# task do it (governance.reports.tasks.hotspot_repeats) and shows them when it is done.
HOTSPOT_INLINE_MAX_APPEALS = env_int("HOTSPOT_INLINE_MAX_APPEALS", 50_000, minimum=0)
# Staffing target (DESIGN.md §5): 社区工作者 per 10,000 urban resident population (城镇常住人口),
# judged for districts and the city.
STAFFING_TARGET_PER_10K = env_int("STAFFING_TARGET_PER_10K", 18, minimum=1)
# The posts that count as 社区工作者 for it, as role keys (governance.enums.Role), e.g.
# "community_worker,community_secretary,grid_worker" where 专职网格员 count; unset: the
# community roles (COMMUNITY_ROLES). Only roles bound to a grid, community or street;
# checked at start-up (governance.apps).
STAFFING_ROLES = env_list("STAFFING_ROLES", None)

# --- Escalation ---
# appeals.escalation (DESIGN.md §4 "Deadlines and escalation"). The sweep's interval
# (ESCALATION_SWEEP_SECONDS) lives with the beat schedule in governance/schedule.py.
# Appeals the sweep takes per locked chunk (its queries grow with the chunks, not the rows).
ESCALATION_CHUNK_SIZE = env_int("ESCALATION_CHUNK_SIZE", 500, minimum=1)
# Connections the sweep works its chunks on at once (threads; each takes its share of the
# appeals by id). On PostgreSQL one connection's database time and another's Python time
# overlap; SQLite has one writer at a time, so there it is 1.
ESCALATION_SWEEP_WORKERS = env_int(
    "ESCALATION_SWEEP_WORKERS", 2 if _db["ENGINE"] == "django.db.backends.postgresql" else 1, minimum=1
)
# The fresh level deadline, in hours, of an appeal escalated to each level (capped by the
# category's resolution limit when that is given in hours and shorter).
ESCALATION_COMMUNITY_HOURS = env_int("ESCALATION_COMMUNITY_HOURS", 24, minimum=1)
ESCALATION_STREET_HOURS = env_int("ESCALATION_STREET_HOURS", 48, minimum=1)
ESCALATION_DISTRICT_HOURS = env_int("ESCALATION_DISTRICT_HOURS", 24, minimum=1)
# 临期预警: warn the handler this many hours before the level deadline, or earlier only if
# that is at most this share (%) of the level's time; 0 hours: no warnings.
ESCALATION_WARN_HOURS = env_int("ESCALATION_WARN_HOURS", 4, minimum=0)
ESCALATION_WARN_PERCENT = env_int("ESCALATION_WARN_PERCENT", 20, minimum=0)
if ESCALATION_WARN_PERCENT > 100:
    raise ImproperlyConfigured(f"ESCALATION_WARN_PERCENT={ESCALATION_WARN_PERCENT} must be between 0 and 100.")
# 催办 at the district 督办: at most once per this many hours while the appeal stays overdue.
ESCALATION_REMIND_HOURS = env_int("ESCALATION_REMIND_HOURS", 24, minimum=1)
# Urgent categories skip a level (grid → street, community → district).
ESCALATION_URGENT_SKIP = env_bool("ESCALATION_URGENT_SKIP", True)
# The staff site's address for links in notification emails; empty: PUBLIC_BASE_URL.
STAFF_BASE_URL = env_str("STAFF_BASE_URL", "")

# --- The outbox (governance.kernel.outbox, DESIGN.md §9) ---
# The relay's beat interval (OUTBOX_RELAY_SECONDS) lives in governance/schedule.py.
# A failed delivery is tried again after OUTBOX_RETRY_SECONDS, doubling up to
# OUTBOX_RETRY_MAX_SECONDS, OUTBOX_MAX_ATTEMPTS times in all; then it is marked failed
# (the admin lists it and can send it again).
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 8, minimum=1)
OUTBOX_RETRY_SECONDS = env_int("OUTBOX_RETRY_SECONDS", 30, minimum=1)
OUTBOX_RETRY_MAX_SECONDS = env_int("OUTBOX_RETRY_MAX_SECONDS", 3600, minimum=1)
# A message a relay claimed and did not finish (the process died) is sent again after this.
OUTBOX_SENDING_TIMEOUT_SECONDS = env_int("OUTBOX_SENDING_TIMEOUT_SECONDS", 300, minimum=30)
# After a failed publish of the relay's kick, a process kicks no more for this long.
OUTBOX_KICK_PAUSE_SECONDS = env_int("OUTBOX_KICK_PAUSE_SECONDS", 30, minimum=0)
# Delivered messages are purged after this many days (daily beat).
OUTBOX_RETENTION_DAYS = env_int("OUTBOX_RETENTION_DAYS", 30, minimum=1)
# /healthz warns (still 200) when a message has waited longer than this.
OUTBOX_WARN_SECONDS = env_int("OUTBOX_WARN_SECONDS", 600, minimum=1)

# Exports (issue 23; governance.kernel.exports). A CSV streams inline, row by row from a
# server-side cursor, up to EXPORT_INLINE_MAX_ROWS rows; an XLSX (zipped only when saved, so
# it never streams) up to EXPORT_XLSX_INLINE_MAX_ROWS. Larger ones are written by a Celery
# job, its sheets split at EXPORT_XLSX_SHEET_MAX_ROWS, the file kept for EXPORT_FILE_HOURS
# (the hourly purge deletes it after) under EXPORT_DIR (default MEDIA_ROOT/private/exports:
# media's volume, which web and worker share and no URL serves). The inline limits and gunicorn's timeout go
# together: governance/gunicorn_conf.py.
EXPORT_INLINE_MAX_ROWS = env_int("EXPORT_INLINE_MAX_ROWS", 200_000, minimum=0)
EXPORT_XLSX_INLINE_MAX_ROWS = env_int("EXPORT_XLSX_INLINE_MAX_ROWS", 50_000, minimum=0)
EXPORT_XLSX_SHEET_MAX_ROWS = env_int("EXPORT_XLSX_SHEET_MAX_ROWS", 1_000_000, minimum=1)
EXPORT_FILE_HOURS = env_int("EXPORT_FILE_HOURS", 24, minimum=1)
EXPORT_DIR = env_str("EXPORT_DIR", "")
# The Celery queue of the export jobs: empty, the default one; a name lets a worker of its own
# (`celery -A governance worker -Q exports`) take them, so that a long export never holds up
# the escalation sweep on a small worker.
EXPORT_QUEUE = env_str("EXPORT_QUEUE", "")
