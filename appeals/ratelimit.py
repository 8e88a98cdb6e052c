"""Rate limits for the public surfaces (web form, API intake, tracking guesses).

Fixed windows counted in the cache (Redis in production, shared by every web worker).
The limits are settings, written like "10/hour". One module serves the form, the API
and Open311, so that a client cannot dodge a limit by switching channels.
"""

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from governance.errors import ApplicationError

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


def hit(scope: str, ident: str, rate: Rate) -> bool:
    """Count one hit; True while within the rate, False once over it."""
    key = _key(scope, ident)
    cache.add(key, 0, timeout=rate.seconds)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=rate.seconds)
        count = 1
    return count <= rate.count


def over(scope: str, ident: str, rate: Rate) -> bool:
    """True when the rate is already used up (does not count a hit)."""
    return (cache.get(_key(scope, ident)) or 0) >= rate.count


def check_intake(*, ip: str | None, phone: str | None) -> None:
    """Raise RateLimited when an address or a phone number files too many appeals."""
    if ip and not hit("intake-ip", ip, Rate.parse(settings.APPEAL_INTAKE_RATE_PER_IP)):
        raise RateLimited(_("提交过于频繁，请稍后再试。如有紧急情况请拨打 12345。"))
    if phone and not hit("intake-phone", phone, Rate.parse(settings.APPEAL_INTAKE_RATE_PER_PHONE)):
        raise RateLimited(_("该手机号今日提交的诉求已达上限，请明天再试或拨打 12345。"))


def ensure_tracking_allowed(*, ip: str | None) -> None:
    """Before checking a tracking code: refuse an address that guessed wrong too often."""
    if ip and over("track-fail", ip, Rate.parse(settings.APPEAL_TRACK_FAILURES_PER_IP)):
        raise RateLimited(_("查询错误次数过多，请一小时后再试。"))


def record_tracking_failure(*, ip: str | None) -> None:
    if ip:
        hit("track-fail", ip, Rate.parse(settings.APPEAL_TRACK_FAILURES_PER_IP))


def client_ip(request) -> str | None:
    """The client's address; behind a proxy set TRUSTED_PROXY_HEADER (e.g. HTTP_X_REAL_IP)."""
    header = getattr(settings, "TRUSTED_PROXY_HEADER", "")
    if header and request.META.get(header):
        return request.META[header].split(",")[0].strip()
    return request.META.get("REMOTE_ADDR")
