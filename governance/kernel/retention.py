"""Records about people that expire: the personal-data access log, the login logs, and
the one-time credentials (API tokens past their lifetime, expired sessions, failed-login
counters past their lock). Run daily by governance.tasks.retention_purge, with
appeals.retention for the appeals' own personal data.

The access log is kept ACCESS_LOG_RETENTION_DAYS (default three years: 个人信息保护法
第五十六条 keeps records of processing that long), the login logs LOGIN_LOG_RETENTION_DAYS
(default 180 days: 网络安全法 第二十一条 asks for at least six months).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from axes.models import AccessAttempt, AccessFailureLog
from axes.models import AccessLog as LoginLog
from django.conf import settings
from django.contrib.sessions.models import Session
from rest_framework.authtoken.models import Token

from governance.models import AccessLog


@dataclass(frozen=True)
class KernelPurge:
    access_logs: int
    login_logs: int
    tokens: int
    sessions: int
    login_attempts: int


def purge_expired_records(*, now: datetime) -> KernelPurge:
    access_logs, _ = AccessLog.objects.filter(
        created_at__lt=now - timedelta(days=settings.ACCESS_LOG_RETENTION_DAYS)).delete()
    login_cutoff = now - timedelta(days=settings.LOGIN_LOG_RETENTION_DAYS)
    login_logs, _ = LoginLog.objects.filter(attempt_time__lt=login_cutoff).delete()
    failures, _ = AccessFailureLog.objects.filter(attempt_time__lt=login_cutoff).delete()
    tokens, _ = Token.objects.filter(created__lte=now - timedelta(days=settings.API_TOKEN_DAYS)).delete()
    sessions, _ = Session.objects.filter(expire_date__lt=now).delete()
    attempts, _ = AccessAttempt.objects.filter(attempt_time__lt=now - settings.AXES_COOLOFF_TIME).delete()
    return KernelPurge(access_logs=access_logs, login_logs=login_logs + failures, tokens=tokens, sessions=sessions,
                       login_attempts=attempts)
