"""The staff layer's Celery task: the inbox's email copies."""

from celery import shared_task


@shared_task(
    name="governance.tasks.send_notification_emails",
    autoretry_for=(Exception,), retry_backoff=30, retry_backoff_max=600, retry_jitter=True, max_retries=5,
    time_limit=120, soft_time_limit=110,
)
def send_notification_emails() -> int:
    """Email the pending inbox messages (queued after commit, and by beat as the
    catch-up after a broker outage). Safe to run twice: each row is claimed once."""
    from governance.staff.notifications import emails_send_pending

    return emails_send_pending()
