"""Celery tasks of appeals. They take ids, fetch again, and return quietly when the
object is gone or the message no longer applies (safe to run twice)."""

import logging

from celery import shared_task
from django.conf import settings
from django.utils.translation import gettext as _

from appeals import sms

logger = logging.getLogger(__name__)

SMS_RECEIVED = "received"
SMS_FEEDBACK = "feedback"


def track_url(tracking_code: str) -> str:
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/track/{tracking_code}/"


def compose_message(appeal, kind: str) -> str:
    if kind == SMS_RECEIVED:
        return _("【共治】您的诉求已受理，查询码 %(code)s，可凭查询码和手机号后四位查询办理进度：%(url)s") % {
            "code": appeal.tracking_code, "url": track_url(appeal.tracking_code),
        }
    if kind == SMS_FEEDBACK:
        result = appeal.result if len(appeal.result) <= 120 else appeal.result[:120] + "…"
        return _("【共治】您的诉求（查询码 %(code)s）已办结：%(result)s 请对办理结果进行评价：%(url)s") % {
            "code": appeal.tracking_code, "result": result, "url": track_url(appeal.tracking_code),
        }
    raise ValueError(f"unknown SMS kind {kind!r}")


@shared_task(name="appeals.tasks.send_sms", time_limit=60, soft_time_limit=50, acks_late=True)
def send_sms(*, appeal_id: int, kind: str) -> bool:
    """Send the resident the message of ``kind`` about one appeal. Returns whether sent."""
    from appeals.models import Appeal

    appeal = Appeal.objects.filter(pk=appeal_id).first()
    if appeal is None or not appeal.phone_is_mobile:
        return False
    sms.send_sms(phone=appeal.phone, message=compose_message(appeal, kind))
    return True


def enqueue_sms(*, appeal_id: int, kind: str) -> None:
    """Queue the SMS after the surrounding transaction commits.

    A broker that is down must not turn a saved appeal into an error page (the resident
    would submit again): the failure is logged, never raised.
    """
    from django.db import transaction

    def _send():
        try:
            send_sms.delay(appeal_id=appeal_id, kind=kind)
        except Exception:  # the broker is down: the appeal is saved; log and go on
            logger.exception("could not queue the %s SMS of appeal %s", kind, appeal_id)

    transaction.on_commit(_send, robust=True)
