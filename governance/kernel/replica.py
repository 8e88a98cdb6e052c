"""Reads on a PostgreSQL streaming replica (issue 25): the one place that decides which
database a read goes to.

With ``DATABASE_REPLICA_URL`` set, settings add the alias ``replica`` and this router.
A read goes to the replica only

1. inside an explicit ``replica_reads()`` (a context manager and a decorator: the
   report pages, their API and exports, the report map enter it);
2. while the primary's connection is in no atomic block — a service reading inside its
   transaction (the transition service's conditional update, a sweep's locked chunk)
   must see the primary's rows, or it answers "already changed" to a change it made;
3. when the user has not written in the last ``REPLICA_PIN_SECONDS`` (a flag in the
   session, set by ``ReplicaPinMiddleware`` after a successful POST/PUT/PATCH/DELETE;
   an API token's pin is kept in the shared cache under a digest of the token), so
   that people see their own write at once;
4. when the replica is a standby that answers and has replayed the primary's WAL to
   within ``REPLICA_MAX_LAG_BYTES`` — measured by LSN (``pg_last_wal_replay_lsn()``
   against the primary's ``pg_current_wal_lsn()``; a replay timestamp grows on an
   idle primary), kept ``REPLICA_CHECK_SECONDS`` in the shared cache.

Otherwise the read goes to the primary: a stopped, unreachable or lagging replica
costs the reports their offload, never a page. Writes always go to the primary.
Without ``DATABASE_REPLICA_URL`` nothing here is consulted (one database).

The state lives in ``contextvars``: each thread and each asyncio task has its own, so
one request's ``replica_reads()`` never reaches another's queries.
"""

import hashlib
import logging
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from governance.kernel import shared_cache

logger = logging.getLogger(__name__)

REPLICA = "replica"
PRIMARY = DEFAULT_DB_ALIAS
ROUTER = "governance.kernel.replica.ReplicaRouter"
STATE_KEY = "replica:state"
PIN_SESSION_KEY = "_replica_pin_until"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Read in read-modify-write patterns or right after a write elsewhere in the request:
# sessions, login lockouts, API tokens, rate-limit windows.
PRIMARY_ONLY_APPS = frozenset({"sessions", "axes", "authtoken"})
PRIMARY_ONLY_MODELS = frozenset({"governance.ratecounter"})

# States of the replica, as /healthz names them.
OK, LAGGING, DOWN, NOT_STANDBY, UNKNOWN = "ok", "lagging", "down", "not_standby", "unknown"

_reading: ContextVar[bool] = ContextVar("gongzhi_replica_reading", default=False)
_request: ContextVar = ContextVar("gongzhi_replica_request", default=None)
_memo: dict = {}  # this process's last answer: {"state": {...}, "until": monotonic}


def configured() -> bool:
    """A replica alias and this router (settings, with DATABASE_REPLICA_URL; the test suite
    keeps the alias as a mirror of the primary and takes the router out)."""
    return REPLICA in settings.DATABASES and ROUTER in settings.DATABASE_ROUTERS


def reading() -> bool:
    """Whether reads outside an atomic block go to the replica now."""
    return _reading.get()


def read_alias() -> str:
    """The database a read outside an explicit ``using`` goes to now (what the router
    answers): for a transaction opened to read in, such as an export's stream."""
    if _reading.get() and not connections[PRIMARY].in_atomic_block:
        return REPLICA
    return PRIMARY


class ReplicaRouter:
    """DATABASE_ROUTERS entry (set by settings with DATABASE_REPLICA_URL)."""

    def db_for_read(self, model, **hints):
        if not _reading.get():
            return None  # Django's default: the instance's database, else the primary
        if model._meta.app_label in PRIMARY_ONLY_APPS or model._meta.label_lower in PRIMARY_ONLY_MODELS:
            return PRIMARY
        if connections[PRIMARY].in_atomic_block:
            return PRIMARY
        return REPLICA

    def db_for_write(self, model, **hints):
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        # One database, two copies: an object read from the replica may point at one
        # read from the primary.
        if {obj1._state.db, obj2._state.db} <= {PRIMARY, REPLICA, None}:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return False if db == REPLICA else None


# --- the replica's state ------------------------------------------------------------------


def _lsn(text: str | None) -> int | None:
    """'16/B374D848' → bytes since the start of the WAL."""
    if not text:
        return None
    high, low = text.split("/")
    return (int(high, 16) << 32) + int(low, 16)


def measure() -> dict:
    """Ask the replica how far it has replayed, then the primary where its WAL ends (in
    that order: the lag is never under-counted). Never raises."""
    checked = int(time.time())
    replica = connections[REPLICA]
    try:
        replica.close_if_health_check_failed()
        with replica.cursor() as cursor:
            cursor.execute("SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text")
            in_recovery, replayed = cursor.fetchone()
    except DatabaseError as exc:
        replica.close()
        logger.warning("replica: not reachable (%s: %s); reads go to the primary", exc.__class__.__name__,
                       str(exc).strip().splitlines()[0] if str(exc).strip() else "")
        return {"state": DOWN, "lag_bytes": None, "checked_at": checked}
    if not in_recovery:
        # Promoted, or not a standby at all: its rows may differ from the primary's.
        return {"state": NOT_STANDBY, "lag_bytes": None, "checked_at": checked}
    try:
        with connections[PRIMARY].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn()::text")
            (current,) = cursor.fetchone()
    except DatabaseError as exc:
        logger.warning("replica: the primary's WAL position is unknown (%s)", exc.__class__.__name__)
        return {"state": UNKNOWN, "lag_bytes": None, "checked_at": checked}
    replayed_at, current_at = _lsn(replayed), _lsn(current)
    if replayed_at is None or current_at is None:
        return {"state": UNKNOWN, "lag_bytes": None, "checked_at": checked}
    lag = max(0, current_at - replayed_at)
    return {"state": OK if lag <= settings.REPLICA_MAX_LAG_BYTES else LAGGING, "lag_bytes": lag,
            "checked_at": checked}


def _remember(found: dict) -> dict:
    shared_cache.put(STATE_KEY, found, settings.REPLICA_CHECK_SECONDS, what="replica state")
    _memo.update(state=found, until=time.monotonic() + settings.REPLICA_CHECK_SECONDS)
    return found


def state() -> dict:
    """The replica's state and lag, measured at most every REPLICA_CHECK_SECONDS across
    processes (the shared cache; this process's own answer when the cache is down)."""
    if not configured():
        return {"state": "off"}
    if _memo and time.monotonic() < _memo["until"]:
        return _memo["state"]
    found = shared_cache.get(STATE_KEY, what="replica state")
    if isinstance(found, dict) and "state" in found:
        _memo.update(state=found, until=time.monotonic() + 1)
        return found
    return _remember(measure())


def forget_state() -> None:
    _memo.clear()


def _connectable() -> bool:
    """The replica answers now: a replica stopped since the last check is found here,
    before the page's first query would fail on it (then it counts as down for
    everyone until the next check)."""
    replica = connections[REPLICA]
    try:
        replica.close_if_health_check_failed()
        replica.ensure_connection()
        return True
    except DatabaseError as exc:
        replica.close()
        logger.warning("replica: connection failed (%s); reads go to the primary", exc.__class__.__name__)
        _remember({"state": DOWN, "lag_bytes": None, "checked_at": int(time.time())})
        return False


# --- the pin: a user's own writes --------------------------------------------------------


def _token_pin_key(request) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header.startswith("Token "):
        return None
    return "replica:pin:" + hashlib.sha256(header.encode()).hexdigest()[:32]


def pinned(request=None) -> bool:
    """The request's user wrote less than REPLICA_PIN_SECONDS ago."""
    request = request if request is not None else _request.get()
    if request is None:
        return False
    session = getattr(request, "session", None)
    if session is not None and session.get(PIN_SESSION_KEY, 0) > time.time():
        return True
    key = _token_pin_key(request)
    return bool(key and shared_cache.get(key, what="replica pin"))


def pin(request) -> None:
    """Keep this user's reads on the primary for REPLICA_PIN_SECONDS."""
    seconds = settings.REPLICA_PIN_SECONDS
    if seconds <= 0:
        return
    key = _token_pin_key(request)
    if key:
        shared_cache.put(key, 1, seconds, what="replica pin")
        return
    session = getattr(request, "session", None)
    if session is not None:
        session[PIN_SESSION_KEY] = int(time.time()) + seconds


class ReplicaPinMiddleware:
    """Gives ``replica_reads()`` the request (for the pin), and pins an authenticated
    user after a successful unsafe request. After AuthenticationMiddleware; does
    nothing without a replica."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not configured():
            return self.get_response(request)
        token = _request.set(request)
        try:
            response = self.get_response(request)
        finally:
            _request.reset(token)
        if request.method in UNSAFE_METHODS and response.status_code < 400:
            user = getattr(request, "user", None)  # for the API, DRF sets the token's user here
            if user is not None and user.is_authenticated:
                pin(request)
        return response


# --- entering it ---------------------------------------------------------------------------


def _use_replica() -> bool:
    if not configured() or pinned():
        return False
    if state()["state"] != OK:
        return False
    return _connectable()


@contextmanager
def replica_reads():
    """Reads inside go to the replica when it is fit to serve them (see the module's
    docstring); yields whether they do. Also a decorator: ``replica_reads()(view)``."""
    token = _reading.set(_use_replica())
    try:
        yield _reading.get()
    finally:
        _reading.reset(token)


def on_replica(view):
    """A view (a URL's callable) whose reads go to the replica: a page that only reads."""
    return replica_reads()(view)


def carried(iterable: Iterable) -> Iterator:
    """Iterates ``iterable`` reading where its creator read: a streamed export runs after
    the view (and its ``replica_reads()``) returned."""
    return _iterate_reading(iter(iterable), _reading.get())  # decided now, not at the first row


def _iterate_reading(iterator: Iterator, use: bool) -> Iterator:
    while True:
        token = _reading.set(use)
        try:
            item = next(iterator)
        except StopIteration:
            return
        finally:
            _reading.reset(token)
        yield item


def health() -> dict:
    """/healthz's answer: the state, the lag in bytes and the limit; a warning when
    reads fall back to the primary (never a reason for a 503)."""
    try:
        found = dict(state())
    except Exception as exc:  # a warning, never the reason for a 503
        logger.warning("healthz: replica check failed: %s", exc.__class__.__name__)
        found = {"state": UNKNOWN, "lag_bytes": None}
    found["max_lag_bytes"] = settings.REPLICA_MAX_LAG_BYTES
    if found["state"] != OK:
        found["warning"] = f"replica {found['state']}: report reads go to the primary"
    return found
