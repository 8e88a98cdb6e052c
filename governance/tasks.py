import logging

from celery import shared_task
from django.utils import timezone

# The kernel's tasks (the outbox's relay and purge, the health ping): importing them here
# lets the worker's autodiscovery of this module register them.
from governance.kernel.tasks import health_ping, outbox_purge, outbox_relay  # noqa: E402, F401

logger = logging.getLogger(__name__)


# A task's own time_limit needs its own soft_time_limit: the global soft limit
# (CELERY_TASK_SOFT_TIME_LIMIT) is larger, and Celery refuses to send such a task.
@shared_task(name="governance.tasks.heartbeat", time_limit=30, soft_time_limit=25, ignore_result=False)
def heartbeat(*, echo: str = "") -> str:
    """A liveness task: proves that beat, the broker and a worker are connected."""
    stamp = timezone.now().isoformat()
    logger.info("heartbeat %s", stamp)
    return f"{echo}@{stamp}" if echo else stamp
