import logging

from celery import shared_task
from django.utils import timezone

logger = logging.getLogger(__name__)


# A task's own time_limit needs its own soft_time_limit: the global soft limit
# (CELERY_TASK_SOFT_TIME_LIMIT) is larger, and Celery refuses to send such a task.
@shared_task(name="governance.tasks.heartbeat", time_limit=30, soft_time_limit=25, ignore_result=False)
def heartbeat(*, echo: str = "") -> str:
    """A liveness task: proves that beat, the broker and a worker are connected."""
    stamp = timezone.now().isoformat()
    logger.info("heartbeat %s", stamp)
    return f"{echo}@{stamp}" if echo else stamp


@shared_task(
    name="governance.tasks.send_notification_emails",
    autoretry_for=(Exception,), retry_backoff=30, retry_backoff_max=600, retry_jitter=True, max_retries=5,
    time_limit=120, soft_time_limit=110,
)
def send_notification_emails() -> int:
    """Email the pending inbox messages (queued after commit, and by beat as the
    catch-up after a broker outage). Safe to run twice: each row is claimed once."""
    from governance.notifications import emails_send_pending

    return emails_send_pending()
