"""The nightly training of the category model (governance/schedule.py)."""

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="appeals.suggest.tasks.train_category_model", time_limit=1800, soft_time_limit=1700)
def train_category_model() -> dict:
    """Train on the corpus and the closed appeals; the new model replaces the current one
    only if not worse on the held-out fifth (appeals.suggest.services.model_train). Safe
    to run twice: each run is a new version, kept only if not worse."""
    from appeals.suggest.services import model_train

    outcome = model_train()
    row = outcome.row
    return {"version": row.version, "replaced": outcome.replaced, "top1": row.top1, "top3": row.top3,
            "training_size": row.training_size, "seconds": round(row.seconds, 1)}
