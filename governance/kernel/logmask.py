"""Secrets that travel in URLs stay out of the logs.

The residents' SMS link carries a token that opens an appeal without the phone's digits
(appeals.tracking): whoever reads an access log must not be able to open it. The filter
sits on every log handler of the portal (settings.LOGGING) and of gunicorn
(governance/gunicorn_conf.py): Django's request logs, runserver's and gunicorn's access lines.
"""

import logging
import re

# /track/<code>/k/<token>/ — the token goes, the code (useless without it or the digits) stays.
_SECRETS = [re.compile(r"(/track/[^/\s?#\"']+/k/)[^/\s?#\"']+")]
MASK = "********"


def mask(text: str) -> str:
    for pattern in _SECRETS:
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text


class MaskSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record is the formatter's to report
            return True
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True
