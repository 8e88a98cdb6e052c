import logging

from celery import shared_task
from django.utils import timezone

from volunteers.services import party_members_evaluate

logger = logging.getLogger(__name__)


@shared_task(name="volunteers.tasks.yearly_evaluation", time_limit=1800, soft_time_limit=1740)
def yearly_evaluation(*, year: int | None = None) -> int:
    """Evaluate the 双报到 party members of ``year`` (default: last year).

    Derived from the database only, so running it twice (or late) gives the same result.
    Beat runs it early in January (governance/schedule.py).
    """
    year = year or timezone.localdate().year - 1
    evaluated = party_members_evaluate(year=year)
    logger.info("yearly evaluation %s: %s party members", year, evaluated)
    return evaluated
