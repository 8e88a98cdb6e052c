"""Failed staff logins — the login page, the admin's and the API's token login all go
through django.contrib.auth.authenticate, so django-axes sees each of them — and two
locks on them, both counted from axes' AccessAttempt rows (the database, so that a
Redis outage neither opens nor closes them):

- **the account from one address** (axes, AXES_LOCKOUT_PARAMETERS = username and address
  together): LOGIN_FAILURE_LIMIT failures lock that username *from that address* for
  LOGIN_LOCKOUT_MINUTES. Nobody can lock a colleague out from elsewhere, and a street
  office behind one NAT address is not locked as a whole.
- **the address** (this module): LOGIN_IP_FAILURE_LIMIT failures from one address across
  all usernames within the same minutes refuse every login from it, answered 429 with the
  wait — unless the address is on LOGIN_IP_ALLOWLIST (the offices' egress addresses,
  where hundreds of staff share one address; their per-account lock still holds).

Refused attempts are not counted (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT off):
a lock ends LOGIN_LOCKOUT_MINUTES after the failure that set it, however often the
attacker knocks meanwhile.
"""

import math
from dataclasses import dataclass
from datetime import timedelta

from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from governance.kernel.network import address_in

ACCOUNT = "account"
ADDRESS = "address"


@dataclass(frozen=True)
class LoginRefusal:
    kind: str  # ACCOUNT or ADDRESS
    seconds: int  # until a login from here is accepted again

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.seconds / 60))

    @property
    def message(self) -> str:
        if self.kind == ADDRESS:
            return _("您所在网络的登录失败次数过多，已暂停从该网络登录，请 %(minutes)s 分钟后再试。") % {
                "minutes": self.minutes}
        return _("登录失败次数过多，该账号已被暂时锁定，请 %(minutes)s 分钟后再试，或联系管理员解锁。") % {
            "minutes": self.minutes}


def _window() -> timedelta:
    return get_cool_off() or timedelta(minutes=15)


def address_wait(address: str | None, *, now=None) -> int:
    """Seconds until ``address`` may try to log in again (0: it may now). The failures of
    the window are summed over its rows (one per username and browser); the oldest rows
    leave the window first."""
    if not address or address_in(address, settings.LOGIN_IP_ALLOWLIST):
        return 0
    now = now or timezone.now()
    window = _window()
    rows = list(
        AccessAttempt.objects.filter(ip_address=address, attempt_time__gte=now - window)
        .order_by("attempt_time").values_list("attempt_time", "failures_since_start")
    )
    total = sum(failures for _at, failures in rows)
    limit = settings.LOGIN_IP_FAILURE_LIMIT
    if total < limit:
        return 0
    for at, failures in rows:
        total -= failures
        if total < limit:
            return max(1, math.ceil((at + window - now).total_seconds()))
    return max(1, int(window.total_seconds()))  # not reached: the loop empties the total


def _account_wait(handler, request, credentials) -> int:
    last = None
    for attempts in handler.get_user_attempts(request, credentials):
        found = attempts.aggregate(last=Max("attempt_time"))["last"]
        if found and (last is None or found > last):
            last = found
    window = _window()
    if last is None:
        return int(window.total_seconds())
    return max(1, math.ceil((last + window - timezone.now()).total_seconds()))


class LoginGuardHandler(AxesDatabaseHandler):
    """axes' database handler, plus the address throttle. Each refusal leaves its reason
    and wait on the request (``login_refusal``) for the page and the API to answer with."""

    def is_locked(self, request, credentials=None) -> bool:
        if super().is_locked(request, credentials):
            request.login_refusal = LoginRefusal(ACCOUNT, _account_wait(self, request, credentials))
            return True
        wait = address_wait(request.axes_ip_address, now=request.axes_attempt_time)
        if wait:
            request.login_refusal = LoginRefusal(ADDRESS, wait)
            return True
        return False


def refusal_for(request, credentials=None) -> LoginRefusal:
    """Why axes refused this request: set by is_locked, or (the failure that just reached
    the account's limit) the account's lock in full."""
    refusal = getattr(request, "login_refusal", None)
    if refusal is not None:
        return refusal
    return LoginRefusal(ACCOUNT, _account_wait(AxesProxyHandler.get_implementation(), request, credentials))


def lockout_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: the page that says which lock and for how long; 429 with
    Retry-After."""
    refusal = refusal_for(request, credentials)
    response = render(request, settings.AXES_LOCKOUT_TEMPLATE, {"refusal": refusal}, status=429)
    response["Retry-After"] = str(refusal.seconds)
    return response
