"""gunicorn's settings (the Docker image's web server, docker-compose's web): its access
log and error log pass the same masking filter as every other log line — tracking codes
and tokens in paths, searches and phone numbers in query strings (governance.kernel.logmask)."""

from gunicorn.glogging import Logger

from governance.kernel.logmask import MaskSecrets


class MaskedLogger(Logger):
    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                if not any(isinstance(f, MaskSecrets) for f in handler.filters):
                    handler.addFilter(MaskSecrets())


logger_class = MaskedLogger
accesslog = "-"
