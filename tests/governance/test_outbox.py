"""The outbox (governance.kernel.outbox, DESIGN.md §9): messages written beside their event
in one transaction, delivered once by the relay, retried with backoff, failed for good and
sent again from the admin, taken back from a relay that died, purged after retention."""

import threading
from datetime import timedelta

import pytest
from django.db import connections, transaction
from django.utils import timezone

from appeals import events, sms
from appeals.models import Appeal
from appeals.tracking import link_url
from governance.kernel import outbox
from governance.models import Notification, OutboxMessage
from tests.appeals.factories import grid_category, receive

pytestmark = pytest.mark.django_db


def sms_rows():
    return OutboxMessage.objects.filter(channel="sms").order_by("id")


def test_the_receipt_sms_is_a_template_and_parameters_written_with_the_appeal(city, sms_outbox):
    appeal = receive(city, category=grid_category())
    (row,) = sms_rows()
    receive_event = appeal.events.get(action="receive")
    assert row.key == f"event:{receive_event.pk}:0" and row.subject == f"appeal:{appeal.pk}"
    assert (row.status, row.recipient, row.template) == ("pending", "13812345678", "received")
    # The link opens the appeal without the digits (appeals.tracking: a signed token).
    assert row.params == {"code": appeal.tracking_code, "url": link_url(appeal)}
    assert row.params["url"].startswith(f"http://localhost:8000/track/{appeal.tracking_code}/k/")
    assert sms_outbox == []  # not sent inside the transaction

    # The SMS, and the grid's inbox message (新派单) written beside the dispatch event.
    assert outbox.relay().delivered == 2
    (sent,) = sms_outbox
    assert sent.key == row.key and sent.template == "received"
    assert sent.message.startswith("【共治】您的诉求已受理，查询码 " + appeal.tracking_code)
    row.refresh_from_db()
    assert row.status == "delivered" and row.attempts == 1 and row.delivered_at is not None
    assert outbox.relay().delivered == 0 and len(sms_outbox) == 1


def test_a_rolled_back_event_leaves_no_message(city, sms_outbox):
    appeal = receive(city, category=grid_category())
    OutboxMessage.objects.all().delete()
    with pytest.raises(RuntimeError), transaction.atomic():
        events.record(events.Event(appeal_id=appeal.pk, data=events.Note(), from_state=appeal.state,
                                   to_state=appeal.state, messages=(sms.message(appeal, "received"),)))
        assert sms_rows().count() == 1
        raise RuntimeError("the action failed after its event")
    assert not OutboxMessage.objects.exists()
    outbox.relay()
    assert sms_outbox == []


class FlakyGateway(sms.SmsBackend):
    """A gateway that refuses the first ``failures`` sends (a real backend subclass)."""

    failures = 0
    calls: list = []

    def send(self, *, phone, template, params, key):
        FlakyGateway.calls.append(key)
        if len(FlakyGateway.calls) <= FlakyGateway.failures:
            raise ConnectionError("gateway timeout")
        sms.sent.append(sms.SentMessage(phone=phone, message=sms.render(template, params), template=template,
                                        params=params, key=key))


@pytest.fixture
def flaky(settings):
    settings.SMS_BACKEND = "tests.governance.test_outbox.FlakyGateway"
    FlakyGateway.calls = []
    return FlakyGateway


def test_a_failed_send_is_retried_with_doubling_backoff_then_fails_and_the_admin_resends(city, flaky, settings,
                                                                                          sms_outbox, admin_client):
    settings.OUTBOX_MAX_ATTEMPTS, settings.OUTBOX_RETRY_SECONDS = 3, 30
    flaky.failures = 99
    appeal = receive(city, category=grid_category())
    waits = []
    for _attempt in range(3):
        OutboxMessage.objects.update(next_attempt_at=timezone.now())  # its time has come
        outbox.relay()
        row = sms_rows().get()
        if row.status == "pending":
            waits.append(round((row.next_attempt_at - row.claimed_at).total_seconds()))
    assert waits == [30, 60]  # 30 s, then doubled
    assert (row.status, row.attempts) == ("failed", 3) and "gateway timeout" in row.last_error
    assert len(flaky.calls) == 3 and sms_outbox == []

    # The admin lists it (masked) and sends it again.
    page = admin_client.get("/admin/governance/outboxmessage/").content.decode()
    assert "138****5678" in page and "13812345678" not in page and appeal.tracking_code not in page
    flaky.failures = 0
    response = admin_client.post("/admin/governance/outboxmessage/", {
        "action": "resend", "_selected_action": [row.pk]})
    assert response.status_code == 302
    outbox.relay()
    row.refresh_from_db()
    assert row.status == "delivered" and row.attempts == 1 and len(sms_outbox) == 1
    # Delivered: it is listed no more by default, and a resend does not send it twice.
    assert "138****5678" not in admin_client.get("/admin/governance/outboxmessage/").content.decode()
    assert outbox.resend(ids=[row.pk]) == 0


def test_the_admin_detail_masks_the_code_and_the_phone(city, admin_client):
    appeal = receive(city, category=grid_category())
    row = sms_rows().get()
    page = admin_client.get(f"/admin/governance/outboxmessage/{row.pk}/change/").content.decode()
    assert "138****5678" in page and "13812345678" not in page
    assert appeal.tracking_code not in page and appeal.tracking_code[:2] + "********" in page


def test_a_message_left_sending_by_a_dead_relay_is_sent_again_with_the_same_key(city, settings, sms_outbox):
    receive(city, category=grid_category())
    row = sms_rows().get()
    # A relay claimed it and died before recording the outcome.
    claimed_at = timezone.now() - timedelta(seconds=settings.OUTBOX_SENDING_TIMEOUT_SECONDS + 1)
    OutboxMessage.objects.filter(pk=row.pk).update(status="sending", claimed_at=claimed_at, attempts=1)
    result = outbox.relay()
    assert result.reclaimed == 1 and result.delivered == 2  # the SMS and the grid's inbox message
    (sent,) = sms_outbox
    assert sent.key == row.key  # a gateway that takes the key sends it once
    row.refresh_from_db()
    assert row.status == "delivered" and row.attempts == 2


def test_a_fresh_claim_is_not_taken_back(city, sms_outbox):
    receive(city, category=grid_category())
    OutboxMessage.objects.update(status="sending", claimed_at=timezone.now(), attempts=1)
    assert outbox.relay().touched == 0 and sms_outbox == []


def test_a_local_delivery_that_fails_writes_nothing_and_is_tried_again(city, monkeypatch):
    from governance.staff import notifications
    from governance.staff.notifications import Digest, unit_messages

    outbox.write(unit_messages(kind="warning", digests={("community", city.comm_a.code): Digest(title="t", body="b")}),
                 keys=["inbox-test"])
    real = notifications.deliver_inbox

    def broken(rows):
        real(rows)  # the inbox rows are written, then the delivery fails: all rolled back
        raise RuntimeError("disk full")

    outbox.register("inbox", broken, local=True, batch=500)
    try:
        assert outbox.relay().retried == 1
    finally:
        notifications.register_channels()
    row = OutboxMessage.objects.get(key="inbox-test")
    assert (row.status, row.attempts, row.claim) == ("pending", 1, "") and "disk full" in row.last_error
    assert not Notification.objects.exists()
    OutboxMessage.objects.update(next_attempt_at=timezone.now())
    assert outbox.relay().delivered == 1
    assert Notification.objects.filter(recipient=city.users.community_worker).count() == 1


def test_delivered_messages_are_purged_after_retention(city, settings):
    settings.OUTBOX_RETENTION_DAYS = 30
    for _i in range(3):
        receive(city, category=grid_category())
    outbox.relay()
    old, recent, waiting = sms_rows()
    OutboxMessage.objects.filter(pk=old.pk).update(delivered_at=timezone.now() - timedelta(days=31))
    OutboxMessage.objects.filter(pk=recent.pk).update(delivered_at=timezone.now() - timedelta(days=29))
    OutboxMessage.objects.filter(pk=waiting.pk).update(status="pending", delivered_at=None,
                                                       created_at=timezone.now() - timedelta(days=90))
    assert outbox.purge() == 1
    assert sorted(sms_rows().values_list("pk", flat=True)) == [recent.pk, waiting.pk]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_relays_at_once_send_each_message_once(city, sms_outbox):
    category = grid_category()
    for i in range(40):
        receive(city, category=category, phone=f"138000000{i:02d}")
    # (Committed, each was kicked and sent at once, in-process: make them all wait again.)
    OutboxMessage.objects.update(status="pending", attempts=0, delivered_at=None)
    sms_outbox.clear()
    barrier = threading.Barrier(3)
    results = []

    def run():
        try:
            barrier.wait()
            results.append(outbox.relay())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.delivered for r in results) == 80  # an SMS and the grid's inbox message each
    assert len(sms_outbox) == 40 and len({m.key for m in sms_outbox}) == 40
    assert Appeal.objects.count() == 40 and sms_rows().filter(status="delivered").count() == 40


def test_the_command_delivers_what_is_pending_and_exits(city, sms_outbox):
    import io

    from django.core.management import call_command

    receive(city, category=grid_category())
    receive(city, category=grid_category())
    out = io.StringIO()
    call_command("outbox_relay", "--once", stdout=out)
    # Each: the SMS, and the grid's inbox message (新派单).
    assert out.getvalue().startswith("delivered 4, retried 0, failed 0, taken back 0; waiting 0")
    assert len(sms_outbox) == 2


@pytest.mark.redis  # the flag lives in the shared cache only when it is Redis (the workers share it)
def test_a_kick_is_not_published_again_while_one_is_queued_that_no_relay_has_taken_up(monkeypatch):
    from django.core.cache import cache

    from governance.kernel.tasks import outbox_relay

    published = []
    monkeypatch.setattr(outbox_relay, "apply_async", lambda **kw: published.append(kw))  # a worker that is busy
    assert outbox.kick() is True
    assert outbox.kick() is False and outbox.kick() is False  # the queued relay will read those commits too
    assert len(published) == 1 and cache.get(outbox.KICK_PENDING_KEY) == 1
    outbox.relay()  # a relay starts before it reads: the next commit kicks again
    assert cache.get(outbox.KICK_PENDING_KEY) is None
    assert outbox.kick() is True and len(published) == 2


def test_without_a_shared_redis_cache_every_commit_kicks(monkeypatch, settings):
    """A cache the workers do not share (the embedded defaults' files, here one in memory)
    cannot say that a kick is queued: every kick publishes, as before the flag."""
    from governance.kernel.tasks import outbox_relay

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    published = []
    monkeypatch.setattr(outbox_relay, "apply_async", lambda **kw: published.append(kw))
    assert [outbox.kick() for _ in range(3)] == [True, True, True] and len(published) == 3


def test_a_kick_that_could_not_be_published_leaves_no_flag(monkeypatch):
    from django.core.cache import cache

    from governance.kernel.tasks import outbox_relay

    def broker_down(**kw):
        raise ConnectionError("broker down")

    monkeypatch.setattr(outbox_relay, "apply_async", broker_down)
    assert outbox.kick() is False
    assert cache.get(outbox.KICK_PENDING_KEY) is None  # after the pause, the next commit tries again
    outbox.reset_kick_pause()
    monkeypatch.setattr(outbox_relay, "apply_async", lambda **kw: None)
    assert outbox.kick() is True
