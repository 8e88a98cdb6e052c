"""Staff notifications: the in-app inbox (站内消息) and its email copies, delivered through
the outbox (governance.kernel.outbox, DESIGN.md §9).

Writers do not write inbox rows: they hand the event writer (appeals.events) messages
built here — ``unit_messages`` (one per unit: every account holding a post there gets
it) and ``user_message`` — which become outbox rows in the event's transaction. The
relay delivers them (``deliver_inbox``, a local channel: the inbox rows are written in
the transaction that marks the messages delivered, so each is written once) and writes,
beside each inbox row of an account that has an address, an ``email`` message for the
email copy (``deliver_email``, a gateway channel, sent outside any transaction).
Digests (one message per unit for many appeals) are grouped by their owner's channel and
delivered with ``deliver_to_units``.

Units are keys ``(level, code)``: ("grid", grid code), ("community", code),
("street", code), ("district", code) for the district's supervisors (督办), and
("department", department id).
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db.models import Q, QuerySet
from django.utils import timezone

from governance.enums import COMMUNITY_ROLES, Role
from governance.kernel import outbox
from governance.kernel.errors import NotFound
from governance.models import Notification, OutboxMessage, Post

logger = logging.getLogger(__name__)

UnitKey = tuple[str, str | int]

TITLE_MAX = 200
INBOX = "inbox"
EMAIL = "email"


@dataclass(frozen=True)
class Digest:
    title: str
    body: str
    link: str = ""


def unit_recipients(units) -> dict[UnitKey, list]:
    """{unit key: active accounts holding a post there}, in one query."""
    codes: dict[str, set] = {}
    for level, code in units:
        codes.setdefault(level, set()).add(code)
    if not codes:
        return {}
    q = Q(pk__in=[])
    if codes.get("grid"):
        q |= Q(role=Role.GRID_WORKER, grid__code__in=codes["grid"])
    if codes.get("community"):
        q |= Q(role__in=COMMUNITY_ROLES, community__code__in=codes["community"])
    if codes.get("street"):
        q |= Q(role=Role.STREET_OFFICER, street__code__in=codes["street"])
    if codes.get("department"):
        q |= Q(role=Role.DEPARTMENT_HANDLER, department_id__in=codes["department"])
    if codes.get("district"):
        q |= Q(role=Role.SUPERVISOR, district__code__in=codes["district"])
    found: dict[UnitKey, list] = {}
    posts = Post.objects.filter(q, user__is_active=True).select_related("user", "grid", "community", "street", "district")
    for post in posts:
        if post.role == Role.GRID_WORKER:
            key = ("grid", post.grid.code)
        elif post.role in COMMUNITY_ROLES:
            key = ("community", post.community.code)
        elif post.role == Role.STREET_OFFICER:
            key = ("street", post.street.code)
        elif post.role == Role.DEPARTMENT_HANDLER:
            key = ("department", post.department_id)
        else:
            key = ("district", post.district.code)
        users = found.setdefault(key, [])
        if all(u.pk != post.user_id for u in users):
            users.append(post.user)
    return found


# --- messages (written by the event writer) ------------------------------------------------


def _params(kind: str, digest: Digest) -> dict:
    return {"kind": str(kind), "title": digest.title[:TITLE_MAX], "body": digest.body, "link": digest.link[:300]}


def unit_messages(*, kind: str, digests: dict[UnitKey, Digest], subject: str = "") -> list[outbox.Message]:
    """One inbox message per unit: every account holding a post at the unit when it is
    delivered gets it."""
    return [
        outbox.Message(channel=INBOX, template=str(kind), subject=subject,
                       params={**_params(kind, digest), "units": [[level, code] for level, code in [key]]})
        for key, digest in digests.items()
    ]


def user_message(*, kind: str, user, digest: Digest, subject: str = "") -> outbox.Message:
    """An inbox message for one account."""
    return outbox.Message(channel=INBOX, template=str(kind), subject=subject,
                          params={**_params(kind, digest), "users": [user.pk]})


# --- delivery (the relay) -------------------------------------------------------------------------


def _unit_key(pair) -> UnitKey:
    level, code = pair
    return (level, code)


def deliver_inbox(rows: list[OutboxMessage]) -> None:
    """The ``inbox`` channel: the inbox rows of a round's messages, recipients found in one
    query for all of them, written in one insert (in the relay's transaction)."""
    units = {_unit_key(u) for row in rows for u in row.params.get("units", ())}
    recipients = unit_recipients(units)
    user_ids = {pk for row in rows for pk in row.params.get("users", ())}
    users = {u.pk: u for u in get_user_model().objects.filter(pk__in=user_ids, is_active=True)}
    items = []
    for row in rows:
        p = row.params
        digest = Digest(title=p.get("title", ""), body=p.get("body", ""), link=p.get("link", ""))
        accounts = [user for u in p.get("units", ()) for user in recipients.get(_unit_key(u), ())]
        accounts += [users[pk] for pk in p.get("users", ()) if pk in users]
        seen = set()
        for user in accounts:
            if user.pk not in seen:
                seen.add(user.pk)
                items.append((user, digest, p.get("kind", row.template)))
    _write_inbox(items)


def deliver_to_units(*, digests: dict[UnitKey, Digest], kind: str) -> list[Notification]:
    """Inbox rows now, for every account of each digest's unit (for a channel's relay:
    the digests of the escalation sweep)."""
    recipients = unit_recipients(digests)
    return _write_inbox([(user, digest, kind) for key, digest in digests.items() for user in recipients.get(key, ())])


def _write_inbox(items) -> list[Notification]:
    """Inbox rows for (user, Digest, kind), and an email message beside each row whose
    account has an address."""
    if not items:
        return []
    created = Notification.objects.bulk_create([
        Notification(recipient=user, kind=kind, title=digest.title[:TITLE_MAX], body=digest.body,
                     link=digest.link[:300])
        for user, digest, kind in items
    ])
    base = (settings.STAFF_BASE_URL or settings.PUBLIC_BASE_URL).rstrip("/")
    emails, keys = [], []
    for notification, (user, _digest, _kind) in zip(created, items, strict=True):
        if not user.email:
            continue
        body = notification.body
        if notification.link:
            body = f"{body}\n\n{base}{notification.link}"
        emails.append(outbox.Message(channel=EMAIL, recipient=user.email, template=notification.kind,
                                     params={"subject": f"【共治】{notification.title}", "body": body},
                                     subject=f"notification:{notification.pk}"))
        keys.append(f"notification:{notification.pk}:email")
    outbox.write(emails, keys=keys)
    return created


def deliver_email(row: OutboxMessage) -> None:
    """The ``email`` channel: one email copy, its Message-ID made from the idempotency key
    (a mail system that sees it twice can tell)."""
    domain = (settings.DEFAULT_FROM_EMAIL or "gongzhi.local").rpartition("@")[2] or "gongzhi.local"
    EmailMessage(
        subject=row.params.get("subject", ""), body=row.params.get("body", ""), to=[row.recipient],
        headers={"Message-ID": f"<{row.key.replace(':', '.')}@{domain}>"},
    ).send()


def register_channels() -> None:
    """The staff layer's channels (called when the governance app is ready)."""
    outbox.register(INBOX, deliver_inbox, local=True, batch=500)
    outbox.register(EMAIL, deliver_email)


# --- the inbox ------------------------------------------------------------------------


def notification_list(*, user) -> QuerySet[Notification]:
    """The account's messages, newest first."""
    return Notification.objects.filter(recipient=user).order_by("-created_at", "-id")


def notification_unread_count(*, user) -> int:
    if user is None or not user.is_authenticated:
        return 0
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def notification_mark_read(*, user, notification_id: int, now: datetime | None = None) -> Notification:
    """Mark one of the account's messages read; NotFound for anyone else's."""
    notification = Notification.objects.filter(pk=notification_id, recipient=user).first()
    if notification is None:
        raise NotFound()
    if notification.read_at is None:
        notification.read_at = now or timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=notification.read_at)
    return notification


def notification_mark_all_read(*, user, now: datetime | None = None) -> int:
    """Mark every unread message of the account read; returns how many."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=now or timezone.now())
