"""Staff notifications: the in-app inbox (站内消息) and its email copies.

Writers hand over digests keyed by unit; every account holding a post at the unit gets
one inbox message per digest (never one per appeal). Messages are rows written in the
caller's transaction; email goes out afterwards from a Celery task
(governance.tasks.send_notification_emails), queued with
``transaction.on_commit(..., robust=True)`` — a broker that is down loses nothing: the
rows stay pending and the task's beat entry catches up.

Units are keys ``(level, code)``: ("grid", grid code), ("community", code),
("street", code), ("district", code) for the district's supervisors (督办), and
("department", department id).
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from governance.enums import COMMUNITY_ROLES, Role
from governance.kernel.errors import NotFound
from governance.models import Notification, Post

logger = logging.getLogger(__name__)

UnitKey = tuple[str, str | int]

TITLE_MAX = 200


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


def notify_units(*, digests: dict[UnitKey, Digest], kind: str) -> list[Notification]:
    """One inbox message per digest for every account of its unit.

    Steps: 1. the recipients of all units in one query; 2. the messages in one
    bulk insert (in the caller's transaction); 3. after commit, the email task for the
    messages whose recipient has an address. Returns the messages.
    """
    recipients = unit_recipients(digests)
    return notify_users(
        items=[(user, digest) for key, digest in digests.items() for user in recipients.get(key, ())], kind=kind,
    )


def notify_users(*, items, kind: str) -> list[Notification]:
    """Inbox messages for (user, Digest) pairs; email after commit (see notify_units)."""
    rows = [
        Notification(
            recipient=user, kind=kind, title=digest.title[:TITLE_MAX], body=digest.body, link=digest.link[:300],
            email_pending=bool(user.email),
        )
        for user, digest in items
    ]
    if not rows:
        return []
    created = Notification.objects.bulk_create(rows)
    if any(n.email_pending for n in created):
        enqueue_emails()
    return created


def enqueue_emails() -> None:
    """Queue the email task after the surrounding transaction commits; never raise (a
    broker that is down is logged, and the rows wait for the catch-up)."""
    from governance.staff.tasks import send_notification_emails

    def _send():
        try:
            send_notification_emails.delay()
        except Exception:  # the broker is down: the messages stay pending in the table
            logger.exception("could not queue the notification emails")

    transaction.on_commit(_send, robust=True)


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


# --- email ------------------------------------------------------------------------------

EMAIL_BATCH = 200


def emails_send_pending(*, limit: int = EMAIL_BATCH) -> int:
    """Send the pending email copies; returns how many went out.

    Steps: 1. claim up to ``limit`` pending rows (locked rows skipped, so two tasks at
    once never send one twice) by stamping ``emailed_at``; 2. send each; 3. rows whose
    sending failed are released for the next attempt, and the first error is raised
    (the task retries with backoff).
    """
    from django.conf import settings
    from django.core.mail import send_mail

    now = timezone.now()
    with transaction.atomic():
        claimed = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(email_pending=True, emailed_at__isnull=True)
            .order_by("id")
            .values_list("pk", flat=True)[:limit]
        )
        Notification.objects.filter(pk__in=claimed).update(emailed_at=now)
    if not claimed:
        return 0
    # The staff site's address for links (it may differ from the public site's).
    base = (settings.STAFF_BASE_URL or settings.PUBLIC_BASE_URL).rstrip("/")
    sent, failed, error = 0, [], None
    for notification in Notification.objects.filter(pk__in=claimed).select_related("recipient").order_by("id"):
        address = notification.recipient.email
        if not address:
            continue
        try:
            body = notification.body
            if notification.link:
                body = f"{body}\n\n{base}{notification.link}"
            send_mail(f"【共治】{notification.title}", body, None, [address])
            sent += 1
        except Exception as exc:  # retried by the task; the inbox has the message anyway
            failed.append(notification.pk)
            error = error or exc
    if failed:
        Notification.objects.filter(pk__in=failed).update(emailed_at=None)
        raise error
    return sent
