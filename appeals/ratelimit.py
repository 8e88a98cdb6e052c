"""Rate limits for the public surfaces (web form, API intake, Open311, tracking guesses).

Fixed windows counted by governance.kernel.counters: in the shared cache, and in the
database while the cache is down (a Redis outage never turns a submission into a 500).
The limits are settings, written like "10/hour". One module serves the form, the API and
Open311, so that a client cannot dodge a limit by switching channels.

Intake is checked before and charged after: ``ensure_intake_allowed`` refuses a client
whose allowance is used up, and ``charge_intake`` counts a submission once it is saved
with everything it carried. A submission that was not saved (bad input, an outage), or
whose photos could not be stored (the resident is asked to send them again), costs
nothing.
"""

from django.conf import settings
from django.utils.translation import gettext as _

from governance.kernel import counters
from governance.kernel.counters import Rate
from governance.kernel.errors import ApplicationError

__all__ = ["Rate", "RateLimited"]


class RateLimited(ApplicationError):
    status_code = 429
    code = "rate_limited"


def _key(scope: str, ident: str) -> str:
    return counters.key(scope, ident)


def hit_all(items: list[tuple[str, str, Rate]]) -> int | None:
    """Count one hit on each (scope, ident, rate) in order, stopping at the first over its
    rate; returns that one's index, or None when all are within."""
    return counters.hit_all(items)


def hit(scope: str, ident: str, rate: Rate) -> bool:
    """Count one hit; True while within the rate, False once over it."""
    return hit_all([(scope, ident, rate)]) is None


def over(scope: str, ident: str, rate: Rate) -> bool:
    """True when the rate is already used up (does not count a hit)."""
    return counters.first_used_up([(scope, ident, rate)]) is not None


def _intake_counters(*, ip: str | None, phone: str | None) -> list[tuple[str, str, Rate]]:
    items = []
    if ip:
        items.append(("intake-ip", ip, Rate.parse(settings.APPEAL_INTAKE_RATE_PER_IP)))
    if phone:
        items.append(("intake-phone", phone, Rate.parse(settings.APPEAL_INTAKE_RATE_PER_PHONE)))
    return items


def _refuse(scope: str):
    if scope == "intake-ip":
        raise RateLimited(_("提交过于频繁，请稍后再试。如有紧急情况请拨打 12345。"))
    raise RateLimited(_("该手机号今日提交的诉求已达上限，请明天再试或拨打 12345。"))


def ensure_intake_allowed(*, ip: str | None, phone: str | None) -> None:
    """Before a submission: raise RateLimited when the address, then the phone, has used up
    its allowance (counts nothing)."""
    items = _intake_counters(ip=ip, phone=phone)
    first = counters.first_used_up(items)
    if first is not None:
        _refuse(items[first][0])


def charge_intake(*, ip: str | None, phone: str | None) -> None:
    """After a submission was saved: count it against the address and the phone."""
    hit_all(_intake_counters(ip=ip, phone=phone))


def used(scope: str, ident: str, rate: Rate) -> int:
    """The hits counted in the window open now (0 when none); counts nothing."""
    return counters.counts([(scope, ident, rate)])[0]

