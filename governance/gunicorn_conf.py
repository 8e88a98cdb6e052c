"""gunicorn's settings (``--config python:governance.gunicorn_conf``, as the Dockerfile
and docker-compose.yml start it): access lines through the portal's log filter, so that
the token of a resident's SMS link never reaches a log (governance.kernel.logmask)."""

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
