"""No credential or personal data in a log line: one filter for every handler.

A tracking code with the phone's last 4 digits opens, withdraws or evaluates an appeal,
so a code is a credential; so are the tokens of the SMS link and of a check-in QR code.
A log line is read by more people, kept longer and copied further than the database.
``MaskSecrets`` (a logging.Filter) rewrites each record before any handler writes it:

- a path segment after /track/, /k/, /checkin/, /token/ or /t/ (the resident's link and
  its token, the QR check-in, a signed token), and any ``token`` parameter;
- the values of the parameters that carry what people type into searches and forms
  (q, search, phone, bq, name, code, …, and next, which carries a whole URL);
- mobile numbers (138****5678), ID numbers, and anything shaped like a tracking code;
- the DETAIL lines of a database error (PostgreSQL puts the failing row there: a
  resident's name and phone), in the message and in the traceback.

It is installed on Django's handlers (settings.LOGGING, also django.server and
django.request), on Celery's (governance.celery) and on gunicorn's access log
(governance/gunicorn_conf.py). Names cannot be found by pattern: the code never logs them.
"""

import logging
import re

from governance.kernel.privacy import mask_phone, mask_tracking_code

MASK = "***"
_SECRET_SEGMENT = re.compile(r"(/(?:track|checkin|token|t|k)/)([^/\s?#\"'&]+)", re.IGNORECASE)
# An appeal's tracking code as a path segment (/appeals/<code>/, /api/v1/appeals/<code>/),
# whatever its letters: codes made before every code carried a digit may be letters only.
_APPEAL_SEGMENT = re.compile(r"(/appeals/)([2-9A-HJKMNP-Z]{12})(?=[/?#\s\"']|$)")
# Query parameters whose values are what people type (searches, contact details) or secrets.
SECRET_PARAMS = (
    "q", "search", "phone", "phone_last4", "mobile", "tel", "bq", "street_q", "community_q", "building_q",
    "name", "contact", "contact_name", "code", "tracking_code", "token", "api_key", "password", "description",
    "address_text", "email", "next",
)
_PARAM = re.compile(r"([?&;](?:%s)=)([^&\s\"'#]*)" % "|".join(SECRET_PARAMS), re.IGNORECASE)
# A boundary: not inside a word or a longer number — but right after a percent-escape
# ("next=/appeals/%3Fq%3D13812345678") counts as one.
_START = r"(?:(?<![0-9A-Za-z])|(?<=%[0-9A-Fa-f]{2}))"
_MOBILE = re.compile(_START + r"(?:\+?86[\s-]?)?(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?![0-9A-Za-z])")
_ID_NUMBER = re.compile(_START + r"\d{17}[\dXx](?![0-9A-Za-z])")
# appeals.models.TRACKING_ALPHABET, 12 characters, with at least one digit and one letter.
_TRACKING_CODE = re.compile(_START + r"(?=[2-9A-HJKMNP-Z]*\d)(?=[2-9A-HJKMNP-Z]*[A-HJKMNP-Z])"
                            r"([2-9A-HJKMNP-Z]{2})[2-9A-HJKMNP-Z]{10}(?![0-9A-Za-z])")
_DETAIL = re.compile(r"^(\s*DETAIL:).*$", re.MULTILINE)


def mask_text(text: str) -> str:
    """``text`` with the secrets and personal data above masked."""
    if not text:
        return text
    text = _DETAIL.sub(r"\1 [已省略]", text)
    text = _SECRET_SEGMENT.sub(lambda m: m.group(1) + MASK, text)
    text = _APPEAL_SEGMENT.sub(lambda m: m.group(1) + mask_tracking_code(m.group(2)), text)
    text = _PARAM.sub(lambda m: m.group(1) + MASK, text)
    text = _MOBILE.sub(lambda m: mask_phone(m.group(1) + m.group(2) + m.group(3)), text)
    text = _ID_NUMBER.sub(MASK, text)
    text = _TRACKING_CODE.sub(lambda m: mask_tracking_code(m.group(0)), text)
    return text


class MaskSecrets(logging.Filter):
    """Rewrites each record's message (and traceback) through ``mask_text``; drops nothing."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not fit its format: leave it to the handler
            return True
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            # What the formatter would print, formatted here so that it can be masked.
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True
