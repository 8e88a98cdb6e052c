import os

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger

from governance.kernel.logmask import MaskSecrets

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")

app = Celery("gongzhi")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@after_setup_logger.connect
@after_setup_task_logger.connect
def _mask_worker_logs(logger, **kwargs):
    """The worker and beat install their own handlers (not settings.LOGGING's): the same
    masking filter on each (governance.kernel.logmask)."""
    for handler in logger.handlers:
        if not any(isinstance(f, MaskSecrets) for f in handler.filters):
            handler.addFilter(MaskSecrets())
