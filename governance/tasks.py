import logging

from celery import shared_task
from django.utils import timezone

from appeals.retention import purge_finished_appeals
from governance.kernel.retention import purge_expired_records

# The kernel's tasks (the outbox's relay and purge, the export jobs, the health ping): importing them here
# lets the worker's autodiscovery of this module register them.
from governance.kernel.tasks import (  # noqa: E402, F401
    export_purge,
    export_run,
    health_ping,
    outbox_purge,
    outbox_relay,
)

logger = logging.getLogger(__name__)


# A task's own time_limit needs its own soft_time_limit: the global soft limit
# (CELERY_TASK_SOFT_TIME_LIMIT) is larger, and Celery refuses to send such a task.
@shared_task(name="governance.tasks.heartbeat", time_limit=30, soft_time_limit=25, ignore_result=False)
def heartbeat(*, echo: str = "") -> str:
    """A liveness task: proves that beat, the broker and a worker are connected."""
    stamp = timezone.now().isoformat()
    logger.info("heartbeat %s", stamp)
    return f"{echo}@{stamp}" if echo else stamp


@shared_task(name="governance.tasks.retention_purge", time_limit=3600, soft_time_limit=3500, acks_late=True)
def retention_purge() -> dict:
    """Daily: personal data past its retention (个人信息保护法 第十九条) — finished appeals'
    phones, names and photos (appeals.retention), the access and login logs and expired
    one-time credentials (governance.kernel.retention). Safe to run twice."""
    now = timezone.now()
    appeals = purge_finished_appeals(now=now)
    records = purge_expired_records(now=now)
    result = {**appeals.__dict__, **records.__dict__}
    logger.info("retention purge: %s", result)
    return result
