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
