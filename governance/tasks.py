import logging

from celery import shared_task
from django.utils import timezone

logger = logging.getLogger(__name__)


@shared_task(name="governance.tasks.heartbeat", time_limit=30, ignore_result=False)
def heartbeat(*, echo: str = "") -> str:
    """A liveness task: proves that beat, the broker and a worker are connected."""
    stamp = timezone.now().isoformat()
    logger.info("heartbeat %s", stamp)
    return f"{echo}@{stamp}" if echo else stamp
