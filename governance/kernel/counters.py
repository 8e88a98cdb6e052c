"""Fixed-window counters for rate limits: in the shared cache (Redis in production, shared by
every web worker), and in the database while the cache is down, so that a Redis outage
costs a limit its precision for a window, never a request its answer (no 500).

After a failed cache call, the counters stay in the database for CACHE_PAUSE_SECONDS
(per process), so that requests do not each wait for a connection that fails. When the
cache is back its counters do not know what the database counted meanwhile: for the
rest of that window a client may get up to twice its rate, once.

Identities are hashed with the SECRET_KEY: phone numbers never appear in keys (or in a
Redis dump, or in the table).
"""

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from django.utils import timezone

from governance.models import RateCounter

logger = logging.getLogger(__name__)

_PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
CACHE_PAUSE_SECONDS = 30


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> "Rate":
        number, _sep, period = text.partition("/")
        try:
            return cls(int(number), _PERIODS[period.strip().rstrip("s")])
        except (ValueError, KeyError):
            raise ValueError(f"bad rate {text!r}: expected N/second|minute|hour|day") from None


def key(scope: str, ident: str) -> str:
    digest = hashlib.sha256(f"{settings.SECRET_KEY}:{ident}".encode()).hexdigest()[:24]
    return f"rl:{scope}:{digest}"


# --- the cache ---------------------------------------------------------------------------

# One round trip on Redis for a list of counters, counted in order until one is over its
# rate (those after it are not counted). KEYS: the counters; ARGV: seconds and limit of
# each. Returns the 1-based index of the first counter over its rate, 0 when all are
# within. SET NX EX opens a window at the first hit; Django's Redis serializer stores ints
# as plain integers, so cache.get reads these counters too.
_HIT_ALL_LUA = """
for i, key in ipairs(KEYS) do
  redis.call('SET', key, 0, 'EX', ARGV[2 * i - 1], 'NX')
  if redis.call('INCR', key) > tonumber(ARGV[2 * i]) then
    return i
  end
end
return 0
"""
_hit_all_script = None


def _redis_hit_all(backend: RedisCache, counters: list[tuple[str, Rate]]) -> int | None:
    global _hit_all_script
    keys = [backend.make_and_validate_key(k) for k, _rate in counters]
    client = backend._cache.get_client(keys[0], write=True)
    if _hit_all_script is None:
        _hit_all_script = client.register_script(_HIT_ALL_LUA)
    args = [value for _key, rate in counters for value in (rate.seconds, rate.count)]
    first_over = int(_hit_all_script(keys=keys, args=args, client=client))
    return first_over - 1 if first_over else None


def _cache_count(k: str, seconds: int) -> int:
    """Add one to the window's counter and return it; the first hit opens the window."""
    if cache.add(k, 1, timeout=seconds):
        return 1
    try:
        return cache.incr(k)
    except ValueError:  # expired between add and incr
        cache.set(k, 1, timeout=seconds)
        return 1


def _cache_hit_all(counters: list[tuple[str, Rate]]) -> int | None:
    backend = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(backend, RedisCache):
        return _redis_hit_all(backend, counters)
    for index, (k, rate) in enumerate(counters):
        if _cache_count(k, rate.seconds) > rate.count:
            return index
    return None


# --- the database ------------------------------------------------------------------------


def _window(k: str, rate: Rate, now: datetime) -> tuple[str, datetime]:
    """The counter's row key in the current window (windows aligned on the epoch), and when
    the window ends."""
    number = int(now.timestamp()) // rate.seconds
    return f"{k}:{rate.seconds}:{number}", datetime.fromtimestamp((number + 1) * rate.seconds, tz=now.tzinfo)


def _db_hit_all(counters: list[tuple[str, Rate]]) -> int | None:
    now = timezone.now()
    q = connection.ops.quote_name
    table, k_, count, expires = q(RateCounter._meta.db_table), q("key"), q("count"), q("expires_at")
    sql = (f"INSERT INTO {table} ({k_}, {count}, {expires}) VALUES (%s, 1, %s) "
           f"ON CONFLICT ({k_}) DO UPDATE SET {count} = {table}.{count} + 1 RETURNING {count}")
    with connection.cursor() as cursor:
        for index, (k, rate) in enumerate(counters):
            row_key, ends = _window(k, rate, now)
            cursor.execute(sql, [row_key, connection.ops.adapt_datetimefield_value(ends)])
            if cursor.fetchone()[0] > rate.count:
                return index
    return None


def _db_counts(counters: list[tuple[str, Rate]]) -> list[int]:
    now = timezone.now()
    row_keys = [_window(k, rate, now)[0] for k, rate in counters]
    found = dict(RateCounter.objects.filter(key__in=row_keys).values_list("key", "count"))
    return [found.get(k, 0) for k in row_keys]


# --- the API -----------------------------------------------------------------------------

_cache_paused_until = 0.0


def _use_cache() -> bool:
    return time.monotonic() >= _cache_paused_until


def _cache_failed(exc: Exception) -> None:
    global _cache_paused_until
    _cache_paused_until = time.monotonic() + CACHE_PAUSE_SECONDS
    logger.warning("rate limits: the cache is unavailable (%s: %s); counting in the database for %s s",
                   exc.__class__.__name__, exc, CACHE_PAUSE_SECONDS)


def reset_cache_pause() -> None:
    global _cache_paused_until
    _cache_paused_until = 0.0


def hit_all(counters: list[tuple[str, str, Rate]]) -> int | None:
    """Count one hit on each (scope, ident, rate) in order, stopping at the first that is
    over its rate; returns that one's index, or None when all are within. In the cache
    (on Redis one round trip), or in the database while the cache is down."""
    keyed = [(key(scope, ident), rate) for scope, ident, rate in counters]
    if not keyed:
        return None
    if _use_cache():
        try:
            return _cache_hit_all(keyed)
        except Exception as exc:  # the cache is down: count in the database
            _cache_failed(exc)
    return _db_hit_all(keyed)


def counts(counters: list[tuple[str, str, Rate]]) -> list[int]:
    """The hits counted so far in each counter's window (counts nothing)."""
    keyed = [(key(scope, ident), rate) for scope, ident, rate in counters]
    if not keyed:
        return []
    if _use_cache():
        try:
            found = cache.get_many([k for k, _rate in keyed])
            return [int(found.get(k) or 0) for k, _rate in keyed]
        except Exception as exc:
            _cache_failed(exc)
    return _db_counts(keyed)


def first_used_up(counters: list[tuple[str, str, Rate]]) -> int | None:
    """The index of the first counter whose rate is used up already, or None."""
    for index, (count, (_scope, _ident, rate)) in enumerate(zip(counts(counters), counters, strict=True)):
        if count >= rate.count:
            return index
    return None


def purge(*, now: datetime | None = None) -> int:
    """Delete the database's counters whose window has ended (daily)."""
    cutoff = (now or timezone.now()) - timedelta(seconds=1)
    return RateCounter.objects.filter(expires_at__lt=cutoff).delete()[0]
