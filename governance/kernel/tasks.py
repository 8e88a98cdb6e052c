"""The kernel's Celery tasks: the outbox's relay and purge, the export jobs, and the no-op task /healthz
publishes to prove the broker. Registered through governance.tasks (the worker's
autodiscovery imports that module)."""

import logging

from celery import shared_task
from django.utils import timezone

from governance.kernel import counters, exports, outbox, shared_cache

logger = logging.getLogger(__name__)

# When a worker last ran the no-op task (read by /healthz).
WORKER_SEEN_KEY = "health:worker-last-ran"


@shared_task(name="governance.tasks.outbox_relay", time_limit=120, soft_time_limit=110, ignore_result=True)
def outbox_relay() -> dict:
    """Deliver the outbox's due messages (kicked after each commit that wrote some, and by
    beat every OUTBOX_RELAY_SECONDS as the catch-up). Safe to run twice at once: every
    row is claimed by one relay."""
    result = outbox.relay(budget_seconds=90)
    return {"delivered": result.delivered, "retried": result.retried, "failed": result.failed}


@shared_task(name="governance.tasks.outbox_purge", time_limit=1800, soft_time_limit=1700, ignore_result=True)
def outbox_purge() -> dict:
    """Daily: delivered messages past OUTBOX_RETENTION_DAYS, and the database's rate-limit
    counters whose window has ended."""
    return {"messages": outbox.purge(), "rate_counters": counters.purge()}


@shared_task(name="governance.tasks.health_ping", time_limit=30, soft_time_limit=25, ignore_result=True)
def health_ping() -> str:
    """No-op: /healthz publishes it to prove that the broker takes messages; the worker
    that runs it notes the time, which /healthz reports."""
    stamp = timezone.now().isoformat()
    shared_cache.put(WORKER_SEEN_KEY, stamp, None, what="health ping")
    return stamp


# 1,000,000 rows at the XLSX job's 10,000 rows/s take 100 s; a whole city's year of
# appeals (10 million) about 17 minutes: the limit leaves room for a busy machine.
@shared_task(name="governance.tasks.export_run", time_limit=7200, soft_time_limit=7100, ignore_result=True)
def export_run(*, job_id: int) -> str:
    """Write an export job's file (governance.kernel.exports.job_run); safe to run twice."""
    return exports.job_run(job_id)


@shared_task(name="governance.tasks.export_purge", time_limit=600, soft_time_limit=570, ignore_result=True)
def export_purge() -> dict:
    """Every 10 minutes: expired export files deleted (their links then say so), jobs a
    broker outage left queued queued again."""
    return exports.jobs_purge()
