"""gunicorn's settings (``--config python:governance.gunicorn_conf``, as the Dockerfile,
docker-compose.yml and bench/run.py start it): threaded workers with a timeout the inline
exports fit in, and access lines through the portal's log filter, so that the token of a
resident's SMS link never reaches a log (governance.kernel.logmask)."""

import os

# gthread: a worker's main thread keeps telling the arbiter it is alive while its threads
# serve requests, so a download streaming to a slow client is not killed as a hung worker
# (a sync worker is, after ``timeout`` seconds inside one request: ENGINEERING_NOTES.md).
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# The inline exports fit well inside it (issue 23; settings.EXPORT_*): a CSV of at most
# EXPORT_INLINE_MAX_ROWS = 200,000 rows at >= 50,000 rows/s is written in <= 4 s; an XLSX of
# at most EXPORT_XLSX_INLINE_MAX_ROWS = 50,000 rows at >= 10,000 rows/s in <= 5 s, plus the
# zip on save (about 1 s). Anything larger is an export job on the Celery worker.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5

accesslog = None  # the access log is the "gunicorn.access" logger below
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_secrets": {"()": "governance.kernel.logmask.MaskSecrets"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "generic", "stream": "ext://sys.stdout",
                    "filters": ["mask_secrets"]},
        "error_console": {"class": "logging.StreamHandler", "formatter": "generic", "stream": "ext://sys.stderr",
                          "filters": ["mask_secrets"]},
    },
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
    },
}
