"""Residents' tracking (查询码 + the phone's last 4 digits): how many wrong tries a code
and an address get, and the SMS link that needs no digits.

- **Per code**: APPEAL_TRACK_FAILURES_PER_CODE wrong tries (default 10 an hour); then
  the last-4 check of that code pauses until the hour is over, and the answer says until
  when. The SMS link still opens the appeal meanwhile.
- **Per address**: APPEAL_TRACK_FAILURES_PER_IP wrong tries across codes (default 100 an
  hour); then 429 with Retry-After. A housing estate behind one NAT address shares it,
  hence the high number: it stops a scan over codes, not a resident who mistypes.
- Every answer says how many wrong tries are left (the smaller of the two).
- Windows are clock hours (the counter's name carries the hour), so "until when" is
  known without asking the cache for a key's expiry. A right answer does not reset a
  count: it would hand whoever is guessing a fresh set of tries.

The SMS link carries a token (an HMAC of the code and the phone under SECRET_KEY): it
opens the appeal without the digits; logs mask it (governance.kernel.logmask).
"""

import base64
import hmac
import math
from dataclasses import dataclass
from datetime import datetime
from datetime import timezone as dt_timezone

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from appeals import ratelimit
from appeals.models import Appeal, normalize_tracking_code
from appeals.ratelimit import Rate, RateLimited
from governance.kernel.errors import NotFound

_CODE_SCOPE = "track-code-fail"
_IP_SCOPE = "track-ip-fail"
_LINK_SALT = "appeals.tracking.link"


class TrackingPaused(RateLimited):
    """The last-4 check of this code is paused (too many wrong tries): 429, until when."""

    code = "tracking_paused"


@dataclass(frozen=True)
class _Window:
    ident: str
    ends_at: datetime


def _window(ident: str, rate: Rate, now: datetime) -> _Window:
    bucket = math.floor(now.timestamp() / rate.seconds)
    ends_at = datetime.fromtimestamp((bucket + 1) * rate.seconds, tz=dt_timezone.utc)
    return _Window(ident=f"{ident}@{bucket}", ends_at=ends_at)


def _local_time(moment: datetime) -> str:
    local = timezone.localtime(moment)
    if local.date() == timezone.localdate():
        return local.strftime("%H:%M")
    return local.strftime("%m-%d %H:%M")


def _seconds(until: datetime, now: datetime) -> int:
    return max(1, math.ceil((until - now).total_seconds()))


@dataclass(frozen=True)
class Tries:
    """Wrong tries left before a pause (``left``), for a page or an answer."""

    left: int
    code_rate: Rate


class _Counters:
    def __init__(self, *, tracking_code: str, ip: str | None, now: datetime):
        self.now = now
        self.code = normalize_tracking_code(tracking_code) or (tracking_code or "").strip()[:40]
        self.code_rate = Rate.parse(settings.APPEAL_TRACK_FAILURES_PER_CODE)
        self.ip_rate = Rate.parse(settings.APPEAL_TRACK_FAILURES_PER_IP)
        self.code_window = _window(self.code, self.code_rate, now)
        self.ip_window = _window(ip, self.ip_rate, now) if ip else None
        self.code_used = ratelimit.used(_CODE_SCOPE, self.code_window.ident, self.code_rate)
        self.ip_used = ratelimit.used(_IP_SCOPE, self.ip_window.ident, self.ip_rate) if self.ip_window else 0

    def left(self) -> int:
        left = self.code_rate.count - self.code_used
        if self.ip_window:
            left = min(left, self.ip_rate.count - self.ip_used)
        return max(0, left)

    def refuse_if_used_up(self) -> None:
        if self.ip_window and self.ip_used >= self.ip_rate.count:
            until = self.ip_window.ends_at
            raise RateLimited(
                _("您所在网络的查询错误次数过多，请于 %(time)s 后再试。") % {"time": _local_time(until)},
                extra={"tries_left": 0}, retry_after=_seconds(until, self.now),
            )
        if self.code_used >= self.code_rate.count:
            until = self.code_window.ends_at
            raise TrackingPaused(
                _("该查询码输错手机号后四位的次数过多，验证已暂停至 %(time)s。"
                  "您也可以点击短信中的链接直接查看。") % {"time": _local_time(until)},
                extra={"tries_left": 0, "paused_until": until.isoformat()}, retry_after=_seconds(until, self.now),
            )

    def count_failure(self) -> None:
        counters = [(_CODE_SCOPE, self.code_window.ident, self.code_rate)]
        if self.ip_window:
            counters.append((_IP_SCOPE, self.ip_window.ident, self.ip_rate))
        ratelimit.hit_all(counters)
        self.code_used += 1
        self.ip_used += 1 if self.ip_window else 0


def tries_left(*, tracking_code: str, ip: str | None, now: datetime | None = None) -> int:
    """Wrong tries this code still has from this address in the current hour (for a page)."""
    return _Counters(tracking_code=tracking_code, ip=ip, now=now or timezone.now()).left()


def guarded(*, tracking_code: str, ip: str | None, read, now: datetime | None = None):
    """Run ``read`` (a lookup by code + last 4 digits that raises NotFound on a wrong
    guess) within the limits. Returns (its result, wrong tries left).

    Steps: 1. an address or a code that used up its tries is refused (429, until when);
    2. read; 3. a wrong guess counts against both and is answered 404 with the tries
    left (or, at the last one, with the pause).
    """
    counters = _Counters(tracking_code=tracking_code, ip=ip, now=now or timezone.now())
    counters.refuse_if_used_up()
    try:
        return read(), counters.left()
    except NotFound:
        counters.count_failure()
        left = counters.left()
        if left == 0:
            try:
                counters.refuse_if_used_up()
            except RateLimited as paused:
                raise NotFound(_("查询码或手机号后四位不正确。") + paused.message, extra=paused.extra) from None
        raise NotFound(
            _("查询码或手机号后四位不正确，还可尝试 %(left)s 次。") % {"left": left}, extra={"tries_left": left},
        ) from None


def count_link_failure(*, ip: str | None, now: datetime | None = None) -> None:
    """A forged or stale SMS link counts against the address (not the code: the digits
    still work)."""
    if ip:
        rate = Rate.parse(settings.APPEAL_TRACK_FAILURES_PER_IP)
        ratelimit.hit(_IP_SCOPE, _window(ip, rate, now or timezone.now()).ident, rate)


# --- the SMS link ------------------------------------------------------------------------------


def link_token(appeal: Appeal) -> str:
    """22 characters (128 bits) bound to the code and the phone: another phone, another token."""
    digest = salted_hmac(_LINK_SALT, f"{appeal.tracking_code}:{appeal.phone}", algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


def link_url(appeal: Appeal) -> str:
    """The address in the residents' SMS: opens the appeal without the digits."""
    path = reverse("public:track-link", kwargs={"tracking_code": appeal.tracking_code, "token": link_token(appeal)})
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}{path}"


def appeal_for_link(*, tracking_code: str, token: str) -> Appeal:
    """The appeal the SMS link names; NotFound for a wrong or stale token."""
    code = normalize_tracking_code(tracking_code)
    appeal = Appeal.objects.filter(tracking_code=code).only("tracking_code", "phone").first() if code else None
    if appeal is None or not appeal.phone or not hmac.compare_digest(link_token(appeal), token or ""):
        raise NotFound(_("链接无效或已失效，请输入手机号后四位查询。"))
    return appeal

