import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from governance.assessment import services
from governance.assessment.periods import parse_month

logger = logging.getLogger(__name__)


@shared_task(
    name="governance.assessment.tasks.compute_scores",
    time_limit=settings.SCORE_TASK_TIME_LIMIT,
    soft_time_limit=max(1, settings.SCORE_TASK_TIME_LIMIT - 60),
)
def compute_scores(*, month: str | None = None) -> list[dict]:
    """Nightly scoring (beat: governance/schedule.py). ``month`` = "YYYY-MM" computes that
    month; none = last month until it is stored as final (the run on the cutoff day
    finalises it), then this month to date. Safe to run twice: a month is replaced as a
    whole, and a final month is left as it is."""
    now = timezone.now()
    months = [parse_month(month)] if month else services.months_due(now=now)
    summary = []
    for first in months:
        result = services.compute_month(month=first, now=now)
        logger.info(
            "scores %s: %s appeals, %s units, final=%s, skipped=%s",
            f"{first:%Y-%m}", result.appeals, result.units, result.final, result.skipped,
        )
        summary.append({
            "month": f"{first:%Y-%m}", "final": result.final, "skipped": result.skipped,
            "appeals": result.appeals, "units": result.units,
        })
    return summary


@shared_task(name="governance.assessment.tasks.refresh_flows", time_limit=240, soft_time_limit=220)
def refresh_flows(*, now: str | None = None) -> dict:
    """The daily flows of today, and of the days since the last refresh (yesterday, after
    midnight): beat every FLOWS_REFRESH_SECONDS. Safe to run twice: the days are replaced."""
    from django.utils.dateparse import parse_datetime

    from governance.assessment import flows

    moment = parse_datetime(now) if now else timezone.now()
    result = flows.flows_refresh_recent(now=moment)
    return {"first": f"{result.first:%Y-%m-%d}", "last": f"{result.last:%Y-%m-%d}", "rows": result.rows,
            "seconds": result.seconds}


@shared_task(name="governance.assessment.tasks.rebuild_flows", time_limit=3600, soft_time_limit=3500)
def rebuild_flows(*, days: int | None = None) -> dict:
    """Nightly: the flows of the last ``days`` days (FLOWS_REBUILD_DAYS) again, so that a
    category, place or deadline changed after the day counted is counted as it is now."""
    from datetime import timedelta

    from governance.assessment import flows
    from governance.assessment.periods import today_local

    now = timezone.now()
    last = today_local(now)
    days = days or settings.FLOWS_REBUILD_DAYS
    first = max(last - timedelta(days=days - 1), flows.first_event_day() or last)
    results = flows.flows_rebuild(first=first, last=last, now=now)
    return {"first": f"{first:%Y-%m-%d}", "last": f"{last:%Y-%m-%d}", "rows": sum(r.rows for r in results),
            "seconds": round(sum(r.seconds for r in results), 1)}
