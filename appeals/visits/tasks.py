"""The beat job of 入户走访 (governance/schedule.py): the daily reminders."""

from datetime import date

from celery import shared_task

from appeals.visits.services import visit_reminders as remind


@shared_task(name="appeals.visits.tasks.visit_reminders", time_limit=600, soft_time_limit=540, acks_late=True)
def visit_reminders(*, today: str | None = None) -> dict:
    """Due tomorrow → the grid; overdue by more than a period → the community. Safe to run
    twice a day: the outbox keys carry the day."""
    return remind(today=date.fromisoformat(today) if today else None)
