"""Telling residents by SMS: a small backend interface (setting SMS_BACKEND).

Backends never log a full phone number (个人信息保护法), nor a tracking code or link
token (with the phone's last 4 digits it opens the appeal): both are masked.
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

from governance.kernel.logmask import mask_text
from governance.kernel.privacy import mask_phone

logger = logging.getLogger(__name__)


class SmsBackend:
    """Subclasses send one text message; they raise on failure."""

    def send(self, *, phone: str, message: str) -> None:
        raise NotImplementedError


class ConsoleSmsBackend(SmsBackend):
    """Development: the message goes to the log, the number, the code and the link masked
    (the resident reads the code on the page after submitting)."""

    def send(self, *, phone: str, message: str) -> None:
        logger.info("SMS to %s: %s", mask_phone(phone), mask_text(message))


@dataclass
class SentMessage:
    phone: str
    message: str


# The locmem backend's outbox (tests read and clear it).
outbox: list[SentMessage] = []


class LocmemSmsBackend(SmsBackend):
    """Tests: keeps messages in ``appeals.sms.outbox``."""

    def send(self, *, phone: str, message: str) -> None:
        outbox.append(SentMessage(phone=phone, message=message))


def get_backend() -> SmsBackend:
    return import_string(settings.SMS_BACKEND)()


def send_sms(*, phone: str, message: str) -> None:
    get_backend().send(phone=phone, message=message)
