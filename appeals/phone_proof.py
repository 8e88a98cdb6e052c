"""我的诉求: a resident proves their phone with a one-time code by SMS, then sees the
appeals of that phone.

The code (the limits are settings, DESIGN.md §7 "rate limits are settings"):
- 6 digits, valid PHONE_CODE_TTL_SECONDS (5 minutes), PHONE_CODE_MAX_TRIES (5) tries; a
  new code replaces the ones before it (only the newest can be used);
- one code per PHONE_CODE_INTERVAL_SECONDS (60 s) per phone, counted from the last code
  sent (the rows: exact, and the page says how many seconds are left);
- PHONE_CODE_RATE_PER_PHONE (10/day) per phone and PHONE_CODE_RATE_PER_IP per client
  address, counted by appeals.ratelimit (the shared counters; numbers hashed in the keys);
- neither the number nor the code is stored: a ``PhoneCode`` row holds their HMACs
  (SECRET_KEY). The SMS goes through the outbox like every message to a resident
  (appeals.sms.phone_code_message); its log line hides the code.

What a proven phone sees (``my_appeals``): the appeals filed with that number in the last
MY_APPEALS_MONTHS (12) months — mobile numbers are recycled, so an older appeal may be the
previous owner's. The proof lives in the session (appeals.my_views) for
MY_APPEALS_SESSION_HOURS at most and ends on 退出.
"""

import calendar
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from appeals import ratelimit, sms
from appeals.models import Appeal, PhoneCode
from appeals.ratelimit import Rate, RateLimited
from governance.kernel import outbox
from governance.kernel.errors import ApplicationError

CODE_DIGITS = 6
_PHONE_SALT = "appeals.phone_proof.phone"
_CODE_SALT = "appeals.phone_proof.code"
MY_APPEALS_LIMIT = 100


class CodeRefused(ApplicationError):
    """A wrong, expired or used-up code: 400 with what to do."""

    code = "phone_code_refused"


def phone_digest(phone: str) -> str:
    return salted_hmac(_PHONE_SALT, phone, algorithm="sha256").hexdigest()


def _code_digest(phone_key: str, code: str) -> str:
    return salted_hmac(_CODE_SALT, f"{phone_key}:{code}", algorithm="sha256").hexdigest()


@dataclass(frozen=True)
class CodeSent:
    resend_after: int  # seconds until another code may be asked for
    expires_at: datetime


def _rates() -> tuple[Rate, Rate]:
    return Rate.parse(settings.PHONE_CODE_RATE_PER_PHONE), Rate.parse(settings.PHONE_CODE_RATE_PER_IP)


def resend_wait(*, phone: str, now: datetime | None = None) -> int:
    """Seconds until this phone may be sent another code (0: now)."""
    now = now or timezone.now()
    last = (PhoneCode.objects.filter(phone_digest=phone_digest(phone)).order_by("-created_at")
            .values_list("created_at", flat=True).first())
    if last is None:
        return 0
    ready = last + timedelta(seconds=settings.PHONE_CODE_INTERVAL_SECONDS)
    return max(0, math.ceil((ready - now).total_seconds()))


def _lock_phone(key: str) -> None:
    # Two requests for one phone at once would both find no code in the last minute and
    # both send one: on PostgreSQL the second waits for the first (until its commit) and
    # then finds its row. SQLite serialises writers (transaction_mode IMMEDIATE).
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [0x0C0D, int(key[:7], 16)])


def phone_code_send(*, phone: str, ip: str | None, now: datetime | None = None) -> CodeSent:
    """Send a one-time code to ``phone`` (a normalised mobile number).

    Steps, in one transaction holding the phone's lock: 1. one code per interval per
    phone (RateLimited with the seconds left; of concurrent requests one sends); 2. the
    client address's and the phone's allowances (RateLimited; the address is counted
    first, so a scan over numbers stops at its cap); 3. the row (digests only) and the SMS
    in the outbox, sent after the commit.
    """
    now = now or timezone.now()
    key = phone_digest(phone)
    ttl = settings.PHONE_CODE_TTL_SECONDS
    expires = now + timedelta(seconds=ttl)
    with transaction.atomic():
        _lock_phone(key)
        wait = resend_wait(phone=phone, now=now)
        if wait:
            raise RateLimited(_("验证码已发送，请 %(n)s 秒后再重新获取。") % {"n": wait}, retry_after=wait)
        per_phone, per_ip = _rates()
        counters = ([("phone-code-ip", ip, per_ip)] if ip else []) + [("phone-code-phone", phone, per_phone)]
        over = ratelimit.hit_all(counters)
        if over is not None:
            if counters[over][0] == "phone-code-ip":
                raise RateLimited(_("您所在网络获取验证码过于频繁，请稍后再试。"), retry_after=per_ip.seconds)
            raise RateLimited(_("该手机号今日获取验证码的次数已达上限，请明天再试。"), retry_after=per_phone.seconds)
        code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
        row = PhoneCode.objects.create(phone_digest=key, code_digest=_code_digest(key, code), created_at=now,
                                       expires_at=expires)
        outbox.write([sms.phone_code_message(phone=phone, code=code, minutes=max(1, ttl // 60))],
                     keys=[f"phone-code:{row.pk}"])
    return CodeSent(resend_after=settings.PHONE_CODE_INTERVAL_SECONDS, expires_at=expires)


def phone_code_verify(*, phone: str, code: str, now: datetime | None = None) -> None:
    """Check ``code`` against the newest code sent to ``phone``; CodeRefused otherwise.

    Steps: 1. the newest code of the phone, unused and not expired (else: ask for a new
    one); 2. one try is counted by a conditional UPDATE (attempts < the limit), so that
    concurrent guesses cannot exceed it; 3. a match marks the code used (once: a second
    use of the same code is refused); a miss says how many tries are left.
    """
    now = now or timezone.now()
    key = phone_digest(phone)
    row = PhoneCode.objects.filter(phone_digest=key).order_by("-created_at", "-id").first()
    limit = settings.PHONE_CODE_MAX_TRIES
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise CodeRefused(_("验证码已失效，请重新获取。"))
    counted = PhoneCode.objects.filter(pk=row.pk, attempts__lt=limit, used_at__isnull=True).update(
        attempts=F("attempts") + 1)
    if not counted:
        raise CodeRefused(_("验证码输错次数过多，请重新获取。"))
    code = (code or "").strip()
    if len(code) == CODE_DIGITS and code.isdigit() and hmac.compare_digest(row.code_digest, _code_digest(key, code)):
        if PhoneCode.objects.filter(pk=row.pk, used_at__isnull=True).update(used_at=now):
            return
        raise CodeRefused(_("验证码已使用，请重新获取。"))
    left = limit - row.attempts - 1
    if left <= 0:
        raise CodeRefused(_("验证码不正确，输错次数过多，请重新获取。"))
    raise CodeRefused(_("验证码不正确，还可尝试 %(n)s 次。") % {"n": left})


def window_start(now: datetime | None = None) -> datetime:
    """The oldest moment 我的诉求 reaches back to: MY_APPEALS_MONTHS calendar months before
    now (the day clipped to the month's length: 31 March − 1 month = 28/29 February)."""
    now = now or timezone.now()
    months = now.year * 12 + now.month - 1 - settings.MY_APPEALS_MONTHS
    year, month = divmod(months, 12)
    month += 1
    return now.replace(year=year, month=month, day=min(now.day, calendar.monthrange(year, month)[1]))


def my_appeals(*, phone: str, now: datetime | None = None) -> QuerySet[Appeal]:
    """The appeals filed with ``phone`` in the window, newest first (at most MY_APPEALS_LIMIT)."""
    return (Appeal.objects.filter(phone=phone, created_at__gte=window_start(now))
            .select_related("category").order_by("-created_at", "-id")[:MY_APPEALS_LIMIT])


def owns(*, phone: str, tracking_code: str, now: datetime | None = None) -> bool:
    """Whether the appeal ``tracking_code`` is one of ``phone``'s in the window."""
    return Appeal.objects.filter(tracking_code=tracking_code, phone=phone, created_at__gte=window_start(now)).exists()
