"""Celery tasks of appeals. They take ids, fetch again, and return quietly when the
object is gone or the message no longer applies (safe to run twice)."""

import logging

from celery import shared_task
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from appeals import sms

logger = logging.getLogger(__name__)

SMS_RECEIVED = "received"
SMS_FEEDBACK = "feedback"
SMS_EXTENDED = "extended"


def track_url(appeal) -> str:
    """The SMS link: it opens the appeal without the digits (appeals.tracking)."""
    from appeals.tracking import link_url

    return link_url(appeal)


def compose_message(appeal, kind: str) -> str:
    if kind == SMS_RECEIVED:
        return _("【共治】您的诉求已受理，查询码 %(code)s，可凭查询码和手机号后四位查询办理进度：%(url)s") % {
            "code": appeal.tracking_code, "url": track_url(appeal),
        }
    if kind == SMS_FEEDBACK:
        result = appeal.result if len(appeal.result) <= 120 else appeal.result[:120] + "…"
        return _("【共治】您的诉求（查询码 %(code)s）已办结：%(result)s 请对办理结果进行评价：%(url)s") % {
            "code": appeal.tracking_code, "result": result, "url": track_url(appeal),
        }
    if kind == SMS_EXTENDED:
        from appeals.deadlines import deadline_text

        deadline = deadline_text(appeal)
        return _("【共治】您的诉求（查询码 %(code)s）经审批延期办理，办结时限延至 %(deadline)s。办理进度：%(url)s") % {
            "code": appeal.tracking_code, "deadline": deadline, "url": track_url(appeal),
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


def _moment(value: str | None):
    """A task's ``now``: an ISO timestamp (to replay a run), or the current time."""
    if not value:
        return timezone.now()
    moment = parse_datetime(value)
    if moment is None:
        raise ValueError(f"not an ISO timestamp: {value!r}")
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


# The sweeps derive their work from the database: nothing is lost when a run is missed
# (a broker outage, a worker restart) — the next run catches up. A run must end before
# the next one is due (ESCALATION_SWEEP_SECONDS, default 300 s).
@shared_task(name="appeals.tasks.escalation_sweep", time_limit=240, soft_time_limit=220, acks_late=True)
def escalation_sweep(*, now: str | None = None) -> dict:
    """Warnings, escalation and 催办 (appeals.escalation.escalation_sweep)."""
    from appeals.escalation import escalation_sweep as sweep

    result = sweep(now=_moment(now))
    return {"warned": result.warned, "escalated": result.escalated, "reminded": result.reminded,
            "units_told": result.units_told}


@shared_task(name="appeals.tasks.close_unevaluated", time_limit=600, soft_time_limit=540, acks_late=True)
def close_unevaluated(*, now: str | None = None) -> int:
    """Close the appeals awaiting evaluation for APPEAL_AUTO_CLOSE_DAYS (daily)."""
    from appeals.escalation import close_unevaluated_sweep

    return close_unevaluated_sweep(now=_moment(now))


# A re-computation of a year's deadlines is queued after the commit of a calendar change
# (appeals.recompute); the beat runs the years still pending a while later (a job lost to
# a broker outage). A run is chunked and safe to repeat: what it moved stays moved.
RECOMPUTE_CATCH_UP_AFTER = 300  # seconds: the queued job's head start


@shared_task(name="appeals.tasks.recompute_deadlines", time_limit=3600, soft_time_limit=3500, acks_late=True)
def recompute_deadlines(*, year: int, force: bool = False) -> dict | None:
    """Re-compute the open deadlines reaching into ``year`` if it is pending (or ``force``)."""
    from appeals.recompute import year_recompute

    result = year_recompute(year=year, force=force)
    if result is None:
        return None
    return {"year": result.year, "checked": result.checked, "moved": result.moved, "guarded": result.guarded,
            "unknown": result.unknown}


@shared_task(name="appeals.tasks.recompute_pending_deadlines", time_limit=3600, soft_time_limit=3500,
             acks_late=True)
def recompute_pending_deadlines() -> list[int]:
    """The catch-up: every year whose calendar changed and was not re-computed since."""
    from datetime import timedelta

    from appeals.recompute import pending_years, year_recompute

    years = pending_years(older_than=timedelta(seconds=RECOMPUTE_CATCH_UP_AFTER))
    for year in years:
        year_recompute(year=year)
    return years
