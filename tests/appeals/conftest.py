import pytest

from appeals import sms
from governance.celery import app as celery_app


@pytest.fixture(autouse=True)
def _sms_outbox_and_eager_tasks(settings):
    """Messages go to appeals.sms.outbox; queued tasks run in-process when enqueued
    (after commit), as a worker would run them."""
    settings.SMS_BACKEND = "appeals.sms.LocmemSmsBackend"
    sms.outbox.clear()
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield sms.outbox
    celery_app.conf.task_always_eager = eager
    sms.outbox.clear()
