"""The transactional outbox (DESIGN.md §9): every message to a person is a row written in
the transaction of the event that causes it, and a relay delivers the rows.

Writing: ``write(messages, keys=…)`` inserts the rows in the caller's transaction (the
event writer, appeals.events, is the one caller for what an appeal's events cause) and,
after the commit, kicks the relay (``kick``; not while a kick is queued that no relay has
taken up yet). A kick only speeds things up: the beat runs
the relay every OUTBOX_RELAY_SECONDS as the catch-up, and ``python manage.py
outbox_relay --once`` delivers what is pending from a shell.

Channels: this module knows none. Each layer registers the delivery of the channels it
owns (``register``; appeals: ``sms`` and ``digest``; the staff layer: ``inbox`` and
``email``), so that nothing here imports an app.
- A gateway channel (SMS, email) is called with one row at a time, outside any
  transaction, after the row was claimed by a conditional UPDATE (``status='sending'
  WHERE id=… AND status='pending'``, checked for one row changed; it works on SQLite,
  where ``select_for_update`` is ignored). It is delivered or it raises.
- A local channel (the inbox, the digests) writes only to this database: it gets the rows
  of a delivery round in the transaction that claims them and marks them delivered, so
  that it delivers exactly once.

Failures: a failed attempt puts the row back with a backoff (OUTBOX_RETRY_SECONDS,
doubling, at most OUTBOX_RETRY_MAX_SECONDS) until OUTBOX_MAX_ATTEMPTS, then ``failed``
(the admin lists those and can send them again). A row left ``sending`` by a relay that
died is taken back after OUTBOX_SENDING_TIMEOUT_SECONDS and sent again with the same
idempotency key (a gateway that takes one sends it once).

Times here are the wall clock (``timezone.now()``), never a sweep's ``now``: a run
replayed for another moment still delivers its messages now.
"""

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.redis import RedisCache
from django.db import transaction
from django.db.models import F, Min, Q
from django.utils import timezone

from governance.enums import OutboxStatus
from governance.models import OutboxMessage

logger = logging.getLogger(__name__)



@dataclass(frozen=True, kw_only=True)
class Message:
    """One message to write. ``not_before``: held until then (a sweep's digest items,
    released when the sweep ends, ``release``)."""

    channel: str
    recipient: str = ""
    template: str = ""
    params: dict = field(default_factory=dict)
    subject: str = ""
    not_before: datetime | None = None


# --- channels ------------------------------------------------------------------------


@dataclass(frozen=True)
class Channel:
    deliver: Callable
    local: bool
    batch: int


_channels: dict[str, Channel] = {}


def register(channel: str, deliver: Callable, *, local: bool = False, batch: int = 100) -> None:
    """Deliver ``channel``'s messages with ``deliver``: ``deliver(row)`` for a gateway
    (called outside any transaction; raises on failure), ``deliver(rows)`` for a local
    channel (called in the transaction that marks them delivered). ``batch``: rows per
    delivery round (a digest groups all the items of a round)."""
    _channels[channel] = Channel(deliver=deliver, local=local, batch=batch)


# --- writing -------------------------------------------------------------------------------


def write(messages: Sequence[Message], *, keys: Sequence[str], kick: bool = True) -> int:
    """Insert ``messages`` (idempotency keys ``keys``, in order) in the caller's
    transaction; after its commit, kick the relay unless ``kick`` is False (a sweep
    kicks once when it is done). A key written before is skipped. Returns the count."""
    assert len(messages) == len(keys), "one key per message"
    if not messages:
        return 0
    now = timezone.now()
    OutboxMessage.objects.bulk_create([
        OutboxMessage(
            channel=m.channel, key=key[:120], recipient=m.recipient, template=m.template, params=m.params,
            subject=m.subject[:64], next_attempt_at=m.not_before or now, created_at=now,
        )
        for m, key in zip(messages, keys, strict=True)
    ], ignore_conflicts=True)
    if kick:
        kick_after_commit()
    return len(messages)


def release(*, channel: str) -> int:
    """Make the held messages of ``channel`` due now (a sweep that finished releases its
    digest items, and those of a sweep that was killed). Returns how many."""
    now = timezone.now()
    return OutboxMessage.objects.filter(status=OutboxStatus.PENDING, next_attempt_at__gt=now, channel=channel).update(
        next_attempt_at=now)


# --- the kick --------------------------------------------------------------------------------

# After a failed publish, no kick for this long (per process): with the broker down,
# requests must not each wait for a connection that fails. The beat catches up.
_kick_paused_until = 0.0


# A kick queued and not yet taken up by a relay makes another one useless: that relay reads
# the table after this commit. The flag is set (add-if-absent) by the kick that publishes and
# cleared by the relay as it starts, before it reads (``_kick_taken``), so a commit that finds
# it set is read by a relay still to come; publishing a task costs the request ~0.5–1 ms of
# CPU, the flag one Redis round trip. It lives in the shared cache only when that is Redis
# (shared with the workers); it expires after KICK_PENDING_SECONDS, the beat's interval (a
# kick lost with a worker is caught up by the beat anyway). Cache down: kick as without it.
KICK_PENDING_KEY = "outbox:kick-pending"
KICK_PENDING_SECONDS = 30


def _shared_redis():
    backend = caches[DEFAULT_CACHE_ALIAS]
    return backend if isinstance(backend, RedisCache) else None


def _kick_wanted() -> bool:
    """True unless a kick is already queued (and now flagged as queued)."""
    backend = _shared_redis()
    if backend is None:
        return True
    try:
        return bool(backend.add(KICK_PENDING_KEY, 1, timeout=KICK_PENDING_SECONDS))
    except Exception:
        return True


def _kick_taken() -> None:
    """A relay starts: the next commit's kick must be published again."""
    backend = _shared_redis()
    if backend is None:
        return
    try:
        backend.delete(KICK_PENDING_KEY)
    except Exception:
        pass  # the cache is down: nothing was flagged there meanwhile; the flag expires


def kick_after_commit() -> None:
    transaction.on_commit(kick, robust=True)


def kick() -> bool:
    """Queue a relay run now unless one is queued already; never raises. Returns whether a
    task was published."""
    global _kick_paused_until
    if time.monotonic() < _kick_paused_until:
        return False
    if not _kick_wanted():
        return False
    from governance.kernel.tasks import outbox_relay

    try:
        outbox_relay.apply_async(retry=True, retry_policy={"max_retries": 1, "interval_start": 0,
                                                             "interval_step": 0, "interval_max": 0})
    except Exception as exc:  # the broker is down: the rows wait in the table for the beat
        _kick_taken()  # nothing was queued
        _kick_paused_until = time.monotonic() + settings.OUTBOX_KICK_PAUSE_SECONDS
        logger.warning("outbox: could not queue the relay (%s: %s); no kick for %s s, the beat catches up",
                       exc.__class__.__name__, exc, settings.OUTBOX_KICK_PAUSE_SECONDS)
        return False
    return True


def kick_paused() -> bool:
    return time.monotonic() < _kick_paused_until


def reset_kick_pause() -> None:
    global _kick_paused_until
    _kick_paused_until = 0.0


# --- the relay --------------------------------------------------------------------------------


@dataclass
class RelayResult:
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    reclaimed: int = 0

    def add(self, other: "RelayResult") -> None:
        self.delivered += other.delivered
        self.retried += other.retried
        self.failed += other.failed
        self.reclaimed += other.reclaimed

    @property
    def touched(self) -> int:
        return self.delivered + self.retried + self.failed


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: doubling, capped."""
    seconds = settings.OUTBOX_RETRY_SECONDS * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(seconds, settings.OUTBOX_RETRY_MAX_SECONDS))


def relay(*, budget_seconds: float | None = None) -> RelayResult:
    """Deliver what is due, round after round, until a round finds nothing to do or
    ``budget_seconds`` have passed. Returns the totals."""
    started = time.monotonic()
    _kick_taken()  # before the first read: a commit from now on kicks again
    total = RelayResult()
    while True:
        result = deliver_round()
        total.add(result)
        if not result.touched:
            return total
        if budget_seconds is not None and time.monotonic() - started > budget_seconds:
            return total


def deliver_round() -> RelayResult:
    """One delivery round: 1. rows left ``sending`` by a dead relay are taken back; 2. for
    each registered channel, up to its batch of due rows, oldest first, are claimed and
    delivered."""
    result = RelayResult(reclaimed=_reclaim_stale())
    for name, channel in list(_channels.items()):
        ids = list(
            OutboxMessage.objects.filter(status=OutboxStatus.PENDING, next_attempt_at__lte=timezone.now(), channel=name)
            .order_by("id").values_list("pk", flat=True)[:channel.batch]
        )
        if not ids:
            continue
        if channel.local:
            result.add(_deliver_local(name, channel, ids))
        else:
            for pk in ids:
                result.add(_deliver_one(channel, pk))
    if result.touched or result.reclaimed:
        logger.info("outbox relay round: %s", result)
    return result


def _reclaim_stale() -> int:
    cutoff = timezone.now() - timedelta(seconds=settings.OUTBOX_SENDING_TIMEOUT_SECONDS)
    stale = OutboxMessage.objects.filter(status=OutboxStatus.SENDING, claimed_at__lt=cutoff)
    failed = stale.filter(attempts__gte=settings.OUTBOX_MAX_ATTEMPTS).update(
        status=OutboxStatus.FAILED, last_error="claimed by a relay that never finished; attempts used up")
    back = stale.update(status=OutboxStatus.PENDING, next_attempt_at=timezone.now(), claim="")
    if failed or back:
        logger.warning("outbox: %s message(s) left sending by a relay that died were taken back, %s failed",
                       back, failed)
    return back + failed


def _deliver_one(channel: Channel, pk: int) -> RelayResult:
    """A gateway's message: claim it (one row changed, or another relay has it), call the
    gateway outside any transaction, record the outcome."""
    now = timezone.now()
    claimed = OutboxMessage.objects.filter(pk=pk, status=OutboxStatus.PENDING).update(
        status=OutboxStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    if claimed != 1:
        return RelayResult()  # another relay got there first
    row = OutboxMessage.objects.get(pk=pk)
    try:
        channel.deliver(row)
    except Exception as exc:
        return _attempt_failed(row, exc)
    OutboxMessage.objects.filter(pk=pk, status=OutboxStatus.SENDING).update(
        status=OutboxStatus.DELIVERED, delivered_at=timezone.now(), last_error="", claim="")
    return RelayResult(delivered=1)


def _deliver_local(name: str, channel: Channel, ids: list[int]) -> RelayResult:
    """A local channel's rows: claimed, delivered and marked in one transaction."""
    token = uuid.uuid4().hex
    try:
        with transaction.atomic():
            now = timezone.now()
            OutboxMessage.objects.filter(pk__in=ids, status=OutboxStatus.PENDING).update(
                status=OutboxStatus.SENDING, claim=token, claimed_at=now, attempts=F("attempts") + 1)
            rows = list(OutboxMessage.objects.filter(pk__in=ids, claim=token).order_by("id"))
            if not rows:
                return RelayResult()
            channel.deliver(rows)
            OutboxMessage.objects.filter(pk__in=[r.pk for r in rows]).update(
                status=OutboxStatus.DELIVERED, delivered_at=timezone.now(), last_error="", claim="")
        return RelayResult(delivered=len(rows))
    except Exception as exc:
        # Rolled back: the rows are pending again; count the attempt on each.
        logger.exception("outbox: delivering %s %s message(s) failed", len(ids), name)
        result = RelayResult()
        for row in OutboxMessage.objects.filter(pk__in=ids, status=OutboxStatus.PENDING):
            row.attempts += 1
            result.add(_attempt_failed(row, exc, claimed=False))
        return result


def _attempt_failed(row: OutboxMessage, exc: Exception, *, claimed: bool = True) -> RelayResult:
    error = f"{exc.__class__.__name__}: {exc}"[:500]
    current = OutboxStatus.SENDING if claimed else OutboxStatus.PENDING
    if row.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
        OutboxMessage.objects.filter(pk=row.pk, status=current).update(
            status=OutboxStatus.FAILED, attempts=row.attempts, last_error=error, claim="")
        logger.error("outbox: %s %s failed for good after %s attempts: %s", row.channel, row.key, row.attempts,
                     error)
        return RelayResult(failed=1)
    OutboxMessage.objects.filter(pk=row.pk, status=current).update(
        status=OutboxStatus.PENDING, attempts=row.attempts, last_error=error, claim="",
        next_attempt_at=timezone.now() + backoff(row.attempts))
    logger.warning("outbox: %s %s attempt %s failed, retried later: %s", row.channel, row.key, row.attempts, error)
    return RelayResult(retried=1)


# --- the admin's resend, the purge, health ---------------------------------------------------


def resend(*, ids: Sequence[int]) -> int:
    """Send failed or waiting messages again now, with their attempts counted afresh
    (the admin's action). Delivered ones are left alone. Returns how many."""
    count = OutboxMessage.objects.filter(pk__in=list(ids), status__in=(OutboxStatus.FAILED, OutboxStatus.PENDING)).update(
        status=OutboxStatus.PENDING, attempts=0, next_attempt_at=timezone.now(), last_error="", claim="")
    if count:
        kick_after_commit()
    return count


PURGE_CHUNK = 5000


def purge(*, now: datetime | None = None) -> int:
    """Delete delivered messages older than OUTBOX_RETENTION_DAYS, in chunks (each a
    short transaction). Returns how many."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.OUTBOX_RETENTION_DAYS)
    total = 0
    while True:
        ids = list(OutboxMessage.objects.filter(status=OutboxStatus.DELIVERED, delivered_at__lt=cutoff)
                   .values_list("pk", flat=True)[:PURGE_CHUNK])
        if not ids:
            return total
        total += OutboxMessage.objects.filter(pk__in=ids).delete()[0]


def health() -> dict:
    """What /healthz says of the outbox: the age of the oldest undelivered message, and
    how many are waiting and how many failed for good."""
    undelivered = Q(status__in=(OutboxStatus.PENDING, OutboxStatus.SENDING))
    oldest = OutboxMessage.objects.filter(undelivered).aggregate(oldest=Min("created_at"))["oldest"]
    age = max(0, int((timezone.now() - oldest).total_seconds())) if oldest else 0
    return {
        "oldest_undelivered_seconds": age,
        "undelivered": OutboxMessage.objects.filter(undelivered).count(),
        "failed": OutboxMessage.objects.filter(status=OutboxStatus.FAILED).count(),
    }
