"""Telling residents by SMS, through the outbox (DESIGN.md §9).

Chinese SMS gateways send only approved templates (签名 + 模板ID + length-limited
variables), so a message is a template code and its parameters, never rendered text:
``message(appeal, kind)`` builds the outbox message in the transaction of the event that
causes it; the relay hands it to the backend (setting SMS_BACKEND) with its idempotency
key. A gateway's backend maps the template code to its 模板ID; the console and locmem
backends render the text themselves (development and tests).

Backends never log a full phone number or tracking code (个人信息保护法; the code and
the last 4 digits open the appeal's page): both are masked.
"""

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from appeals.deadlines import deadline_text
from appeals.tasks import SMS_EXTENDED, SMS_FEEDBACK, SMS_PHONE_CODE, SMS_RECEIVED, track_url
from governance.kernel import outbox
from governance.kernel.logmask import mask_text
from governance.kernel.privacy import mask_phone, mask_tracking_code
from governance.models import OutboxMessage
from governance.staff.notifications import STAFF_SMS_TEMPLATE, STAFF_SMS_TEXT

logger = logging.getLogger(__name__)

CHANNEL = "sms"

# The templates (the text approved with the gateway), by code.
TEMPLATES = {
    SMS_RECEIVED: gettext_noop("【共治】您的诉求已受理，查询码 %(code)s，可凭查询码和手机号后四位查询办理进度：%(url)s"),
    SMS_FEEDBACK: gettext_noop("【共治】您的诉求（查询码 %(code)s）已办结：%(result)s 请对办理结果进行评价：%(url)s"),
    SMS_EXTENDED: gettext_noop("【共治】您的诉求（查询码 %(code)s）经审批延期办理，办结时限延至 %(deadline)s。办理进度：%(url)s"),
    SMS_PHONE_CODE: gettext_noop("【共治】您的验证码为 %(code)s，%(minutes)s 分钟内有效，用于查看您反映的诉求。如非本人操作，请忽略本短信。"),
    # A staff member's copy of an inbox message, written by the staff layer
    # (governance.staff.notifications) to this channel.
    STAFF_SMS_TEMPLATE: STAFF_SMS_TEXT,
}
# Variables are length-limited by the gateways: the result is cut here.
RESULT_MAX = 120


def params_for(appeal, kind: str, *, deadline: str | None = None) -> dict:
    """The template's parameters for one appeal, as of now (``deadline``: the text of a
    deadline the appeal is moving to in the same transaction)."""
    params = {"code": appeal.tracking_code, "url": track_url(appeal)}
    if kind == SMS_FEEDBACK:
        params["result"] = appeal.result if len(appeal.result) <= RESULT_MAX else appeal.result[:RESULT_MAX] + "…"
    elif kind == SMS_EXTENDED:
        params["deadline"] = deadline if deadline is not None else deadline_text(appeal)
    elif kind != SMS_RECEIVED:
        raise ValueError(f"unknown SMS kind {kind!r}")
    return params


def message(appeal, kind: str, **extra) -> outbox.Message:
    """The outbox message of ``kind`` to the appeal's resident (a mobile number)."""
    return outbox.Message(channel=CHANNEL, recipient=appeal.phone, template=kind,
                          params=params_for(appeal, kind, **extra), subject=f"appeal:{appeal.pk}")


def messages_for(appeal, kind: str, **extra) -> list[outbox.Message]:
    """The message, or none when the appeal has no mobile number."""
    return [message(appeal, kind, **extra)] if appeal.phone_is_mobile else []


def phone_code_message(*, phone: str, code: str, minutes: int) -> outbox.Message:
    """The one-time code of 我的诉求 (appeals.phone_proof). Logs mask the code like a
    tracking code (``masked``: its ends only)."""
    return outbox.Message(channel=CHANNEL, recipient=phone, template=SMS_PHONE_CODE,
                          params={"code": code, "minutes": minutes}, subject="phone-code")


def render(template: str, params: dict) -> str:
    """The text of a template (what the gateway would send)."""
    return _(TEMPLATES[template]) % params


def masked(params: dict, template: str = "") -> dict:
    """The parameters with the tracking code masked, also inside the link; a one-time
    code entirely."""
    code = params.get("code", "")
    if not code:
        return {k: mask_text(v) if isinstance(v, str) else v for k, v in params.items()}
    if template == SMS_PHONE_CODE:
        return {**params, "code": "*" * len(code)}
    hidden = mask_tracking_code(code)
    return {k: mask_text(v).replace(code, hidden) if isinstance(v, str) else v for k, v in params.items()}


# --- backends ----------------------------------------------------------------------------


class SmsBackend:
    """Subclasses send one templated message; they raise on failure. ``key`` is the
    message's idempotency key: a gateway that takes one (a client-side serial number)
    sends a message retried after a crash only once."""

    def send(self, *, phone: str, template: str, params: dict, key: str) -> None:
        raise NotImplementedError


class ConsoleSmsBackend(SmsBackend):
    """Development: the rendered message goes to the log, number and code masked — except
    a one-time code (我的诉求) with DEBUG on, which a developer must be able to type in
    (it proves nothing in production, where a gateway sends it)."""

    def send(self, *, phone: str, template: str, params: dict, key: str) -> None:
        shown = params if template == SMS_PHONE_CODE and settings.DEBUG else masked(params, template)
        logger.info("SMS to %s: %s", mask_phone(phone), render(template, shown))


@dataclass
class SentMessage:
    phone: str
    message: str
    template: str = ""
    params: dict = field(default_factory=dict)
    key: str = ""


# The locmem backend's outbox (tests read and clear it).
sent: list[SentMessage] = []


class LocmemSmsBackend(SmsBackend):
    """Tests: keeps the messages, rendered, in ``appeals.sms.sent``."""

    def send(self, *, phone: str, template: str, params: dict, key: str) -> None:
        sent.append(SentMessage(phone=phone, message=render(template, params), template=template, params=params,
                                key=key))


def get_backend() -> SmsBackend:
    return import_string(settings.SMS_BACKEND)()


def deliver(row) -> None:
    """The outbox's ``sms`` channel (a gateway: called outside any transaction). Once the
    gateway took a one-time code, the row forgets it: codes are kept only as digests
    (appeals.phone_proof)."""
    get_backend().send(phone=row.recipient, template=row.template, params=row.params, key=row.key)
    if row.template == SMS_PHONE_CODE:
        OutboxMessage.objects.filter(pk=row.pk).update(params=masked(row.params, SMS_PHONE_CODE))
