"""Celery tasks of appeals. They take ids, fetch again, and return quietly when the
object is gone or the message no longer applies (safe to run twice).

Messages to residents are not tasks: they are outbox rows (appeals.sms), delivered by the
outbox's relay (governance.kernel.outbox)."""

import logging

from celery import shared_task
from django.utils import timezone
from django.utils.dateparse import parse_datetime

logger = logging.getLogger(__name__)

# The SMS templates' codes (appeals.sms).
SMS_RECEIVED = "received"
SMS_FEEDBACK = "feedback"
SMS_EXTENDED = "extended"
SMS_PHONE_CODE = "phone_code"  # 我的诉求's one-time code (appeals.phone_proof)


def track_url(appeal) -> str:
    """The SMS link: it opens the appeal without the digits (appeals.tracking)."""
    from appeals.tracking import link_url

    return link_url(appeal)


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
