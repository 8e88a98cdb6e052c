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

Copies follow each account's preference (``NotificationPreference``, set on
/notifications/preferences/; no row: ``DEFAULT_EMAIL_KINDS`` / ``DEFAULT_SMS_KINDS``): per
kind, an ``email`` message to the account's address and an ``sms`` message to the mobile
it gave, through the SMS gateway's channel (appeals.sms delivers it, template
``STAFF_SMS_TEMPLATE``). The inbox itself always has every message.

Grouping: each inbox row carries its ``group`` — the appeal it is about (the message's
subject, ``appeal:<id>``), else its kind (``kind:<kind>``: the sweeps' digests) — and the
inbox shows one line per group with its count (``inbox_groups``).
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db.models import Count, F, Max, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from governance.enums import COMMUNITY_ROLES, NotificationKind, Role
from governance.kernel import outbox
from governance.kernel.errors import ApplicationError, NotFound
from governance.models import Notification, NotificationPreference, OutboxMessage, Post

logger = logging.getLogger(__name__)

UnitKey = tuple[str, str | int]

TITLE_MAX = 200
GROUP_MAX = 64
INBOX = "inbox"
EMAIL = "email"
# The SMS gateway's channel: appeals.sms registers its delivery (the residents' SMS go the
# same way); a staff copy is one approved template with the message's title.
SMS = "sms"
STAFF_SMS_TEMPLATE = "staff_notice"
STAFF_SMS_TEXT = gettext_noop("【共治】%(title)s。请登录共治平台查看处理。")
SMS_TITLE_MAX = 60  # gateways limit a variable's length

# Copies when an account chose nothing: email for every kind (to an address it has); SMS
# only for what cannot wait — a summons to report (吹哨), an escalation, a 督办 reminder —
# and only once it gave a mobile.
DEFAULT_EMAIL_KINDS = frozenset(NotificationKind.values)
DEFAULT_SMS_KINDS = frozenset({NotificationKind.WHISTLE, NotificationKind.ESCALATION, NotificationKind.REMINDER})


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


def _params(kind: str, digest: Digest, exclude=()) -> dict:
    params = {"kind": str(kind), "title": digest.title[:TITLE_MAX], "body": digest.body, "link": digest.link[:300]}
    skip = sorted({getattr(u, "pk", u) for u in exclude if u is not None and getattr(u, "pk", u) is not None})
    if skip:
        params["except"] = skip
    return params


def unit_messages(*, kind: str, digests: dict[UnitKey, Digest], subject: str = "", exclude=()) -> list[outbox.Message]:
    """One inbox message per unit: every account holding a post at the unit when it is
    delivered gets it, but the accounts in ``exclude`` (the actor: nobody is told what
    they did themselves). ``subject`` (``appeal:<id>``) groups it in the inbox."""
    return [
        outbox.Message(channel=INBOX, template=str(kind), subject=subject,
                       params={**_params(kind, digest, exclude), "units": [[level, code] for level, code in [key]]})
        for key, digest in digests.items()
    ]


def user_message(*, kind: str, user, digest: Digest, subject: str = "") -> outbox.Message:
    """An inbox message for one account."""
    return outbox.Message(channel=INBOX, template=str(kind), subject=subject,
                          params={**_params(kind, digest), "users": [user.pk]})


def group_of(*, kind: str, subject: str = "") -> str:
    """The inbox group of a message: the appeal it is about, else its kind."""
    return (subject if subject.startswith("appeal:") else f"kind:{kind}")[:GROUP_MAX]


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
        kind = p.get("kind", row.template)
        group = group_of(kind=kind, subject=row.subject)
        accounts = [user for u in p.get("units", ()) for user in recipients.get(_unit_key(u), ())]
        accounts += [users[pk] for pk in p.get("users", ()) if pk in users]
        seen = set(p.get("except", ()))
        for user in accounts:
            if user.pk not in seen:
                seen.add(user.pk)
                items.append((user, digest, kind, group))
    _write_inbox(items)


def deliver_to_units(*, digests: dict[UnitKey, Digest], kind: str) -> list[Notification]:
    """Inbox rows now, for every account of each digest's unit (for a channel's relay:
    the digests of the escalation sweep)."""
    recipients = unit_recipients(digests)
    group = group_of(kind=kind)
    return _write_inbox([(user, digest, kind, group) for key, digest in digests.items()
                         for user in recipients.get(key, ())])


def _write_inbox(items) -> list[Notification]:
    """Inbox rows for (user, Digest, kind, group), and beside each row the copies its
    account chose (``copies_for``): an email message, an SMS message."""
    if not items:
        return []
    created = Notification.objects.bulk_create([
        Notification(recipient=user, kind=kind, title=digest.title[:TITLE_MAX], body=digest.body,
                     link=digest.link[:300], group=group)
        for user, digest, kind, group in items
    ])
    preferences = preferences_of({user.pk for user, *_rest in items})
    base = (settings.STAFF_BASE_URL or settings.PUBLIC_BASE_URL).rstrip("/")
    copies, keys = [], []
    for notification, (user, _digest, kind, _group) in zip(created, items, strict=True):
        preference = preferences.get(user.pk, DEFAULT_PREFERENCE)
        if user.email and kind in preference.email_kinds:
            body = notification.body
            if notification.link:
                body = f"{body}\n\n{base}{notification.link}"
            copies.append(outbox.Message(channel=EMAIL, recipient=user.email, template=notification.kind,
                                         params={"subject": f"【共治】{notification.title}", "body": body},
                                         subject=f"notification:{notification.pk}"))
            keys.append(f"notification:{notification.pk}:email")
        if preference.mobile and kind in preference.sms_kinds:
            title = notification.title
            if len(title) > SMS_TITLE_MAX:
                title = title[:SMS_TITLE_MAX - 1] + "…"
            copies.append(outbox.Message(channel=SMS, recipient=preference.mobile, template=STAFF_SMS_TEMPLATE,
                                         params={"title": title}, subject=f"notification:{notification.pk}"))
            keys.append(f"notification:{notification.pk}:sms")
    outbox.write(copies, keys=keys)
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


# --- preferences: which copies an account wants --------------------------------------------


@dataclass(frozen=True)
class Preference:
    email_kinds: frozenset = DEFAULT_EMAIL_KINDS
    sms_kinds: frozenset = DEFAULT_SMS_KINDS
    mobile: str = ""
    saved: bool = False  # chosen by the account (else the defaults)


DEFAULT_PREFERENCE = Preference()


def _preference(row: NotificationPreference) -> Preference:
    kinds = set(NotificationKind.values)
    return Preference(email_kinds=frozenset(k for k in row.email_kinds or () if k in kinds),
                      sms_kinds=frozenset(k for k in row.sms_kinds or () if k in kinds),
                      mobile=row.mobile, saved=True)


def preferences_of(user_ids) -> dict[int, Preference]:
    """{account id: its saved Preference}, in one query (the others have the defaults)."""
    if not user_ids:
        return {}
    return {row.user_id: _preference(row) for row in NotificationPreference.objects.filter(user_id__in=list(user_ids))}


def preference_for(*, user) -> Preference:
    return preferences_of([user.pk]).get(user.pk, DEFAULT_PREFERENCE)


def ensure_sms_has_mobile(*, sms_kinds, mobile: str) -> None:
    """SMS copies need a number to go to (the preferences page and the admin alike)."""
    if sms_kinds and not mobile:
        raise ApplicationError(_("选择了短信提醒，请填写接收短信的手机号；不需要短信请取消短信一栏的勾选。"))


def preference_save(*, user, email_kinds, sms_kinds, mobile: str = "", email: str | None = None) -> Preference:
    """Save an account's choice of copies (and its address, when ``email`` is given).

    Steps: 1. only known kinds are kept; 2. SMS copies need a mobile (the caller has
    checked the number: governance.kernel.phones) — ApplicationError without one; 3. the
    row written (one per account); 4. the address saved on the account."""
    kinds = set(NotificationKind.values)
    email_kinds = sorted(k for k in set(email_kinds) if k in kinds)
    sms_kinds = sorted(k for k in set(sms_kinds) if k in kinds)
    ensure_sms_has_mobile(sms_kinds=sms_kinds, mobile=mobile)
    NotificationPreference.objects.update_or_create(
        user=user, defaults={"email_kinds": email_kinds, "sms_kinds": sms_kinds, "mobile": mobile})
    if email is not None and email != user.email:
        user.email = email
        user.save(update_fields=["email"])
    return preference_for(user=user)


# --- the inbox ------------------------------------------------------------------------

GROUP_SHOWN = 5  # the newest messages a group line unfolds to (the group's page has all)


def notification_list(*, user, group: str | None = None, kind: str | None = None) -> QuerySet[Notification]:
    """The account's messages, newest first (of one group, of one kind)."""
    qs = Notification.objects.filter(recipient=user)
    if group:
        qs = qs.filter(group=group)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("-created_at", "-id")


def inbox_groups(*, user, kind: str | None = None) -> QuerySet:
    """One row per group of the account's messages (the appeal they are about, or their
    kind), newest group first: ``group``, ``count``, ``unread``, ``latest_id``. A page of
    them gets its messages with ``inbox_group_items``."""
    qs = Notification.objects.filter(recipient=user)
    if kind:
        qs = qs.filter(kind=kind)
    return (qs.values("group").annotate(count=Count("id"), unread=Count("id", filter=Q(read_at__isnull=True)),
                                       latest_id=Max("id"))
            .order_by("-latest_id"))


@dataclass
class InboxGroup:
    key: str
    count: int
    unread: int
    items: list = field(default_factory=list)  # the newest GROUP_SHOWN, newest first

    @property
    def latest(self) -> Notification:
        return self.items[0]

    @property
    def kinds(self) -> list[str]:
        seen = []
        for item in self.items:
            label = item.get_kind_display()
            if label not in seen:
                seen.append(label)
        return seen

    @property
    def is_appeal(self) -> bool:
        return self.key.startswith("appeal:")


def inbox_group_items(*, user, rows, kind: str | None = None) -> list[InboxGroup]:
    """The groups of ``rows`` (a page of ``inbox_groups``) with their newest messages, in
    one query (a window numbers each group's messages)."""
    rows = list(rows)
    if not rows:
        return []
    qs = Notification.objects.filter(recipient=user, group__in=[r["group"] for r in rows])
    if kind:
        qs = qs.filter(kind=kind)
    numbered = qs.annotate(n=Window(RowNumber(), partition_by=[F("group")], order_by=[F("id").desc()]))
    items: dict[str, list] = {}
    for notification in numbered.filter(n__lte=GROUP_SHOWN).order_by("group", "-id"):
        items.setdefault(notification.group, []).append(notification)
    return [InboxGroup(key=r["group"], count=r["count"], unread=r["unread"], items=items.get(r["group"], []))
            for r in rows if items.get(r["group"])]


RUN_MIN = 3  # single messages of one kind in a row that the inbox shows as one line


@dataclass
class InboxRun:
    """Several lines in a row that are one message each, of the same kind (a morning's new
    dispatches): one line with their count, unfolding to each."""

    kind_label: str
    groups: list

    @property
    def count(self) -> int:
        return len(self.groups)

    @property
    def unread(self) -> int:
        return sum(g.unread for g in self.groups)

    @property
    def latest(self) -> Notification:
        return self.groups[0].latest

    @property
    def keys(self) -> list[str]:
        return [g.key for g in self.groups]


def inbox_lines(groups: list[InboxGroup], *, run_min: int = RUN_MIN) -> list:
    """The inbox's lines: each group, but ``run_min`` or more single-message groups of one
    kind in a row collapse into an InboxRun."""
    lines, run = [], []

    def flush():
        if len(run) >= run_min:
            lines.append(InboxRun(kind_label=run[0].latest.get_kind_display(), groups=list(run)))
        else:
            lines.extend(run)
        run.clear()

    for group in groups:
        single = group.count == 1
        if single and run and run[0].latest.kind == group.latest.kind:
            run.append(group)
            continue
        flush()
        if single:
            run.append(group)
        else:
            lines.append(group)
    flush()
    return lines


def inbox_unread_by_kind(*, user) -> dict[str, int]:
    """{kind: unread messages} of the account (the inbox's filter)."""
    rows = (Notification.objects.filter(recipient=user, read_at__isnull=True).values("kind")
            .annotate(n=Count("id")).order_by())
    return {r["kind"]: r["n"] for r in rows}


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


def notification_mark_group_read(*, user, group: str | list[str], now: datetime | None = None) -> Notification | None:
    """Mark every message of one or more of the account's groups read (the line was
    opened); returns the newest message among them (None: no such group)."""
    groups = [group] if isinstance(group, str) else list(group)
    latest = Notification.objects.filter(recipient=user, group__in=groups).order_by("-id").first()
    if latest is not None:
        Notification.objects.filter(recipient=user, group__in=groups, read_at__isnull=True).update(
            read_at=now or timezone.now())
    return latest


def notifications_read_for_appeal(*, user, appeal_id: int) -> int:
    """The account opened the appeal: its messages about it are read. Returns how many."""
    if user is None or not user.is_authenticated:
        return 0
    return Notification.objects.filter(recipient=user, group=f"appeal:{appeal_id}", read_at__isnull=True).update(
        read_at=timezone.now())


def notification_mark_all_read(*, user, now: datetime | None = None) -> int:
    """Mark every unread message of the account read; returns how many."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=now or timezone.now())
