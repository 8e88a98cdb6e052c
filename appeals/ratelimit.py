"""Rate limits for the public surfaces (web form, API intake, tracking guesses).

Fixed windows counted in the cache (Redis in production, shared by every web worker).
The limits are settings, written like "10/hour". One module serves the form, the API
and Open311, so that a client cannot dodge a limit by switching channels.
"""

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.redis import RedisCache
from django.utils.translation import gettext as _

from governance.kernel.errors import ApplicationError

_PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


class RateLimited(ApplicationError):
    status_code = 429
    code = "rate_limited"


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


def _key(scope: str, ident: str) -> str:
    # Hash the identity: phone numbers never appear in cache keys (or Redis dumps).
    digest = hashlib.sha256(f"{settings.SECRET_KEY}:{ident}".encode()).hexdigest()[:24]
    return f"rl:{scope}:{digest}"


# One round trip on Redis for a list of counters, counted in order until one is over its
# rate (those after it are not counted, as with hit() one after the other). KEYS: the
# counters; ARGV: seconds and limit of each. Returns the 1-based index of the first
# counter over its rate, 0 when all are within. SET NX EX opens a window at the first
# hit; Django's Redis serializer stores ints as plain integers, so cache.get (over())
# reads these counters too.
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
    keys = [backend.make_and_validate_key(key) for key, _rate in counters]
    client = backend._cache.get_client(keys[0], write=True)
    if _hit_all_script is None:
        _hit_all_script = client.register_script(_HIT_ALL_LUA)
    args = [value for _key_, rate in counters for value in (rate.seconds, rate.count)]
    first_over = int(_hit_all_script(keys=keys, args=args, client=client))
    return first_over - 1 if first_over else None


def _count(key: str, seconds: int) -> int:
    """Add one to the window's counter and return it; the first hit opens the window."""
    if cache.add(key, 1, timeout=seconds):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=seconds)
        return 1


def hit_all(counters: list[tuple[str, str, Rate]]) -> int | None:
    """Count one hit on each (scope, ident, rate) in order, stopping at the first that is
    over its rate; returns that one's index, or None when all are within.

    On Redis one round trip for all of them (a script: Django's cache API takes three
    per counter, ADD then EXISTS + INCR); on other backends (the file cache of
    development, tests' locmem) ADD, or INCR when the window is open, per counter.
    """
    counters = [(_key(scope, ident), rate) for scope, ident, rate in counters]
    backend = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(backend, RedisCache):
        return _redis_hit_all(backend, counters)
    for index, (key, rate) in enumerate(counters):
        if _count(key, rate.seconds) > rate.count:
            return index
    return None


def hit(scope: str, ident: str, rate: Rate) -> bool:
    """Count one hit; True while within the rate, False once over it."""
    return hit_all([(scope, ident, rate)]) is None


def over(scope: str, ident: str, rate: Rate) -> bool:
    """True when the rate is already used up (does not count a hit)."""
    return (cache.get(_key(scope, ident)) or 0) >= rate.count


def used(scope: str, ident: str) -> int:
    """The hits counted in the window open now (0 when none); does not count one."""
    return int(cache.get(_key(scope, ident)) or 0)


def check_intake(*, ip: str | None, phone: str | None) -> None:
    """Raise RateLimited when an address or a phone number files too many appeals.

    The address is counted first; a refused address does not count against the phone.
    """
    counters = []
    if ip:
        counters.append(("intake-ip", ip, Rate.parse(settings.APPEAL_INTAKE_RATE_PER_IP)))
    if phone:
        counters.append(("intake-phone", phone, Rate.parse(settings.APPEAL_INTAKE_RATE_PER_PHONE)))
    first_over = hit_all(counters) if counters else None
    if first_over is None:
        return
    if counters[first_over][0] == "intake-ip":
        raise RateLimited(_("提交过于频繁，请稍后再试。如有紧急情况请拨打 12345。"))
    raise RateLimited(_("该手机号今日提交的诉求已达上限，请明天再试或拨打 12345。"))
